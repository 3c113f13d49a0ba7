// The feature view: PCA and chosen channels of a feature image, as RGBA8.
import { drawFeatureView, featureViewPixels, principalComponentScores } from "../../src/rendering/featureView";
import { isSemanticError } from "../../src/errors";

/** A 4x2 image, K = 4: the left half carries feature direction u, the right half -u; alpha 0.5 (premultiplied). */
function syntheticImage() {
    const W = 4, H = 2, K = 4, N = W * H;
    const u = [0.5, -0.5, 0.5, 0.5];
    const features = new Float32Array(K * N);
    const alpha = new Float32Array(N).fill(0.5);
    alpha[N - 1] = 0; // one uncovered pixel
    for (let p = 0; p < N; p++) {
        const sign = p % W < 2 ? 1 : -1;
        for (let k = 0; k < K; k++) features[k * N + p] = alpha[p] * sign * u[k];
    }
    return { width: W, height: H, featureDimension: K, alpha, features };
}

describe("feature view", () => {
    it("finds the principal direction of the features", () => {
        const samples = [[1, 1, 0], [2, 2, 0], [-1, -1, 0], [-2, -2, 0]].map((s) => Float64Array.from(s));
        const [first, second] = principalComponentScores(samples, 3, 2);
        // Scores along (1,1,0)/sqrt(2), up to sign; nothing left for the second component.
        expect(Math.abs(first[1])).toBeCloseTo(2 * Math.SQRT2, 6);
        expect(Math.sign(first[0])).toBe(Math.sign(first[1]));
        expect(Math.sign(first[0])).toBe(-Math.sign(first[2]));
        expect(Array.from(second).every((v) => Math.abs(v) < 1e-9)).toBeTrue();
    });

    it("shows the two feature clusters apart in PCA mode and leaves uncovered pixels black", () => {
        const image = syntheticImage();
        const px = featureViewPixels(image);
        const red = (p: number) => px[4 * p];
        expect(Math.abs(red(0) - red(2))).toBe(255); // the two clusters end at opposite ends of component 1
        expect(red(0)).toBe(red(1));
        expect(Array.from(px.slice(4 * 7, 4 * 8))).toEqual([0, 0, 0, 255]);
    });

    it("shows chosen channels and refuses channels outside 0..K-1", () => {
        const image = syntheticImage();
        const px = featureViewPixels(image, { mode: "channels", channels: [1, 0, 3] });
        // Channel 1 is -0.5 on the left, +0.5 on the right: after dividing by alpha and stretching, 0 vs 255.
        expect(px[0]).toBe(0);
        expect(px[4 * 2]).toBe(255);
        expect(() => featureViewPixels(image, { mode: "channels", channels: [0, 1, 4] })).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT"));
    });

    it("draws the view into a 2D canvas, rows top to bottom", () => {
        const image = syntheticImage();
        const canvas = document.createElement("canvas");
        drawFeatureView(image, canvas, { mode: "channels", channels: [1, 0, 3] });
        expect([canvas.width, canvas.height]).toEqual([4, 2]);
        const drawn = canvas.getContext("2d")!.getImageData(0, 0, 4, 2).data;
        expect(Array.from(drawn)).toEqual(Array.from(featureViewPixels(image, { mode: "channels", channels: [1, 0, 3] })));
    });
});
