// The Node entry (dist/node-encoder.js) of the encode command (bin/encode.mjs): the encode stages and the file
// formats, without Babylon, comlink or onnxruntime-web. The command brings onnxruntime-node and Babylon's loaders.
export { SemanticSplatError, isSemanticError } from "../errors";
export { encodeSplatRows, encodeChannels, sceneChannels, type EncodeProgress, type EncodeSceneOptions, type EncodeSceneResult, type EncodeStage } from "./encodeScene";
export { DEFAULT_TILE_GAUSSIANS, DEFAULT_HALO_METRES, NODE_MEMORY_MODEL, BUDGET_FIELD_RATIO, tilingForMemoryBudget, type TilingOptions } from "./tiling";
export { splatRowsToChannels, resolveSceneFrame, SPLAT_ROW_BYTES, type UpAxis, type SceneFrameOptions } from "./sceneChannels";
export { encoderInfoFromMetadata, type EncoderModelInfo } from "./inputs";
export { readOnnxModelHeader } from "../worker/onnxProto";
export { featureCacheKey, encodeSemcache, encodeSemcacheParts, SEMCACHE_HEADER_BYTES, decodeSemcache, semcacheKey, semcacheFileName } from "../cache/semcache";
export {
    writeSemanticPly,
    parsePlyHeader,
    readSemanticAttributes,
    encodeFeatureSidecar,
    encodeFeatureSidecarParts,
    decodeFeatureSidecar,
    featureSidecarFileName,
    isPly,
    halfArrayToFloat32,
    readSceneFile,
    openPlySceneChunks,
    DEFAULT_PLY_CHUNK_ROWS,
    DEFAULT_BUDGETS,
    resolveBudgets,
    DEFAULT_CLASS_COUNT,
} from "../formats";
export {
    estimateSceneFrame,
    estimateSceneFrameFromSplatRows,
    describeSceneFrame,
    sceneFrameRecord,
    parseSceneFrameRecord,
    sceneFrameFromComments,
    explicitFrame,
    noneFrame,
    upAxisRotation,
    SCENE_FRAME_COMMENT_PREFIX,
    FALLBACK_CONFIDENCE,
    NO_CEILING_CONFIDENCE,
    CEILING_PRIOR_M,
    type SceneFrame,
    type SceneFrameChoice,
} from "../frame";
