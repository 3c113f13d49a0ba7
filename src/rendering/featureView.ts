// A debug view of a feature image: three chosen channels, or the three principal components of the per-pixel
// features, as an RGBA8 picture a person can look at (on a 2D canvas, or uploaded as a texture).
import { SemanticSplatError } from "../errors";

/** The parts of a FeatureFrame (or a reference image) the view needs. */
export interface FeatureImageLike {
    width: number;
    height: number;
    featureDimension: number;
    alpha: ArrayLike<number>;
    /** [K, H, W] planar, premultiplied (not divided by alpha). */
    features: ArrayLike<number>;
}

export interface FeatureViewOptions {
    /** "pca" (default): the 3 principal components; "channels": the three channels in `channels`. */
    mode?: "pca" | "channels";
    /** Channels shown as red, green, blue in "channels" mode (default [0, 1, 2]). */
    channels?: [number, number, number];
    /** Pixels with coverage alpha below this are drawn black and left out of the PCA (default 0.05). */
    minAlpha?: number;
}

/**
 * The picture: RGBA8, rows top to bottom (ready for `new ImageData(pixels, width, height)`). Features are divided
 * by alpha first (so the view shows what the Gaussians carry, not their coverage); each shown component is
 * stretched from its 1st to 99th percentile over covered pixels to 0..255.
 */
export function featureViewPixels(image: FeatureImageLike, options: FeatureViewOptions = {}): Uint8ClampedArray {
    const { width: W, height: H, featureDimension: K } = image;
    const N = W * H;
    if (image.features.length !== K * N || image.alpha.length !== N) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `featureViewPixels: expected ${K}x${H}x${W} features and ${H}x${W} alpha`);
    }
    const minAlpha = options.minAlpha ?? 0.05;
    const covered: number[] = [];
    for (let p = 0; p < N; p++) if (image.alpha[p] >= minAlpha) covered.push(p);
    const feature = (k: number, p: number) => image.features[k * N + p] / image.alpha[p];

    let components: Float64Array[]; // 3 arrays over covered pixels
    if ((options.mode ?? "pca") === "channels") {
        const channels = options.channels ?? [0, 1, 2];
        for (const c of channels) {
            if (!Number.isInteger(c) || c < 0 || c >= K) throw new SemanticSplatError("INVALID_ARGUMENT", `featureViewPixels: channel ${c} is outside 0..${K - 1}`);
        }
        components = channels.map((c) => Float64Array.from(covered, (p) => feature(c, p)));
    } else {
        components = principalComponentScores(covered.map((p) => Float64Array.from({ length: K }, (_, k) => feature(k, p))), K, 3);
    }
    const pixels = new Uint8ClampedArray(4 * N);
    for (let p = 0; p < N; p++) pixels[4 * p + 3] = 255;
    components.forEach((values, c) => {
        const [lo, hi] = percentileRange(values);
        const scale = hi > lo ? 255 / (hi - lo) : 0;
        covered.forEach((p, i) => (pixels[4 * p + c] = (values[i] - lo) * scale));
    });
    return pixels;
}

/** Draws the feature view into a canvas (resized to the image). */
export function drawFeatureView(image: FeatureImageLike, canvas: HTMLCanvasElement | OffscreenCanvas, options: FeatureViewOptions = {}): void {
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d") as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!context) throw new SemanticSplatError("INVALID_ARGUMENT", "drawFeatureView: the canvas has no 2D context (is it already used for WebGPU?)");
    const pixels = featureViewPixels(image, options);
    context.putImageData(new ImageData(new Uint8ClampedArray(pixels), image.width, image.height), 0, 0);
}

/**
 * Scores of `samples` (each K values) on their first `count` principal components (power iteration with
 * deflation on the K x K covariance; K is small). Components the data does not have (rank < count) score 0.
 */
export function principalComponentScores(samples: Float64Array[], K: number, count: number): Float64Array[] {
    const n = samples.length;
    const mean = new Float64Array(K);
    for (const s of samples) for (let k = 0; k < K; k++) mean[k] += s[k] / Math.max(n, 1);
    const cov = Array.from({ length: K }, () => new Float64Array(K));
    for (const s of samples) {
        for (let i = 0; i < K; i++) {
            const di = s[i] - mean[i];
            for (let j = 0; j < K; j++) cov[i][j] += (di * (s[j] - mean[j])) / Math.max(n - 1, 1);
        }
    }
    const scores: Float64Array[] = [];
    for (let c = 0; c < count; c++) {
        // Deterministic start vector so that the view does not flicker between calls.
        let v = Float64Array.from({ length: K }, (_, k) => 1 / Math.sqrt(K) + 1e-3 * (k + c));
        let eigenvalue = 0;
        for (let iter = 0; iter < 200; iter++) {
            const w = new Float64Array(K);
            for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) w[i] += cov[i][j] * v[j];
            const norm = Math.hypot(...w);
            eigenvalue = norm;
            if (norm < 1e-12) break;
            v = w.map((x) => x / norm);
        }
        const score = new Float64Array(n);
        if (eigenvalue >= 1e-12) {
            samples.forEach((s, i) => {
                let dot = 0;
                for (let k = 0; k < K; k++) dot += (s[k] - mean[k]) * v[k];
                score[i] = dot;
            });
            // Deflate: cov -= lambda v v^T.
            for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) cov[i][j] -= eigenvalue * v[i] * v[j];
        }
        scores.push(score);
    }
    return scores;
}

function percentileRange(values: Float64Array): [number, number] {
    if (values.length === 0) return [0, 0];
    const sorted = Float64Array.from(values).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
    return [at(0.01), at(0.99)];
}
