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
import { IDENTITY_ROTATION, type SceneFrame } from "./sceneFrame";

/** SynthRooms ceilings are 2.5-3.0 m; real rooms mostly 2.4-3.0 m (see factory/rtgs2/frame.py for the sources). */
export const CEILING_PRIOR_M = 2.75;
export const MAX_SAMPLES = 100_000;
const MAX_CANDIDATES = 600;
const MAX_SCORED = 20_000;
export const MIN_GAUSSIANS = 64;
const FLAT_LOG_RATIO = Math.log(3);
const INLIER_COS = Math.cos((5 * Math.PI) / 180);
const ALIGNED_COS = Math.cos((10 * Math.PI) / 180);
const PERP_MIN = Math.cos((10 * Math.PI) / 180); // |perpendicular part| of a candidate second axis (within 10 deg of perpendicular)
const PLANE_BAND = 0.04;
export const FALLBACK_CONFIDENCE = 0.35;
/** An estimate within this angle of an axis-aligned rotation is snapped to it (see SNAP_DEG in frame.py: exporters
 *  write axis-aligned frames exactly; a residual turn of a fraction of a degree moves Gaussians across voxels). */
export const SNAP_DEG = 1.0;
export const FRAME_METHOD = "manhattan-floor-ceiling-v1";

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

/** Prepared per-Gaussian data: finite rows of the subsample with their normals (flat ones) and weights. */
interface Prepared {
    total: number;
    n: number; // finite sampled Gaussians
    xyz: Float64Array; // n x 3
    flatCount: number;
    fxyz: Float64Array; // flat x 3
    normals: Float64Array; // flat x 3, unit
    weights: Float64Array; // flat
    flatFraction: number;
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

function column(a: Float64Array, n: number, stride: number, k: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = a[i * stride + k];
    return out;
}

/** The k-th smallest of a[lo..hi] (in place, Hoare quickselect with a median-of-three pivot). */
function selectKth(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
    while (hi > lo) {
        const mid = (lo + hi) >> 1;
        // median of three as the pivot
        let x = a[lo], y = a[mid], z = a[hi];
        if (x > y) [x, y] = [y, x];
        if (y > z) [y, z] = [z, y];
        if (x > y) [x, y] = [y, x];
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

/** numpy's linear-interpolation percentiles of `values` (reordered in place; no NaN), without a full sort. */
function percentiles(values: Float64Array, qs: readonly number[]): number[] {
    const n = values.length;
    return qs.map((q) => {
        const pos = (q / 100) * (n - 1);
        const lo = Math.floor(pos);
        const a = selectKth(values, lo);
        if (lo + 1 >= n || pos === lo) return a;
        // the next order statistic: the smallest of what lies right of position lo
        let b = Infinity;
        for (let i = lo + 1; i < n; i++) if (values[i] < b) b = values[i];
        return a + (b - a) * (pos - lo);
    });
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
    const sampled: number[] = [];
    for (let i = start; i < n; i += stride) sampled.push(i);
    // opacity: logits when any sampled value is outside [0, 1] (a NaN makes numpy's min/max NaN: no sigmoid)
    let omin = Infinity, omax = -Infinity, anyNaN = false;
    for (const i of sampled) {
        const o = g.opacities[i];
        if (Number.isNaN(o)) anyNaN = true;
        if (o < omin) omin = o;
        if (o > omax) omax = o;
    }
    const logits = !anyNaN && sampled.length > 0 && (omin < 0 || omax > 1);
    return estimateFromRows(
        n,
        sampled.length,
        (j, out) => {
            const i = sampled[j];
            for (let c = 0; c < 3; c++) {
                out.xyz[c] = g.positions[3 * i + c];
                out.logScales[c] = g.logScales[3 * i + c];
            }
            for (let c = 0; c < 4; c++) out.quat[c] = g.quaternions[4 * i + c];
            const o = g.opacities[i];
            out.opacity = logits ? 1 / (1 + Math.exp(-Math.min(60, Math.max(-60, o)))) : o;
        },
        null
    );
}

interface RowScratch {
    xyz: Float64Array;
    logScales: Float64Array;
    quat: Float64Array;
    opacity: number;
}

/**
 * The common path: `m` sampled rows read by `read`, out of `total`. `normalMatrix` (3x3 row-major, may be a
 * reflection and a uniform scale) maps a local axis direction to the scene (the splat-row path's world matrix).
 */
export function estimateFromRows(total: number, m: number, read: (j: number, out: RowScratch) => void, normalMatrix: ArrayLike<number> | null): SceneFrame {
    const row: RowScratch = { xyz: new Float64Array(3), logScales: new Float64Array(3), quat: new Float64Array(4), opacity: 0 };
    const rx = row.xyz, rl = row.logScales, rq = row.quat;
    const xyz = new Float64Array(m * 3);
    const fxyzAll = new Float64Array(m * 3);
    const normalsAll = new Float64Array(m * 3);
    const opac = new Float64Array(m);
    const logArea = new Float64Array(m);
    const t = normalMatrix ? Float64Array.from(normalMatrix) : null;
    let n = 0;
    let f = 0;
    for (let j = 0; j < m; j++) {
        read(j, row);
        const x = rx[0], y = rx[1], z = rx[2];
        const l0 = rl[0], l1 = rl[1], l2 = rl[2];
        const qw = rq[0], qx = rq[1], qy = rq[2], qz = rq[3];
        const qn = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
        if (!(Number.isFinite(x + y + z + l0 + l1 + l2 + qw + qx + qy + qz + row.opacity) && qn > 1e-12)) continue;
        xyz[3 * n] = x;
        xyz[3 * n + 1] = y;
        xyz[3 * n + 2] = z;
        n++;
        // sorted log-scales (stable argsort): smallest axis k0, then the middle (k1) and largest (k2)
        let k0 = 0, k1 = 1, k2 = 2;
        let v0 = l0, v1 = l1, v2 = l2;
        if (v1 < v0) { k0 = 1; k1 = 0; v0 = l1; v1 = l0; }
        if (v2 < v1) {
            const kk = k1, vv = v1;
            k1 = k2; v1 = v2; k2 = kk; v2 = vv;
            if (v1 < v0) { const k = k0, v = v0; k0 = k1; v0 = v1; k1 = k; v1 = v; }
        }
        if (v1 - v0 < FLAT_LOG_RATIO) continue;
        // normal: column k0 of the quaternion's rotation matrix
        const w = qw / qn, a = qx / qn, b = qy / qn, c = qz / qn;
        let nx: number, ny: number, nz: number;
        if (k0 === 0) {
            nx = 1 - 2 * (b * b + c * c); ny = 2 * (a * b + w * c); nz = 2 * (a * c - w * b);
        } else if (k0 === 1) {
            nx = 2 * (a * b - w * c); ny = 1 - 2 * (a * a + c * c); nz = 2 * (b * c + w * a);
        } else {
            nx = 2 * (a * c + w * b); ny = 2 * (b * c - w * a); nz = 1 - 2 * (a * a + b * b);
        }
        if (t) {
            const tx = t[0] * nx + t[1] * ny + t[2] * nz, ty = t[3] * nx + t[4] * ny + t[5] * nz, tz = t[6] * nx + t[7] * ny + t[8] * nz;
            const len = Math.sqrt(tx * tx + ty * ty + tz * tz);
            nx = tx / len; ny = ty / len; nz = tz / len;
        }
        fxyzAll[3 * f] = x;
        fxyzAll[3 * f + 1] = y;
        fxyzAll[3 * f + 2] = z;
        normalsAll[3 * f] = nx;
        normalsAll[3 * f + 1] = ny;
        normalsAll[3 * f + 2] = nz;
        opac[f] = row.opacity;
        logArea[f] = v1 + v2;
        f++;
    }
    const flatCount = f;
    const evidence: Record<string, unknown> = { gaussians: total, sampled: n, method: FRAME_METHOD };
    if (n === 0) throw new SemanticSplatError("INVALID_ARGUMENT", `estimateSceneFrame: none of the ${total} Gaussians is finite`);
    if (n < MIN_GAUSSIANS) return fallbackFrame(0, `only ${n} finite Gaussians (< ${MIN_GAUSSIANS})`, evidence);
    let maxExtent = -Infinity;
    let extentFinite = true;
    for (let k = 0; k < 3; k++) {
        const [p05, p995] = percentiles(column(xyz, n, 3, k), [0.5, 99.5]);
        const e = p995 - p05;
        if (!Number.isFinite(e)) extentFinite = false;
        maxExtent = Math.max(maxExtent, e);
    }
    if (!extentFinite || !(maxExtent > 0)) return fallbackFrame(0, "zero extent", evidence);
    evidence.flatFraction = round(flatCount / n, 4);
    if (flatCount < MIN_GAUSSIANS) return fallbackFrame(0, "too few flat Gaussians to find surfaces", evidence);
    const medianLogArea = percentiles(logArea.slice(0, flatCount), [50])[0];
    const weights = new Float64Array(flatCount);
    let totalW = 0;
    const maxRel = Math.log(10);
    for (let i = 0; i < flatCount; i++) {
        const rel = Math.exp(Math.min(maxRel, Math.max(-10, 0.5 * (logArea[i] - medianLogArea))));
        weights[i] = opac[i] * rel;
        totalW += weights[i];
    }
    if (!(totalW > 0)) return fallbackFrame(0, "flat Gaussians have no opacity", evidence);
    return estimateFromFlat(
        { total, n, xyz: xyz.subarray(0, 3 * n), flatCount, fxyz: fxyzAll.subarray(0, 3 * f), normals: normalsAll.subarray(0, 3 * f), weights, flatFraction: flatCount / n },
        totalW,
        evidence
    );
}

function round(v: number, digits: number): number {
    return Number(v.toFixed(digits));
}

/** At most `count` rows of a (len x 3) array at a fixed stride. */
function pick(arr: Float64Array, count: number): Float64Array {
    const len = arr.length / 3;
    if (len <= count) return arr;
    const step = Math.ceil(len / count);
    const out: number[] = [];
    for (let i = 0; i < len; i += step) out.push(arr[3 * i], arr[3 * i + 1], arr[3 * i + 2]);
    return Float64Array.from(out);
}

/** The candidate direction with the most normal weight within 5 degrees, refined by its inliers' weighted mean. */
function dominantDirection(normals: Float64Array, weights: Float64Array, candidates: Float64Array): { dir: number[]; score: number } {
    const f = weights.length;
    const step = Math.max(1, Math.ceil(f / MAX_SCORED));
    const ncand = candidates.length / 3;
    // the scored normals (every step-th), contiguous
    const scored = Math.ceil(f / step);
    const sx = new Float32Array(scored), sy = new Float32Array(scored), sz = new Float32Array(scored), sw = new Float64Array(scored);
    for (let i = 0, j = 0; i < f; i += step, j++) {
        sx[j] = normals[3 * i];
        sy[j] = normals[3 * i + 1];
        sz[j] = normals[3 * i + 2];
        sw[j] = weights[i];
    }
    let bestIndex = 0, bestScore = -Infinity;
    for (let c = 0; c < ncand; c++) {
        const cx = candidates[3 * c], cy = candidates[3 * c + 1], cz = candidates[3 * c + 2];
        let s = 0;
        for (let j = 0; j < scored; j++) {
            const d = cx * sx[j] + cy * sy[j] + cz * sz[j];
            if (d > INLIER_COS || d < -INLIER_COS) s += sw[j];
        }
        if (s > bestScore) {
            bestScore = s;
            bestIndex = c;
        }
    }
    let best = [candidates[3 * bestIndex], candidates[3 * bestIndex + 1], candidates[3 * bestIndex + 2]];
    for (let it = 0; it < 3; it++) {
        let mx = 0, my = 0, mz = 0, any = false;
        for (let i = 0; i < f; i++) {
            const d = best[0] * normals[3 * i] + best[1] * normals[3 * i + 1] + best[2] * normals[3 * i + 2];
            if (d > INLIER_COS || d < -INLIER_COS) {
                any = true;
                const s = Math.sign(d) * weights[i];
                mx += normals[3 * i] * s;
                my += normals[3 * i + 1] * s;
                mz += normals[3 * i + 2] * s;
            }
        }
        if (!any) break;
        const norm = Math.hypot(mx, my, mz);
        if (!(norm > 0)) break;
        best = [mx / norm, my / norm, mz / norm];
    }
    let score = 0;
    for (let i = 0; i < f; i++) {
        const d = best[0] * normals[3 * i] + best[1] * normals[3 * i + 1] + best[2] * normals[3 * i + 2];
        if (d > INLIER_COS || d < -INLIER_COS) score += weights[i];
    }
    return { dir: best, score };
}

/** Weighted median position and total weight of the aligned Gaussians within PLANE_BAND of one end. */
function extremePlane(h: Float64Array, w: Float64Array, lo: number, hi: number, lowSide: boolean): [number, number] {
    const band = PLANE_BAND * (hi - lo);
    const idx: number[] = [];
    for (let i = 0; i < h.length; i++) if (lowSide ? h[i] < lo + band : h[i] > hi - band) idx.push(i);
    if (idx.length === 0) return [lowSide ? lo : hi, 0];
    idx.sort((a, b) => h[a] - h[b] || a - b);
    let total = 0;
    for (const i of idx) total += w[i];
    const half = 0.5 * total;
    let c = 0;
    for (const i of idx) {
        c += w[i];
        if (c >= half) return [h[i], total];
    }
    return [h[idx[idx.length - 1]], total];
}

function cross(a: number[], b: number[]): number[] {
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
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
}

function estimateFromFlat(p: Prepared, totalW: number, evidence: Record<string, unknown>): SceneFrame {
    const { n, xyz, flatCount: f, fxyz, normals, weights } = p;
    // 2. Manhattan frame
    const first = dominantDirection(normals, weights, pick(normals, MAX_CANDIDATES));
    const a1 = first.dir;
    const cand: number[] = [];
    for (let i = 0; i < f; i++) {
        const d = a1[0] * normals[3 * i] + a1[1] * normals[3 * i + 1] + a1[2] * normals[3 * i + 2];
        const px = normals[3 * i] - d * a1[0], py = normals[3 * i + 1] - d * a1[1], pz = normals[3 * i + 2] - d * a1[2];
        const pn = Math.hypot(px, py, pz);
        if (pn > PERP_MIN) cand.push(px / pn, py / pn, pz / pn);
    }
    if (cand.length === 0) return fallbackFrame(0, "no surfaces perpendicular to the dominant one", evidence);
    let a2 = dominantDirection(normals, weights, pick(Float64Array.from(cand), MAX_CANDIDATES)).dir;
    const d12 = dot(a2, a1);
    a2 = [a2[0] - d12 * a1[0], a2[1] - d12 * a1[1], a2[2] - d12 * a1[2]];
    const n2 = Math.hypot(a2[0], a2[1], a2[2]);
    if (!(n2 > 0)) return fallbackFrame(0, "no surfaces perpendicular to the dominant one", evidence);
    a2 = a2.map((v) => v / n2);
    const a3 = cross(a1, a2);
    const axes = [a1, a2, a3];
    const aligned = new Uint8Array(f * 3);
    let manhattanW = 0;
    for (let i = 0; i < f; i++) {
        let any = false;
        for (let k = 0; k < 3; k++) {
            const d = Math.abs(axes[k][0] * normals[3 * i] + axes[k][1] * normals[3 * i + 1] + axes[k][2] * normals[3 * i + 2]);
            if (d > ALIGNED_COS) {
                aligned[3 * i + k] = 1;
                any = true;
            }
        }
        if (any) manhattanW += weights[i];
    }
    const manhattan = manhattanW / totalW;
    evidence.manhattanFraction = round(manhattan, 4);

    // 3. Extreme planes per axis and where the contents sit between them.
    const hAll: Float64Array[] = [];
    const hf: Float64Array[] = [];
    const planes: { lo: number; hi: number; span: number; pLo: number; mLo: number; pHi: number; mHi: number }[] = [];
    const onBounding = new Uint8Array(f);
    for (let k = 0; k < 3; k++) {
        const h = new Float64Array(n);
        for (let i = 0; i < n; i++) h[i] = axes[k][0] * xyz[3 * i] + axes[k][1] * xyz[3 * i + 1] + axes[k][2] * xyz[3 * i + 2];
        const hfk = new Float64Array(f);
        for (let i = 0; i < f; i++) hfk[i] = axes[k][0] * fxyz[3 * i] + axes[k][1] * fxyz[3 * i + 1] + axes[k][2] * fxyz[3 * i + 2];
        hAll.push(h);
        hf.push(hfk);
        const [lo, hi] = percentiles(Float64Array.from(h), [0.5, 99.5]);
        const span = hi - lo;
        const wk = new Float64Array(f);
        for (let i = 0; i < f; i++) wk[i] = aligned[3 * i + k] ? weights[i] : 0;
        const [pLo, mLo] = extremePlane(hfk, wk, lo, hi, true);
        const [pHi, mHi] = extremePlane(hfk, wk, lo, hi, false);
        planes.push({ lo, hi, span, pLo, mLo, pHi, mHi });
        const band = PLANE_BAND * span;
        for (let i = 0; i < f; i++) if (aligned[3 * i + k] && (hfk[i] < lo + band || hfk[i] > hi - band)) onBounding[i] = 1;
    }
    const contentW = new Float64Array(f);
    let contentTotal = 0;
    for (let i = 0; i < f; i++) {
        contentW[i] = onBounding[i] ? 0 : weights[i];
        contentTotal += contentW[i];
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
        for (let i = 0; i < f; i++) {
            const t = Math.min(1, Math.max(0, (hf[k][i] - pLo) / gap));
            const w = contentW[i];
            if (t < 0.1) low10 += w;
            if (t > 0.9) high10 += w;
            if (t < 0.4) lt40 += w;
            if (t > 0.6) gt60 += w;
        }
        low10 /= contentTotal;
        high10 /= contentTotal;
        let below = 0, above = 0;
        const h = hAll[k];
        for (let i = 0; i < n; i++) {
            if (h[i] < pLo - 0.01 * span) below++;
            if (h[i] > pHi + 0.01 * span) above++;
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
    const scores = perAxis.map((a) => a.score);
    const ranking = [0, 1, 2].sort((a, b) => scores[b] - scores[a] || a - b);
    const kUp = ranking[0];
    const best = scores[ranking[0]], second = scores[ranking[1]];
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
        const hs = new Float64Array(n);
        for (let i = 0; i < n; i++) hs[i] = u[0] * xyz[3 * i] + u[1] * xyz[3 * i + 1] + u[2] * xyz[3 * i + 2];
        const [lo, hi] = percentiles(hs, [0.5, 99.5]);
        const hfs = new Float64Array(f);
        const wk = new Float64Array(f);
        for (let i = 0; i < f; i++) {
            hfs[i] = u[0] * fxyz[3 * i] + u[1] * fxyz[3 * i + 1] + u[2] * fxyz[3 * i + 2];
            wk[i] = aligned[3 * i + kUp] ? weights[i] : 0;
        }
        floorUnitsFinal = extremePlane(hfs, wk, lo, hi, true)[0];
    }
    const metresPerUnit = heightUnits > 0 ? CEILING_PRIOR_M / heightUnits : 1;
    const floorHeight = floorUnitsFinal * metresPerUnit;

    // 5. Confidence
    const margin = best > 0 ? (best - second) / best : 0;
    const floorClean = 1 - Math.min(1, 20 * (info.lowIsFloor ? info.below! : info.above!));
    const confidence = Math.min(1, Math.max(0, Math.min(1, manhattan / 0.6) * Math.min(1, 4 * best) * Math.min(1, 2 * margin + 0.2) * floorClean));
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
const MIN_LOG_SCALE = Math.log(1.1754943508222875e-38);

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
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return estimateFromRows(
        count,
        sampled,
        (j, out) => {
            const s = (start + j * stride) * ROW_BYTES;
            const x = view.getFloat32(s, true), y = view.getFloat32(s + 4, true), z = view.getFloat32(s + 8, true);
            for (let k = 0; k < 3; k++) out.xyz[k] = lin[3 * k] * x + lin[3 * k + 1] * y + lin[3 * k + 2] * z + m[12 + k];
            for (let k = 0; k < 3; k++) {
                const scale = view.getFloat32(s + 12 + 4 * k, true);
                out.logScales[k] = (scale > 0 ? Math.log(scale) : scale === 0 ? MIN_LOG_SCALE : NaN) + shift;
            }
            out.opacity = bytes[s + 27] / 255;
            for (let k = 0; k < 4; k++) out.quat[k] = (bytes[s + 28 + k] - 127.5) / 127.5;
        },
        lin
    );
}
