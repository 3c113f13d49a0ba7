// Renders the parity scene (test/golden/parity/scene.ply) with the runtime's feature pass for the renderer-parity
// goldens (ARCHITECTURE.md contract 5). Used by scripts/make-parity-golden.mjs (which writes the goldens) and by
// test/golden/parity.spec.ts (which re-renders and compares, so drift in the runtime is caught).
import type { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { FeatureSplatPass, type FeatureFrame } from "../../src/rendering/featureSplatPass";

/** The fixed camera (factory/scripts/make_parity_scene.py PARITY_CAMERA); Babylon's default left-handed frame. */
export const PARITY_CAMERA = { position: [0.25, 0.35, -0.4], target: [0, -0.05, 2.8], fovY: 0.8, near: 0.1, far: 100 } as const;
/** Golden image size: 4:3 like the canvas, small enough that all goldens stay well under 2 MB. */
export const PARITY_WIDTH = 160;
export const PARITY_HEIGHT = 120;
/** Pixels with composited coverage alpha below this are labelled none (255): mostly background there. */
export const LABEL_ALPHA_THRESHOLD = 0.5;
export const NONE_LABEL = 255;

export interface ParityRender {
    camera: {
        width: number;
        height: number;
        viewMatrix: number[];
        projectionMatrix: number[];
        position: number[];
        fovY: number;
        near: number;
        far: number;
        meshWorldMatrix: number[];
    };
    K: number;
    classCount: number;
    labelAlphaThreshold: number;
    /** [H, W, 3] interleaved, rows top to bottom. */
    rgb: Float32Array;
    alpha: Float32Array;
    depth: Float32Array;
    /** [H, W, K] interleaved. */
    features: Float32Array;
    labels: Uint8Array;
}

async function step(engine: WebGPUEngine, scene: Scene): Promise<void> {
    engine.beginFrame();
    scene.render();
    engine.endFrame();
    await engine._device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 0));
}

async function capture(engine: WebGPUEngine, scene: Scene, pass: FeatureSplatPass): Promise<FeatureFrame> {
    let settled = false;
    // The goldens are the order sorted for this exact view: wait for it (a frame drawn while Babylon's sort
    // worker still works on the view differs where splats overlap; seen under load).
    const request = pass.requestFrame({ settledSort: true });
    request.then(
        () => (settled = true),
        () => (settled = true)
    );
    for (let i = 0; i < 600 && !settled; i++) await step(engine, scene);
    return request;
}

function planarToInterleaved(planar: Float32Array, channels: number, pixels: number): Float32Array {
    const out = new Float32Array(channels * pixels);
    for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) out[p * channels + c] = planar[c * pixels + p];
    return out;
}

/**
 * Loads the scene into a fresh Scene on `engine` (a canvas of any 4:3 size), renders the feature image (K = the
 * file's f_sem_* count) and the label image (a second feature pass over the same sort whose features are the
 * one-hot `sem_label` classes, K = classCount; label = argmax, ties to the lowest id; 255 where alpha <
 * LABEL_ALPHA_THRESHOLD or no labelled Gaussian contributes). Disposes what it made.
 */
export async function renderParity(engine: WebGPUEngine, sceneUrl: string, classCount: number): Promise<ParityRender> {
    const scene = new Scene(engine);
    try {
        scene.clearColor = new Color4(0, 0, 0, 1);
        const camera = new FreeCamera("parityCamera", Vector3.FromArray(PARITY_CAMERA.position as unknown as number[]), scene);
        camera.setTarget(Vector3.FromArray(PARITY_CAMERA.target as unknown as number[]));
        camera.fov = PARITY_CAMERA.fovY;
        camera.minZ = PARITY_CAMERA.near;
        camera.maxZ = PARITY_CAMERA.far;
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(sceneUrl, scene);
        const K = mesh.featureDimension;
        const labels = mesh.labels;
        if (K < 1 || !labels) throw new Error(`${sceneUrl}: the parity scene needs f_sem_* features and sem_label`);
        const W = PARITY_WIDTH;
        const H = PARITY_HEIGHT;
        const N = W * H;

        const featurePass = new FeatureSplatPass(scene, mesh, { width: W, height: H });
        const frame = await capture(engine, scene, featurePass);
        featurePass.dispose();
        const features = mesh.featureValues!;

        // One-hot labels as features, through the same pass: class scores composited exactly like features.
        const count = mesh.gaussianCount;
        const oneHot = new Float32Array(count * classCount);
        for (let i = 0; i < count; i++) if (labels[i] < classCount) oneHot[i * classCount + labels[i]] = 1;
        mesh.setFeatures(oneHot, classCount);
        const labelPass = new FeatureSplatPass(scene, mesh, { width: W, height: H });
        const scores = await capture(engine, scene, labelPass);
        labelPass.dispose();
        mesh.setFeatures(features, K);

        const labelImage = new Uint8Array(N).fill(NONE_LABEL);
        for (let p = 0; p < N; p++) {
            if (frame.alpha[p] < LABEL_ALPHA_THRESHOLD) continue;
            let best = -1;
            let bestScore = 0;
            for (let c = 0; c < classCount; c++) {
                const s = scores.features[c * N + p];
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            if (best >= 0) labelImage[p] = best;
        }
        const result: ParityRender = {
            camera: {
                width: W,
                height: H,
                viewMatrix: Array.from(frame.viewMatrix),
                projectionMatrix: Array.from(frame.projectionMatrix),
                position: camera.globalPosition.asArray(),
                fovY: camera.fov,
                near: camera.minZ,
                far: camera.maxZ,
                meshWorldMatrix: Array.from(mesh.getWorldMatrix().m),
            },
            K,
            classCount,
            labelAlphaThreshold: LABEL_ALPHA_THRESHOLD,
            rgb: planarToInterleaved(frame.rgb, 3, N),
            alpha: frame.alpha,
            depth: frame.depth,
            features: planarToInterleaved(frame.features, K, N),
            labels: labelImage,
        };
        mesh.dispose();
        return result;
    } finally {
        scene.dispose();
    }
}
