// What the feature-pass bench pages share: one stepped, awaited frame (`timed`) and the page set-up (a WebGPU
// engine on a fresh canvas, a scene loaded into a SemanticGaussianSplattingMesh, a camera, the first depth sort
// waited for and two warm-up frames).
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticGaussianSplattingMesh } from "../src/mesh/semanticGaussianSplattingMesh";

export interface BenchCameraPose {
    position: number[];
    target: number[];
    fov?: number;
}

export interface BenchScene {
    canvas: HTMLCanvasElement;
    engine: WebGPUEngine;
    scene: Scene;
    mesh: SemanticGaussianSplattingMesh;
    camera: FreeCamera;
    /** Uncaptured WebGPU errors, as they arrive. */
    errors: string[];
}

/** One stepped frame's times: CPU wall time to onSubmittedWorkDone, and GPU time when the device has timestamps. */
export interface FrameTime {
    /** From the frame's first command to the queue's onSubmittedWorkDone (on SwiftShader: mostly the GPU work). */
    wallMs: number;
    /** Between timestamps written before the frame's first and after its last render pass; null without "timestamp-query". */
    gpuMs: number | null;
}

/**
 * GPU time of a frame from WebGPU timestamp queries: an empty compute pass writes a timestamp at the start of the
 * frame's render encoder and another after its last pass, both resolved into a buffer read once the frame is done.
 * Texture uploads (Babylon's separate upload encoder) are outside the window; a steady-state bench frame has none.
 */
export class GpuFrameTimer {
    private readonly _querySet: GPUQuerySet;
    private readonly _resolve: GPUBuffer;
    private readonly _read: GPUBuffer;

    /** Null when the engine's device was created without the "timestamp-query" feature. */
    static Create(engine: WebGPUEngine): GpuFrameTimer | null {
        return engine._device.features.has("timestamp-query") ? new GpuFrameTimer(engine._device) : null;
    }

    private constructor(device: GPUDevice) {
        this._querySet = device.createQuerySet({ type: "timestamp", count: 2, label: "bench frame timestamps" });
        this._resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
        this._read = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    }

    /** Right after engine.beginFrame(). */
    begin(engine: WebGPUEngine): void {
        engine._renderEncoder.beginComputePass({ timestampWrites: { querySet: this._querySet, beginningOfPassWriteIndex: 0 } }).end();
    }

    /** Right before engine.endFrame(): closes Babylon's open render pass first, so the timestamp comes after it. */
    end(engine: WebGPUEngine): void {
        engine._endCurrentRenderPass();
        const encoder = engine._renderEncoder;
        encoder.beginComputePass({ timestampWrites: { querySet: this._querySet, endOfPassWriteIndex: 1 } }).end();
        encoder.resolveQuerySet(this._querySet, 0, 2, this._resolve, 0);
        encoder.copyBufferToBuffer(this._resolve, 0, this._read, 0, 16);
    }

    /** After the frame was submitted: its GPU time in ms. */
    async readMs(): Promise<number> {
        await this._read.mapAsync(GPUMapMode.READ);
        const [start, end] = new BigUint64Array(this._read.getMappedRange().slice(0));
        this._read.unmap();
        return Number(end - start) / 1e6;
    }

    dispose(): void {
        this._querySet.destroy();
        this._resolve.destroy();
        this._read.destroy();
    }
}

/** Steps one frame around `work` and times it (GPU time too when `gpuTimer` is given). */
export async function timeFrame(engine: WebGPUEngine, work: () => void, gpuTimer: GpuFrameTimer | null = null): Promise<FrameTime> {
    const start = performance.now();
    engine.beginFrame();
    gpuTimer?.begin(engine);
    work();
    gpuTimer?.end(engine);
    engine.endFrame();
    await engine._device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - start;
    return { wallMs, gpuMs: gpuTimer ? await gpuTimer.readMs() : null };
}

/** CPU time from the frame's first command to the queue's onSubmittedWorkDone (on SwiftShader: the GPU work). */
export async function timed(engine: WebGPUEngine, work: () => void): Promise<number> {
    return (await timeFrame(engine, work)).wallMs;
}

/**
 * Opens the bench scene. Without `camera`, `frame(mesh, camera)` places the camera; it runs after the load and
 * before the first frame. Resolves once the first sort is back and two frames have warmed the pipelines up.
 */
export async function openBenchScene(options: {
    width: number;
    height: number;
    sceneUrl: string;
    raisedLimits: boolean;
    cameraName: string;
    camera?: BenchCameraPose;
    frame?: (mesh: SemanticGaussianSplattingMesh, camera: FreeCamera) => void;
}): Promise<BenchScene> {
    const canvas = document.createElement("canvas");
    canvas.width = options.width;
    canvas.height = options.height;
    document.body.appendChild(canvas);
    // Default limits and features, except "timestamp-query" (GPU times; it changes nothing in rendering): Babylon
    // asks for it only where the adapter offers it. Raised: every limit and feature the adapter offers.
    const engine = new WebGPUEngine(canvas, {
        antialias: false,
        adaptToDeviceRatio: false,
        setMaximumLimits: options.raisedLimits,
        enableAllFeatures: options.raisedLimits,
        deviceDescriptor: options.raisedLimits ? undefined : { requiredFeatures: ["timestamp-query"] },
    });
    await engine.initAsync();
    const errors: string[] = [];
    engine._device.addEventListener("uncapturederror", (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
    const scene = new Scene(engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const mesh = await SemanticGaussianSplattingMesh.LoadAsync(options.sceneUrl, scene);
    const camera = new FreeCamera(options.cameraName, Vector3.Zero(), scene);
    camera.minZ = 0.05;
    if (options.camera) {
        camera.position = Vector3.FromArray(options.camera.position);
        camera.setTarget(Vector3.FromArray(options.camera.target));
        if (options.camera.fov) camera.fov = options.camera.fov;
    } else {
        options.frame?.(mesh, camera);
    }
    // Babylon draws a splat mesh only once its first depth sort is back; then warm up.
    for (let i = 0; i < 600 && !mesh.isReady(true); i++) {
        await timed(engine, () => scene.render());
        await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 2; i++) await timed(engine, () => scene.render());
    return { canvas, engine, scene, mesh, camera, errors };
}
