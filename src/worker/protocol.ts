// What crosses between the main thread (src/inference/) and the inference worker (src/worker/worker.ts): the
// worker's comlink API, its argument and result types, and the encoding that lets a SemanticSplatError keep its
// stable code across postMessage. Pure types and functions: no onnxruntime, no Babylon.
import { SemanticSplatError, type SemanticErrorCode } from "../errors";
import type { EncodeProgress, EncodeSceneOptions, EncodeSceneResult } from "../encoder/encodeScene";
import type { FeatureSpill } from "../encoder/featureSpill";
import type { FeatureFrame, RawFeatureFrame } from "../rendering/featureFrame";
import type { AdapterDescription } from "./adapterProbe";

/**
 * The models one worker can hold at once, one session each:
 * - "vdvi": the fusion model (ARCHITECTURE.md contract 3), run every segmentation tick by `segment()`.
 * - "vdvi-rgb": the RGB-only fallback (contract 3 without the features input: one input `rgb`, the same outputs;
 *   metadata kind "vdvi-rgb", no `k`), which the pipeline runs while a scene's features are not ready (issue 14).
 * - "encoder": the Gaussian encoder (contract 2), run once per scene through the generic `run()`.
 */
export type ModelKind = "vdvi" | "vdvi-rgb" | "encoder";

/** The two models that turn a frame into classes: the full one (rgb + features) and the RGB-only fallback. */
export type SegmentationModelKind = "vdvi" | "vdvi-rgb";

/** "auto" picks WebGPU when the worker sees a hardware GPU adapter, wasm on a software or fallback adapter
 *  (SwiftShader) and without an adapter; `ModelInfo.executionProviderReason` says why. */
export type ExecutionProviderChoice = "auto" | "webgpu" | "wasm";

export interface WorkerInitOptions {
    /** URL of onnxruntime-web's `ort-wasm-simd-threaded.asyncify.wasm`; default: onnxruntime-web's own lookup,
     *  next to the module that bundles it (see docs/MODELS.md). */
    wasmUrl?: string;
    /** wasm threads; default 2 when the page is cross-origin isolated (SharedArrayBuffer available), else 1. */
    numThreads?: number;
    /** How long init waits for `navigator.gpu.requestAdapter()` before it gives up on WebGPU (models then run on
     *  wasm, and a forced "webgpu" load fails with NO_WEBGPU naming the timeout). Default 10000 ms; 0: no limit. */
    adapterTimeoutMs?: number;
    /** The name of a Web Lock the worker takes at init and holds until it ends: the browser releases it when the
     *  worker is gone, which is how the page learns that a terminated worker's memory is being freed
     *  (InferenceClient.disposeAndWait). */
    lifeLock?: string;
}

export interface WorkerInitInfo {
    crossOriginIsolated: boolean;
    numThreads: number;
    /** True when `navigator.gpu.requestAdapter()` inside the worker returned an adapter (in time). */
    webgpuAdapter: boolean;
    /** The adapter's info (vendor, architecture, description, fallback flag), or null without one. */
    adapter: AdapterDescription | null;
    /** True for a software adapter (SwiftShader, a fallback adapter): "auto" then runs models on wasm. */
    softwareAdapter: boolean;
    /** Why there is no adapter (no navigator.gpu, none offered, no answer within adapterTimeoutMs), else null. */
    adapterProblem: string | null;
}

/** What a model must satisfy besides the contract itself; each mismatch is a typed error. */
export interface ModelExpectations {
    /** Feature channels the caller will feed (the mesh's K). Mismatch: FEATURE_MISMATCH. */
    k?: number;
    /** The loaded class table's `version`. Mismatch: CLASS_TABLE_MISMATCH. */
    classTableVersion?: string;
    /** The loaded class table's class count. Mismatch: CLASS_TABLE_MISMATCH. */
    numClasses?: number;
}

export interface LoadModelRequest {
    kind: ModelKind;
    /** A URL (fetched inside the worker, with progress) or the model's bytes (copied, not transferred). */
    source: string | ArrayBuffer;
    /** Models manifest (docs/MODELS.md) holding this model's SHA-256; checked before the model is used. */
    manifestUrl?: string;
    /** The manifest entry's `file`; default: the last path segment of `source` when it is a URL. */
    manifestName?: string;
    /** An expected SHA-256 (hex) given directly, checked like a manifest entry. */
    sha256?: string;
    /**
     * Largest model accepted, in bytes (default 512 MiB, DEFAULT_BUDGETS.maxModelBytes). A download stops as soon
     * as it passes this, or the manifest entry's `bytes` when there is one (BUDGET_EXCEEDED / MODEL_INVALID).
     */
    maxModelBytes?: number;
    expect?: ModelExpectations;
    executionProvider?: ExecutionProviderChoice;
}

export interface LoadProgress {
    /** Bytes received so far. */
    loaded: number;
    /** Total bytes when the server says (Content-Length) or the source is a buffer; otherwise null. */
    total: number | null;
}

export type ProgressCallback = (progress: LoadProgress) => void;

/** ONNX metadata props of a model, as read from its bytes (docs/MODELS.md lists the keys). */
export type ModelMetadataProps = Record<string, string>;

export interface ModelInfo {
    kind: ModelKind;
    /** The URL, the manifest name, or "(buffer)". */
    name: string;
    executionProvider: "webgpu" | "wasm";
    /** Why this execution provider, e.g. "auto: wasm, the WebGPU adapter is a software one (google swiftshader ...)". */
    executionProviderReason: string;
    bytes: number;
    sha256: string;
    /** Feature channels K from the metadata (0 for the RGB-only "vdvi-rgb" model, which reads none). */
    k: number;
    classTableVersion: string | null;
    numClasses: number | null;
    /** H and W must be multiples of this (metadata `size_multiple`, 1 when absent). */
    sizeMultiple: number;
    inputNames: string[];
    outputNames: string[];
    metadata: ModelMetadataProps;
}

export interface SegmentTimings {
    /** Building the input tensors. */
    inputMs: number;
    /** `session.run`. */
    inferenceMs: number;
    /** Reading the outputs into transferable arrays. */
    outputMs: number;
}

export interface SegmentResult {
    /** Class id per pixel, row-major [height x width], row 0 = the first row of the input. */
    labels: Uint8Array;
    /** Max softmax probability per pixel, same layout. */
    confidence: Float32Array;
    width: number;
    height: number;
    /** Which model answered: "vdvi" (rgb + features) or "vdvi-rgb" (the RGB-only fallback). */
    modelKind: SegmentationModelKind;
    timings: SegmentTimings;
}

/** How `segmentFrame` masks uncovered pixels (ARCHITECTURE.md contract 3), and which model it runs. */
export interface SegmentFrameOptions {
    /** "vdvi" (default) needs a frame with the model's K features; "vdvi-rgb" reads the frame's rgb only (a frame
     *  of a colour-only feature pass, K = 0, or any other). */
    model?: SegmentationModelKind;
    /** Pixels whose coverage alpha is below this get `noneLabel` and confidence 0. */
    alphaThreshold: number;
    /** The class table's `none` value (255). */
    noneLabel: number;
}

export interface SegmentFrameTimings extends SegmentTimings {
    /** De-interleaving the raw render-target texels into the model's planar inputs (inside the worker). */
    unpackMs: number;
    /** The coverage mask (inside the worker). */
    maskMs: number;
    /** On the main thread: posting the request (the client fills it in; 0 as the worker sends it). */
    postMs: number;
}

/** `segmentFrame`'s answer: the masked class map and the two planes of the feature image the pipeline keeps. */
export interface SegmentFrameResult extends SegmentResult {
    /** Coverage alpha, [height x width], row 0 at the top. */
    alpha: Float32Array;
    /** Expected depth not divided by alpha, same layout (FeatureFrame.depth). */
    depth: Float32Array;
    /** The raw frame's attachment buffers, sent back for the next readback to copy into (`readbackRawAsync(reuse)`). */
    rawBuffers: ArrayBuffer[];
    timings: SegmentFrameTimings;
}

export type TensorElementType = "float32" | "uint8" | "int32" | "int64";

/** A plain tensor for the generic `run()`; `data` crosses the boundary transferred. */
export interface TensorData {
    type: TensorElementType;
    dims: number[];
    data: Float32Array | Uint8Array | Int32Array | BigInt64Array;
}

/** One scene for the worker's `encodeScene` (docs/ENCODER.md, "Encoding a scene"). */
export interface EncodeSceneRequest extends EncodeSceneOptions {
    /** Babylon's 32-byte splat rows (`GaussianSplattingMesh.splatsData`); transferred to the worker. */
    splats: ArrayBuffer | Uint8Array | Float32Array;
    /** Names this call for `cancelEncode`; the client assigns it. */
    jobId: number;
    /** A tiled fp16 encode writes its features to a spill file (src/encoder/featureSpill.ts) instead of holding them,
     *  where the worker has OPFS sync access; the result then has `features: null` and `spill` set. */
    spillFeatures?: boolean;
}

/** What the worker's encodeScene answers: the encode's result, its features in memory or in a spill file. */
export type EncodeJobResult = Omit<EncodeSceneResult, "features"> & ({ features: Float32Array | Uint16Array; spill: null } | { features: null; spill: FeatureSpill });

export type EncodeProgressCallback = (progress: EncodeProgress) => void;

/** Test-only faults the worker can be told to raise inside its next `segment()` or `run()`. */
export type DebugFault =
    | "uncaught" // an exception escapes to the worker's global scope (the Worker's 'error' event fires)
    | "close" // the worker closes itself mid-call: no event reaches the main thread, only a timeout notices
    | "stall" // the call never answers, the worker stays alive (a hung inference)
    | "reject"; // onnxruntime-like failure inside the call: INFERENCE_FAILED

/** The API the worker exposes with comlink. Every method rejects with an error encoded by `encodeError`. */
export interface InferenceWorkerApi {
    init(options: WorkerInitOptions): Promise<WorkerInitInfo>;
    loadModel(request: LoadModelRequest, onProgress?: ProgressCallback): Promise<ModelInfo>;
    unloadModel(kind: ModelKind): Promise<void>;
    /** `model` "vdvi-rgb" runs the RGB-only fallback, which reads no features (pass an empty array). */
    segment(rgb: Float32Array, features: Float32Array, width: number, height: number, model?: SegmentationModelKind): Promise<SegmentResult>;
    /**
     * Segments a raw feature image (`FeatureSplatPass.readbackRawAsync`): unpacks it here, runs the VDVI model on its
     * rgb and features, masks pixels below the coverage threshold. The segmentation pipeline's path, which keeps the
     * unpacking off the main thread.
     */
    segmentFrame(raw: RawFeatureFrame, options: SegmentFrameOptions): Promise<SegmentFrameResult>;
    /** Unpacks a raw feature image here and returns the planar frame (no model needed). */
    unpackFrame(raw: RawFeatureFrame): Promise<FeatureFrame>;
    run(kind: ModelKind, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
    /** Encodes one scene with the loaded "encoder" model; one encode runs at a time (later calls wait). */
    encodeScene(request: EncodeSceneRequest, onProgress?: EncodeProgressCallback): Promise<EncodeJobResult>;
    /** Stops the encode `jobId` at its next stage boundary (it rejects with CANCELLED); unknown ids are ignored. */
    cancelEncode(jobId: number): Promise<void>;
    debugFailNext(fault: DebugFault): Promise<void>;
    /** Test hook: the next `segment()` or `run()` waits `ms` before running (a deliberately slow inference). */
    debugDelayNext(ms: number): Promise<void>;
}

const ENCODED_NAME = "SemanticSplatError";

/**
 * Turns any error into a plain Error that survives comlink (which keeps only name, message and stack): the name
 * marks it, the message is JSON with the stable code. Errors that are not SemanticSplatErrors get `fallback`.
 */
export function encodeError(e: unknown, fallback: SemanticErrorCode): Error {
    const semantic =
        e instanceof SemanticSplatError
            ? e
            : new SemanticSplatError(fallback, e instanceof Error ? e.message : String(e));
    const encoded = new Error(JSON.stringify({ code: semantic.code, message: semantic.message, fileName: semantic.fileName }));
    encoded.name = ENCODED_NAME;
    return encoded;
}

/** Rebuilds the SemanticSplatError that `encodeError` sent; other errors become `fallback` with their text. */
export function decodeError(e: unknown, fallback: SemanticErrorCode): SemanticSplatError {
    if (e instanceof SemanticSplatError) return e;
    if (e instanceof Error && e.name === ENCODED_NAME) {
        try {
            const { code, message, fileName } = JSON.parse(e.message) as { code: SemanticErrorCode; message: string; fileName?: string };
            // `message` already carries the file name prefix: rebuild without re-prefixing, then restore the field.
            const rebuilt = new SemanticSplatError(code, message);
            if (fileName !== undefined) Object.defineProperty(rebuilt, "fileName", { value: fileName });
            return rebuilt;
        } catch {
            // not our encoding after all: fall through
        }
    }
    return new SemanticSplatError(fallback, e instanceof Error ? e.message : String(e), undefined, { cause: e });
}
