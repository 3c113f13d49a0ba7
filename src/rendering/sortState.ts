// Whether a splat mesh's draw order is current for a camera. Babylon (9.35) sorts splats in a worker: a moving
// camera, or a world matrix changed after loading, renders with the order of an earlier request until the new
// one arrives (usually a frame or two later). The colour pass and the feature pass share that order, so they
// always agree with each other; only a caller that needs the exact order of the current view (goldens, captures
// of a still camera) has to wait for it.
import type { Camera } from "@babylonjs/core/Cameras/camera";
import type { Matrix } from "@babylonjs/core/Maths/math.vector";
import type { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";

/** The GaussianSplattingMeshBase internals read here (9.35: per-camera sort bookkeeping). */
interface SortBookkeeping {
    _cameraViewInfos?: Map<number, { sortAppliedId: number; sortRequestId: number; splatIndexBufferSet: boolean }>;
    _isSortStateDirty?(info: unknown, worldMatrix: Matrix, camera: Camera, worldMatrixOnly?: boolean): boolean;
}

/**
 * True when the order `camera`'s draw of `mesh` uses was sorted for the camera's current view and the mesh's
 * current world matrix (within Babylon's `viewUpdateThreshold`), and no newer sort is in flight. False while
 * the first sort is pending. A mesh whose Babylon version lacks the bookkeeping read here is reported settled
 * once it is ready, which is what older versions guaranteed.
 */
export function isSortSettled(mesh: GaussianSplattingMesh, camera: Camera): boolean {
    const internals = mesh as unknown as SortBookkeeping;
    if (!internals._cameraViewInfos || !internals._isSortStateDirty) return mesh.isReady(true);
    const info = internals._cameraViewInfos.get(camera.uniqueId);
    if (!info || !info.splatIndexBufferSet || info.sortAppliedId === 0) return false;
    if (info.sortAppliedId !== info.sortRequestId) return false;
    return !internals._isSortStateDirty.call(mesh, info, mesh.computeWorldMatrix(true), camera);
}
