// The segmentation pipeline's off-main-thread path: FeatureSplatPass.readbackRawAsync() hands the render targets'
// raw texels to the inference worker, which unpacks them (src/rendering/featureFrame.ts). These specs render real
// frames and check that the worker's planar arrays are exactly those of the former main-thread unpacking (Babylon's
// own readback with its half-float conversion, de-interleaved pixel by pixel) and of FeatureSplatPass.readbackAsync,
// and that segmentFrame() answers exactly what segment() plus the coverage mask answer.
import type { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { FeatureSplatPass, type FeatureFrame, type RawFeatureFrame } from "../../src/rendering/featureSplatPass";
import { CHANNELS_PER_ATTACHMENT } from "../../src/rendering/attachmentPlan";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { captureFrame } from "../rendering/fixtures";
import { createQuadrantScene, type PipelineScene } from "../pipeline/pipelineScene";
import { FIXTURE_REQUEST } from "./fixtureInputs";

const SPEC_MS = 100000;

/** The index of the first element where `a` and `b` differ (Object.is: NaN equals NaN, 0 and -0 differ), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length) return Math.min(a.length, b.length);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
    return -1;
}

function expectSamePlanes(actual: FeatureFrame, expected: FeatureFrame, what: string): void {
    for (const key of ["rgb", "alpha", "depth", "features", "viewMatrix", "projectionMatrix"] as const) {
        expect(firstDifference(actual[key], expected[key])).withContext(`${what}: ${key}`).toBe(-1);
    }
    expect([actual.width, actual.height, actual.featureDimension, actual.passCount]).toEqual([expected.width, expected.height, expected.featureDimension, expected.passCount]);
}

/**
 * The unpacking as it ran on the main thread before the worker path: Babylon's readback converting half floats
 * itself (noDataConversion false), then the per-pixel de-interleaving with the row flip. The reference the worker
 * must match bit for bit.
 */
async function formerMainThreadReadback(pass: FeatureSplatPass, matrices: FeatureFrame): Promise<FeatureFrame> {
    const engine = pass.scene.getEngine() as WebGPUEngine;
    const W = pass.width;
    const H = pass.height;
    const K = pass.featureDimension;
    const N = W * H;
    const sourceTexel = (p: number) => (H - 1 - Math.floor(p / W)) * W + (p % W);
    const rgb = new Float32Array(3 * N);
    const alpha = new Float32Array(N);
    const depth = new Float32Array(N);
    const features = new Float32Array(K * N);
    for (let passIndex = 0; passIndex < pass.targets.length; passIndex++) {
        const plan = pass.plans[passIndex];
        const attachments = await Promise.all(
            pass.targets[passIndex].textures.map((tex) => engine._readTexturePixels(tex.getInternalTexture()!, W, H, -1, 0, null, true, false) as Promise<Float32Array>)
        );
        let a = 0;
        if (plan.writesColor) {
            const rgba = attachments[a++];
            for (let p = 0; p < N; p++) {
                const q = sourceTexel(p);
                rgb[p] = rgba[4 * q];
                rgb[N + p] = rgba[4 * q + 1];
                rgb[2 * N + p] = rgba[4 * q + 2];
                alpha[p] = rgba[4 * q + 3];
            }
        }
        for (let sIndex = 0; sIndex < plan.channelAttachments; sIndex++, a++) {
            const rgba = attachments[a];
            for (let k = 0; k < CHANNELS_PER_ATTACHMENT; k++) {
                const channel = plan.firstChannel + CHANNELS_PER_ATTACHMENT * sIndex + k;
                if (channel > K) break;
                const out = channel === 0 ? depth : features.subarray((channel - 1) * N, channel * N);
                for (let p = 0; p < N; p++) out[p] = rgba[4 * sourceTexel(p) + k];
            }
        }
    }
    return { width: W, height: H, featureDimension: K, rgb, alpha, depth, features, viewMatrix: matrices.viewMatrix, projectionMatrix: matrices.projectionMatrix, passCount: pass.plans.length };
}

describe("worker-side unpacking of the feature pass's raw readback", () => {
    let t: TestEngine;
    let s: PipelineScene;
    let client: InferenceClient;
    const passes: FeatureSplatPass[] = [];

    beforeAll(async () => {
        t = await createTestEngine({ width: 320, height: 256 }); // default limits: rgba16float targets
        s = createQuadrantScene(t);
        client = new InferenceClient({ numThreads: 1 });
    });
    afterEach(() => {
        for (const p of passes.splice(0)) p.dispose();
    });
    afterAll(() => {
        client?.dispose();
        s?.scene.dispose();
        t?.dispose();
    });

    /** A pass, one frame captured through requestFrame (main-thread unpacking), and the raw texels of that same image. */
    const capture = async (options: ConstructorParameters<typeof FeatureSplatPass>[2]) => {
        const pass = new FeatureSplatPass(s.scene, s.mesh, options);
        passes.push(pass);
        const main = await captureFrame(s.scene, pass);
        // No frame is drawn in between: the targets still hold the captured image.
        const raw = await pass.readbackRawAsync();
        const former = await formerMainThreadReadback(pass, main);
        return { pass, main, raw, former };
    };

    const nonTrivial = (frame: FeatureFrame) => {
        expect(frame.alpha.filter((a) => a > 0.5).length).withContext("covered pixels").toBeGreaterThan(frame.alpha.length / 2);
        expect(frame.features.some((f) => f > 0.5)).withContext("features present").toBeTrue();
        expect(frame.depth.some((d) => d > 1)).withContext("depth present").toBeTrue();
    };

    for (const { name, options } of [
        { name: "one pass, 320x256", options: { width: 320, height: 256 } },
        // 40 px of rgba16float is 320 bytes a row: the readback's rows are padded to 512 and must be compacted.
        { name: "two passes (split forced by limits), 40x24, padded rows", options: { width: 40, height: 24, limits: { maxColorAttachments: 2, maxColorAttachmentBytesPerSample: 32 } } },
    ]) {
        it(`gives exactly the planar arrays of the former main-thread unpacking and of readbackAsync (${name})`, async () => {
            const { pass, main, raw, former } = await capture(options);
            expect(raw.attachmentFormat).toBe("rgba16float");
            expect(raw.passes.length).toBe(pass.plans.length);
            if (pass.width === 40) expect(pass.plans.length).withContext("the limits force a split").toBeGreaterThan(1);
            expect(raw.passes[0].attachments[0]).toBeInstanceOf(Uint16Array);
            nonTrivial(former);
            expectSamePlanes(main, former, "readbackAsync vs the former unpacking");
            const attachmentBytes = raw.passes.flatMap((p) => p.attachments.map((a) => a.byteLength));
            const inWorker = await client.unpackFrame(raw);
            expect(raw.passes.every((p) => p.attachments.every((a) => a.byteLength === 0))).withContext("raw buffers were transferred").toBeTrue();
            expect(attachmentBytes.every((b) => b === 8 * pass.width * pass.height)).toBeTrue();
            expectSamePlanes(inWorker, former, "worker vs the former unpacking");
            expectNoWebGPUErrors(t);
        }, SPEC_MS);
    }

    it("segmentFrame() answers what segment() on the main-thread frame plus the coverage mask answer, and hands the buffers back", async () => {
        await client.loadModel({ ...FIXTURE_REQUEST, executionProvider: "wasm" });
        const { main, raw } = await capture({ width: 320, height: 256 });
        nonTrivial(main);
        const raw2: RawFeatureFrame = { ...raw, passes: raw.passes.map((p) => ({ plan: p.plan, attachments: p.attachments.map((a) => a.slice()) })) };
        const threshold = 0.5;
        const answer = await client.segmentFrame(raw, { alphaThreshold: threshold, noneLabel: 255 });
        const plain = await client.segment(main.rgb.slice(), main.features.slice(), main.width, main.height);
        let masked = 0;
        for (let p = 0; p < plain.labels.length; p++) {
            if (main.alpha[p] < threshold) {
                plain.labels[p] = 255;
                plain.confidence[p] = 0;
                masked++;
            }
        }
        expect(masked).withContext("the frame has uncovered pixels (the gap between the quadrants)").toBeGreaterThan(0);
        expect(firstDifference(answer.labels, plain.labels)).withContext("labels").toBe(-1);
        expect(firstDifference(answer.confidence, plain.confidence)).withContext("confidence").toBe(-1);
        expect(firstDifference(answer.alpha, main.alpha)).withContext("alpha").toBe(-1);
        expect(firstDifference(answer.depth, main.depth)).withContext("depth").toBe(-1);
        expect(answer.timings.unpackMs).toBeGreaterThanOrEqual(0);
        expect(answer.timings.postMs).toBeGreaterThanOrEqual(0);

        // The returned buffers are the raw frame's, ready to be copied into by the next readback.
        expect(answer.rawBuffers.map((b) => b.byteLength)).toEqual(raw2.passes.flatMap((p) => p.attachments.map((a) => a.byteLength)));
        const pool = [...answer.rawBuffers];
        const reused = await passes[0].readbackRawAsync(pool);
        expect(pool.length).withContext("every buffer of the pool was taken").toBe(0);
        const reusedBuffers = reused.passes.flatMap((p) => p.attachments.map((a) => a.buffer));
        expect(reusedBuffers.every((b) => answer.rawBuffers.includes(b as ArrayBuffer))).toBeTrue();
        reused.passes.forEach((p, i) => p.attachments.forEach((a, j) => expect(firstDifference(a, raw2.passes[i].attachments[j])).toBe(-1)));
    }, SPEC_MS);

    it("rejects a malformed raw frame with INVALID_ARGUMENT, in the worker too", async () => {
        const { raw } = await capture({ width: 64, height: 32 });
        const broken: RawFeatureFrame = { ...raw, passes: raw.passes.map((p) => ({ plan: p.plan, attachments: p.attachments.map((a) => a.subarray(4)) })) };
        const error = await client.unpackFrame(broken).then(
            () => null,
            (e: unknown) => e
        );
        expect(String(error)).toContain("raw feature frame");
        expect((error as { code?: string }).code).toBe("INVALID_ARGUMENT");
        const noModel = new InferenceClient({ numThreads: 1 });
        try {
            const e2 = await noModel.segmentFrame(raw, { alphaThreshold: 0.5, noneLabel: 255 }).then(
                () => null,
                (e: unknown) => e
            );
            expect((e2 as { code?: string }).code).toBe("MODEL_NOT_FOUND");
        } finally {
            noModel.dispose();
        }
    }, SPEC_MS);
});
