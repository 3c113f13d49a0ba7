// One call that adds semantics to a Babylon scene (issue 15): `SemanticSplatting.CreateAsync(scene, url, options)`
// loads the mesh (the scene renders it at once), then, in the background, gets its features (from the file, a
// sidecar, or the Gaussian encoder in the worker), loads the class table and the VDVI model from the models
// manifest, starts segmentation, hooks scene picking, and lifts every class map onto the Gaussians. Progress and
// errors are Observables; `whenReadyAsync()` resolves with the first segmentation; one `dispose()` frees it all.
// Everything it uses stays public: SemanticGaussianSplattingMesh, SemanticSegmentationPipeline, InferenceClient,
// LabelLifter (docs/RUNTIME.md).
import { Observable } from "@babylonjs/core/Misc/observable";
import type { Scene } from "@babylonjs/core/scene";
import { ClassTable } from "../classes";
import { SemanticSplatError } from "../errors";
import { InferenceClient, type InferenceClientOptions } from "../inference/InferenceClient";
import { LabelLifter, liftingGaussiansOf, type LiftingGaussians } from "../lifting";
import { SemanticGaussianSplattingMesh } from "../mesh/semanticGaussianSplattingMesh";
import type { SceneSource, SemanticLoadOptions } from "../mesh/loading";
import { SemanticSegmentationPipeline, type SegmentationMode, type SegmentationResult, type SemanticSegmentationPipelineOptions } from "../pipeline/segmentationPipeline";
import type { OverlayOptions, SegmentationOverlay } from "../pipeline/overlay";
import type { SemanticPickResult } from "../pipeline/picking";
import type { SegmentationStats } from "../pipeline/stats";
import { fetchManifest, type ManifestEntry, type ModelsManifest } from "../worker/modelSource";
import type { ExecutionProviderChoice, ModelInfo } from "../worker/protocol";
import { resolveFolderUrl, resolveUrl } from "../util/urls";

/** The stages `onProgressObservable` reports, in order. */
export type SemanticSplattingStage = "mesh" | "features" | "model" | "segmentation" | "ready";

export interface SemanticSplattingProgress {
    stage: SemanticSplattingStage;
    /** 0..1 within the stage when known, else null. */
    fraction: number | null;
    /** What happens, in words (for a status line). */
    message: string;
}

/** Where the package's assets are, resolved against the page (document.baseURI). */
export interface SemanticSplattingAssets {
    /** The inference worker script (the package's pre-bundled dist/worker.js). */
    workerUrl: string;
    /** onnxruntime-web's wasm binary (dist/ort-wasm-simd-threaded.asyncify.wasm in the package). */
    wasmUrl: string;
    /** Folder with manifest.json and the models (the package's models/). */
    modelsUrl: string;
    /** The class table (default: classes.json in the models folder). */
    classesUrl: string;
}

export interface SemanticSplattingOptions extends SemanticLoadOptions {
    /**
     * URL of a folder laid out like the installed package: `dist/worker.js`, `dist/ort-wasm-simd-threaded.asyncify.wasm`
     * and `models/` (manifest.json, classes.json, the ONNX models). Relative URLs are resolved against the page.
     * Serve `node_modules/babylon-semantic-splatting/` there (docs/BUNDLERS.md shows it for each bundler). Default:
     * the package folder of this module (`new URL("../", import.meta.url)`), right when the package is served
     * unbundled; a bundler moves the module, so bundled apps pass `assetsUrl`.
     */
    assetsUrl?: string;
    /** Overrides of single assets (default: from `assetsUrl`). */
    workerUrl?: string;
    wasmUrl?: string;
    modelsUrl?: string;
    classesUrl?: string;
    /** Name of the mesh. Default: the file name. */
    name?: string;
    /** When segmentation ticks start. Default "continuous". */
    mode?: SegmentationMode;
    /** The class overlay. Default: enabled, opacity 0.5. */
    overlay?: OverlayOptions;
    /** Where the models run. Default "auto" (wasm on software adapters such as SwiftShader, WebGPU on real GPUs). */
    executionProvider?: ExecutionProviderChoice;
    /** Accumulate every class map onto the Gaussians (`lifter`). Default true. */
    lifting?: boolean;
    /** An InferenceClient to use (its owner disposes it). Default: one client, so one worker and one onnxruntime,
     *  shared by the encoder and the segmentation, disposed with this object. */
    client?: InferenceClient;
    /** Options of the client made when `client` is not given (timeouts, threads). */
    clientOptions?: InferenceClientOptions;
    /** More pipeline options (resolution, alpha threshold, ...); mesh, classes, client, mode and overlay are set here. */
    pipelineOptions?: Partial<Omit<SemanticSegmentationPipelineOptions, "mesh" | "classes" | "client" | "clientOptions" | "mode" | "overlay">>;
    /** Also called with every progress event (the same as `onProgressObservable`, but from the very first). */
    onProgress?: (progress: SemanticSplattingProgress) => void;
}

/** The asset URLs of `options`, absolute (resolved against the page). */
export function resolveSemanticAssets(options: Pick<SemanticSplattingOptions, "assetsUrl" | "workerUrl" | "wasmUrl" | "modelsUrl" | "classesUrl"> = {}): SemanticSplattingAssets {
    const root = options.assetsUrl !== undefined ? resolveFolderUrl(options.assetsUrl) : new URL("../", import.meta.url).href;
    // Single overrides are the page's URLs (resolved against the page); the defaults sit in assetsUrl.
    const modelsUrl = options.modelsUrl !== undefined ? resolveFolderUrl(options.modelsUrl) : `${root}models/`;
    return {
        workerUrl: options.workerUrl !== undefined ? resolveUrl(options.workerUrl) : `${root}dist/worker.js`,
        wasmUrl: options.wasmUrl !== undefined ? resolveUrl(options.wasmUrl) : `${root}dist/ort-wasm-simd-threaded.asyncify.wasm`,
        modelsUrl,
        classesUrl: options.classesUrl !== undefined ? resolveUrl(options.classesUrl) : `${modelsUrl}classes.json`,
    };
}

/**
 * The VDVI model of a manifest for K feature channels: the entry with that `k`, fp32 before fp16 (fp16 needs the
 * WebGPU feature shader-f16, which many adapters, SwiftShader among them, lack), or null.
 */
export function vdviEntryFor(manifest: ModelsManifest, k: number): ManifestEntry | null {
    const precision = (e: ManifestEntry) => (e as ManifestEntry & { precision?: string }).precision;
    const vdvi = manifest.models.filter((m) => m.kind === "vdvi").sort((a, b) => Number(precision(a) === "fp16") - Number(precision(b) === "fp16"));
    return vdvi.find((m) => m.k === k) ?? vdvi.find((m) => m.k === undefined) ?? null;
}

function asSemanticError(e: unknown): SemanticSplatError {
    return e instanceof SemanticSplatError ? e : new SemanticSplatError("WORKER_FAILED", e instanceof Error ? e.message : String(e));
}

export class SemanticSplatting {
    /** Stage events: mesh loaded, features (encoder progress), model download, segmentation started, ready. */
    readonly onProgressObservable = new Observable<SemanticSplattingProgress>();
    /** Every result, after the pipeline's map, the overlay and the lifter were updated. */
    readonly onSegmentationObservable = new Observable<SegmentationResult>();
    /** A failure of the background start (features, class table, manifest, model) or of a segmentation tick. */
    readonly onErrorObservable = new Observable<SemanticSplatError>();
    /** The asset URLs in use. */
    readonly assets: SemanticSplattingAssets;
    /** The worker client (shared by the encoder and the segmentation). */
    readonly client: InferenceClient;

    private _classes: ClassTable | null = null;
    private _pipeline: SemanticSegmentationPipeline | null = null;
    private _lifter: LabelLifter | null = null;
    private _liftingGaussians: LiftingGaussians | null = null;
    private _error: SemanticSplatError | null = null;
    private _disposed = false;
    private readonly _ownsClient: boolean;
    private readonly _ready: Promise<SegmentationResult>;
    private _settleReady!: { resolve: (r: SegmentationResult) => void; reject: (e: SemanticSplatError) => void };

    private constructor(
        readonly scene: Scene,
        readonly mesh: SemanticGaussianSplattingMesh,
        private readonly options: SemanticSplattingOptions,
        assets: SemanticSplattingAssets,
        client: InferenceClient | null
    ) {
        this.assets = assets;
        this._ownsClient = !options.client;
        this.client = options.client ?? client!;
        this._ready = new Promise((resolve, reject) => (this._settleReady = { resolve, reject }));
        this._ready.catch(() => {}); // observed through whenReadyAsync / onErrorObservable
        if (options.onProgress) this.onProgressObservable.add(options.onProgress);
    }

    /**
     * Loads `source` (a URL resolved against the page, or `{ data, fileName }`) into a new semantic mesh on `scene` and
     * resolves as soon as it is there (the scene renders it from the next frame). Features, models and segmentation
     * then start in the background: follow them with `onProgressObservable`, `whenReadyAsync()` or `onErrorObservable`.
     * Rejects (a SemanticSplatError naming the file) only when the mesh does not load; nothing is left on the scene then.
     */
    static async CreateAsync(scene: Scene, source: SceneSource, options: SemanticSplattingOptions = {}): Promise<SemanticSplatting> {
        const assets = resolveSemanticAssets(options);
        const client = options.client ? null : new InferenceClient({ workerUrl: assets.workerUrl, wasmUrl: assets.wasmUrl, executionProvider: options.executionProvider, ...options.clientOptions });
        // Start the worker now: its init (onnxruntime, the adapter probe) overlaps the scene download.
        client?.init().catch(() => {}); // a failure reaches whoever loads a model next
        const resolvedSource = typeof source === "string" ? resolveUrl(source) : source;
        const report = (p: SemanticSplattingProgress) => options.onProgress?.(p);
        report({ stage: "mesh", fraction: null, message: `loading ${typeof source === "string" ? source : source.fileName}` });
        let mesh: SemanticGaussianSplattingMesh;
        try {
            mesh = await SemanticGaussianSplattingMesh.LoadAsync(resolvedSource, scene, { ...options, name: options.name, autoEncode: false });
        } catch (e) {
            client?.dispose();
            throw e;
        }
        const semantic = new SemanticSplatting(scene, mesh, options, assets, client);
        semantic.onProgressObservable.notifyObservers({ stage: "mesh", fraction: 1, message: `${mesh.name}: ${mesh.gaussianCount} Gaussians` });
        void semantic._start();
        return semantic;
    }

    /** The class table (null until loaded). */
    get classes(): ClassTable | null {
        return this._classes;
    }

    /** The segmentation pipeline (null until its model loaded). */
    get pipeline(): SemanticSegmentationPipeline | null {
        return this._pipeline;
    }

    /** The class overlay (null before the pipeline exists): `enabled`, `opacity`, `classFilter`, `legend()`. */
    get overlay(): SegmentationOverlay | null {
        return this._pipeline?.overlay ?? null;
    }

    /** The VDVI model in use, with its execution provider and why (null before it loaded). */
    get model(): ModelInfo | null {
        return this._pipeline?.model ?? null;
    }

    /** Per-Gaussian label lifting (null without `lifting` or before the pipeline exists). */
    get lifter(): LabelLifter | null {
        return this._lifter;
    }

    /** Stage times of the segmentation (null before the pipeline exists). */
    get stats(): SegmentationStats | null {
        return this._pipeline?.stats ?? null;
    }

    /** The background start's failure, or null. */
    get error(): SemanticSplatError | null {
        return this._error;
    }

    /** Resolves with the first segmentation; rejects with the start's typed error (or DISPOSED). */
    whenReadyAsync(): Promise<SegmentationResult> {
        return this._ready;
    }

    /**
     * The class at canvas CSS pixels (x, y), from the latest map (segmented now when there is none yet or the mode is
     * "demand"). Also available as `scene.pick(x, y).semantic`. Waits for the start to finish.
     */
    async pickAsync(x: number, y: number): Promise<SemanticPickResult> {
        await this._ready;
        const pipeline = this._pipeline;
        if (this._disposed || !pipeline) throw new SemanticSplatError("DISPOSED", "SemanticSplatting.pickAsync: disposed");
        return pipeline.pickSemanticAsync(x, y, { refresh: pipeline.mode === "demand" || !pipeline.latestResult });
    }

    /** Frees the pipeline, the mesh, the lifter and (when it made it) the worker. Safe to call twice. */
    dispose(): void {
        if (this._disposed) return;
        this._disposed = true;
        this._settleReady.reject(new SemanticSplatError("DISPOSED", "SemanticSplatting was disposed before segmentation started"));
        this._pipeline?.dispose();
        this._pipeline = null;
        this._lifter = null;
        this._liftingGaussians = null;
        this.mesh.dispose();
        if (this._ownsClient) this.client.dispose();
        this.onProgressObservable.clear();
        this.onSegmentationObservable.clear();
        this.onErrorObservable.clear();
    }

    get isDisposed(): boolean {
        return this._disposed;
    }

    private progress(stage: SemanticSplattingStage, fraction: number | null, message: string): void {
        if (!this._disposed) this.onProgressObservable.notifyObservers({ stage, fraction, message });
    }

    private async _start(): Promise<void> {
        const { modelsUrl, classesUrl } = this.assets;
        const manifestUrl = `${modelsUrl}manifest.json`;
        const executionProvider = this.options.executionProvider;
        try {
            const [classes, manifest] = await Promise.all([ClassTable.load(classesUrl), fetchManifest(manifestUrl)]);
            this.throwIfDisposed();
            this._classes = classes;
            const source = (entry: ManifestEntry) => ({ source: `${modelsUrl}${entry.file}`, manifestUrl, executionProvider });

            // 1. which models: the VDVI model for the features' K (the file's, else the encoder's), the RGB-only
            //    fallback (when listed) for the time the encoder runs, the encoder when the file has no features
            const needsEncoder = this.mesh.featureDimension === 0;
            const encoder = needsEncoder ? (manifest.models.find((m) => m.kind === "encoder") ?? null) : null;
            if (needsEncoder && !encoder) {
                throw new SemanticSplatError("FEATURE_MISMATCH", `the scene has no features and ${manifestUrl} lists no Gaussian encoder to compute them`, this.mesh.name);
            }
            const k = needsEncoder ? (encoder!.k ?? 0) : this.mesh.featureDimension;
            const vdvi = vdviEntryFor(manifest, k);
            if (!vdvi) {
                const listed = manifest.models.filter((m) => m.kind === "vdvi").map((m) => `${m.file}: K=${m.k}`).join(", ") || "none";
                throw new SemanticSplatError("FEATURE_MISMATCH", `${manifestUrl} lists no VDVI model for K=${k} (${listed})`, this.mesh.name);
            }
            const fallback = needsEncoder ? (manifest.models.find((m) => m.kind === "vdvi-rgb") ?? null) : null;

            // 2. the pipeline at once: it segments with the fallback while the features are computed
            const pipeline = new SemanticSegmentationPipeline(this.scene, {
                ...this.options.pipelineOptions,
                mesh: this.mesh,
                classes,
                client: this.client,
                mode: this.options.mode ?? "continuous",
                overlay: { enabled: true, opacity: 0.5, ...this.options.overlay },
            });
            this._pipeline = pipeline;
            if (this.options.lifting ?? true) {
                this._lifter = new LabelLifter(this.mesh.gaussianCount, { classCount: classes.count, none: classes.none, minAlpha: pipeline.alphaThreshold });
                this._liftingGaussians = liftingGaussiansOf(this.mesh);
            }
            pipeline.onErrorObservable.add((e) => this.onErrorObservable.notifyObservers(e));
            let first = true;
            pipeline.onSegmentationObservable.add((result) => {
                if (this._lifter && this._liftingGaussians) this._lifter.accumulate(result, this._liftingGaussians);
                if (first) {
                    first = false;
                    this.progress("ready", 1, `first class map (${result.width}x${result.height})`);
                    this._settleReady.resolve(result);
                }
                this.onSegmentationObservable.notifyObservers(result);
            });

            // 3. fallback model, features and the full model; one worker runs them all
            const loadFallback = fallback
                ? pipeline.loadFallbackModelAsync(source(fallback)).then(() => this.progress("segmentation", null, `segmenting from RGB (${fallback.file}) until the features are ready`))
                : Promise.resolve();
            const features = needsEncoder
                ? (async () => {
                      this.progress("features", 0, `encoding ${this.mesh.gaussianCount} Gaussians (${encoder!.file})`);
                      await this.mesh.encodeFeatures({
                          modelUrl: `${modelsUrl}${encoder!.file}`,
                          manifestUrl,
                          client: this.client,
                          executionProvider,
                          onProgress: (p) => this.progress("features", p.fraction, `encoding: ${p.stage}`),
                      });
                      this.progress("features", 1, `features: K=${this.mesh.featureDimension} (encoder)`);
                  })()
                : Promise.resolve(this.progress("features", 1, `features: K=${k} (from the file)`));
            this.progress("model", 0, `loading ${vdvi.file}`);
            const loadFull = pipeline.loadModelAsync(source(vdvi), (p) => this.progress("model", p.total ? p.loaded / p.total : null, `loading ${vdvi.file}: ${p.loaded} bytes`));
            // A failed fallback is not fatal while the full model may still come; the others are.
            await Promise.all([loadFallback.catch((e) => this.onErrorObservable.notifyObservers(asSemanticError(e))), features, loadFull]);
            this.throwIfDisposed();
            this.progress("segmentation", null, `segmenting (${pipeline.model?.executionProvider}: ${pipeline.model?.executionProviderReason})`);
            if (pipeline.mode === "demand") await pipeline.segmentAsync();
            await this._ready;
        } catch (e) {
            if (this._disposed) return;
            const error = asSemanticError(e);
            this._error = error;
            this._settleReady.reject(error);
            this.onErrorObservable.notifyObservers(error);
        }
    }

    private throwIfDisposed(): void {
        if (this._disposed) throw new SemanticSplatError("DISPOSED", "SemanticSplatting was disposed");
    }
}
