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
    /** Per-Gaussian mIoU over ALL Gaussians against sem_label: voted only (unvoted = miss), after propagation. */
    miouAllVotedOnly: number;
    miouAllPropagated: number;
    /** Share of all Gaussians whose class (after propagation) is the ground truth. */
    propagatedAgreesWithGroundTruth: number;
    /** LabelLifter.propagate(): one go, ms; propagateAsync(): whole run and longest slice, ms. */
    propagateMs: number;
    propagateAsyncMs: number;
    propagateAsyncLongestSliceMs: number;
    propagateAsyncSlices: number;
    propagateBuildMs: number;
    /** Work slices of propagateAsync() (the build excluded): median ms. */
    propagateAsyncMedianSliceMs: number;
    propagateDistanceChecks: number;
    picksAgreeingWithLabelMap: number;
    /** The same picks through the voted labels only (before propagation). */
    picksAgreeingVotedOnly: number;
    /** The same picks with the earlier footprint (largest scale, at least 2 px). */
    picksAgreeingOldFootprint: number;
    picksCompared: number;
}

/** Mean IoU over the classes present in `truth` (prediction 255 counts as a miss). */
function meanIoU(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
    const inter = new Float64Array(256);
    const predCount = new Float64Array(256);
    const truthCount = new Float64Array(256);
    for (let i = 0; i < truth.length; i++) {
        if (truth[i] >= CLASSES) continue;
        truthCount[truth[i]]++;
        predCount[pred[i]]++;
        if (pred[i] === truth[i]) inter[truth[i]]++;
    }
    let sum = 0;
    let classes = 0;
    for (let c = 0; c < CLASSES; c++) {
        if (!truthCount[c]) continue;
        sum += inter[c] / (truthCount[c] + predCount[c] - inter[c]);
        classes++;
    }
    return sum / Math.max(1, classes);
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
    const votedOnly = Uint8Array.from(lifter.labels);
    let voted = 0;
    let agree = 0;
    for (let i = 0; i < n; i++) {
        if (votedOnly[i] === 255) continue;
        voted++;
        if (votedOnly[i] === truth[i]) agree++;
    }
    // Propagation to the unvoted Gaussians: time-sliced first (what a page would run), then in one go (the same result).
    const asyncResult = await lifter.propagateAsync(gaussians, { sliceMs: 4 });
    // Once more on the same votes (same result), timed from outside: a setTimeout ticker records the gaps between
    // its turns, so each gap holds at most one slice; the median gap is what a frame would wait for.
    const sliceMs: number[] = [];
    {
        let running = true;
        let last = performance.now();
        const tick = () => {
            const t = performance.now();
            sliceMs.push(t - last);
            last = t;
            if (running) setTimeout(tick, 0);
        };
        setTimeout(tick, 0);
        await lifter.propagateAsync(gaussians, { sliceMs: 4 });
        running = false;
    }
    const syncResult = lifter.propagate(gaussians);
    const lifted = lifter.labels;
    let agreeAll = 0;
    for (let i = 0; i < n; i++) if (lifted[i] === truth[i]) agreeAll++;
    // Frame time and pick time, alternating, at the last view.
    const frameMs: number[] = [];
    const pickMs: number[] = [];
    let compared = 0;
    let picksAgree = 0;
    let picksAgreeVoted = 0;
    let picksAgreeOld = 0;
    // Splat rows: 3 position floats, then 3 scale floats (Babylon's 32-byte layout, liftedLabelDisplay.ts).
    const rows = new Float32Array(mesh.splatsData!, 0, n * 8);
    const largestScale = new Float32Array(n).map((_, i) => Math.max(rows[8 * i + 3], rows[8 * i + 4], rows[8 * i + 5]));
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
                const before = pickLiftedLabel({ x: px + 0.5, y: py + 0.5, width: f.width, height: f.height, viewMatrix: f.viewMatrix, projectionMatrix: f.projectionMatrix }, gaussians, votedOnly, gaussians.radii);
                if (before.label === expected) picksAgreeVoted++;
                // The pick as it was before (footprint = the largest scale, at least 2 px), for comparison.
                const old = pickLiftedLabel({ x: px + 0.5, y: py + 0.5, width: f.width, height: f.height, viewMatrix: f.viewMatrix, projectionMatrix: f.projectionMatrix }, gaussians, lifted, largestScale, { minFootprintPx: 2 });
                if (old.label === expected) picksAgreeOld++;
            }
        }
    }
    pass.dispose();
    scene.dispose();
    engine.dispose();
    canvas.remove();
    return {
        gaussians: n,
        views: request.views,
        accumulateMs,
        frameMs,
        pickMs,
        votedGaussians: voted,
        liftedAgreesWithGroundTruth: agree / Math.max(1, voted),
        miouAllVotedOnly: meanIoU(votedOnly, truth),
        miouAllPropagated: meanIoU(lifted, truth),
        propagatedAgreesWithGroundTruth: agreeAll / n,
        propagateMs: syncResult.ms,
        propagateAsyncMs: asyncResult.ms,
        propagateAsyncLongestSliceMs: asyncResult.longestSliceMs,
        propagateAsyncSlices: asyncResult.slices,
        propagateBuildMs: syncResult.buildMs,
        propagateAsyncMedianSliceMs: [...sliceMs].sort((a, b) => a - b)[Math.floor(sliceMs.length / 2)] ?? 0,
        propagateDistanceChecks: syncResult.distanceChecks,
        picksAgreeingWithLabelMap: picksAgree,
        picksAgreeingVotedOnly: picksAgreeVoted,
        picksCompared: compared,
        picksAgreeingOldFootprint: picksAgreeOld,
    };
}

const page = globalThis as unknown as { runLiftingBench: typeof runLiftingBench; pageReady: boolean };
page.runLiftingBench = runLiftingBench;
page.pageReady = true;
