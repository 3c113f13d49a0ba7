// The page of `node scripts/lifting-bench.mjs`: label lifting in the browser on a real scene. The scene's
// ground-truth classes (sem_label) become one-hot features of the feature splat pass, so each view's label map is
// the GPU's own rendering of the ground truth (argmax where alpha >= 0.5); LabelLifter lifts a scripted walkthrough
// of those maps, then the pick through lifted labels is timed against a colour frame of the same scene.
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticGaussianSplattingMesh } from "../src/mesh/semanticGaussianSplattingMesh";
import { FeatureSplatPass, type FeatureFrame } from "../src/rendering/featureSplatPass";
import { LabelLifter, liftingGaussiansOf, pickLiftedLabel } from "../src/lifting";

export interface LiftingBenchRequest {
    sceneUrl: string;
    camera: { position: number[]; target: number[]; fov?: number };
    views: number;
    width: number;
    height: number;
    /** Segmentation (feature pass) resolution. */
    segWidth: number;
    segHeight: number;
    frames: number;
    picks: number;
}

export interface LiftingBenchResult {
    gaussians: number;
    views: number;
    accumulateMs: number[];
    frameMs: number[];
    pickMs: number[];
    votedGaussians: number;
    liftedAgreesWithGroundTruth: number;
    picksAgreeingWithLabelMap: number;
    picksCompared: number;
}

const CLASSES = 21;
const K = 24; // one-hot classes, padded to a multiple of 4

async function step(engine: WebGPUEngine, scene: Scene): Promise<number> {
    const start = performance.now();
    engine.beginFrame();
    scene.render();
    engine.endFrame();
    await engine._device.queue.onSubmittedWorkDone();
    return performance.now() - start;
}

function labelMap(frame: FeatureFrame): Uint8Array {
    const n = frame.width * frame.height;
    const labels = new Uint8Array(n).fill(255);
    for (let p = 0; p < n; p++) {
        if (frame.alpha[p] < 0.5) continue;
        let best = -1;
        let bestValue = 0;
        for (let c = 0; c < CLASSES; c++) {
            const v = frame.features[c * n + p];
            if (v > bestValue) {
                bestValue = v;
                best = c;
            }
        }
        if (best >= 0) labels[p] = best;
    }
    return labels;
}

async function runLiftingBench(request: LiftingBenchRequest): Promise<LiftingBenchResult> {
    const canvas = document.createElement("canvas");
    canvas.width = request.width;
    canvas.height = request.height;
    document.body.appendChild(canvas);
    const engine = new WebGPUEngine(canvas, { antialias: false, adaptToDeviceRatio: false, setMaximumLimits: true, enableAllFeatures: true });
    await engine.initAsync();
    const scene = new Scene(engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const mesh = await SemanticGaussianSplattingMesh.LoadAsync(request.sceneUrl, scene);
    const truth = mesh.labels;
    if (!truth) throw new Error(`${request.sceneUrl} has no sem_label ground truth`);
    const n = mesh.gaussianCount;
    const onehot = new Float32Array(n * K);
    for (let i = 0; i < n; i++) if (truth[i] < CLASSES) onehot[i * K + truth[i]] = 1;
    mesh.setFeatures(onehot, K);
    const camera = new FreeCamera("liftingBenchCamera", Vector3.FromArray(request.camera.position), scene);
    camera.minZ = 0.05;
    if (request.camera.fov) camera.fov = request.camera.fov;
    const start = Vector3.FromArray(request.camera.position);
    const look = Vector3.FromArray(request.camera.target).subtract(start);
    const pass = new FeatureSplatPass(scene, mesh, { width: request.segWidth, height: request.segHeight });
    const gaussians = liftingGaussiansOf(mesh);
    const lifter = new LabelLifter(n);
    const accumulateMs: number[] = [];
    let lastFrame: FeatureFrame | null = null;
    let lastLabels: Uint8Array | null = null;
    for (let v = 0; v < request.views; v++) {
        // Scripted walkthrough: turn on the spot by 360 / views degrees per view, stepping 10 cm sideways.
        const yaw = (2 * Math.PI * v) / request.views;
        const dir = new Vector3(look.x * Math.cos(yaw) - look.z * Math.sin(yaw), look.y, look.x * Math.sin(yaw) + look.z * Math.cos(yaw));
        camera.position = start.add(new Vector3(0.1 * Math.cos(yaw), 0, 0.1 * Math.sin(yaw)));
        camera.setTarget(camera.position.add(dir));
        // Let the sort catch up with the new camera, then take the next feature frame.
        for (let i = 0; i < 3; i++) await step(engine, scene);
        const framePromise = pass.requestFrame();
        let frame: FeatureFrame | null = null;
        framePromise.then((f) => (frame = f));
        for (let i = 0; i < 600 && !frame; i++) {
            await step(engine, scene);
            await new Promise((r) => setTimeout(r, 5));
        }
        if (!frame) throw new Error(`view ${v}: no feature frame`);
        const f = frame as FeatureFrame;
        const labels = labelMap(f);
        const t = performance.now();
        lifter.accumulate({ width: f.width, height: f.height, labels, alpha: f.alpha, expectedDepth: f.depth, viewMatrix: f.viewMatrix, projectionMatrix: f.projectionMatrix }, gaussians);
        accumulateMs.push(performance.now() - t);
        lastFrame = f;
        lastLabels = labels;
    }
    const lifted = lifter.labels;
    let voted = 0;
    let agree = 0;
    for (let i = 0; i < n; i++) {
        if (lifted[i] === 255) continue;
        voted++;
        if (lifted[i] === truth[i]) agree++;
    }
    // Frame time and pick time, alternating, at the last view.
    const frameMs: number[] = [];
    const pickMs: number[] = [];
    let compared = 0;
    let picksAgree = 0;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const f = lastFrame!;
    for (let k = 0; k < Math.max(request.frames, request.picks); k++) {
        if (k < request.frames) frameMs.push(await step(engine, scene));
        if (k < request.picks) {
            const px = Math.floor(random() * f.width);
            const py = Math.floor(random() * f.height);
            const t = performance.now();
            const pick = pickLiftedLabel({ x: px + 0.5, y: py + 0.5, width: f.width, height: f.height, viewMatrix: f.viewMatrix, projectionMatrix: f.projectionMatrix }, gaussians, lifted, gaussians.radii);
            pickMs.push(performance.now() - t);
            const expected = lastLabels![py * f.width + px];
            if (expected !== 255) {
                compared++;
                if (pick.label === expected) picksAgree++;
            }
        }
    }
    pass.dispose();
    scene.dispose();
    engine.dispose();
    canvas.remove();
    return { gaussians: n, views: request.views, accumulateMs, frameMs, pickMs, votedGaussians: voted, liftedAgreesWithGroundTruth: agree / Math.max(1, voted), picksAgreeingWithLabelMap: picksAgree, picksCompared: compared };
}

const page = globalThis as unknown as { runLiftingBench: typeof runLiftingBench; pageReady: boolean };
page.runLiftingBench = runLiftingBench;
page.pageReady = true;
