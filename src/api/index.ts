export {
    SemanticSplatting,
    resolveSemanticAssets,
    vdviEntryFor,
    type SemanticSplattingAssets,
    type SemanticSplattingOptions,
    type SemanticSplattingProgress,
    type SemanticSplattingStage,
} from "./semanticSplatting";
export {
    RegisterSemanticSplattingLoader,
    SEMANTIC_SPLATTING_EXTENSION,
    SEMANTIC_SPLATTING_LOADER_NAME,
    type SemanticSplattingLoaderOptions,
} from "./loaderPlugin";
