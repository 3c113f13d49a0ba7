// The inference worker: a module worker that holds onnxruntime-web sessions (one per ModelKind) and answers the
// main thread through comlink. It imports comlink, onnxruntime-web and our pure TypeScript only, never Babylon.
// Every method rejects with an error encoded by encodeError (protocol.ts), so codes survive the boundary.
import * as Comlink from "comlink";
import * as ort from "onnxruntime-web/webgpu";
import { SemanticSplatError, type SemanticErrorCode } from "../errors";
import { checkModelMetadata, checkRgbOnlyInputsOutputs, checkSegmentInputs, checkVdviInputsOutputs, type ValueDescription } from "./modelContract";
import { budgetExceeded, resolveBudgets } from "../formats/budgets";
import { checkChecksum, fetchManifest, fetchWithProgress, fileNameOf, findManifestEntry, sha256Hex, type ManifestEntry } from "./modelSource";
import { readOnnxModelHeader } from "./onnxProto";
import { chooseExecutionProvider, probeWebGpuAdapter } from "./adapterProbe";
import { cancelEncodeJob, runEncodeJob } from "./encodeJob";
import { rawFeatureFrameBuffers, unpackFeatureFrame } from "../rendering/featureFrame";
import type { FeatureFrame, RawFeatureFrame } from "../rendering/featureFrame";
import {
    encodeError,
    type DebugFault,
    type EncodeProgressCallback,
    type EncodeSceneRequest,
    type InferenceWorkerApi,
    type LoadModelRequest,
    type ModelInfo,
    type ModelKind,
    type ProgressCallback,
    type SegmentFrameOptions,
    type SegmentFrameResult,
    type SegmentResult,
    type SegmentationModelKind,
    type TensorData,
    type WorkerInitInfo,
    type WorkerInitOptions,
} from "./protocol";

interface LoadedModel {
    session: ort.InferenceSession;
    info: ModelInfo;
}

/** The wasm binary `onnxruntime-web/webgpu` loads (docs/MODELS.md, "Bundling"). */
const ORT_WASM_FILE = "ort-wasm-simd-threaded.asyncify.wasm";
const models = new Map<ModelKind, LoadedModel>();
let initInfo: WorkerInitInfo | null = null;
let pendingFault: DebugFault | null = null;
let pendingDelayMs = 0;
let wasmUrlInUse: string | null = null;

/** Runs `body`, re-throwing any failure encoded, with `fallback` as the code of errors that carry none. */
async function guarded<T>(fallback: SemanticErrorCode, body: () => Promise<T>): Promise<T> {
    try {
        return await body();
    } catch (e) {
        throw encodeError(e, fallback);
    }
}

function requireInit(): WorkerInitInfo {
    if (!initInfo) throw new SemanticSplatError("WORKER_FAILED", "the inference worker was used before init()");
    return initInfo;
}

/** Raises the fault or delay a spec asked for with debugFailNext() / debugDelayNext(), once. */
async function raisePendingFault(): Promise<void> {
    const fault = pendingFault;
    const delayMs = pendingDelayMs;
    pendingFault = null;
    pendingDelayMs = 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (fault === null) return;
    if (fault === "reject") throw new Error("debug fault: the model run failed");
    if (fault === "uncaught") {
        setTimeout(() => {
            throw new Error("debug fault: the inference worker crashed mid-inference");
        });
    } else if (fault === "close") {
        self.close();
    }
    await new Promise<never>(() => {}); // the call never answers: the main thread must notice on its own
}

function valueDescriptions(list: readonly ort.InferenceSession.ValueMetadata[]): ValueDescription[] {
    return list.map((v) =>
        v.isTensor ? { name: v.name, isTensor: true, type: v.type, shape: v.shape } : { name: v.name, isTensor: false }
    );
}

/** A copy that owns a whole ArrayBuffer, so it can be transferred (onnxruntime's outputs may be views). */
function ownedCopy<T extends Float32Array | Uint8Array | Int32Array | BigInt64Array>(data: T): T {
    return data.slice() as T;
}

/** Runs the loaded VDVI model (`kind` "vdvi") or the RGB-only fallback ("vdvi-rgb", which ignores `features`) on
 *  planar inputs; the answer's arrays own their buffers. */
async function runVdvi(kind: SegmentationModelKind, rgb: Float32Array, features: Float32Array, width: number, height: number): Promise<SegmentResult> {
    const model = models.get(kind);
    if (!model) throw new SemanticSplatError("MODEL_NOT_FOUND", `segment(): no ${kind} model is loaded (call loadModel first)`);
    const { k, sizeMultiple } = model.info;
    const rgbOnly = kind === "vdvi-rgb";
    checkSegmentInputs(rgb.length, rgbOnly ? 0 : features.length, width, height, k, sizeMultiple);

    const t0 = performance.now();
    const feeds: Record<string, ort.Tensor> = { rgb: new ort.Tensor("float32", rgb, [1, 3, height, width]) };
    if (!rgbOnly) feeds.features = new ort.Tensor("float32", features, [1, k, height, width]);
    const t1 = performance.now();
    await raisePendingFault();
    const outputs = await model.session.run(feeds, ["labels", "confidence"]);
    const t2 = performance.now();
    const labelsTensor = outputs.labels;
    const confidenceTensor = outputs.confidence;
    const pixels = width * height;
    if (labelsTensor.size !== pixels || confidenceTensor.size !== pixels) {
        throw new SemanticSplatError(
            "MODEL_CONTRACT",
            `outputs have ${labelsTensor.size} labels and ${confidenceTensor.size} confidences for ${width} x ${height} pixels`,
            model.info.name
        );
    }
    const labelData = await labelsTensor.getData();
    // int32 labels (allowed by contract 3) are narrowed: class ids and `none` (255) fit a byte.
    const labels = labelData instanceof Uint8Array ? ownedCopy(labelData) : Uint8Array.from(labelData as Int32Array);
    const confidence = ownedCopy((await confidenceTensor.getData()) as Float32Array);
    for (const tensor of Object.values(outputs)) tensor.dispose();
    const t3 = performance.now();
    return { labels, confidence, width, height, modelKind: kind, timings: { inputMs: t1 - t0, inferenceMs: t2 - t1, outputMs: t3 - t2 } };
}

/** Takes the Web Lock `name` and holds it until the worker ends (WorkerInitOptions.lifeLock); nothing where the
 *  browser has no Web Locks. */
function holdLifeLock(name: string): Promise<void> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) return Promise.resolve();
    return new Promise<void>((taken) => {
        void locks.request(name, () => {
            taken();
            return new Promise<void>(() => {}); // released by the browser when this worker ends
        });
    });
}

const api: InferenceWorkerApi = {
    init(options: WorkerInitOptions): Promise<WorkerInitInfo> {
        return guarded("WORKER_FAILED", async () => {
            const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
            // Threads need SharedArrayBuffer, which exists only when the page is cross-origin isolated.
            const numThreads = options.numThreads ?? (isolated ? 2 : 1);
            if (!Number.isInteger(numThreads) || numThreads < 1) {
                throw new SemanticSplatError("INVALID_ARGUMENT", `numThreads must be a positive integer, got ${numThreads}`);
            }
            if (!initInfo) {
                // onnxruntime reads these once, when its first session starts the wasm runtime.
                ort.env.wasm.numThreads = numThreads;
                // An object, not a prefix string: a prefix would also redirect the glue .mjs that the bundle embeds.
                if (options.wasmUrl) {
                    ort.env.wasm.wasmPaths = { wasm: options.wasmUrl };
                    wasmUrlInUse = options.wasmUrl;
                }
                const adapterTimeoutMs = options.adapterTimeoutMs;
                if (adapterTimeoutMs !== undefined && !(Number.isFinite(adapterTimeoutMs) && adapterTimeoutMs >= 0)) {
                    throw new SemanticSplatError("INVALID_ARGUMENT", `adapterTimeoutMs must be a non-negative number, got ${adapterTimeoutMs}`);
                }
                // Bounded: a busy GPU process can leave requestAdapter() unanswered; init then answers with wasm only.
                const probe = await probeWebGpuAdapter((globalThis.navigator as Navigator | undefined)?.gpu, adapterTimeoutMs);
                initInfo = {
                    crossOriginIsolated: isolated,
                    numThreads,
                    webgpuAdapter: probe.adapter !== null,
                    adapter: probe.adapter,
                    softwareAdapter: probe.software,
                    adapterProblem: probe.problem,
                };
            }
            if (options.lifeLock) await holdLifeLock(options.lifeLock);
            return initInfo;
        });
    },

    loadModel(request: LoadModelRequest, onProgress?: ProgressCallback): Promise<ModelInfo> {
        return guarded("MODEL_INVALID", async () => {
            try {
                return await loadModel(request, onProgress);
            } finally {
                // The callback is a comlink proxy: release its port now that no more progress will come.
                (onProgress as Comlink.Remote<ProgressCallback> | undefined)?.[Comlink.releaseProxy]?.();
            }
        });
    },

    unloadModel(kind: ModelKind): Promise<void> {
        return guarded("INFERENCE_FAILED", async () => {
            const loaded = models.get(kind);
            models.delete(kind);
            await loaded?.session.release();
        });
    },

    segment(rgb: Float32Array, features: Float32Array, width: number, height: number, model: SegmentationModelKind = "vdvi"): Promise<SegmentResult> {
        return guarded("INFERENCE_FAILED", async () => {
            if (model !== "vdvi" && model !== "vdvi-rgb") throw new SemanticSplatError("INVALID_ARGUMENT", `segment(): model must be "vdvi" or "vdvi-rgb", got ${JSON.stringify(model)}`);
            const result = await runVdvi(model, rgb, features, width, height);
            return Comlink.transfer(result, [result.labels.buffer as ArrayBuffer, result.confidence.buffer as ArrayBuffer]);
        });
    },

    segmentFrame(raw: RawFeatureFrame, options: SegmentFrameOptions): Promise<SegmentFrameResult> {
        return guarded("INFERENCE_FAILED", async () => {
            const { alphaThreshold, noneLabel, model = "vdvi" } = options ?? ({} as SegmentFrameOptions);
            if (!(alphaThreshold >= 0 && alphaThreshold <= 1) || !Number.isInteger(noneLabel) || noneLabel < 0 || noneLabel > 255) {
                throw new SemanticSplatError("INVALID_ARGUMENT", `segmentFrame(): alphaThreshold must be in 0..1 and noneLabel a byte, got ${alphaThreshold}, ${noneLabel}`);
            }
            if (model !== "vdvi" && model !== "vdvi-rgb") throw new SemanticSplatError("INVALID_ARGUMENT", `segmentFrame(): model must be "vdvi" or "vdvi-rgb", got ${JSON.stringify(model)}`);
            if (!models.get(model)) throw new SemanticSplatError("MODEL_NOT_FOUND", `segmentFrame(): no ${model} model is loaded (call loadModel first)`);
            if (model === "vdvi" && raw?.featureDimension === 0) {
                throw new SemanticSplatError("INVALID_ARGUMENT", "segmentFrame(): the frame has no features (a colour-only feature pass): only the vdvi-rgb model can segment it");
            }
            const t0 = performance.now();
            const frame = unpackFeatureFrame(raw);
            const unpackMs = performance.now() - t0;
            const { labels, confidence, width, height, modelKind, timings } = await runVdvi(model, frame.rgb, frame.features, frame.width, frame.height);
            const t1 = performance.now();
            const alpha = frame.alpha;
            for (let p = 0; p < labels.length; p++) {
                if (alpha[p] < alphaThreshold) {
                    labels[p] = noneLabel;
                    confidence[p] = 0;
                }
            }
            const result: SegmentFrameResult = {
                labels,
                confidence,
                alpha,
                depth: frame.depth,
                rawBuffers: rawFeatureFrameBuffers(raw),
                width,
                height,
                modelKind,
                timings: { ...timings, unpackMs, maskMs: performance.now() - t1, postMs: 0 },
            };
            return Comlink.transfer(result, [labels.buffer, confidence.buffer, alpha.buffer, frame.depth.buffer, ...result.rawBuffers] as ArrayBuffer[]);
        });
    },

    unpackFrame(raw: RawFeatureFrame): Promise<FeatureFrame> {
        return guarded("INVALID_ARGUMENT", async () => {
            const frame = unpackFeatureFrame(raw);
            const buffers = [frame.rgb, frame.alpha, frame.depth, frame.features, frame.viewMatrix, frame.projectionMatrix].map((a) => a.buffer as ArrayBuffer);
            return Comlink.transfer(frame, buffers);
        });
    },

    run(kind: ModelKind, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
        return guarded("INFERENCE_FAILED", async () => {
            const model = models.get(kind);
            if (!model) throw new SemanticSplatError("MODEL_NOT_FOUND", `run(): no ${kind} model is loaded (call loadModel first)`);
            const ortFeeds: Record<string, ort.Tensor> = {};
            for (const [name, t] of Object.entries(feeds)) {
                if (!model.info.inputNames.includes(name)) {
                    throw new SemanticSplatError("INVALID_ARGUMENT", `run(): the ${kind} model has no input "${name}" (inputs: ${model.info.inputNames.join(", ")})`);
                }
                ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
            }
            await raisePendingFault();
            const outputs = await model.session.run(ortFeeds);
            const result: Record<string, TensorData> = {};
            const transfers: ArrayBuffer[] = [];
            for (const [name, tensor] of Object.entries(outputs)) {
                const data = ownedCopy((await tensor.getData()) as TensorData["data"]);
                result[name] = { type: tensor.type as TensorData["type"], dims: [...tensor.dims], data };
                transfers.push(data.buffer as ArrayBuffer);
                tensor.dispose();
            }
            return Comlink.transfer(result, transfers);
        });
    },

    // encodeScene: the shared encode stages on the "encoder" session (encodeJob.ts); features come back transferred.
    encodeScene(request: EncodeSceneRequest, onProgress?: EncodeProgressCallback) {
        return guarded("INFERENCE_FAILED", async () => {
            try {
                const result = await runEncodeJob(request, () => ({ model: models.get("encoder"), Tensor: ort.Tensor, beforeRun: raisePendingFault }), onProgress);
                return Comlink.transfer(result, result.features ? [result.features.buffer as ArrayBuffer] : []);
            } finally {
                (onProgress as Comlink.Remote<EncodeProgressCallback> | undefined)?.[Comlink.releaseProxy]?.();
            }
        });
    },

    cancelEncode(jobId: number): Promise<void> {
        return guarded("INVALID_ARGUMENT", async () => cancelEncodeJob(jobId));
    },

    debugFailNext(fault: DebugFault): Promise<void> {
        return guarded("INVALID_ARGUMENT", async () => {
            if (fault !== "uncaught" && fault !== "close" && fault !== "stall" && fault !== "reject") {
                throw new SemanticSplatError("INVALID_ARGUMENT", `unknown debug fault "${String(fault)}"`);
            }
            pendingFault = fault;
        });
    },

    debugDelayNext(ms: number): Promise<void> {
        return guarded("INVALID_ARGUMENT", async () => {
            if (!Number.isFinite(ms) || ms < 0) throw new SemanticSplatError("INVALID_ARGUMENT", `debugDelayNext(): ms must be >= 0, got ${ms}`);
            pendingDelayMs = ms;
        });
    },
};

async function loadModel(request: LoadModelRequest, onProgress?: ProgressCallback): Promise<ModelInfo> {
    const init = requireInit();
    const { kind, source } = request;
    if (kind !== "vdvi" && kind !== "vdvi-rgb" && kind !== "encoder") throw new SemanticSplatError("INVALID_ARGUMENT", `unknown model kind "${String(kind)}"`);
    const name = typeof source === "string" ? source : (request.manifestName ?? "(buffer)");

    // 1. the manifest entry, if any (its size is the download's total when the server does not say)
    let entry: ManifestEntry | null = null;
    if (request.manifestUrl) {
        const manifestName = request.manifestName ?? (typeof source === "string" ? fileNameOf(source) : undefined);
        if (!manifestName) throw new SemanticSplatError("INVALID_ARGUMENT", "loadModel(): a buffer checked against a manifest needs manifestName");
        entry = findManifestEntry(await fetchManifest(request.manifestUrl), manifestName, kind, request.manifestUrl);
    }

    // 2. bytes, within the model budget (and the manifest's byte count, checked while they arrive)
    const maxModelBytes = resolveBudgets({ maxModelBytes: request.maxModelBytes }).maxModelBytes;
    if (typeof source !== "string" && source instanceof ArrayBuffer && source.byteLength > maxModelBytes) {
        throw budgetExceeded(name, "maxModelBytes", maxModelBytes, `the model has ${source.byteLength} bytes`);
    }
    let bytes: ArrayBuffer;
    if (typeof source === "string") {
        bytes = await fetchWithProgress(source, onProgress ? (p) => void onProgress(p) : undefined, entry?.bytes, maxModelBytes);
    } else if (source instanceof ArrayBuffer) {
        bytes = source;
        onProgress?.({ loaded: bytes.byteLength, total: bytes.byteLength });
    } else {
        throw new SemanticSplatError("INVALID_ARGUMENT", "loadModel(): source must be a URL string or an ArrayBuffer");
    }

    // 3. checksum, against the manifest entry and/or a digest given directly
    const sha256 = await sha256Hex(bytes);
    if (entry && request.manifestUrl) {
        checkChecksum(sha256, bytes.byteLength, { sha256: entry.sha256, bytes: entry.bytes, source: request.manifestUrl }, name);
    }
    if (request.sha256) checkChecksum(sha256, bytes.byteLength, { sha256: request.sha256, source: "the sha256 option" }, name);

    // 4. metadata props (onnxruntime-web does not expose them): read from the bytes, checked before a session exists
    const header = readOnnxModelHeader(bytes, name);
    const opset = header.opsets[""] ?? header.opsets["ai.onnx"] ?? 0;
    if (opset < 17) throw new SemanticSplatError("MODEL_CONTRACT", `opset ${opset}: the runtime needs opset >= 17`, name);
    const checked = checkModelMetadata(kind, header.metadata, request.expect ?? {}, name);

    // 5. session
    const choice = request.executionProvider ?? "auto";
    if (choice !== "auto" && choice !== "webgpu" && choice !== "wasm") {
        throw new SemanticSplatError("INVALID_ARGUMENT", `executionProvider must be "auto", "webgpu" or "wasm", got "${String(choice)}"`);
    }
    const chosen = chooseExecutionProvider(choice, init);
    if (chosen.executionProvider === null) throw new SemanticSplatError("NO_WEBGPU", chosen.reason, name);
    const executionProvider = chosen.executionProvider;
    let session: ort.InferenceSession;
    try {
        // onnxruntime copies the bytes into its heap, so the caller's buffer stays usable.
        // The encoder's calls change shape tile by tile: without onnxruntime's CPU arena and memory pattern each tile's
        // buffers go back to the allocator, so the wasm heap (which never shrinks) grows only to the largest tile's
        // need instead of keeping every tile's working set (the Node command does the same: bin/encode.mjs).
        const memory = kind === "encoder" ? { enableCpuMemArena: false, enableMemPattern: false } : {};
        session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [executionProvider], ...memory });
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        // onnxruntime's wording when its wasm runtime (not the model) failed to start, e.g. a wrong wasmUrl. The
        // runtime then stays broken in this worker: WORKER_FAILED makes the client replace the worker.
        if (/no available backend found|initWasm|initializeWebAssembly|expected magic word|WebAssembly\.instantiate/.test(message)) {
            // Name the URL tried: the wasmUrl option, else onnxruntime's default, next to this (bundled) worker script.
            const tried = wasmUrlInUse ?? `${new URL(ORT_WASM_FILE, self.location.href).href} (the default, next to the worker script)`;
            throw new SemanticSplatError("WORKER_FAILED", `onnxruntime's wasm runtime did not start from ${tried}: ${message}`);
        }
        throw new SemanticSplatError("MODEL_INVALID", `onnxruntime could not create a session: ${message}`, name);
    }

    // 6. inputs and outputs
    try {
        if (kind === "vdvi") {
            checkVdviInputsOutputs(valueDescriptions(session.inputMetadata), valueDescriptions(session.outputMetadata), checked.k, name);
        } else if (kind === "vdvi-rgb") {
            checkRgbOnlyInputsOutputs(valueDescriptions(session.inputMetadata), valueDescriptions(session.outputMetadata), name);
        }
    } catch (e) {
        await session.release();
        throw e;
    }

    const previous = models.get(kind);
    const info: ModelInfo = {
        kind,
        name,
        executionProvider,
        executionProviderReason: chosen.reason,
        bytes: bytes.byteLength,
        sha256,
        ...checked,
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
        metadata: header.metadata,
    };
    models.set(kind, { session, info });
    await previous?.session.release();
    return info;
}

// onnxruntime's multi-threaded wasm starts its helper threads from this same script (named "em-pthread"); those
// must run onnxruntime's own thread code only, not expose the API.
if (!(globalThis as { name?: string }).name?.startsWith("em-pthread")) Comlink.expose(api);
