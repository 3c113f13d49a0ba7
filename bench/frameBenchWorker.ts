// Worker of bench/frameBenchPage.ts: keeps the splat rows it is given and times the scene-frame estimate on request.
import { estimateSceneFrameFromSplatRows } from "../src/frame/estimateSceneFrame";
import { describeSceneFrame } from "../src/frame/sceneFrame";

let rows: ArrayBuffer | null = null;
let worldMatrix: number[] = [];

self.onmessage = (e: MessageEvent) => {
    if (e.data.rows) {
        rows = e.data.rows as ArrayBuffer;
        worldMatrix = e.data.worldMatrix as number[];
        self.postMessage({ ms: 0, description: "", gaussians: rows.byteLength / 32 });
        return;
    }
    const start = performance.now();
    const frame = estimateSceneFrameFromSplatRows(rows!, { worldMatrix });
    const ms = performance.now() - start;
    self.postMessage({ ms, description: describeSceneFrame(frame), gaussians: rows!.byteLength / 32 });
};
