// TypeScript module augmentation: Babylon's PickingInfo gains `semantic`, filled by a SemanticSegmentationPipeline
// when `scene.pick` hits its semantic mesh through the class map (see docs/RUNTIME.md).
import type { SemanticPickResult } from "./picking";

declare module "@babylonjs/core/Collisions/pickingInfo" {
    interface PickingInfo {
        /** The class map's answer at the picked pixel; set only when the pick hit a semantic mesh. */
        semantic?: SemanticPickResult;
    }
}

export {};
