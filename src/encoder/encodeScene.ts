// encodeScene: one scene's Gaussians -> K features per Gaussian through the Gaussian encoder (docs/ENCODER.md,
// "Encoding a scene"). The stages are shared by the inference worker (onnxruntime-web) and the Node command
// (onnxruntime-node): splat rows -> contract-2 channels -> serialization (out-of-graph indices) -> the model -> a
// checked (N, K) output. This module imports neither onnxruntime nor Babylon; the caller passes a `runModel`.
import { SemanticSplatError } from "../errors";
import { float32ArrayToHalf, float32BitsToHalfBits } from "../util/half";
import { encoderFeeds, type EncoderModelInfo, type FeedTensor } from "./inputs";
import { resolveSceneFrame, splatRowsToChannels, type SceneFrameOptions } from "./sceneChannels";
import type { SceneFrame } from "../frame/sceneFrame";
import { checkChannels, checkSerializationConfig, sceneOrigin, serializeScene } from "./serialization";
import { checkConcurrentCalls, coreVoxels, fieldMembers, gatherChannels, planTiles, receptiveField, releaseTileStructures, resolveTilingOptions, sceneSkeleton, serializeTile, splitTile, tileTooLarge, WHOLE_SCENE_FACTOR, type TilingOptions } from "./tiling";
import { releaseBuffers } from "../util/releaseBuffers";

/** The stages of an encode, in order. */
export type EncodeStage = "channels" | "serialize" | "inference" | "output" | "done";

export interface EncodeProgress {
    stage: EncodeStage;
    /** Overall fraction done, 0..1 (fixed stage weights, roughly the default model's split on a room: the model run
     *  dominates; in a tiled encode the "inference" stage advances tile by tile with the Gaussians done). */
    fraction: number;
    /** Tiled encodes only ("inference"): tiles finished so far, and in all. */
    tile?: number;
    tiles?: number;
    /** Tiled encodes only: estimated seconds left, from the time per Gaussian of the tiles finished so far (absent
     *  before the first tile ends). */
    secondsLeft?: number;
}

/** Where each stage starts in the overall fraction. */
const STAGE_START: Record<EncodeStage, number> = { channels: 0, serialize: 0.05, inference: 0.3, output: 0.95, done: 1 };
/** A tiled encode's "inference" stage spans these fractions (the plan before it is quick). */
const TILED_START = 0.06;
const TILED_END = 0.98;
const TILED_OUTPUT = 0.99;

/**
 * Options of an encode. The scene frame (docs/FRAME.md): `frame: "auto"` (the default) estimates up, scale and
 * floor from the Gaussians; explicit `rotation` / `upAxis` / `metresPerUnit` / `floorHeight` always win;
 * `frame: "none"` keeps the old defaults (+Y up, metres). Tiling: docs/ENCODER.md, "Large scenes: tiles".
 */
export interface EncodeSceneOptions extends SceneFrameOptions, TilingOptions {
    /** "float32" (default) or "float16": fp16 bits in a Uint16Array (half the memory; what the mesh stores). */
    outputPrecision?: "float32" | "float16";
    /** Tiled encodes: model calls in flight at once (default 1). With more, the next tile is prepared while earlier
     *  ones run, and `runModel` is called again before an earlier call has resolved: only for a `runModel` that runs
     *  its calls elsewhere (the Node command's worker threads, each with its own onnxruntime session). Each call in
     *  flight holds its own memory, so plan the tiles for it. The features do not depend on it. */
    concurrentCalls?: number;
}

export interface EncodeSceneResult {
    /** [count x K], row-major in Gaussian order, unit length per row. */
    features: Float32Array | Uint16Array;
    precision: "float32" | "float16";
    count: number;
    k: number;
    encoderId: string;
    /** Model calls: 1 for a scene encoded whole, else the number of tiles. */
    tiles: number;
    /** Gaussians in the largest model call (a tile's core and its receptive field; `count` when whole). */
    largestTile: number;
    /** The frame the encoder input was put in (estimated, explicit or "none"); record it with the features. */
    frame: SceneFrame;
    /** frameMs: the frame estimate (0 for an explicit frame); channelsMs: the conversion to the encoder's input. */
    timings: { frameMs: number; channelsMs: number; serializeMs: number; inferenceMs: number; outputMs: number };
}

/** What encodeChannels returns: the result without the frame (its caller made the channels). `features` is null
 *  when a tiled encode handed them to `hooks.storeTileFeatures` instead. */
export type EncodeChannelsResult = Omit<EncodeSceneResult, "frame" | "features"> & { features: Float32Array | Uint16Array | null };

/** A scene's encoder input: the 10 channels per Gaussian in the resolved frame (sceneChannels). */
export interface SceneChannels {
    channels: Float32Array;
    count: number;
    frame: SceneFrame;
    frameMs: number;
    channelsMs: number;
}

/** One model call's output: (rows, K) features, row-major. */
export type EncoderModelOutput = { data: Float32Array; dims: readonly number[] };
/** Runs the model on named feeds and returns its `features` output as float32 with its dims. The feeds' arrays and
 *  the returned `data` belong to encodeChannels, which frees them (releaseBuffers) once read: keep neither. */
export type RunEncoderModel = (feeds: Record<string, FeedTensor>) => Promise<EncoderModelOutput>;

export interface EncodeHooks {
    onProgress?: (progress: EncodeProgress) => void;
    /** Called between stages and between tiles; throws (CANCELLED) to stop. */
    checkCancelled?: () => void;
    /** A tiled encode (encodeChannels) then keeps no (count x K) features array: each tile's core features go here
     *  as they are made, `features` row j (in the output precision) for scene Gaussian `gaussians[j]` (ascending),
     *  and the result's `features` is null. The Node command spills them to a file and gathers them after the
     *  encode, when the channels and the tile structures are gone (at 6 M Gaussians x K = 16: 193 MB less at the
     *  peak). A scene encoded whole ignores it. */
    storeTileFeatures?: (gaussians: Int32Array, features: Float32Array | Uint16Array) => void;
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
    checkPrecision(options.outputPrecision);
    resolveTilingOptions(options);
    hooks.checkCancelled?.();
    hooks.onProgress?.({ stage: "channels", fraction: STAGE_START.channels });
    const input = sceneChannels(rows, options);
    const result = await encodeChannels(input.channels, input.count, model, runModel, options, { ...hooks, storeTileFeatures: undefined });
    return { ...result, features: result.features!, frame: input.frame, timings: { ...result.timings, frameMs: input.frameMs, channelsMs: input.channelsMs } };
}

/** The encoder's input of Babylon's splat rows: the frame (resolveSceneFrame) and the 10 channels in it. The rows
 *  are not needed after this (the Node command drops them before encodeChannels, to bound its memory). */
export function sceneChannels(rows: ArrayBuffer | ArrayBufferView, options: SceneFrameOptions = {}): SceneChannels {
    const tf = performance.now();
    const bytes = rows.byteLength;
    const frame = bytes >= 32 && bytes % 32 === 0 ? resolveSceneFrame(rows, options) : undefined;
    const t0 = performance.now();
    const converted = splatRowsToChannels(rows, options, "splat data", frame);
    return { channels: converted.channels, count: converted.count, frame: converted.frame, frameMs: t0 - tf, channelsMs: performance.now() - t0 };
}

function checkPrecision(precision: unknown): asserts precision is "float32" | "float16" | undefined {
    if (precision !== undefined && precision !== "float32" && precision !== "float16") {
        throw new SemanticSplatError("INVALID_ARGUMENT", `outputPrecision must be "float32" or "float16", got "${String(precision)}"`);
    }
}

/**
 * The encode of `count` Gaussians already in the encoder's 10 input channels (contract 2; splatRowsToChannels):
 * whole when `count <= 2 * tileGaussians` (and `<= fieldGaussians`), else tile by tile (src/encoder/tiling.ts), with progress and cancellation
 * between tiles. The caller may drop its splat rows before calling this (the Node command does, to bound memory).
 */
export async function encodeChannels(
    channels: Float32Array,
    count: number,
    model: EncoderModelInfo,
    runModel: RunEncoderModel,
    options: EncodeSceneOptions = {},
    hooks: EncodeHooks = {}
): Promise<EncodeChannelsResult> {
    checkPrecision(options.outputPrecision);
    const precision = options.outputPrecision ?? "float32";
    const { tileGaussians, fieldGaussians, haloMetres } = resolveTilingOptions(options);
    const concurrent = checkConcurrentCalls(options.concurrentCalls ?? 1);
    const step = (stage: EncodeStage) => {
        hooks.checkCancelled?.();
        hooks.onProgress?.({ stage, fraction: STAGE_START[stage] });
    };
    const now = () => performance.now();
    const config = model.serialization;
    const k = model.k;

    step("serialize");
    const t1 = now();
    if (count <= Math.min(WHOLE_SCENE_FACTOR * tileGaussians, fieldGaussians)) {
        // one model call: exactly the whole-scene encode (the Python reference's serialization)
        const feeds = encoderFeeds(serializeScene(channels, count, config), config);
        step("inference");
        const t2 = now();
        const output = await runModel(feeds);
        releaseFeeds(feeds);
        step("output");
        const t3 = now();
        checkOutput(output, count, k, null);
        const features = precision === "float16" ? float32ArrayToHalf(output.data) : output.data;
        if (precision === "float16") releaseBuffers(output.data);
        const t4 = now();
        hooks.onProgress?.({ stage: "done", fraction: 1 });
        return { features, precision, count, k, encoderId: model.encoderId, tiles: 1, largestTile: count, timings: { frameMs: 0, channelsMs: 0, serializeMs: t2 - t1, inferenceMs: t3 - t2, outputMs: t4 - t3 } };
    }

    // tiled: the whole scene's checks and voxel origin first, so errors name whole-scene Gaussian indices
    checkSerializationConfig(config);
    checkChannels(channels, count);
    const blocks = model.blocks;
    if (!blocks) {
        throw new SemanticSplatError(
            "MODEL_CONTRACT",
            `the encoder's metadata has no "encoder_config" (its blocks per level), which a tiled encode of ${count} Gaussians needs; encode the scene whole (tileGaussians: Infinity)`
        );
    }
    const origin = sceneOrigin(channels, count, config.gridSize);
    const skeleton = sceneSkeleton(channels, count, config, origin);
    let plan = planTiles(skeleton, channels, tileGaussians);
    const store = hooks.storeTileFeatures;
    const features = store ? null : precision === "float16" ? new Uint16Array(count * k) : new Float32Array(count * k);
    let serializeMs = now() - t1, inferenceMs = 0, outputMs = 0;
    const started = now();
    let coresDone = 0, tilesDone = 0;
    let tileMembersMax = 0;
    // a finished call: its core's rows into the scene's array, or (storeTileFeatures) into the tile's own, row r for
    // cores[r]
    const finishTile = (output: EncoderModelOutput, members: Int32Array, isCore: Uint8Array, coreCount: number) => {
        const to = now();
        checkOutput(output, members.length, k, { members, isCore });
        const data = output.data;
        const dataBits = precision === "float16" ? new Uint32Array(data.buffer, data.byteOffset, data.length) : null;
        const cores = store ? new Int32Array(coreCount) : null;
        const into = store ? (precision === "float16" ? new Uint16Array(coreCount * k) : new Float32Array(coreCount * k)) : features!;
        for (let j = 0, r = 0; j < members.length; j++) {
            if (!isCore[j]) continue;
            const from = j * k;
            let at = members[j] * k;
            if (cores) {
                cores[r] = members[j];
                at = r++ * k;
            }
            if (dataBits) for (let c = 0; c < k; c++) (into as Uint16Array)[at + c] = float32BitsToHalfBits(dataBits[from + c]);
            else for (let c = 0; c < k; c++) into[at + c] = data[from + c];
        }
        if (store) store(cores!, into);
        // this tile's arrays are done with: freed now, not at a garbage collection some tiles later
        releaseBuffers(data, members, isCore);
        outputMs += now() - to;
        coresDone += coreCount;
        tilesDone++;
    };
    // calls in flight (at most `concurrent`); the first failure is kept and thrown by the loop, and every call has
    // ended before this function returns or throws (none is left running on tile structures that are gone)
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | null = null;
    const waitForCalls = async (atMost: number) => {
        while (inFlight.size > atMost) {
            const waited = now(), output = outputMs;
            await Promise.race(inFlight);
            inferenceMs += now() - waited - (outputMs - output); // the wait for the model, less the rows written meanwhile
        }
        if (failure) throw failure.error;
    };
    try {
        for (let t = 0; t < plan.count; t++) {
            const elapsed = (now() - started) / 1000;
            hooks.onProgress?.({
                stage: "inference",
                fraction: TILED_START + ((TILED_END - TILED_START) * coresDone) / count,
                tile: tilesDone,
                tiles: plan.count,
                ...(coresDone > 0 ? { secondsLeft: (elapsed / coresDone) * (count - coresDone) } : {}),
            });
            hooks.checkCancelled?.(); // between tiles: a cancel asked for during the progress event stops here
            const ts = now();
            const field = receptiveField(skeleton, coreVoxels(skeleton, plan, t), blocks, config);
            const { members, isCore } = fieldMembers(channels, skeleton, plan, t, field.voxels, haloMetres);
            if (tileTooLarge(plan.coreCounts[t], members.length, tileGaussians, fieldGaussians)) {
                // a model call this large would set the peak memory: halve the core and encode its halves instead
                plan = splitTile(skeleton, channels, plan, t);
                serializeMs += now() - ts;
                t--;
                continue;
            }
            tileMembersMax = Math.max(tileMembersMax, members.length);
            const tileChannels = gatherChannels(channels, members);
            const feeds = encoderFeeds(serializeTile(tileChannels, members, skeleton, config), config);
            releaseBuffers(tileChannels, field.voxels);
            serializeMs += now() - ts;
            const coreCount = plan.coreCounts[t];
            const call: Promise<void> = runModel(feeds)
                .finally(() => releaseFeeds(feeds))
                .then((output) => {
                    if (!failure) finishTile(output, members, isCore, coreCount);
                })
                .catch((error) => {
                    failure ??= { error };
                })
                .then(() => {
                    inFlight.delete(call);
                });
            inFlight.add(call);
            await waitForCalls(concurrent - 1);
        }
        await waitForCalls(0);
    } finally {
        await Promise.allSettled([...inFlight]);
        releaseTileStructures(plan, skeleton);
    }
    hooks.checkCancelled?.();
    hooks.onProgress?.({ stage: "inference", fraction: TILED_END, tile: plan.count, tiles: plan.count, secondsLeft: 0 });
    hooks.onProgress?.({ stage: "output", fraction: TILED_OUTPUT });
    hooks.onProgress?.({ stage: "done", fraction: 1 });
    return { features, precision, count, k, encoderId: model.encoderId, tiles: plan.count, largestTile: tileMembersMax, timings: { frameMs: 0, channelsMs: 0, serializeMs, inferenceMs, outputMs } };
}

/** Frees the arrays of a model call's feeds (made by encoderFeeds for that call only). */
function releaseFeeds(feeds: Record<string, FeedTensor>): void {
    releaseBuffers(...Object.values(feeds).map((f) => f.data));
}

/** MODEL_CONTRACT on a wrong output shape, INVALID_FEATURES on a non-finite value (checked for a tile's core only;
 *  `tile` maps a tile's rows to the scene's Gaussian indices). */
function checkOutput(output: { data: Float32Array; dims: readonly number[] }, rows: number, k: number, tile: { members: Int32Array; isCore: Uint8Array } | null): void {
    if (output.dims.length !== 2 || output.dims[0] !== rows || output.dims[1] !== k || output.data.length !== rows * k) {
        throw new SemanticSplatError("MODEL_CONTRACT", `the encoder returned features of shape (${output.dims.join(", ")}), expected (${rows}, ${k})`);
    }
    const data = output.data;
    for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) {
            const row = Math.floor(i / k);
            if (tile && !tile.isCore[row]) continue;
            const gaussian = tile ? tile.members[row] : row;
            throw new SemanticSplatError("INVALID_FEATURES", `the encoder returned a non-finite feature for Gaussian ${gaussian} (channel ${i % k})`);
        }
    }
}
