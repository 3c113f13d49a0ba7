// A worker thread of the encode command (bin/encode.mjs, readPlyRowsInChunks): Babylon's own PLY conversion
// (SPLATFileLoader._ConvertPLYToSplat) of one chunk of a large PLY at a time, so that the main thread reads and
// checks the next chunks meanwhile.
// Messages in: { id, bytes } (a chunk PLY's ArrayBuffer, transferred). Out: { id, rows, mode, chirality } (the
// 32-byte rows' ArrayBuffer transferred) or { id, error }.
import { parentPort } from "node:worker_threads";

const loader = import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");

parentPort.on("message", async ({ id, bytes }) => {
    try {
        const { SPLATFileLoader } = await loader;
        const parsed = await SPLATFileLoader._ConvertPLYToSplat(bytes);
        const rows = parsed.data;
        parentPort.postMessage({ id, rows, mode: parsed.mode, chirality: parsed.chirality }, rows instanceof ArrayBuffer ? [rows] : []);
    } catch (e) {
        parentPort.postMessage({ id, error: e?.message ?? String(e) });
    }
});
