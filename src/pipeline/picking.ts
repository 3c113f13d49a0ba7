// Picking in a cached class map: the coordinate conversions from a pointer position to a map pixel, the
// unprojection of the expected-depth target to a world point, and the lookup itself. Pure functions over plain
// numbers and arrays (no GPU), so every conversion is testable at the canvas corners.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import type { AbstractMesh } from "@babylonjs/core/Meshes/abstractMesh";

/** Why a pick found no class. */
export type SemanticPickEmptyReason =
    /** No segmentation has finished yet (or the last one was discarded). */
    | "no-map"
    /** The position is outside the canvas, the camera's viewport, or the part of the view the map shows. */
    | "outside"
    /** The pixel's coverage alpha is below the pipeline's threshold: no Gaussian there (label `none`). */
    | "uncovered";

/** What a semantic pick answers. An empty answer has `classId` = the table's none value (255) and `empty` set. */
export interface SemanticPickResult {
    /** Class id from the class table, or the none value (255) when nothing was found. */
    classId: number;
    /** The class name, or "none". */
    className: string;
    /** The model's max softmax probability at the pixel; 0 when empty. */
    confidence: number;
    /** World point of the expected surface (expected depth / alpha, unprojected with the map's own camera); null when empty. */
    pickedPoint: Vector3 | null;
    /** The semantic mesh whose map answered; null when empty. */
    mesh: AbstractMesh | null;
    /** True when the class map was computed for another camera state (view or projection) than the current one. */
    stale: boolean;
    /** Frame id (engine.frameId) of the frame the map was rendered in; -1 when there is no map. */
    frameId: number;
    /** The map pixel that answered (column, row with row 0 at the top); null when outside or without a map. */
    mapPixel: { x: number; y: number } | null;
    /** Null when a class was found, else why not. */
    empty: SemanticPickEmptyReason | null;
}

/** A viewport as Babylon's Viewport: fractions of the render size, y measured from the BOTTOM. */
export interface ViewportFractions {
    x: number;
    y: number;
    width: number;
    height: number;
}

/**
 * Where a pointer falls in the camera's image, as fractions (u to the right, v DOWN, 0..1 inside), or null when
 * outside the canvas or the camera's viewport.
 * @param renderX position in render pixels (the engine's render width/height units), from the canvas's left
 * @param renderY position in render pixels from the canvas's TOP
 */
export function renderPixelToImageFraction(
    renderX: number,
    renderY: number,
    renderWidth: number,
    renderHeight: number,
    viewport: ViewportFractions = { x: 0, y: 0, width: 1, height: 1 }
): { u: number; v: number } | null {
    if (!Number.isFinite(renderX) || !Number.isFinite(renderY)) return null;
    if (renderX < 0 || renderY < 0 || renderX >= renderWidth || renderY >= renderHeight) return null;
    // Babylon viewports start at the bottom; the pointer's y starts at the top.
    const left = viewport.x * renderWidth;
    const top = (1 - viewport.y - viewport.height) * renderHeight;
    const u = (renderX - left) / (viewport.width * renderWidth);
    const v = (renderY - top) / (viewport.height * renderHeight);
    if (u < 0 || v < 0 || u >= 1 || v >= 1) return null;
    return { u, v };
}

/**
 * Canvas CSS pixels (what pointer events give, relative to the canvas's box; Babylon's GPUPicker takes the same)
 * to render pixels: scaled by render size / CSS box size, so device pixel ratio and hardware scaling cancel out.
 */
export function cssToRenderPixel(cssX: number, cssY: number, cssWidth: number, cssHeight: number, renderWidth: number, renderHeight: number): { x: number; y: number } {
    return { x: (cssX * renderWidth) / cssWidth, y: (cssY * renderHeight) / cssHeight };
}

/** The map pixel (column, row; row 0 = top, as the feature pass reads back) under an image fraction. */
export function imageFractionToMapPixel(u: number, v: number, mapWidth: number, mapHeight: number): { x: number; y: number } {
    return { x: Math.min(mapWidth - 1, Math.floor(u * mapWidth)), y: Math.min(mapHeight - 1, Math.floor(v * mapHeight)) };
}

/**
 * The world point at view-space depth `viewDepth` (positive in front of the camera, as the feature pass's expected
 * depth) on the camera ray through image fraction (u, v) (v down), for the given view and projection matrices
 * (Babylon `Matrix.m` order). Works for either depth range (WebGPU 0..1 or GL -1..1) and either handedness: two
 * points of the ray are unprojected and the one at the wanted depth is interpolated (view depth is linear along a ray).
 */
export function unprojectAtViewDepth(u: number, v: number, viewDepth: number, viewMatrix: ArrayLike<number>, projectionMatrix: ArrayLike<number>): Vector3 {
    const view = Matrix.FromArray(viewMatrix as number[]);
    const viewProjection = view.multiply(Matrix.FromArray(projectionMatrix as number[]));
    const inverse = viewProjection.clone();
    inverse.invert();
    const ndcX = 2 * u - 1;
    const ndcY = 1 - 2 * v;
    const a = Vector3.TransformCoordinates(new Vector3(ndcX, ndcY, 0.25), inverse);
    const b = Vector3.TransformCoordinates(new Vector3(ndcX, ndcY, 0.75), inverse);
    // View-space z of a world point; its sign depends on handedness, the depth the pass writes is |z| in front.
    const depthOf = (p: Vector3) => Math.abs(Vector3.TransformCoordinates(p, view).z);
    const da = depthOf(a);
    const db = depthOf(b);
    const t = (viewDepth - da) / (db - da);
    return a.add(b.subtract(a).scale(t));
}

/**
 * Where a canvas image fraction falls in a map rendered with another projection from the same viewpoint (the
 * feature pass renders with its own target's aspect ratio, so with Babylon's default vertical-fixed FOV a map whose
 * aspect differs from the canvas's shows a different horizontal extent). The fraction goes to a view-space point
 * through the inverse of `canvasProjection`, then through `mapProjection` back to a fraction. Null when the map
 * does not show that direction.
 */
export function canvasFractionToMapFraction(u: number, v: number, canvasProjection: ArrayLike<number>, mapProjection: ArrayLike<number>): { u: number; v: number } | null {
    const inverse = Matrix.FromArray(canvasProjection as number[]);
    inverse.invert();
    const viewPoint = Vector3.TransformCoordinates(new Vector3(2 * u - 1, 1 - 2 * v, 0.5), inverse);
    const q = Vector3.TransformCoordinates(viewPoint, Matrix.FromArray(mapProjection as number[]));
    const mu = (q.x + 1) / 2;
    const mv = (1 - q.y) / 2;
    if (!(mu >= 0 && mv >= 0 && mu < 1 && mv < 1)) return null;
    return { u: mu, v: mv };
}

/** The part of a segmentation result that picking reads (SegmentationResult extends it). */
export interface ClassMapForPicking {
    /** engine.frameId of the frame whose render was segmented. */
    frameId: number;
    width: number;
    height: number;
    /** Class id per pixel; the class table's none value (255) where coverage alpha < alphaThreshold. */
    labels: Uint8Array;
    /** Max softmax probability per pixel; 0 where the label is none. */
    confidence: Float32Array;
    /** Coverage alpha per pixel (the feature pass's). */
    alpha: Float32Array;
    /** Expected view depth NOT divided by alpha (the feature pass's); depth of a pixel = expectedDepth / alpha. */
    expectedDepth: Float32Array;
    /** The view and projection matrices the feature pass rendered this map with (Babylon Matrix.m order). The
     *  projection is the camera's at the MAP's aspect ratio (Babylon recomputes it for the bound render target). */
    viewMatrix: Float32Array;
    projectionMatrix: Float32Array;
}

/** An empty pick answer. */
export function emptyPick(reason: SemanticPickEmptyReason, none: number, extra: Partial<SemanticPickResult> = {}): SemanticPickResult {
    return { classId: none, className: "none", confidence: 0, pickedPoint: null, mesh: null, stale: false, frameId: -1, mapPixel: null, empty: reason, ...extra };
}

/**
 * Looks up a class map at an image fraction. `none` is the table's none value; `className` names a class id.
 * Pixels labelled none (coverage below threshold) answer "uncovered" with the map pixel filled in.
 */
export function lookupClassMap(
    map: ClassMapForPicking,
    u: number,
    v: number,
    none: number,
    className: (id: number) => string,
    mesh: AbstractMesh,
    stale: boolean
): SemanticPickResult {
    const pixel = imageFractionToMapPixel(u, v, map.width, map.height);
    const p = pixel.y * map.width + pixel.x;
    const label = map.labels[p];
    const alpha = map.alpha[p];
    if (label === none || !(alpha > 0)) {
        return emptyPick("uncovered", none, { stale, frameId: map.frameId, mapPixel: pixel });
    }
    const depth = map.expectedDepth[p] / alpha;
    return {
        classId: label,
        className: className(label),
        confidence: map.confidence[p],
        pickedPoint: unprojectAtViewDepth(u, v, depth, map.viewMatrix, map.projectionMatrix),
        mesh,
        stale,
        frameId: map.frameId,
        mapPixel: pixel,
        empty: null,
    };
}

/** True when two matrices (16 floats) differ by more than `epsilon` in any element. */
export function matricesDiffer(a: ArrayLike<number>, b: ArrayLike<number>, epsilon = 1e-6): boolean {
    for (let i = 0; i < 16; i++) {
        if (Math.abs(a[i] - b[i]) > epsilon * Math.max(1, Math.abs(a[i]), Math.abs(b[i]))) return true;
    }
    return false;
}
