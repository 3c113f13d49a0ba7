// LabelPropagation: unvoted Gaussians take the class of their k nearest voted neighbours (src/lifting/labelPropagation.ts).
// Checked against the Python reference (shared vector), against brute force for grids of very different cell sizes,
// and through LabelLifter (labelLifter.spec.ts covers the lifting scenes).
import { LabelLifter, LabelPropagation, propagateLabels } from "../../src/lifting";

const NONE = 255;

function randomCloud(n: number, seed: number, labelledShare: number) {
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    const positions = new Float32Array(3 * n);
    const labels = new Uint8Array(n).fill(NONE);
    const confidence = new Float32Array(n);
    for (let i = 0; i < n; i++) {
        // Three slabs (like walls and a table) plus a few far outliers.
        const slab = Math.floor(random() * 3);
        const far = i % 97 === 0;
        positions[3 * i] = far ? 20 * random() - 10 : 2 * random();
        positions[3 * i + 1] = far ? 20 * random() - 10 : slab * 0.5 + 0.05 * random();
        positions[3 * i + 2] = far ? 20 * random() - 10 : 2 * random();
        if (random() < labelledShare) {
            labels[i] = slab * 4 + (random() < 0.2 ? 1 : 0);
            confidence[i] = 0.1 + 0.9 * random();
        }
    }
    return { positions, labels, confidence };
}

/** The rule written out the slow way: sort every source by distance. */
function bruteForce(positions: Float32Array, labels: Uint8Array, confidence: Float32Array, k: number, epsilon = 0.01, scale = 0.5) {
    const n = labels.length;
    const sources: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] !== NONE) sources.push(i);
    const outLabels = Uint8Array.from(labels);
    const outConfidence = Float32Array.from(confidence);
    for (let t = 0; t < n; t++) {
        if (labels[t] !== NONE) continue;
        const d = sources.map((j) => Math.hypot(positions[3 * j] - positions[3 * t], positions[3 * j + 1] - positions[3 * t + 1], positions[3 * j + 2] - positions[3 * t + 2]));
        const order = sources.map((_, m) => m).sort((a, b) => d[a] - d[b] || sources[a] - sources[b]);
        const weights = new Map<number, number>();
        let total = 0;
        for (const m of order.slice(0, k)) {
            const w = confidence[sources[m]] / (d[m] + epsilon);
            weights.set(labels[sources[m]], (weights.get(labels[sources[m]]) ?? 0) + w);
            total += w;
        }
        let best = -1;
        let bestWeight = -1;
        for (const [c, w] of weights) if (w > bestWeight || (w === bestWeight && c < best)) [best, bestWeight] = [c, w];
        outLabels[t] = best;
        outConfidence[t] = (bestWeight / total) * scale;
    }
    return { labels: outLabels, confidence: outConfidence };
}

describe("LabelPropagation", () => {
    it("computes the shared Python/TypeScript vector (test/fixtures/lifting/propagation_case.json)", async () => {
        const data = await (await fetch("/base/test/fixtures/lifting/propagation_case.json")).json();
        const p = propagateLabels(Float32Array.from(data.positions), Uint8Array.from(data.labels), Float32Array.from(data.confidence), { k: data.k });
        const targets = (data.labels as number[]).filter((l) => l === NONE).length;
        expect(targets).toBeGreaterThan(100);
        expect(p.stats.propagated).toBe(targets);
        for (let i = 0; i < data.labels.length; i++) {
            expect(p.labels[i]).withContext(`label ${i}`).toBe(data.expectedLabels[i]);
            expect(p.confidence[i]).withContext(`confidence ${i}`).toBeCloseTo(data.expectedConfidence[i], 5);
            expect(p.propagated[i]).withContext(`propagated ${i}`).toBe(data.expectedPropagated[i]);
        }
    });

    it("finds the exact k nearest voted neighbours whatever the grid's cell size", () => {
        const cloud = randomCloud(1500, 3, 0.4);
        for (const k of [1, 3, 8]) {
            const expected = bruteForce(cloud.positions, cloud.labels, cloud.confidence, k);
            // Tiny cells: many rings per target; the default; one cell holding everything.
            for (const cellSize of [0.02, undefined, 100]) {
                const p = propagateLabels(cloud.positions, cloud.labels, cloud.confidence, { k, cellSize });
                let mismatches = 0;
                for (let i = 0; i < cloud.labels.length; i++) {
                    if (p.labels[i] !== expected.labels[i] || Math.abs(p.confidence[i] - expected.confidence[i]) > 1e-6) mismatches++;
                }
                expect(mismatches).withContext(`k = ${k}, cellSize = ${cellSize}`).toBe(0);
            }
        }
    });

    it("keeps the sources, flags the targets, caps the propagated confidence, and works in slices", () => {
        const cloud = randomCloud(800, 9, 0.5);
        const p = new LabelPropagation(cloud.positions, cloud.labels, cloud.confidence, { k: 4, confidenceScale: 0.4 });
        const { sources, targets } = p.stats;
        expect(sources + targets).toBe(800);
        expect(targets).toBeGreaterThan(300);
        expect(p.step(100)).toBeFalse();
        expect(p.stats.propagated).toBe(100);
        expect(p.done).toBeFalse();
        while (!p.step(100));
        expect(p.stats.propagated).toBe(targets);
        const once = propagateLabels(cloud.positions, cloud.labels, cloud.confidence, { k: 4, confidenceScale: 0.4 });
        expect(Array.from(p.labels)).toEqual(Array.from(once.labels));
        for (let i = 0; i < 800; i++) {
            expect(p.labels[i]).not.toBe(NONE);
            if (cloud.labels[i] !== NONE) {
                expect(p.labels[i]).toBe(cloud.labels[i]);
                expect(p.confidence[i]).toBe(cloud.confidence[i]);
                expect(p.propagated[i]).toBe(0);
            } else {
                expect(p.propagated[i]).toBe(1);
                expect(p.confidence[i]).toBeGreaterThan(0);
                expect(p.confidence[i]).toBeLessThanOrEqual(0.4 + 1e-6);
            }
        }
        // The inputs are not modified.
        expect(cloud.labels.filter((l) => l === NONE).length).toBe(targets);
    });

    it("leaves everything none without sources, and names bad input", () => {
        const p = propagateLabels(new Float32Array(12), new Uint8Array(4).fill(NONE), new Float32Array(4));
        expect(Array.from(p.labels)).toEqual([NONE, NONE, NONE, NONE]);
        expect(p.stats.propagated).toBe(0);
        expect(() => new LabelPropagation(new Float32Array(9), new Uint8Array(4), new Float32Array(4))).toThrowError(/positions has 9 entries, expected 3 x 4/);
        expect(() => new LabelPropagation(new Float32Array(12), new Uint8Array(4), new Float32Array(4), { k: 0 })).toThrowError(/k must be a positive integer/);
        expect(() => new LabelPropagation(new Float32Array([0, 0, NaN]), new Uint8Array(1), new Float32Array(1))).toThrowError(/not finite/);
    });
});

describe("LabelLifter.propagateAsync", () => {
    /** A lifter whose votes are set directly: the cloud's labelled Gaussians voted with their confidence. */
    function lifterOf(cloud: ReturnType<typeof randomCloud>) {
        const n = cloud.labels.length;
        const lifter = new LabelLifter(n);
        for (let i = 0; i < n; i++) {
            if (cloud.labels[i] === NONE) continue;
            lifter.votes[i * lifter.classCount + cloud.labels[i]] = cloud.confidence[i];
            // A weaker second class, so the voted confidence is a share below 1.
            lifter.votes[i * lifter.classCount + 20] = 0.25 * cloud.confidence[i];
        }
        return lifter;
    }

    it("gives the same labels as propagate() in several slices, and reset() during it drops the result", async () => {
        const cloud = randomCloud(6000, 5, 0.3);
        const sync = lifterOf(cloud);
        const r = sync.propagate(cloud);
        expect(r.propagated).toBe(r.targets);
        expect(r.slices).toBe(1);
        const asyncLifter = lifterOf(cloud);
        const ra = await asyncLifter.propagateAsync(cloud, { sliceMs: 0.01 });
        expect(ra.propagated).toBe(r.targets);
        expect(ra.slices).toBeGreaterThan(2); // more than the build plus one slice
        expect(Array.from(asyncLifter.labels)).toEqual(Array.from(sync.labels));
        expect(Array.from(asyncLifter.propagated)).toEqual(Array.from(sync.propagated));
        expect(asyncLifter.labels.every((l) => l !== NONE)).toBeTrue();

        const dropped = lifterOf(cloud);
        const pending = dropped.propagateAsync(cloud, { sliceMs: 0.01 });
        dropped.reset();
        await pending;
        expect(dropped.labels.every((l) => l === NONE)).toBeTrue();
        expect(dropped.propagated.every((f) => f === 0)).toBeTrue();
    });
});
