// Adapter between the mesh and the file formats module (src/formats): reads a feature sidecar. Scene files are
// read by readSceneFile (src/formats/sceneFile.ts), the one checked reading path of every entry point.
import type { SceneFrame } from "../frame/sceneFrame";
import { decodeFeatureSidecar } from "../formats";

/**
 * Reads a feature sidecar (ARCHITECTURE.md contract 1) and checks it covers `count` Gaussians (and has
 * `featureDimension` channels when given). Throws SemanticSplatError naming `fileName`.
 */
export function readSidecar(
    bytes: Uint8Array,
    fileName: string,
    expected: { count: number; featureDimension?: number }
): { count: number; featureDimension: number; features: Uint16Array; encoderId: string; sceneFrame: SceneFrame | null } {
    const sidecar = decodeFeatureSidecar(bytes, fileName, { count: expected.count, featureDim: expected.featureDimension });
    return { count: sidecar.count, featureDimension: sidecar.featureDim, features: sidecar.halfFeatures, encoderId: sidecar.encoderId, sceneFrame: sidecar.sceneFrame };
}
