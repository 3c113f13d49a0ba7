// The page of `node scripts/frame-bench.mjs`: builds the same ~1 M splat rows as the Node side (the showcase room's
// rows, repeated) and times estimateSceneFrameFromSplatRows in a dedicated Web Worker (bench/frameBenchWorker.ts),
// which is where the runtime runs it (the inference worker, inside encodeScene).
import { SPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { repeatRows } from "./frameBenchRows";

interface FrameBenchRequest {
    sceneUrl: string;
    workerUrl: string;
    copies: number;
    runs: number;
}

async function runFrameBench(request: FrameBenchRequest): Promise<{ gaussians: number; runs: number[]; description: string }> {
    const bytes = await (await fetch(request.sceneUrl)).arrayBuffer();
    const parsed = await (SPLATFileLoader as unknown as { _ConvertPLYToSplat(b: ArrayBuffer): Promise<{ data: ArrayBuffer; chirality?: string }> })._ConvertPLYToSplat(bytes);
    const flipY = parsed.chirality === "RightHanded" ? 1 : -1;
    const worldMatrix = [1, 0, 0, 0, 0, flipY, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const rows = repeatRows(new Uint8Array(parsed.data), request.copies);
    const worker = new Worker(request.workerUrl, { type: "module" });
    const ask = (message: unknown, transfer: Transferable[] = []) =>
        new Promise<{ ms: number; description: string; gaussians: number }>((resolve, reject) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.onerror = (e) => reject(new Error(e.message));
            worker.postMessage(message, transfer);
        });
    await ask({ rows: rows.buffer, worldMatrix }, [rows.buffer]);
    const runs: number[] = [];
    let description = "";
    let gaussians = 0;
    for (let i = 0; i < request.runs; i++) {
        const r = await ask({ run: true });
        runs.push(r.ms);
        description = r.description;
        gaussians = r.gaussians;
    }
    worker.terminate();
    return { gaussians, runs, description };
}

(globalThis as unknown as { runFrameBench: typeof runFrameBench; pageReady: boolean }).runFrameBench = runFrameBench;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
