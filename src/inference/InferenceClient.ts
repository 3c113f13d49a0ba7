// The main-thread side of the inference worker: creates the module worker, wraps it with comlink, turns every
// failure into a typed SemanticSplatError, and replaces a worker that failed to load or died. Rendering code
// never waits on it: every method is async and the heavy work happens in the worker.
import * as Comlink from "comlink";
import { SemanticSplatError } from "../errors";
import type { EncodeProgress, EncodeSceneResult } from "../encoder/encodeScene";
import { removeFeatureSpill } from "../encoder/featureSpill";
import { rawFeatureFrameBuffers, type FeatureFrame, type RawFeatureFrame } from "../rendering/featureFrame";
import { resolveUrl } from "../util/urls";
import {
    decodeError,
    type DebugFault,
    type EncodeJobResult,
    type EncodeSceneRequest,
    type ExecutionProviderChoice,
    type InferenceWorkerApi,
    type LoadModelRequest,
    type LoadProgress,
    type ModelInfo,
    type ModelKind,
    type SegmentFrameOptions,
    type SegmentFrameResult,
    type SegmentResult,
    type SegmentationModelKind,
    type TensorData,
    type WorkerInitInfo,
} from "../worker/protocol";

export interface InferenceClientOptions {
    /** The worker script; default `worker.js` next to this bundle (dist/worker.js in the published package). */
    workerUrl?: string | URL;
    /** How long the worker may take to start and answer init(); then WORKER_TIMEOUT. Default 30000 ms. */
    initTimeoutMs?: number;
    /** How long segment() or run() may take before the worker is presumed stuck, replaced, and the call rejected
     *  with WORKER_TIMEOUT; 0 disables. Default 300000 ms (the WebGPU EP on a software GPU is very slow). */
    callTimeoutMs?: number;
    /** The same for loadModel() (download included). Default 600000 ms; 0 disables. */
    loadTimeoutMs?: number;
    /** Default execution provider for loadModel() requests that do not name one. Default "auto". */
    executionProvider?: ExecutionProviderChoice;
    /** URL of onnxruntime-web's asyncify .wasm; default: onnxruntime-web's own lookup (docs/MODELS.md). */
    wasmUrl?: string;
    /** wasm threads; default 2 when cross-origin isolated, else 1. */
    numThreads?: number;
    /** How long the worker's init waits for `navigator.gpu.requestAdapter()` before it settles for wasm (the
     *  reason lands in `WorkerInitInfo.adapterProblem`). Default 10000 ms; 0: no limit. */
    adapterTimeoutMs?: number;
}

/** One worker instance and the calls waiting on it. */
interface WorkerHandle {
    worker: Worker;
    remote: Comlink.Remote<InferenceWorkerApi>;
    /** Rejecters of the calls in flight, so a death or dispose() can reject them all. */
    pending: Set<(error: SemanticSplatError) => void>;
    ready: Promise<WorkerInitInfo>;
    /** The models this worker has loaded (or is loading), by kind. */
    models: Map<ModelKind, Promise<ModelInfo>>;
    deathError: SemanticSplatError | null;
    /** The Web Lock the worker holds while it lives (WorkerInitOptions.lifeLock), where the browser has Web Locks. */
    lifeLock: string | undefined;
}

/** disposeAndWait's default limit: a worker that takes longer to end is not waited for. */
const WORKER_END_WAIT_MS = 5000;

/** The buffer as a transfer list, or nothing for shared memory (which postMessage shares rather than moves). */
function transferable(buffer: ArrayBufferLike): ArrayBuffer[] {
    return buffer instanceof ArrayBuffer ? [buffer] : [];
}

const DEFAULT_INIT_TIMEOUT_MS = 30000;
const DEFAULT_CALL_TIMEOUT_MS = 300000;
const DEFAULT_LOAD_TIMEOUT_MS = 600000;
/** encodeScene's time limit per Gaussian (when above callTimeoutMs): 0.25 ms, a generous bound (the tiled Node
 *  encode took 15-40 us per Gaussian on a loaded 2-core machine, BENCHMARKS.md "Large scenes"; the wasm EP is
 *  slower), so 6 M Gaussians get 25 minutes before WORKER_TIMEOUT. */
const ENCODE_TIMEOUT_MS_PER_GAUSSIAN = 0.25;

export class InferenceClient {
    private handle: WorkerHandle | null = null;
    /** The last successful load request per kind: replayed on a replacement worker. */
    private readonly requests = new Map<ModelKind, LoadModelRequest>();
    private disposed = false;
    private encodeJobCount = 0;
    private readonly workerUrl: string | URL;
    private readonly initTimeoutMs: number;
    private readonly callTimeoutMs: number;
    private readonly loadTimeoutMs: number;

    constructor(private readonly options: InferenceClientOptions = {}) {
        this.workerUrl = options.workerUrl ?? new URL("./worker.js", import.meta.url);
        this.initTimeoutMs = options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
        this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
        this.loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
        const timeouts = [
            ["initTimeoutMs", this.initTimeoutMs],
            ["callTimeoutMs", this.callTimeoutMs],
            ["loadTimeoutMs", this.loadTimeoutMs],
            ["adapterTimeoutMs", options.adapterTimeoutMs ?? 0],
        ] as const;
        for (const [name, value] of timeouts) {
            if (!Number.isFinite(value) || value < 0) {
                throw new SemanticSplatError("INVALID_ARGUMENT", `InferenceClient: ${name} must be a non-negative number, got ${value}`);
            }
        }
    }

    /** Starts the worker if none is running and returns what it found (threads, WebGPU adapter). */
    async init(): Promise<WorkerInitInfo> {
        return this.ensureWorker().ready;
    }

    /**
     * Loads (or replaces) the model of `request.kind`: fetched in the worker with `onProgress` byte events,
     * checked against the manifest checksum and the model contract. A later replacement worker reloads it.
     * An ArrayBuffer source is copied to the worker, not transferred: the client keeps it for such reloads.
     */
    async loadModel(request: LoadModelRequest, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
        const handle = this.ensureWorker();
        // URLs are the page's: resolved here, against the page, not in the worker against the worker script's URL.
        const full: LoadModelRequest = {
            ...request,
            source: typeof request.source === "string" ? resolveUrl(request.source) : request.source,
            manifestUrl: request.manifestUrl === undefined ? undefined : resolveUrl(request.manifestUrl),
            executionProvider: request.executionProvider ?? this.options.executionProvider,
        };
        // The worker keeps its previous model of this kind when a load fails: so does the client.
        const previous = handle.models.get(request.kind);
        const loading = this.loadOn(handle, full, onProgress);
        handle.models.set(request.kind, loading);
        try {
            const info = await loading;
            this.requests.set(request.kind, full);
            return info;
        } catch (e) {
            if (handle.models.get(request.kind) === loading) {
                if (previous) handle.models.set(request.kind, previous);
                else handle.models.delete(request.kind);
            }
            throw e;
        }
    }

    /**
     * Runs the VDVI model on one frame. `rgb` [3 x H x W] and `features` [K x H x W] (planar, row-major) are
     * TRANSFERRED to the worker: their buffers are detached on return. The result's arrays are transferred back.
     * `model` "vdvi-rgb" runs the RGB-only fallback instead, which reads no features (pass an empty array).
     */
    async segment(rgb: Float32Array, features: Float32Array, width: number, height: number, model: SegmentationModelKind = "vdvi"): Promise<SegmentResult> {
        if (!(rgb instanceof Float32Array) || !(features instanceof Float32Array)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", "segment(): rgb and features must be Float32Arrays");
        }
        const handle = this.ensureWorker();
        await this.modelOn(handle, model);
        // postMessage refuses a buffer listed twice, and shared memory cannot be transferred (it is shared instead).
        const rgbTransfer = transferable(rgb.buffer);
        const featuresTransfer = features.buffer === rgb.buffer ? [] : transferable(features.buffer);
        return this.call(handle, "segment()", this.callTimeoutMs, (remote) =>
            remote.segment(Comlink.transfer(rgb, rgbTransfer), Comlink.transfer(features, featuresTransfer), width, height, model)
        );
    }

    /**
     * Segments a raw feature image (`FeatureSplatPass.readbackRawAsync()`): the worker unpacks it, runs the VDVI model
     * (or the RGB-only fallback with `options.model` "vdvi-rgb", the only one that takes a colour-only frame) and masks pixels whose coverage alpha is below `options.alphaThreshold`. The attachments' buffers are
     * TRANSFERRED (detached on return); the answer's labels, confidence, alpha and depth are transferred back.
     */
    async segmentFrame(raw: RawFeatureFrame, options: SegmentFrameOptions): Promise<SegmentFrameResult> {
        const handle = this.ensureWorker();
        await this.modelOn(handle, options?.model ?? "vdvi");
        const transfers = rawFeatureFrameBuffers(raw);
        let postMs = 0;
        const answer = await this.call(handle, "segmentFrame()", this.callTimeoutMs, (remote) => {
            // comlink posts the request synchronously here: the main-thread cost of handing the frame over.
            const start = performance.now();
            const pending = remote.segmentFrame(Comlink.transfer(raw, transfers), options);
            postMs = performance.now() - start;
            return pending;
        });
        answer.timings.postMs = postMs;
        return answer;
    }

    /** Unpacks a raw feature image in the worker (its buffers are transferred) and returns the planar frame. */
    async unpackFrame(raw: RawFeatureFrame): Promise<FeatureFrame> {
        const handle = this.ensureWorker();
        await handle.ready;
        const transfers = rawFeatureFrameBuffers(raw);
        return this.call(handle, "unpackFrame()", this.callTimeoutMs, (remote) => remote.unpackFrame(Comlink.transfer(raw, transfers)));
    }

    /** Runs any loaded model (the Gaussian encoder, for instance) on named tensors; their buffers are transferred. */
    async run(kind: ModelKind, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
        const handle = this.ensureWorker();
        await this.modelOn(handle, kind);
        const transfers = [...new Set(Object.values(feeds).flatMap((t) => transferable(t.data.buffer)))];
        return this.call(handle, "run()", this.callTimeoutMs, (remote) => remote.run(kind, Comlink.transfer(feeds, transfers)));
    }

    /**
     * Encodes one scene with the loaded "encoder" model in the worker (docs/ENCODER.md, "Encoding a scene"):
     * `request.splats` (Babylon's 32-byte rows) is TRANSFERRED. `signal` cancels: the call rejects with CANCELLED at
     * once, the worker drops the job at its next stage boundary and stays usable.
     */
    async encodeScene(
        request: Omit<EncodeSceneRequest, "jobId" | "spillFeatures">,
        options: { onProgress?: (progress: EncodeProgress) => void; signal?: AbortSignal } = {}
    ): Promise<EncodeSceneResult> {
        const result = await this.encodeJob({ ...request, spillFeatures: false }, options);
        return { ...result, features: result.features! };
    }

    /**
     * encodeScene for a large scene whose features should not be held by the worker (docs/ENCODER.md, "Large scenes:
     * tiles"): a tiled fp16 encode (`outputPrecision: "float16"`) writes them to a spill file in the Origin Private
     * File System as its tiles finish, and the result has `features: null` and `spill` set: read them with
     * `readFeatureSpill(spill)` after `dispose()`, once the worker's memory is gone. A scene encoded whole, or a
     * worker without OPFS, answers with `features` set and `spill: null`.
     */
    async encodeSceneSpilled(
        request: Omit<EncodeSceneRequest, "jobId" | "spillFeatures">,
        options: { onProgress?: (progress: EncodeProgress) => void; signal?: AbortSignal } = {}
    ): Promise<EncodeJobResult> {
        return this.encodeJob({ ...request, spillFeatures: true }, options);
    }

    private async encodeJob(
        request: Omit<EncodeSceneRequest, "jobId">,
        options: { onProgress?: (progress: EncodeProgress) => void; signal?: AbortSignal }
    ): Promise<EncodeJobResult> {
        const cancelledError = () => new SemanticSplatError("CANCELLED", "encodeScene was cancelled");
        const { signal, onProgress } = options;
        if (signal?.aborted) throw cancelledError();
        const handle = this.ensureWorker();
        await this.modelOn(handle, "encoder");
        if (signal?.aborted) throw cancelledError();
        const jobId = ++this.encodeJobCount;
        const progressProxy = onProgress ? Comlink.proxy(onProgress) : undefined;
        const splats = request.splats;
        const transfers = ArrayBuffer.isView(splats) ? transferable(splats.buffer) : transferable(splats);
        // a large scene is encoded tile by tile for minutes: the call's limit grows with its Gaussians
        const gaussians = Math.floor(splats.byteLength / 32);
        const timeoutMs = Math.max(this.callTimeoutMs, gaussians * ENCODE_TIMEOUT_MS_PER_GAUSSIAN);
        const running = this.call<EncodeJobResult>(handle, "encodeScene()", timeoutMs, (remote) =>
            remote.encodeScene(Comlink.transfer({ ...request, jobId }, transfers), progressProxy) as Promise<EncodeJobResult>
        );
        if (!signal) return running;
        return new Promise<EncodeJobResult>((resolve, reject) => {
            const onAbort = () => {
                reject(cancelledError());
                if (!handle.deathError) handle.remote.cancelEncode(jobId).catch(() => {});
                // a job that ended just before the cancel reached the worker: nobody reads its spill file
                running.then((result) => (result.spill ? removeFeatureSpill(result.spill) : undefined), () => undefined);
            };
            signal.addEventListener("abort", onAbort, { once: true });
            running.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
        });
    }

    /** Frees the model of `kind` in the worker; a replacement worker will not reload it. */
    async unloadModel(kind: ModelKind): Promise<void> {
        this.requests.delete(kind);
        const handle = this.handle;
        if (!handle || !handle.models.has(kind)) return;
        handle.models.delete(kind);
        await this.call(handle, "unloadModel()", this.callTimeoutMs, (remote) => remote.unloadModel(kind));
    }

    /** Test hook: the worker raises `fault` inside its next segment() or run(). */
    async debugFailNext(fault: DebugFault): Promise<void> {
        const handle = this.ensureWorker();
        await handle.ready;
        return this.call(handle, "debugFailNext()", this.callTimeoutMs, (remote) => remote.debugFailNext(fault));
    }

    /** Test hook: the worker's next segment() or run() waits `ms` first (to test code around a slow inference). */
    async debugDelayNext(ms: number): Promise<void> {
        const handle = this.ensureWorker();
        await handle.ready;
        return this.call(handle, "debugDelayNext()", this.callTimeoutMs, (remote) => remote.debugDelayNext(ms));
    }

    /** The model info of `kind` on the current worker, or null. */
    async modelInfo(kind: ModelKind): Promise<ModelInfo | null> {
        const loading = this.handle?.models.get(kind);
        return loading ? loading.catch(() => null) : null;
    }

    /** Terminates the worker and releases the comlink proxy; calls in flight reject with CANCELLED, later calls
     *  with DISPOSED. Safe to call twice. */
    dispose(): void {
        if (this.disposed) return;
        this.disposed = true;
        if (this.handle) this.kill(this.handle, new SemanticSplatError("CANCELLED", "the inference client was disposed while a call was in flight"));
        this.requests.clear();
    }

    /**
     * dispose(), then waits until the browser has ended the worker (its life lock released: WorkerInitOptions.lifeLock)
     * or `timeoutMs` has passed. A terminated worker's memory (onnxruntime's wasm heap, the encode's arrays: about
     * 1 GB after a 6 M Gaussian encode) is freed while the worker ends, not at terminate(): allocating the scene's
     * features before that adds both at the tab's peak. Resolves at once where the browser has no Web Locks.
     */
    async disposeAndWait(timeoutMs = WORKER_END_WAIT_MS): Promise<void> {
        const lock = this.handle?.lifeLock;
        this.dispose();
        const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
        if (!lock || !locks) return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([locks.request(lock, () => undefined), new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)))]);
        clearTimeout(timer);
    }

    get isDisposed(): boolean {
        return this.disposed;
    }

    private ensureWorker(): WorkerHandle {
        if (this.disposed) throw new SemanticSplatError("DISPOSED", "the inference client was disposed");
        if (this.handle && !this.handle.deathError) return this.handle;
        const url = String(this.workerUrl);
        // The name keeps the main API from starting in onnxruntime's own thread workers (see worker.ts).
        const worker = new Worker(this.workerUrl, { type: "module", name: "semantic-inference" });
        const handle: WorkerHandle = {
            worker,
            remote: Comlink.wrap<InferenceWorkerApi>(worker),
            pending: new Set(),
            ready: Promise.resolve(null as unknown as WorkerInitInfo),
            models: new Map(),
            deathError: null,
            lifeLock: typeof navigator !== "undefined" && navigator.locks ? `semantic-splat-inference-${Date.now()}-${Math.random().toString(36).slice(2)}` : undefined,
        };
        // comlink does not notice a worker that failed to load or died: its calls would hang forever.
        worker.addEventListener("error", (event: ErrorEvent | Event) => {
            event.preventDefault();
            const detail = "message" in event && event.message ? event.message : `the script failed to load or threw (${url})`;
            this.kill(handle, new SemanticSplatError("WORKER_FAILED", `inference worker failed: ${detail}`));
        });
        worker.addEventListener("messageerror", () => {
            this.kill(handle, new SemanticSplatError("WORKER_FAILED", "inference worker sent a message that could not be read"));
        });
        const { numThreads, adapterTimeoutMs } = this.options;
        const wasmUrl = this.options.wasmUrl === undefined ? undefined : resolveUrl(this.options.wasmUrl);
        handle.ready = this.call(handle, "worker start (init)", this.initTimeoutMs, (remote) => remote.init({ wasmUrl, numThreads, adapterTimeoutMs, lifeLock: handle.lifeLock }));
        handle.ready.catch(() => {}); // observed by every caller; avoid an unhandled rejection when none comes
        this.handle = handle;
        return handle;
    }

    /** The model of `kind` on `handle`, reloading the last successful request on a replacement worker. */
    private modelOn(handle: WorkerHandle, kind: ModelKind): Promise<ModelInfo> {
        let loading = handle.models.get(kind);
        if (!loading) {
            const request = this.requests.get(kind);
            if (!request) return Promise.reject(new SemanticSplatError("MODEL_NOT_FOUND", `no ${kind} model is loaded (call loadModel first)`));
            loading = this.loadOn(handle, request);
            handle.models.set(kind, loading);
            loading.catch(() => {
                if (handle.models.get(kind) === loading) handle.models.delete(kind);
            });
        }
        return loading;
    }

    private async loadOn(handle: WorkerHandle, request: LoadModelRequest, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
        await handle.ready;
        const progressProxy = onProgress ? Comlink.proxy(onProgress) : undefined;
        return this.call(handle, "loadModel()", this.loadTimeoutMs, (remote) => remote.loadModel(request, progressProxy));
    }

    /** One call to the worker that settles however the worker ends: answer, error, death, timeout or dispose. */
    private call<T>(handle: WorkerHandle, what: string, timeoutMs: number, start: (remote: Comlink.Remote<InferenceWorkerApi>) => Promise<T>): Promise<T> {
        return new Promise<T>((resolve, reject) => {
            if (handle.deathError) return reject(handle.deathError);
            let timer: ReturnType<typeof setTimeout> | undefined;
            const rejecter = (error: SemanticSplatError) => finish(() => reject(error));
            const finish = (settle: () => void) => {
                if (!handle.pending.delete(rejecter)) return; // already settled
                clearTimeout(timer);
                settle();
            };
            handle.pending.add(rejecter);
            if (timeoutMs > 0) {
                timer = setTimeout(() => {
                    // A worker that stops answering cannot be trusted with the next call: replace it.
                    this.kill(handle, new SemanticSplatError("WORKER_TIMEOUT", `${what} got no answer from the inference worker within ${timeoutMs} ms`));
                }, timeoutMs);
            }
            let started: Promise<T>;
            try {
                started = start(handle.remote);
            } catch (e) {
                return rejecter(decodeError(e, "WORKER_FAILED"));
            }
            started.then(
                (value) => finish(() => resolve(value)),
                (e) => {
                    const error = decodeError(e, "WORKER_FAILED");
                    // The worker says it is broken (its runtime did not start): replace it on next use.
                    if (error.code === "WORKER_FAILED") this.kill(handle, error);
                    rejecter(error);
                }
            );
        });
    }

    /** Ends a worker: rejects its pending calls with `error`, releases the proxy, terminates the thread. The next
     *  use of the client starts a new worker. */
    private kill(handle: WorkerHandle, error: SemanticSplatError): void {
        if (handle.deathError) return;
        handle.deathError = error;
        for (const reject of [...handle.pending]) reject(error);
        handle.pending.clear();
        try {
            handle.remote[Comlink.releaseProxy]();
        } catch {
            // releasing an already-closed endpoint: nothing left to free
        }
        handle.worker.terminate();
        if (this.handle === handle) this.handle = null;
    }
}
