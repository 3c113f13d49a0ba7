// Issue 15's hang, as every Babylon app meets it: `engine.runRenderLoop` is running BEFORE the segmentation pipeline
// is created. On SwiftShader an unpaced loop floods the GPU process and the worker's requestAdapter() never answered
// (init timed out). The pipeline paces the loop (GpuFramePacer), so the worker must answer its init with an adapter
// found in time (not the probe's timeout fallback), load the model and segment while the real loop keeps running.
// The meshes pace the loop from their creation on (a backlog queued before anything paced it would have to drain).
// The scene gets a veil of 600 large faint Gaussians, so that a frame costs SwiftShader about 0.3 s as the 80k-Gaussian
// showcase room does: with the loop unpaced, the worker's requestAdapter() then got no answer within 20 s (measured
// while writing this spec, docs/RUNTIME.md "Render loop pacing"); paced, it answered in 0.4 s.
import { createTestEngine, type TestEngine } from "../support/webgpu";
import { ClassTable } from "../../src/classes";
import { GpuFramePacer } from "../../src/rendering/gpuFramePacer";
import { SemanticSegmentationPipeline, type SegmentationResult } from "../../src/pipeline/segmentationPipeline";
import { FIXTURE_MANIFEST, FIXTURE_URL } from "../worker/fixtureInputs";
import { createTinySplatMesh, type TinyGaussian } from "../support/tinyScene";
import { OBJECTS, createQuadrantScene, loadClassTable, type PipelineScene } from "./pipelineScene";

describe("render loop running before the pipeline (issue 15)", () => {
    let t: TestEngine;
    let s: PipelineScene;
    let classes: ClassTable;
    let pipeline: SemanticSegmentationPipeline | null = null;

    beforeAll(async () => {
        t = await createTestEngine({ width: 320, height: 256 });
        s = createQuadrantScene(t);
        classes = await loadClassTable();
    });
    afterAll(() => {
        pipeline?.dispose();
        t?.engine.stopRenderLoop();
        s?.scene.dispose();
        t?.dispose();
    });

    it("the pacer limits the engine's frames in flight while held and restores the engine's own value", async () => {
        const own = await createTestEngine({ width: 64, height: 64 });
        try {
            const engine = own.engine;
            expect(engine.maxFramesInFlight).toBe(0);
            const a = GpuFramePacer.Acquire(engine);
            const b = GpuFramePacer.Acquire(engine);
            expect(b).toBe(a);
            expect(a.active).toBeTrue();
            expect(engine.maxFramesInFlight).toBe(1); // SwiftShader is a software adapter: one frame in flight
            a.release();
            expect(engine.maxFramesInFlight).toBe(1); // still held by b
            b.release();
            expect(engine.maxFramesInFlight).toBe(0);
            engine.maxFramesInFlight = 3; // an app's own limit wins
            const c = GpuFramePacer.Acquire(engine, { maxFramesInFlight: 2 });
            expect(c.active).toBeFalse();
            expect(engine.maxFramesInFlight).toBe(3);
            c.release();
            expect(engine.maxFramesInFlight).toBe(3);
            engine.maxFramesInFlight = 0;
            expect(() => GpuFramePacer.Acquire(engine, { maxFramesInFlight: 0 })).toThrowError(/maxFramesInFlight/);
        } finally {
            own.dispose();
        }
    });

    it("a semantic mesh paces its engine while it lives", () => {
        const pacer = GpuFramePacer.Acquire(t.engine);
        const held = pacer.holderCount;
        pacer.release();
        expect(held).toBe(2); // the quadrant mesh, and this spec
        expect(t.engine.maxFramesInFlight).toBe(1);
    });

    it("the worker answers init with its adapter, loads the model and segments with the loop running", async () => {
        const veil: TinyGaussian[] = [];
        for (let i = 0; i < 600; i++) {
            veil.push({ position: [((i * 37) % 100) / 50 - 1, ((i * 53) % 100) / 50 - 1, -2 + (i % 10) * 0.05], color: [0.5, 0.5, 0.5], opacity: 0.05, scale: 1.5 });
        }
        createTinySplatMesh(s.scene, veil, "veil");
        let frames = 0;
        t.engine.runRenderLoop(() => {
            s.scene.render();
            frames++;
        });
        // Let the unpaced loop build its backlog first, as an app's loop would while it fetches its assets.
        await new Promise((r) => setTimeout(r, 1500));
        pipeline = new SemanticSegmentationPipeline(s.scene, {
            mesh: s.mesh,
            classes,
            mode: "continuous",
            clientOptions: { numThreads: 1 },
        });
        const init = await pipeline.client.init();
        expect(init.adapterProblem).withContext("the worker's requestAdapter() must answer in time").toBeNull();
        expect(init.webgpuAdapter).toBeTrue();
        const info = await pipeline.loadModelAsync({ source: FIXTURE_URL, manifestUrl: FIXTURE_MANIFEST });
        // "auto" on SwiftShader: wasm, with the reason recorded
        expect(info.executionProvider).toBe("wasm");
        expect(info.executionProviderReason).toContain("software");
        const result = await new Promise<SegmentationResult>((resolve, reject) => {
            pipeline!.onSegmentationObservable.addOnce(resolve);
            pipeline!.onErrorObservable.addOnce(reject);
        });
        expect(result.width).toBeGreaterThan(0);
        const covered = new Set(Array.from(result.labels).filter((l) => l !== classes.none));
        for (const o of OBJECTS) expect(covered.has(o.classId)).withContext(o.name).toBeTrue();
        expect(frames).toBeGreaterThan(2);
        pipeline.dispose();
        pipeline = null;
        expect(t.engine.maxFramesInFlight).toBe(1); // the meshes still hold the pacer
    }, 240000);
});
