// Label propagation: Gaussians no view has voted for take the class of their nearest voted neighbours in 3D.
//
// Why: centre-pixel voting (labelLifter.ts) only reaches Gaussians whose centre lands on a covered pixel at the
// visible surface. Gaussians inside or behind objects, or never centred on a pixel at the maps' resolution, get no
// vote (about half of the showcase room after 24 views at 160x120, BENCHMARKS.md "Label lifting"). They still
// render, block picks and get hidden/isolated with their object, so they need a class. Their nearest voted
// neighbours are almost always on the same object.
//
// Rule (the same in factory/rtgs2/lifting.py `propagate`, checked on test/fixtures/lifting/propagation_case.json):
// for every target (label = none) take the k nearest sources (label != none) by Euclidean distance d_j of the
// centres (all sources when there are fewer than k); each votes for its class with weight c_j / (d_j + epsilon),
// c_j its confidence. Class = argmax of the summed weights (ties: lowest id); confidence = the top class's share
// of the weights times `confidenceScale` (default 0.5), so a propagated label never claims more certainty than
// half of a unanimous direct vote. Sources keep their own label and confidence; propagation never chains
// (targets do not become sources of other targets), so one view's evidence does not spread arbitrarily far.
//
// Search: sources are bucketed in a uniform 3D grid over the bounding box of all centres (counting sort, no
// hashing); a target visits cells ring by ring (Chebyshev rings around its cell) and stops once it holds k
// candidates and the k-th distance is at most the distance to the nearest face of the block of cells visited so
// far: every source not visited is beyond that face, so the answer is the exact k nearest neighbours. Cost: O(N) to
// build, a few hundred to a thousand distance checks per target on the showcase room (the k-th nearest voted
// neighbour of an unvoted Gaussian is 0.15 m away at the median, 0.47 m at the 90th percentile after 8 views). `step(maxTargets)` processes the targets in slices so a caller can spread the work over
// frames (LabelLifter.propagateAsync).

export interface PropagationOptions {
    /** Neighbours per target (default 8). */
    k?: number;
    /** Added to the distance in the inverse-distance weight, scene units (default 0.01: 1 cm in a metric scene). */
    distanceEpsilon?: number;
    /** Propagated confidence = top class's weight share x this (default 0.5). */
    confidenceScale?: number;
    /** Label meaning "no class" (default 255). */
    none?: number;
    /** Grid cell size, scene units; default: half the edge of a cube that would hold k sources if they filled the bounding box. */
    cellSize?: number;
}

export interface PropagationStats {
    /** Gaussians that had a label (the sources). */
    sources: number;
    /** Gaussians without one (the targets). */
    targets: number;
    /** Targets given a class (all of them once done, unless there are no sources). */
    propagated: number;
    /** Distance checks made, over all targets so far (cost figure for the benchmark). */
    distanceChecks: number;
}

const MAX_CELLS = 1 << 21; // 8 MB of Int32 cell starts at most

function fail(message: string): never {
    throw new Error(`LabelPropagation: ${message}`);
}

/** Fills the labels of unlabelled Gaussians from their nearest labelled neighbours (see the file comment). */
export class LabelPropagation {
    readonly k: number;
    readonly distanceEpsilon: number;
    readonly confidenceScale: number;
    readonly none: number;
    readonly cellSize: number;
    /** [N] input labels with the targets filled in as they are processed. */
    readonly labels: Uint8Array;
    /** [N] input confidence with the targets' propagated confidence filled in. */
    readonly confidence: Float32Array;
    /** [N] 1 where the label was propagated. */
    readonly propagated: Uint8Array;
    private readonly _positions: Float32Array;
    private readonly _targets: Int32Array;
    private _next = 0;
    private readonly _sources: number;
    private _propagatedCount = 0;
    private _checks = 0;
    // Grid: sources sorted by cell; cell c holds _cellItems[_cellStart[c] .. _cellStart[c + 1]).
    private readonly _dims: [number, number, number];
    private readonly _origin: [number, number, number];
    private readonly _cellStart: Int32Array;
    private readonly _cellItems: Int32Array;
    // Per-target scratch: the k best so far, sorted by squared distance.
    private readonly _bestD2: Float64Array;
    private readonly _bestIndex: Int32Array;
    private readonly _classWeight: Float64Array;

    /**
     * @param positions [N x 3] centres
     * @param labels [N] class per Gaussian, `none` for the ones to fill (not modified; copied)
     * @param confidence [N] confidence of the labelled ones (not modified; copied)
     */
    constructor(positions: Float32Array, labels: Uint8Array, confidence: Float32Array, options: PropagationOptions = {}) {
        const n = labels.length;
        if (positions.length !== 3 * n) fail(`positions has ${positions.length} entries, expected 3 x ${n}`);
        if (confidence.length !== n) fail(`confidence has ${confidence.length} entries, expected ${n}`);
        this.k = options.k ?? 8;
        this.distanceEpsilon = options.distanceEpsilon ?? 0.01;
        this.confidenceScale = options.confidenceScale ?? 0.5;
        this.none = options.none ?? 255;
        if (!Number.isInteger(this.k) || this.k < 1) fail(`k must be a positive integer, got ${this.k}`);
        if (!(this.distanceEpsilon > 0)) fail(`distanceEpsilon must be positive, got ${this.distanceEpsilon}`);
        if (!(this.confidenceScale > 0 && this.confidenceScale <= 1)) fail(`confidenceScale must be in (0, 1], got ${this.confidenceScale}`);
        this._positions = positions;
        this.labels = Uint8Array.from(labels);
        this.confidence = Float32Array.from(confidence);
        this.propagated = new Uint8Array(n);
        let sources = 0;
        let maxLabel = 0;
        for (let i = 0; i < n; i++) {
            if (labels[i] !== this.none) {
                sources++;
                if (labels[i] > maxLabel) maxLabel = labels[i];
            }
        }
        this._sources = sources;
        const targets = new Int32Array(n - sources);
        for (let i = 0, t = 0; i < n; i++) if (labels[i] === this.none) targets[t++] = i;
        // No sources: nothing to propagate from; the targets stay none.
        this._targets = sources > 0 ? targets : new Int32Array(0);
        this._bestD2 = new Float64Array(this.k);
        this._bestIndex = new Int32Array(this.k);
        this._classWeight = new Float64Array(maxLabel + 1);

        // Bounding box of all centres (targets too), so no target lies outside the grid.
        let lo = [Infinity, Infinity, Infinity];
        let hi = [-Infinity, -Infinity, -Infinity];
        for (let i = 0; i < n; i++) {
            for (let a = 0; a < 3; a++) {
                const v = positions[3 * i + a];
                if (!Number.isFinite(v)) fail(`positions[${3 * i + a}] is not finite (${v})`);
                if (v < lo[a]) lo[a] = v;
                if (v > hi[a]) hi[a] = v;
            }
        }
        if (n === 0) {
            lo = [0, 0, 0];
            hi = [0, 0, 0];
        }
        const extent = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        let cell = options.cellSize ?? 0;
        if (options.cellSize !== undefined && !(options.cellSize > 0)) fail(`cellSize must be positive, got ${options.cellSize}`);
        if (!cell) {
            // Half the edge of a cube holding k sources if they filled the box. They lie on surfaces, so occupied
            // cells hold more than k / 8; on the showcase room (33,835 sources, 46,534 targets) half the edge took
            // 280 ms against 450 ms for the full edge, and a fifth of it 1.3 s (too many empty cells per ring).
            const volume = Math.max(extent[0], 1e-6) * Math.max(extent[1], 1e-6) * Math.max(extent[2], 1e-6);
            cell = 0.5 * Math.cbrt((volume * this.k) / Math.max(1, sources));
        }
        const maxExtent = Math.max(extent[0], extent[1], extent[2], 1e-6);
        cell = Math.max(cell, maxExtent / 1024);
        const dimsOf = (c: number) => extent.map((e) => Math.max(1, Math.floor(e / c) + 1)) as [number, number, number];
        let dims = dimsOf(cell);
        while (dims[0] * dims[1] * dims[2] > MAX_CELLS) {
            cell *= 1.25;
            dims = dimsOf(cell);
        }
        this.cellSize = cell;
        this._dims = dims;
        this._origin = [lo[0], lo[1], lo[2]];
        const cells = dims[0] * dims[1] * dims[2];
        const cellStart = new Int32Array(cells + 1);
        const cellOf = new Int32Array(n);
        for (let i = 0; i < n; i++) {
            if (labels[i] === this.none) continue;
            const c = this._cellIndex(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
            cellOf[i] = c;
            cellStart[c + 1]++;
        }
        for (let c = 0; c < cells; c++) cellStart[c + 1] += cellStart[c];
        const fill = cellStart.slice(0, cells);
        const items = new Int32Array(sources);
        for (let i = 0; i < n; i++) if (labels[i] !== this.none) items[fill[cellOf[i]]++] = i;
        this._cellStart = cellStart;
        this._cellItems = items;
    }

    private _cellCoord(v: number, axis: number): number {
        const c = Math.floor((v - this._origin[axis]) / this.cellSize);
        return c < 0 ? 0 : c >= this._dims[axis] ? this._dims[axis] - 1 : c;
    }

    private _cellIndex(x: number, y: number, z: number): number {
        return this._cellCoord(x, 0) + this._dims[0] * (this._cellCoord(y, 1) + this._dims[1] * this._cellCoord(z, 2));
    }

    /** True once every target has been processed. */
    get done(): boolean {
        return this._next >= this._targets.length;
    }

    get stats(): PropagationStats {
        return { sources: this._sources, targets: this.labels.length - this._sources, propagated: this._propagatedCount, distanceChecks: this._checks };
    }

    /** Processes up to `maxTargets` more targets; returns `done`. */
    step(maxTargets = Infinity): boolean {
        const end = Math.min(this._targets.length, this._next + Math.max(0, maxTargets));
        for (; this._next < end; this._next++) this._fill(this._targets[this._next]);
        return this.done;
    }

    private _fill(target: number): void {
        const pos = this._positions;
        const qx = pos[3 * target];
        const qy = pos[3 * target + 1];
        const qz = pos[3 * target + 2];
        const k = Math.min(this.k, this._sources);
        const bestD2 = this._bestD2;
        const bestIndex = this._bestIndex;
        let count = 0;
        const [dx, dy, dz] = this._dims;
        const cell = this.cellSize;
        const [ox, oy, oz] = this._origin;
        const cx = this._cellCoord(qx, 0);
        const cy = this._cellCoord(qy, 1);
        const cz = this._cellCoord(qz, 2);
        const maxRing = Math.max(cx, dx - 1 - cx, cy, dy - 1 - cy, cz, dz - 1 - cz);
        const start = this._cellStart;
        const items = this._cellItems;
        let checks = 0;
        for (let r = 0; r <= maxRing; r++) {
            const x0 = Math.max(0, cx - r);
            const x1 = Math.min(dx - 1, cx + r);
            const y0 = Math.max(0, cy - r);
            const y1 = Math.min(dy - 1, cy + r);
            const z0 = Math.max(0, cz - r);
            const z1 = Math.min(dz - 1, cz + r);
            for (let z = z0; z <= z1; z++) {
                const zEdge = z === cz - r || z === cz + r;
                for (let y = y0; y <= y1; y++) {
                    const rowBase = dx * (y + dy * z);
                    // On a face of the shell the whole row belongs to ring r, inside it only the two x ends.
                    const wholeRow = zEdge || y === cy - r || y === cy + r;
                    const xStep = wholeRow ? 1 : 2 * r; // r > 0 here: ring 0's only row is whole
                    for (let x = wholeRow ? x0 : cx - r; x <= x1; x += xStep) {
                        if (x < 0) continue;
                        const c = rowBase + x;
                        for (let s = start[c], e = start[c + 1]; s < e; s++) {
                            const j = items[s];
                            const ex = pos[3 * j] - qx;
                            const ey = pos[3 * j + 1] - qy;
                            const ez = pos[3 * j + 2] - qz;
                            const d2 = ex * ex + ey * ey + ez * ez;
                            checks++;
                            if (count === k && d2 >= bestD2[k - 1]) continue;
                            // Insertion into the sorted top k (ties: the lower index first, so both implementations agree).
                            let slot = count < k ? count++ : k - 1;
                            while (slot > 0 && (bestD2[slot - 1] > d2 || (bestD2[slot - 1] === d2 && bestIndex[slot - 1] > j))) {
                                bestD2[slot] = bestD2[slot - 1];
                                bestIndex[slot] = bestIndex[slot - 1];
                                slot--;
                            }
                            bestD2[slot] = d2;
                            bestIndex[slot] = j;
                        }
                    }
                }
            }
            if (count < k) continue;
            // Every source not visited yet lies outside the block of cells [c - r, c + r] (clipped to the grid): at
            // least as far as the block's nearest face that has cells beyond it.
            let bound = Infinity;
            if (x0 > 0) bound = Math.min(bound, qx - (ox + x0 * cell));
            if (x1 < dx - 1) bound = Math.min(bound, ox + (x1 + 1) * cell - qx);
            if (y0 > 0) bound = Math.min(bound, qy - (oy + y0 * cell));
            if (y1 < dy - 1) bound = Math.min(bound, oy + (y1 + 1) * cell - qy);
            if (z0 > 0) bound = Math.min(bound, qz - (oz + z0 * cell));
            if (z1 < dz - 1) bound = Math.min(bound, oz + (z1 + 1) * cell - qz);
            if (bound === Infinity || (bound > 0 && bestD2[k - 1] <= bound * bound)) break;
        }
        this._checks += checks;
        if (count === 0) return;
        const weights = this._classWeight;
        weights.fill(0);
        let total = 0;
        for (let m = 0; m < count; m++) {
            const j = bestIndex[m];
            const w = this.confidence[j] / (Math.sqrt(bestD2[m]) + this.distanceEpsilon);
            weights[this.labels[j]] += w;
            total += w;
        }
        if (!(total > 0)) return; // every neighbour has confidence 0: no evidence, stays none
        let best = 0;
        let bestWeight = weights[0];
        for (let c = 1; c < weights.length; c++) {
            if (weights[c] > bestWeight) {
                bestWeight = weights[c];
                best = c;
            }
        }
        this.labels[target] = best;
        this.confidence[target] = (bestWeight / total) * this.confidenceScale;
        this.propagated[target] = 1;
        this._propagatedCount++;
    }
}

/** Propagates in one go (see LabelPropagation); returns the filled labels, confidence and propagated flags. */
export function propagateLabels(positions: Float32Array, labels: Uint8Array, confidence: Float32Array, options: PropagationOptions = {}): LabelPropagation {
    const p = new LabelPropagation(positions, labels, confidence, options);
    p.step();
    return p;
}
