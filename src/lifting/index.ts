export { LabelLifter, type AccumulateStats, type LabelLifterOptions, type PropagateAsyncOptions, type PropagateResult, type LiftingGaussians, type LiftingView } from "./labelLifter";
export { pickLiftedLabel, type LiftedPickOptions, type LiftedPickRequest, type LiftedPickResult } from "./liftedPicking";
export { LiftedLabelDisplay, liftingGaussiansOf, type ClassAppearance } from "./babylon/liftedLabelDisplay";
export { LabelPropagation, propagateLabels, type PropagationOptions, type PropagationStats } from "./labelPropagation";
