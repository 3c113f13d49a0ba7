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

/** CPU time from the frame's first command to the queue's onSubmittedWorkDone (on SwiftShader: the GPU work). */
export async function timed(engine: WebGPUEngine, work: () => void): Promise<number> {
    const start = performance.now();
    engine.beginFrame();
    work();
    engine.endFrame();
    await engine._device.queue.onSubmittedWorkDone();
    return performance.now() - start;
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
    const engine = new WebGPUEngine(canvas, { antialias: false, adaptToDeviceRatio: false, setMaximumLimits: options.raisedLimits, enableAllFeatures: options.raisedLimits });
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
