// Browser side of `npm run bench` (scripts/bench.mjs): loads a scene into a SemanticGaussianSplattingMesh, gives
// it K random features, and times Babylon's own colour pass and the feature pass in the same page, stepping and
// awaiting frames (never the rAF loop). Each frame gets two times: CPU wall time from the start of the frame's
// commands to queue.onSubmittedWorkDone(), and, where the device has "timestamp-query", GPU time between
// timestamps around the frame's render passes (GpuFrameTimer in benchScene.ts).
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { FeatureSplatPass } from "../src/rendering/featureSplatPass";
import { seededRandom } from "../test/support/seededRandom";
import { GpuFrameTimer, openBenchScene, timeFrame, timed, type BenchCameraPose, type FrameTime } from "./benchScene";

export interface BenchRequest {
    sceneUrl: string;
    /** Camera; default: framing the mesh's bounding sphere from -z. */
    camera?: BenchCameraPose;
    featureDimensions: number[];
    raisedLimits: boolean;
    width: number;
    height: number;
    frames: number;
    attachmentFormat?: "rgba16float" | "rgba32float";
}

export interface BenchResult {
    gaussians: number;
    raisedLimits: boolean;
    maxColorAttachmentBytesPerSample: number;
    /**
     * Per K: feature pass times and the colour pass times measured alternately with them: CPU wall time, and GPU
     * time from timestamp queries (null where the device has no "timestamp-query").
     */
    feature: { K: number; passes: number; splatPrimitive: string; ms: number[]; colourMs: number[]; gpuMs: number[] | null; colourGpuMs: number[] | null }[];
}

async function runBench(request: BenchRequest): Promise<BenchResult> {
    const { canvas, engine, scene, mesh, errors } = await openBenchScene({
        ...request,
        cameraName: "benchCamera",
        frame: (mesh, camera) => {
            mesh.computeWorldMatrix(true);
            const sphere = mesh.getBoundingInfo().boundingSphere;
            camera.position = sphere.centerWorld.add(new Vector3(0, 0.3 * sphere.radiusWorld, -2.2 * sphere.radiusWorld));
            camera.setTarget(sphere.centerWorld);
        },
    });

    // Colour and feature frames alternate (colour, feature, colour, ...) so that load from other processes on the
    // machine hits both alike; each K row carries the colour frames measured beside it.
    const feature: BenchResult["feature"] = [];
    const gpuTimer = GpuFrameTimer.Create(engine);
    const rnd = seededRandom(1);
    for (const K of request.featureDimensions) {
        const values = new Float32Array(mesh.gaussianCount * K);
        for (let i = 0; i < values.length; i++) values[i] = rnd() * 2 - 1;
        mesh.setFeatures(values, K);
        const pass = new FeatureSplatPass(scene, mesh, { width: request.width, height: request.height, attachmentFormat: request.attachmentFormat });
        // Compile and check that every pass really draws before timing it.
        let drew = false;
        for (let i = 0; i < 600 && !drew; i++) {
            await timed(engine, () => (drew = pass.renderPasses()));
            await new Promise((r) => setTimeout(r, 10));
        }
        if (!drew) throw new Error(`K=${K}: the feature pass never drew`);
        await timed(engine, () => pass.renderPasses());
        const colour: FrameTime[] = [];
        const featurePass: FrameTime[] = [];
        for (let i = 0; i < request.frames; i++) {
            colour.push(await timeFrame(engine, () => scene.render(), gpuTimer));
            featurePass.push(await timeFrame(engine, () => pass.renderPasses(), gpuTimer));
        }
        const gpu = (times: FrameTime[]) => (gpuTimer ? times.map((t) => t.gpuMs!) : null);
        feature.push({ K, passes: pass.plans.length, splatPrimitive: pass.splatPrimitive, ms: featurePass.map((t) => t.wallMs), colourMs: colour.map((t) => t.wallMs), gpuMs: gpu(featurePass), colourGpuMs: gpu(colour) });
        pass.dispose();
    }
    gpuTimer?.dispose();
    const result: BenchResult = {
        gaussians: mesh.gaussianCount,
        raisedLimits: request.raisedLimits,
        maxColorAttachmentBytesPerSample: engine._device.limits.maxColorAttachmentBytesPerSample,
        feature,
    };
    scene.dispose();
    engine.dispose();
    canvas.remove();
    if (errors.length) throw new Error(`uncaptured WebGPU errors: ${errors.join("; ")}`);
    return result;
}

const page = globalThis as unknown as { runBench: typeof runBench; pageReady: boolean };
page.runBench = runBench;
page.pageReady = true;
