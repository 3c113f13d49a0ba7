// Shared browser-test support: a WebGPU engine on a real canvas that records every uncaptured
// WebGPU validation error, and frame stepping that waits for the GPU (the rAF loop is not
// throttled by SwiftShader and would build a backlog, see ../shared/ENVIRONMENT.md).
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import type { Scene } from "@babylonjs/core/scene";

export interface TestEngine {
    engine: WebGPUEngine;
    canvas: HTMLCanvasElement;
    /** Messages of every uncaptured WebGPU error seen since creation. */
    errors: string[];
    dispose(): void;
}

export interface TestEngineOptions {
    width?: number;
    height?: number;
    /** Ask the device for the adapter's maximum limits and all its features (default: WebGPU defaults). */
    raisedLimits?: boolean;
}

export async function createTestEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
    const canvas = document.createElement("canvas");
    canvas.width = options.width ?? 320;
    canvas.height = options.height ?? 240;
    canvas.style.width = `${canvas.width}px`;
    canvas.style.height = `${canvas.height}px`;
    document.body.appendChild(canvas);
    const engine = new WebGPUEngine(canvas, {
        antialias: false,
        adaptToDeviceRatio: false,
        setMaximumLimits: !!options.raisedLimits,
        enableAllFeatures: !!options.raisedLimits,
    });
    await engine.initAsync();
    const errors: string[] = [];
    engine._device.addEventListener("uncapturederror", (event) => {
        errors.push((event as GPUUncapturedErrorEvent).error.message);
    });
    return {
        engine,
        canvas,
        errors,
        dispose() {
            engine.dispose();
            canvas.remove();
        },
    };
}

/** Renders `count` frames, waiting for the GPU to finish each one. */
export async function stepFrames(scene: Scene, count = 1): Promise<void> {
    const engine = scene.getEngine() as WebGPUEngine;
    for (let i = 0; i < count; i++) {
        engine.beginFrame();
        scene.render();
        engine.endFrame();
        await engine._device.queue.onSubmittedWorkDone();
    }
}

/**
 * Renders one frame and reads the canvas back (RGBA8, rows top to bottom as WebGPU stores them).
 * The read is recorded inside the frame: after endFrame the swap-chain texture is gone.
 */
export async function renderAndReadCanvas(scene: Scene): Promise<Uint8Array> {
    const engine = scene.getEngine() as WebGPUEngine;
    engine.beginFrame();
    scene.render();
    const pixels = engine.readPixels(0, 0, engine.getRenderWidth(), engine.getRenderHeight());
    engine.endFrame();
    const result = new Uint8Array((await pixels).buffer);
    await engine._device.queue.onSubmittedWorkDone();
    return result;
}

/** Fails the current spec if the engine saw any uncaptured WebGPU error. */
export function expectNoWebGPUErrors(t: TestEngine): void {
    expect(t.errors).withContext("uncaptured WebGPU errors").toEqual([]);
}
