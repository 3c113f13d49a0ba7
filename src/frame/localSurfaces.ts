// Local surfaces (issue 13, docs/FRAME.md): where few Gaussians are flat (splats made from scanned surface points
// are round, so they carry no normal), surfaces come from the positions alone: planar cells of a grid over the
// sample. The twin of local_surfaces and _local_up_scores in factory/rtgs2/frame.py: the same cells, in the same
// order, from the same sums.

/** The finest grid (cells along the longest robust extent), where the sampling density is measured. */
export const LOCAL_FINE_CELLS = 64;
/** The coarsest grid. */
export const LOCAL_COARSE_CELLS = 8;
/** Sampled Gaussians a surface cell should hold on average. */
export const LOCAL_TARGET_POINTS = 12;
/** Sampled Gaussians a cell needs before its covariance is trusted. */
export const LOCAL_MIN_POINTS = 5;
/** Up axis of local surfaces: (smallest gap / gap) ** 4, rooms being lower than they are wide and deep. */
export const LOCAL_GAP_POWER = 4;
/** Contents asymmetry (lower half against upper half) x gap factor that gives full strength to the up axis. */
export const LOCAL_FULL_ASYMMETRY = 0.2;
/** Local surfaces' extreme planes (peakPlane): histogram bins over the widened robust range. */
export const PEAK_BINS = 256;
/** The robust range is widened by this fraction of it on each side. */
export const PEAK_MARGIN = 0.1;
/** A plane: a bin whose 3-bin sum holds at least this share of the strongest one's. */
export const PEAK_FRACTION = 0.05;
/** The plane's weighted median is taken within this many bins of the peak bin's centre. */
export const PEAK_REFINE_BINS = 2.5;
/** Extreme planes (both paths): the band around a plane, as a fraction of the extent or gap (frame.py PLANE_BAND). */
export const PLANE_BAND = 0.04;
/** Histogram bins of a plane's weighted median (0.2 % of the band each; binnedMedian). */
export const PLANE_BINS = 1024;

export interface LocalSurfaces {
    count: number;
    /** count x 3 cell centroids (scene units). */
    positions: Float64Array;
    /** count x 3 unit normals (the covariance's smallest eigenvector; sign arbitrary). */
    normals: Float64Array;
    /** count: the cell's mean opacity. */
    opacities: Float64Array;
    /** The cell edge (scene units). */
    cell: number;
}

interface Grid {
    dims: [number, number, number];
    size: number;
}

function grid(extent: readonly number[], h: number): Grid {
    const dims: [number, number, number] = [Math.floor(extent[0] / h) + 1, Math.floor(extent[1] / h) + 1, Math.floor(extent[2] / h) + 1];
    return { dims, size: dims[0] * dims[1] * dims[2] };
}

/** Linear cell index (x slowest) of the point (x, y, z) minus the robust minimum, or -1 outside the grid. */
function cellIndex(rx: number, ry: number, rz: number, h: number, g: Grid): number {
    const i = Math.floor(rx / h), j = Math.floor(ry / h), k = Math.floor(rz / h);
    if (i < 0 || j < 0 || k < 0 || i >= g.dims[0] || j >= g.dims[1] || k >= g.dims[2]) return -1;
    return (i * g.dims[1] + j) * g.dims[2] + k;
}

/**
 * Planar cells of the sample `xyz` (n x 3) over the robust box [lo, hi]: the cell edge adapts to the sampling
 * density (on a grid of (longest extent) / 64 the occupied cells hold `mean` Gaussians; surfaces hold about h^2 of
 * them, so h = that edge x sqrt(12 / mean), within 1/64 - 1/8 of the longest extent); a cell of at least 5 Gaussians
 * whose covariance's middle eigenvalue is at least 9x the smallest (a flat Gaussian's scale ratio of 3, squared)
 * becomes one surface element of unit area: centroid, normal, mean opacity.
 */
export function localSurfaces(xyz: Float64Array, n: number, opacity: Float64Array, lo: readonly number[], hi: readonly number[]): LocalSurfaces {
    const extent = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    const longest = Math.max(extent[0], extent[1], extent[2]);
    const fine = longest / LOCAL_FINE_CELLS;
    const fineGrid = grid(extent, fine);
    const occupiedFlags = new Uint8Array(fineGrid.size);
    let inside = 0, occupied = 0;
    for (let i = 0; i < n; i++) {
        const c = cellIndex(xyz[3 * i] - lo[0], xyz[3 * i + 1] - lo[1], xyz[3 * i + 2] - lo[2], fine, fineGrid);
        if (c < 0) continue;
        inside++;
        if (occupiedFlags[c] === 0) {
            occupiedFlags[c] = 1;
            occupied++;
        }
    }
    const mean = inside / Math.max(occupied, 1);
    const h = Math.min(Math.max(fine * Math.sqrt(LOCAL_TARGET_POINTS / mean), fine), longest / LOCAL_COARSE_CELLS);
    const g = grid(extent, h);
    // per cell: count, opacity sum, 3 coordinate sums, 6 products (xx, xy, xz, yy, yz, zz), in point order
    const count = new Float64Array(g.size), opSum = new Float64Array(g.size), sums = new Float64Array(9 * g.size);
    for (let i = 0; i < n; i++) {
        const rx = xyz[3 * i] - lo[0], ry = xyz[3 * i + 1] - lo[1], rz = xyz[3 * i + 2] - lo[2];
        const c = cellIndex(rx, ry, rz, h, g);
        if (c < 0) continue;
        count[c]++;
        opSum[c] += opacity[i];
        const o = 9 * c;
        sums[o] += rx;
        sums[o + 1] += ry;
        sums[o + 2] += rz;
        sums[o + 3] += rx * rx;
        sums[o + 4] += rx * ry;
        sums[o + 5] += rx * rz;
        sums[o + 6] += ry * ry;
        sums[o + 7] += ry * rz;
        sums[o + 8] += rz * rz;
    }
    let kept = 0;
    for (let c = 0; c < g.size; c++) if (count[c] >= LOCAL_MIN_POINTS) kept++;
    const positions = new Float64Array(3 * kept), normals = new Float64Array(3 * kept), opacities = new Float64Array(kept);
    const eig = new Float64Array(12);
    let out = 0;
    for (let c = 0; c < g.size; c++) {
        const k = count[c];
        if (k < LOCAL_MIN_POINTS) continue;
        const o = 9 * c;
        const mx = sums[o] / k, my = sums[o + 1] / k, mz = sums[o + 2] / k;
        symmetricEigen3(
            sums[o + 3] / k - mx * mx, sums[o + 4] / k - mx * my, sums[o + 5] / k - mx * mz,
            sums[o + 6] / k - my * my, sums[o + 7] / k - my * mz, sums[o + 8] / k - mz * mz, eig
        );
        const v0 = eig[0], v1 = eig[1];
        if (!(v1 > 0 && v1 >= 9 * Math.max(v0, 0))) continue;
        positions[3 * out] = mx + lo[0];
        positions[3 * out + 1] = my + lo[1];
        positions[3 * out + 2] = mz + lo[2];
        normals[3 * out] = eig[3];
        normals[3 * out + 1] = eig[4];
        normals[3 * out + 2] = eig[5];
        opacities[out] = opSum[c] / k;
        out++;
    }
    return { count: out, positions: positions.subarray(0, 3 * out), normals: normals.subarray(0, 3 * out), opacities: opacities.subarray(0, out), cell: h };
}

/**
 * Eigen-decomposition of the symmetric 3x3 matrix [[a, b, c], [b, d, e], [c, e, f]] by cyclic Jacobi rotations.
 * Writes into out: the eigenvalues ascending (out[0..2]), then their unit eigenvectors (out[3..5] for the smallest,
 * out[6..8], out[9..11]).
 */
export function symmetricEigen3(a: number, b: number, c: number, d: number, e: number, f: number, out: Float64Array): void {
    const m = [a, b, c, b, d, e, c, e, f];
    const v = [1, 0, 0, 0, 1, 0, 0, 0, 1]; // columns: eigenvectors
    for (let sweep = 0; sweep < 50; sweep++) {
        const off = m[1] * m[1] + m[2] * m[2] + m[5] * m[5];
        const diag = m[0] * m[0] + m[4] * m[4] + m[8] * m[8];
        if (off <= 1e-30 * diag || off === 0) break;
        for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
            const apq = m[3 * p + q];
            if (apq === 0) continue;
            const app = m[4 * p], aqq = m[4 * q];
            const theta = (aqq - app) / (2 * apq);
            const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
            const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
            for (let k = 0; k < 3; k++) {
                // m <- J^T m J on columns then rows p, q
                const mkp = m[3 * k + p], mkq = m[3 * k + q];
                m[3 * k + p] = cs * mkp - sn * mkq;
                m[3 * k + q] = sn * mkp + cs * mkq;
            }
            for (let k = 0; k < 3; k++) {
                const mpk = m[3 * p + k], mqk = m[3 * q + k];
                m[3 * p + k] = cs * mpk - sn * mqk;
                m[3 * q + k] = sn * mpk + cs * mqk;
            }
            for (let k = 0; k < 3; k++) {
                const vkp = v[3 * k + p], vkq = v[3 * k + q];
                v[3 * k + p] = cs * vkp - sn * vkq;
                v[3 * k + q] = sn * vkp + cs * vkq;
            }
        }
    }
    const order = [0, 1, 2].sort((i, j) => m[4 * i] - m[4 * j] || i - j);
    for (let r = 0; r < 3; r++) {
        const col = order[r];
        out[r] = m[4 * col];
        const x = v[col], y = v[3 + col], z = v[6 + col];
        const len = Math.hypot(x, y, z);
        out[3 + 3 * r] = x / len;
        out[4 + 3 * r] = y / len;
        out[5 + 3 * r] = z / len;
    }
}

/**
 * Position and weight of the outermost plane on one side, for local surfaces: aligned surface weight (mask bit `bit`
 * of `aligned`, weights > 0) along the heights `hf` on PEAK_BINS bins over [lo, hi] widened by PEAK_MARGIN of the
 * range on each side; a bin whose 3-bin sum reaches PEAK_FRACTION of the largest such sum is a plane (walls, floor
 * and ceiling are the strongest; scattered splats outside the room, such as background seen through windows, are far
 * below it, yet they stretch the robust range beyond the walls); the outermost one on the requested side, refined as
 * the weighted median of the weight within PEAK_REFINE_BINS bins of its centre. As rtgs2.frame._peak_plane.
 */
export function peakPlane(hf: Float64Array, f: number, weights: Float64Array, aligned: Uint8Array, bit: number, lo: number, hi: number, lowSide: boolean, bins: Float64Array): [number, number] {
    const span = hi - lo;
    const origin = lo - PEAK_MARGIN * span;
    const width = ((1 + 2 * PEAK_MARGIN) * span) / PEAK_BINS;
    const hist = new Float64Array(PEAK_BINS);
    let any = false;
    for (let i = 0; i < f; i++) {
        const w = weights[i];
        if ((aligned[i] & bit) === 0 || !(w > 0)) continue;
        let b = Math.floor((hf[i] - origin) / width);
        if (b < 0) b = 0;
        else if (b > PEAK_BINS - 1) b = PEAK_BINS - 1;
        hist[b] += w;
        any = true;
    }
    if (!(width > 0) || !any) return [lowSide ? lo : hi, 0];
    const summed = new Float64Array(PEAK_BINS);
    let strongest = 0;
    for (let b = 0; b < PEAK_BINS; b++) {
        summed[b] = (b > 0 ? hist[b] + hist[b - 1] : hist[b]) + (b < PEAK_BINS - 1 ? hist[b + 1] : 0);
        if (summed[b] > strongest) strongest = summed[b];
    }
    const threshold = PEAK_FRACTION * strongest;
    let k = -1;
    if (lowSide) {
        for (let b = 0; b < PEAK_BINS && k < 0; b++) if (summed[b] >= threshold) k = b;
    } else {
        for (let b = PEAK_BINS - 1; b >= 0 && k < 0; b--) if (summed[b] >= threshold) k = b;
    }
    const centre = origin + (k + 0.5) * width;
    const half = PEAK_REFINE_BINS * width;
    return binnedMedian(hf, f, weights, aligned, bit, centre, half, bins, (h, w) => w > 0 && h > centre - half && h < centre + half);
}

/**
 * Weighted median of the heights `hf` of the entries with mask bit `bit` of `aligned` that `keep` accepts, on
 * PLANE_BINS bins over [centre - half, centre + half] (values beyond it in the outer bins; the result is a bin
 * centre), and their total weight; [centre, 0] when they weigh nothing. As rtgs2.frame._binned_median.
 */
export function binnedMedian(hf: Float64Array, f: number, weights: Float64Array, aligned: Uint8Array, bit: number, centre: number, half: number, bins: Float64Array, keep: (h: number, w: number) => boolean): [number, number] {
    const origin = centre - half;
    const width = (2 * half) / PLANE_BINS;
    bins.fill(0);
    let total = 0;
    for (let i = 0; i < f; i++) {
        const w = weights[i];
        const h = hf[i];
        if ((aligned[i] & bit) === 0 || !keep(h, w)) continue;
        let b = Math.floor((h - origin) / width);
        if (b < 0) b = 0;
        else if (b > PLANE_BINS - 1) b = PLANE_BINS - 1;
        bins[b] += w;
        total += w;
    }
    if (!(total > 0)) return [centre, 0];
    let c = 0;
    for (let b = 0; b < PLANE_BINS; b++) {
        c += bins[b];
        if (c >= 0.5 * total) return [origin + (b + 0.5) * width, total];
    }
    return [origin + (PLANE_BINS - 0.5) * width, total];
}

/** What `localUpScores` reads and rewrites of one axis (the estimator's per-axis evidence). */
export interface LocalAxis {
    score: number;
    lowIsFloor: boolean;
    gap: number;
    planes: boolean;
    lowPlane?: number;
    highPlane?: number;
    contentsAsymmetry?: number;
}

/**
 * The up axis of a scene read through local surfaces, where the flat Gaussians' content rule does not hold.
 * Contents are the sampled Gaussians inside the box of the extreme planes (within 2 % of each gap) and not within
 * PLANE_BAND of the gap of any of them (walls, floor and ceiling left out). A room's contents sit low (furniture
 * stands on the floor, the space under the ceiling is empty; along a horizontal axis furniture backs onto both
 * walls): share in the lower half minus share in the upper half; and rooms are lower than they are wide and deep
 * (factor (smallest gap / gap) ** 4). Score = |asymmetry| x gap factor; the floor is the end with more contents.
 * `heights[k]`: the n sampled heights along axis k. Chosen on dev seeds 9000-9059 (docs/FRAME.md). As
 * rtgs2.frame._local_up_scores.
 */
export function localUpScores(perAxis: LocalAxis[], heights: Float64Array[], n: number): void {
    const usable = [0, 1, 2].filter((k) => perAxis[k].gap > 0 && perAxis[k].planes && perAxis[k].lowPlane !== undefined && perAxis[k].highPlane !== undefined);
    for (const a of perAxis) a.score = 0;
    if (usable.length === 0) return;
    const contents = new Uint8Array(n).fill(1);
    for (const k of usable) {
        const a = perAxis[k], h = heights[k];
        const lowPlane = a.lowPlane!, highPlane = a.highPlane!, gap = a.gap;
        const band = PLANE_BAND * gap;
        for (let i = 0; i < n; i++) {
            const v = h[i];
            const inside = v > lowPlane - 0.02 * gap && v < highPlane + 0.02 * gap;
            const onPlane = Math.abs(v - lowPlane) < band || Math.abs(v - highPlane) < band;
            if (!inside || onPlane) contents[i] = 0;
        }
    }
    let smallest = Infinity;
    for (const k of usable) smallest = Math.min(smallest, perAxis[k].gap);
    for (const k of usable) {
        const a = perAxis[k], h = heights[k];
        let low = 0, count = 0;
        for (let i = 0; i < n; i++) {
            if (contents[i] === 0) continue;
            count++;
            if ((h[i] - a.lowPlane!) / a.gap < 0.5) low++;
        }
        const asym = count > 0 ? (low - (count - low)) / count : 0;
        a.contentsAsymmetry = Number(asym.toFixed(4));
        a.score = Math.abs(asym) * (smallest / a.gap) ** LOCAL_GAP_POWER;
        a.lowIsFloor = asym >= 0;
    }
}
