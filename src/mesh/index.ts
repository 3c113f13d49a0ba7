export {
    SemanticGaussianSplattingMesh,
    type SemanticGaussianSplattingMeshOptions,
    type SemanticMeshLoadOptions,
    type LabelArray,
} from "./semanticGaussianSplattingMesh";
export type { SceneSource, SemanticLoadOptions } from "./loading";
export { featureLayerCount, packFeatureLayers, type FeatureArray } from "./featureLayout";
export { float32ToFloat16Bits, float16BitsToFloat32 } from "./half";
