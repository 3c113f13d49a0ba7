// The segmentation pipeline on the main thread: owns a FeatureSplatPass (GPU) and an InferenceClient (the worker)
// for one semantic mesh, starts segmentation ticks from the render loop without ever making a frame wait, keeps the
// latest class map for picking and the overlay, and measures every stage. See docs/RUNTIME.md, "Segmentation
// pipeline and picking".
import type { Camera } from "@babylonjs/core/Cameras/camera";
import "@babylonjs/core/Culling/ray"; // registers scene.pick / createPickingRay
import { PickingInfo } from "@babylonjs/core/Collisions/pickingInfo";
import type { MeshPredicate } from "@babylonjs/core/Culling/ray.core";
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Observable, type Observer } from "@babylonjs/core/Misc/observable";
import type { Scene } from "@babylonjs/core/scene";
import type { Nullable } from "@babylonjs/core/types";
import type { ClassTable } from "../classes";
import { SemanticSplatError } from "../errors";
import { InferenceClient, type InferenceClientOptions } from "../inference/InferenceClient";
import { FeatureSplatPass, type FeatureSplatMesh, type RawFeatureFrame, type SplatPrimitive } from "../rendering/featureSplatPass";
import type { AttachmentFormat } from "../rendering/attachmentPlan";
import { GpuFramePacer } from "../rendering/gpuFramePacer";
import type { ExecutionProviderChoice, LoadModelRequest, LoadProgress, ModelInfo, SegmentationModelKind } from "../worker/protocol";
import { SegmentationOverlay, type OverlayOptions } from "./overlay";
import {
    canvasFractionToMapFraction,
    cssToRenderPixel,
    emptyPick,
    lookupClassMap,
    matricesDiffer,
    renderPixelToImageFraction,
    type ClassMapForPicking,
    type SemanticPickResult,
} from "./picking";
import { StatsCollector, type SegmentationStageTimes, type SegmentationStats } from "./stats";
import "./pickingInfoAugmentation";

/**
 * When ticks start:
 * - "continuous": whenever none is in flight (at most one at a time; each starts from the newest rendered frame).
 * - "settle": once the camera has kept the same view and projection for `settleFrames` rendered frames and the
 *   latest map was made for another camera state.
 * - "demand": only for `segmentAsync()` (which works in every mode).
 */
export type SegmentationMode = "continuous" | "settle" | "demand";

/** Where a model comes from: the VDVI model or the RGB-only fallback (the pipeline adds `kind` and the expectations:
 *  the mesh's K, the class table). */
export interface SegmentationModelSource {
    /** URL (fetched in the worker, with progress) or the model's bytes. */
    source: string | ArrayBuffer;
    /** models manifest with the file's SHA-256 (docs/MODELS.md). */
    manifestUrl?: string;
    manifestName?: string;
    sha256?: string;
    /** Default: the client's (auto: WebGPU when the worker has an adapter, else wasm). */
    executionProvider?: ExecutionProviderChoice;
    /** Largest model accepted, in bytes (default 512 MiB); the download also stops past the manifest's byte count. */
    maxModelBytes?: number;
}

/** Every option of the pipeline, in one object. */
export interface SemanticSegmentationPipelineOptions {
    /**
     * The semantic mesh to segment. Its features (featureDimension K >= 1) may arrive later (the Gaussian encoder
     * running): until they do, ticks use `fallbackModel`, or wait when there is none.
     */
    mesh: FeatureSplatMesh;
    /** The class table the model was made for (models/classes.json, `ClassTable.load`). */
    classes: ClassTable;
    /** The VDVI model; loaded by `loadModelAsync()`. Optional here so that a model can be given later. */
    model?: SegmentationModelSource;
    /**
     * The RGB-only fallback model (kind "vdvi-rgb", one input rgb; models/vdvi-rgb-k16.onnx), loaded by
     * `loadFallbackModelAsync()`. Used automatically while the full model cannot run: the mesh has no features yet
     * (the encoder is running, or failed), its K differs from the model's, or the full model is not loaded; the
     * pipeline switches to the full model at the first tick where it can run. Results say which model made them
     * (`SegmentationResult.modelKind`, `stats.lastModelKind`).
     */
    fallbackModel?: SegmentationModelSource;
    /** Default "continuous". */
    mode?: SegmentationMode;
    /** "settle" mode: rendered frames with an unchanged camera before a tick starts. Default 10. */
    settleFrames?: number;
    /**
     * Pixels whose coverage alpha is below this are `none` (the class table's none value, 255) whatever the network
     * says (ARCHITECTURE.md contract 3). Default 0.5, the threshold of the factory's label maps
     * (factory/rtgs2/render.py LABEL_ALPHA_THRESHOLD), so the runtime masks like the training data.
     */
    alphaThreshold?: number;
    /** Segmentation resolution (see FeatureSplatPassOptions): explicit width and height, both multiples of the
     *  model's size multiple (32 for VDVI), or `longSide` (default 320) with the canvas's aspect. */
    width?: number;
    height?: number;
    longSide?: number;
    /**
     * Render-target format of the feature pass (default: the pass's own, "rgba32float" when the device has
     * "float32-blendable", else "rgba16float"; see FeatureSplatPassOptions.attachmentFormat).
     */
    attachmentFormat?: AttachmentFormat;
    /**
     * How the feature pass draws each splat (default: the pass's own, "triangle" where the device has
     * "clip-distances", else "quad"; see FeatureSplatPassOptions.splatPrimitive).
     */
    splatPrimitive?: SplatPrimitive;
    /** An existing client to share (dispose() then leaves it running: its owner disposes it). */
    client?: InferenceClient;
    /** Options of the client the pipeline creates when `client` is not given (worker URL, wasm URL, threads…). */
    clientOptions?: InferenceClientOptions;
    /** Ticks and frames in the rolling averages of `stats`. Default 30. */
    statsWindow?: number;
    /** The class-colour overlay's initial state (default: disabled). */
    overlay?: OverlayOptions;
    /**
     * Make `scene.pick` hit the semantic mesh through the class map (default true): the pipeline wraps this scene's
     * `pick` so that a ray through a covered pixel yields `hit`, `pickedMesh` = the mesh, `pickedPoint` from the
     * expected depth and `PickingInfo.semantic`, unless another mesh was hit in front. See docs/RUNTIME.md.
     */
    hookScenePick?: boolean;
    /**
     * Pace the engine's render loop by the GPU while the pipeline lives (default true): a frame starts once the GPU
     * finished the previous one (`GpuFramePacer`). Without it, a render loop on a GPU that does not throttle
     * requestAnimationFrame (SwiftShader) floods the GPU process and the worker's WebGPU adapter request never
     * answers (docs/RUNTIME.md, "Render loop pacing"). No effect on WebGL engines or an engine with its own
     * `maxFramesInFlight`.
     */
    paceRenderLoop?: boolean;
    /** Frames a requested tick may wait for the mesh to become drawable (sorted, shaders compiled) before
     *  `segmentAsync` rejects with GPU_LIMITS. Default 600. */
    maxWaitFrames?: number;
}

/**
 * One segmentation of one rendered frame. Arrays are [height x width], row 0 at the TOP of the image. The class map
 * itself (frame id, size, labels, confidence, alpha, expected depth and the matrices it was rendered with) is
 * `ClassMapForPicking`, the part picking reads.
 */
export interface SegmentationResult extends ClassMapForPicking {
    /** The model that made this map: "vdvi" (rgb + features) or "vdvi-rgb" (the RGB-only fallback). */
    modelKind: SegmentationModelKind;
    /** The active camera's view and projection (canvas aspect) in that frame: what `stale` compares against. */
    cameraViewMatrix: Float32Array;
    cameraProjectionMatrix: Float32Array;
    mesh: FeatureSplatMesh;
    /** This tick's stage times. */
    timings: SegmentationStageTimes;
}

/** A tick in flight. */
interface Tick {
    frameId: number;
    /** The model this tick runs, and the pass that drew its frame. */
    modelKind: SegmentationModelKind;
    pass: FeatureSplatPass;
    cameraView: Float32Array;
    cameraProjection: Float32Array;
    startTime: number;
    featurePassMs: number;
    endFrameTime: number;
    /** Main-thread time issuing the readback's GPU copies (at the end of the frame). */
    readbackStartMs: number;
    /** segmentAsync() callers this tick answers. */
    waiters: Waiter[];
    cancelled: boolean;
    /** Settles (never rejects) when the tick ends, whatever the outcome. */
    done: Promise<void>;
    finish: () => void;
}

interface Waiter {
    resolve: (result: SegmentationResult) => void;
    reject: (error: SemanticSplatError) => void;
}

const now = () => performance.now();

export class SemanticSegmentationPipeline {
    /** Fires with every result, after the cached map and the overlay were updated. */
    readonly onSegmentationObservable = new Observable<SegmentationResult>();
    /** Fires with every failed tick's error (the pipeline goes on; the next tick may use a new worker). */
    readonly onErrorObservable = new Observable<SemanticSplatError>();
    readonly mesh: FeatureSplatMesh;
    readonly classes: ClassTable;
    readonly client: InferenceClient;
    readonly overlay: SegmentationOverlay;
    /** Coverage alpha below which a pixel is none. */
    readonly alphaThreshold: number;
    /** Segmentation resolution (both passes, the full and the colour-only one, draw at this size). */
    readonly width: number;
    readonly height: number;

    private readonly options: SemanticSegmentationPipelineOptions;
    private readonly ownsClient: boolean;
    private readonly stats_: StatsCollector;
    private _mode: SegmentationMode;
    private readonly settleFrames: number;
    private readonly maxWaitFrames: number;
    private _model: ModelInfo | null = null;
    private _modelLoading: Promise<ModelInfo> | null = null;
    private _fallback: ModelInfo | null = null;
    private _fallbackLoading: Promise<ModelInfo> | null = null;
    /** The feature pass for the mesh's current K (null until the mesh has features), and the colour-only pass of the
     *  RGB-only fallback (null until needed). */
    private _featurePass: FeatureSplatPass | null = null;
    private _colorPass: FeatureSplatPass | null = null;
    private _latest: SegmentationResult | null = null;
    private _tick: Tick | null = null;
    private _drawnThisFrame: Tick | null = null;
    private _demand: Waiter[] = [];
    /** The last raw frame's buffers, back from the worker: the next readback copies into them (no fresh memory). */
    private _rawBuffers: ArrayBuffer[] = [];
    private _framesWithoutDraw = 0;
    private _stableFrames = 0;
    private readonly _lastView = new Float32Array(16);
    private readonly _lastProjection = new Float32Array(16);
    /** Camera state of the last tick started (settle mode does not repeat a tick for the same state). */
    private _lastTickView: Float32Array | null = null;
    private _lastTickProjection: Float32Array | null = null;
    private _afterRenderObserver: Nullable<Observer<Scene>> = null;
    private _endFrameObserver: Nullable<Observer<AbstractEngine>> = null;
    private _pickHooked = false;
    private _disposed = false;
    private readonly _pacer: GpuFramePacer | null;

    constructor(
        readonly scene: Scene,
        options: SemanticSegmentationPipelineOptions
    ) {
        if (!options || !options.mesh) throw new SemanticSplatError("INVALID_ARGUMENT", "SemanticSegmentationPipeline: options.mesh is required");
        if (!options.classes) throw new SemanticSplatError("INVALID_ARGUMENT", "SemanticSegmentationPipeline: options.classes (a ClassTable) is required");
        const mode = options.mode ?? "continuous";
        if (!["continuous", "settle", "demand"].includes(mode)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticSegmentationPipeline: mode must be "continuous", "settle" or "demand", got ${JSON.stringify(mode)}`);
        }
        const positiveInteger = (name: string, value: number) => {
            if (!Number.isInteger(value) || value < 1) throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticSegmentationPipeline: ${name} must be a positive integer, got ${value}`);
            return value;
        };
        this.options = options;
        this.mesh = options.mesh;
        this.classes = options.classes;
        this._mode = mode;
        this.settleFrames = positiveInteger("settleFrames", options.settleFrames ?? 10);
        this.maxWaitFrames = positiveInteger("maxWaitFrames", options.maxWaitFrames ?? 600);
        const threshold = options.alphaThreshold ?? 0.5;
        if (!(threshold >= 0 && threshold <= 1)) throw new SemanticSplatError("INVALID_ARGUMENT", `SemanticSegmentationPipeline: alphaThreshold must be in 0..1, got ${threshold}`);
        this.alphaThreshold = threshold;
        this.stats_ = new StatsCollector(positiveInteger("statsWindow", options.statsWindow ?? 30));

        // The first pass checks the options (size, format, primitive) at once: the feature pass when the mesh has
        // features, else the colour-only one. The other is made when first needed, at the same size.
        const first = this.createPass(this.mesh.featureDimension >= 1, options.width, options.height);
        this.width = first.width;
        this.height = first.height;
        if (first.featureDimension > 0) this._featurePass = first;
        else this._colorPass = first;
        this._pacer = (options.paceRenderLoop ?? true) ? GpuFramePacer.Acquire(scene.getEngine()) : null;
        this.ownsClient = !options.client;
        this.client = options.client ?? new InferenceClient(options.clientOptions);
        this.overlay = new SegmentationOverlay(scene, this.classes, options.overlay);
        this._afterRenderObserver = scene.onAfterRenderObservable.add(() => this.onAfterRender());
        this._endFrameObserver = scene.getEngine().onEndFrameObservable.add(() => this.onEndFrame());
        if (options.hookScenePick ?? true) this.hookScenePick();
    }

    get mode(): SegmentationMode {
        return this._mode;
    }
    set mode(mode: SegmentationMode) {
        if (!["continuous", "settle", "demand"].includes(mode)) throw new SemanticSplatError("INVALID_ARGUMENT", `mode must be "continuous", "settle" or "demand", got ${JSON.stringify(mode)}`);
        this._mode = mode;
    }

    /** The model in use, or null before a successful `loadModelAsync()`. */
    get model(): ModelInfo | null {
        return this._model;
    }

    /** The RGB-only fallback model, or null before a successful `loadFallbackModelAsync()`. */
    get fallbackModel(): ModelInfo | null {
        return this._fallback;
    }

    /**
     * The model the next tick will run: "vdvi" when the full model is loaded and the mesh has its K features,
     * else "vdvi-rgb" when the fallback is loaded, else null (no tick can start).
     */
    get activeModelKind(): SegmentationModelKind | null {
        if (this.fullModelCanRun()) return "vdvi";
        return this._fallback ? "vdvi-rgb" : null;
    }

    /** The feature pass the pipeline draws now: the one with the mesh's features when it has them, else the
     *  colour-only pass of the fallback. */
    get pass(): FeatureSplatPass {
        return this.featurePass() ?? this.colorPass();
    }

    /** The latest result (the cached class map), or null before the first. */
    get latestResult(): SegmentationResult | null {
        return this._latest;
    }

    /** True while a tick is between its feature pass and its result. */
    get inFlight(): boolean {
        return this._tick !== null;
    }

    get stats(): SegmentationStats {
        return this.stats_.snapshot();
    }

    get isDisposed(): boolean {
        return this._disposed;
    }

    /**
     * Loads the VDVI model into the worker, checked against the mesh's K and the class table (typed errors:
     * MODEL_NOT_FOUND, MODEL_INVALID, MODEL_CONTRACT, FEATURE_MISMATCH, CLASS_TABLE_MISMATCH, WORKER_FAILED…).
     * On failure the previous model, if any, stays in use. Ticks start only once a model is loaded.
     */
    async loadModelAsync(model: SegmentationModelSource | undefined = this.options.model, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
        this.throwIfDisposed("loadModelAsync");
        if (!model) throw new SemanticSplatError("INVALID_ARGUMENT", "loadModelAsync: no model given (options.model or the argument)");
        // A mesh still without features (encoding) cannot say its K yet: checked again at each tick.
        const request = this.loadRequest("vdvi", model, this.mesh.featureDimension || undefined);
        const loading = this.client.loadModel(request, onProgress).then((info) => this.checkSizeMultiple(info));
        this._modelLoading = loading;
        try {
            const info = await loading;
            if (!this._disposed) this._model = info;
            return info;
        } catch (e) {
            // Callers of segmentAsync() waiting for this load get its error (unless an earlier model or the fallback
            // still works).
            if (!this._model && !this._fallback && !this._fallbackLoading) this.rejectDemand(e as SemanticSplatError);
            throw e;
        } finally {
            if (this._modelLoading === loading) this._modelLoading = null;
        }
    }

    /**
     * Loads the RGB-only fallback model (kind "vdvi-rgb", ARCHITECTURE.md contract 3 without the features input)
     * into the worker, checked against the class table (typed errors as for `loadModelAsync`). From then on, ticks
     * run it whenever the full model cannot run (the mesh's features are not ready, or no full model is loaded).
     * On failure the previous fallback, if any, stays in use.
     */
    async loadFallbackModelAsync(model: SegmentationModelSource | undefined = this.options.fallbackModel, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
        this.throwIfDisposed("loadFallbackModelAsync");
        if (!model) throw new SemanticSplatError("INVALID_ARGUMENT", "loadFallbackModelAsync: no model given (options.fallbackModel or the argument)");
        const request = this.loadRequest("vdvi-rgb", model, undefined);
        const loading = this.client.loadModel(request, onProgress).then((info) => this.checkSizeMultiple(info));
        this._fallbackLoading = loading;
        try {
            const info = await loading;
            if (!this._disposed) this._fallback = info;
            return info;
        } catch (e) {
            if (!this._model && !this._fallback && !this._modelLoading) this.rejectDemand(e as SemanticSplatError);
            throw e;
        } finally {
            if (this._fallbackLoading === loading) this._fallbackLoading = null;
        }
    }

    /** The worker's load request for `model` as a model of `kind`, checked against this pipeline's class table (and K if given). */
    private loadRequest(kind: "vdvi" | "vdvi-rgb", model: SegmentationModelSource, k: number | undefined): LoadModelRequest {
        return {
            kind,
            source: model.source,
            manifestUrl: model.manifestUrl,
            manifestName: model.manifestName,
            sha256: model.sha256,
            maxModelBytes: model.maxModelBytes,
            executionProvider: model.executionProvider,
            expect: { k, classTableVersion: this.classes.version, numClasses: this.classes.count },
        };
    }

    /**
     * Segments a frame rendered after this call: resolves when the app has rendered that frame (the pipeline never
     * renders frames itself) and the worker has answered. Works in every mode. Rejects with MODEL_NOT_FOUND without
     * a model, with the tick's typed error when it fails, with CANCELLED on dispose().
     */
    segmentAsync(): Promise<SegmentationResult> {
        if (this._disposed) return Promise.reject(new SemanticSplatError("DISPOSED", "segmentAsync: the pipeline was disposed"));
        if (!this._model && !this._modelLoading && !this._fallback && !this._fallbackLoading) {
            return Promise.reject(new SemanticSplatError("MODEL_NOT_FOUND", "segmentAsync: no model is loaded (call loadModelAsync or loadFallbackModelAsync first)"));
        }
        return new Promise((resolve, reject) => this._demand.push({ resolve, reject }));
    }

    /**
     * The class under a pointer position in canvas CSS pixels (relative to the canvas's box, like pointer events
     * and Babylon's GPUPicker), from the cached map: no GPU work, no waiting. Empty answers (`empty` set, class
     * none): "no-map" before the first result, "outside" off the canvas or the camera's viewport, "uncovered"
     * where no Gaussian covers the pixel.
     */
    pickSemantic(x: number, y: number): SemanticPickResult {
        this.throwIfDisposed("pickSemantic");
        const engine = this.scene.getEngine();
        const canvas = engine.getRenderingCanvas();
        const rect = canvas?.getBoundingClientRect();
        const cssWidth = rect?.width || engine.getRenderWidth() * engine.getHardwareScalingLevel();
        const cssHeight = rect?.height || engine.getRenderHeight() * engine.getHardwareScalingLevel();
        if (!(x >= 0 && y >= 0 && x < cssWidth && y < cssHeight)) return emptyPick("outside", this.classes.none, this.mapInfo());
        const render = cssToRenderPixel(x, y, cssWidth, cssHeight, engine.getRenderWidth(), engine.getRenderHeight());
        return this.pickAtRenderPixel(render.x, render.y);
    }

    /**
     * Like `pickSemantic`, but when a tick is in flight and the cached map is missing or stale, waits for that tick
     * first; with `refresh: true`, segments a new frame first (`segmentAsync`). Before any segmentation and with
     * none in flight it resolves the empty "no-map" answer; it rejects only with `refresh` (the tick's error) or
     * after dispose().
     */
    async pickSemanticAsync(x: number, y: number, options: { refresh?: boolean } = {}): Promise<SemanticPickResult> {
        this.throwIfDisposed("pickSemanticAsync");
        if (options.refresh) {
            await this.segmentAsync();
        } else if (this._tick && (!this._latest || this.isStale(this._latest))) {
            await this._tick.done;
        }
        this.throwIfDisposed("pickSemanticAsync");
        return this.pickSemantic(x, y);
    }

    /**
     * The pick at a position in render pixels (engine render width/height units, y from the top), for `camera`'s
     * viewport (default the active camera).
     */
    pickAtRenderPixel(renderX: number, renderY: number, camera: Nullable<Camera> = this.scene.activeCamera): SemanticPickResult {
        const none = this.classes.none;
        const map = this._latest;
        if (!map) return emptyPick("no-map", none);
        const stale = this.isStale(map);
        const engine = this.scene.getEngine();
        const viewport = camera?.viewport ?? { x: 0, y: 0, width: 1, height: 1 };
        const fraction = renderPixelToImageFraction(renderX, renderY, engine.getRenderWidth(), engine.getRenderHeight(), viewport);
        const inMap = fraction && camera ? canvasFractionToMapFraction(fraction.u, fraction.v, cameraMatrices(camera).projection, map.projectionMatrix) : fraction;
        if (!inMap) return emptyPick("outside", none, { stale, frameId: map.frameId });
        return lookupClassMap(map, inMap.u, inMap.v, none, (id) => this.classes.nameOf(id) ?? `class ${id}`, this.mesh, stale);
    }

    /** True when `result` was computed for another view or projection than the active camera's current ones. */
    isStale(result: SegmentationResult): boolean {
        const camera = this.scene.activeCamera;
        if (!camera) return true;
        const { view, projection } = cameraMatrices(camera);
        return matricesDiffer(result.cameraViewMatrix, view) || matricesDiffer(result.cameraProjectionMatrix, projection);
    }

    /**
     * When the class map shows the mesh at (x, y) in front of whatever `info` hit, returns a hit on the mesh with
     * `semantic` filled in; otherwise returns `info` unchanged. `x`, `y` are scene.pick's coordinates (render pixels times the hardware
     * scaling level, i.e. CSS pixels when the canvas is not stretched). Installed on `scene.pick` by default.
     */
    augmentPickingInfo(info: PickingInfo, x: number, y: number, predicate?: Nullable<MeshPredicate>, camera?: Nullable<Camera>): PickingInfo {
        if (this._disposed) return info;
        const mesh = this.mesh;
        const accepts = predicate ? predicate(mesh, -1) : mesh.isEnabled() && mesh.isVisible && mesh.isPickable;
        if (!accepts) return info;
        const cam = camera ?? this.scene.activeCamera;
        const scaling = this.scene.getEngine().getHardwareScalingLevel();
        const semantic = this.pickAtRenderPixel(x / scaling, y / scaling, cam);
        if (semantic.empty || !semantic.pickedPoint || !cam) return info;
        const distance = Vector3.Distance(cam.globalPosition, semantic.pickedPoint);
        if (info.hit && info.pickedMesh !== mesh && info.distance < distance) return info; // another mesh in front
        if (info.hit && info.pickedMesh === mesh && info.semantic && info.distance <= distance) return info; // another pipeline of this mesh answered
        const hit = new PickingInfo();
        hit.hit = true;
        hit.pickedMesh = mesh;
        hit.pickedPoint = semantic.pickedPoint;
        hit.distance = distance;
        hit.ray = info.ray;
        hit.originMesh = info.originMesh;
        hit.semantic = semantic;
        return hit;
    }

    /**
     * Stops everything: observers removed, scene.pick restored, the tick in flight and segmentAsync callers
     * rejected with CANCELLED, the feature pass's render targets and the overlay freed, the worker terminated and
     * its comlink proxy released (when the pipeline created the client). Safe to call twice.
     */
    dispose(): void {
        if (this._disposed) return;
        this._disposed = true;
        this.scene.onAfterRenderObservable.remove(this._afterRenderObserver);
        this.scene.getEngine().onEndFrameObservable.remove(this._endFrameObserver);
        this.unhookScenePick();
        const cancelled = new SemanticSplatError("CANCELLED", "the segmentation pipeline was disposed while a segmentation was in flight");
        const tick = this._tick;
        this._tick = null;
        this._drawnThisFrame = null;
        if (tick) {
            tick.cancelled = true;
            for (const w of tick.waiters) w.reject(cancelled);
            tick.finish();
        }
        this.rejectDemand(cancelled);
        this._featurePass?.dispose();
        this._colorPass?.dispose();
        this._featurePass = null;
        this._colorPass = null;
        this.overlay.dispose();
        if (this.ownsClient) this.client.dispose();
        this._pacer?.release();
        this._latest = null;
        this.onSegmentationObservable.clear();
        this.onErrorObservable.clear();
    }

    // ---- frame hooks -------------------------------------------------------------------------------------------

    private onAfterRender(): void {
        const start = now();
        this.trackCamera();
        const candidates = this._tick ? [] : this.tickCandidates();
        if (candidates.length && this.wantsTick()) {
            const drawStart = now();
            const cameraView = new Float32Array(this._lastView);
            const cameraProjection = new Float32Array(this._lastProjection);
            // The full model first; the fallback when the full model's pass cannot draw yet (shaders compiling).
            const chosen = candidates.find((c) => c.pass.renderPasses());
            if (chosen) {
                this._framesWithoutDraw = 0;
                this._lastTickView = cameraView;
                this._lastTickProjection = cameraProjection;
                let finish = () => {};
                const done = new Promise<void>((resolve) => (finish = resolve));
                const tick: Tick = {
                    frameId: this.scene.getEngine().frameId,
                    modelKind: chosen.kind,
                    pass: chosen.pass,
                    cameraView: this._lastTickView,
                    cameraProjection: this._lastTickProjection,
                    startTime: drawStart,
                    featurePassMs: now() - drawStart,
                    endFrameTime: 0,
                    readbackStartMs: 0,
                    waiters: this._demand.splice(0),
                    cancelled: false,
                    done,
                    finish,
                };
                this._tick = tick;
                this._drawnThisFrame = tick;
            } else if (this._demand.length && ++this._framesWithoutDraw >= this.maxWaitFrames) {
                this._framesWithoutDraw = 0;
                this.rejectDemand(new SemanticSplatError("GPU_LIMITS", `segmentAsync: the mesh "${this.mesh.name}" could not be drawn for ${this.maxWaitFrames} frames (not sorted, shaders not compiled, or no feature texture)`));
            }
        } else if (!this._tick && this._demand.length && this._model && !this._fallback && !this._fallbackLoading && ++this._framesWithoutDraw >= this.maxWaitFrames) {
            // A full model but a mesh without (matching) features, and no fallback: nothing can answer.
            this._framesWithoutDraw = 0;
            const why = this.featureMismatch ?? `the mesh "${this.mesh.name}" had ${this.mesh.featureDimension ? `K = ${this.mesh.featureDimension} features, the model K = ${this._model.k}` : "no features (is the encoder running?)"}`;
            this.rejectDemand(new SemanticSplatError("FEATURE_MISMATCH", `segmentAsync: for ${this.maxWaitFrames} frames ${why}, and no fallback model (loadFallbackModelAsync) was loaded`));
        }
        this.stats_.addMainThreadWork(now() - start);
    }

    private onEndFrame(): void {
        const start = now();
        const tick = this._drawnThisFrame;
        if (tick) {
            this._drawnThisFrame = null;
            tick.endFrameTime = now();
            // The frame is submitted: the readback of its targets can start (it maps buffers asynchronously). The raw
            // texels go to the worker, which unpacks them: the main thread only copies the mapped buffers out.
            const readback = tick.pass.readbackRawAsync(this._rawBuffers);
            tick.readbackStartMs = now() - tick.endFrameTime;
            void this.completeTick(tick, readback);
        }
        this.stats_.addMainThreadWork(now() - start);
        this.stats_.endFrame();
    }

    private wantsTick(): boolean {
        if (this._demand.length) return true;
        if (this._mode === "continuous") return true;
        if (this._mode === "settle") {
            if (this._stableFrames < this.settleFrames) return false;
            return !this._lastTickView || matricesDiffer(this._lastTickView, this._lastView) || matricesDiffer(this._lastTickProjection!, this._lastProjection);
        }
        return false;
    }

    /** Counts the frames for which the active camera's view and projection stayed the same. */
    private trackCamera(): void {
        const camera = this.scene.activeCamera;
        if (!camera) return;
        const { view, projection } = cameraMatrices(camera);
        if (matricesDiffer(view, this._lastView) || matricesDiffer(projection, this._lastProjection)) {
            this._stableFrames = 0;
            this._lastView.set(view);
            this._lastProjection.set(projection);
        } else {
            this._stableFrames++;
        }
    }

    private async completeTick(tick: Tick, readback: Promise<RawFeatureFrame & { copyMs: number }>): Promise<void> {
        try {
            const raw = await readback;
            if (tick.cancelled) return;
            const readbackDone = now();
            const { width, height, viewMatrix, projectionMatrix, copyMs } = raw;
            this.stats_.addMainThreadWork(copyMs);
            // The worker unpacks the frame and masks pixels below the coverage threshold as `none` (contract 3).
            const answer = await this.client.segmentFrame(raw, { alphaThreshold: this.alphaThreshold, noneLabel: this.classes.none, model: tick.modelKind });
            this.stats_.addMainThreadWork(answer.timings.postMs);
            this._rawBuffers = answer.rawBuffers;
            if (tick.cancelled) return;
            const received = now();
            const postStart = received;
            const { labels, confidence, alpha, depth } = answer;
            const worker = answer.timings;
            const workerMs = worker.unpackMs + worker.inputMs + worker.inferenceMs + worker.outputMs + worker.maskMs;
            const timings: SegmentationStageTimes = {
                featurePassMs: tick.featurePassMs,
                readbackMs: readbackDone - tick.endFrameTime,
                readbackCopyMs: tick.readbackStartMs + copyMs,
                transferMs: Math.max(0, received - readbackDone - workerMs),
                postMs: worker.postMs,
                inferenceMs: workerMs,
                postprocessMs: 0,
                mainThreadMs: 0,
                totalMs: 0,
            };
            const result: SegmentationResult = {
                frameId: tick.frameId,
                modelKind: answer.modelKind,
                width,
                height,
                labels,
                confidence,
                alpha,
                expectedDepth: depth,
                viewMatrix,
                projectionMatrix,
                cameraViewMatrix: tick.cameraView,
                cameraProjectionMatrix: tick.cameraProjection,
                mesh: this.mesh,
                timings,
            };
            this._latest = result;
            this.overlay.setMap(result);
            const end = now();
            timings.postprocessMs = end - postStart;
            timings.mainThreadMs = timings.featurePassMs + timings.readbackCopyMs + timings.postMs + timings.postprocessMs;
            timings.totalMs = end - tick.startTime;
            this.stats_.addMainThreadWork(timings.postprocessMs);
            this.stats_.addTick(timings, answer.modelKind);
            this._tick = null;
            tick.finish();
            for (const w of tick.waiters) w.resolve(result);
            this.onSegmentationObservable.notifyObservers(result);
        } catch (e) {
            if (tick.cancelled) return;
            const error = e instanceof SemanticSplatError ? e : new SemanticSplatError("INFERENCE_FAILED", `segmentation tick failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
            this._tick = null;
            this.stats_.addFailure();
            tick.finish();
            for (const w of tick.waiters) w.reject(error);
            this.onErrorObservable.notifyObservers(error);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private createPass(withFeatures: boolean, width: number | undefined, height: number | undefined): FeatureSplatPass {
        const { longSide, attachmentFormat, splatPrimitive } = this.options;
        return new FeatureSplatPass(this.scene, this.mesh, { width, height, longSide, attachmentFormat, splatPrimitive, withFeatures });
    }

    /** The feature pass for the mesh's current K (made, or remade when K changed), or null while it has none. */
    private featurePass(): FeatureSplatPass | null {
        const k = this.mesh.featureDimension;
        if (!(k >= 1) || !this.mesh.featureTexture) return null;
        if (this._featurePass && this._featurePass.featureDimension !== k) {
            this._featurePass.dispose();
            this._featurePass = null;
        }
        this._featurePass ??= this.createPass(true, this.width, this.height);
        return this._featurePass;
    }

    private colorPass(): FeatureSplatPass {
        this._colorPass ??= this.createPass(false, this.width, this.height);
        return this._colorPass;
    }

    /** True when the full model is loaded and the mesh has the K features it reads, from the encoder it was trained on. */
    private fullModelCanRun(): boolean {
        const k = this.mesh.featureDimension;
        return this._model !== null && k >= 1 && this._model.k === k && this.mesh.featureTexture !== null && !this.featuresFromAnotherEncoder();
    }

    /**
     * Why the full model does not read the mesh's features although their K matches: they were made by another
     * encoder than the one the model was trained on (the model's metadata `features_id` against the mesh's
     * `featureEncoderId`, e.g. a sidecar written with an earlier encoder). Another encoder's features are not
     * wrong-sized, they mean other things: the pipeline runs the RGB-only fallback instead (or, without one,
     * `segmentAsync` fails with `FEATURE_MISMATCH` and this text). null when they match or either side is unknown.
     */
    get featureMismatch(): string | null {
        if (!this.featuresFromAnotherEncoder()) return null;
        return `the mesh's features were made by encoder "${this.mesh.featureEncoderId}", the model "${this._model!.name}" was trained on features of "${this._model!.metadata.features_id}": encode the scene again with that encoder`;
    }

    /** featureMismatch's test without its message (it runs every frame). */
    private featuresFromAnotherEncoder(): boolean {
        const trainedOn = this._model?.metadata.features_id;
        const madeBy = this.mesh.featureEncoderId;
        return !!trainedOn && !!madeBy && madeBy !== trainedOn && this.mesh.featureDimension >= 1;
    }

    /** What a tick may run now, in order of preference: the full model, then the RGB-only fallback. */
    private tickCandidates(): { kind: SegmentationModelKind; pass: FeatureSplatPass }[] {
        const candidates: { kind: SegmentationModelKind; pass: FeatureSplatPass }[] = [];
        if (this.fullModelCanRun()) {
            const pass = this.featurePass();
            if (pass) candidates.push({ kind: "vdvi", pass });
        }
        if (this._fallback) candidates.push({ kind: "vdvi-rgb", pass: this.colorPass() });
        return candidates;
    }

    private checkSizeMultiple(info: ModelInfo): ModelInfo {
        const multiple = info.sizeMultiple;
        if (this.width % multiple !== 0 || this.height % multiple !== 0) {
            throw new SemanticSplatError(
                "INVALID_ARGUMENT",
                `the segmentation resolution ${this.width}x${this.height} is not a multiple of the model's size multiple ${multiple}`,
                info.name
            );
        }
        return info;
    }

    private mapInfo(): Partial<SemanticPickResult> {
        return this._latest ? { stale: this.isStale(this._latest), frameId: this._latest.frameId } : {};
    }

    private rejectDemand(error: SemanticSplatError): void {
        for (const w of this._demand.splice(0)) w.reject(error);
    }

    private throwIfDisposed(what: string): void {
        if (this._disposed) throw new SemanticSplatError("DISPOSED", `${what}: the pipeline was disposed`);
    }

    private hookScenePick(): void {
        let pipelines = scenePickHooks.get(this.scene);
        if (!pipelines) {
            pipelines = new Set();
            scenePickHooks.set(this.scene, pipelines);
            installScenePickHook(this.scene, pipelines);
        }
        pipelines.add(this);
        this._pickHooked = true;
    }

    private unhookScenePick(): void {
        if (!this._pickHooked) return;
        this._pickHooked = false;
        const pipelines = scenePickHooks.get(this.scene);
        if (!pipelines) return;
        pipelines.delete(this);
        if (pipelines.size === 0) {
            scenePickHooks.delete(this.scene);
            uninstallScenePickHook(this.scene);
        }
    }
}

/**
 * The camera's view and projection for the canvas. The projection is recomputed for the engine's current aspect
 * (`getProjectionMatrix(true)`): after a render-target pass (the feature pass) the camera's cached projection may
 * still be the one for the target's aspect.
 */
function cameraMatrices(camera: Camera): { view: ArrayLike<number>; projection: ArrayLike<number> } {
    return { view: camera.getViewMatrix().m, projection: camera.getProjectionMatrix(true).m };
}

/** The pipelines whose meshes scene.pick can hit, per scene: one wrapper per scene serves them all. */
const scenePickHooks = new WeakMap<Scene, Set<SemanticSegmentationPipeline>>();
const originalPicks = new WeakMap<Scene, { original: Scene["pick"]; wrapper: Scene["pick"]; own: boolean }>();

function installScenePickHook(scene: Scene, pipelines: Set<SemanticSegmentationPipeline>): void {
    const own = Object.prototype.hasOwnProperty.call(scene, "pick");
    const original = scene.pick;
    const wrapper: Scene["pick"] = function (this: Scene, x, y, predicate, fastCheck, camera, trianglePredicate) {
        // Babylon's own pick would hit a splat mesh's proxy geometry, not its Gaussians: it picks every other mesh,
        // and the class maps decide where the semantic meshes are.
        // Babylon draws a splat mesh through per-camera proxy meshes ("<name>_cameraMesh_<id>", reservedDataStore.
        // _gaussianSplattingSourceMesh = the splat mesh) whose quads a ray also hits: they are excluded too.
        const semanticMeshes = new Set<unknown>([...pipelines].map((p) => p.mesh));
        const others: MeshPredicate = (mesh, thinInstanceIndex) =>
            !semanticMeshes.has(mesh) &&
            !semanticMeshes.has((mesh.reservedDataStore as { _gaussianSplattingSourceMesh?: unknown } | null)?._gaussianSplattingSourceMesh) &&
            (predicate ? predicate(mesh, thinInstanceIndex) : mesh.isEnabled() && mesh.isVisible && mesh.isPickable);
        let info = original.call(scene, x, y, others, fastCheck, camera, trianglePredicate);
        // Each pipeline replaces `info` only when its mesh is nearer than what was hit so far.
        for (const pipeline of pipelines) info = pipeline.augmentPickingInfo(info, x, y, predicate, camera);
        return info;
    };
    originalPicks.set(scene, { original, wrapper, own });
    scene.pick = wrapper;
}

function uninstallScenePickHook(scene: Scene): void {
    const saved = originalPicks.get(scene);
    if (!saved) return;
    originalPicks.delete(scene);
    // Someone wrapped scene.pick after us: leave theirs in place (ours then passes through, having no pipelines).
    if (scene.pick !== saved.wrapper) return;
    if (saved.own) scene.pick = saved.original;
    else delete (scene as { pick?: unknown }).pick;
}
