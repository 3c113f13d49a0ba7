// Scene frames (issue 13, docs/FRAME.md): the estimator and the frame's description, record and options.
export {
    estimateSceneFrame,
    estimateSceneFrameFromSplatRows,
    subsampleStride,
    CEILING_PRIOR_M,
    FALLBACK_CONFIDENCE,
    NO_CEILING_CONFIDENCE,
    MAX_SAMPLES,
    MIN_GAUSSIANS,
    FRAME_METHOD,
    type FrameGaussians,
    type EstimateOptions,
} from "./estimateSceneFrame";
export * from "./sceneFrame";
