// The segmentation pipeline end to end in Chromium: a scene of four one-hot-class objects, the fixture VDVI model
// in the worker (wasm EP), picking (pickSemanticAsync, the sync lookup, scene.pick's PickingInfo.semantic) at object
// centres and canvas corners, the overlay, modes, stats, rendering that never waits, and one spec per fault.
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";
import { SemanticSplatError, isSemanticError } from "../../src/errors";
import { ClassTable } from "../../src/classes";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { SemanticSegmentationPipeline, type SemanticSegmentationPipelineOptions } from "../../src/pipeline/segmentationPipeline";
import { FIXTURES, FIXTURE_MANIFEST, FIXTURE_URL, RGB_CLASS, RGB_FIXTURE_URL, dominantColourClass, rejection } from "../worker/fixtureInputs";
import { installGpuCounter, liveGpuObjects } from "../mesh/gpuCounter";
import { gpuObjectsCreatedSince, installLabelledGpuTracker, isBabylonEffectUniformBuffer, snapshotGpuObjects } from "./gpuObjectLabels";
import { OBJECTS, createQuadrantScene, loadClassTable, objectColour, projectToCss, sceneExtent, stepUntilSettled, surfaceAt, type PipelineScene } from "./pipelineScene";

const MODEL = { source: FIXTURE_URL, manifestUrl: FIXTURE_MANIFEST, executionProvider: "wasm" as const };
/** The RGB-only fallback fixture: a pixel gets RGB_CLASS of its dominant colour channel. */
const FALLBACK = { source: RGB_FIXTURE_URL, manifestUrl: FIXTURE_MANIFEST, executionProvider: "wasm" as const };
/** Margins for a small shared machine where each fresh worker compiles onnxruntime's wasm again. */
const SPEC_MS = 100000;

/** `bytes` (an ONNX ModelProto) with one more metadata_props entry: field 14 appended (protobuf fields may come in
 *  any order, repeated ones accumulate). How a model exported with that key reads to the worker. */
function withMetadata(bytes: ArrayBuffer, key: string, value: string): ArrayBuffer {
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
    const field = (tag: number, data: number[]) => [tag, ...varint(data.length), ...data];
    const text = (t: string) => [...new TextEncoder().encode(t)];
    const entry = field(0x72, [...field(0x0a, text(key)), ...field(0x12, text(value))]);
    const out = new Uint8Array(bytes.byteLength + entry.length);
    out.set(new Uint8Array(bytes));
    out.set(entry, bytes.byteLength);
    return out.buffer;
}
const NONE = 255;

function expectCode(error: unknown, code: SemanticSplatError["code"]): void {
    expect(error).toBeInstanceOf(SemanticSplatError);
    expect(isSemanticError(error, code)).withContext(String(error)).toBeTrue();
}

describe("segmentation pipeline", () => {
    let t: TestEngine;
    let s: PipelineScene;
    let classes: ClassTable;
    /** One worker shared by the specs that do not test the worker's own life (saves a wasm compile per spec). */
    let sharedClient: InferenceClient;
    const pipelines: SemanticSegmentationPipeline[] = [];

    const newPipeline = (options: Partial<SemanticSegmentationPipelineOptions> = {}) => {
        const p = new SemanticSegmentationPipeline(s.scene, { mesh: s.mesh, classes, model: MODEL, client: sharedClient, mode: "demand", ...options });
        pipelines.push(p);
        return p;
    };
    /** segmentAsync while the test steps frames (the pipeline never renders frames itself). */
    const segment = async (p: SemanticSegmentationPipeline) => {
        const promise = p.segmentAsync();
        await stepUntilSettled(s.scene, promise);
        return promise;
    };
    /** Checks the class at every object's centre: the "the pipeline works (again)" check of the fault specs. */
    const expectObjectClasses = async (p: SemanticSegmentationPipeline) => {
        await segment(p);
        for (const o of OBJECTS) {
            const at = projectToCss(s, o.centre, t.canvas);
            expect((await p.pickSemanticAsync(at.x, at.y)).classId).withContext(o.name).toBe(o.classId);
        }
    };

    beforeAll(async () => {
        installGpuCounter();
        // 320x256: the default segmentation resolution (long side 320, multiples of 32) has the canvas's aspect.
        t = await createTestEngine({ width: 320, height: 256 });
        // A device pixel ratio of 2: the canvas renders 320x256 but its CSS box is 160x128.
        t.canvas.style.width = "160px";
        t.canvas.style.height = "128px";
        s = createQuadrantScene(t);
        classes = await loadClassTable();
        sharedClient = new InferenceClient({ numThreads: 1 });
        await stepFrames(s.scene, 2);
    });
    afterEach(() => {
        for (const p of pipelines.splice(0).reverse()) p.dispose();
    });
    afterAll(() => {
        sharedClient?.dispose();
        s?.scene.dispose();
        t?.dispose();
    });

    it("after one tick, picks each object's class and its surface point within 2% of the scene's extent; scene.pick agrees", async () => {
        const p = newPipeline();
        const info = await p.loadModelAsync();
        expect(info.k).toBe(8);
        const results: number[] = [];
        p.onSegmentationObservable.add((r) => results.push(r.frameId));
        const result = await segment(p);
        expect(results).toEqual([result.frameId]);
        expect([result.width, result.height]).toEqual([320, 256]); // long side 320, multiples of 32
        expect(result.viewMatrix).toEqual(new Float32Array(s.camera.getViewMatrix().m));
        expect(result.cameraViewMatrix).toEqual(result.viewMatrix);
        expect(result.cameraProjectionMatrix).toEqual(new Float32Array(s.camera.getProjectionMatrix(true).m));
        // the map's own projection: the camera's vertical FOV at the map's aspect (here the canvas's, 320 / 256)
        expect(result.projectionMatrix[5]).toBeCloseTo(result.cameraProjectionMatrix[5], 5);
        expect(result.projectionMatrix[0]).toBeCloseTo(result.projectionMatrix[5] / (320 / 256), 5);
        const tolerance = 0.02 * sceneExtent(s.gaussians);
        for (const o of OBJECTS) {
            const at = projectToCss(s, o.centre, t.canvas);
            const pick = await p.pickSemanticAsync(at.x, at.y);
            expect(pick.empty).withContext(o.name).toBeNull();
            expect(pick.classId).withContext(o.name).toBe(o.classId);
            expect(pick.className).withContext(o.name).toBe(classes.byId(o.classId)!.name);
            expect(pick.confidence).withContext(o.name).toBeGreaterThan(0.5);
            expect(pick.mesh).toBe(s.mesh);
            expect(pick.stale).toBeFalse();
            expect(pick.frameId).toBe(result.frameId);
            expect(Vector3.Distance(pick.pickedPoint!, o.centre)).withContext(`${o.name} picked point ${pick.pickedPoint}`).toBeLessThan(tolerance);
            // the synchronous lookup gives the same answer
            expect(p.pickSemantic(at.x, at.y).classId).toBe(o.classId);
            // scene.pick takes render pixels (x hardware scaling): here 2 x CSS
            const info = s.scene.pick(at.x * 2, at.y * 2);
            expect(info.hit).withContext(`scene.pick ${o.name}`).toBeTrue();
            expect(info.pickedMesh).toBe(s.mesh);
            expect(info.semantic?.classId).toBe(o.classId);
            expect(Vector3.Distance(info.pickedPoint!, o.centre)).toBeLessThan(tolerance);
        }
        // the empty cross between the objects: none, no point, and scene.pick misses
        const middle = p.pickSemantic(80, 64);
        expect(middle.empty).toBe("uncovered");
        expect(middle.classId).toBe(NONE);
        expect(middle.pickedPoint).toBeNull();
        expect(result.labels[128 * 320 + 160]).toBe(NONE);
        expect(s.scene.pick(160, 128).hit).toBeFalse();
        // stats per stage
        const stats = p.stats;
        expect(stats.ticks).toBe(1);
        expect(stats.last!.inferenceMs).toBeGreaterThan(0);
        expect(stats.last!.totalMs).toBeGreaterThanOrEqual(stats.last!.inferenceMs + stats.last!.readbackMs);
        expect(stats.average.totalMs).toBe(stats.last!.totalMs);
        expectNoWebGPUErrors(t);
    }, SPEC_MS);

    describe("RGB-only fallback", () => {
        /** The classes at the objects' centres from the cached map. */
        const objectClasses = (p: SemanticSegmentationPipeline) =>
            OBJECTS.map((o) => {
                const at = projectToCss(s, o.centre, t.canvas);
                return p.pickSemantic(at.x, at.y).classId;
            });
        const fallbackClasses = OBJECTS.map((o) => dominantColourClass(objectColour(o)));
        const fullClasses = OBJECTS.map((o) => o.classId);
        /** Ticks until the full model answers (the fallback answers while the feature pass's shaders compile). */
        const segmentUntilFull = async (p: SemanticSegmentationPipeline) => {
            for (let i = 0; i < 30; i++) {
                const result = await segment(p);
                if (result.modelKind === "vdvi") return result;
                expect(objectClasses(p)).toEqual(fallbackClasses);
            }
            throw new Error("the full model never took over from the fallback");
        };

        it("answers with the fallback while the mesh has no features, then with the full model once they arrive", async () => {
            const saved = s.mesh.featureValues!.slice();
            const k = s.mesh.featureDimension;
            // the two models must disagree everywhere for this spec to tell them apart
            expect(fallbackClasses.some((c, i) => c === fullClasses[i])).toBeFalse();
            expect(new Set(fallbackClasses).size).toBeGreaterThan(1);
            s.mesh.clearFeatures(); // as while the encoder runs
            try {
                const p = newPipeline({ fallbackModel: FALLBACK });
                expect(p.activeModelKind).toBeNull();
                expect(p.pass.featureDimension).withContext("a mesh without features gets the colour-only pass").toBe(0);
                const info = await p.loadModelAsync(); // K is checked per tick while the mesh has none
                expect(info.k).toBe(8);
                expect(p.activeModelKind).withContext("a full model but no features, no fallback yet").toBeNull();
                const fallbackInfo = await p.loadFallbackModelAsync();
                expect([fallbackInfo.kind, fallbackInfo.k]).toEqual(["vdvi-rgb", 0]);
                expect(p.fallbackModel).toBe(fallbackInfo);
                expect(p.activeModelKind).toBe("vdvi-rgb");
                const seen: string[] = [];
                p.onSegmentationObservable.add((r) => seen.push(r.modelKind));
                const first = await segment(p);
                expect(first.modelKind).toBe("vdvi-rgb");
                expect(objectClasses(p)).toEqual(fallbackClasses);
                expect(first.labels[128 * 320 + 160]).withContext("uncovered pixels stay none").toBe(NONE);
                expect(p.stats.lastModelKind).toBe("vdvi-rgb");

                s.mesh.setFeatures(saved, k); // the encoder finished
                expect(p.activeModelKind).toBe("vdvi");
                const full = await segmentUntilFull(p);
                expect(full.modelKind).toBe("vdvi");
                expect(objectClasses(p)).toEqual(fullClasses);
                expect(p.pass.featureDimension).toBe(8);
                expect(p.stats.lastModelKind).toBe("vdvi");
                expect(p.stats.ticksByModel.vdvi).toBe(1);
                expect(p.stats.ticksByModel["vdvi-rgb"]).toBe(p.stats.ticks - 1);
                expect(seen[seen.length - 1]).toBe("vdvi");
                // features gone again (a new scene, a failed encode): back to the fallback at once
                s.mesh.clearFeatures();
                expect((await segment(p)).modelKind).toBe("vdvi-rgb");
                expect(objectClasses(p)).toEqual(fallbackClasses);
                expectNoWebGPUErrors(t);
            } finally {
                if (s.mesh.featureDimension !== k) s.mesh.setFeatures(saved, k);
            }
        }, SPEC_MS);

        it("runs the fallback alone (no full model), prefers the full model when both can run, and says so in stats", async () => {
            const p = newPipeline({ fallbackModel: FALLBACK });
            await p.loadFallbackModelAsync();
            const alone = await segment(p);
            expect(alone.modelKind).toBe("vdvi-rgb");
            expect(objectClasses(p)).toEqual(fallbackClasses);
            expect(RGB_CLASS).toContain(alone.labels[10 * 320 + 10]);
            await p.loadModelAsync();
            expect(p.activeModelKind).toBe("vdvi");
            await segmentUntilFull(p);
            expect(objectClasses(p)).toEqual(fullClasses);
        }, SPEC_MS);

        it("features from another encoder than the model was trained on: the fallback answers, or FEATURE_MISMATCH naming both", async () => {
            const saved = s.mesh.featureValues!.slice();
            const k = s.mesh.featureDimension;
            const savedId = s.mesh.featureEncoderId;
            const trainedOn = "fixture-encoder@0123456789ab";
            const model = { source: withMetadata(await (await fetch(FIXTURE_URL)).arrayBuffer(), "features_id", trainedOn), executionProvider: "wasm" as const };
            try {
                s.mesh.setFeatures(saved, k, { encoderId: "fixture-encoder@ba9876543210" }); // e.g. a sidecar of an older encoder
                const p = newPipeline({ model, fallbackModel: FALLBACK });
                const info = await p.loadModelAsync();
                expect(info.metadata.features_id).toBe(trainedOn);
                await p.loadFallbackModelAsync();
                expect(p.featureMismatch).toContain("fixture-encoder@ba9876543210");
                expect(p.featureMismatch).toContain(trainedOn);
                expect(p.activeModelKind).toBe("vdvi-rgb");
                expect((await segment(p)).modelKind).toBe("vdvi-rgb");
                expect(objectClasses(p)).toEqual(fallbackClasses);

                s.mesh.setFeatures(saved, k, { encoderId: trainedOn }); // encoded again with the right encoder
                expect(p.featureMismatch).toBeNull();
                expect(p.activeModelKind).toBe("vdvi");
                await segmentUntilFull(p);
                expect(objectClasses(p)).toEqual(fullClasses);
                s.mesh.setFeatures(saved, k); // an unknown encoder (a PLY without the comment) is not refused
                expect(p.featureMismatch).toBeNull();

                s.mesh.setFeatures(saved, k, { encoderId: "fixture-encoder@ba9876543210" });
                const alone = newPipeline({ model, maxWaitFrames: 5 });
                await alone.loadModelAsync();
                const error = await rejection(segment(alone));
                expectCode(error, "FEATURE_MISMATCH");
                expect(String(error)).toContain(`trained on features of "${trainedOn}"`);
                expect(alone.stats.ticks).toBe(0);
            } finally {
                s.mesh.setFeatures(saved, k, { encoderId: savedId });
            }
        }, SPEC_MS);

        it("without a fallback, a mesh that has no features gets no tick: segmentAsync fails with FEATURE_MISMATCH", async () => {
            const saved = s.mesh.featureValues!.slice();
            const k = s.mesh.featureDimension;
            s.mesh.clearFeatures();
            try {
                const p = newPipeline({ maxWaitFrames: 5 });
                await p.loadModelAsync();
                expect(p.activeModelKind).toBeNull();
                const error = await rejection(segment(p));
                expectCode(error, "FEATURE_MISMATCH");
                expect(String(error)).toContain("no features");
                expect(p.stats.ticks).toBe(0);
                // a fallback given later answers
                await p.loadFallbackModelAsync(FALLBACK);
                expect((await segment(p)).modelKind).toBe("vdvi-rgb");
                expectCode(await rejection(p.loadFallbackModelAsync({ ...FALLBACK, source: FIXTURE_URL })), "MODEL_CONTRACT");
                expect(p.fallbackModel?.name).withContext("a failed load keeps the fallback in use").toBe(new URL(RGB_FIXTURE_URL, document.baseURI).href); // URLs are resolved against the page
            } finally {
                if (s.mesh.featureDimension !== k) s.mesh.setFeatures(saved, k);
            }
        }, SPEC_MS);
    });

    it("passes the feature pass's options on: splatPrimitive (quads here: this device has no clip-distances)", () => {
        expect(newPipeline().pass.splatPrimitive).toBe("quad");
        expect(newPipeline({ splatPrimitive: "quad" }).pass.splatPrimitive).toBe("quad");
        expect(() => newPipeline({ splatPrimitive: "triangle" })).toThrowMatching((e) => isSemanticError(e, "GPU_LIMITS") && /clip-distances/.test(e.message));
    });

    it("converts coordinates at the canvas corners (CSS box half the render size, WebGPU rows top first, map 320x256 for 320x240)", async () => {
        const p = newPipeline();
        await p.loadModelAsync();
        await segment(p);
        const corners = [
            { x: 0.25, y: 0.25, object: "top-left" },
            { x: 159.75, y: 0.25, object: "top-right" },
            { x: 0.25, y: 127.75, object: "bottom-left" },
            { x: 159.75, y: 127.75, object: "bottom-right" },
        ];
        const tolerance = 0.02 * sceneExtent(s.gaussians);
        // the default map (320x256, the render size) and a half-size map (160x128)
        const half = newPipeline({ width: 160, height: 128 });
        await half.loadModelAsync();
        await segment(half);
        for (const [pipeline, W, H] of [[p, 320, 256], [half, 160, 128]] as const) {
            for (const c of corners) {
                const o = OBJECTS.find((k) => k.name === c.object)!;
                const pick = pipeline.pickSemantic(c.x, c.y);
                const where = `${W}x${H} ${c.object}`;
                expect(pick.classId).withContext(where).toBe(o.classId);
                expect(pick.mapPixel).withContext(where).toEqual({ x: c.x < 80 ? 0 : W - 1, y: c.y < 64 ? 0 : H - 1 });
                expect(Vector3.Distance(pick.pickedPoint!, surfaceAt(s, c.x, c.y, o.z, t.canvas))).withContext(where).toBeLessThan(tolerance);
                // both pipelines answer scene.pick: the nearer hit wins, and both see the same surface
                expect(s.scene.pick(c.x * 2, c.y * 2).semantic?.classId).withContext(`scene.pick ${where}`).toBe(o.classId);
            }
        }
        half.dispose();
        // a square map (256x256) for a 5:4 canvas shows less of the view horizontally: the canvas's left and right
        // edges are outside it, the object centres are inside
        const square = newPipeline({ width: 256, height: 256 });
        await square.loadModelAsync();
        await segment(square);
        expect(square.pickSemantic(0.25, 64).empty).toBe("outside");
        expect(square.pickSemantic(159.75, 64).empty).toBe("outside");
        for (const o of OBJECTS) {
            const at = projectToCss(s, o.centre, t.canvas);
            const pick = square.pickSemantic(at.x, at.y);
            expect(pick.classId).withContext(`256x256 ${o.name}`).toBe(o.classId);
            expect(Vector3.Distance(pick.pickedPoint!, o.centre)).withContext(`256x256 ${o.name}`).toBeLessThan(tolerance);
        }
        square.dispose();
        // just outside each edge: the documented empty answer
        for (const [x, y] of [[-0.5, 10], [160, 10], [10, -0.5], [10, 128], [NaN, 3]]) {
            const pick = await p.pickSemanticAsync(x, y);
            expect(pick.empty).withContext(`${x},${y}`).toBe("outside");
            expect(pick.classId).toBe(NONE);
            expect(pick.className).toBe("none");
        }
        // hardware scaling: scene.pick coordinates are render pixels x the scaling level
        t.engine.setHardwareScalingLevel(2);
        try {
            const scaling = 2;
            const rw = t.engine.getRenderWidth();
            const rh = t.engine.getRenderHeight();
            expect(rw).not.toBe(320);
            expect(s.scene.pick((rw - 0.25) * scaling, (rh - 0.25) * scaling).semantic?.classId).toBe(OBJECTS[3].classId);
            expect(s.scene.pick(0.25 * scaling, (rh - 0.25) * scaling).semantic?.classId).toBe(OBJECTS[2].classId);
            expect(s.scene.pick(0.25 * scaling, 0.25 * scaling).semantic?.classId).toBe(OBJECTS[0].classId);
            expect(p.pickSemantic(159.75, 0.25).classId).toBe(OBJECTS[1].classId); // CSS pixels do not change
        } finally {
            t.engine.setHardwareScalingLevel(1);
            t.engine.setSize(320, 256);
        }
        expect([t.engine.getRenderWidth(), t.engine.getRenderHeight()]).toEqual([320, 256]);
    }, SPEC_MS);

    it("marks a map stale when the camera moves, and scene.pick gets .semantic only on a semantic hit", async () => {
        const p = newPipeline();
        await p.loadModelAsync();
        await segment(p);
        const at = projectToCss(s, OBJECTS[0].centre, t.canvas);
        expect(p.pickSemantic(at.x, at.y).stale).toBeFalse();
        s.camera.position.x += 0.05;
        await stepFrames(s.scene, 1);
        try {
            const stalePick = p.pickSemantic(at.x, at.y);
            expect(stalePick.stale).toBeTrue();
            expect(stalePick.classId).toBe(OBJECTS[0].classId); // still answered, from the old map
            // pickSemanticAsync({ refresh }) segments the current view first
            const fresh = p.pickSemanticAsync(at.x, at.y, { refresh: true });
            await stepUntilSettled(s.scene, fresh);
            expect((await fresh).stale).toBeFalse();
        } finally {
            s.camera.position.x -= 0.05;
        }
        // a predicate that refuses the mesh: no semantic hit
        const info = s.scene.pick(at.x * 2, at.y * 2, (m) => m !== s.mesh && !m.name.startsWith(`${s.mesh.name}_cameraMesh`));
        expect(info.hit).toBeFalse();
        expect(info.semantic).toBeUndefined();
    }, SPEC_MS);

    it("never blocks rendering: frames keep coming while a deliberately slow segmentation is in flight", async () => {
        const p = newPipeline({ mode: "continuous" });
        await p.loadModelAsync();
        await segment(p); // compiled and warm
        await sharedClient.debugDelayNext(1500);
        let framesWhileInFlight = 0;
        let sawInFlight = false;
        const ticksBefore = p.stats.ticks;
        // step frames until the slow tick has finished
        for (let i = 0; i < 5000 && p.stats.ticks === ticksBefore; i++) {
            await stepFrames(s.scene, 1);
            if (p.inFlight) {
                sawInFlight = true;
                framesWhileInFlight++;
            }
            await new Promise((r) => setTimeout(r, 1));
        }
        expect(sawInFlight).toBeTrue();
        expect(p.stats.ticks).toBe(ticksBefore + 1);
        // while the one request was in flight, continuous mode started no other and every frame rendered
        expect(framesWhileInFlight).toBeGreaterThan(3);
        expect(p.stats.frames).toBeGreaterThan(framesWhileInFlight);
        expect(p.stats.mainThreadMsPerFrame).toBeGreaterThan(0);
    }, SPEC_MS);

    it("continuous mode: one request in flight at a time, results keep coming with increasing frame numbers", async () => {
        const p = newPipeline({ mode: "continuous" });
        await p.loadModelAsync();
        const frames: number[] = [];
        let maxInFlight = 0;
        p.onSegmentationObservable.add((r) => frames.push(r.frameId));
        for (let i = 0; i < 3000 && frames.length < 3; i++) {
            await stepFrames(s.scene, 1);
            maxInFlight = Math.max(maxInFlight, p.inFlight ? 1 : 0);
            await new Promise((r) => setTimeout(r, 1));
        }
        expect(frames.length).toBe(3);
        for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1]);
        expect(p.stats.ticks).toBe(3);
    }, SPEC_MS);

    it("settle mode: segments once the camera has stood still for settleFrames frames, not again for the same view", async () => {
        const p = newPipeline({ mode: "settle", settleFrames: 3 });
        await p.loadModelAsync();
        let results = 0;
        p.onSegmentationObservable.add(() => results++);
        // moving every frame: no tick
        for (let i = 0; i < 6; i++) {
            s.camera.position.y += 0.01;
            await stepFrames(s.scene, 1);
        }
        expect(p.inFlight).toBeFalse();
        expect(results).toBe(0);
        s.camera.position.y -= 0.06;
        const first = new Promise((resolve) => p.onSegmentationObservable.addOnce(resolve));
        await stepUntilSettled(s.scene, first);
        expect(results).toBe(1);
        await stepFrames(s.scene, 10);
        await new Promise((r) => setTimeout(r, 50));
        expect(p.inFlight).toBeFalse();
        expect(results).withContext("same camera: no second tick").toBe(1);
        expect(p.isStale(p.latestResult!)).toBeFalse();
    }, SPEC_MS);

    it("masks pixels whose coverage alpha is below the threshold as none", async () => {
        const p = newPipeline({ alphaThreshold: 0.999 });
        await p.loadModelAsync();
        const strict = await segment(p);
        const looseP = newPipeline({ alphaThreshold: 0.05 });
        await looseP.loadModelAsync();
        const loose = await segment(looseP);
        let masked = 0;
        for (let i = 0; i < strict.labels.length; i++) {
            expect(strict.labels[i] === NONE).toBe(strict.alpha[i] < 0.999 || loose.labels[i] === NONE);
            if (strict.labels[i] === NONE && loose.labels[i] !== NONE) masked++;
            if (strict.labels[i] === NONE) expect(strict.confidence[i]).toBe(0);
        }
        expect(masked).withContext("pixels with 0.05 <= alpha < 0.999").toBeGreaterThan(0);
    }, SPEC_MS);

    it("draws the overlay in class colours with opacity and a class filter; legend lists the classes present; nothing when off", async () => {
        const p = newPipeline();
        await p.loadModelAsync();
        const before = await renderAndReadCanvas(s.scene);
        await segment(p);
        expect(p.overlay.uploads).withContext("disabled: no texture upload").toBe(0);
        expect(s.scene.layers.length).withContext("disabled: no layer").toBe(0);
        const offFrame = await renderAndReadCanvas(s.scene);
        expect(offFrame).toEqual(before);
        const legend = p.overlay.legend();
        expect(legend.map((e) => e.id).sort((a, b) => a - b)).toEqual(OBJECTS.map((o) => o.classId).sort((a, b) => a - b));
        for (const e of legend) expect(e.color).toEqual(classes.byId(e.id)!.color);
        expect(legend.reduce((sum, e) => sum + e.fraction, 0)).toBeCloseTo(1, 6);

        p.overlay.opacity = 1;
        p.overlay.enabled = true;
        expect(s.scene.layers.length).toBe(1);
        const topLeft = OBJECTS[0];
        const bottomRight = OBJECTS[3];
        const pixelAt = (rgba: Uint8Array, o: typeof topLeft) => {
            const at = projectToCss(s, o.centre, t.canvas);
            const i = 4 * (Math.floor(at.y * 2) * t.engine.getRenderWidth() + Math.floor(at.x * 2));
            return [rgba[i], rgba[i + 1], rgba[i + 2]];
        };
        let shown = await renderAndReadCanvas(s.scene);
        for (let i = 0; i < 20 && pixelAt(shown, topLeft).join() === pixelAt(before, topLeft).join(); i++) shown = await renderAndReadCanvas(s.scene); // layer shader compiles
        expect(pixelAt(shown, topLeft)).toEqual([...classes.byId(topLeft.classId)!.color]);
        expect(pixelAt(shown, bottomRight)).toEqual([...classes.byId(bottomRight.classId)!.color]);
        // the filter hides every class but top-left's: bottom-right shows the render again
        p.overlay.classFilter = [topLeft.classId];
        const filtered = await renderAndReadCanvas(s.scene);
        expect(pixelAt(filtered, topLeft)).toEqual([...classes.byId(topLeft.classId)!.color]);
        expect(pixelAt(filtered, bottomRight)).toEqual(pixelAt(before, bottomRight));
        expect(p.overlay.legend().find((e) => e.id === bottomRight.classId)!.shown).toBeFalse();
        // half opacity blends
        p.overlay.classFilter = null;
        p.overlay.opacity = 0.5;
        const half = pixelAt(await renderAndReadCanvas(s.scene), topLeft);
        const colour = classes.byId(topLeft.classId)!.color;
        const render = pixelAt(before, topLeft);
        for (let c = 0; c < 3; c++) expect(Math.abs(half[c] - (colour[c] + render[c]) / 2)).toBeLessThanOrEqual(3);
        p.overlay.enabled = false;
        expect(s.scene.layers.length).toBe(0);
        expect(await renderAndReadCanvas(s.scene)).toEqual(before);
        expect(() => (p.overlay.opacity = 2)).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT"));
        expectNoWebGPUErrors(t);
    }, SPEC_MS);

    describe("faults", () => {
        it("pick before any segmentation: the documented empty answer, at once", async () => {
            const p = newPipeline();
            const pick = await p.pickSemanticAsync(40, 30);
            expect(pick).toEqual(jasmine.objectContaining({ classId: NONE, className: "none", confidence: 0, pickedPoint: null, mesh: null, empty: "no-map", frameId: -1 }));
            expect(p.pickSemantic(40, 30).empty).toBe("no-map");
            expect(s.scene.pick(80, 60).semantic).toBeUndefined();
            expectCode(await rejection(p.segmentAsync()), "MODEL_NOT_FOUND"); // no model yet
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("pick outside the canvas: the documented empty answer", async () => {
            const p = newPipeline();
            await p.loadModelAsync();
            await segment(p);
            for (const [x, y] of [[-10, 50], [50, -10], [400, 50], [50, 400], [Infinity, 0]]) {
                expect(p.pickSemantic(x, y)).toEqual(jasmine.objectContaining({ classId: NONE, pickedPoint: null, empty: "outside" }));
            }
            expect(s.scene.pick(-5, -5).hit).toBeFalse();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("model 404: MODEL_NOT_FOUND, then a good model works", async () => {
            const p = newPipeline();
            const error = await rejection(p.loadModelAsync({ source: `${FIXTURES}/no-such-model.onnx` }));
            expectCode(error, "MODEL_NOT_FOUND");
            expect(p.model).toBeNull();
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("corrupt and truncated models: MODEL_INVALID, the loaded model keeps working", async () => {
            const p = newPipeline();
            await p.loadModelAsync();
            const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
            expectCode(await rejection(p.loadModelAsync({ source: bytes.slice(0, bytes.byteLength >> 1) })), "MODEL_INVALID");
            expectCode(await rejection(p.loadModelAsync({ source: new Uint8Array(1024).fill(0x7f).buffer })), "MODEL_INVALID");
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("a model with another K than the mesh: FEATURE_MISMATCH naming both", async () => {
            const p = newPipeline();
            const error = await rejection(p.loadModelAsync({ source: `${FIXTURES}/vdvi-fixture-k4.onnx`, manifestUrl: FIXTURE_MANIFEST }));
            expectCode(error, "FEATURE_MISMATCH");
            expect((error as Error).message).toContain("K = 4");
            expect((error as Error).message).toContain("K = 8");
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("a model with wrong input names: MODEL_CONTRACT", async () => {
            const p = newPipeline();
            expectCode(await rejection(p.loadModelAsync({ source: `${FIXTURES}/vdvi-fixture-wrong-inputs.onnx`, manifestUrl: FIXTURE_MANIFEST })), "MODEL_CONTRACT");
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("class table mismatch (model for another table; pipeline given another table): CLASS_TABLE_MISMATCH", async () => {
            const p = newPipeline();
            expectCode(await rejection(p.loadModelAsync({ source: `${FIXTURES}/vdvi-fixture-wrong-table.onnx`, manifestUrl: FIXTURE_MANIFEST })), "CLASS_TABLE_MISMATCH");
            const raw = await (await fetch("/base/models/classes.json")).json();
            const otherTable = ClassTable.fromJSON({ ...raw, version: "another-table/2" });
            const other = newPipeline({ classes: otherTable });
            const error = await rejection(other.loadModelAsync());
            expectCode(error, "CLASS_TABLE_MISMATCH");
            expect((error as Error).message).toContain("another-table/2");
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("worker script 404: WORKER_FAILED instead of hanging; a pipeline with the right worker then works", async () => {
            const broken = newPipeline({ client: undefined, clientOptions: { workerUrl: "/base/build/test/no-such-worker.js", numThreads: 1 } });
            expectCode(await rejection(broken.loadModelAsync()), "WORKER_FAILED");
            expectCode(await rejection(broken.segmentAsync()), "MODEL_NOT_FOUND");
            await stepFrames(s.scene, 2); // rendering goes on
            broken.dispose();
            const p = newPipeline();
            await p.loadModelAsync();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("a worker that throws mid-inference: the tick fails with WORKER_FAILED, then a new worker reloads the model", async () => {
            const p = newPipeline({ client: undefined, clientOptions: { numThreads: 1 } });
            await p.loadModelAsync();
            await segment(p);
            const errors: SemanticSplatError[] = [];
            p.onErrorObservable.add((e) => errors.push(e));
            await p.client.debugFailNext("uncaught");
            const failed = p.segmentAsync();
            await stepUntilSettled(s.scene, failed);
            expectCode(await rejection(failed), "WORKER_FAILED");
            expect(errors.length).toBe(1);
            expect(p.stats.failures).toBe(1);
            expect(p.inFlight).toBeFalse();
            await expectObjectClasses(p);
        }, SPEC_MS);

        it("dispose() while a segmentation is in flight: CANCELLED, worker terminated, GPU objects freed; a new pipeline works", async () => {
            let terminateSpy: jasmine.Spy;
            const cycle = async () => {
                const before = liveGpuObjects();
                const snapshot = snapshotGpuObjects();
                const layersBefore = s.scene.layers.length;
                const p = new SemanticSegmentationPipeline(s.scene, { mesh: s.mesh, classes, model: MODEL, mode: "demand", clientOptions: { numThreads: 1 }, overlay: { enabled: true } });
                await p.loadModelAsync();
                await segment(p); // overlay texture and layer exist now
                expect(s.scene.layers.length).toBe(layersBefore + 1);
                await p.client.debugFailNext("stall");
                const inFlight = p.segmentAsync();
                for (let i = 0; i < 2000 && !p.inFlight; i++) await stepFrames(s.scene, 1);
                await new Promise((r) => setTimeout(r, 300)); // the request reaches the stalled worker
                expect(p.inFlight).toBeTrue();
                const terminated = terminateSpy.calls.count();
                p.dispose();
                expect(terminateSpy.calls.count()).withContext("worker terminated").toBe(terminated + 1);
                expectCode(await rejection(inFlight), "CANCELLED");
                expectCode(await rejection(p.segmentAsync()), "DISPOSED");
                expect(() => p.pickSemantic(1, 1)).toThrowMatching((e) => isSemanticError(e, "DISPOSED"));
                expect(p.client.isDisposed).toBeTrue();
                expect(s.scene.layers.length).toBe(layersBefore);
                expect(Object.prototype.hasOwnProperty.call(s.scene, "pick")).withContext("scene.pick restored").toBeFalse();
                await stepFrames(s.scene, 3);
                await new Promise((r) => setTimeout(r, 100));
                const after = liveGpuObjects();
                const left = gpuObjectsCreatedSince(snapshot);
                return {
                    textures: after.textures - before.textures,
                    texturesLeft: left.textures,
                    pipelineBuffers: left.buffers.filter((label) => !isBabylonEffectUniformBuffer(label)),
                    effectUniformBuffers: left.buffers.filter(isBabylonEffectUniformBuffer).length,
                };
            };
            const terminate = spyOn(Worker.prototype, "terminate").and.callThrough();
            terminateSpy = terminate;
            await cycle(); // warm-up: engine-wide objects made on first use
            const second = await cycle();
            expect(second.textures).withContext("live GPU textures after dispose").toBe(0);
            expect(second.texturesLeft).withContext("GPU textures created by the cycle and still alive").toEqual([]);
            expect(second.pipelineBuffers).withContext("GPU buffers left by the pipeline").toEqual([]);
            // Babylon's own per-effect uniform buffers (see gpuObjectLabels.ts): at most one per effect the pipeline
            // used (the feature pass material, the overlay layer), and nothing else
            expect(second.effectUniformBuffers).toBeLessThanOrEqual(2);
            const p = newPipeline();
            await p.loadModelAsync();
            await expectObjectClasses(p);
            expectNoWebGPUErrors(t);
        }, 2 * SPEC_MS);
    });
});
