// A worker thread of the encode command (bin/encode.mjs, "--concurrent-calls"): one onnxruntime-node session of the
// Gaussian encoder, running one model call at a time for the main thread, which prepares the next tile meanwhile.
// Messages in: { id, feeds } (feeds: name -> { type, data, dims }, the buffers transferred). Out: { id, data, dims }
// (the features' buffer transferred) or { id, error, code }. { id, feeds: null } only opens the session (the
// command does that first, so a model onnxruntime cannot load is refused before any tile is prepared);
// { id, feeds: "close" } releases it (the command then stops the thread).
//
// The session runs with onnxruntime's CPU arena and without its memory pattern, as the command's own did: a call
// larger than any earlier one of this session gets a new session (an empty arena), so the arena never holds more
// than one call of the largest size (docs/ENCODER.md, "The encode command").
import { parentPort, workerData } from "node:worker_threads";

const ort = await import("onnxruntime-node");
const { modelBytes, sessionOptions } = workerData;
let session = null;
let largestCall = 0;

async function openSession() {
    try {
        session = await ort.InferenceSession.create(modelBytes, sessionOptions);
    } catch (e) {
        throw Object.assign(new Error(`onnxruntime-node could not load the model: ${e.message}`), { code: "MODEL_INVALID" });
    }
    largestCall = 0;
}

async function run(feeds) {
    const callGaussians = feeds.gaussian_voxel.dims[0];
    if (session && largestCall > 0 && callGaussians > largestCall) {
        await session.release();
        session = null;
    }
    if (!session) await openSession();
    largestCall = Math.max(largestCall, callGaussians);
    const ortFeeds = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const outputs = await session.run(ortFeeds, ["features"]);
    let data = outputs.features.data;
    // a view on a larger buffer cannot be handed over whole: copy it
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
    return { data, dims: outputs.features.dims };
}

parentPort.on("message", async ({ id, feeds }) => {
    try {
        if (feeds === null) {
            if (!session) await openSession();
            parentPort.postMessage({ id });
            return;
        }
        if (feeds === "close") {
            await session?.release();
            session = null;
            parentPort.postMessage({ id });
            return;
        }
        const { data, dims } = await run(feeds);
        parentPort.postMessage({ id, data, dims: [...dims] }, [data.buffer]);
    } catch (e) {
        parentPort.postMessage({ id, error: e?.message ?? String(e), code: e?.code });
    }
});
