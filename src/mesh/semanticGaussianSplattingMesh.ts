// SemanticGaussianSplattingMesh: Babylon's GaussianSplattingMesh plus per-Gaussian semantic features
// (ARCHITECTURE.md contract 1) kept on the GPU in the layout of Babylon's own per-splat textures, so the feature
// splat pass (src/rendering) can read them beside the splat data with the same index.
import { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";
import { RawTexture2DArray } from "@babylonjs/core/Materials/Textures/rawTexture2DArray";
import { Observable, type Observer } from "@babylonjs/core/Misc/observable";
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import { Constants } from "@babylonjs/core/Engines/constants";
import type { Vector2 } from "@babylonjs/core/Maths/math.vector";
import type { AbstractMesh } from "@babylonjs/core/Meshes/abstractMesh";
import type { Mesh } from "@babylonjs/core/Meshes/mesh";
import type { SubMesh } from "@babylonjs/core/Meshes/subMesh";
import type { Scene } from "@babylonjs/core/scene";
import type { Nullable } from "@babylonjs/core/types";
import "@babylonjs/core/Engines/WebGPU/Extensions/engine.rawTexture";
// Babylon's splat material finds its shaders in the shader store, else it fetches them from Babylon's repository
// path (src/ShadersWGSL/gaussianSplatting.fragment.fx: a 404 in an app bundled against this package, and a mesh that
// never draws; found by scripts/test-examples.mjs). Registered here, for both engines.
import "@babylonjs/core/ShadersWGSL/gaussianSplatting.vertex";
import "@babylonjs/core/ShadersWGSL/gaussianSplatting.fragment";
import "@babylonjs/core/Shaders/gaussianSplatting.vertex";
import "@babylonjs/core/Shaders/gaussianSplatting.fragment";
import { SemanticSplatError } from "../errors";
import { drawsSplatTriangles, withSplatTriangles } from "../rendering/splatTriangles";
import { GpuFramePacer } from "../rendering/gpuFramePacer";
import { FEATURE_CHANNELS_PER_LAYER, featureLayerCount, featuresToFloat16, packFeatureLayers, packFeatureRows, type FeatureArray } from "./featureLayout";

/** Largest band of the feature texture written in one WebGPU upload (see _uploadFeatureLayers). */
const FEATURE_UPLOAD_BAND_BYTES = 8 << 20;
import { loadSceneInto, type SceneSource, type SemanticLoadOptions } from "./loading";
import { encodeMeshFeatures, type MeshEncoderOptions } from "../encoder/encodeMesh";
import { SCENE_FRAME_COMMENT_PREFIX, sceneFrameRecord, type SceneFrame } from "../frame/sceneFrame";
import { encodeFeatureSidecar, halfArrayToFloat32, LABEL_NONE, parsePlyHeader, writeSemanticPly, writeSplatAsSemanticPly } from "../formats";

/**
 * Per-Gaussian class ids as {@link SemanticGaussianSplattingMesh.setLabels} takes them: a Uint8Array (255 = none)
 * or a Uint16Array (65535 = none), as in PLY `sem_label` (ARCHITECTURE.md contract 1).
 */
export type LabelArray = Uint8Array | Uint16Array;

/** The label value of a Gaussian without a class, in {@link SemanticGaussianSplattingMesh.labels}. */
export const NO_LABEL = LABEL_NONE;

/** Options of {@link SemanticGaussianSplattingMesh.setFeatures}. Every field is optional. */
export interface SetFeaturesOptions {
    /** Identifier of the encoder that made the features. Default: "". */
    encoderId?: string;
    /** What the features came from, named in errors. Default: "setFeatures". */
    source?: string;
    /** The frame the features were computed in (docs/FRAME.md). Default: null. */
    sceneFrame?: SceneFrame | null;
    /** `false`: the mesh keeps `data` itself instead of a copy (the caller hands it over and must not change it
     *  afterwards; a 6 M-Gaussian K = 16 encode's fp16 features are 192 MB). Default: `true`. */
    copy?: boolean;
}

/** Options of a {@link SemanticGaussianSplattingMesh}. Every field is optional. */
export interface SemanticGaussianSplattingMeshOptions {
    /**
     * Keep Babylon's decoded splat data (32-byte rows) and SH bytes in CPU memory after upload, as Babylon's
     * `keepInRam` does. Needed to write a scene that was NOT loaded from a PLY back out with
     * {@link SemanticGaussianSplattingMesh.saveSemanticPly}, and by the Gaussian encoder, which reads positions,
     * colours and scales on the CPU. Costs 32 bytes per Gaussian (plus SH). Default: `true`.
     */
    keepInRam?: boolean;
    /**
     * Ask Babylon for its rotation/scale matrix textures (needed only for voxel IBL shadows). Default: `false`.
     */
    needsRotationScaleTextures?: boolean;
    /**
     * The Gaussian encoder (docs/ENCODER.md, "Encoding a scene"): with it, a loaded file that has no features
     * (no `f_sem_*`, no sidecar) gets them in the inference worker after the load, with no work from the caller.
     */
    encoder?: MeshEncoderOptions;
    /** Encode scenes without features after each load. Default: `true` when `encoder` is set. `false` turns it off
     *  ({@link SemanticGaussianSplattingMesh.encodeFeatures} still encodes on request). */
    autoEncode?: boolean;
    /**
     * Pace the engine's render loop by the GPU while the mesh lives (default `true`; {@link GpuFramePacer}): a frame
     * starts once the GPU finished the one before (two before on a hardware GPU). Without it, a render loop on a GPU
     * that does not throttle requestAnimationFrame (SwiftShader) queues frames without bound and the inference
     * worker's requests to the GPU process (its WebGPU adapter) never answer. No effect on WebGL engines or an
     * engine whose `maxFramesInFlight` the app set itself.
     */
    paceRenderLoop?: boolean;
}

/** Options of {@link SemanticGaussianSplattingMesh.LoadAsync}: the mesh options plus the load options. */
export interface SemanticMeshLoadOptions extends SemanticGaussianSplattingMeshOptions, SemanticLoadOptions {
    /** Name of the created mesh. Default: the file name. */
    name?: string;
}

/**
 * A Gaussian Splatting mesh that also carries K semantic feature channels (and optionally a label) per Gaussian.
 *
 * - Load any scene Babylon's splat loader reads (.ply, .splat, .spz v2/v3 gzip or raw, .sog, SOG `meta.json`)
 *   with {@link SemanticGaussianSplattingMesh.LoadAsync} or {@link loadAsync}; PLY `f_sem_*` / `sem_label`
 *   properties and feature sidecars are read too. A failed load throws a {@link SemanticSplatError} and leaves
 *   nothing behind on the scene.
 * - Features can also be set by the caller ({@link setFeatures}). Values are stored as given (no
 *   normalisation), as fp16, in {@link featureTexture}.
 * - `getClassName()` stays `"GaussianSplattingMesh"` so Babylon treats it like its own mesh everywhere.
 */
export class SemanticGaussianSplattingMesh extends GaussianSplattingMesh {
    /** Fires after the features (or labels) changed: set, cleared, or dropped because the splat data changed. */
    readonly onFeaturesChangedObservable = new Observable<SemanticGaussianSplattingMesh>();

    private _featureDimension = 0;
    /** The features as the caller or the file gave them (fp32 values, or fp16 bits), [count x K]. */
    private _featureValues: FeatureArray | null = null;
    /** fp16 bits of the features, [count x K]: what the texture holds. */
    private _featureHalf: Uint16Array | null = null;
    private _featureTexture: RawTexture2DArray | null = null;
    private _featureCount = 0;
    private _featureEncoderId = "";
    private _sceneFrame: SceneFrame | null = null;
    private _labels: Uint16Array | null = null;
    /** True while {@link loadAsync} runs: splat data changes then come from the load, not from the caller. */
    private _loading = false;
    private _lastTextureSize: { x: number; y: number } | null = null;
    /** Bytes of the PLY this mesh was loaded from (kept so that saving rewrites only the semantic properties). */
    private _sourcePly: Uint8Array | null = null;
    /** The same PLY kept as a Blob instead (load option sourceInMemory: false): outside the tab's memory. */
    private _sourcePlyBlob: Blob | null = null;
    private _sourceFileName = "";
    private _lastLoadReport = { droppedGaussians: 0, labelsMappedToNone: 0 };
    private _semanticDisposed = false;
    private readonly _encoderOptions: MeshEncoderOptions | null;
    private readonly _autoEncode: boolean;
    /** The encode in progress (or the last one), and how to cancel it. */
    private _encoding: Promise<void> = Promise.resolve();
    private _encodeAbort: AbortController | null = null;
    private readonly _pacer: GpuFramePacer | null;
    private _contextRestoredObserver: Nullable<Observer<AbstractEngine>> = null;
    private _splatRestoreObserver: Nullable<Observer<AbstractEngine>> = null;

    /**
     * @param name name of the mesh in the scene
     * @param scene the scene it belongs to (default: the last created scene)
     * @param options see {@link SemanticGaussianSplattingMeshOptions}
     */
    constructor(name: string, scene: Nullable<Scene> = null, options: SemanticGaussianSplattingMeshOptions = {}) {
        super(name, null, scene, options.keepInRam ?? true, options.needsRotationScaleTextures ?? false);
        this._encoderOptions = options.encoder ?? null;
        this._autoEncode = options.autoEncode ?? options.encoder !== undefined;
        this._pacer = (options.paceRenderLoop ?? true) ? GpuFramePacer.Acquire(this.getEngine()) : null;
    }

    /**
     * Creates a mesh and loads a scene into it. On failure the mesh is disposed (nothing stays on the scene)
     * and the error, a {@link SemanticSplatError}, names the file and the problem.
     * @param source a URL, or `{ data, fileName }` for bytes already in memory (the file name picks the format)
     * @param scene the scene to add the mesh to
     * @param options mesh and load options
     */
    static async LoadAsync(source: SceneSource, scene: Scene, options: SemanticMeshLoadOptions = {}): Promise<SemanticGaussianSplattingMesh> {
        const fileName = typeof source === "string" ? source : source.fileName;
        const name = options.name ?? fileName.split("/").pop() ?? "semanticSplats";
        const mesh = new SemanticGaussianSplattingMesh(name, scene, options);
        try {
            await mesh.loadAsync(source, options);
        } catch (error) {
            mesh.dispose();
            throw error;
        }
        return mesh;
    }

    /**
     * Loads a scene into this mesh through Babylon's splat loader, replacing its splat data, features and labels.
     * Features come from the PLY's `f_sem_*` properties or from `options.sidecar`. Every file is read and checked
     * by readSceneFile (budgets, validation policy) before the mesh is touched. On failure the error is a
     * {@link SemanticSplatError} and the mesh is left as it was: its Gaussians, features, labels, source file
     * and GPU textures (when Babylon's loader already replaced the splat data, the previous data is put back; that
     * needs `keepInRam`, the default). {@link lastLoadReport} says what the validation policy dropped or mapped.
     */
    async loadAsync(source: SceneSource, options: SemanticLoadOptions = {}): Promise<void> {
        this._throwIfDisposed();
        this._encodeAbort?.abort(); // the features of the old scene would not fit the new one
        const before = this._snapshot();
        this._loading = true;
        let loaded;
        try {
            loaded = await loadSceneInto(this, source, options);
        } catch (error) {
            if (!this._semanticDisposed && !this.isDisposed()) this._restore(before);
            throw error;
        } finally {
            this._loading = false;
        }
        this._sourcePly = loaded.sourcePly;
        this._sourcePlyBlob = loaded.sourcePlyBlob;
        this._sourceFileName = loaded.fileName;
        this._lastLoadReport = { droppedGaussians: loaded.droppedGaussians, labelsMappedToNone: loaded.labelsMappedToNone };
        if (loaded.features) {
            const values = loaded.features.values;
            this.setFeatures(values, loaded.features.featureDimension, {
                encoderId: loaded.features.encoderId,
                source: loaded.features.source,
                sceneFrame: loaded.features.sceneFrame,
                // the load's own array (read from the file) is kept as it is; a view into a larger buffer (a sidecar's
                // bytes) is copied, so that the file's bytes are not kept alive with it
                copy: values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength,
            });
        } else {
            this.clearFeatures();
        }
        this.setLabels(loaded.labels, loaded.fileName);
        if (!loaded.features && this._autoEncode && this._encoderOptions) void this.encodeFeatures().catch(() => {}); // see featuresReady
    }

    /**
     * What the validation policy did in the last successful load: Gaussians dropped (invalidGaussians: "drop")
     * and labels mapped to none (invalidLabels: "none"). Both 0 before a load.
     */
    get lastLoadReport(): { readonly droppedGaussians: number; readonly labelsMappedToNone: number } {
        return this._lastLoadReport;
    }

    /** What a failed load must put back (references only: Babylon's loader replaces its buffers, never edits them). */
    private _snapshot() {
        return {
            count: this._vertexCount,
            splats: this.splatsData,
            sh: this.shData,
            shDegree: this.shDegree,
            scaling: this.scaling.clone(),
            featureValues: this._featureValues,
            featureDimension: this._featureDimension,
            featureEncoderId: this._featureEncoderId,
            sceneFrame: this._sceneFrame,
            labels: this._labels,
            sourcePly: this._sourcePly,
            sourcePlyBlob: this._sourcePlyBlob,
            sourceFileName: this._sourceFileName,
        };
    }

    private _restore(before: ReturnType<SemanticGaussianSplattingMesh["_snapshot"]>): void {
        const touched = this._vertexCount !== before.count || this.splatsData !== before.splats || this.shData !== before.sh;
        if (touched && before.splats && before.count > 0) {
            this._loading = true;
            try {
                this.updateData(before.splats, before.sh ?? undefined, undefined, undefined, before.shDegree);
            } finally {
                this._loading = false;
            }
        }
        this.scaling.copyFrom(before.scaling);
        if (this._featureValues !== before.featureValues) {
            if (before.featureValues && this._vertexCount === before.count) {
                this.setFeatures(before.featureValues, before.featureDimension, { encoderId: before.featureEncoderId, source: before.sourceFileName || this.name, sceneFrame: before.sceneFrame });
            } else {
                this.clearFeatures();
            }
        }
        if (this._labels !== before.labels) {
            this._labels = before.labels && before.labels.length === this._vertexCount ? before.labels : null;
            this.onFeaturesChangedObservable.notifyObservers(this);
        }
        this._sourcePly = before.sourcePly;
        this._sourcePlyBlob = before.sourcePlyBlob;
        this._sourceFileName = before.sourceFileName;
    }

    /**
     * Encodes this mesh's Gaussians with the Gaussian encoder in the inference worker and sets the features
     * (fp16); a previous encode still running is cancelled. Save them with {@link saveSemanticPly} or
     * {@link saveFeatureSidecar} so a scene is encoded once. Rejects with a SemanticSplatError (CANCELLED when a
     * newer encode, a new load or dispose() stopped it).
     * @param options the encoder; default: the mesh's `encoder` option
     */
    encodeFeatures(options?: MeshEncoderOptions): Promise<void> {
        this._throwIfDisposed();
        const encoder = options ?? this._encoderOptions;
        if (!encoder) return Promise.reject(new SemanticSplatError("INVALID_ARGUMENT", "encodeFeatures(): no encoder options (set the mesh's `encoder` option or pass them)"));
        this._encodeAbort?.abort();
        const abort = new AbortController();
        this._encodeAbort = abort;
        this._encoding = encodeMeshFeatures(this, encoder, abort.signal).then(() => {
            if (this._encodeAbort === abort) this._encodeAbort = null;
        });
        return this._encoding;
    }

    /** Settles when the latest automatic or requested encode has finished (rejects with its error). */
    get featuresReady(): Promise<void> {
        return this._encoding;
    }

    /** Keeps Babylon's class name so its renderers, serializers and tools treat this like their own mesh. */
    override getClassName(): string {
        return "GaussianSplattingMesh";
    }

    /** Number of Gaussians whose data is loaded (0 before a load). */
    get gaussianCount(): number {
        return this._vertexCount;
    }

    /** K, the number of feature channels per Gaussian (0 when no features are set). */
    get featureDimension(): number {
        return this._featureDimension;
    }

    /** Number of layers of {@link featureTexture}: ceil(K / 8). */
    get featureLayerCount(): number {
        return featureLayerCount(this._featureDimension);
    }

    /** The feature pass may draw this mesh as one triangle per splat (see `_drawColorPass`). */
    get drawsSplatTriangles(): boolean {
        return true;
    }

    /**
     * The features on the GPU: ONE 2D texture array of fp16 values, two per 32-bit channel of an RGBA32UI texel
     * (as Babylon packs its spherical harmonics), with {@link featureLayerCount} layers; layer l holds channels
     * 8l..8l+7 (unused channels 0): `unpack2x16float(texel[w])` is (channel 8l + 2w, channel 8l + 2w + 1).
     * Gaussian i is at texel (i % width, floor(i / width)), with the same width and height as Babylon's splat
     * data textures, so a shader uses the splat index it already has:
     * `textureLoad(featureTexture, vec2i(i % w, i / w), layer, 0)` (a `texture_2d_array<u32>`). Null when no
     * features are set. Rebuilt (a new texture object) whenever the features or the splat data change: re-read
     * it after {@link onFeaturesChangedObservable} fires rather than caching it.
     */
    get featureTexture(): RawTexture2DArray | null {
        return this._featureTexture;
    }

    /** The features as they were set (fp32 values, or fp16 bit patterns), [count x K]; null when none. */
    get featureValues(): FeatureArray | null {
        return this._featureValues;
    }

    /** fp16 bit patterns of the features, [count x K], exactly what {@link featureTexture} holds; null when none. */
    get featureHalfBits(): Uint16Array | null {
        return this._featureHalf;
    }

    /**
     * The scene frame the features were computed in (docs/FRAME.md): estimated by the encoder (`frame: "auto"`),
     * given by the caller, or read back from the file (PLY comment `semantic_scene_frame`, sidecar version 2).
     * null when the mesh has no features or they came without a recorded frame. Describe it with
     * describeSceneFrame ("up +Z (tilt 3 deg), 1 unit = 0.01 m, floor -1.42, confidence 0.93").
     */
    get sceneFrame(): SceneFrame | null {
        return this._sceneFrame;
    }

    /** Identifier of the encoder that made the features (from a sidecar or the caller); "" when unknown. */
    get featureEncoderId(): string {
        return this._featureEncoderId;
    }

    /** Per-Gaussian class ids ({@link NO_LABEL} = 65535 = none), or null when the scene has none. */
    get labels(): Uint16Array | null {
        return this._labels;
    }

    /** Bytes of the PLY the mesh was loaded from, or null when it came from another format or is kept as a Blob
     *  (load option `sourceInMemory: false`). */
    get sourcePly(): Uint8Array | null {
        return this._sourcePly;
    }

    /** File name or URL of the last successful load ("" before one). */
    get sourceFileName(): string {
        return this._sourceFileName;
    }

    /**
     * Sets the per-Gaussian features: `data` is [count x K] row-major, as fp32 values (Float32Array) or fp16 bit
     * patterns (Uint16Array). Values are kept as given (not normalised). Throws SemanticSplatError when the
     * count or K do not match the loaded scene or a value is NaN/Inf or outside the fp16 range.
     */
    setFeatures(data: FeatureArray, featureDimension: number, options: SetFeaturesOptions = {}): void {
        this._throwIfDisposed();
        const source = options.source ?? "setFeatures";
        const count = this._vertexCount;
        if (count === 0) {
            throw new SemanticSplatError("EMPTY_SCENE", "the mesh holds no Gaussians yet: load a scene before setting features", source);
        }
        // WebGPU's default limit is 256 layers (K <= 1024); WebGL2 guarantees 256 too.
        const device = (this.getEngine() as { _device?: GPUDevice })._device;
        const maxLayers = device?.limits.maxTextureArrayLayers ?? 256;
        if (featureLayerCount(featureDimension) > maxLayers) {
            throw new SemanticSplatError("GPU_LIMITS", `K=${featureDimension} needs more than the device's ${maxLayers} texture array layers`, source);
        }
        const copy = options.copy ?? true;
        const half = featuresToFloat16(data, count, featureDimension, source, copy);
        // fp16 input (the encoder's): the checked copy is both the values as given and the texture's bits, one copy
        // instead of two (192 MB at 6 M Gaussians, K = 16; BENCHMARKS.md, "Large scenes in the browser"), and none
        // at all when the caller hands its array over (copy: false, as encodeMeshFeatures does with the worker's).
        this._featureValues = data instanceof Uint16Array ? half : copy ? data.slice() : data;
        this._featureHalf = half;
        this._featureDimension = featureDimension;
        this._featureCount = count;
        this._featureEncoderId = options.encoderId ?? "";
        this._sceneFrame = options.sceneFrame ?? null;
        this._rebuildFeatureTexture();
        this.onFeaturesChangedObservable.notifyObservers(this);
    }

    /** Removes the features (and frees their texture). */
    clearFeatures(): void {
        const had = this._featureHalf !== null;
        this._dropFeatures();
        if (had) this.onFeaturesChangedObservable.notifyObservers(this);
    }

    /**
     * Sets (or clears, with null) the per-Gaussian class ids: a Uint8Array (255 = none) or a Uint16Array
     * (65535 = none); their count must match the scene's. Stored as a Uint16Array with none = {@link NO_LABEL}.
     */
    setLabels(labels: LabelArray | null, source = "setLabels"): void {
        this._throwIfDisposed();
        if (labels && !(labels instanceof Uint8Array) && !(labels instanceof Uint16Array)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", "labels must be a Uint8Array (255 = none) or a Uint16Array (65535 = none)", source);
        }
        if (labels && labels.length !== this._vertexCount) {
            throw new SemanticSplatError("FEATURE_MISMATCH", `${labels.length} labels for ${this._vertexCount} Gaussians`, source);
        }
        if (!labels && !this._labels) return;
        if (labels instanceof Uint8Array) {
            const wide = new Uint16Array(labels.length);
            for (let i = 0; i < labels.length; i++) wide[i] = labels[i] === 255 ? NO_LABEL : labels[i];
            this._labels = wide;
        } else {
            this._labels = labels ? labels.slice() : null;
        }
        this.onFeaturesChangedObservable.notifyObservers(this);
    }

    /**
     * The scene with its features and labels as a binary little-endian PLY: `f_sem_0..f_sem_{K-1}` (float) and
     * `sem_label` (uchar when every id is below 255, else ushort). When the mesh was loaded from a PLY, that file's
     * own elements and properties are kept bit-exact and only the semantic properties are replaced (removed when
     * the mesh has none); otherwise the standard 3DGS properties are rebuilt from Babylon's splat data (needs
     * `keepInRam`, the default; band-0 colour only, see writeSplatAsSemanticPly).
     */
    saveSemanticPly(): Uint8Array {
        this._throwIfDisposed();
        if (!this._sourcePly && this._sourcePlyBlob) {
            throw new SemanticSplatError(
                "INVALID_ARGUMENT",
                "the PLY this mesh was loaded from is kept as a Blob (load option sourceInMemory: false): save with saveSemanticPlyAsync()",
                this._sourceFileName || this.name
            );
        }
        return this._writeSemanticPly(this._sourcePly);
    }

    /**
     * {@link saveSemanticPly} for any mesh, also one loaded with `sourceInMemory: false`: the PLY it was loaded from is
     * then read back from its Blob for the time of the save only.
     */
    async saveSemanticPlyAsync(): Promise<Uint8Array> {
        this._throwIfDisposed();
        const blob = this._sourcePly ? null : this._sourcePlyBlob;
        const source = blob ? new Uint8Array(await blob.arrayBuffer()) : this._sourcePly;
        this._throwIfDisposed();
        // the mesh may have been reloaded meanwhile: save what it holds now
        if (blob && this._sourcePlyBlob !== blob) return this.saveSemanticPlyAsync();
        return this._writeSemanticPly(source);
    }

    private _writeSemanticPly(sourcePly: Uint8Array | null): Uint8Array {
        const name = this._sourceFileName || this.name;
        const features = this._featureValues;
        // Say once which tool wrote the semantic properties (re-saving a saved file must not stack comments).
        const comment = "semantic properties written by babylon-semantic-splatting";
        const sourceComments = sourcePly !== null ? parsePlyHeader(sourcePly, name, { complete: false }).comments : [];
        const hasComment = sourceComments.includes(comment);
        const comments = hasComment ? [] : [comment];
        // The frame the features were computed in, so a saved scene does not need it estimated again (docs/FRAME.md).
        if (features && this._sceneFrame) {
            const frameComment = SCENE_FRAME_COMMENT_PREFIX + sceneFrameRecord(this._sceneFrame);
            const recorded = sourceComments.filter((c) => c.startsWith(SCENE_FRAME_COMMENT_PREFIX));
            if (recorded[recorded.length - 1] !== frameComment) comments.push(frameComment);
        }
        const payload = {
            features: features ? (features instanceof Uint16Array ? halfArrayToFloat32(features) : features) : null,
            featureDim: features ? this._featureDimension : undefined,
            labels: this._labels,
            comments,
        };
        if (sourcePly) return writeSemanticPly(sourcePly, name, payload);
        const splats = this.splatsData;
        if (!splats) {
            const why = this._vertexCount === 0 ? "the mesh holds no Gaussians" : "the splat data was not kept in RAM (keepInRam: false)";
            throw new SemanticSplatError(this._vertexCount === 0 ? "EMPTY_SCENE" : "INVALID_ARGUMENT", `cannot write a PLY: ${why}`, name);
        }
        return writeSplatAsSemanticPly(splats, name, payload);
    }

    /** The features as a feature sidecar file (fp16, with the encoder id), for formats without extra attributes. */
    saveFeatureSidecar(): Uint8Array {
        this._throwIfDisposed();
        if (!this._featureHalf) throw new SemanticSplatError("INVALID_ARGUMENT", "the mesh has no features to write", this._sourceFileName || this.name);
        return encodeFeatureSidecar(
            { features: this._featureHalf, count: this._featureCount, featureDim: this._featureDimension, encoderId: this._featureEncoderId, sceneFrame: this._sceneFrame },
            this._sourceFileName || this.name
        );
    }

    /**
     * Babylon's loader calls this with the decoded splats. During a load, an empty decode (the @adobe/spz module
     * turns a damaged SPZ v4 file into an empty cloud) is refused here, before Babylon sizes its textures from it
     * (a 8192x0 texture and WebGPU validation errors on every later frame), so the mesh keeps its data.
     */
    override updateData(data: ArrayBuffer, sh?: Uint8Array[], options?: Parameters<GaussianSplattingMesh["updateData"]>[2], partIndices?: Uint8Array, shDegree?: number): void {
        if (this._loading && data.byteLength < 32) {
            throw new SemanticSplatError("MALFORMED_FILE", "the file decodes to no Gaussians (damaged data)");
        }
        super.updateData(data, sh, options, partIndices, shDegree);
    }

    /** Babylon calls this whenever it (re)builds its splat textures: keep the feature texture in step. */
    protected override _onUpdateTextures(textureSize: Vector2): void {
        super._onUpdateTextures(textureSize);
        this._lastTextureSize = { x: textureSize.x, y: textureSize.y };
        this._releaseSplatUploadCopies();
        // Splat data set by the caller (updateData) replaces what the source PLY held.
        if (!this._loading) {
            this._sourcePly = null;
            this._sourcePlyBlob = null;
        }
        if (!this._featureHalf) return;
        if (this._vertexCount !== this._featureCount) {
            // The splat data was replaced by a scene with a different number of Gaussians: the features no
            // longer belong to it. Labels go with them.
            this._dropFeatures();
            this._labels = null;
            this.onFeaturesChangedObservable.notifyObservers(this);
            return;
        }
        // Same Gaussians, same features: only a change of Babylon's texture size moves texels.
        const before = this._featureTexture;
        this._rebuildFeatureTexture(false);
        if (this._featureTexture !== before) this.onFeaturesChangedObservable.notifyObservers(this);
    }

    /**
     * Babylon draws the per-camera splat mesh here for every pass. A pass whose material draws one triangle per
     * splat (the feature pass; src/rendering/splatTriangles.ts) gets the triangle indices; every other pass,
     * Babylon's colour pass included, draws Babylon's quads unchanged.
     */
    protected override _drawColorPass(mesh: Mesh, subMesh: SubMesh, enableAlphaMode: boolean, effectiveMeshReplacement?: AbstractMesh): Mesh {
        const draw = () => super._drawColorPass(mesh, subMesh, enableAlphaMode, effectiveMeshReplacement);
        const material = this.getMaterialForRenderPass(this.getEngine().currentRenderPassId);
        return drawsSplatTriangles(material) ? withSplatTriangles(mesh, subMesh, draw) : draw();
    }

    /** Frees the feature texture and everything else this class made, then Babylon's own resources. */
    override dispose(doNotRecurse?: boolean): void {
        if (!this._semanticDisposed) {
            this._semanticDisposed = true;
            this._encodeAbort?.abort();
            this._pacer?.release();
            this.getEngine().onContextRestoredObservable.remove(this._contextRestoredObserver);
            this._contextRestoredObserver = null;
            this.getEngine().onContextRestoredObservable.remove(this._splatRestoreObserver);
            this._splatRestoreObserver = null;
            this._featureTexture?.dispose();
            this._featureTexture = null;
            this._featureValues = null;
            this._featureHalf = null;
            this._labels = null;
            this._sourcePly = null;
            this._sourcePlyBlob = null;
            this.onFeaturesChangedObservable.clear();
        }
        // Babylon 9.35's GaussianSplattingMaterial makes a shadow-depth ShaderMaterial ("gaussianSplattingDepth")
        // for each mesh and never disposes it: one material (and its uniform buffer) per mesh would stay on the
        // scene. It belongs to this mesh's material alone, so it is freed here.
        const depthWrapper = this.material?.shadowDepthWrapper ?? null;
        super.dispose(doNotRecurse);
        if (depthWrapper) {
            depthWrapper.dispose();
            depthWrapper.baseMaterial.dispose(true, true);
        }
    }

    /** The width and height Babylon uses for its per-splat textures at the current splat count. */
    get splatTextureSize(): { width: number; height: number } {
        const size = this._lastTextureSize ?? this._getTextureSize(this._vertexCount);
        return { width: size.x, height: size.y };
    }

    /**
     * Makes the feature texture match the features and Babylon's current texture size: a new texture when the
     * size or layer count changed, else an upload into the existing one (skipped when `uploadIfSameSize` is false).
     */
    private _rebuildFeatureTexture(uploadIfSameSize = true): void {
        const half = this._featureHalf;
        if (!half) return;
        const { width, height } = this.splatTextureSize;
        const layers = featureLayerCount(this._featureDimension);
        const old = this._featureTexture;
        const internal = old?.getInternalTexture();
        const sameSize = !!old && !!internal && internal.width === width && internal.height === height && internal.depth === layers;
        if (sameSize && !uploadIfSameSize) return;
        // WebGPU: the texture is filled a layer at a time (one layer's upload array at a time instead of all of them:
        // 96 MiB less at 6 M Gaussians, K = 16); other engines get the whole array through Babylon.
        const device = (this.getEngine() as { _device?: GPUDevice })._device;
        // Two fp16 values per 32-bit word (featureLayout.ts): the same bytes, viewed as the RGBA32UI texels.
        const packed = device ? null : new Uint32Array(packFeatureLayers(half, this._featureCount, this._featureDimension, width, height).buffer);
        if (old && sameSize) {
            if (packed) old.update(packed);
            else this._uploadFeatureLayers(device!, old);
            this._releaseUploadCopy(old);
            return;
        }
        old?.dispose();
        const texture = new RawTexture2DArray(
            packed,
            width,
            height,
            layers,
            Constants.TEXTUREFORMAT_RGBA_INTEGER,
            this.getScene(),
            false, // no mipmaps: one texel per Gaussian
            false, // rows as given: texel (x, y) is Gaussian y * width + x
            Constants.TEXTURE_NEAREST_SAMPLINGMODE,
            Constants.TEXTURETYPE_UNSIGNED_INTEGER
        );
        if (!packed) this._uploadFeatureLayers(device!, texture);
        texture.name = `${this.name}_semanticFeatures`;
        texture.wrapU = Constants.TEXTURE_CLAMP_ADDRESSMODE;
        texture.wrapV = Constants.TEXTURE_CLAMP_ADDRESSMODE;
        this._featureTexture = texture;
        this._releaseUploadCopy(texture);
    }

    /** Writes the features into `texture` (WebGPU) a band of rows at a time (at most FEATURE_UPLOAD_BAND_BYTES),
     *  reusing one band's upload array: neither it nor WebGPU's copy of it holds a whole layer (96 MiB a layer at
     *  6 M Gaussians, K = 16, which the tab held beside the features when a large encode ends). */
    private _uploadFeatureLayers(device: GPUDevice, texture: RawTexture2DArray): void {
        const half = this._featureHalf!;
        const internal = texture.getInternalTexture();
        const gpuTexture = (internal?._hardwareTexture as { underlyingResource?: GPUTexture } | null)?.underlyingResource;
        if (!internal || !gpuTexture) throw new SemanticSplatError("GPU_LIMITS", "the feature texture has no GPU texture", this.name);
        const { width, height, depth } = internal;
        if (this._featureCount > width * height) throw new SemanticSplatError("INVALID_ARGUMENT", `${this._featureCount} Gaussians do not fit a ${width}x${height} feature texture`, this.name);
        const bandRows = Math.max(1, Math.min(height, Math.floor(FEATURE_UPLOAD_BAND_BYTES / (width * 16))));
        const band = new Uint16Array(width * bandRows * FEATURE_CHANNELS_PER_LAYER);
        for (let l = 0; l < depth; l++) {
            for (let y = 0; y < height; y += bandRows) {
                const rows = Math.min(bandRows, height - y);
                const data = band.subarray(0, width * rows * FEATURE_CHANNELS_PER_LAYER);
                packFeatureRows(half, this._featureCount, this._featureDimension, width, l, y, rows, data);
                device.queue.writeTexture({ texture: gpuTexture, origin: { x: 0, y, z: l } }, data, { bytesPerRow: width * 16, rowsPerImage: rows }, { width, height: rows, depthOrArrayLayers: 1 });
            }
        }
    }

    /**
     * Babylon keeps every raw texture's upload array (`_bufferView`) to restore it after a lost context: for the
     * feature texture that is a second, padded copy of the features (184 MiB at 6 M Gaussians, K = 16). The mesh
     * keeps the fp16 features itself, so the copy is dropped here and the texture is re-uploaded from them when the
     * engine restores its context (`onContextRestoredObservable`).
     */
    private _releaseUploadCopy(texture: RawTexture2DArray): void {
        const internal = texture.getInternalTexture();
        if (internal) internal._bufferView = null;
        if (!this._contextRestoredObserver) {
            this._contextRestoredObserver = this.getEngine().onContextRestoredObservable.add(() => {
                if (!this._semanticDisposed && this._featureHalf) this._rebuildFeatureTexture(true);
            });
        }
    }

    /**
     * Babylon keeps the upload arrays of its covariance and colour textures (`_bufferView`) to restore them after a
     * lost context: arrays nothing else holds, 16 bytes per Gaussian (96 MB at 6 M; the centres' array is the mesh's
     * own `_splatPositions`, kept anyway). With `keepInRam` the mesh holds its splat rows, so those copies are dropped
     * here and the textures rebuilt from the rows (updateData) when the engine restores its context, which restores
     * the SH textures too (Babylon creates them empty and uploads after, so it has no copy of them to restore).
     */
    private _releaseSplatUploadCopies(): void {
        if (!this._keepInRam || this._semanticDisposed) return;
        for (const texture of [this.covariancesATexture, this.covariancesBTexture, this.colorsTexture]) {
            const internal = texture?.getInternalTexture();
            // a render-target atlas (Babylon's streamed parts) has no upload array to drop
            if (internal && internal._bufferView) internal._bufferView = null;
        }
        if (!this._splatRestoreObserver) {
            this._splatRestoreObserver = this.getEngine().onContextRestoredObservable.add(() => {
                const rows = this.splatsData;
                if (this._semanticDisposed || !rows || this._vertexCount === 0) return;
                const loading = this._loading;
                this._loading = true; // the same splat data: the source file and the features stay
                try {
                    this.updateData(rows, this.shData ?? undefined, { flipY: this._flipY }, undefined, this.maxShDegree);
                } finally {
                    this._loading = loading;
                }
            });
        }
    }

    private _dropFeatures(): void {
        this._featureTexture?.dispose();
        this._featureTexture = null;
        this._featureValues = null;
        this._featureHalf = null;
        this._featureDimension = 0;
        this._featureCount = 0;
        this._featureEncoderId = "";
        this._sceneFrame = null;
    }

    private _throwIfDisposed(): void {
        if (this._semanticDisposed || this.isDisposed()) {
            throw new SemanticSplatError("DISPOSED", `mesh "${this.name}" was disposed`);
        }
    }
}
