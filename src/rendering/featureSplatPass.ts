// The feature splat pass: renders, for the main camera, rgb + coverage alpha + expected depth + K
// per-Gaussian feature channels, composited exactly like colour (RT-GS2 Eq. 3):
//     F(p) = sum_i f_i a_i(p) prod_{j<i} (1 - a_j(p))      (back to front, background 0, NOT divided by alpha)
// inside Babylon's own splat renderer: the same mesh draw, the same sorted `splatIndex` instance buffer
// (the one the main camera's colour pass uses), Babylon's projection include, drawn into
// MultiRenderTargets with a splat material of our own (like Babylon's makeDepthRenderingMaterial).
import { Constants } from "@babylonjs/core/Engines/constants";
import type { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import "@babylonjs/core/Engines/WebGPU/Extensions/engine.multiRender";
import "@babylonjs/core/Engines/WebGPU/Extensions/engine.readTexture";
import { ShaderStore } from "@babylonjs/core/Engines/shaderStore";
import { ShaderLanguage } from "@babylonjs/core/Materials/shaderLanguage";
import { ShaderMaterial } from "@babylonjs/core/Materials/shaderMaterial";
import { MultiRenderTarget } from "@babylonjs/core/Materials/Textures/multiRenderTarget";
import type { BaseTexture } from "@babylonjs/core/Materials/Textures/baseTexture";
import type { Effect } from "@babylonjs/core/Materials/effect";
import { GaussianSplattingMaterial } from "@babylonjs/core/Materials/GaussianSplatting/gaussianSplattingMaterial";
import type { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";
import type { AbstractMesh } from "@babylonjs/core/Meshes/abstractMesh";
import type { Mesh } from "@babylonjs/core/Meshes/mesh";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import type { Observer } from "@babylonjs/core/Misc/observable";
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import type { Scene } from "@babylonjs/core/scene";
import type { Nullable } from "@babylonjs/core/types";
// Registers Babylon's WGSL splat includes (gaussianSplatting, gaussianSplattingShared, scene/mesh UBOs).
import "@babylonjs/core/ShadersWGSL/gaussianSplatting.vertex";
import "@babylonjs/core/ShadersWGSL/gaussianSplattingDepth.vertex";
import featureSplatVertex from "../../shaders/featureSplat.vertex.wgsl";
import featureSplatFragment from "../../shaders/featureSplat.fragment.wgsl";
import { SemanticSplatError } from "../errors";
import { isSortSettled } from "./sortState";
import { markSplatTriangleMaterial, useClipDistances } from "./splatTriangles";
import { unpackFeatureFrame, type FeatureFrame, type RawFeatureFrame } from "./featureFrame";
import { ATTACHMENT_FORMATS, CHANNELS_PER_ATTACHMENT, planFeaturePasses, type AttachmentFormat, type DeviceLimitsForPlan, type FeaturePassPlan } from "./attachmentPlan";

/**
 * The two per-pass lines of shaders/featureSplat.vertex.wgsl: FEATURE_LAYER_LOADS (one textureLoad per feature
 * texture layer this pass reads, into `layerN`, and one unpack2x16float per 32-bit word it needs, into `pairP`)
 * and CHANNEL_VARYINGS (vChannels0.. as constant swizzles of `depth` and those pairs). Stream channel c is depth
 * for c = 0, feature f = c - 1 for 1 <= c <= K (word P = f / 2 of the texels: layer P / 4, component P % 4, its
 * low half for even f), and 0 past K (padding of the last attachment).
 */
export function streamChannelWgsl(plan: FeaturePassPlan, featureDimension: number): { layerLoads: string; channelVaryings: string } {
    const pairs = new Set<number>();
    const channel = (c: number): string => {
        if (c === 0) return "depth";
        const f = c - 1;
        if (f >= featureDimension) return "0.0";
        pairs.add(f >> 1);
        return `pair${f >> 1}.${"xy"[f & 1]}`;
    };
    const varyings: string[] = [];
    for (let s = 0; s < plan.channelAttachments; s++) {
        const c = plan.firstChannel + CHANNELS_PER_ATTACHMENT * s;
        varyings.push(`vertexOutputs.vChannels${s} = vec3f(${channel(c)}, ${channel(c + 1)}, ${channel(c + 2)});`);
    }
    const words = [...pairs].sort((a, b) => a - b);
    const layers = [...new Set(words.map((p) => p >> 2))];
    const loads = [
        ...layers.map((l) => `let layer${l}: vec4<u32> = textureLoad(featureTexture, uv, ${l}, 0);`),
        ...words.map((p) => `let pair${p}: vec2f = unpack2x16float(layer${p >> 2}.${"xyzw"[p & 3]});`),
    ];
    return { layerLoads: loads.join("\n    "), channelVaryings: varyings.join("\n    ") };
}

/** Registers the shaders of one pass, its channel code substituted (streamChannelWgsl), under a name per pass layout. */
function registerPassShaders(plan: FeaturePassPlan, featureDimension: number): string {
    const name = `semanticFeatureSplat_c${plan.firstChannel}_s${plan.channelAttachments}_k${featureDimension}`;
    if (!ShaderStore.ShadersStoreWGSL[`${name}VertexShader`]) {
        const { layerLoads, channelVaryings } = streamChannelWgsl(plan, featureDimension);
        ShaderStore.ShadersStoreWGSL[`${name}VertexShader`] = featureSplatVertex.replace("FEATURE_LAYER_LOADS", layerLoads).replace("CHANNEL_VARYINGS", channelVaryings);
        ShaderStore.ShadersStoreWGSL[`${name}FragmentShader`] = featureSplatFragment;
    }
    return name;
}

/** What the pass needs from a splat mesh besides Babylon's own splat textures. */
export interface FeatureTextureProvider {
    /**
     * RGBA32UI 2D texture array of fp16 pairs: layer l = feature channels 8l..8l+7, two per component (low half
     * first), texel of splat i at (i % w, floor(i / w)).
     */
    readonly featureTexture: Nullable<BaseTexture>;
    /** K, features per Gaussian. */
    readonly featureDimension: number;
    /** ceil(K / 8), layers of `featureTexture`. */
    readonly featureLayerCount: number;
    /**
     * True when the mesh draws a pass whose material is marked with `markSplatTriangleMaterial` as one triangle per
     * splat (src/rendering/splatTriangles.ts; SemanticGaussianSplattingMesh does). Otherwise the pass can only draw
     * Babylon's quads.
     */
    readonly drawsSplatTriangles?: boolean;
    /**
     * The encoder that made the features (its `features_id`, or the `encoder_id` of a file from before it); "" or
     * absent when unknown. A pipeline whose model names the encoder it was trained on does not feed it another's.
     */
    readonly featureEncoderId?: string;
}

export type FeatureSplatMesh = GaussianSplattingMesh & FeatureTextureProvider;

export interface FeatureSplatPassOptions {
    /**
     * Target width in pixels. Default: from `longSide` and the canvas's aspect. The VDVI model needs both sides
     * to be multiples of 32; the pass itself takes any size. Babylon recomputes the camera's projection for the
     * target's own aspect (same vertical field of view), so a target whose aspect differs from the canvas's shows
     * a slightly different horizontal extent, not a stretched image. `FeatureFrame.projectionMatrix` is the
     * projection the target was drawn with: convert pixels through it, not through the canvas's.
     */
    width?: number;
    /** Target height in pixels (see `width`). */
    height?: number;
    /** Long side when width/height are not given (default 320); both sides are rounded to multiples of 32. */
    longSide?: number;
    /**
     * Device limits to plan the passes with (default: the engine's `GPUDevice.limits`, read at construction).
     * Only useful to force the multi-pass path on a device with raised limits; never pass limits the
     * device does not have.
     */
    limits?: DeviceLimitsForPlan;
    /**
     * Format of the render targets. Default: "rgba32float" when the device has the "float32-blendable" feature
     * (WebGPUEngine option `enableAllFeatures: true`, or `deviceDescriptor.requiredFeatures`), else "rgba16float"
     * (blendable on every WebGPU device). rgba32float keeps full float precision and was 2-3x faster on SwiftShader
     * (BENCHMARKS.md), at twice the bytes per sample (more passes at the same limits).
     */
    attachmentFormat?: AttachmentFormat;
    /**
     * How each splat is drawn. "triangle": one triangle per splat, clipped to a hexagon around the splat's footprint
     * with WebGPU clip distances (3 vertices instead of 4 and fewer rasterized pixels than Babylon's quad; about 10 %
     * cheaper on SwiftShader, BENCHMARKS.md); needs the device feature "clip-distances" (WebGPUEngine option
     * `enableAllFeatures: true`, or `deviceDescriptor.requiredFeatures`) and a mesh that draws triangles
     * (SemanticGaussianSplattingMesh). "quad": Babylon's own quads. Same maths either way; the two images differ
     * by the rasterizer's sub-pixel snapping (a few 1e-3) and where a pixel centre lies on a splat's cut-off circle.
     * Default: "triangle" where possible, else "quad".
     */
    splatPrimitive?: SplatPrimitive;
    /**
     * false: a colour-only pass (K = 0): rgb, coverage alpha and expected depth, no features, and the mesh needs
     * none (the input of the RGB-only fallback model while a scene's features are not ready). Default true: the
     * mesh's K features (K >= 1).
     */
    withFeatures?: boolean;
}

/** How the feature pass draws each splat (see FeatureSplatPassOptions.splatPrimitive). */
export type SplatPrimitive = "triangle" | "quad";

// The frame types and their unpacking live in a Babylon-free module (the inference worker unpacks there too).
export type { FeatureFrame, RawFeatureFrame, RawFeaturePass } from "./featureFrame";

/** Default segmentation resolution: long side `longSide`, the canvas's aspect, both sides multiples of 32. */
export function segmentationResolution(canvasWidth: number, canvasHeight: number, longSide = 320): { width: number; height: number } {
    if (!(canvasWidth > 0 && canvasHeight > 0)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `segmentationResolution: canvas size must be positive, got ${canvasWidth}x${canvasHeight}`);
    }
    if (!(longSide >= 32) || longSide % 32 !== 0) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `segmentationResolution: longSide must be a multiple of 32 (>= 32), got ${longSide}`);
    }
    const roundTo32 = (v: number) => Math.max(32, Math.round(v / 32) * 32);
    return canvasWidth >= canvasHeight
        ? { width: longSide, height: roundTo32((longSide * canvasHeight) / canvasWidth) }
        : { width: roundTo32((longSide * canvasWidth) / canvasHeight), height: longSide };
}

interface PassResources {
    plan: FeaturePassPlan;
    target: MultiRenderTarget;
    material: ShaderMaterial;
    /** Draws of this pass's material since the last `renderPasses()` call. */
    draws: number;
}

interface FrameRequest {
    resolve: (f: FeatureFrame) => void;
    reject: (e: unknown) => void;
    framesWaited: number;
    settledSort: boolean;
}

export interface FrameRequestOptions {
    /**
     * Wait for a frame whose splat order was sorted for the camera's current view (see `isSortSettled`). Default
     * false: the next frame, with the order the colour pass used, which lags a moving camera by a frame or two
     * (Babylon sorts in a worker). Set it when the exact order matters: goldens, captures of a still camera.
     */
    settledSort?: boolean;
}

/** How many frames `requestFrame` waits for shaders and the first sort before it gives up. */
const MAX_WAIT_FRAMES = 600;

/**
 * Renders the feature image of a splat mesh for the scene's active camera, reusing that camera's sorted order.
 *
 * Limits: a WebGPU device gets `maxColorAttachmentBytesPerSample` 32 unless more is requested when it is created.
 * Create the engine with `new WebGPUEngine(canvas, { setMaximumLimits: true })` (or
 * `deviceDescriptor: { requiredLimits: { maxColorAttachmentBytesPerSample: 128 } }`) so that K = 16 fits one
 * pass. On a default-limits device the pass splits its attachments over several passes over the same sorted
 * index buffer (same result, more vertex work). The plan is read from `engine._device.limits`. With
 * `enableAllFeatures: true` (or `requiredFeatures: ["float32-blendable", "clip-distances"]`) the targets are
 * rgba32float and each splat is drawn as one clipped triangle instead of a quad (`splatPrimitive`).
 *
 * Usage: `const frame = await pass.requestFrame()` while the app renders frames; the passes are drawn right
 * after the next frame's scene render (after the colour pass, with the sort it used) and read back after
 * that frame is submitted. Rendering never waits for the readback.
 */
export class FeatureSplatPass {
    readonly plans: readonly FeaturePassPlan[];
    /** K, fixed at construction (0 for a colour-only pass, `withFeatures: false`); a mesh whose K changes needs a
     *  new pass. */
    readonly featureDimension: number;
    readonly attachmentFormat: AttachmentFormat;
    /** How this pass draws each splat (options.splatPrimitive). */
    readonly splatPrimitive: SplatPrimitive;
    private readonly _passes: PassResources[] = [];
    private _width: number;
    private _height: number;
    private _viewMatrix = new Float32Array(16);
    private _projectionMatrix = new Float32Array(16);
    private _pending: FrameRequest[] = [];
    /** The requests the passes drawn this frame answer (read back at the end of the frame). */
    private _drawnFor: FrameRequest[] = [];
    private _renderedThisFrame = false;
    private _afterRenderObserver: Nullable<Observer<Scene>> = null;
    private _endFrameObserver: Nullable<Observer<AbstractEngine>> = null;
    private _disposed = false;

    constructor(
        readonly scene: Scene,
        readonly mesh: FeatureSplatMesh,
        options: FeatureSplatPassOptions = {}
    ) {
        const engine = scene.getEngine() as WebGPUEngine;
        if (!engine.isWebGPU || !engine._device) {
            throw new SemanticSplatError("NO_WEBGPU", "FeatureSplatPass: the scene's engine must be a WebGPUEngine (the pass is written in WGSL)");
        }
        const K = options.withFeatures === false ? 0 : mesh.featureDimension;
        if (options.withFeatures !== false && (!Number.isInteger(K) || K < 1)) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `FeatureSplatPass: mesh "${mesh.name}" has featureDimension ${K}; set features first`);
        }
        if (mesh.isCompound) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `FeatureSplatPass: mesh "${mesh.name}" is a compound splat mesh, which the feature pass does not support`);
        }
        this.featureDimension = K;
        if (options.width !== undefined || options.height !== undefined) {
            const { width, height } = options;
            if (!width || !height || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
                throw new SemanticSplatError("INVALID_ARGUMENT", `FeatureSplatPass: width and height must both be given as positive integers, got ${width}x${height}`);
            }
            this._width = width;
            this._height = height;
        } else {
            const r = segmentationResolution(engine.getRenderWidth(), engine.getRenderHeight(), options.longSide ?? 320);
            this._width = r.width;
            this._height = r.height;
        }
        const limits = options.limits ?? {
            maxColorAttachments: engine._device.limits.maxColorAttachments,
            maxColorAttachmentBytesPerSample: engine._device.limits.maxColorAttachmentBytesPerSample,
        };
        const float32Blendable = engine._device.features.has("float32-blendable");
        this.attachmentFormat = options.attachmentFormat ?? (float32Blendable ? "rgba32float" : "rgba16float");
        if (this.attachmentFormat === "rgba32float" && !float32Blendable) {
            throw new SemanticSplatError(
                "GPU_LIMITS",
                'FeatureSplatPass: attachmentFormat "rgba32float" needs the WebGPU feature "float32-blendable"; create the engine with enableAllFeatures (when the adapter offers it) or use "rgba16float"'
            );
        }
        if (options.splatPrimitive !== undefined && options.splatPrimitive !== "triangle" && options.splatPrimitive !== "quad") {
            throw new SemanticSplatError("INVALID_ARGUMENT", `FeatureSplatPass: splatPrimitive must be "triangle" or "quad", got ${JSON.stringify(options.splatPrimitive)}`);
        }
        const canDrawTriangles = () => !!mesh.drawsSplatTriangles && useClipDistances(engine);
        this.splatPrimitive = options.splatPrimitive ?? (canDrawTriangles() ? "triangle" : "quad");
        if (options.splatPrimitive === "triangle" && !canDrawTriangles()) {
            throw new SemanticSplatError(
                "GPU_LIMITS",
                `FeatureSplatPass: splatPrimitive "triangle" needs ${mesh.drawsSplatTriangles ? 'the WebGPU feature "clip-distances"; create the engine with enableAllFeatures (when the adapter offers it)' : "a mesh that draws splat triangles (SemanticGaussianSplattingMesh)"}, or use "quad"`
            );
        }
        try {
            this.plans = planFeaturePasses(K, limits, this.attachmentFormat);
        } catch (e) {
            throw new SemanticSplatError("GPU_LIMITS", `FeatureSplatPass: ${(e as Error).message}`, undefined, { cause: e });
        }
        for (const plan of this.plans) this._passes.push(this._createPass(plan));
        this._afterRenderObserver = scene.onAfterRenderObservable.add(() => this._onAfterSceneRender());
        this._endFrameObserver = engine.onEndFrameObservable.add(() => this._onEndFrame());
    }

    get width(): number {
        return this._width;
    }
    get height(): number {
        return this._height;
    }
    /** The render targets, pass by pass (for debugging and for showing the textures directly). */
    get targets(): readonly MultiRenderTarget[] {
        return this._passes.map((p) => p.target);
    }

    /**
     * Resolves with the feature image of the next frame the app renders in which the mesh is sorted and the
     * shaders are compiled. Rejects with CANCELLED if the pass is disposed first, or with GPU_LIMITS /
     * INVALID_ARGUMENT if it cannot draw (no feature texture) for MAX_WAIT_FRAMES frames.
     */
    requestFrame(options: FrameRequestOptions = {}): Promise<FeatureFrame> {
        if (this._disposed) return Promise.reject(new SemanticSplatError("DISPOSED", "FeatureSplatPass.requestFrame: the pass was disposed"));
        const settledSort = options.settledSort ?? false;
        return new Promise((resolve, reject) => this._pending.push({ resolve, reject, framesWaited: 0, settledSort }));
    }

    /**
     * Draws every pass now, into the current frame (call between engine.beginFrame() and endFrame(), e.g. from
     * scene.onAfterRenderObservable). Returns true when every pass drew the mesh (false while shaders compile,
     * the first sort is pending or the feature texture is missing). The benchmark uses it to time the pass alone.
     */
    renderPasses(): boolean {
        if (this._disposed) return false;
        if (this.featureDimension > 0 && (!this.mesh.featureTexture || this.mesh.featureDimension !== this.featureDimension)) return false;
        if (!this.mesh.isReady(true)) return false;
        for (const pass of this._passes) {
            pass.draws = 0;
            pass.target.render(false);
        }
        return this._passes.every((p) => p.draws > 0);
    }

    /**
     * Reads the render targets back (after the frame that drew them was submitted) and unpacks them into planar
     * arrays on this thread. Prefer requestFrame(). The segmentation pipeline uses `readbackRawAsync()` instead and
     * unpacks in its worker.
     */
    async readbackAsync(): Promise<FeatureFrame> {
        return unpackFeatureFrame(await this.readbackRawAsync());
    }

    /**
     * Reads the render targets back without unpacking them: each attachment's RGBA texels as the GPU holds them
     * (rows bottom to top; fp16 bits for rgba16float), for `unpackFeatureFrame` here or in a worker (the arrays own
     * their buffers, so they can be transferred). All attachments are copied in one submission; the only
     * main-thread work is copying the mapped buffers out, timed in `copyMs`. `reuse`: ArrayBuffers to copy into
     * instead of allocating (those of an earlier raw frame, e.g. sent back by the worker); each one whose byteLength
     * is exactly one attachment's is taken from the array. Writing into memory already touched is several times
     * faster than into fresh memory (BENCHMARKS.md).
     */
    async readbackRawAsync(reuse: ArrayBuffer[] = []): Promise<RawFeatureFrame & { copyMs: number }> {
        const engine = this.scene.getEngine() as WebGPUEngine;
        const device = engine._device;
        const W = this._width;
        const H = this._height;
        const viewMatrix = this._viewMatrix.slice();
        const projectionMatrix = this._projectionMatrix.slice();
        engine.flushFramebuffer(); // draws still being recorded, when called before the frame was submitted
        const bytesPerRow = W * ATTACHMENT_FORMATS[this.attachmentFormat].bytes;
        const paddedBytesPerRow = Math.ceil(bytesPerRow / 256) * 256; // copyTextureToBuffer's row alignment
        const encoder = device.createCommandEncoder({ label: "featureSplat readback" });
        const buffers = this._passes.map((pass) =>
            pass.target.textures.map((tex) => {
                const texture = tex.getInternalTexture()!._hardwareTexture!.underlyingResource as GPUTexture;
                const buffer = device.createBuffer({ label: "featureSplat readback", size: paddedBytesPerRow * H, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
                encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow: paddedBytesPerRow }, { width: W, height: H });
                return buffer;
            })
        );
        device.queue.submit([encoder.finish()]);
        try {
            await Promise.all(buffers.flat().map((b) => b.mapAsync(GPUMapMode.READ)));
            const start = performance.now();
            const passes = buffers.map((attachmentBuffers, i) => ({
                plan: this.plans[i],
                attachments: attachmentBuffers.map((b) => {
                    const bytes = copyRows(b.getMappedRange(), bytesPerRow, paddedBytesPerRow, H, takeBuffer(reuse, bytesPerRow * H));
                    b.unmap();
                    return this.attachmentFormat === "rgba32float" ? new Float32Array(bytes) : new Uint16Array(bytes);
                }),
            }));
            const copyMs = performance.now() - start;
            return { width: W, height: H, featureDimension: this.featureDimension, attachmentFormat: this.attachmentFormat, passes, viewMatrix, projectionMatrix, copyMs };
        } finally {
            for (const b of buffers.flat()) b.destroy(); // also unmaps
        }
    }

    dispose(): void {
        if (this._disposed) return;
        this._disposed = true;
        this.scene.onAfterRenderObservable.remove(this._afterRenderObserver);
        this.scene.getEngine().onEndFrameObservable.remove(this._endFrameObserver);
        for (const pass of this._passes) {
            // The effects this pass compiled: the material's own, and the one the mesh's sub-meshes keep per render
            // pass id (dropped here, or it outlives the pass).
            const effects = new Set<Effect>();
            const materialEffect = pass.material.getEffect();
            if (materialEffect) effects.add(materialEffect);
            for (const subMesh of this.mesh.subMeshes ?? []) {
                for (const passId of pass.target.renderPassIds) {
                    const effect = subMesh._getDrawWrapper(passId)?.effect;
                    if (effect) effects.add(effect);
                    subMesh.resetDrawCache(passId, true);
                }
            }
            pass.target.dispose();
            pass.material.dispose(true);
            // Babylon 9.35's WebGPU engine releases an effect without disposing its pipeline context, whose
            // "leftOver" uniform buffer then stays alive: free it for every effect of ours that was released (an
            // effect another material still uses is not disposed and keeps its buffer).
            for (const effect of effects) if (effect.isDisposed) effect.getPipelineContext()?.dispose();
        }
        this._passes.length = 0;
        const pending = [...this._drawnFor.splice(0), ...this._pending.splice(0)];
        for (const p of pending) p.reject(new SemanticSplatError("CANCELLED", "FeatureSplatPass was disposed before the frame was read back"));
    }

    private _onAfterSceneRender(): void {
        this._renderedThisFrame = false;
        if (this._pending.length === 0) return;
        if (this.featureDimension > 0 && this.mesh.featureDimension !== this.featureDimension) {
            const message = `FeatureSplatPass: mesh "${this.mesh.name}" now has K=${this.mesh.featureDimension}, the pass was made for K=${this.featureDimension}: create a new pass`;
            for (const p of this._pending.splice(0)) p.reject(new SemanticSplatError("FEATURE_MISMATCH", message));
            return;
        }
        const camera = this.scene.activeCamera;
        const settled = !this._pending.some((p) => p.settledSort) || (camera !== null && isSortSettled(this.mesh, camera));
        const answerable = this._pending.filter((p) => !p.settledSort || settled);
        this._renderedThisFrame = answerable.length > 0 && this.renderPasses();
        if (this._renderedThisFrame) {
            this._drawnFor = answerable;
            this._pending = this._pending.filter((p) => !answerable.includes(p));
        }
        if (this._pending.length) {
            for (const p of this._pending) p.framesWaited++;
            const expired = this._pending.filter((p) => p.framesWaited >= MAX_WAIT_FRAMES);
            if (expired.length) {
                this._pending = this._pending.filter((p) => p.framesWaited < MAX_WAIT_FRAMES);
                const reason = this.featureDimension > 0 && !this.mesh.featureTexture
                    ? "the mesh has no feature texture"
                    : expired.every((p) => p.settledSort) && this.mesh.isReady(true)
                      ? "the splat order never settled for the camera's view (settledSort: is the camera or the mesh moving?)"
                      : "the mesh never became ready (sort or shader compilation)";
                for (const p of expired) p.reject(new SemanticSplatError("GPU_LIMITS", `FeatureSplatPass: no feature image after ${MAX_WAIT_FRAMES} frames: ${reason}`));
            }
        }
    }

    private _onEndFrame(): void {
        if (!this._renderedThisFrame) return;
        this._renderedThisFrame = false;
        const waiting = this._drawnFor.splice(0);
        this.readbackAsync().then(
            (frame) => waiting.forEach((p, i) => p.resolve(i === 0 ? frame : cloneFrame(frame))),
            (e) => waiting.forEach((p) => p.reject(e))
        );
    }

    private _createPass(plan: FeaturePassPlan): PassResources {
        const scene = this.scene;
        const count = plan.attachmentCount;
        const target = new MultiRenderTarget(
            `featureSplat_pass${plan.index}`,
            { width: this._width, height: this._height },
            count,
            scene,
            {
                types: new Array(count).fill(this.attachmentFormat === "rgba32float" ? Constants.TEXTURETYPE_FLOAT : Constants.TEXTURETYPE_HALF_FLOAT),
                formats: new Array(count).fill(Constants.TEXTUREFORMAT_RGBA),
                samplingModes: new Array(count).fill(Constants.TEXTURE_NEAREST_SAMPLINGMODE),
                generateMipMaps: false,
                generateDepthBuffer: false,
                generateStencilBuffer: false,
                // false: the target is drawn with a projection for its own aspect. With true, positions were
                // projected for the canvas's aspect while the recorded projection and the splats' focal were the
                // target's, so a 320x256 target of a 640x480 canvas came out horizontally misplaced.
                doNotChangeAspectRatio: false,
            }
        );
        target.clearColor = new Color4(0, 0, 0, 0);
        target.renderList = [this.mesh];
        target.renderParticles = false;
        target.renderSprites = false;
        target.skipInitialClear = false;

        const defines = [`#define CHANNEL_ATTACHMENTS ${plan.channelAttachments}`];
        if (plan.writesColor) defines.push("#define WRITE_COLOR");
        if (this.featureDimension > 0) defines.push("#define READ_FEATURES");
        if (this.splatPrimitive === "triangle") defines.push("#define SPLAT_TRIANGLES");
        if (this.mesh.useSog) defines.push("#define USE_SOG");
        if (this.mesh.useSog && this.mesh.sogParams?.version === 2) defines.push("#define USE_SOG_V2");
        const shaderName = registerPassShaders(plan, this.featureDimension);
        const material = new ShaderMaterial(
            `featureSplat_material${plan.index}`,
            scene,
            { vertex: shaderName, fragment: shaderName },
            {
                attributes: ["position", "splatIndex0", "splatIndex1", "splatIndex2", "splatIndex3"],
                uniforms: [
                    "world",
                    "view",
                    "projection",
                    "invViewport",
                    "dataTextureSize",
                    "focal",
                    "eyePosition",
                    "kernelSize",
                    "minPixelSize",
                    "alpha",
                    "depthSign",
                    "sogMeansMin",
                    "sogMeansMax",
                    "sogScalesMin",
                    "sogScalesMax",
                    "sogSh0Min",
                    "sogSh0Max",
                    "sogShnMin",
                    "sogShnMax",
                ],
                samplers: ["covariancesATexture", "covariancesBTexture", "centersTexture", "colorsTexture", "sogQuatsTexture", "sogCodebookTexture", "featureTexture"],
                uniformBuffers: ["Scene", "Mesh"],
                shaderLanguage: ShaderLanguage.WGSL,
                defines,
                needAlphaBlending: true,
            }
        );
        material.doNotSerialize = true;
        material.backFaceCulling = false;
        material.disableDepthWrite = true;
        material.depthFunction = Constants.ALWAYS;
        // Every attachment: rgb = src.rgb * src.a + dst.rgb * (1 - src.a), alpha = src.a + dst.a * (1 - src.a): exact
        // "over" for the shader's non-premultiplied (channels, a); the targets hold premultiplied composites. The blend
        // stage does the a * c product (bit-identical to premultiplying in the shader, one multiply less per channel).
        material.alphaMode = Constants.ALPHA_LAYER_ACCUMULATE;
        if (this.splatPrimitive === "triangle") markSplatTriangleMaterial(material);

        const pass: PassResources = { plan, target, material, draws: 0 };
        material.onBindObservable.add((boundMesh: AbstractMesh) => {
            const effect = material.getEffect();
            if (!effect) return;
            // `boundMesh` is the per-camera mesh that carries the sorted splatIndex buffer; its material is the
            // splat mesh's GaussianSplattingMaterial, whose BindEffect binds the splat textures and viewport/focal
            // uniforms exactly as for the colour pass (focal uses the bound target's size).
            this.mesh.getMeshUniformBuffer().bindToEffect(effect, "Mesh");
            material.bindView(effect);
            material.bindViewProjection(effect);
            GaussianSplattingMaterial.BindEffect(boundMesh as Mesh, effect, scene);
            effect.setFloat("depthSign", scene.useRightHandedSystem ? -1 : 1);
            if (this.featureDimension > 0 && this.mesh.featureTexture) effect.setTexture("featureTexture", this.mesh.featureTexture);
            if (plan.index === 0) {
                this._viewMatrix.set(scene.getViewMatrix().m);
                this._projectionMatrix.set(scene.getProjectionMatrix().m);
            }
            pass.draws++;
        });
        target.setMaterialForRendering(this.mesh, material);
        return pass;
    }
}

/** Removes and returns the first buffer of `pool` with exactly `byteLength` bytes (not detached), or null. */
function takeBuffer(pool: ArrayBuffer[], byteLength: number): ArrayBuffer | null {
    const i = pool.findIndex((b) => b.byteLength === byteLength);
    return i < 0 ? null : pool.splice(i, 1)[0];
}

/** The rows of a mapped readback buffer without copyTextureToBuffer's row padding, in `target` or a new buffer. */
function copyRows(mapped: ArrayBuffer, bytesPerRow: number, paddedBytesPerRow: number, rows: number, target: ArrayBuffer | null): ArrayBuffer {
    const out = new Uint8Array(target ?? new ArrayBuffer(bytesPerRow * rows));
    if (bytesPerRow === paddedBytesPerRow) out.set(new Uint8Array(mapped, 0, bytesPerRow * rows));
    else for (let y = 0; y < rows; y++) out.set(new Uint8Array(mapped, y * paddedBytesPerRow, bytesPerRow), y * bytesPerRow);
    return out.buffer;
}

function cloneFrame(f: FeatureFrame): FeatureFrame {
    return {
        ...f,
        rgb: f.rgb.slice(),
        alpha: f.alpha.slice(),
        depth: f.depth.slice(),
        features: f.features.slice(),
        viewMatrix: f.viewMatrix.slice(),
        projectionMatrix: f.projectionMatrix.slice(),
    };
}
