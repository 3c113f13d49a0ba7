// The Gaussian encoder's ONNX feeds (docs/ENCODER.md, "Inputs") and its configuration from the model's metadata.
// Plain typed arrays with dims: the caller wraps them in onnxruntime tensors (ort.Tensor(type, data, dims)), so this
// module stays free of onnxruntime and runs anywhere.
import { SemanticSplatError } from "../errors";
import { type AxisOrder, type SerializationConfig, type SerializedScene, POOL_CHILDREN, VOXEL_CHANNELS, checkSerializationConfig, serializeScene } from "./serialization";

export interface FeedTensor {
    type: "float32" | "int32";
    data: Float32Array | Int32Array;
    dims: number[];
}

/** The encoder model's configuration, read from its ONNX metadata props (written by factory/rtgs2/encoder/export.py). */
export interface EncoderModelInfo {
    k: number;
    encoderId: string;
    encoderVersion: number;
    serialization: SerializationConfig;
    /** Attention blocks per level (encoder, levels 0..L-1) and per decoder stage (levels L-2..0), from the
     *  `encoder_config` metadata; absent when the model does not say (tiled encoding needs them). */
    blocks?: EncoderBlocks;
}

/** The encoder's attention blocks: block b (counted through the encoder levels, then the decoder stages) uses
 *  curve order b mod O (factory/rtgs2/encoder/model.py). What tiled encoding needs to know its receptive field. */
export interface EncoderBlocks {
    encoder: number[];
    decoder: number[];
}

/** Reads and checks the encoder metadata props; throws MODEL_CONTRACT naming the file and the key. */
export function encoderInfoFromMetadata(props: Record<string, string>, fileName?: string): EncoderModelInfo {
    const need = (key: string): string => {
        const v = props[key];
        if (v === undefined) throw new SemanticSplatError("MODEL_CONTRACT", `encoder metadata "${key}" is missing`, fileName);
        return v;
    };
    const positiveInt = (key: string): number => {
        const text = need(key);
        const v = Number(text);
        if (!/^\d+$/.test(text) || v <= 0) throw new SemanticSplatError("MODEL_CONTRACT", `encoder metadata "${key}" must be a positive integer, got "${text}"`, fileName);
        return v;
    };
    if (need("kind") !== "encoder") throw new SemanticSplatError("MODEL_CONTRACT", `metadata says kind "${props.kind}", expected "encoder"`, fileName);
    const gridSize = Number(need("grid_size"));
    const serialization: SerializationConfig = {
        gridSize,
        patchSize: positiveInt("patch_size"),
        levels: positiveInt("levels"),
        orders: need("orders").split(",") as AxisOrder[],
    };
    try {
        checkSerializationConfig(serialization);
    } catch (e) {
        throw new SemanticSplatError("MODEL_CONTRACT", `encoder metadata: ${e instanceof Error ? e.message : String(e)}`, fileName);
    }
    const info: EncoderModelInfo = { k: positiveInt("k"), encoderId: props.features_id || need("encoder_id"), encoderVersion: positiveInt("encoder_version"), serialization };
    if (props.encoder_config !== undefined) info.blocks = blocksFromConfig(props.encoder_config, serialization.levels, fileName);
    return info;
}

function blocksFromConfig(text: string, levels: number, fileName?: string): EncoderBlocks {
    const bad = (why: string) => new SemanticSplatError("MODEL_CONTRACT", `encoder metadata "encoder_config" ${why}`, fileName);
    let config: { encoder_blocks?: unknown; decoder_blocks?: unknown };
    try {
        config = JSON.parse(text);
    } catch {
        throw bad("is not JSON");
    }
    const counts = (value: unknown, n: number, key: string): number[] => {
        if (!Array.isArray(value) || value.length !== n || !value.every((v) => Number.isInteger(v) && v >= 0)) {
            throw bad(`needs "${key}" as ${n} non-negative integers, got ${JSON.stringify(value)}`);
        }
        return value as number[];
    };
    return { encoder: counts(config?.encoder_blocks, levels, "encoder_blocks"), decoder: counts(config?.decoder_blocks, levels - 1, "decoder_blocks") };
}

/** The feeds of one serialized scene, named as the graph's inputs. */
export function encoderFeeds(scene: SerializedScene, config: SerializationConfig): Record<string, FeedTensor> {
    const orders = config.orders.length;
    const feeds: Record<string, FeedTensor> = {
        voxel_features: { type: "float32", data: scene.voxelFeatures, dims: [scene.levels[0].count, VOXEL_CHANNELS] },
        gaussian_voxel: { type: "int32", data: scene.gaussianVoxel, dims: [scene.count] },
    };
    scene.levels.forEach((level, l) => {
        feeds[`coords_l${l}`] = { type: "float32", data: Float32Array.from(level.coords), dims: [level.count, 3] };
        feeds[`order_l${l}`] = { type: "int32", data: level.orders, dims: [orders, level.paddedCount] };
        feeds[`inverse_l${l}`] = { type: "int32", data: level.inverses, dims: [orders, level.count] };
        if (l > 0) {
            feeds[`pool_l${l}`] = { type: "int32", data: level.pool!, dims: [level.count, POOL_CHILDREN] };
            feeds[`unpool_l${l}`] = { type: "int32", data: level.unpool!, dims: [scene.levels[l - 1].count] };
        }
    });
    return feeds;
}

/** Serializes `count` Gaussians x 10 channels (ARCHITECTURE.md contract 2) and builds the encoder's ONNX feeds. */
export function prepareEncoderInputs(channels: Float32Array, count: number, config: SerializationConfig): Record<string, FeedTensor> {
    return encoderFeeds(serializeScene(channels, count, config), config);
}
