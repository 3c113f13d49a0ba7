export {
    SemanticSegmentationPipeline,
    type SegmentationMode,
    type SegmentationModelSource,
    type SegmentationResult,
    type SemanticSegmentationPipelineOptions,
} from "./segmentationPipeline";
export {
    cssToRenderPixel,
    imageFractionToMapPixel,
    renderPixelToImageFraction,
    unprojectAtViewDepth,
    type SemanticPickEmptyReason,
    type SemanticPickResult,
    type ViewportFractions,
} from "./picking";
export { pickClassMapAlongRay, type RayPickOptions } from "./rayPicking";
export { SegmentationOverlay, type LegendEntry, type OverlayOptions } from "./overlay";
export type { SegmentationStageTimes, SegmentationStats } from "./stats";
import "./pickingInfoAugmentation";
