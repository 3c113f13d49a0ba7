// Scene-frame estimator (issue 13, docs/FRAME.md): up direction, floor height and metres per unit from the
// Gaussians alone. The TypeScript twin of factory/rtgs2/frame.py (estimate_scene_frame): the same steps on the same
// fixed-stride subsample, agreeing within the tolerance in docs/FRAME.md on shared test vectors
// (test/fixtures/frame/, written by factory/scripts/make_frame_vectors.py).
//
// 1. Flat Gaussians (middle scale >= 3x the smallest) lie on surfaces; their normal is the smallest-scale axis.
// 2. Manhattan frame: the direction most normals agree with (5 degrees, weighted by opacity and sqrt of area),
//    then the best one perpendicular to it, then their cross product.
// 3. Up: of the three axes, the one whose contents sit on one side between its two extreme planes (furniture
//    stands on the floor; the top tenth under the ceiling is nearly empty); up points from the floor to the ceiling.
// 4. Scale: floor-to-ceiling distance against a 2.75 m ceiling prior. 5. Yaw: the other axes nearest the input.
// Fallback: identity, 1 m, floor 0, fallback true, confidence < 0.35, for anything that does not look like a room.
// Input without a single finite Gaussian throws INVALID_ARGUMENT. Never a NaN frame.
import { SemanticSplatError } from "../errors";
import { LOCAL_FULL_ASYMMETRY, PLANE_BAND, PLANE_BINS, binnedMedian, localSurfaces, localUpScores, peakPlane } from "./localSurfaces";
import { IDENTITY_ROTATION, type SceneFrame } from "./sceneFrame";

/** SynthRooms ceilings are 2.5-3.0 m; real rooms mostly 2.4-3.0 m (see factory/rtgs2/frame.py for the sources). */
export const CEILING_PRIOR_M = 2.75;
export const MAX_SAMPLES = 50_000;
/** Heights the robust 0.5-99.5 % range is taken from (fixed stride of the sample), as RANGE_SAMPLES in frame.py. */
const RANGE_SAMPLES = 8_192;
const MAX_CANDIDATES = 128;
const MAX_SCORED = 2_048;
export const MIN_GAUSSIANS = 64;
const FLAT_RATIO = 3;
const FLAT_LOG_RATIO = Math.log(FLAT_RATIO);
/** Local surfaces (src/frame/localSurfaces.ts) replace the flat Gaussians when fewer than this share is flat. */
const LOCAL_SURFACES_BELOW = 0.05;
const INLIER_COS = Math.cos((5 * Math.PI) / 180);
const ALIGNED_COS = Math.cos((10 * Math.PI) / 180);
const PERP_MIN = Math.cos((10 * Math.PI) / 180); // |perpendicular part| of a candidate second axis (within 10 deg of perpendicular)
export const FALLBACK_CONFIDENCE = 0.35;
/** The score margin an up axis longer than both others needs for full confidence (LONGEST_UP_MARGIN in frame.py). */
const LONGEST_UP_MARGIN = 0.6;
/** Flat Gaussians: an axis whose plane at one end holds less than this share of the surface weight, and at the other
 *  at least three times it, is a floor without a ceiling (openAxisScores). */
const OPEN_PLANE_SHARE = 0.02;
/** The only open axis, at most this fraction of both other axes' extents, is the up axis even when a wall axis scores
 *  higher (shortOpenAxis; chosen on dev seeds 9000-9059 among 0.8, 0.85 and 0.9, as frame.py). */
const OPEN_UP_GAP_RATIO = 0.9;
/** An estimate within this angle of an axis-aligned rotation is snapped to it (see SNAP_DEG in frame.py: exporters
 *  write axis-aligned frames exactly; a residual turn of a fraction of a degree moves Gaussians across voxels). */
export const SNAP_DEG = 1.0;
/**
 * No ceiling (RGB-D scans of rooms often have none): the floor-to-ceiling gap says nothing about the scale. A ceiling
 * is there when the plane on the ceiling side holds at least CEILING_MIN_SHARE of the flat Gaussians' surface weight,
 * or (local surfaces) when at least CEILING_MIN_POINTS of the sampled Gaussians lie in the top CEILING_POINTS_BAND of
 * the floor-to-ceiling gap (or up to a quarter of that beyond); otherwise the scale is the power of ten that puts the room's horizontal gaps (geometric mean) nearest
 * TYPICAL_ROOM_WIDTH_M and the confidence is capped at NO_CEILING_CONFIDENCE. As frame.py (measurements there).
 */
const CEILING_MIN_SHARE = 0.03;
const CEILING_MIN_POINTS = 0.045;
const CEILING_POINTS_BAND = 0.04;
const TYPICAL_ROOM_WIDTH_M = 4.0;
export const NO_CEILING_CONFIDENCE = 0.5;
export const FRAME_METHOD = "manhattan-floor-ceiling-v2";

/** Gaussians as the estimator reads them: flat arrays, `count` rows. */
export interface FrameGaussians {
    count: number;
    /** count x 3 positions (scene units). */
    positions: ArrayLike<number>;
    /** count x 3 natural-log scales. */
    logScales: ArrayLike<number>;
    /** count x 4 local -> scene rotations (w, x, y, z). */
    quaternions: ArrayLike<number>;
    /** count opacities after the sigmoid (values outside [0, 1] are taken as logits). */
    opacities: ArrayLike<number>;
}

export interface EstimateOptions {
    /** Offset of the fixed-stride subsample (default 0), as in the Python twin. */
    seed?: number;
}

/** The rows the estimator looks at: every `stride`-th from an offset set by the seed (the Python twin does the same). */
export function subsampleStride(n: number, seed = 0): { start: number; stride: number } {
    if (n <= MAX_SAMPLES) return { start: 0, stride: 1 };
    const stride = Math.ceil(n / MAX_SAMPLES);
    return { start: (((Math.trunc(seed) % stride) + stride) % stride), stride };
}

/**
 * The sampled rows, prepared in one pass without per-row objects: finite positions, and for the flat ones their
 * position, normal, opacity and log-area (log of the two larger scales' product).
 */
interface Prepared {
    total: number;
    n: number; // finite sampled Gaussians
    xyz: Float64Array; // n x 3
    opAll: Float64Array; // n: every finite sampled Gaussian's opacity (local surfaces)
    f: number; // flat ones
    fxyz: Float64Array; // f x 3
    normals: Float64Array; // f x 3, unit
    opac: Float64Array; // f
    /** f: the flat Gaussian's area (log or linear, as `logArea` says), turned into sqrt(area / median area) in place */
    area: Float64Array;
    logArea: boolean;
}

function allocPrepared(total: number, m: number): Prepared {
    return { total, n: 0, xyz: new Float64Array(3 * m), opAll: new Float64Array(m), f: 0, fxyz: new Float64Array(3 * m), normals: new Float64Array(3 * m), opac: new Float64Array(m), area: new Float64Array(m), logArea: true };
}

function fallbackFrame(confidence: number, reason: string, evidence: Record<string, unknown>): SceneFrame {
    return {
        rotation: [...IDENTITY_ROTATION],
        metresPerUnit: 1,
        floorHeight: 0,
        confidence: Math.min(Math.max(Number.isFinite(confidence) ? confidence : 0, 0), FALLBACK_CONFIDENCE * 0.99),
        fallback: true,
        source: "auto",
        evidence: { ...evidence, fallbackReason: reason },
    };
}

/** The k-th smallest of a[lo..hi] (in place, Hoare quickselect with a median-of-three pivot). */
function selectKth(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
    while (hi > lo) {
        const mid = (lo + hi) >> 1;
        // median of three as the pivot
        let x = a[lo], y = a[mid], z = a[hi];
        if (x > y) { const t = x; x = y; y = t; }
        if (y > z) { const t = y; y = z; z = t; }
        if (x > y) { const t = x; x = y; y = t; }
        const pivot = y;
        let i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                const t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/** numpy's linear-interpolation percentile of `values` (reordered in place; no NaN), without a full sort. */
function percentile(values: Float64Array, q: number): number {
    const n = values.length;
    const pos = (q / 100) * (n - 1);
    const lo = Math.floor(pos);
    const a = selectKth(values, lo);
    if (lo + 1 >= n || pos === lo) return a;
    // the next order statistic: the smallest of what lies right of position lo
    let b = Infinity;
    for (let i = lo + 1; i < n; i++) if (values[i] < b) b = values[i];
    return a + (b - a) * (pos - lo);
}

/** The 0.5 and 99.5 percentiles of at most RANGE_SAMPLES of values[o], values[o + s], ... (`count` of them) at a
 *  fixed stride, copied into `scratch` (as _robust_range in frame.py). */
function robustRange(values: Float64Array, count: number, o: number, s: number, scratch: Float64Array): [number, number] {
    const step = Math.max(1, Math.ceil(count / RANGE_SAMPLES));
    let c = 0;
    for (let i = 0; i < count; i += step) scratch[c++] = values[o + i * s];
    const v = scratch.subarray(0, c);
    const lo = percentile(v, 0.5);
    return [lo, percentile(v, 99.5)];
}

/**
 * Estimates the frame of a scene given as flat arrays (the shared-vector path and the Python twin's input).
 * Throws SemanticSplatError INVALID_ARGUMENT for mismatched lengths or when no Gaussian is finite.
 */
export function estimateSceneFrame(g: FrameGaussians, options: EstimateOptions = {}): SceneFrame {
    const n = g?.count;
    if (!Number.isInteger(n) || n < 0 || g.positions.length !== 3 * n || g.logScales.length !== 3 * n || g.quaternions.length !== 4 * n || g.opacities.length !== n) {
        throw new SemanticSplatError(
            "INVALID_ARGUMENT",
            `estimateSceneFrame: lengths positions ${g?.positions?.length}, logScales ${g?.logScales?.length}, quaternions ${g?.quaternions?.length}, opacities ${g?.opacities?.length} do not match count ${String(n)} (x3/x3/x4/x1)`
        );
    }
    const { start, stride } = subsampleStride(n, options.seed ?? 0);
    const m = n > start ? Math.ceil((n - start) / stride) : 0;
    const pos = g.positions, ls = g.logScales, quat = g.quaternions, op = g.opacities;
    // opacity: logits when any sampled value is outside [0, 1] (a NaN makes numpy's min/max NaN: no sigmoid)
    let omin = Infinity, omax = -Infinity, anyNaN = false;
    for (let i = start; i < n; i += stride) {
        const o = op[i];
        if (o !== o) anyNaN = true;
        if (o < omin) omin = o;
        if (o > omax) omax = o;
    }
    const logits = !anyNaN && m > 0 && (omin < 0 || omax > 1);
    const p = allocPrepared(n, m);
    const { xyz, opAll, fxyz, normals, opac, area } = p;
    const flatLog = FLAT_LOG_RATIO;
    let k = 0, f = 0;
    for (let i = start; i < n; i += stride) {
        const x = pos[3 * i], y = pos[3 * i + 1], z = pos[3 * i + 2];
        const l0 = ls[3 * i], l1 = ls[3 * i + 1], l2 = ls[3 * i + 2];
        const qw = quat[4 * i], qx = quat[4 * i + 1], qy = quat[4 * i + 2], qz = quat[4 * i + 3];
        let o = op[i];
        const qn = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
        const sum = x + y + z + l0 + l1 + l2 + qw + qx + qy + qz + o;
        if (!(sum - sum === 0 && qn > 1e-12)) continue; // sum - sum is NaN for a NaN or an infinity
        xyz[3 * k] = x;
        xyz[3 * k + 1] = y;
        xyz[3 * k + 2] = z;
        if (logits) o = 1 / (1 + Math.exp(-Math.min(60, Math.max(-60, o))));
        opAll[k] = o;
        k++;
        // the smallest axis (stable: the first of equals) and the two others' sorted values
        let k0 = 0, v0 = l0, va = l1, vb = l2;
        if (l1 < v0) { k0 = 1; v0 = l1; va = l0; }
        if (l2 < v0) { k0 = 2; v0 = l2; va = l0; vb = l1; }
        const v1 = va < vb ? va : vb;
        if (v1 - v0 < flatLog) continue;
        writeNormal(normals, 3 * f, k0, qw / qn, qx / qn, qy / qn, qz / qn, null);
        fxyz[3 * f] = x;
        fxyz[3 * f + 1] = y;
        fxyz[3 * f + 2] = z;
        opac[f] = o;
        area[f] = va + vb;
        f++;
    }
    p.n = k;
    p.f = f;
    return estimatePrepared(p);
}

/** Column k0 of the unit quaternion's rotation matrix (the local axis k0 in the scene), optionally through the 3x3
 *  row-major linear map t and normalised, written at out[o..o+2]. */
function writeNormal(out: Float64Array, o: number, k0: number, w: number, a: number, b: number, c: number, t: Float64Array | null): void {
    let nx: number, ny: number, nz: number;
    if (k0 === 0) {
        nx = 1 - 2 * (b * b + c * c); ny = 2 * (a * b + w * c); nz = 2 * (a * c - w * b);
    } else if (k0 === 1) {
        nx = 2 * (a * b - w * c); ny = 1 - 2 * (a * a + c * c); nz = 2 * (b * c + w * a);
    } else {
        nx = 2 * (a * c + w * b); ny = 2 * (b * c - w * a); nz = 1 - 2 * (a * a + b * b);
    }
    if (t !== null) {
        const tx = t[0] * nx + t[1] * ny + t[2] * nz, ty = t[3] * nx + t[4] * ny + t[5] * nz, tz = t[6] * nx + t[7] * ny + t[8] * nz;
        const len = Math.sqrt(tx * tx + ty * ty + tz * tz);
        nx = tx / len; ny = ty / len; nz = tz / len;
    }
    out[o] = nx;
    out[o + 1] = ny;
    out[o + 2] = nz;
}

function round(v: number, digits: number): number {
    return Number(v.toFixed(digits));
}

/** Scratch shared by the steps of one estimate (no per-row objects). */
interface Scratch {
    h: Float64Array; // n: heights along one direction
    sel: Float64Array; // n: copies for the quickselect
    hf: Float64Array; // f: flat heights along one direction
    bins: Float64Array; // PLANE_BINS
}

/** Every step-th row (x, y, z) of `src` (count rows), fixed stride, at most `max` rows. */
function strideRows(src: Float64Array, count: number, max: number): Float64Array {
    const step = Math.max(1, Math.ceil(count / max));
    const out = new Float64Array(3 * Math.ceil(count / step));
    for (let i = 0, j = 0; i < count; i += step, j++) {
        out[3 * j] = src[3 * i];
        out[3 * j + 1] = src[3 * i + 1];
        out[3 * j + 2] = src[3 * i + 2];
    }
    return out;
}

/** The candidate direction with the most normal weight within 5 degrees (scored on at most MAX_SCORED normals at a
 *  fixed stride), refined three times by all its inliers' weighted mean. */
function dominantDirection(normals: Float64Array, weights: Float64Array, f: number, candidates: Float64Array): { dir: [number, number, number]; score: number } {
    const step = Math.max(1, Math.ceil(f / MAX_SCORED));
    const scored = Math.ceil(f / step);
    const sx = new Float64Array(scored), sy = new Float64Array(scored), sz = new Float64Array(scored), sw = new Float64Array(scored);
    for (let i = 0, j = 0; i < f; i += step, j++) {
        sx[j] = normals[3 * i];
        sy[j] = normals[3 * i + 1];
        sz[j] = normals[3 * i + 2];
        sw[j] = weights[i];
    }
    const ncand = candidates.length / 3;
    const cosT = INLIER_COS; // a local: module constants are slower to read before the code is optimised
    let bestIndex = 0, bestScore = -Infinity;
    for (let c = 0; c < ncand; c++) {
        const cx = candidates[3 * c], cy = candidates[3 * c + 1], cz = candidates[3 * c + 2];
        let s = 0;
        for (let j = 0; j < scored; j++) {
            const d = cx * sx[j] + cy * sy[j] + cz * sz[j];
            if (d > cosT || -d > cosT) s += sw[j];
        }
        if (s > bestScore) {
            bestScore = s;
            bestIndex = c;
        }
    }
    let bx = candidates[3 * bestIndex], by = candidates[3 * bestIndex + 1], bz = candidates[3 * bestIndex + 2];
    for (let it = 0; it < 3; it++) {
        let mx = 0, my = 0, mz = 0, any = false;
        for (let i = 0; i < f; i++) {
            const nx = normals[3 * i], ny = normals[3 * i + 1], nz = normals[3 * i + 2];
            const d = bx * nx + by * ny + bz * nz;
            if (d > cosT) {
                any = true;
                const w = weights[i];
                mx += nx * w; my += ny * w; mz += nz * w;
            } else if (-d > cosT) {
                any = true;
                const w = weights[i];
                mx -= nx * w; my -= ny * w; mz -= nz * w;
            }
        }
        if (!any) break;
        const norm = Math.sqrt(mx * mx + my * my + mz * mz);
        if (!(norm > 0)) break;
        bx = mx / norm; by = my / norm; bz = mz / norm;
    }
    let score = 0;
    for (let i = 0; i < f; i++) {
        const d = bx * normals[3 * i] + by * normals[3 * i + 1] + bz * normals[3 * i + 2];
        if (d > cosT || -d > cosT) score += weights[i];
    }
    return { dir: [bx, by, bz], score };
}

/**
 * The plane nearest one end of a direction: the weighted median height of the flat Gaussians aligned with it
 * (mask bit `bit` of `aligned`) within PLANE_BAND of the extent from that end (lo or hi), found on a histogram of
 * PLANE_BINS bins over [end - band, end + band] (heights beyond it counted in the outer bins), and their total weight.
 * As rtgs2.frame._extreme_plane.
 */
function extremePlane(hf: Float64Array, f: number, weights: Float64Array, aligned: Uint8Array, bit: number, lo: number, hi: number, lowSide: boolean, bins: Float64Array): [number, number] {
    const band = PLANE_BAND * (hi - lo);
    const keep = lowSide ? (h: number) => h < lo + band : (h: number) => h > hi - band;
    return binnedMedian(hf, f, weights, aligned, bit, lowSide ? lo : hi, band, bins, keep);
}

/**
 * Flat Gaussians: an axis with a strong plane at one end and (almost) none at the other is a floor without a ceiling
 * (RGB-D scans often have none). The content rule's nearly empty top tenth does not hold there, so such an axis is
 * scored by local surfaces' contents rule (localUpScores) instead, when that rule puts the floor at the strong plane.
 * `planeShares[k]`: (low, high) plane weight / total surface weight. As rtgs2.frame._open_axis_scores.
 */
/**
 * The up axis of a room without a ceiling whose floor axis still lost to a wall axis: the only open axis, its floor at
 * the strong plane by the contents rule (openAxis), and at most OPEN_UP_GAP_RATIO of both other axes' extents (a
 * room is wider and deeper than tall). As rtgs2.frame._short_open_axis; null when the rule does not apply.
 */
function shortOpenAxis(perAxis: AxisInfo[], openAxes: number[]): number | null {
    if (openAxes.length !== 1 || !perAxis[openAxes[0]].openAxis) return null;
    const k = openAxes[0];
    const others = [0, 1, 2].filter((j) => j !== k).map((j) => perAxis[j].gap);
    return perAxis[k].gap <= OPEN_UP_GAP_RATIO * Math.min(...others) ? k : null;
}

function openAxisScores(perAxis: AxisInfo[], planeShares: number[][], heights: Float64Array[], n: number): number[] {
    const open = [0, 1, 2].filter((k) => {
        const [lo, hi] = planeShares[k];
        return perAxis[k].planes && perAxis[k].lowPlane !== undefined && Math.min(lo, hi) < OPEN_PLANE_SHARE && Math.max(lo, hi) >= 3 * OPEN_PLANE_SHARE;
    });
    if (open.length === 0) return open;
    const contents = perAxis.map((a) => ({ ...a }));
    localUpScores(contents, heights, n);
    for (const k of open) {
        const floorLow = planeShares[k][0] >= planeShares[k][1];
        if ((contents[k].contentsAsymmetry ?? 0) >= 0 === floorLow) {
            perAxis[k].score = contents[k].score;
            perAxis[k].lowIsFloor = floorLow;
            perAxis[k].openAxis = true;
        }
    }
    return open;
}

function cross(a: readonly number[], b: readonly number[]): number[] {
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** out[i] = dir . rows[i] for `count` rows of (x, y, z). */
function project(rows: Float64Array, count: number, dir: ArrayLike<number>, out: Float64Array): void {
    const dx = dir[0], dy = dir[1], dz = dir[2];
    for (let i = 0; i < count; i++) out[i] = dx * rows[3 * i] + dy * rows[3 * i + 1] + dz * rows[3 * i + 2];
}

interface AxisInfo {
    score: number;
    lowIsFloor: boolean;
    gap: number;
    planes: boolean;
    floorSide?: number;
    ceilingSide?: number;
    below?: number;
    above?: number;
    planeShare?: number;
    lowPlane?: number;
    highPlane?: number;
    contentsAsymmetry?: number;
    openAxis?: boolean;
}

/** Steps 1 (weights) to 5 on prepared rows. */
function estimatePrepared(p: Prepared): SceneFrame {
    const { total, n, xyz } = p;
    let { f, fxyz, normals, opac, area, logArea } = p;
    const evidence: Record<string, unknown> = { gaussians: total, sampled: n, method: FRAME_METHOD };
    if (n === 0) throw new SemanticSplatError("INVALID_ARGUMENT", `estimateSceneFrame: none of the ${total} Gaussians is finite`);
    if (n < MIN_GAUSSIANS) return fallbackFrame(0, `only ${n} finite Gaussians (< ${MIN_GAUSSIANS})`, evidence);
    const sel = new Float64Array(Math.min(n, RANGE_SAMPLES));
    let maxExtent = -Infinity;
    let extentFinite = true;
    const lo3: number[] = [], hi3: number[] = [];
    for (let k = 0; k < 3; k++) {
        const [p05, p995] = robustRange(xyz, n, k, 3, sel);
        lo3.push(p05);
        hi3.push(p995);
        const e = p995 - p05;
        if (!Number.isFinite(e)) extentFinite = false;
        maxExtent = Math.max(maxExtent, e);
    }
    if (!extentFinite || !(maxExtent > 0)) return fallbackFrame(0, "zero extent", evidence);
    evidence.flatFraction = round(f / n, 4);
    const local = f < Math.max(MIN_GAUSSIANS, LOCAL_SURFACES_BELOW * n);
    if (local) {
        const surfaces = localSurfaces(xyz, n, p.opAll, lo3, hi3);
        ({ count: f, positions: fxyz, normals, opacities: opac } = surfaces);
        area = new Float64Array(f); // unit area each: log area 0
        logArea = true;
        evidence.surfaces = "local";
        evidence.localSurfaces = f;
        evidence.localCell = surfaces.cell;
        if (f < MIN_GAUSSIANS) return fallbackFrame(0, "too few flat Gaussians or planar neighbourhoods to find surfaces", evidence);
    }
    const scratch: Scratch = { h: new Float64Array(n), sel, hf: new Float64Array(f), bins: new Float64Array(PLANE_BINS) };

    // 1. Weights: opacity x sqrt(area / median area), the ratio clipped to [e^-10, 10]; the median of at most
    // RANGE_SAMPLES areas at a fixed stride (numpy's median of the logs: the geometric mean of the middle two).
    const step = Math.max(1, Math.ceil(f / RANGE_SAMPLES));
    let c = 0;
    for (let i = 0; i < f; i += step) scratch.sel[c++] = area[i];
    const mid = scratch.sel.subarray(0, c);
    const lower = selectKth(mid, (c - 1) >> 1);
    let upper = lower;
    if (c % 2 === 0) {
        upper = Infinity;
        for (let i = ((c - 1) >> 1) + 1; i < c; i++) if (mid[i] < upper) upper = mid[i];
    }
    const weights = new Float64Array(f);
    let totalW = 0;
    const maxRel = Math.log(10);
    if (logArea) {
        const median = 0.5 * (lower + upper);
        for (let i = 0; i < f; i++) {
            const rel = Math.exp(Math.min(maxRel, Math.max(-10, 0.5 * (area[i] - median))));
            weights[i] = opac[i] * rel;
            totalW += weights[i];
        }
    } else {
        const median = Math.sqrt(lower * upper);
        const relMin = Math.exp(-10);
        for (let i = 0; i < f; i++) {
            const ratio = median > 0 ? area[i] / median : area[i] > 0 ? Infinity : 1;
            const rel = Math.min(10, Math.max(relMin, Math.sqrt(ratio)));
            weights[i] = opac[i] * rel;
            totalW += weights[i];
        }
    }
    if (!(totalW > 0)) return fallbackFrame(0, "flat Gaussians have no opacity", evidence);

    // 2. Manhattan frame: the dominant normal, then the dominant one within 10 degrees of perpendicular to it.
    const first = dominantDirection(normals, weights, f, strideRows(normals, f, MAX_CANDIDATES));
    const [a1x, a1y, a1z] = first.dir;
    const perpMin = PERP_MIN, alignedCos = ALIGNED_COS;
    let perpCount = 0;
    for (let i = 0; i < f; i++) {
        const nx = normals[3 * i], ny = normals[3 * i + 1], nz = normals[3 * i + 2];
        const d = a1x * nx + a1y * ny + a1z * nz;
        const px = nx - d * a1x, py = ny - d * a1y, pz = nz - d * a1z;
        if (Math.sqrt(px * px + py * py + pz * pz) > perpMin) perpCount++;
    }
    if (perpCount === 0) return fallbackFrame(0, "no surfaces perpendicular to the dominant one", evidence);
    // the candidates: every step-th of the qualifying normals' perpendicular parts, normalised
    const candStep = Math.max(1, Math.ceil(perpCount / MAX_CANDIDATES));
    const cand = new Float64Array(3 * Math.ceil(perpCount / candStep));
    for (let i = 0, q = 0, c = 0; i < f; i++) {
        const nx = normals[3 * i], ny = normals[3 * i + 1], nz = normals[3 * i + 2];
        const d = a1x * nx + a1y * ny + a1z * nz;
        const px = nx - d * a1x, py = ny - d * a1y, pz = nz - d * a1z;
        const pn = Math.sqrt(px * px + py * py + pz * pz);
        if (!(pn > perpMin)) continue;
        if (q % candStep === 0) {
            cand[3 * c] = px / pn;
            cand[3 * c + 1] = py / pn;
            cand[3 * c + 2] = pz / pn;
            c++;
        }
        q++;
    }
    let a2 = dominantDirection(normals, weights, f, cand).dir as number[];
    const d12 = a2[0] * a1x + a2[1] * a1y + a2[2] * a1z;
    a2 = [a2[0] - d12 * a1x, a2[1] - d12 * a1y, a2[2] - d12 * a1z];
    const n2 = Math.hypot(a2[0], a2[1], a2[2]);
    if (!(n2 > 0)) return fallbackFrame(0, "no surfaces perpendicular to the dominant one", evidence);
    a2 = a2.map((v) => v / n2);
    const a1 = [a1x, a1y, a1z];
    const axes = [a1, a2, cross(a1, a2)];
    // aligned: bit k set when the normal is within 10 degrees of axis k
    const aligned = new Uint8Array(f);
    let manhattanW = 0;
    {
        const [e0x, e0y, e0z] = axes[0], [e1x, e1y, e1z] = axes[1], [e2x, e2y, e2z] = axes[2];
        for (let i = 0; i < f; i++) {
            const nx = normals[3 * i], ny = normals[3 * i + 1], nz = normals[3 * i + 2];
            let bits = 0;
            const d0 = e0x * nx + e0y * ny + e0z * nz, d1 = e1x * nx + e1y * ny + e1z * nz, d2 = e2x * nx + e2y * ny + e2z * nz;
            if (d0 > alignedCos || -d0 > alignedCos) bits |= 1;
            if (d1 > alignedCos || -d1 > alignedCos) bits |= 2;
            if (d2 > alignedCos || -d2 > alignedCos) bits |= 4;
            aligned[i] = bits;
            if (bits !== 0) manhattanW += weights[i];
        }
    }
    const manhattan = manhattanW / totalW;
    evidence.manhattanFraction = round(manhattan, 4);

    // 3. Extreme planes per axis and where the contents sit between them.
    const h3 = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const hf3 = [new Float64Array(f), new Float64Array(f), new Float64Array(f)];
    const planes: { lo: number; hi: number; span: number; pLo: number; mLo: number; pHi: number; mHi: number }[] = [];
    const onBounding = new Uint8Array(f);
    for (let k = 0; k < 3; k++) {
        project(xyz, n, axes[k], h3[k]);
        const [lo, hi] = robustRange(h3[k], n, 0, 1, scratch.sel);
        const span = hi - lo;
        const hfk = hf3[k];
        project(fxyz, f, axes[k], hfk);
        const bit = 1 << k;
        const plane = local ? peakPlane : extremePlane;
        const [pLo, mLo] = plane(hfk, f, weights, aligned, bit, lo, hi, true, scratch.bins);
        const [pHi, mHi] = plane(hfk, f, weights, aligned, bit, lo, hi, false, scratch.bins);
        planes.push({ lo, hi, span, pLo, mLo, pHi, mHi });
        const bLo = lo + PLANE_BAND * span, bHi = hi - PLANE_BAND * span;
        for (let i = 0; i < f; i++) if ((aligned[i] & bit) !== 0 && (hfk[i] < bLo || hfk[i] > bHi)) onBounding[i] = 1;
    }
    const contentW = new Float64Array(f);
    let contentTotal = 0;
    for (let i = 0; i < f; i++) {
        const w = onBounding[i] ? 0 : weights[i];
        contentW[i] = w;
        contentTotal += w;
    }
    const perAxis: AxisInfo[] = [];
    for (let k = 0; k < 3; k++) {
        const { span, pLo, mLo, pHi, mHi } = planes[k];
        const gap = pHi - pLo;
        if (!(gap > 0) || contentTotal <= 0) {
            perAxis.push({ score: 0, lowIsFloor: true, gap: Math.max(gap, 0), planes: false });
            continue;
        }
        let low10 = 0, high10 = 0, lt40 = 0, gt60 = 0;
        const hfk = hf3[k];
        for (let i = 0; i < f; i++) {
            const w = contentW[i];
            if (w === 0) continue;
            let t = (hfk[i] - pLo) / gap;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            if (t < 0.1) low10 += w;
            if (t > 0.9) high10 += w;
            if (t < 0.4) lt40 += w;
            if (t > 0.6) gt60 += w;
        }
        low10 /= contentTotal;
        high10 /= contentTotal;
        const h = h3[k];
        const belowAt = pLo - 0.01 * span, aboveAt = pHi + 0.01 * span;
        let below = 0, above = 0;
        for (let i = 0; i < n; i++) {
            const v = h[i];
            if (v < belowAt) below++;
            if (v > aboveAt) above++;
        }
        below /= n;
        above /= n;
        const planeShare = (mLo + mHi) / totalW;
        const lowIsFloor = low10 >= high10;
        const floorSide = (lowIsFloor ? lt40 : gt60) / contentTotal;
        const ceilingSide = Math.min(low10, high10);
        perAxis.push({
            score: (floorSide - 8 * ceilingSide) * Math.min(1, 10 * planeShare),
            lowIsFloor,
            gap,
            planes: true,
            floorSide: round(floorSide, 4),
            ceilingSide: round(ceilingSide, 4),
            below: round(below, 4),
            above: round(above, 4),
            planeShare: round(planeShare, 4),
            lowPlane: pLo,
            highPlane: pHi,
        });
    }
    let openAxes: number[] = [];
    if (local) localUpScores(perAxis, h3, n);
    else openAxes = openAxisScores(perAxis, planes.map((p) => [p.mLo / totalW, p.mHi / totalW]), h3, n);
    const scores = perAxis.map((a) => a.score);
    const ranking = [0, 1, 2].sort((a, b) => scores[b] - scores[a] || a - b);
    let kUp = ranking[0];
    let best = scores[ranking[0]], second = scores[ranking[1]];
    const shortOpen = shortOpenAxis(perAxis, openAxes);
    if (shortOpen !== null && shortOpen !== kUp) {
        evidence.shortOpenAxisUp = true;
        best = scores[shortOpen];
        second = scores[kUp];
        kUp = shortOpen;
    }
    const info = perAxis[kUp];
    evidence.axes = axes.map((a) => a.map((v) => round(v, 6)));
    evidence.axisScores = scores.map((s) => round(s, 4));
    if (!info.planes) {
        evidence.perAxis = perAxis;
        return fallbackFrame(0, "no floor and ceiling planes along any axis", evidence);
    }
    const sign = info.lowIsFloor ? 1 : -1;
    const up = axes[kUp].map((v) => v * sign);
    const floorUnits = info.lowIsFloor ? info.lowPlane! : -info.highPlane!;
    const heightUnits = info.gap;

    // 4. Yaw: the other two axes onto X and Z nearest the input frame (largest trace); rows x, y, z.
    const horiz = [0, 1, 2].filter((j) => j !== kUp).map((j) => axes[j]);
    let rotation: number[] = [...IDENTITY_ROTATION];
    let bestTrace = -Infinity;
    for (const h of [horiz[0], horiz[0].map((v) => -v), horiz[1], horiz[1].map((v) => -v)]) {
        const z = cross(h, up);
        const trace = h[0] + up[1] + z[2];
        if (trace > bestTrace + 1e-9) {
            bestTrace = trace;
            rotation = [...h, ...up, ...z];
        }
    }
    rotation = orthonormalize(rotation);
    let floorUnitsFinal = floorUnits;
    const snapped = snapToAxes(rotation);
    if (snapped) {
        evidence.snappedDeg = round(rotationAngleDeg(rotation, snapped), 4);
        rotation = snapped;
        // the floor along the snapped up axis (the plane was found along the estimated one)
        const u = [rotation[3], rotation[4], rotation[5]];
        project(xyz, n, u, scratch.h);
        const [lo, hi] = robustRange(scratch.h, n, 0, 1, scratch.sel);
        project(fxyz, f, u, scratch.hf);
        floorUnitsFinal = (local ? peakPlane : extremePlane)(scratch.hf, f, weights, aligned, 1 << kUp, lo, hi, true, scratch.bins)[0];
    }
    // the ceiling: is there one? (CEILING_MIN_SHARE)
    let ceilingShare: number;
    let hasCeiling: boolean;
    if (local) {
        // t: 0 at the floor, 1 at the ceiling plane; the band below it also holds the ceiling's points when the
        // estimate is tilted by a degree or two
        const h = h3[kUp];
        const lowPlane = info.lowPlane!;
        let near = 0;
        for (let i = 0; i < n; i++) {
            let t = (h[i] - lowPlane) / heightUnits;
            if (!info.lowIsFloor) t = 1 - t;
            if (t > 1 - CEILING_POINTS_BAND && t < 1 + CEILING_POINTS_BAND / 4) near++;
        }
        ceilingShare = near / n;
        hasCeiling = ceilingShare >= CEILING_MIN_POINTS;
    } else {
        ceilingShare = (info.lowIsFloor ? planes[kUp].mHi : planes[kUp].mLo) / totalW;
        hasCeiling = ceilingShare >= CEILING_MIN_SHARE;
    }
    evidence.ceilingShare = round(ceilingShare, 4);
    let metresPerUnit: number;
    if (hasCeiling) {
        metresPerUnit = heightUnits > 0 ? CEILING_PRIOR_M / heightUnits : 1;
    } else {
        const widths = [0, 1, 2].filter((j) => j !== kUp).map((j) => perAxis[j].gap);
        const width = Math.min(...widths) > 0 ? Math.sqrt(widths[0] * widths[1]) : 0;
        metresPerUnit = width > 0 ? 10 ** Math.floor(Math.log10(TYPICAL_ROOM_WIDTH_M / width) + 0.5) : 1;
        evidence.scale = "unit guess: no ceiling";
    }
    const floorHeight = floorUnitsFinal * metresPerUnit;

    // 5. Confidence
    const margin = best > 0 ? (best - second) / best : 0;
    const floorClean = 1 - Math.min(1, 20 * (info.lowIsFloor ? info.below! : info.above!));
    // Proportions: a room is rarely taller than both wide and deep; such an up axis must win clearly (as frame.py).
    const longestUp = [0, 1, 2].every((j) => j === kUp || perAxis[kUp].gap > perAxis[j].gap);
    const proportion = longestUp ? Math.min(1, margin / LONGEST_UP_MARGIN) : 1;
    evidence.longestUp = longestUp;
    const strength = local ? Math.min(1, best / LOCAL_FULL_ASYMMETRY) : Math.min(1, 4 * best);
    let confidence = Math.min(1, Math.max(0, Math.min(1, manhattan / 0.6) * strength * Math.min(1, 2 * margin + 0.2) * floorClean * proportion));
    // chosen against the scores: its own evidence (Manhattan surfaces, a clean floor) under the no-ceiling cap
    if (evidence.shortOpenAxisUp) confidence = Math.min(1, Math.max(0, Math.min(1, manhattan / 0.6) * floorClean));
    if (!hasCeiling) confidence = Math.min(confidence, NO_CEILING_CONFIDENCE);
    // an open axis (a plane at one end only) not taken for up: a floor without a ceiling lost to a wall axis, or a
    // room missing a wall; not trusted more than a no-ceiling estimate (as frame.py)
    if (openAxes.length > 0 && !openAxes.includes(kUp)) {
        confidence = Math.min(confidence, NO_CEILING_CONFIDENCE);
        evidence.openAxisNotUp = true;
    }
    Object.assign(evidence, {
        upAxisIndex: kUp,
        heightUnits,
        ceilingPriorMetres: CEILING_PRIOR_M,
        upScore: round(best, 4),
        secondScore: round(second, 4),
        perAxis,
    });
    if (!rotation.every(Number.isFinite) || !Number.isFinite(metresPerUnit) || !Number.isFinite(floorHeight) || !(metresPerUnit > 0)) {
        return fallbackFrame(0, "non-finite estimate", evidence);
    }
    const frame: SceneFrame = { rotation, metresPerUnit, floorHeight, confidence, fallback: false, source: "auto", evidence };
    if (confidence < FALLBACK_CONFIDENCE) {
        const estimate = { rotation, metresPerUnit, floorHeight, confidence };
        return fallbackFrame(confidence, "low confidence: not recognisably a room", { ...evidence, estimate });
    }
    return frame;
}

/** The angle of the rotation taking b to a (3x3 row-major), in degrees. */
export function rotationAngleDeg(a: readonly number[], b: readonly number[]): number {
    let trace = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) trace += a[3 * i + j] * b[3 * i + j];
    return (Math.acos(Math.min(1, Math.max(-1, (trace - 1) / 2))) * 180) / Math.PI;
}

/** The proper signed permutation within maxDeg of `r` (3x3 row-major), or null (as rtgs2.frame.snap_to_axes). */
export function snapToAxes(r: readonly number[], maxDeg = SNAP_DEG): number[] | null {
    const p = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const used = new Set<number>();
    for (let i = 0; i < 3; i++) {
        let j = 0;
        for (let c = 1; c < 3; c++) if (Math.abs(r[3 * i + c]) > Math.abs(r[3 * i + j])) j = c;
        used.add(j);
        p[3 * i + j] = r[3 * i + j] >= 0 ? 1 : -1;
    }
    if (used.size !== 3) return null;
    const det = p[0] * (p[4] * p[8] - p[5] * p[7]) - p[1] * (p[3] * p[8] - p[5] * p[6]) + p[2] * (p[3] * p[7] - p[4] * p[6]);
    if (det < 0 || rotationAngleDeg(r, p) >= maxDeg) return null;
    return p;
}

/** Gram-Schmidt on the rows (x, then y kept as up: y first), z = x cross y: a proper rotation. */
function orthonormalize(r: number[]): number[] {
    let y = [r[3], r[4], r[5]];
    const ny = Math.hypot(y[0], y[1], y[2]);
    y = y.map((v) => v / ny);
    let x = [r[0], r[1], r[2]];
    const d = dot(x, y);
    x = [x[0] - d * y[0], x[1] - d * y[1], x[2] - d * y[2]];
    const nx = Math.hypot(x[0], x[1], x[2]);
    x = x.map((v) => v / nx);
    const z = cross(x, y);
    return [...x, ...y, ...z];
}

/** Bytes per Babylon splat row (position f32 x3, scale f32 x3, rgba u8 x4, rotation u8 x4 as q * 127.5 + 127.5, w first). */
const ROW_BYTES = 32;

/**
 * Estimates the frame of Babylon splat rows (GaussianSplattingMesh.splatsData) after the mesh's world matrix
 * (Matrix.m order, row vectors; default identity), reading only the fixed-stride subsample. What the worker and
 * the command run. Throws INVALID_ARGUMENT for a partial row, a singular world matrix or no finite Gaussian.
 */
export function estimateSceneFrameFromSplatRows(rows: ArrayBuffer | ArrayBufferView, options: EstimateOptions & { worldMatrix?: ArrayLike<number> } = {}): SceneFrame {
    const bytes = rows instanceof ArrayBuffer ? new Uint8Array(rows) : new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    if (bytes.byteLength % ROW_BYTES !== 0) throw new SemanticSplatError("INVALID_ARGUMENT", `estimateSceneFrame: ${bytes.byteLength} bytes is not a whole number of ${ROW_BYTES}-byte splat rows`);
    const count = bytes.byteLength / ROW_BYTES;
    if (count === 0) throw new SemanticSplatError("INVALID_ARGUMENT", "estimateSceneFrame: the scene has no Gaussians");
    const m = options.worldMatrix ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    if (m.length !== 16 || !Array.from(m).every(Number.isFinite)) throw new SemanticSplatError("INVALID_ARGUMENT", "estimateSceneFrame: worldMatrix must be 16 finite numbers");
    // column-vector linear part: world_j = sum_i L[j][i] p_i + m[12 + j]
    const lin = [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]];
    const det = lin[0] * (lin[4] * lin[8] - lin[5] * lin[7]) - lin[1] * (lin[3] * lin[8] - lin[5] * lin[6]) + lin[2] * (lin[3] * lin[7] - lin[4] * lin[6]);
    if (!(Math.abs(det) > 0)) throw new SemanticSplatError("INVALID_ARGUMENT", "estimateSceneFrame: the world matrix is singular (a zero scaling?)");
    const shift = Math.log(Math.cbrt(Math.abs(det)));
    const { start, stride } = subsampleStride(count, options.seed ?? 0);
    const sampled = Math.ceil((count - start) / stride);
    // typed-array views (no DataView calls per value); rows are little-endian like every platform Babylon runs on
    const aligned4 = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    const floats = new Float32Array(aligned4.buffer, aligned4.byteOffset, aligned4.byteLength / 4);
    const u8 = aligned4;
    const p = allocPrepared(count, sampled);
    const { xyz, opAll, fxyz, normals, opac, area } = p;
    p.logArea = false;
    const l0x = lin[0], l0y = lin[1], l0z = lin[2], l1x = lin[3], l1y = lin[4], l1z = lin[5], l2x = lin[6], l2y = lin[7], l2z = lin[8];
    const tx = m[12], ty = m[13], tz = m[14];
    const t = Float64Array.from(lin);
    const flatRatio = FLAT_RATIO;
    let k = 0, f = 0;
    for (let r = start; r < count; r += stride) {
        const s = r * ROW_BYTES, w = r * (ROW_BYTES / 4);
        const px = floats[w], py = floats[w + 1], pz = floats[w + 2];
        // linear scales: the order and the flat test (s1 >= 3 s0) need no logarithm; a zero scale is the smallest
        const s0 = floats[w + 3], s1 = floats[w + 4], s2 = floats[w + 5];
        const qw = (u8[s + 28] - 127.5) / 127.5, qx = (u8[s + 29] - 127.5) / 127.5, qy = (u8[s + 30] - 127.5) / 127.5, qz = (u8[s + 31] - 127.5) / 127.5;
        const qn = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
        const sum = px + py + pz + s0 + s1 + s2;
        if (!(sum - sum === 0 && s0 >= 0 && s1 >= 0 && s2 >= 0 && qn > 1e-12)) continue; // sum - sum: NaN for NaN, infinities
        const x = l0x * px + l0y * py + l0z * pz + tx, y = l1x * px + l1y * py + l1z * pz + ty, z = l2x * px + l2y * py + l2z * pz + tz;
        xyz[3 * k] = x;
        xyz[3 * k + 1] = y;
        xyz[3 * k + 2] = z;
        opAll[k] = u8[s + 27] / 255;
        k++;
        let k0 = 0, v0 = s0, va = s1, vb = s2;
        if (s1 < v0) { k0 = 1; v0 = s1; va = s0; }
        if (s2 < v0) { k0 = 2; v0 = s2; va = s0; vb = s1; }
        const v1 = va < vb ? va : vb;
        if (!(v1 >= flatRatio * v0)) continue;
        writeNormal(normals, 3 * f, k0, qw / qn, qx / qn, qy / qn, qz / qn, t);
        fxyz[3 * f] = x;
        fxyz[3 * f + 1] = y;
        fxyz[3 * f + 2] = z;
        opac[f] = u8[s + 27] / 255;
        area[f] = va * vb; // the world matrix's scale cancels in area / median area
        f++;
    }
    p.n = k;
    p.f = f;
    return estimatePrepared(p);
}
