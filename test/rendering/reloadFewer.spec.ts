// Loading a scene with FEWER Gaussians into a mesh the feature pass already draws (issue 16, item 4): Babylon keeps
// the per-camera mesh's longer index buffer (quads + the triangles splatTriangles.ts appended), so the triangle
// index check must rebuild for the new quad range instead of throwing; a failed load in between changes nothing.
import { FeatureSplatPass } from "../../src/rendering/featureSplatPass";
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { makeGaussianPly } from "../mesh/plyFixtures";
import { captureFrame, coverage, createTinySetup, tinyGaussians } from "./fixtures";

describe("feature pass after reloading the mesh", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    for (const raisedLimits of [true, false]) {
        it(`draws a smaller, then a larger scene loaded into the same mesh (${raisedLimits ? "triangle" : "quad"} primitive), no WebGPU errors`, async () => {
            t = await createTestEngine({ width: 160, height: 120, raisedLimits });
            const setup = createTinySetup(t, tinyGaussians(60, 8, 5));
            const pass = new FeatureSplatPass(setup.scene, setup.mesh, { width: 64, height: 48 });
            expect(pass.splatPrimitive).toBe(raisedLimits ? "triangle" : "quad");
            const first = await captureFrame(setup.scene, pass);
            expect(coverage(first.alpha)).toBeGreaterThan(0.05);
            for (const count of [12, 3, 90]) {
                const ply = makeGaussianPly({ count, featureDimension: 8 });
                await setup.mesh.loadAsync({ data: ply.bytes, fileName: `scene-${count}.ply` });
                expect(setup.mesh.gaussianCount).toBe(count);
                // a refused load in between leaves the mesh as it is
                await expectAsync(setup.mesh.loadAsync({ data: ply.bytes.slice(0, ply.bytes.length - 5), fileName: "cut.ply" })).toBeRejected();
                const frame = await captureFrame(setup.scene, pass);
                expect(frame.featureDimension).toBe(8);
                expect(coverage(frame.alpha)).withContext(`${count} Gaussians`).toBeGreaterThan(0);
            }
            pass.dispose();
            setup.scene.dispose();
            expectNoWebGPUErrors(t);
        });
    }
});

describe("splat triangle indices of a reused per-camera mesh", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("a buffer still holding an earlier, larger scene's triangles is cut back to the quads and rebuilt", async () => {
        const { Scene } = await import("@babylonjs/core/scene");
        const { Mesh } = await import("@babylonjs/core/Meshes/mesh");
        const { VertexData } = await import("@babylonjs/core/Meshes/mesh.vertexData");
        const { withSplatTriangles } = await import("../../src/rendering/splatTriangles");
        t = await createTestEngine({ width: 32, height: 32 });
        const scene = new Scene(t.engine);
        const mesh = new Mesh("cameraMesh", scene);
        const quadsOf = (n: number) => Array.from({ length: n }, (_, q) => [4 * q, 4 * q + 1, 4 * q + 2, 4 * q, 4 * q + 2, 4 * q + 3]).flat();
        const data = new VertexData();
        data.positions = new Array(4 * 8 * 3).fill(0);
        // 4 quads of the current scene followed by stale triangles of an 8-splat scene
        data.indices = [...quadsOf(4), ...quadsOf(8).filter((_, i) => i % 6 < 3)];
        data.applyToMesh(mesh);
        const subMesh = mesh.subMeshes[0];
        subMesh.indexStart = 0;
        subMesh.indexCount = 24;
        let seen: { start: number; count: number } | null = null;
        withSplatTriangles(mesh, subMesh, () => {
            seen = { start: subMesh.indexStart, count: subMesh.indexCount };
            return mesh;
        });
        expect(seen!).toEqual({ start: 24, count: 12 });
        expect(Array.from(mesh.getIndices()!)).toEqual([...quadsOf(4), ...quadsOf(4).filter((_, i) => i % 6 < 3)]);
        expect(subMesh.indexCount).toBe(24);
        scene.dispose();
    });
});
