// Writing a scene back out: PLY with f_sem_* and sem_label (bit-exact round trips), feature sidecars, and the
// create / render / dispose lifecycle without growth in live GPU textures and buffers.
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { createTinySplatMesh, type TinyGaussian } from "../support/tinyScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { parsePlyHeader, readSemanticAttributes, readVertexProperties } from "../../src/formats";
import { isSemanticError } from "../../src/errors";
import { makeGaussianPly } from "./plyFixtures";
import { installGpuCounter, liveGpuObjects } from "./gpuCounter";

const FIXTURES = "/assets/splats/fixtures/";

function bitsOf(values: Float32Array): number[] {
    return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

describe("SemanticGaussianSplattingMesh saving", () => {
    let t: TestEngine;
    let scene: Scene;
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    });

    it("PLY with f_sem_* and sem_label: write -> read is bit-exact, and writing again gives the same bytes", async () => {
        const ply = makeGaussianPly({ count: 300, featureDimension: 16, labelType: "uchar" });
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: ply.bytes, fileName: "room.ply" }, scene);
        const saved = mesh.saveSemanticPly();
        const attributes = readSemanticAttributes(saved, "saved.ply");
        expect(attributes.count).toBe(300);
        expect(attributes.featureDim).toBe(16);
        expect(bitsOf(attributes.features!)).toEqual(bitsOf(ply.features!));
        expect(Array.from(attributes.labels!)).toEqual(ply.labels!.map((l) => (l === 255 ? 65535 : l)));
        expect(attributes.labelType).toBe("uint8");
        // The standard properties are the original file's, bit for bit.
        const names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
        const original = readVertexProperties(ply.bytes, parsePlyHeader(ply.bytes, "room.ply"), names, new Float32Array(300 * names.length));
        const written = readVertexProperties(saved, parsePlyHeader(saved, "saved.ply"), names, new Float32Array(300 * names.length));
        expect(bitsOf(written)).toEqual(bitsOf(original));
        // Loading what was written gives the same mesh state, and writing that again the same bytes.
        const reloaded = await SemanticGaussianSplattingMesh.LoadAsync({ data: saved, fileName: "saved.ply" }, scene);
        expect(bitsOf(reloaded.featureValues as Float32Array)).toEqual(bitsOf(mesh.featureValues as Float32Array));
        expect(Array.from(reloaded.featureHalfBits!)).toEqual(Array.from(mesh.featureHalfBits!));
        expect(Array.from(reloaded.labels!)).toEqual(Array.from(mesh.labels!));
        expect(Array.from(new Uint8Array(reloaded.splatsData!))).toEqual(Array.from(new Uint8Array(mesh.splatsData!)));
        expect(Array.from(reloaded.saveSemanticPly())).toEqual(Array.from(saved));
        expectNoWebGPUErrors(t);
        mesh.dispose();
        reloaded.dispose();
    });

    it("features set by the caller on a .splat scene are written into a 3DGS PLY and read back exactly", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal.splat", scene);
        const count = mesh.gaussianCount;
        const features = new Float32Array(count * 3);
        for (let i = 0; i < features.length; i++) features[i] = Math.fround(i * 0.1 - 0.3);
        mesh.setFeatures(features, 3, { encoderId: "test-encoder" });
        mesh.setLabels(new Uint8Array([3, 255, 20, 0]));
        const saved = mesh.saveSemanticPly();
        const reloaded = await SemanticGaussianSplattingMesh.LoadAsync({ data: saved, fileName: "fromsplat.ply" }, scene);
        expect(reloaded.gaussianCount).toBe(count);
        expect(bitsOf(reloaded.featureValues as Float32Array)).toEqual(bitsOf(features));
        expect(Array.from(reloaded.labels!)).toEqual([3, 65535, 20, 0]);
        // Babylon reads the written PLY back to the same positions, scales and colours (rotation bytes within 1).
        const a = new Uint8Array(mesh.splatsData!);
        const b = new Uint8Array(reloaded.splatsData!);
        const fa = new Float32Array(mesh.splatsData!);
        const fb = new Float32Array(reloaded.splatsData!);
        for (let i = 0; i < count; i++) {
            for (let j = 0; j < 6; j++) expect(Math.abs(fa[i * 8 + j] - fb[i * 8 + j])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fa[i * 8 + j])));
            for (let j = 24; j < 28; j++) expect(b[i * 32 + j]).toBe(a[i * 32 + j]);
            for (let j = 28; j < 32; j++) expect(Math.abs(b[i * 32 + j] - a[i * 32 + j])).toBeLessThanOrEqual(1);
        }
        mesh.dispose();
        reloaded.dispose();
    });

    it("writes and reads a feature sidecar for formats without extra attributes", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v3.spz", scene);
        const features = new Float32Array(mesh.gaussianCount * 8).map((_, i) => Math.sin(i));
        mesh.setFeatures(features, 8, { encoderId: "enc-v1" });
        const sidecar = mesh.saveFeatureSidecar();
        const again = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v3.spz", scene, { sidecar: { data: sidecar, fileName: "minimal-v3.spz.semf" } });
        expect(again.featureDimension).toBe(8);
        expect(again.featureEncoderId).toBe("enc-v1");
        expect(Array.from(again.featureHalfBits!)).toEqual(Array.from(mesh.featureHalfBits!));
        expect(Array.from(again.saveFeatureSidecar())).toEqual(Array.from(sidecar));
        mesh.dispose();
        again.dispose();
    });

    it("after the caller replaces the splat data, saving writes the new data, not the source PLY", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: makeGaussianPly({ count: 4, featureDimension: 2 }).bytes, fileName: "a.ply" }, scene);
        expect(mesh.sourcePly).not.toBeNull();
        const minimal = await (await fetch(FIXTURES + "minimal.splat")).arrayBuffer();
        mesh.updateData(minimal, undefined, { flipY: false });
        expect(mesh.sourcePly).toBeNull();
        expect(mesh.featureDimension).toBe(2); // same count: the features stay
        const saved = mesh.saveSemanticPly();
        const positions = readVertexProperties(saved, parsePlyHeader(saved, "s.ply"), ["x", "y", "z"], new Float32Array(12));
        const expected = new Float32Array(minimal);
        expect(Array.from(positions)).toEqual([0, 1, 2, 8, 9, 10, 16, 17, 18, 24, 25, 26].map((k) => expected[k]));
        mesh.dispose();
    });

    it("refuses to write without data, with a clear error", () => {
        const mesh = new SemanticGaussianSplattingMesh("nothing", scene);
        let caught: unknown;
        try {
            mesh.saveSemanticPly();
        } catch (e) {
            caught = e;
        }
        expect(isSemanticError(caught, "EMPTY_SCENE")).toBeTrue();
        expect(() => mesh.saveFeatureSidecar()).toThrowError(/no features/);
        mesh.dispose();
    });
});

describe("SemanticGaussianSplattingMesh lifecycle", () => {
    beforeAll(() => installGpuCounter());

    it("the GPU object counter sees a leaked feature texture", async () => {
        const t = await createTestEngine({ width: 32, height: 32 });
        const scene = new Scene(t.engine);
        new FreeCamera("camera", new Vector3(0, 0, -3), scene);
        const gaussians: TinyGaussian[] = [{ position: [0, 0, 0], color: [1, 1, 1], features: [1, 2] }];
        const liveAfterCreateAndDispose = async (leakFeatureTexture: boolean) => {
            const before = liveGpuObjects();
            const mesh = createTinySplatMesh(scene, gaussians);
            await stepFrames(scene, 1);
            const texture = mesh.featureTexture!;
            // Pretend the mesh forgot its texture: dispose then cannot free it.
            if (leakFeatureTexture) (mesh as unknown as { _featureTexture: null })._featureTexture = null;
            mesh.dispose();
            await stepFrames(scene, 1);
            const after = liveGpuObjects();
            if (leakFeatureTexture) texture.dispose();
            return after.textures - before.textures;
        };
        await liveAfterCreateAndDispose(false); // warm-up: engine-wide textures made on first use
        const clean = await liveAfterCreateAndDispose(false);
        const leaking = await liveAfterCreateAndDispose(true);
        expect(clean).toBe(0);
        expect(leaking).toBe(1);
        scene.dispose();
        t.dispose();
    });

    it("create, render and dispose 50 times with no growth in live GPU textures and buffers", async () => {
        const t = await createTestEngine({ width: 64, height: 48 });
        const scene = new Scene(t.engine);
        new FreeCamera("camera", new Vector3(0, 0, -3), scene);
        const ply = makeGaussianPly({ count: 64, featureDimension: 8, labelType: "uchar" });
        const gaussians: TinyGaussian[] = Array.from({ length: 10 }, (_, i) => ({ position: [i * 0.05, 0, 0], color: [1, 0.5, 0], features: [i, 1, 2, 3, 4] }));
        const baseline = { meshes: scene.meshes.length, materials: scene.materials.length, textures: scene.textures.length };
        let afterWarmUp = { textures: -1, buffers: -1 };
        let engineTexturesAfterWarmUp = -1;
        for (let round = 0; round < 50; round++) {
            // Alternate the two ways of making a mesh: the loader path and the in-memory one.
            const mesh = round % 2 === 0 ? await SemanticGaussianSplattingMesh.LoadAsync({ data: ply.bytes, fileName: "life.ply" }, scene) : createTinySplatMesh(scene, gaussians);
            expect(mesh.featureTexture).not.toBeNull();
            await stepFrames(scene, 1);
            mesh.dispose();
            await stepFrames(scene, 1);
            if (round === 5) {
                afterWarmUp = liveGpuObjects();
                engineTexturesAfterWarmUp = t.engine.getLoadedTexturesCache().length;
            }
        }
        expect(afterWarmUp.textures).withContext("the counter sees the engine's own textures").toBeGreaterThan(0);
        expect(afterWarmUp.buffers).withContext("the counter sees the engine's own buffers").toBeGreaterThan(0);
        expect(liveGpuObjects()).withContext("live GPU textures and buffers after 50 rounds vs after 6").toEqual(afterWarmUp);
        expect(t.engine.getLoadedTexturesCache().length).toBe(engineTexturesAfterWarmUp);
        expect({ meshes: scene.meshes.length, materials: scene.materials.length, textures: scene.textures.length }).toEqual(baseline);
        expectNoWebGPUErrors(t);
        scene.dispose();
        t.dispose();
    });
});
