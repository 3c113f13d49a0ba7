// The feature pass's behaviour besides per-pixel maths: features equal to colour give the rgb image, Babylon's
// own colour rendering is untouched, bad arguments are refused, the pass plan follows the device limits.
import { createTestEngine, expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";
import { FeatureSplatPass, segmentationResolution } from "../../src/rendering/featureSplatPass";
import { bytesPerSample, maxAttachmentsPerPass, planFeaturePasses } from "../../src/rendering/attachmentPlan";
import { isSortSettled } from "../../src/rendering/sortState";
import { isSemanticError } from "../../src/errors";
import { captureFrame, coverage, createTinySetup, maxAbsDiff, referenceFor, tinyGaussians, waitForSorted } from "./fixtures";

describe("feature splat pass behaviour", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("gives the rgb image as the feature image when each Gaussian's features are its own colour", async () => {
        t = await createTestEngine();
        const gaussians = tinyGaussians(40, 3, 99).map((g) => {
            // Features = the colour exactly as stored (u8 / 255), so both images composite the same numbers.
            const stored = g.color.map((c) => Math.round(c * 255) / 255) as [number, number, number];
            return { ...g, color: stored, features: [...stored] };
        });
        const setup = createTinySetup(t, gaussians);
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 96, height: 64 });
        const frame = await captureFrame(setup.scene, pass);
        expect(coverage(frame.alpha)).toBeGreaterThan(0.2);
        // Same [3, H, W] planar layout: the whole arrays must agree (fp16 features vs u8 colours: <= 0.01).
        expect(maxAbsDiff(frame.features, frame.rgb)).toBeLessThanOrEqual(0.01);
        pass.dispose();
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    for (const raisedLimits of [false, true]) {
        it(`leaves Babylon's colour rendering of the mesh unchanged (${raisedLimits ? "raised" : "default"} limits, K = 16)`, async () => {
            t = await createTestEngine({ raisedLimits });
            const setup = createTinySetup(t, tinyGaussians(40, 16, 5));
            await waitForSorted(setup.scene, setup.mesh);
            const before = await renderAndReadCanvas(setup.scene);
            let lit = 0;
            for (let i = 0; i < before.length; i += 4) if (before[i] + before[i + 1] + before[i + 2] > 30) lit++;
            expect(lit / (before.length / 4)).withContext("canvas shows the splats").toBeGreaterThan(0.1);

            const pass = new FeatureSplatPass(setup.scene, setup.mesh);
            // Raised limits: triangles drawn from indices appended to the geometry Babylon's colour pass draws from.
            expect(pass.splatPrimitive).toBe(raisedLimits ? "triangle" : "quad");
            await captureFrame(setup.scene, pass); // shaders compiled, pass known to draw
            const request = pass.requestFrame();
            const during = await renderAndReadCanvas(setup.scene); // this frame draws the feature passes too
            const frame = await request;
            expect(coverage(frame.alpha)).toBeGreaterThan(0.1);
            expect(maxAbsDiff(during, before)).withContext("canvas bytes with vs without the pass").toBe(0);
            pass.dispose();
            await stepFrames(setup.scene, 1);
            const after = await renderAndReadCanvas(setup.scene);
            expect(maxAbsDiff(after, before)).withContext("canvas bytes after dispose").toBe(0);
            setup.scene.dispose();
            expectNoWebGPUErrors(t);
        });
    }

    it("settledSort waits for the order sorted for the camera's current view; the default takes the next frame", async () => {
        t = await createTestEngine();
        const setup = createTinySetup(t, tinyGaussians(40, 8, 11));
        await waitForSorted(setup.scene, setup.mesh);
        await stepFrames(setup.scene, 3);
        expect(isSortSettled(setup.mesh, setup.camera)).withContext("a still camera, sorted").toBeTrue();
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64 });
        await captureFrame(setup.scene, pass); // shaders compiled

        // Move the camera: until Babylon's sort worker answers, the draw order is the old view's.
        setup.camera.position.set(2.5, 1, -3);
        setup.camera.setTarget(setup.mesh.position);
        setup.camera.getViewMatrix(true);
        expect(isSortSettled(setup.mesh, setup.camera)).withContext("moved, not yet re-sorted").toBeFalse();
        const next = pass.requestFrame();
        const exact = captureFrame(setup.scene, pass, 300, true);
        const [nextFrame, exactFrame] = await Promise.all([next, exact]);
        expect(isSortSettled(setup.mesh, setup.camera)).toBeTrue();
        // Both frames are drawn with the moved camera's matrices; the exact one also with its order, so it
        // matches the CPU reference (sorted for that view) per pixel.
        const view = Array.from(setup.camera.getViewMatrix().m);
        Array.from(exactFrame.viewMatrix).forEach((v, i) => expect(v).toBeCloseTo(view[i], 5));
        Array.from(nextFrame.viewMatrix).forEach((v, i) => expect(v).toBeCloseTo(view[i], 5));
        const ref = referenceFor(setup, exactFrame);
        expect(coverage(exactFrame.alpha)).toBeGreaterThan(0.05);
        // A square target of a 4:3 canvas: drawn with the projection for its own aspect (the bug this also
        // guards against placed splats for the canvas's aspect: differences of 0.8). fp16 features: 0.02.
        expect(maxAbsDiff(exactFrame.alpha, ref.alpha, ref.ambiguous)).withContext("alpha").toBeLessThanOrEqual(0.02);
        expect(maxAbsDiff(exactFrame.features, ref.features, ref.ambiguous)).withContext("features").toBeLessThanOrEqual(0.02);
        expect(maxAbsDiff(exactFrame.rgb, ref.rgb, ref.ambiguous)).withContext("rgb").toBeLessThanOrEqual(0.02);
        pass.dispose();
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    it("picks the default segmentation resolution from the canvas (long side 320, multiples of 32)", async () => {
        expect(segmentationResolution(640, 480)).toEqual({ width: 320, height: 256 });
        expect(segmentationResolution(1920, 1080)).toEqual({ width: 320, height: 192 });
        expect(segmentationResolution(480, 640)).toEqual({ width: 256, height: 320 });
        expect(segmentationResolution(1000, 10)).toEqual({ width: 320, height: 32 });
        expect(() => segmentationResolution(640, 480, 300)).toThrowError(/multiple of 32/);
        t = await createTestEngine({ width: 320, height: 240 });
        const setup = createTinySetup(t, tinyGaussians(4, 8));
        const pass = new FeatureSplatPass(setup.scene, setup.mesh);
        expect([pass.width, pass.height]).toEqual([320, 256]);
        pass.dispose();
        setup.scene.dispose();
    });

    it("refuses odd sizes, meshes without features and a K that changed", async () => {
        t = await createTestEngine();
        const setup = createTinySetup(t, tinyGaussians(4, 8));
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh, { width: 100.5, height: 64 })).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT") && /positive integers/.test(e.message));
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh, { width: 64 })).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT") && /both/.test(e.message));
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh, { attachmentFormat: "rgba32float" })).toThrowMatching((e) => isSemanticError(e, "GPU_LIMITS") && /float32-blendable/.test(e.message));
        setup.mesh.clearFeatures();
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh)).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT") && /set features first/.test(e.message));
        setup.mesh.setFeatures(new Float32Array(4 * 8), 8);
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64 });
        setup.mesh.setFeatures(new Float32Array(4 * 4), 4);
        const outcome = pass.requestFrame().then(
            () => "resolved",
            (e: unknown) => e
        );
        await stepFrames(setup.scene, 1);
        expect(await outcome).toEqual(jasmine.objectContaining({ code: "FEATURE_MISMATCH" }));
        pass.dispose();
        await expectAsync(pass.requestFrame()).toBeRejectedWith(jasmine.objectContaining({ code: "DISPOSED" }));
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    it("frees its render targets: 10 create/render/dispose cycles leave no textures behind", async () => {
        t = await createTestEngine({ raisedLimits: true });
        const setup = createTinySetup(t, tinyGaussians(10, 16));
        await waitForSorted(setup.scene, setup.mesh);
        const texturesBefore = t.engine.getLoadedTexturesCache().length;
        for (let i = 0; i < 10; i++) {
            const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64, limits: { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 } });
            expect(t.engine.getLoadedTexturesCache().length).toBeGreaterThan(texturesBefore);
            await captureFrame(setup.scene, pass);
            pass.dispose();
        }
        await stepFrames(setup.scene, 1);
        expect(t.engine.getLoadedTexturesCache().length).toBe(texturesBefore);
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    it("rejects a pending request when disposed", async () => {
        t = await createTestEngine();
        const setup = createTinySetup(t, tinyGaussians(4, 8));
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64 });
        const outcome = pass.requestFrame().then(
            () => "resolved",
            (e: unknown) => e
        );
        pass.dispose();
        expect(await outcome).toEqual(jasmine.objectContaining({ code: "CANCELLED" }));
        setup.scene.dispose();
    });

    it("plans passes from the device limits (3 channels + alpha per RGBA16F attachment)", async () => {
        expect(bytesPerSample(4)).toBe(32);
        expect(bytesPerSample(3, "rgba32float")).toBe(48);
        expect(planFeaturePasses(8, { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 128 }, "rgba32float").map((p) => p.attachmentCount)).toEqual([4]);
        const defaults = { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 };
        const raised = { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 128 };
        expect(maxAttachmentsPerPass(defaults)).toBe(4);
        expect(maxAttachmentsPerPass(raised)).toBe(8);
        // K = 8: depth + 8 features = 9 channels = 3 attachments, + rgba = 4: one pass even with default limits.
        expect(planFeaturePasses(8, defaults).map((p) => p.attachmentCount)).toEqual([4]);
        expect(planFeaturePasses(16, defaults).map((p) => p.attachmentCount)).toEqual([4, 3]);
        expect(planFeaturePasses(32, defaults).map((p) => p.attachmentCount)).toEqual([4, 4, 4]);
        expect(planFeaturePasses(16, raised).map((p) => p.attachmentCount)).toEqual([7]);
        expect(planFeaturePasses(32, raised).map((p) => p.attachmentCount)).toEqual([8, 4]);
        const second = planFeaturePasses(32, defaults)[1];
        expect([second.writesColor, second.firstChannel]).toEqual([false, 9]);
        // K = 0, the colour-only pass of the RGB-only fallback: rgba + one attachment for depth
        expect(planFeaturePasses(0, defaults).map((p) => p.attachmentCount)).toEqual([2]);
        expect(() => planFeaturePasses(-1, defaults)).toThrowError(/non-negative integer/);
        expect(() => planFeaturePasses(1.5, defaults)).toThrowError(/non-negative integer/);
        expect(() => planFeaturePasses(8, { maxColorAttachments: 1, maxColorAttachmentBytesPerSample: 32 })).toThrowError(/at least 2/);

        // The engine-level plan follows the real device: 2 passes for K = 16 by default, 1 with raised limits.
        for (const raisedLimits of [false, true]) {
            t = await createTestEngine({ raisedLimits });
            const setup = createTinySetup(t, tinyGaussians(4, 16));
            const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64 });
            expect(pass.plans.length).toBe(raisedLimits ? 1 : 2);
            pass.dispose();
            setup.scene.dispose();
            t.dispose();
        }
    });
});
