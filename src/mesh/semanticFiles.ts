// Adapter between the mesh and the file formats module (src/formats): PLY semantic properties and sidecars.
import { SemanticSplatError } from "../errors";
import type { LabelArray } from "./semanticGaussianSplattingMesh";

export interface SemanticPlyContent {
    count: number;
    featureDimension: number;
    features: Float32Array | null;
    labels: LabelArray | null;
}

export function readPlySemantics(_bytes: Uint8Array, fileName: string): SemanticPlyContent {
    throw new SemanticSplatError("UNSUPPORTED_FORMAT", "PLY reading waits for the formats module", fileName);
}

export function readSidecar(_bytes: Uint8Array, fileName: string): { count: number; featureDimension: number; features: Float32Array | Uint16Array; encoderId: string } {
    throw new SemanticSplatError("UNSUPPORTED_FORMAT", "sidecar reading waits for the formats module", fileName);
}
