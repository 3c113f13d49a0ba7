// Per-Gaussian label lifting: every segmented view votes for the classes of the Gaussians it sees.
//
// Pure TypeScript over typed arrays, no Babylon imports, so it can run in a worker.
//
// Per view and per Gaussian i (world centre p_i, opacity o_i):
// 1. Projection with the view's camera, Babylon conventions (row vectors, Matrix.m order): v = [p 1] V,
//    c = v P; the view depth is the clip w (= v.z for a left-handed and -v.z for a right-handed perspective
//    matrix, i.e. the distance in front of the camera); pixel x = (c.x / c.w + 1) / 2 W, row y = (1 - c.y / c.w) / 2 H
//    counted from the TOP (the segmentation maps' row order), sampled at the nearest pixel (floor).
// 2. Visibility: the pixel must be covered (alpha >= minAlpha) and labelled (not none), and the Gaussian must be ON
//    the surface the pixel sees: |z_i - D| <= depthTolerance * D with D = expectedDepth / alpha, the pixel's
//    surface depth. A Gaussian behind the visible surface (occluded) gets no vote from this view.
// 3. Vote: votes[i, label] += o_i * confidence (pixel's max softmax probability; 1 when no confidence is given).
// Class = argmax of the votes; confidence = top class's share of the Gaussian's total votes.
//
// The approximation (documented in docs/RUNTIME.md, measured against exact contribution voting in
// factory/rtgs2/lifting.py): the exact vote of a pixel for a Gaussian is its compositing weight there,
// a_i prod_{nearer}(1 - a_j), summed over every pixel of the Gaussian's footprint. Here a Gaussian is sampled at its
// centre's pixel only, with weight o_i, and "not behind the surface" stands in for the transmittance. Large
// Gaussians that straddle a class boundary and Gaussians just behind a thin surface (within the tolerance) can
// get the wrong votes; over many views the majority still wins.
//
// Memory: votes are a dense Float32Array [N x C] (C = 21: 84 bytes per Gaussian, 84 MB for 1M Gaussians).
//
// Gaussians no view voted for (inside or behind objects, or never centred on a covered pixel) get a class from
// their nearest voted neighbours in 3D with propagate() / propagateAsync() (labelPropagation.ts), on demand: the
// propagated labels fill only Gaussians that still have no votes of their own, flagged in `propagated`, with a
// confidence of at most `confidenceScale` (0.5). New views do not re-run it; call it again when wanted.

import { LabelPropagation, type PropagationOptions, type PropagationStats } from "./labelPropagation";

/** One segmented view, arrays [height x width], row 0 at the TOP of the image. */
export interface LiftingView {
    width: number;
    height: number;
    /** Class id per pixel, `none` (255 by default) where there is no label. */
    labels: Uint8Array;
    /** Confidence per pixel in [0, 1]; omitted: every labelled pixel votes with 1. */
    confidence?: Float32Array | null;
    /** Coverage alpha per pixel. */
    alpha: Float32Array;
    /** Expected view depth, NOT divided by alpha (the feature pass's depth channel). */
    expectedDepth: Float32Array;
    /** Babylon Matrix.m order. */
    viewMatrix: ArrayLike<number>;
    projectionMatrix: ArrayLike<number>;
}

/** The Gaussians, in the world frame the view matrices expect. */
export interface LiftingGaussians {
    /** [N x 3] world-space centres. */
    positions: Float32Array;
    /** [N] opacities in [0, 1]. */
    opacities: Float32Array;
}

export interface LabelLifterOptions {
    /** Number of classes (default 21, models/classes.json). */
    classCount?: number;
    /** Label value meaning "no class" (default 255). */
    none?: number;
    /** Relative depth tolerance of the visibility test (default 0.1: 10 cm at 1 m, 30 cm at 3 m; chosen on the
     *  showcase room over 0.03 and 0.25, BENCHMARKS.md "Label lifting"). */
    depthTolerance?: number;
    /** Pixels with less coverage alpha do not vote (default 0.5, the label threshold of the renderers). */
    minAlpha?: number;
}

export interface AccumulateStats {
    /** Gaussians that projected inside the image and in front of the camera. */
    projected: number;
    /** Gaussians that received a vote from this view. */
    voted: number;
    /** Views accumulated so far, this one included. */
    views: number;
}

export interface PropagateResult extends PropagationStats {
    /** Wall time of the whole propagation, ms (for the async version: from the call to the end, waits included). */
    ms: number;
    /** Longest uninterrupted piece of work, ms (the whole run for propagate(); per slice for propagateAsync()). */
    longestSliceMs: number;
    /** The first piece: resolving the votes and building the neighbour grid, ms (O(N), not sliced). */
    buildMs: number;
    /** Slices the work was cut into (1 for propagate()). */
    slices: number;
}

export interface PropagateAsyncOptions extends PropagationOptions {
    /** Work per slice before yielding to the event loop, ms (default 4). */
    sliceMs?: number;
}

function fail(message: string): never {
    throw new Error(`LabelLifter: ${message}`);
}

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export class LabelLifter {
    readonly gaussianCount: number;
    readonly classCount: number;
    readonly none: number;
    readonly depthTolerance: number;
    readonly minAlpha: number;
    /** [N x C] accumulated votes. */
    readonly votes: Float32Array;
    private _views = 0;
    private _resolved = false;
    private readonly _labels: Uint8Array;
    private readonly _confidence: Float32Array;
    private readonly _total: Float32Array;
    private readonly _direct: Uint8Array;
    private readonly _propagated: Uint8Array;
    /** Labels / confidence from the last propagation (none where it gave nothing), or null. */
    private _propLabels: Uint8Array | null = null;
    private _propConfidence: Float32Array | null = null;
    /** Bumped by reset(): a propagation started before it is dropped. */
    private _generation = 0;

    constructor(gaussianCount: number, options: LabelLifterOptions = {}) {
        if (!Number.isInteger(gaussianCount) || gaussianCount < 0) fail(`gaussianCount must be a non-negative integer, got ${gaussianCount}`);
        this.gaussianCount = gaussianCount;
        this.classCount = options.classCount ?? 21;
        this.none = options.none ?? 255;
        this.depthTolerance = options.depthTolerance ?? 0.1;
        this.minAlpha = options.minAlpha ?? 0.5;
        if (!Number.isInteger(this.classCount) || this.classCount < 1 || this.classCount > 255) fail(`classCount must be an integer in 1..255, got ${this.classCount}`);
        if (!(this.depthTolerance > 0)) fail(`depthTolerance must be positive, got ${this.depthTolerance}`);
        if (!(this.minAlpha > 0 && this.minAlpha <= 1)) fail(`minAlpha must be in (0, 1], got ${this.minAlpha}`);
        this.votes = new Float32Array(gaussianCount * this.classCount);
        this._labels = new Uint8Array(gaussianCount).fill(this.none);
        this._confidence = new Float32Array(gaussianCount);
        this._total = new Float32Array(gaussianCount);
        this._direct = new Uint8Array(gaussianCount).fill(this.none);
        this._propagated = new Uint8Array(gaussianCount);
    }

    /** Views accumulated since construction or the last reset(). */
    get viewCount(): number {
        return this._views;
    }

    /** Forgets every vote and any propagation. */
    reset(): void {
        this.votes.fill(0);
        this._views = 0;
        this._resolved = false;
        this._propLabels = null;
        this._propConfidence = null;
        this._generation++;
    }

    private _checkPositions(positions: Float32Array): void {
        if (positions.length !== 3 * this.gaussianCount) fail(`gaussians.positions has ${positions.length} entries, expected 3 x ${this.gaussianCount}`);
    }

    /** The propagation over the current direct votes (sources: Gaussians with votes). */
    private _startPropagation(positions: Float32Array, options: PropagationOptions): LabelPropagation {
        this._checkPositions(positions);
        this._resolve();
        const directConfidence = new Float32Array(this.gaussianCount);
        for (let i = 0; i < this.gaussianCount; i++) if (this._direct[i] !== this.none) directConfidence[i] = this._confidence[i];
        return new LabelPropagation(positions, this._direct, directConfidence, { none: this.none, ...options });
    }

    private _adopt(p: LabelPropagation): void {
        this._propLabels = p.labels;
        this._propConfidence = p.confidence;
        this._resolved = false;
    }

    /**
     * Gives every Gaussian without votes the class of its k nearest voted neighbours (labelPropagation.ts), in one
     * go. About 180 ms for the showcase room's 80k Gaussians on a loaded 2-core CPU (BENCHMARKS.md, "Label
     * lifting"): use propagateAsync() to keep frames free.
     */
    propagate(gaussians: Pick<LiftingGaussians, "positions">, options: PropagationOptions = {}): PropagateResult {
        const t = now();
        const p = this._startPropagation(gaussians.positions, options);
        const buildMs = now() - t;
        p.step();
        this._adopt(p);
        const ms = now() - t;
        return { ...p.stats, ms, longestSliceMs: ms, buildMs, slices: 1 };
    }

    /**
     * propagate() cut into slices of about `sliceMs` that yield to the event loop in between, so frames keep
     * rendering. Votes accumulated meanwhile are not seen by this run (it works on the votes at the call); reset()
     * during the run drops its result.
     */
    async propagateAsync(gaussians: Pick<LiftingGaussians, "positions">, options: PropagateAsyncOptions = {}): Promise<PropagateResult> {
        const sliceMs = options.sliceMs ?? 4;
        if (!(sliceMs > 0)) fail(`sliceMs must be positive, got ${sliceMs}`);
        const generation = this._generation;
        const t0 = now();
        const p = this._startPropagation(gaussians.positions, options);
        const buildMs = now() - t0;
        let longest = buildMs;
        let slices = 1;
        const chunk = 64; // targets between clock reads: a few hundred distance checks each
        while (!p.done) {
            await new Promise<void>((resolve) => setTimeout(resolve, 0));
            if (this._generation !== generation) break;
            const t = now();
            while (!p.step(chunk) && now() - t < sliceMs);
            longest = Math.max(longest, now() - t);
            slices++;
        }
        if (this._generation === generation) this._adopt(p);
        return { ...p.stats, ms: now() - t0, longestSliceMs: longest, buildMs, slices };
    }

    /** Adds one segmented view's votes. */
    accumulate(view: LiftingView, gaussians: LiftingGaussians): AccumulateStats {
        const n = this.gaussianCount;
        const { width: W, height: H } = view;
        if (!Number.isInteger(W) || !Number.isInteger(H) || W < 1 || H < 1) fail(`view size must be positive integers, got ${W}x${H}`);
        const pixels = W * H;
        if (view.labels.length !== pixels) fail(`view.labels has ${view.labels.length} entries, expected ${W}x${H} = ${pixels}`);
        if (view.alpha.length !== pixels) fail(`view.alpha has ${view.alpha.length} entries, expected ${pixels}`);
        if (view.expectedDepth.length !== pixels) fail(`view.expectedDepth has ${view.expectedDepth.length} entries, expected ${pixels}`);
        if (view.confidence && view.confidence.length !== pixels) fail(`view.confidence has ${view.confidence.length} entries, expected ${pixels}`);
        if (view.viewMatrix.length !== 16 || view.projectionMatrix.length !== 16) fail("viewMatrix and projectionMatrix must have 16 entries (Babylon Matrix.m order)");
        if (gaussians.positions.length !== 3 * n) fail(`gaussians.positions has ${gaussians.positions.length} entries, expected 3 x ${n}`);
        if (gaussians.opacities.length !== n) fail(`gaussians.opacities has ${gaussians.opacities.length} entries, expected ${n}`);

        // M = V P (row-vector convention: clip = [x y z 1] V P), folded into one matrix: 16 numbers.
        const V = view.viewMatrix;
        const P = view.projectionMatrix;
        const M = new Float64Array(16);
        for (let r = 0; r < 4; r++) {
            for (let c = 0; c < 4; c++) {
                M[4 * r + c] = V[4 * r] * P[c] + V[4 * r + 1] * P[4 + c] + V[4 * r + 2] * P[8 + c] + V[4 * r + 3] * P[12 + c];
            }
        }
        const [m0, m1, m3, m4, m5, m7, m8, m9, m11, m12, m13, m15] = [M[0], M[1], M[3], M[4], M[5], M[7], M[8], M[9], M[11], M[12], M[13], M[15]];
        const labels = view.labels;
        const conf = view.confidence ?? null;
        const alpha = view.alpha;
        const depth = view.expectedDepth;
        const pos = gaussians.positions;
        const opacity = gaussians.opacities;
        const votes = this.votes;
        const C = this.classCount;
        const none = this.none;
        const minAlpha = this.minAlpha;
        const tol = this.depthTolerance;
        const halfW = W / 2;
        const halfH = H / 2;
        let projected = 0;
        let voted = 0;
        for (let i = 0; i < n; i++) {
            const x = pos[3 * i];
            const y = pos[3 * i + 1];
            const z = pos[3 * i + 2];
            const w = x * m3 + y * m7 + z * m11 + m15; // clip w = view depth in front of the camera
            if (!(w > 0)) continue;
            const px = Math.floor(((x * m0 + y * m4 + z * m8 + m12) / w + 1) * halfW);
            const py = Math.floor((1 - (x * m1 + y * m5 + z * m9 + m13) / w) * halfH);
            if (px < 0 || py < 0 || px >= W || py >= H) continue;
            projected++;
            const p = py * W + px;
            const label = labels[p];
            const a = alpha[p];
            if (label === none || !(a >= minAlpha)) continue;
            if (label >= C) fail(`view.labels holds class ${label} at pixel (${px}, ${py}), but classCount is ${C}`);
            const surface = depth[p] / a;
            if (Math.abs(w - surface) > tol * surface) continue; // occluded (or in front of the surface)
            const weight = opacity[i] * (conf ? conf[p] : 1);
            if (!(weight > 0)) continue;
            votes[i * C + label] += weight;
            voted++;
        }
        this._views++;
        this._resolved = false;
        return { projected, voted, views: this._views };
    }

    private _resolve(): void {
        if (this._resolved) return;
        const C = this.classCount;
        const votes = this.votes;
        for (let i = 0; i < this.gaussianCount; i++) {
            let best = -1;
            let bestVote = 0;
            let total = 0;
            const base = i * C;
            for (let c = 0; c < C; c++) {
                const v = votes[base + c];
                total += v;
                if (v > bestVote) {
                    bestVote = v;
                    best = c;
                }
            }
            this._direct[i] = best < 0 ? this.none : best;
            this._labels[i] = this._direct[i];
            this._confidence[i] = total > 0 ? bestVote / total : 0;
            this._total[i] = total;
            this._propagated[i] = 0;
            // No votes of its own: the last propagation's class, if any.
            if (best < 0 && this._propLabels && this._propLabels[i] !== this.none) {
                this._labels[i] = this._propLabels[i];
                this._confidence[i] = this._propConfidence![i];
                this._propagated[i] = 1;
            }
        }
        this._resolved = true;
    }

    /**
     * [N] lifted class per Gaussian. Gaussians no view has voted for: the propagated class after propagate(), else
     * `none`. Ties: the lowest class id.
     */
    get labels(): Uint8Array {
        this._resolve();
        return this._labels;
    }

    /** [N] share of the top class in the Gaussian's votes (0 without votes; the propagated confidence, at most 0.5 by default, for propagated labels). */
    get confidence(): Float32Array {
        this._resolve();
        return this._confidence;
    }

    /** [N] class from the Gaussian's own votes only (`none` without votes), whatever was propagated. */
    get votedLabels(): Uint8Array {
        this._resolve();
        return this._direct;
    }

    /** [N] 1 where `labels` holds a propagated class (the Gaussian has no votes of its own). */
    get propagated(): Uint8Array {
        this._resolve();
        return this._propagated;
    }

    /** [N] sum of the Gaussian's votes: how much evidence it has (0 for propagated labels). */
    get totalVotes(): Float32Array {
        this._resolve();
        return this._total;
    }

    /** Class and confidence of one Gaussian. */
    classOf(index: number): { label: number; confidence: number; votes: number; propagated: boolean } {
        if (!Number.isInteger(index) || index < 0 || index >= this.gaussianCount) fail(`Gaussian index ${index} is out of range 0..${this.gaussianCount - 1}`);
        this._resolve();
        return { label: this._labels[index], confidence: this._confidence[index], votes: this._total[index], propagated: this._propagated[index] === 1 };
    }
}
