// Scene-file formats of the runtime: PLY reading and writing with semantic attributes, the feature sidecar.
// Pure TypeScript, no Babylon imports (shared by the mesh, the worker and Node tools). See docs/FORMATS.md.
export {
    parsePlyHeader,
    readVertexProperties,
    visitVertexProperties,
    isPly,
    asBytes,
    PLY_TYPE_SIZE,
    PLY_CLASSIC_TYPE_NAME,
    MAX_PLY_HEADER_BYTES,
    type PlyEncoding,
    type PlyScalarType,
    type PlyProperty,
    type PlyElement,
    type PlyHeader,
    type ParsePlyHeaderOptions,
    type VertexPropertyTarget,
    type VertexChunkVisitor,
} from "./ply";
export {
    readSemanticAttributes,
    findSemanticProperties,
    LABEL_NONE,
    INSTANCE_NONE,
    MAX_FEATURE_DIM,
    type SemanticAttributes,
    type SemanticPropertyLayout,
} from "./semanticAttributes";
export {
    writeSemanticPly,
    writeSplatAsSemanticPly,
    BABYLON_SPLAT_ROW_BYTES,
    SPLAT_PLY_PROPERTIES,
    type SemanticPayload,
} from "./plyWriter";
export {
    encodeFeatureSidecar,
    encodeFeatureSidecarParts,
    decodeFeatureSidecar,
    checkFeatureShape,
    featureSidecarFileName,
    FEATURE_SIDECAR_MAGIC,
    FEATURE_SIDECAR_VERSION,
    FEATURE_SIDECAR_EXTENSION,
    type FeatureSidecar,
    type FeatureSidecarInput,
    type FeatureShapeExpectation,
} from "./featureSidecar";
export { float32ToHalfBits, halfBitsToFloat32, float32ArrayToHalf, halfArrayToFloat32 } from "../util/half";
export { readSceneFile, detectFormat, checkSogMeta, webpSize, type SceneFormat, type SceneReadOptions, type SceneFileContent } from "./sceneFile";
export { openPlySceneChunks, DEFAULT_PLY_CHUNK_ROWS, type ByteSource, type ChunkedPlyScene, type PlySceneChunk } from "./plyChunks";
export { DEFAULT_BUDGETS, resolveBudgets, inflateCapped, type SceneBudgets } from "./budgets";
export {
    resolveValidation,
    DEFAULT_CLASS_COUNT,
    MAX_SCALE,
    MAX_LOG_SCALE,
    MAX_POSITION,
    type ValidationOptions,
    type InvalidGaussianPolicy,
    type InvalidLabelPolicy,
} from "./validation";
export { listZipEntries, readZipEntry, unzipArchive, zipStored, type ZipEntry } from "./zip";
