// Main-thread side of encoding a loaded mesh: reads Babylon's splat rows and world matrix from the mesh, encodes
// in the inference worker (the main thread only copies the rows), and gives the mesh its features.
// SemanticGaussianSplattingMesh calls this itself after loading a file without features (`autoEncode`).
import { SemanticSplatError } from "../errors";
import { InferenceClient, type InferenceClientOptions } from "../inference/InferenceClient";
import type { ExecutionProviderChoice } from "../worker/protocol";
import type { EncodeProgress, EncodeSceneResult } from "./encodeScene";
import type { SceneFrame, SceneFrameChoice } from "../frame/sceneFrame";

/** The Gaussian encoder a mesh uses (SemanticGaussianSplattingMesh option `encoder`). */
export interface MeshEncoderOptions extends SceneFrameChoice {
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
    /** Default "wasm": the encode runs once per scene and the wasm EP is the one measured (BENCHMARKS.md). */
    executionProvider?: ExecutionProviderChoice;
    // The scene frame (SceneFrameChoice, docs/FRAME.md): `frame: "auto"` by default (estimated in the worker);
    // explicit rotation / upAxis / metresPerUnit / floorHeight always win; `frame: "none"` keeps +Y up, metres.
    /** Stage and fraction of the encode. */
    onProgress?: (progress: EncodeProgress) => void;
}

/** What encodeMeshFeatures needs from a mesh (a SemanticGaussianSplattingMesh). */
export interface EncodableMesh {
    readonly splatsData: ArrayBuffer | ArrayBufferView | null;
    computeWorldMatrix(force?: boolean): { m: ArrayLike<number> };
    setFeatures(data: Float32Array | Uint16Array, featureDimension: number, options?: { encoderId?: string; source?: string; sceneFrame?: SceneFrame | null }): void;
}

/**
 * Encodes the mesh's Gaussians and sets its features (fp16). Rejects with a SemanticSplatError: INVALID_ARGUMENT
 * when the mesh keeps no splat data (keepInRam: false), the encode's own errors (EMPTY_SCENE, INVALID_ARGUMENT,
 * MODEL_*), CANCELLED when `signal` aborts.
 */
export async function encodeMeshFeatures(mesh: EncodableMesh, options: MeshEncoderOptions, signal?: AbortSignal): Promise<EncodeSceneResult> {
    if (!options || typeof options.modelUrl !== "string" || !options.modelUrl) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "encoder options need modelUrl (the encoder ONNX model's URL)");
    }
    const rows = mesh.splatsData;
    if (!rows) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "the mesh keeps no splat data to encode (create it with keepInRam: true, the default)");
    }
    // A copy goes to the worker (transferred): the mesh keeps its own rows for saving.
    const source = ArrayBuffer.isView(rows) ? new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength) : new Uint8Array(rows);
    const splats = source.slice();
    const worldMatrix = Array.from(mesh.computeWorldMatrix(true).m);
    const client = options.client ?? new InferenceClient(options.clientOptions);
    try {
        if (!options.client || !(await client.modelInfo("encoder"))) {
            await client.loadModel({
                kind: "encoder",
                source: options.modelUrl,
                sha256: options.sha256,
                manifestUrl: options.manifestUrl,
                executionProvider: options.executionProvider ?? "wasm",
            });
        }
        const result = await client.encodeScene(
            {
                splats,
                worldMatrix,
                frame: options.frame,
                rotation: options.rotation === undefined ? undefined : Array.from(options.rotation),
                upAxis: options.upAxis,
                metresPerUnit: options.metresPerUnit,
                floorHeight: options.floorHeight,
                outputPrecision: "float16",
            },
            { onProgress: options.onProgress, signal }
        );
        if (signal?.aborted) throw new SemanticSplatError("CANCELLED", "encodeScene was cancelled");
        mesh.setFeatures(result.features, result.k, { encoderId: result.encoderId, source: options.modelUrl, sceneFrame: result.frame });
        return result;
    } finally {
        if (!options.client) client.dispose();
    }
}
