// The Gaussian encoder's onnxruntime-node session as the encode command runs it (bin/encode.mjs in its own thread,
// bin/encodeWorker.mjs in each worker thread): { run(feeds) -> { data, dims }, close() }.
/**
 * One onnxruntime-node session of the encoder with its CPU arena on and its memory
 * pattern off. Within a call the arena hands freed buffers to later operators (without it every operator's output
 * was fresh memory from the kernel: page faults and zeroing, a third of the CPU time at 3 M Gaussians). The arena
 * keeps what it grew to, and a larger call would grow it further, so a call larger than every earlier call of the
 * session gets a new session (its arena starts empty; creating one takes a few tens of ms); a call no larger reuses
 * the arena's pages. The peak is one call's, which the memory model the tiles are planned with counts
 * (NODE_MEMORY_MODEL). BENCHMARKS.md, "Large scenes in Node".
 */
export async function openEncoderSession(ort, modelBytes, sessionOptions, modelPath) {
    const createSession = async () => {
        try {
            return await ort.InferenceSession.create(new Uint8Array(modelBytes), sessionOptions);
        } catch (e) {
            throw Object.assign(new Error(`${modelPath}: onnxruntime-node could not load the model: ${e.message}`), { code: "MODEL_INVALID" });
        }
    };
    let session = await createSession();
    let largestCall = 0;
    return {
        async run(feeds) {
            const ortFeeds = {};
            for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
            const callGaussians = feeds.gaussian_voxel.dims[0];
            if (largestCall > 0 && callGaussians > largestCall) {
                // the previous call's outputs have been consumed: its arena goes, this call starts empty
                await session.release();
                session = null;
                session = await createSession();
                largestCall = 0;
            }
            largestCall = Math.max(largestCall, callGaussians);
            const outputs = await session.run(ortFeeds, ["features"]);
            return { data: outputs.features.data, dims: outputs.features.dims };
        },
        async close() {
            await session?.release();
            session = null;
        },
    };
}
