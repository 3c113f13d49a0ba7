// Picking a cached class map along a world ray (a WebXR controller's pointer ray, which does not start at the camera
// the map was rendered from). The map's expected-depth target is a depth map of the scene as the map's camera saw
// it: the ray hits the first point where it goes from in front of that surface to behind it, over a covered pixel.
// Pure math over the map's arrays and matrices (no GPU), like picking.ts.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import type { AbstractMesh } from "@babylonjs/core/Meshes/abstractMesh";
import { SemanticSplatError } from "../errors";
import { emptyPick, imageFractionToMapPixel, type ClassMapForPicking, type SemanticPickResult } from "./picking";

export interface RayPickOptions {
    /** Nearest distance along the ray that is searched (scene units, default 0.01). */
    minDistance?: number;
    /** Farthest distance along the ray that is searched (scene units, default 100). */
    maxDistance?: number;
    /**
     * Samples between min and max distance, spaced geometrically (each step the same fraction of the distance:
     * 512 samples over 0.01..100 are 1.8% apart), then the crossing is refined by bisection. Default 512.
     */
    samples?: number;
}

/**
 * The class where a world ray first meets the surface of a class map (its expected depth / alpha, over pixels
 * whose label is not none). `pickedPoint` is the point of the RAY at the crossing (refined to about 1e-4 of its
 * distance). Empty answers: "outside" when no sample of the ray falls inside the map's view, "uncovered" when it
 * does but never meets a covered surface.
 */
export function pickClassMapAlongRay(
    map: ClassMapForPicking,
    origin: Vector3,
    direction: Vector3,
    none: number,
    className: (id: number) => string,
    mesh: AbstractMesh,
    stale: boolean,
    options: RayPickOptions = {}
): SemanticPickResult {
    const minDistance = options.minDistance ?? 0.01;
    const maxDistance = options.maxDistance ?? 100;
    const samples = options.samples ?? 512;
    if (!(minDistance > 0 && maxDistance > minDistance && Number.isFinite(maxDistance))) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `pickClassMapAlongRay: need 0 < minDistance < maxDistance (finite), got ${minDistance}, ${maxDistance}`);
    }
    if (!(Number.isInteger(samples) && samples >= 2)) throw new SemanticSplatError("INVALID_ARGUMENT", `pickClassMapAlongRay: samples must be an integer >= 2, got ${samples}`);
    const length = direction.length();
    if (!(length > 0) || ![origin.x, origin.y, origin.z].every(Number.isFinite)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "pickClassMapAlongRay: the ray needs a finite origin and a non-zero direction");
    }
    const dir = direction.scale(1 / length);
    const view = Matrix.FromArray(map.viewMatrix as unknown as number[]);
    const viewProjection = view.multiply(Matrix.FromArray(map.projectionMatrix as unknown as number[]));
    const point = new Vector3();
    const inView = new Vector3();
    const clip = new Vector3();
    const forwardSign = projectionForwardSign(map.projectionMatrix);

    /** Where the ray's point at distance t is relative to the map's surface: >0 behind it, <0 in front, null when
     *  outside the view or over an uncovered pixel. */
    let sawView = false;
    const probe = (t: number): { behind: number; pixel: { x: number; y: number } } | null => {
        origin.addToRef(dir.scale(t), point);
        Vector3.TransformCoordinatesToRef(point, view, inView);
        const depth = Math.abs(inView.z);
        Vector3.TransformCoordinatesToRef(point, viewProjection, clip);
        const inFront = inView.z * forwardSign > 0;
        if (!inFront || !(clip.x >= -1 && clip.x < 1 && clip.y > -1 && clip.y <= 1)) return null;
        sawView = true;
        const pixel = imageFractionToMapPixel((clip.x + 1) / 2, (1 - clip.y) / 2, map.width, map.height);
        const p = pixel.y * map.width + pixel.x;
        const alpha = map.alpha[p];
        if (map.labels[p] === none || !(alpha > 0)) return null;
        return { behind: depth - map.expectedDepth[p] / alpha, pixel };
    };

    const ratio = Math.pow(maxDistance / minDistance, 1 / (samples - 1));
    let previousT = -1; // the last sample in front of a covered surface, -1 when the last sample was not
    let t = minDistance;
    for (let i = 0; i < samples; i++, t *= ratio) {
        const here = probe(t);
        if (!here) {
            previousT = -1;
            continue;
        }
        if (here.behind < 0) {
            previousT = t;
            continue;
        }
        if (previousT < 0) continue; // behind a surface without having been in front of it (started inside)
        // Bisection between the last sample in front and this one behind.
        let front = previousT;
        let back = t;
        let answer = here;
        for (let k = 0; k < 24 && back - front > 1e-4 * back; k++) {
            const middle = (front + back) / 2;
            const m = probe(middle);
            if (m && m.behind >= 0) {
                back = middle;
                answer = m;
            } else {
                front = middle;
            }
        }
        origin.addToRef(dir.scale(back), point);
        const p = answer.pixel.y * map.width + answer.pixel.x;
        const label = map.labels[p];
        return {
            classId: label,
            className: className(label),
            confidence: map.confidence[p],
            pickedPoint: point.clone(),
            mesh,
            stale,
            frameId: map.frameId,
            mapPixel: answer.pixel,
            empty: null,
        };
    }
    return emptyPick(sawView ? "uncovered" : "outside", none, { stale, frameId: map.frameId });
}

/**
 * The sign of view-space z for points in front of the camera, read from the projection: Babylon's perspective
 * matrices put the view depth into clip w with m[11] = +1 (left-handed, looking down +z) or -1 (right-handed).
 */
function projectionForwardSign(projection: ArrayLike<number>): number {
    return projection[11] < 0 ? -1 : 1;
}
