// encodeScene: one scene's Gaussians -> K features per Gaussian through the Gaussian encoder (docs/ENCODER.md,
// "Encoding a scene"). The stages are shared by the inference worker (onnxruntime-web) and the Node command
// (onnxruntime-node): splat rows -> contract-2 channels -> serialization (out-of-graph indices) -> the model -> a
// checked (N, K) output. This module imports neither onnxruntime nor Babylon; the caller passes a `runModel`.
import { SemanticSplatError } from "../errors";
import { float32ArrayToHalf } from "../util/half";
import { encoderFeeds, type EncoderModelInfo, type FeedTensor } from "./inputs";
import { resolveSceneFrame, splatRowsToChannels, type SceneFrameOptions } from "./sceneChannels";
import type { SceneFrame } from "../frame/sceneFrame";
import { serializeScene } from "./serialization";

/** The stages of an encode, in order. */
export type EncodeStage = "channels" | "serialize" | "inference" | "output" | "done";

export interface EncodeProgress {
    stage: EncodeStage;
    /** Overall fraction done, 0..1 (fixed stage weights, roughly the default model's split on a room: the model run dominates). */
    fraction: number;
}

/** Where each stage starts in the overall fraction. */
const STAGE_START: Record<EncodeStage, number> = { channels: 0, serialize: 0.05, inference: 0.3, output: 0.95, done: 1 };

/**
 * Options of an encode. The scene frame (docs/FRAME.md): `frame: "auto"` (the default) estimates up, scale and
 * floor from the Gaussians; explicit `rotation` / `upAxis` / `metresPerUnit` / `floorHeight` always win;
 * `frame: "none"` keeps the old defaults (+Y up, metres).
 */
export interface EncodeSceneOptions extends SceneFrameOptions {
    /** "float32" (default) or "float16": fp16 bits in a Uint16Array (half the memory; what the mesh stores). */
    outputPrecision?: "float32" | "float16";
}

export interface EncodeSceneResult {
    /** [count x K], row-major in Gaussian order, unit length per row. */
    features: Float32Array | Uint16Array;
    precision: "float32" | "float16";
    count: number;
    k: number;
    encoderId: string;
    /** The frame the encoder input was put in (estimated, explicit or "none"); record it with the features. */
    frame: SceneFrame;
    /** frameMs: the frame estimate (0 for an explicit frame); channelsMs: the conversion to the encoder's input. */
    timings: { frameMs: number; channelsMs: number; serializeMs: number; inferenceMs: number; outputMs: number };
}

/** Runs the model on named feeds and returns its `features` output as float32 with its dims. */
export type RunEncoderModel = (feeds: Record<string, FeedTensor>) => Promise<{ data: Float32Array; dims: readonly number[] }>;

export interface EncodeHooks {
    onProgress?: (progress: EncodeProgress) => void;
    /** Called between stages; throws (CANCELLED) to stop. */
    checkCancelled?: () => void;
}

export const ENCODE_CANCELLED_MESSAGE = "encodeScene was cancelled";

/**
 * The whole encode of one scene given Babylon's splat rows. Throws SemanticSplatError: EMPTY_SCENE,
 * INVALID_ARGUMENT (non-finite values, an extent over the 16-bit codes, bad options), MODEL_CONTRACT (an output
 * that is not (count, K)), INVALID_FEATURES (a non-finite feature), CANCELLED (from `checkCancelled`).
 */
export async function encodeSplatRows(
    rows: ArrayBuffer | ArrayBufferView,
    model: EncoderModelInfo,
    runModel: RunEncoderModel,
    options: EncodeSceneOptions = {},
    hooks: EncodeHooks = {}
): Promise<EncodeSceneResult> {
    const precision = options.outputPrecision ?? "float32";
    if (precision !== "float32" && precision !== "float16") {
        throw new SemanticSplatError("INVALID_ARGUMENT", `outputPrecision must be "float32" or "float16", got "${String(precision)}"`);
    }
    const step = (stage: EncodeStage) => {
        hooks.checkCancelled?.();
        hooks.onProgress?.({ stage, fraction: STAGE_START[stage] });
    };
    const now = () => performance.now();

    step("channels");
    const tf = now();
    const bytes = rows instanceof ArrayBuffer ? rows.byteLength : rows.byteLength;
    const frame = bytes >= 32 && bytes % 32 === 0 ? resolveSceneFrame(rows, options) : undefined;
    const t0 = now();
    const converted = splatRowsToChannels(rows, options, "splat data", frame);
    const { channels, count } = converted;
    step("serialize");
    const t1 = now();
    const serialized = serializeScene(channels, count, model.serialization);
    const feeds = encoderFeeds(serialized, model.serialization);
    step("inference");
    const t2 = now();
    const output = await runModel(feeds);
    step("output");
    const t3 = now();
    const k = model.k;
    if (output.dims.length !== 2 || output.dims[0] !== count || output.dims[1] !== k || output.data.length !== count * k) {
        throw new SemanticSplatError("MODEL_CONTRACT", `the encoder returned features of shape (${output.dims.join(", ")}), expected (${count}, ${k})`);
    }
    for (let i = 0; i < output.data.length; i++) {
        if (!Number.isFinite(output.data[i])) {
            throw new SemanticSplatError("INVALID_FEATURES", `the encoder returned a non-finite feature for Gaussian ${Math.floor(i / k)} (channel ${i % k})`);
        }
    }
    const features = precision === "float16" ? float32ArrayToHalf(output.data) : output.data;
    const t4 = now();
    hooks.onProgress?.({ stage: "done", fraction: 1 });
    return {
        features,
        precision,
        count,
        k,
        encoderId: model.encoderId,
        frame: converted.frame,
        timings: { frameMs: t0 - tf, channelsMs: t1 - t0, serializeMs: t2 - t1, inferenceMs: t3 - t2, outputMs: t4 - t3 },
    };
}
