// Re-renders the parity scene with the runtime's feature pass and compares with the committed goldens
// (written by scripts/make-parity-golden.mjs; the factory's reference renderer is tested against the same files).
// A change in the runtime's splat maths (kernel, cut-off, order, compositing, Y convention) shows up here.
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { renderParity, LABEL_ALPHA_THRESHOLD } from "./parityRender";

const BASE = "/base/test/golden/parity";

async function fetchBytes(name: string): Promise<ArrayBuffer> {
    const response = await fetch(`${BASE}/${name}`);
    if (!response.ok) throw new Error(`${BASE}/${name}: HTTP ${response.status}`);
    return response.arrayBuffer();
}

/** Pixels may differ by up to one cut-off step (o e^-4 < 0.02) where a splat's edge falls on a pixel centre; few may. */
function expectClose(name: string, actual: Float32Array, golden: Float32Array, tolerance: number, maxStep: number): void {
    expect(actual.length).withContext(`${name} length`).toBe(golden.length);
    let worst = 0;
    let over = 0;
    for (let i = 0; i < golden.length; i++) {
        const d = Math.abs(actual[i] - golden[i]);
        worst = Math.max(worst, d);
        if (d > tolerance) over++;
    }
    expect(worst).withContext(`${name}: max abs difference`).toBeLessThanOrEqual(maxStep);
    expect(over / golden.length).withContext(`${name}: fraction of values off by more than ${tolerance}`).toBeLessThan(0.005);
}

describe("renderer parity goldens", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("the runtime still renders test/golden/parity/scene.ply as the goldens say", async () => {
        const targets = JSON.parse(new TextDecoder().decode(await fetchBytes("targets.json")));
        const camera = JSON.parse(new TextDecoder().decode(await fetchBytes("camera.json")));
        t = await createTestEngine({ width: 640, height: 480 });
        const r = await renderParity(t.engine, `${BASE}/scene.ply`, targets.classCount);
        expect([r.camera.width, r.camera.height, r.K]).toEqual([targets.width, targets.height, targets.K]);
        expect(targets.rowOrder).toBe("top-to-bottom");
        expect(targets.labelAlphaThreshold).toBe(LABEL_ALPHA_THRESHOLD);
        for (const key of ["viewMatrix", "projectionMatrix", "meshWorldMatrix"] as const) {
            r.camera[key].forEach((v, i) => expect(v).withContext(`${key}[${i}]`).toBeCloseTo(camera[key][i], 5));
        }
        expectClose("rgb", r.rgb, new Float32Array(await fetchBytes(targets.files.rgb)), 0.005, 0.02);
        expectClose("alpha", r.alpha, new Float32Array(await fetchBytes(targets.files.alpha)), 0.005, 0.02);
        expectClose("features", r.features, new Float32Array(await fetchBytes(targets.files.features)), 0.005, 0.02);
        expectClose("depth", r.depth, new Float32Array(await fetchBytes(targets.files.depth)), 0.02, 0.1);
        const labels = new Uint8Array(await fetchBytes(targets.files.labels));
        let same = 0;
        for (let i = 0; i < labels.length; i++) if (labels[i] === r.labels[i]) same++;
        expect(same / labels.length).withContext("label agreement").toBeGreaterThan(0.995);
        // The goldens are not trivial: a real share of labelled, covered pixels.
        expect(labels.filter((l) => l !== 255).length / labels.length).toBeGreaterThan(0.2);
        expectNoWebGPUErrors(t);
    });
});
