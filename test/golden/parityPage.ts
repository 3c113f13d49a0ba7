// Browser entry of scripts/make-parity-golden.mjs: exposes runParity() on the page.
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { renderParity } from "./parityRender";

function toBase64(view: ArrayBufferView): string {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
}

const page = globalThis as unknown as { runParity: (sceneUrl: string, classCount: number) => Promise<unknown>; pageReady: boolean };
page.runParity = async (sceneUrl: string, classCount: number) => {
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 480;
    document.body.appendChild(canvas);
    const engine = new WebGPUEngine(canvas, { antialias: false, adaptToDeviceRatio: false });
    await engine.initAsync();
    const errors: string[] = [];
    engine._device.addEventListener("uncapturederror", (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
    const r = await renderParity(engine, sceneUrl, classCount);
    await engine._device.queue.onSubmittedWorkDone();
    engine.dispose();
    if (errors.length) throw new Error(`uncaptured WebGPU errors: ${errors.join("; ")}`);
    return {
        camera: r.camera,
        K: r.K,
        classCount: r.classCount,
        labelAlphaThreshold: r.labelAlphaThreshold,
        rgb: toBase64(r.rgb),
        alpha: toBase64(r.alpha),
        depth: toBase64(r.depth),
        features: toBase64(r.features),
        labels: toBase64(r.labels),
    };
};
page.pageReady = true;
