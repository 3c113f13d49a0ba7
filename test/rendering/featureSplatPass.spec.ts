// The feature splat pass against the CPU reference, on default-limits and raised-limits devices.
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { FeatureSplatPass, type FeatureFrame } from "../../src/rendering/featureSplatPass";
import { captureFrame, coverage, createTinySetup, maskFraction, maxAbsDiff, referenceFor, tinyGaussians, type TinySetup } from "./fixtures";

/** Max abs error <= 0.01 on alpha and features (issue acceptance), rgb too, depth to fp16 precision. */
function expectMatchesReference(setup: TinySetup, frame: FeatureFrame): void {
    const ref = referenceFor(setup, frame);
    expect(coverage(frame.alpha)).withContext("covered fraction").toBeGreaterThan(0.2);
    // Pixels on a splat's cut-off circle may fall either side on the GPU (sub-pixel snapping): few of them.
    expect(maskFraction(ref.ambiguous)).withContext("cut-off-ambiguous pixel fraction").toBeLessThan(0.1);
    expect(maxAbsDiff(frame.alpha, ref.alpha, ref.ambiguous)).withContext("alpha").toBeLessThanOrEqual(0.01);
    expect(maxAbsDiff(frame.features, ref.features, ref.ambiguous)).withContext("features").toBeLessThanOrEqual(0.01);
    expect(maxAbsDiff(frame.rgb, ref.rgb, ref.ambiguous)).withContext("rgb").toBeLessThanOrEqual(0.01);
    // Depth reaches ~5 scene units: fp16 steps there are 0.004, and blending rounds at every splat.
    expect(maxAbsDiff(frame.depth, ref.depth, ref.ambiguous)).withContext("depth").toBeLessThanOrEqual(0.05);
}

describe("feature splat pass", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("matches the CPU reference with rgba16float targets on a raised-limits device (one pass of 7 attachments), K = 16", async () => {
        t = await createTestEngine({ width: 320, height: 240, raisedLimits: true });
        const setup = createTinySetup(t, tinyGaussians(40, 16, 3));
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 128, height: 96, attachmentFormat: "rgba16float" });
        expect(pass.plans.length).toBe(1);
        const frame = await captureFrame(setup.scene, pass);
        expectMatchesReference(setup, frame);
        pass.dispose();
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    for (const raisedLimits of [false, true]) {
        for (const K of [8, 16, 32]) {
            it(`matches the CPU reference per pixel, K = ${K}, ${raisedLimits ? "raised" : "default"} device limits`, async () => {
                t = await createTestEngine({ width: 320, height: 240, raisedLimits });
                const setup = createTinySetup(t, tinyGaussians(40, K, 7 + K));
                const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 128, height: 96 });
                // Raised-limits test devices also have float32-blendable: the default format is then rgba32float.
                expect(pass.attachmentFormat).toBe(raisedLimits ? "rgba32float" : "rgba16float");
                // ... and clip-distances: the default primitive is then one clipped triangle per splat.
                expect(pass.splatPrimitive).toBe(raisedLimits ? "triangle" : "quad");
                const frame = await captureFrame(setup.scene, pass);
                expect(frame.featureDimension).toBe(K);
                expect(frame.features.length).toBe(K * 128 * 96);
                if (!raisedLimits) {
                    // 32 bytes per sample = 4 RGBA16F attachments: 1 + 3 x 3 channel slots fit K = 8 in one pass.
                    expect(frame.passCount).toBe({ 8: 1, 16: 2, 32: 3 }[K]!);
                }
                expectMatchesReference(setup, frame);
                pass.dispose();
                setup.scene.dispose();
                expectNoWebGPUErrors(t);
            });
        }
    }
});
