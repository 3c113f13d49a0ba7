// Browser side of `npm run bench:pipeline` (scripts/bench-pipeline.mjs): a synthetic scene of one-hot-class planes
// (K = 8, the fixture model's), the SemanticSegmentationPipeline with the fixture VDVI model in the worker (wasm EP),
// frames stepped and awaited (never the rAF loop). Measures per-stage times of segmentation ticks, frame rate with
// segmentation off and on (continuous) in the same page, and the pipeline's main-thread time per rendered frame.
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticGaussianSplattingMesh } from "../src/mesh/semanticGaussianSplattingMesh";
import { ClassTable } from "../src/classes";
import { SemanticSegmentationPipeline } from "../src/pipeline/segmentationPipeline";
import type { SegmentationStageTimes } from "../src/pipeline/stats";
import { FeatureSplatPass } from "../src/rendering/featureSplatPass";

/**
 * Main-thread work the page can see from outside the pipeline, timed by wrapping the functions that do it (so the
 * same page measures any version of the pipeline):
 * - `mappedCopyMs`: between `GPUBuffer.getMappedRange()` and `unmap()` on this thread: copying (and, for Babylon's
 *   own readback of half floats, converting) the mapped readback buffers into JS memory.
 * - `mainUnpackMs`: `FeatureSplatPass.readbackAsync`'s own work after its texture reads arrive (the de-interleaving
 *   into planar arrays) when something calls it on this thread.
 */
const probe = { mappedCopyMs: 0, mappedCopies: 0, mainUnpackMs: 0, mainUnpacks: 0 };
{
    const mapStart = new WeakMap<GPUBuffer, number>();
    const proto = GPUBuffer.prototype;
    const getMappedRange = proto.getMappedRange;
    const unmap = proto.unmap;
    proto.getMappedRange = function (this: GPUBuffer, ...args: Parameters<GPUBuffer["getMappedRange"]>) {
        if (!mapStart.has(this)) mapStart.set(this, performance.now());
        return getMappedRange.apply(this, args);
    };
    proto.unmap = function (this: GPUBuffer) {
        const start = mapStart.get(this);
        const result = unmap.call(this);
        if (start !== undefined) {
            probe.mappedCopyMs += performance.now() - start;
            probe.mappedCopies++;
            mapStart.delete(this);
        }
        return result;
    };
    const readbackAsync = FeatureSplatPass.prototype.readbackAsync;
    FeatureSplatPass.prototype.readbackAsync = async function (this: FeatureSplatPass) {
        // The last texture read (or mapped buffer) to arrive marks the start of the unpacking.
        const engine = this.scene.getEngine() as unknown as { _readTexturePixels: (...a: unknown[]) => Promise<unknown> };
        const read = engine._readTexturePixels;
        let lastArrival = 0;
        engine._readTexturePixels = (...a: unknown[]) => read.apply(engine, a).then((v) => ((lastArrival = performance.now()), v));
        const unmapBefore = proto.unmap;
        proto.unmap = function (this: GPUBuffer) {
            const r = unmapBefore.call(this);
            lastArrival = performance.now();
            return r;
        };
        try {
            const frame = await readbackAsync.call(this);
            probe.mainUnpackMs += performance.now() - lastArrival;
            probe.mainUnpacks++;
            return frame;
        } finally {
            engine._readTexturePixels = read;
            proto.unmap = unmapBefore;
        }
    };
}

export interface PipelineBenchRequest {
    canvasWidth: number;
    canvasHeight: number;
    /** Segmentation resolution (multiples of 32). */
    width: number;
    height: number;
    /** Gaussians per side of each of the four planes. */
    gridSide: number;
    ticks: number;
    frames: number;
    workerUrl: string;
    /** Whether the class-colour overlay is on (its per-result texture upload is main-thread work). */
    overlay: boolean;
    /** The VDVI model: its URL, its manifest, and its K (the planes' features get K channels). */
    model: { source: string; manifestUrl: string; k: number };
}

export interface PipelineBenchResult {
    gaussians: number;
    stages: SegmentationStageTimes[];
    fpsOff: number;
    fpsOn: number;
    ticksDuringOn: number;
    mainThreadMsPerFrame: number;
    mainThreadMsPerFrameMax: number;
    /** Stage times of the ticks that finished during the continuous frames. */
    onTimings: SegmentationStageTimes[];
    /** The probes' totals over the continuous frames (see `probe`). */
    probe: { mappedCopyMs: number; mappedCopies: number; mainUnpackMs: number; mainUnpacks: number };
    /** Chrome's main-thread task time per stepped frame, segmentation off and continuous on. */
    taskMsPerFrameOff: number;
    taskMsPerFrameOn: number;
    crossOriginIsolated: boolean;
    executionProvider: string;
}

/** Four planes (one per quadrant, each its own one-hot channel and depth), as .splat rows + K features. */
function planes(gridSide: number, K: number): { rows: ArrayBuffer; features: Float32Array; count: number } {
    const quadrants = [
        { sx: -1, sy: 1, z: 0, channel: 2 },
        { sx: 1, sy: 1, z: 0.3, channel: 3 },
        { sx: -1, sy: -1, z: 0.6, channel: 5 },
        { sx: 1, sy: -1, z: -0.3, channel: 7 },
    ];
    const count = quadrants.length * gridSide * gridSide;
    const rows = new ArrayBuffer(count * 32);
    const f32 = new Float32Array(rows);
    const u8 = new Uint8Array(rows);
    const features = new Float32Array(count * K);
    const spacing = 3.2 / gridSide;
    let i = 0;
    for (const q of quadrants) {
        for (let a = 0; a < gridSide; a++) {
            for (let b = 0; b < gridSide; b++, i++) {
                f32.set([q.sx * (0.2 + a * spacing), q.sy * (0.2 + b * spacing * 0.8), q.z, spacing * 0.7, spacing * 0.7, 0.004], i * 8);
                u8.set([60 + 20 * q.channel, 128, 220 - 20 * q.channel, 255, 255, 128, 128, 128], i * 32 + 24);
                features[i * K + q.channel] = 1;
            }
        }
    }
    return { rows, features, count };
}

async function step(engine: WebGPUEngine, scene: Scene): Promise<void> {
    engine.beginFrame();
    scene.render();
    engine.endFrame();
    await engine._device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 0)); // let worker answers and readbacks arrive
}

async function runPipelineBench(req: PipelineBenchRequest): Promise<PipelineBenchResult> {
    const canvas = document.createElement("canvas");
    canvas.width = req.canvasWidth;
    canvas.height = req.canvasHeight;
    canvas.style.width = `${req.canvasWidth}px`;
    canvas.style.height = `${req.canvasHeight}px`;
    document.body.appendChild(canvas);
    const engine = new WebGPUEngine(canvas, { antialias: false, adaptToDeviceRatio: false, setMaximumLimits: true, enableAllFeatures: true });
    await engine.initAsync();
    const scene = new Scene(engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const camera = new FreeCamera("camera", new Vector3(0, 0, -4), scene);
    camera.setTarget(Vector3.Zero());
    camera.minZ = 0.1;
    const mesh = new SemanticGaussianSplattingMesh("planes", scene);
    const data = planes(req.gridSide, req.model.k);
    mesh.updateData(data.rows, undefined, { flipY: false });
    mesh.setFeatures(data.features, req.model.k);
    const classes = await ClassTable.load("/models/classes.json");
    for (let i = 0; i < 600 && !mesh.isReady(true); i++) await step(engine, scene);

    // Frame rate and main-thread task time with segmentation off. `cdpTaskSeconds` (exposed by the script) is
    // Chrome's own account of this page's main-thread task time (CDP Performance.getMetrics "TaskDuration").
    const taskSeconds = (globalThis as unknown as { cdpTaskSeconds: () => Promise<number> }).cdpTaskSeconds;
    await step(engine, scene);
    let tasks = await taskSeconds();
    let start = performance.now();
    for (let i = 0; i < req.frames; i++) await step(engine, scene);
    const fpsOff = (1000 * req.frames) / (performance.now() - start);
    const taskMsPerFrameOff = (1000 * ((await taskSeconds()) - tasks)) / req.frames;

    const pipeline = new SemanticSegmentationPipeline(scene, {
        mesh,
        classes,
        mode: "demand",
        width: req.width,
        height: req.height,
        model: { source: req.model.source, manifestUrl: req.model.manifestUrl, executionProvider: "wasm" },
        clientOptions: { workerUrl: req.workerUrl },
        statsWindow: Math.max(req.ticks, req.frames),
        overlay: { enabled: req.overlay },
    });
    const info = await pipeline.loadModelAsync();
    const init = await pipeline.client.init();
    const segmentOnce = async () => {
        const promise = pipeline.segmentAsync();
        let done = false;
        promise.then(() => (done = true));
        while (!done) await step(engine, scene);
        return promise;
    };
    await segmentOnce(); // warm-up: shaders, onnxruntime's first run
    const stages: SegmentationStageTimes[] = [];
    for (let i = 0; i < req.ticks; i++) stages.push((await segmentOnce()).timings);

    // Continuous segmentation on: frame rate, the pipeline's own account of its main-thread time, the probes, and
    // Chrome's task time. The tick in flight when the window opens or closes is split across the windows.
    pipeline.mode = "continuous";
    await step(engine, scene);
    const ticksBefore = pipeline.stats.ticks;
    const statsWindowStart = pipeline.stats.frames;
    const probeBefore = { ...probe };
    const onTimings: SegmentationStageTimes[] = [];
    const observer = pipeline.onSegmentationObservable.add((r) => onTimings.push(r.timings));
    tasks = await taskSeconds();
    start = performance.now();
    for (let i = 0; i < req.frames; i++) await step(engine, scene);
    const fpsOn = (1000 * req.frames) / (performance.now() - start);
    const taskMsPerFrameOn = (1000 * ((await taskSeconds()) - tasks)) / req.frames;
    pipeline.onSegmentationObservable.remove(observer);
    const stats = pipeline.stats;
    if (stats.frames - statsWindowStart < req.frames) throw new Error("the pipeline did not see every frame");
    const ticksDuringOn = stats.ticks - ticksBefore;
    const result: PipelineBenchResult = {
        gaussians: data.count,
        stages,
        fpsOff,
        fpsOn,
        ticksDuringOn,
        mainThreadMsPerFrame: stats.mainThreadMsPerFrame,
        mainThreadMsPerFrameMax: stats.mainThreadMsPerFrameMax,
        onTimings,
        probe: {
            mappedCopyMs: probe.mappedCopyMs - probeBefore.mappedCopyMs,
            mappedCopies: probe.mappedCopies - probeBefore.mappedCopies,
            mainUnpackMs: probe.mainUnpackMs - probeBefore.mainUnpackMs,
            mainUnpacks: probe.mainUnpacks - probeBefore.mainUnpacks,
        },
        taskMsPerFrameOff,
        taskMsPerFrameOn,
        crossOriginIsolated: init.crossOriginIsolated,
        executionProvider: info.executionProvider,
    };
    pipeline.dispose();
    scene.dispose();
    engine.dispose();
    canvas.remove();
    return result;
}

(globalThis as unknown as { runPipelineBench: typeof runPipelineBench }).runPipelineBench = runPipelineBench;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
