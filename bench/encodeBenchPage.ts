// The page of `node scripts/encode-bench.mjs`: loads a scene with Babylon (any format its loader reads, SOG
// included) and times encodeScene in the inference worker (onnxruntime-web, wasm EP): the whole call from the main
// thread (copy of the splat rows, transfer, channels, serialization, model, result back) and the worker's stages.
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { SemanticGaussianSplattingMesh } from "../src/mesh/semanticGaussianSplattingMesh";
import { InferenceClient } from "../src/inference/InferenceClient";

export interface EncodeBenchRequest {
    sceneUrl: string;
    modelUrl: string;
    workerUrl: string;
    wasmUrl: string;
    runs: number;
}

export interface EncodeBenchRun {
    totalMs: number;
    channelsMs: number;
    serializeMs: number;
    inferenceMs: number;
    outputMs: number;
}

async function runBench(request: EncodeBenchRequest): Promise<{ gaussians: number; k: number; threads: number; runs: EncodeBenchRun[] }> {
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 64;
    const engine = new WebGPUEngine(canvas);
    await engine.initAsync();
    const scene = new Scene(engine);
    new FreeCamera("camera", new Vector3(0, 0, -3), scene);
    const client = new InferenceClient({ workerUrl: request.workerUrl, wasmUrl: request.wasmUrl, callTimeoutMs: 0 });
    try {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(request.sceneUrl, scene);
        const info = await client.init();
        await client.loadModel({ kind: "encoder", source: request.modelUrl, executionProvider: "wasm" });
        const rows = new Uint8Array(mesh.splatsData as ArrayBuffer);
        const worldMatrix = Array.from(mesh.computeWorldMatrix(true).m);
        const runs: EncodeBenchRun[] = [];
        let k = 0;
        for (let i = 0; i < request.runs; i++) {
            const start = performance.now();
            const copy = rows.slice(); // what encodeMeshFeatures does: the mesh keeps its rows
            const result = await client.encodeScene({ splats: copy, worldMatrix, outputPrecision: "float16" });
            const totalMs = performance.now() - start;
            k = result.k;
            runs.push({ totalMs, ...result.timings });
        }
        return { gaussians: mesh.gaussianCount, k, threads: info.numThreads, runs };
    } finally {
        client.dispose();
        scene.dispose();
        engine.dispose();
    }
}

(globalThis as unknown as { runBench: typeof runBench; pageReady: boolean }).runBench = runBench;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;

/** The scene's splat rows (base64) and world matrix, so Node encodes exactly what the browser did. */
async function exportRows(sceneUrl: string): Promise<{ rows: string; worldMatrix: number[] }> {
    const canvas = document.createElement("canvas");
    const engine = new WebGPUEngine(canvas);
    await engine.initAsync();
    const scene = new Scene(engine);
    new FreeCamera("camera", new Vector3(0, 0, -3), scene);
    try {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(sceneUrl, scene);
        const bytes = new Uint8Array(mesh.splatsData as ArrayBuffer);
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { rows: btoa(binary), worldMatrix: Array.from(mesh.computeWorldMatrix(true).m) };
    } finally {
        scene.dispose();
        engine.dispose();
    }
}
(globalThis as unknown as { exportRows: typeof exportRows }).exportRows = exportRows;
