// LabelLifter and pickLiftedLabel on scenes with known classes. Label maps come from the CPU reference renderer
// (src/rendering/cpuReference.ts) with one-hot class features: the same images the GPU pass makes.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { LabelLifter, pickLiftedLabel, type LiftingView } from "../../src/lifting";
import { renderReference, type ReferenceSplat } from "../../src/rendering/cpuReference";

const CLASSES = 21;
const W = 48;
const H = 36;

interface Wall {
    splats: ReferenceSplat[];
    classes: number[];
}

/** Two walls of small splats: class 3 at z = 2 covering x < 0, class 7 at z = 4 everywhere behind it. */
function twoWalls(): Wall {
    const splats: ReferenceSplat[] = [];
    const classes: number[] = [];
    const add = (x: number, y: number, z: number, cls: number) => {
        // Flat in z: covariance (Babylon's 4x) of standard deviations 0.06, 0.06, 0.005.
        const s = [0.06, 0.06, 0.005].map((v) => 4 * v * v);
        splats.push({ center: [x, y, z], covariance: [s[0], 0, 0, s[1], 0, s[2]], color: [0.5, 0.5, 0.5], opacity: 0.95 });
        classes.push(cls);
    };
    for (let y = -1.5; y <= 1.5001; y += 0.1) {
        for (let x = -1.2; x <= -0.0999; x += 0.1) add(x, y, 2, 3);
        for (let x = -3; x <= 3.0001; x += 0.1) add(x, y, 4, 7);
    }
    return { splats, classes };
}

function camera(eye: [number, number, number]) {
    const view = Matrix.LookAtLH(Vector3.FromArray(eye), new Vector3(eye[0], eye[1], eye[2] + 1), Vector3.Up());
    const projection = Matrix.PerspectiveFovLH(1.0, W / H, 0.05, 100, undefined, undefined, true);
    return { width: W, height: H, viewMatrix: Array.from(view.m), projectionMatrix: Array.from(projection.m) };
}

/** A segmented view: argmax of the one-hot class features; `noise` of the labelled pixels get a random class. */
function segmentedView(scene: Wall, eye: [number, number, number], noise = 0, seed = 1): LiftingView {
    const cam = camera(eye);
    const onehot = new Float32Array(scene.splats.length * CLASSES);
    scene.classes.forEach((c, i) => (onehot[i * CLASSES + c] = 1));
    const image = renderReference(scene.splats, onehot, CLASSES, cam);
    const labels = new Uint8Array(W * H).fill(255);
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let p = 0; p < W * H; p++) {
        if (image.alpha[p] < 0.5) continue;
        let best = 0;
        for (let c = 1; c < CLASSES; c++) if (image.features[c * W * H + p] > image.features[best * W * H + p]) best = c;
        labels[p] = random() < noise ? Math.floor(random() * CLASSES) : best;
    }
    return { width: W, height: H, labels, confidence: null, alpha: Float32Array.from(image.alpha), expectedDepth: Float32Array.from(image.depth), viewMatrix: cam.viewMatrix, projectionMatrix: cam.projectionMatrix };
}

function gaussiansOf(scene: Wall) {
    return {
        positions: Float32Array.from(scene.splats.flatMap((s) => s.center)),
        opacities: Float32Array.from(scene.splats.map((s) => s.opacity)),
    };
}

describe("LabelLifter", () => {
    it("computes the shared Python/TypeScript vector (test/fixtures/lifting/tiny_case.json)", async () => {
        const data = await (await fetch("/base/test/fixtures/lifting/tiny_case.json")).json();
        const n = data.opacities.length;
        const lifter = new LabelLifter(n, { classCount: data.classCount });
        const stats = lifter.accumulate(
            {
                width: data.width,
                height: data.height,
                labels: Uint8Array.from(data.labels),
                confidence: Float32Array.from(data.confidence),
                alpha: Float32Array.from(data.alpha),
                expectedDepth: Float32Array.from(data.expectedDepth),
                viewMatrix: data.viewMatrix,
                projectionMatrix: data.projectionMatrix,
            },
            { positions: Float32Array.from(data.positions), opacities: Float32Array.from(data.opacities) }
        );
        expect(stats.voted).toBeGreaterThan(5);
        const expected: number[] = data.votes;
        let nonZero = 0;
        for (let k = 0; k < expected.length; k++) {
            if (expected[k] !== 0) nonZero++;
            expect(lifter.votes[k]).withContext(`vote ${k}`).toBeCloseTo(expected[k], 5);
        }
        expect(nonZero).toBe(stats.voted);
        // Occluded ("behind") and off-image Gaussians got nothing.
        (data.kinds as string[]).forEach((kind, i) => {
            if (kind === "behind" || kind === "off") expect(lifter.classOf(i).votes).withContext(`${kind} Gaussian ${i}`).toBe(0);
        });
    });

    it("lifts synthetic label maps onto the right classes, and occluded Gaussians get no votes", () => {
        const scene = twoWalls();
        const gaussians = gaussiansOf(scene);
        const lifter = new LabelLifter(scene.splats.length);
        lifter.accumulate(segmentedView(scene, [0, 0, -1]), gaussians);
        const labels = lifter.labels;
        let voted = 0;
        let right = 0;
        for (let i = 0; i < labels.length; i++) {
            if (labels[i] === 255) continue;
            voted++;
            if (labels[i] === scene.classes[i]) right++;
        }
        expect(voted).toBeGreaterThan(200);
        expect(right / voted).toBeGreaterThan(0.97);
        // Back-wall Gaussians straight behind the front wall are hidden from this camera: no votes.
        let hidden = 0;
        scene.splats.forEach((s, i) => {
            const [x, y, z] = s.center;
            if (z === 4 && x < -0.4 && x > -1.0 && Math.abs(y) < 0.8) {
                hidden++;
                expect(lifter.classOf(i).votes).withContext(`hidden Gaussian ${i}`).toBe(0);
            }
        });
        expect(hidden).toBeGreaterThan(20);
    });

    it("accumulates votes over views: noisy views converge, and Gaussians seen from more views gain evidence", () => {
        const scene = twoWalls();
        const gaussians = gaussiansOf(scene);
        const lifter = new LabelLifter(scene.splats.length);
        const eyes: [number, number, number][] = [[0, 0, -1], [0.3, 0.1, -1.2], [-0.3, -0.1, -0.8], [0.1, 0.3, -1.1], [-0.2, -0.3, -1.3], [0.25, -0.2, -0.9], [-0.1, 0.2, -1.0]];
        const accuracy = () => {
            const labels = lifter.labels;
            let voted = 0;
            let right = 0;
            labels.forEach((l, i) => {
                if (l !== 255) {
                    voted++;
                    if (l === scene.classes[i]) right++;
                }
            });
            return { voted, accuracy: right / voted };
        };
        lifter.accumulate(segmentedView(scene, eyes[0], 0.3, 11), gaussians);
        const first = accuracy();
        const totalAfterOne = lifter.totalVotes.reduce((a, b) => a + b, 0);
        eyes.slice(1).forEach((eye, k) => lifter.accumulate(segmentedView(scene, eye, 0.3, 20 + k), gaussians));
        const last = accuracy();
        expect(lifter.viewCount).toBe(eyes.length);
        expect(lifter.totalVotes.reduce((a, b) => a + b, 0)).toBeGreaterThan(3 * totalAfterOne);
        expect(last.voted).toBeGreaterThanOrEqual(first.voted);
        // 30 % label noise in every view: one view is ~70 % right, the majority over seven views is far better.
        expect(first.accuracy).toBeLessThan(0.85);
        expect(last.accuracy).toBeGreaterThan(0.93);
        expect(last.accuracy).toBeGreaterThan(first.accuracy + 0.1);
        lifter.reset();
        expect(lifter.viewCount).toBe(0);
        expect(lifter.labels.every((l) => l === 255)).toBeTrue();
    });

    it("propagate() gives every unvoted Gaussian its voted neighbours' class until its own votes take over", () => {
        const scene = twoWalls();
        const gaussians = gaussiansOf(scene);
        const n = scene.splats.length;
        const lifter = new LabelLifter(n);
        lifter.accumulate(segmentedView(scene, [0, 0, -1]), gaussians);
        const unvoted = lifter.labels.filter((l) => l === 255).length;
        expect(unvoted).toBeGreaterThan(20);
        const result = lifter.propagate(gaussians);
        expect(result.targets).toBe(unvoted);
        expect(result.propagated).toBe(unvoted);
        expect(lifter.labels.every((l) => l !== 255)).toBeTrue();
        let right = 0;
        lifter.labels.forEach((l, i) => (right += l === scene.classes[i] ? 1 : 0));
        expect(right / n).toBeGreaterThan(0.97);
        // The back wall hidden behind the front wall: its nearest voted neighbours are back-wall Gaussians (at most
        // about 0.9 away), the front wall is 2 in front of it.
        const hidden: number[] = [];
        scene.splats.forEach((s, i) => {
            const [x, y, z] = s.center;
            if (z === 4 && x < -0.4 && x > -1.0 && Math.abs(y) < 0.8) hidden.push(i);
        });
        expect(hidden.length).toBeGreaterThan(20);
        for (const i of hidden) {
            const c = lifter.classOf(i);
            expect(c.label).withContext(`hidden Gaussian ${i}`).toBe(7);
            expect(c.propagated).toBeTrue();
            expect(c.votes).toBe(0);
            expect(c.confidence).toBeGreaterThan(0);
            expect(c.confidence).toBeLessThanOrEqual(0.5);
            expect(lifter.votedLabels[i]).toBe(255);
        }
        // A camera between the walls sees part of the hidden region: those Gaussians now have votes of their own.
        lifter.accumulate(segmentedView(scene, [-0.7, 0, 3]), gaussians);
        const nowVoted = hidden.filter((i) => lifter.classOf(i).votes > 0);
        expect(nowVoted.length).toBeGreaterThan(10);
        for (const i of nowVoted) {
            expect(lifter.propagated[i]).toBe(0);
            expect(lifter.labels[i]).toBe(7);
            expect(lifter.votedLabels[i]).toBe(7);
        }
        lifter.reset();
        expect(lifter.labels.every((l) => l === 255)).toBeTrue();
        expect(lifter.propagated.every((f) => f === 0)).toBeTrue();
    });

    it("names bad input", () => {
        const lifter = new LabelLifter(2);
        const view = segmentedView(twoWalls(), [0, 0, -1]);
        expect(() => lifter.accumulate(view, { positions: new Float32Array(3), opacities: new Float32Array(1) })).toThrowError(/positions has 3 entries, expected 3 x 2/);
        expect(() => lifter.accumulate({ ...view, alpha: new Float32Array(4) }, { positions: new Float32Array(6), opacities: new Float32Array(2) })).toThrowError(/view.alpha has 4 entries/);
        expect(() => new LabelLifter(-1)).toThrowError(/gaussianCount/);
    });
});

describe("pickLiftedLabel", () => {
    it("answers the lifted class of the surface under the pixel", () => {
        const scene = twoWalls();
        const gaussians = gaussiansOf(scene);
        const lifter = new LabelLifter(scene.splats.length);
        for (const eye of [[0, 0, -1], [0.3, 0.2, -1.1], [-0.3, -0.2, -0.9]] as [number, number, number][]) lifter.accumulate(segmentedView(scene, eye), gaussians);
        const cam = camera([0, 0, -1]);
        // Left of centre: the front wall (class 3, depth 3); far right: the back wall (class 7, depth 5).
        const left = pickLiftedLabel({ x: W * 0.3, y: H / 2, ...cam }, gaussians, lifter.labels);
        expect(left.label).toBe(3);
        expect(left.depth).toBeCloseTo(3, 1);
        expect(left.confidence).toBeGreaterThan(0.9);
        const right = pickLiftedLabel({ x: W * 0.8, y: H / 2, ...cam }, gaussians, lifter.labels);
        expect(right.label).toBe(7);
        expect(right.depth).toBeCloseTo(5, 1);
        expect(scene.classes[right.gaussianIndex]).toBe(7);
        // Nothing there: none.
        const sky = pickLiftedLabel({ x: W / 2, y: H / 2, ...camera([0, 0, 10]) }, gaussians, lifter.labels);
        expect(sky.label).toBe(255);
        expect(sky.gaussianIndex).toBe(-1);
    });
});
