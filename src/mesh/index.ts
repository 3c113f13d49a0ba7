export {
    SemanticGaussianSplattingMesh,
    type SemanticGaussianSplattingMeshOptions,
    type SemanticMeshLoadOptions,
    type SetFeaturesOptions,
    type LabelArray,
    NO_LABEL,
} from "./semanticGaussianSplattingMesh";
export type { SceneSource, SemanticLoadOptions } from "./loading";
export { featureLayerCount, packFeatureLayers, type FeatureArray } from "./featureLayout";
