// Shared by the rendering specs: deterministic tiny scenes, frame capture, and GPU-vs-reference comparison.
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import type { TestEngine } from "../support/webgpu";
import { stepFrames } from "../support/webgpu";
import { createTinySplatMesh, encodeSplatRows, type TinyGaussian } from "../support/tinyScene";
import type { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import type { FeatureFrame, FeatureSplatPass } from "../../src/rendering/featureSplatPass";
import { decodeSplatRows, renderReference, type ReferenceImage } from "../../src/rendering/cpuReference";
import { halfBitsToFloat32 } from "../../src/util/half";

import { seededRandom as random } from "../support/seededRandom";

export { random };

/**
 * `count` Gaussians in front of a camera at z = -4 looking at the origin: anisotropic, randomly rotated,
 * distinct depths (so the GPU's bucketed sort and the reference agree on the order), K features in [-1, 1].
 */
export function tinyGaussians(count: number, featureDimension: number, seed = 1): TinyGaussian[] {
    const rnd = random(seed);
    const gaussians: TinyGaussian[] = [];
    for (let i = 0; i < count; i++) {
        const q = [rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5];
        const n = Math.hypot(...q);
        gaussians.push({
            position: [(rnd() - 0.5) * 2.6, (rnd() - 0.5) * 1.9, -1 + (2 * (i + 0.5)) / count],
            color: [rnd(), rnd(), rnd()],
            opacity: 0.35 + 0.6 * rnd(),
            scale: [0.04 + 0.18 * rnd(), 0.04 + 0.18 * rnd(), 0.04 + 0.18 * rnd()],
            rotation: [q[0] / n, q[1] / n, q[2] / n, q[3] / n],
            features: Array.from({ length: featureDimension }, () => rnd() * 2 - 1),
        });
    }
    return gaussians;
}

export interface TinySetup {
    scene: Scene;
    camera: FreeCamera;
    mesh: SemanticGaussianSplattingMesh;
    gaussians: TinyGaussian[];
}

export function createTinySetup(t: TestEngine, gaussians: TinyGaussian[]): TinySetup {
    const scene = new Scene(t.engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const camera = new FreeCamera("camera", new Vector3(0, 0, -4), scene);
    camera.setTarget(Vector3.Zero());
    camera.minZ = 0.1;
    const mesh = createTinySplatMesh(scene, gaussians);
    return { scene, camera, mesh, gaussians };
}

/** Steps frames until the splat mesh has its first sorted order for the active camera (the sort worker answers asynchronously). */
export async function waitForSorted(scene: Scene, mesh: SemanticGaussianSplattingMesh, maxFrames = 300): Promise<void> {
    for (let i = 0; i < maxFrames; i++) {
        await stepFrames(scene, 1);
        if (mesh.isReady(true)) {
            await stepFrames(scene, 2);
            return;
        }
        await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`the splat mesh was not sorted after ${maxFrames} frames`);
}

/**
 * Steps frames until the pass's requested frame is read back: by default one drawn with the order sorted for the
 * camera's current view, which is what the CPU reference (sorted for the frame's view) compares against.
 */
export async function captureFrame(scene: Scene, pass: FeatureSplatPass, maxFrames = 300, settledSort = true): Promise<FeatureFrame> {
    let settled = false;
    const promise = pass.requestFrame({ settledSort });
    promise.then(
        () => (settled = true),
        () => (settled = true)
    );
    for (let i = 0; i < maxFrames && !settled; i++) {
        await stepFrames(scene, 1);
        await new Promise((r) => setTimeout(r, 0));
    }
    if (!settled) throw new Error(`no feature frame after ${maxFrames} frames`);
    return promise;
}

/** Renders the CPU reference of `setup` for the camera state the GPU frame was made with. */
export function referenceFor(setup: TinySetup, frame: FeatureFrame): ReferenceImage {
    const splats = decodeSplatRows(encodeSplatRows(setup.gaussians));
    const K = setup.mesh.featureDimension;
    // The reference uses the fp16 features the GPU texture holds.
    const half = setup.mesh.featureHalfBits!;
    const features = Float64Array.from(half, halfBitsToFloat32);
    return renderReference(splats, features, K, {
        width: frame.width,
        height: frame.height,
        viewMatrix: frame.viewMatrix,
        projectionMatrix: frame.projectionMatrix,
        worldMatrix: setup.mesh.getWorldMatrix().m,
    });
}

/**
 * Max |a - b| over all elements; with `skipPixels` ([H*W], 1 = skip), planar arrays of any channel count
 * skip those pixels (the reference's cut-off-ambiguous pixels, see cpuReference.ts).
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, skipPixels?: Uint8Array): number {
    expect(a.length).withContext("array lengths").toBe(b.length);
    let max = 0;
    const n = skipPixels?.length ?? 1;
    for (let i = 0; i < a.length; i++) {
        if (skipPixels && skipPixels[i % n]) continue;
        max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
}

/** Fraction of pixels set in a mask. */
export function maskFraction(mask: Uint8Array): number {
    let n = 0;
    for (let i = 0; i < mask.length; i++) n += mask[i];
    return n / mask.length;
}

/** Fraction of pixels with alpha above `threshold` (to make sure a comparison is not over an empty image). */
export function coverage(alpha: ArrayLike<number>, threshold = 0.1): number {
    let n = 0;
    for (let i = 0; i < alpha.length; i++) if (alpha[i] > threshold) n++;
    return n / alpha.length;
}
