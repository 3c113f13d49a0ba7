export { LabelLifter, type AccumulateStats, type LabelLifterOptions, type LiftingGaussians, type LiftingView } from "./labelLifter";
export { pickLiftedLabel, type LiftedPickOptions, type LiftedPickRequest, type LiftedPickResult } from "./liftedPicking";
export { LiftedLabelDisplay, liftingGaussiansOf, type ClassAppearance } from "./babylon/liftedLabelDisplay";
