// The worker side of encodeScene: runs the shared encode stages (src/encoder/encodeScene.ts) on the worker's
// "encoder" session, one job at a time, with progress through a comlink callback and cancellation by job id.
// Kept apart from worker.ts, which only wires these two functions into its API.
import type * as ort from "onnxruntime-web/webgpu";
import { SemanticSplatError } from "../errors";
import { encodeChannels, ENCODE_CANCELLED_MESSAGE, sceneChannels, type SceneChannels } from "../encoder/encodeScene";
import { resolveTilingOptions } from "../encoder/tiling";
import { encoderInfoFromMetadata } from "../encoder/inputs";
import { FeatureSpillWriter, featureSpillSupported } from "../encoder/featureSpill";
import { releaseBuffers } from "../util/releaseBuffers";
import type { EncodeJobResult, EncodeProgressCallback, EncodeSceneRequest, ModelInfo } from "./protocol";

/** What encodeJob needs from the worker: the encoder session and its info, and the tensor class. */
export interface EncoderSessionAccess {
    model: { session: ort.InferenceSession; info: ModelInfo } | undefined;
    Tensor: typeof ort.Tensor;
    /** The worker's debug fault/delay hook, run just before the model (so specs can make an encode slow). */
    beforeRun: () => Promise<void>;
}

const cancelled = new Set<number>();
/** The job in progress (or resolved): a new job starts after it, since one session runs one call at a time. */
let queue: Promise<unknown> = Promise.resolve();

/** Marks `jobId` cancelled; the job stops at its next stage boundary. */
export function cancelEncodeJob(jobId: number): void {
    cancelled.add(jobId);
}

/** Encodes one scene. Rejects with CANCELLED when cancelled, MODEL_NOT_FOUND without an encoder model. */
export function runEncodeJob(request: EncodeSceneRequest, access: () => EncoderSessionAccess, onProgress?: EncodeProgressCallback): Promise<EncodeJobResult> {
    const job = queue.then(() => encodeOnce(request, access(), onProgress));
    queue = job.catch(() => undefined);
    return job.finally(() => cancelled.delete(request.jobId));
}

async function encodeOnce(request: EncodeSceneRequest, access: EncoderSessionAccess, onProgress?: EncodeProgressCallback): Promise<EncodeJobResult> {
    const checkCancelled = () => {
        if (cancelled.has(request.jobId)) throw new SemanticSplatError("CANCELLED", ENCODE_CANCELLED_MESSAGE);
    };
    checkCancelled();
    const model = access.model;
    if (!model) throw new SemanticSplatError("MODEL_NOT_FOUND", "encodeScene(): no encoder model is loaded (call loadModel({ kind: \"encoder\" }) first)");
    const info = encoderInfoFromMetadata(model.info.metadata, model.info.name);
    if (!request || !(request.splats instanceof ArrayBuffer || ArrayBuffer.isView(request.splats))) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "encodeScene(): splats must be an ArrayBuffer or a typed array of 32-byte splat rows");
    }
    // comlink delivers each progress call on the callback's own port: awaiting the last one before answering keeps
    // every progress event ahead of the result on the main thread.
    let lastProgress: unknown = undefined;
    const hooks = {
        checkCancelled,
        onProgress: onProgress ? (p: Parameters<EncodeProgressCallback>[0]) => void (lastProgress = onProgress(p)) : undefined,
    };
    // encodeSplatRows's stages, with the splat rows let go once they are converted (as the Node command does): the
    // worker then holds the 10 input channels only, not the 32-byte rows as well (192 MB at 6 M Gaussians).
    resolveTilingOptions(request); // bad tiling options fail before the conversion (outputPrecision: encodeChannels)
    hooks.checkCancelled();
    hooks.onProgress?.({ stage: "channels", fraction: 0 });
    const input = takeChannels(request);
    // a tiled fp16 encode may spill its features (featureSpill.ts): the worker then holds no (N x K) array
    const spill = request.spillFeatures && request.outputPrecision === "float16" && featureSpillSupported() ? await openSpill(input.count, info.k) : null;
    let encoded;
    try {
        encoded = await encodeChannels(
            input.channels,
            input.count,
            info,
            async (feeds) => {
                const ortFeeds: Record<string, ort.Tensor> = {};
                for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new access.Tensor(t.type, t.data, t.dims);
                await access.beforeRun();
                const outputs = await model.session.run(ortFeeds, ["features"]);
                const tensor = outputs.features;
                // onnxruntime-web copies a CPU output out of its heap into an array of its own (wasm-core-impl.ts), which
                // dispose() lets go of without touching: no second copy (19 MB a tile of garbage at 300k Gaussians)
                const data = (await tensor.getData()) as Float32Array;
                const dims = [...tensor.dims];
                for (const t of Object.values(outputs)) t.dispose();
                return { data, dims };
            },
            request,
            { ...hooks, storeTileFeatures: spill ? (gaussians, features) => spill.write(gaussians, features as Uint16Array) : undefined }
        );
    } catch (e) {
        await spill?.discard();
        throw e;
    } finally {
        releaseBuffers(input.channels); // ours (made from the rows): freed now, before the page reads the features
    }
    const rest = { ...encoded, frame: input.frame, timings: { ...encoded.timings, frameMs: input.frameMs, channelsMs: input.channelsMs } };
    let result: EncodeJobResult;
    if (encoded.features) {
        await spill?.discard(); // encoded whole: the features came back in memory
        result = { ...rest, features: encoded.features, spill: null };
    } else {
        try {
            result = { ...rest, features: null, spill: spill!.finish() };
        } catch (e) {
            await spill!.discard();
            throw e;
        }
    }
    await lastProgress;
    return result;
}

/** A spill file, or null (the features then stay in memory) where the storage refuses one: no quota left, OPFS
 *  unavailable in this context (a private window). */
async function openSpill(count: number, k: number): Promise<FeatureSpillWriter | null> {
    try {
        return await FeatureSpillWriter.open(count, k);
    } catch {
        return null;
    }
}

/** The request's splat rows as encoder channels (sceneChannels); the request lets go of the rows (a function of its own,
 *  so that no frame of the encode keeps them alive). */
function takeChannels(request: EncodeSceneRequest): SceneChannels {
    const rows = request.splats;
    (request as { splats: EncodeSceneRequest["splats"] | null }).splats = null;
    try {
        return sceneChannels(rows, request);
    } finally {
        releaseBuffers(rows); // transferred here for this job: 192 MB at 6 M Gaussians, freed now rather than at a GC
    }
}
