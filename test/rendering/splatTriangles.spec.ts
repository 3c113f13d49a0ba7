// The feature pass's "triangle" primitive (src/rendering/splatTriangles.ts): one triangle per splat clipped to a
// hexagon by WebGPU clip distances matches the CPU reference as Babylon's quads do, Babylon's own draws keep the
// quads, and the WGSL change is only made where it is asked for.
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { FeatureSplatPass } from "../../src/rendering/featureSplatPass";
import { addClipDistances } from "../../src/rendering/splatTriangles";
import { isSemanticError } from "../../src/errors";
import { captureFrame, coverage, createTinySetup, maxAbsDiff, referenceFor, tinyGaussians } from "./fixtures";
import { createTinySplatMesh } from "../support/tinyScene";
import { stepFrames } from "../support/webgpu";
import { installGpuCounter, liveGpuObjects } from "../mesh/gpuCounter";

/** Fraction of values that differ by more than `tolerance`. */
function differingFraction(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): number {
    let n = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > tolerance) n++;
    return n / a.length;
}

describe("splat triangles", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("matches the CPU reference as closely as Babylon's quads, with one clipped triangle per splat (raised limits, K = 16)", async () => {
        t = await createTestEngine({ raisedLimits: true });
        const setup = createTinySetup(t, tinyGaussians(60, 16, 21));
        const triangles = new FeatureSplatPass(setup.scene, setup.mesh, { width: 160, height: 128 });
        const quads = new FeatureSplatPass(setup.scene, setup.mesh, { width: 160, height: 128, splatPrimitive: "quad" });
        expect(triangles.splatPrimitive).withContext("default primitive where clip-distances exists").toBe("triangle");
        const tri = await captureFrame(setup.scene, triangles);
        const quad = await captureFrame(setup.scene, quads);
        expect(coverage(tri.alpha)).toBeGreaterThan(0.2);
        const ref = referenceFor(setup, tri);
        for (const key of ["alpha", "rgb", "features"] as const) {
            // The rasterizer snaps vertices to a sub-pixel grid, so neither primitive is exact: both stay within a few
            // 1e-3 of the reference (pixels on a splat's cut-off circle excepted), the triangles as well as the quads.
            const triError = maxAbsDiff(tri[key], ref[key], ref.ambiguous);
            const quadError = maxAbsDiff(quad[key], ref[key], ref.ambiguous);
            expect(triError).withContext(`${key}: triangles vs reference`).toBeLessThanOrEqual(Math.min(0.01, quadError + 0.002));
            // Directly: a pixel centre on a cut-off circle may fall either side (at most exp(-4) ~ 0.018 of one
            // splat's opacity); elsewhere the two differ by the sub-pixel error only.
            expect(maxAbsDiff(tri[key], quad[key])).withContext(`${key}: triangles vs quads, max`).toBeLessThan(0.03);
            expect(differingFraction(tri[key], quad[key], 3e-3)).withContext(`${key}: triangles vs quads, fraction > 3e-3`).toBeLessThan(0.01);
        }
        // Babylon's colour pass still draws the quads: the main sub-mesh covers 6 indices per splat of its batch.
        expect([setup.mesh.subMeshes[0].indexStart, setup.mesh.subMeshes[0].indexCount]).toEqual([0, 6 * 16]);
        triangles.dispose();
        quads.dispose();
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    it("leaves no GPU buffers or textures behind: 8 rounds of mesh, triangle pass, frame, dispose", async () => {
        installGpuCounter();
        t = await createTestEngine({ raisedLimits: true });
        const setup = createTinySetup(t, tinyGaussians(10, 16, 3));
        setup.mesh.dispose();
        let afterWarmUp = { textures: -1, buffers: -1 };
        for (let round = 0; round < 8; round++) {
            // A new mesh each round: its per-camera geometry gets the triangle indices (a new index buffer) on the
            // pass's first draw, and everything must go with the mesh; the pass's effects (and the uniform buffers
            // Babylon 9.35 would leave behind, one per released effect) go with the pass.
            const mesh = createTinySplatMesh(setup.scene, tinyGaussians(10, 16, 100 + round));
            const pass = new FeatureSplatPass(setup.scene, mesh, { width: 64, height: 48 });
            expect(pass.splatPrimitive).toBe("triangle");
            expect(coverage((await captureFrame(setup.scene, pass)).alpha)).toBeGreaterThan(0);
            pass.dispose();
            mesh.dispose();
            await stepFrames(setup.scene, 1);
            if (round === 1) afterWarmUp = liveGpuObjects();
        }
        expect(afterWarmUp.buffers).withContext("the counter sees buffers").toBeGreaterThan(0);
        expect(liveGpuObjects()).withContext("live GPU textures and buffers after 8 rounds vs after 2").toEqual(afterWarmUp);
        setup.scene.dispose();
        expectNoWebGPUErrors(t);
    });

    it("is refused with a clear error where the device has no clip-distances feature, and an unknown primitive too", async () => {
        t = await createTestEngine();
        const setup = createTinySetup(t, tinyGaussians(4, 8));
        const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 64 });
        expect(pass.splatPrimitive).withContext("default primitive on a default device").toBe("quad");
        pass.dispose();
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh, { splatPrimitive: "triangle" })).toThrowMatching(
            (e) => isSemanticError(e, "GPU_LIMITS") && /clip-distances/.test(e.message)
        );
        // A JavaScript caller's typo is not taken for "quad".
        expect(() => new FeatureSplatPass(setup.scene, setup.mesh, { splatPrimitive: "hexagon" as "quad" })).toThrowMatching(
            (e) => isSemanticError(e, "INVALID_ARGUMENT") && /"hexagon"/.test(e.message)
        );
        setup.scene.dispose();
    });

    it("adds the clip_distances builtin and its enable directive to a Babylon vertex shader, and refuses other code", () => {
        const babylonStyle = "diagnostic(off, chromium.unreachable_code);\nstruct FragmentInputs {\n  @builtin(position) position : vec4<f32>,\n  @location(0) vPosition : vec2f,\n};\n";
        const out = addClipDistances(babylonStyle);
        expect(out.startsWith("enable clip_distances;\n")).toBeTrue();
        expect(out).toContain("@builtin(position) position : vec4<f32>,\n  @builtin(clip_distances) clipDistances : array<f32, 3>,\n  @location(0) vPosition");
        expect(() => addClipDistances("struct Other { x: f32 };")).toThrowError(/clip_distances/);
    });
});
