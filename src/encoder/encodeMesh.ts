// Main-thread side of encoding a loaded mesh: reads Babylon's splat rows and world matrix from the mesh, encodes
// in the inference worker (the main thread only copies the rows), and gives the mesh its features.
// SemanticGaussianSplattingMesh calls this itself after loading a file without features (`autoEncode`).
import { SemanticSplatError } from "../errors";
import { InferenceClient, type InferenceClientOptions } from "../inference/InferenceClient";
import type { ExecutionProviderChoice } from "../worker/protocol";
import type { EncodeProgress, EncodeSceneResult } from "./encodeScene";
import { noneFrame, type SceneFrame, type SceneFrameChoice } from "../frame/sceneFrame";
import type { TilingOptions } from "./tiling";
import { FeatureCache } from "../cache/featureCache";
import { decodeSemcache, encodeSemcache, featureCacheKey } from "../cache/semcache";
import { sha256Hex } from "../worker/modelSource";
import { readFeatureSpill, removeFeatureSpill } from "./featureSpill";

/** The Gaussian encoder a mesh uses (SemanticGaussianSplattingMesh option `encoder`). */
export interface MeshEncoderOptions extends SceneFrameChoice, TilingOptions {
    /** URL of the encoder ONNX model (e.g. models/gaussian-encoder-k16.onnx). */
    modelUrl: string;
    /** A client whose worker runs the encode; when it has no encoder model yet, `modelUrl` is loaded into it.
     *  Default: a client made for this encode and disposed after it. */
    client?: InferenceClient;
    /** Options of the client made when `client` is not given (worker URL, wasm URL, threads). */
    clientOptions?: InferenceClientOptions;
    /** Checked like loadModel's options: the model's SHA-256 directly or through a models manifest. */
    sha256?: string;
    manifestUrl?: string;
    /** Largest encoder model accepted, in bytes (default 512 MiB; docs/FORMATS.md, "Budgets"). */
    maxModelBytes?: number;
    /** Default "wasm": the encode runs once per scene and the wasm EP is the one measured (BENCHMARKS.md). */
    executionProvider?: ExecutionProviderChoice;
    // The scene frame (SceneFrameChoice, docs/FRAME.md): `frame: "auto"` by default (estimated in the worker);
    // explicit rotation / upAxis / metresPerUnit / floorHeight always win; `frame: "none"` keeps +Y up, metres.
    /** Stage and fraction of the encode. */
    onProgress?: (progress: EncodeProgress) => void;
    /** The feature cache (docs/ENCODER.md, "Feature cache"): features found under the scene's key are used without
     *  encoding, computed ones are stored. Default: one shared FeatureCache per page (OPFS, else IndexedDB, 1 GiB);
     *  `false` turns it off. A cache that fails (no storage, quota) never fails the encode. */
    cache?: FeatureCache | false;
}

/** The result of encodeMeshFeatures: the encode's, and where the features came from. */
export interface MeshEncodeResult extends EncodeSceneResult {
    /** "hit": from the feature cache (no encode ran); "miss": encoded and stored; "off": no cache; "error": the cache
     *  failed (the features were encoded). */
    cache: "hit" | "miss" | "off" | "error";
}

let sharedCache: FeatureCache | null | undefined;

/** The page's shared feature cache, or null where the environment has no storage for it. */
export function defaultFeatureCache(): FeatureCache | null {
    if (sharedCache === undefined) {
        try {
            sharedCache = new FeatureCache();
        } catch {
            sharedCache = null;
        }
    }
    return sharedCache;
}

async function modelSha256(options: MeshEncoderOptions): Promise<string> {
    if (options.sha256) return options.sha256.toLowerCase();
    const response = await fetch(options.modelUrl);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return sha256Hex(await response.arrayBuffer());
}

/** What encodeMeshFeatures needs from a mesh (a SemanticGaussianSplattingMesh). */
export interface EncodableMesh {
    readonly splatsData: ArrayBuffer | ArrayBufferView | null;
    computeWorldMatrix(force?: boolean): { m: ArrayLike<number> };
    setFeatures(data: Float32Array | Uint16Array, featureDimension: number, options?: { encoderId?: string; source?: string; sceneFrame?: SceneFrame | null; copy?: boolean }): void;
}

/**
 * Encodes the mesh's Gaussians and sets its features (fp16): the result's `features` is the array the mesh then holds
 * (handed over, not copied). Rejects with a SemanticSplatError: INVALID_ARGUMENT
 * when the mesh keeps no splat data (keepInRam: false), the encode's own errors (EMPTY_SCENE, INVALID_ARGUMENT,
 * MODEL_*), CANCELLED when `signal` aborts.
 */
export async function encodeMeshFeatures(mesh: EncodableMesh, options: MeshEncoderOptions, signal?: AbortSignal): Promise<MeshEncodeResult> {
    if (!options || typeof options.modelUrl !== "string" || !options.modelUrl) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "encoder options need modelUrl (the encoder ONNX model's URL)");
    }
    const rows = mesh.splatsData;
    if (!rows) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "the mesh keeps no splat data to encode (create it with keepInRam: true, the default)");
    }
    const cancelled = () => new SemanticSplatError("CANCELLED", "encodeScene was cancelled");
    const source = ArrayBuffer.isView(rows) ? new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength) : new Uint8Array(rows);
    const worldMatrix = Array.from(mesh.computeWorldMatrix(true).m);
    const frameChoice = {
        frame: options.frame,
        rotation: options.rotation === undefined ? undefined : Array.from(options.rotation),
        upAxis: options.upAxis,
        metresPerUnit: options.metresPerUnit,
        floorHeight: options.floorHeight,
    };

    // the feature cache: the scene's key, and its entry when there is one
    const cache = options.cache === false ? null : (options.cache ?? defaultFeatureCache());
    let cacheState: MeshEncodeResult["cache"] = cache ? "miss" : "off";
    let key: string | null = null;
    if (cache) {
        try {
            const started = performance.now();
            key = await featureCacheKey({ rows: source, worldMatrix, modelSha256: await modelSha256(options), frame: frameChoice, haloMetres: options.haloMetres });
            const entry = await cache.get(key);
            const hit = entry ? decodeSemcache(entry, key, "feature cache entry", { count: source.byteLength / 32 }) : null;
            if (signal?.aborted) throw cancelled();
            if (hit) {
                mesh.setFeatures(hit.halfFeatures, hit.featureDim, { encoderId: hit.encoderId, source: options.modelUrl, sceneFrame: hit.sceneFrame });
                const ms = performance.now() - started;
                options.onProgress?.({ stage: "done", fraction: 1 });
                return {
                    features: hit.halfFeatures, precision: "float16", count: hit.count, k: hit.featureDim, encoderId: hit.encoderId, tiles: 0, largestTile: 0,
                    frame: hit.sceneFrame ?? noneFrame(), // a v1 entry: written without a frame
                    timings: { frameMs: 0, channelsMs: 0, serializeMs: 0, inferenceMs: 0, outputMs: ms },
                    cache: "hit",
                };
            }
        } catch (e) {
            if (signal?.aborted) throw cancelled();
            cacheState = "error";
            key = null;
            void e; // a cache that fails (no storage, a damaged entry) never fails the encode: encode instead
        }
    }

    const client = options.client ?? new InferenceClient(options.clientOptions);
    try {
        if (!options.client || !(await client.modelInfo("encoder"))) {
            await client.loadModel({
                kind: "encoder",
                source: options.modelUrl,
                sha256: options.sha256,
                manifestUrl: options.manifestUrl,
                maxModelBytes: options.maxModelBytes,
                executionProvider: options.executionProvider ?? "wasm",
            });
        }
        // A copy goes to the worker (transferred): the mesh keeps its own rows for saving. Made only now, once the
        // model is loaded, so that the tab does not hold it beside the rows while the worker starts (192 MB at 6 M).
        const splats = source.slice();
        const request = { splats, worldMatrix, ...frameChoice, outputPrecision: "float16" as const, tileGaussians: options.tileGaussians, haloMetres: options.haloMetres };
        const callOptions = { onProgress: options.onProgress, signal };
        // A client made for this encode lets a tiled encode spill its features to a file (featureSpill.ts), read
        // back once its worker has ended: the worker then never holds them beside its heap and the tile structures.
        const encoded = options.client ? { ...(await client.encodeScene(request, callOptions)), spill: null } : await client.encodeSceneSpilled(request, callOptions);
        // A client made for this encode ends before the features are set: its worker's memory (onnxruntime's wasm
        // heap, one tile's model call, and the per-Gaussian arrays) is freed before the mesh copies the features.
        // A spilled encode is a large one: wait for the worker to end before its features are read back.
        if (!options.client) await (encoded.spill ? client.disposeAndWait() : client.dispose());
        if (signal?.aborted) {
            if (encoded.spill) await removeFeatureSpill(encoded.spill);
            throw cancelled();
        }
        const result: EncodeSceneResult = { ...encoded, features: encoded.spill ? await readFeatureSpill(encoded.spill) : encoded.features! };
        // The worker's array (transferred here) is handed to the mesh, not copied; the cache entry below only reads it.
        mesh.setFeatures(result.features, result.k, { encoderId: result.encoderId, source: options.modelUrl, sceneFrame: result.frame, copy: false });
        if (cache && key) {
            try {
                await cache.put(key, encodeSemcache(key, { features: result.features, count: result.count, featureDim: result.k, encoderId: result.encoderId, sceneFrame: result.frame }));
            } catch {
                cacheState = "error"; // the features are set; only storing them failed
            }
        }
        return { ...result, cache: cacheState };
    } finally {
        if (!options.client) client.dispose();
    }
}
