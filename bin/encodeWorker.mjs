// A worker thread of the encode command (bin/encode.mjs, "--concurrent-calls"): one onnxruntime-node session of the
// Gaussian encoder (openEncoderSession: the command's own arena rule), running one model call at a time for the main
// thread, which prepares the next tile meanwhile.
// Messages in: { id, feeds } (feeds: name -> { type, data, dims }, the buffers transferred). Out: { id, data, dims }
// (the features' buffer transferred) or { id, error, code }. { id, feeds: null } only opens the session (the
// command does that first, so a model onnxruntime cannot load is refused before any tile is prepared);
// { id, feeds: "close" } releases it (the command then stops the thread).
import { parentPort, workerData } from "node:worker_threads";
import { openEncoderSession } from "./encoderSession.mjs";

const ort = await import("onnxruntime-node");
const { modelBytes, sessionOptions, modelPath } = workerData;
let model = null;

parentPort.on("message", async ({ id, feeds }) => {
    try {
        if (feeds === "close") {
            await model?.close();
            model = null;
            parentPort.postMessage({ id });
            return;
        }
        model ??= await openEncoderSession(ort, modelBytes, sessionOptions, modelPath);
        if (feeds === null) {
            parentPort.postMessage({ id });
            return;
        }
        let { data, dims } = await model.run(feeds);
        // a view on a larger buffer cannot be handed over whole: copy it
        if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
        parentPort.postMessage({ id, data, dims: [...dims] }, [data.buffer]);
    } catch (e) {
        parentPort.postMessage({ id, error: e?.message ?? String(e), code: e?.code });
    }
});
