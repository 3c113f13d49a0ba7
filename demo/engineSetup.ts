// The engine: WebGPU when the browser has it (everything works), else WebGL2 (the splats still render and the
// cameras and file loading work; the feature view, segmentation and picking need WebGPU: they are WGSL passes).
import { Engine } from "@babylonjs/core/Engines/engine";
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";

export interface EngineChoice {
    engine: AbstractEngine;
    webgpu: boolean;
    /** Why WebGPU is not used (null when it is). */
    noWebGPUReason: string | null;
}

/** `forceWebGL` (URL `?webgl`) takes the fallback path on purpose, so that it can be tested where WebGPU exists. */
export async function createEngine(canvas: HTMLCanvasElement, forceWebGL: boolean): Promise<EngineChoice> {
    let reason: string | null = forceWebGL ? "WebGL2 was requested with ?webgl" : null;
    if (!reason) {
        if (!("gpu" in navigator) || !navigator.gpu) reason = "this browser has no WebGPU (navigator.gpu is missing; it needs a secure origin such as http://localhost)";
        else {
            const adapter = await navigator.gpu.requestAdapter().catch(() => null);
            if (!adapter) reason = "the browser offers WebGPU but gave no GPU adapter";
        }
    }
    if (!reason) {
        try {
            // Raised limits: K = 16 fits one feature pass; all features: float32-blendable (full-precision feature
            // targets) and clip-distances (the feature pass's cheaper triangle primitive, src/rendering/README.md).
            const engine = new WebGPUEngine(canvas, { antialias: false, setMaximumLimits: true, enableAllFeatures: true, adaptToDeviceRatio: false });
            await engine.initAsync();
            return { engine, webgpu: true, noWebGPUReason: null };
        } catch (e) {
            reason = `WebGPU failed to start: ${e instanceof Error ? e.message : String(e)}`;
        }
    }
    const engine = new Engine(canvas, false, { preserveDrawingBuffer: true, stencil: false }, false);
    return { engine, webgpu: false, noWebGPUReason: reason };
}
