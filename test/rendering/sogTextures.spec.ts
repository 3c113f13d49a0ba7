// The feature pass on a mesh whose SOG data stays quantised on the GPU (loader option useSogTextures: the shader's
// USE_SOG path, Babylon's in-shader dequantisation) gives the same image as the same scene decoded on the CPU.
import { ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import "@babylonjs/loaders/SPLAT";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, expectNoWebGPUErrors, type TestEngine } from "../support/webgpu";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { FeatureSplatPass, type FeatureFrame } from "../../src/rendering/featureSplatPass";
import { captureFrame, coverage, random } from "./fixtures";

const PLAYBOT = "/assets/splats/playbot-lod0/meta.json";

async function renderPlaybot(t: TestEngine, useSogTextures: boolean): Promise<{ frame: FeatureFrame; useSog: boolean }> {
    const scene = new Scene(t.engine);
    const camera = new FreeCamera("camera", new Vector3(0, 0.8, -2.2), scene);
    camera.setTarget(new Vector3(0, 0.3, 0));
    camera.minZ = 0.05;
    const mesh = new SemanticGaussianSplattingMesh("playbot", scene);
    await ImportMeshAsync(PLAYBOT, scene, { pluginOptions: { splat: { gaussianSplattingMesh: mesh, useSogTextures } } });
    const K = 4;
    const rnd = random(3);
    const features = new Float32Array(mesh.gaussianCount * K).map(() => rnd());
    mesh.setFeatures(features, K);
    const pass = new FeatureSplatPass(scene, mesh, { width: 96, height: 64 });
    const frame = await captureFrame(scene, pass);
    const useSog = mesh.useSog;
    pass.dispose();
    scene.dispose();
    return { frame, useSog };
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
    return s / a.length;
}

describe("feature pass on SOG textures", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("renders the playbot the same with in-shader SOG dequantisation as with CPU-decoded data", async () => {
        t = await createTestEngine({ width: 192, height: 128, raisedLimits: true });
        const cpu = await renderPlaybot(t, false);
        const gpu = await renderPlaybot(t, true);
        expect(cpu.useSog).toBeFalse();
        expect(gpu.useSog).toBeTrue();
        expect(coverage(cpu.frame.alpha)).toBeGreaterThan(0.05);
        // The CPU path re-quantises rotations and colours to 8 bits: small differences, not different pictures.
        expect(meanAbsDiff(gpu.frame.alpha, cpu.frame.alpha)).toBeLessThan(0.01);
        expect(meanAbsDiff(gpu.frame.rgb, cpu.frame.rgb)).toBeLessThan(0.01);
        expect(meanAbsDiff(gpu.frame.features, cpu.frame.features)).toBeLessThan(0.01);
        expectNoWebGPUErrors(t);
    });
});
