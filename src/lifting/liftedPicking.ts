// Instant picking from lifted per-Gaussian labels: no segmentation, no GPU readback, one pass over the Gaussians.
//
// The pick pixel's ray is composited like the splat renderer would: every Gaussian whose centre projects near the
// pixel is a candidate with alpha_i = o_i exp(-d^2 / (2 s^2)), d its centre's distance to the pixel in pixels and
// s its footprint's standard deviation in pixels (its world radius times the focal length over its depth, at least
// `minFootprintPx`; `minFootprintPx` for every Gaussian when no radii are given). Candidates are taken front to back,
// weight_i = alpha_i prod_{nearer}(1 - alpha_j), and the class with the largest summed weight (over Gaussians with a
// lifted label) is the answer; the picked point is at the weight-averaged depth. Pure TypeScript, no Babylon.

import type { LiftingGaussians } from "./labelLifter";

export interface LiftedPickRequest {
    /** Pixel position in the image the matrices describe; (0, 0) is the top-left corner, any units of `width`. */
    x: number;
    y: number;
    width: number;
    height: number;
    viewMatrix: ArrayLike<number>;
    projectionMatrix: ArrayLike<number>;
}

export interface LiftedPickOptions {
    /**
     * Smallest footprint standard deviation, pixels (default 0.5: about the sqrt(0.3) px that 3DGS renderers' screen-space
     * dilation gives the smallest splats). A larger floor widens small, near Gaussians past their drawn footprint.
     */
    minFootprintPx?: number;
    /** Label meaning "no class" (default 255). */
    none?: number;
}

export interface LiftedPickResult {
    /** The picked class, `none` when nothing labelled is under the pixel. */
    label: number;
    /** Share of the picked class in the composited weight of labelled Gaussians (0..1). */
    confidence: number;
    /** The labelled Gaussian with the largest compositing weight, -1 when none. */
    gaussianIndex: number;
    /** Weight-averaged view depth of the labelled Gaussians along the ray (0 when none). */
    depth: number;
    /** Candidate Gaussians composited. */
    candidates: number;
}

/**
 * Picks through lifted labels. `labels` is [N] (LabelLifter.labels); `radii` optional [N] world-space footprint
 * standard deviations (liftingGaussiansOf: the mean of each Gaussian's three scales).
 */
export function pickLiftedLabel(
    request: LiftedPickRequest,
    gaussians: LiftingGaussians,
    labels: Uint8Array,
    radii: Float32Array | null = null,
    options: LiftedPickOptions = {}
): LiftedPickResult {
    const n = labels.length;
    const none = options.none ?? 255;
    const minSigma = options.minFootprintPx ?? 0.5;
    if (gaussians.positions.length !== 3 * n || gaussians.opacities.length !== n) {
        throw new Error(`pickLiftedLabel: ${n} labels but ${gaussians.positions.length / 3} positions and ${gaussians.opacities.length} opacities`);
    }
    if (radii && radii.length !== n) throw new Error(`pickLiftedLabel: radii has ${radii.length} entries, expected ${n}`);
    if (request.viewMatrix.length !== 16 || request.projectionMatrix.length !== 16) throw new Error("pickLiftedLabel: matrices must have 16 entries (Babylon Matrix.m order)");
    const V = request.viewMatrix;
    const P = request.projectionMatrix;
    const M = new Float64Array(16);
    for (let r = 0; r < 4; r++) {
        for (let c = 0; c < 4; c++) {
            M[4 * r + c] = V[4 * r] * P[c] + V[4 * r + 1] * P[4 + c] + V[4 * r + 2] * P[8 + c] + V[4 * r + 3] * P[12 + c];
        }
    }
    const halfW = request.width / 2;
    const halfH = request.height / 2;
    const focal = halfH * Math.abs(P[5]); // pixels per unit of (view y / depth)
    const pos = gaussians.positions;
    const opacity = gaussians.opacities;
    // Candidates: index, depth, alpha (kept in plain arrays; a pick touches few Gaussians).
    const candIndex: number[] = [];
    const candDepth: number[] = [];
    const candAlpha: number[] = [];
    const cutoff = 3; // standard deviations
    for (let i = 0; i < n; i++) {
        const x = pos[3 * i];
        const y = pos[3 * i + 1];
        const z = pos[3 * i + 2];
        const w = x * M[3] + y * M[7] + z * M[11] + M[15];
        if (!(w > 0)) continue;
        const dx = ((x * M[0] + y * M[4] + z * M[8] + M[12]) / w + 1) * halfW - request.x;
        const dy = (1 - (x * M[1] + y * M[5] + z * M[9] + M[13]) / w) * halfH - request.y;
        const sigma = radii ? Math.max(minSigma, (radii[i] * focal) / w) : minSigma;
        const d2 = dx * dx + dy * dy;
        if (d2 > cutoff * cutoff * sigma * sigma) continue;
        const a = opacity[i] * Math.exp(-d2 / (2 * sigma * sigma));
        if (!(a > 1 / 255)) continue;
        candIndex.push(i);
        candDepth.push(w);
        candAlpha.push(Math.min(a, 0.99));
    }
    const order = candIndex.map((_, k) => k).sort((a, b) => candDepth[a] - candDepth[b]);
    const classWeight = new Map<number, number>();
    let transmittance = 1;
    let bestIndex = -1;
    let bestWeight = 0;
    let depthSum = 0;
    let weightSum = 0;
    for (const k of order) {
        const weight = candAlpha[k] * transmittance;
        transmittance *= 1 - candAlpha[k];
        const i = candIndex[k];
        const label = labels[i];
        if (label !== none) {
            classWeight.set(label, (classWeight.get(label) ?? 0) + weight);
            depthSum += weight * candDepth[k];
            weightSum += weight;
            if (weight > bestWeight) {
                bestWeight = weight;
                bestIndex = i;
            }
        }
        if (transmittance < 0.01) break;
    }
    let label = none;
    let labelWeight = 0;
    for (const [c, wgt] of classWeight) {
        if (wgt > labelWeight || (wgt === labelWeight && c < label)) {
            label = c;
            labelWeight = wgt;
        }
    }
    return {
        label,
        confidence: weightSum > 0 ? labelWeight / weightSum : 0,
        gaussianIndex: bestIndex,
        depth: weightSum > 0 ? depthSum / weightSum : 0,
        candidates: order.length,
    };
}
