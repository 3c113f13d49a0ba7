// Public entry point of babylon-semantic-splatting.
export const VERSION = "0.1.0";
export { SemanticSplatError, isSemanticError, type SemanticErrorCode } from "./errors";
// The one-call API and the SceneLoader plugin (docs/RUNTIME.md, "One call"); everything below stays public.
export * from "./api";
export * from "./formats";
export * from "./mesh";
export { ClassTable, type SemanticClass } from "./classes";
export { InferenceClient, type InferenceClientOptions } from "./inference/InferenceClient";
export type {
    DebugFault,
    ExecutionProviderChoice,
    LoadModelRequest,
    LoadProgress,
    ModelExpectations,
    ModelInfo,
    ModelKind,
    SegmentationModelKind,
    SegmentResult,
    SegmentTimings,
    TensorData,
    TensorElementType,
    WorkerInitInfo,
} from "./worker/protocol";
export {
    FeatureSplatPass,
    segmentationResolution,
    type FeatureFrame,
    type FeatureSplatMesh,
    type FeatureSplatPassOptions,
    type SplatPrimitive,
    type FeatureTextureProvider,
    type FrameRequestOptions,
} from "./rendering/featureSplatPass";
export { isSortSettled } from "./rendering/sortState";
export { GpuFramePacer, type GpuFramePacerOptions } from "./rendering/gpuFramePacer";
export { describeAdapter, isSoftwareAdapter, type AdapterDescription } from "./worker/adapterProbe";
export { planFeaturePasses, maxAttachmentsPerPass, type FeaturePassPlan, type DeviceLimitsForPlan } from "./rendering/attachmentPlan";
export { decodeSplatRows, projectSplat, renderReference, type ReferenceCamera, type ReferenceImage, type ReferenceSplat } from "./rendering/cpuReference";
export { drawFeatureView, featureViewPixels, principalComponentScores, type FeatureImageLike, type FeatureViewOptions } from "./rendering/featureView";
export * from "./pipeline";
export * from "./lifting";
export {
    SemanticLabelBillboards,
    type SemanticLabelBillboard,
    type SemanticLabelBillboardsOptions,
    type SemanticLabelInput,
} from "./labels/semanticLabelBillboards";
export { encodeMeshFeatures, defaultFeatureCache, type MeshEncoderOptions, type MeshEncodeResult, type EncodableMesh } from "./encoder/encodeMesh";
export { readFeatureSpill, removeFeatureSpill, FEATURE_SPILL_DIRECTORY, type FeatureSpill } from "./encoder/featureSpill";
export { FeatureCache, DEFAULT_FEATURE_CACHE_BYTES, type FeatureCacheOptions, type FeatureCacheStorage } from "./cache/featureCache";
export { featureCacheKey, encodeSemcache, decodeSemcache, semcacheKey, semcacheFileName, type FeatureCacheKeyInput } from "./cache/semcache";
export { encodeSplatRows, encodeChannels, sceneChannels, type EncodeChannelsResult, type EncodeProgress, type EncodeSceneOptions, type EncodeSceneResult, type EncodeStage, type RunEncoderModel, type SceneChannels } from "./encoder/encodeScene";
export { DEFAULT_TILE_GAUSSIANS, DEFAULT_HALO_METRES, type TilingOptions } from "./encoder/tiling";
export { splatRowsToChannels, resolveSceneFrame, SPLAT_ROW_BYTES, type SceneFrameOptions } from "./encoder/sceneChannels";
export * from "./frame";
export { encoderInfoFromMetadata, prepareEncoderInputs, type EncoderModelInfo } from "./encoder/inputs";
export type { EncodeSceneRequest, EncodeJobResult } from "./worker/protocol";
