// The inference worker end to end in Chromium: the fixture model under the wasm and WebGPU execution providers,
// progress events, and every fault ending in a typed SemanticSplatError with nothing left hanging.
import { SemanticSplatError, isSemanticError } from "../../src/errors";
import type { InferenceClient } from "../../src/inference/InferenceClient";
import type { LoadProgress } from "../../src/worker/protocol";
import {
    CLASS_TABLE_VERSION,
    FIXTURES,
    FIXTURE_MANIFEST,
    FIXTURE_REQUEST,
    FIXTURE_URL,
    K,
    RGB_CLASS,
    RGB_FIXTURE_REQUEST,
    RGB_FIXTURE_URL,
    dominantColourClass,
    expectSegmentWorks,
    fixtureFrame,
    newClient,
    rejection,
} from "./fixtureInputs";

/** Well under karma's 120 s jasmine timeout: a hang fails the spec, it does not stall the run. The machine that
 *  runs these is small and shared, and every fresh worker compiles onnxruntime's wasm again: hence the margins. */
const SPEC_MS = 60000;
const FRESH_WORKER_SPEC_MS = 100000;

function expectCode(error: unknown, code: SemanticSplatError["code"]): void {
    expect(error).toBeInstanceOf(SemanticSplatError);
    expect(isSemanticError(error, code)).withContext(`${String(error)}`).toBeTrue();
}

describe("inference worker", () => {
    // One client (one worker, 2 wasm threads) for every spec that leaves the worker alive: each spec ends with the
    // fixture loaded and working, so the next starts from the same state.
    let shared: InferenceClient;
    beforeAll(() => {
        shared = newClient();
    });
    afterAll(() => shared.dispose());

    it("runs the fixture under the wasm EP with transferred buffers, progress and stage timings", async () => {
        const init = await shared.init();
        expect(init.crossOriginIsolated).toBeTrue(); // karma sends COOP/COEP
        expect(init.numThreads).toBe(2);
        const progress: LoadProgress[] = [];
        const info = await shared.loadModel(FIXTURE_REQUEST, (p) => progress.push(p));
        expect(info.executionProvider).toBe("wasm");
        expect(info.k).toBe(K);
        expect(info.classTableVersion).toBe(CLASS_TABLE_VERSION);
        expect(info.sizeMultiple).toBe(32);
        expect(info.inputNames.sort()).toEqual(["features", "rgb"]);
        expect(progress.length).toBeGreaterThan(0);
        const last = progress[progress.length - 1];
        expect(last.loaded).toBe(info.bytes);
        expect(last.total).toBe(info.bytes);
        for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);

        const frame = fixtureFrame(64, 32);
        const { rgb, features } = frame;
        const result = await shared.segment(rgb, features, 64, 32);
        expect(rgb.byteLength).withContext("rgb was transferred, not copied").toBe(0);
        expect(features.byteLength).withContext("features were transferred, not copied").toBe(0);
        expect(result.width).toBe(64);
        expect(result.height).toBe(32);
        expect(result.labels).toBeInstanceOf(Uint8Array);
        expect(result.labels).toEqual(frame.expectedLabels);
        expect(Math.min(...result.confidence)).toBeGreaterThan(0.99);
        expect(Math.max(...result.confidence)).toBeLessThanOrEqual(1);
        for (const ms of Object.values(result.timings)) expect(ms).toBeGreaterThanOrEqual(0);
    }, FRESH_WORKER_SPEC_MS);

    it("returns identical labels under the WebGPU EP and the wasm EP; 'auto' picks wasm on SwiftShader and says why", async () => {
        const runOn = async (executionProvider: "wasm" | "webgpu" | "auto") => {
            const info = await shared.loadModel({ ...FIXTURE_REQUEST, executionProvider });
            const input = fixtureFrame(32, 32);
            return { info, result: await shared.segment(input.rgb, input.features, 32, 32) };
        };
        const expected = fixtureFrame(32, 32).expectedLabels;
        const wasm = await runOn("wasm");
        const webgpu = await runOn("webgpu");
        expect(wasm.info.executionProvider).toBe("wasm");
        expect(webgpu.info.executionProvider).toBe("webgpu");
        expect(webgpu.result.labels).toEqual(expected);
        expect(webgpu.result.labels).toEqual(wasm.result.labels);
        for (let i = 0; i < wasm.result.confidence.length; i++) {
            expect(Math.abs(webgpu.result.confidence[i] - wasm.result.confidence[i])).toBeLessThan(1e-4);
        }
        const init = await shared.init();
        expect(init.webgpuAdapter).toBeTrue(); // SwiftShader offers one here
        expect(init.adapterProblem).toBeNull();
        expect(init.softwareAdapter).withContext(JSON.stringify(init.adapter)).toBeTrue(); // ... and it is a software one
        expect(`${init.adapter!.vendor} ${init.adapter!.architecture} ${init.adapter!.description}`.toLowerCase()).toContain("swiftshader");
        const auto = await runOn("auto");
        expect(auto.info.executionProvider).toBe("wasm");
        expect(auto.info.executionProviderReason).toMatch(/^auto: wasm, the WebGPU adapter is a software one \(.*swiftshader/i);
        expect(webgpu.info.executionProviderReason).toContain('"webgpu" was asked for');
        expect(auto.result.labels).toEqual(expected);
        await shared.loadModel(FIXTURE_REQUEST); // back to wasm for the next specs
    }, FRESH_WORKER_SPEC_MS);

    it("accepts rgb and features that are views of one buffer", async () => {
        const frame = fixtureFrame(32, 32);
        const packed = new Float32Array(frame.rgb.length + frame.features.length);
        packed.set(frame.rgb);
        packed.set(frame.features, frame.rgb.length);
        const rgb = packed.subarray(0, frame.rgb.length);
        const features = packed.subarray(frame.rgb.length);
        const result = await shared.segment(rgb, features, 32, 32);
        expect(packed.byteLength).withContext("the shared buffer was transferred once").toBe(0);
        expect(result.labels).toEqual(frame.expectedLabels);
    }, SPEC_MS);

    it("loads from an ArrayBuffer checked against the manifest by name", async () => {
        const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
        const progress: LoadProgress[] = [];
        const info = await shared.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "vdvi-fixture.onnx" }, (p) => progress.push(p));
        expect(bytes.byteLength).withContext("a model buffer is copied, the caller keeps it").toBe(info.bytes);
        expect(progress).toEqual([{ loaded: info.bytes, total: info.bytes }]);
        await expectSegmentWorks(shared);
    }, SPEC_MS);

    it("runs a loaded model through the generic run() (the encoder's path) with named tensors", async () => {
        const frame = fixtureFrame(32, 32);
        const outputs = await shared.run("vdvi", {
            rgb: { type: "float32", dims: [1, 3, 32, 32], data: frame.rgb },
            features: { type: "float32", dims: [1, K, 32, 32], data: frame.features },
        });
        expect(Object.keys(outputs).sort()).toEqual(["confidence", "labels"]);
        expect(outputs.labels.type).toBe("uint8");
        expect(outputs.labels.dims).toEqual([1, 32, 32]);
        expect(outputs.labels.data).toEqual(frame.expectedLabels);
        expect(frame.rgb.byteLength).withContext("feeds are transferred").toBe(0);
        const noInput = await rejection(shared.run("vdvi", { image: { type: "float32", dims: [1], data: new Float32Array(1) } }));
        expectCode(noInput, "INVALID_ARGUMENT");
        // no encoder loaded on this client; and a vdvi file cannot be loaded as the encoder
        expectCode(await rejection(shared.run("encoder", {})), "MODEL_NOT_FOUND");
        expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, kind: "encoder", manifestUrl: undefined })), "MODEL_CONTRACT");
        await expectSegmentWorks(shared);
    }, SPEC_MS);

    it("refuses a model past maxModelBytes in the worker (BUDGET_EXCEEDED across the boundary); the loaded model stays in use", async () => {
        const tooBig = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, manifestUrl: undefined, maxModelBytes: 100 }));
        expectCode(tooBig, "BUDGET_EXCEEDED");
        expect((tooBig as Error).message).toMatch(/maxModelBytes budget of 100 bytes/);
        const bytes = await (await fetch(FIXTURE_REQUEST.source as string)).arrayBuffer();
        expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "vdvi-fixture.onnx", maxModelBytes: 100 })), "BUDGET_EXCEEDED");
        await expectSegmentWorks(shared);
    }, SPEC_MS);

    it("holds the RGB-only fallback (vdvi-rgb, one input) beside the full model and runs it on rgb alone", async () => {
        const info = await shared.loadModel(RGB_FIXTURE_REQUEST);
        expect(info.kind).toBe("vdvi-rgb");
        expect(info.k).toBe(0);
        expect(info.inputNames).toEqual(["rgb"]);
        expect(info.classTableVersion).toBe(CLASS_TABLE_VERSION);
        // stripes dominated by red, green and blue in turn
        const width = 32;
        const height = 32;
        const pixels = width * height;
        const rgb = new Float32Array(3 * pixels);
        const expected = new Uint8Array(pixels);
        for (let p = 0; p < pixels; p++) {
            const colour = [0.2, 0.3, 0.25];
            colour[Math.floor(p / width / 4) % 3] = 0.9;
            for (let j = 0; j < 3; j++) rgb[j * pixels + p] = colour[j];
            expected[p] = dominantColourClass(colour);
        }
        const rgbForSegment = rgb.slice(); // run() transfers (detaches) its input
        const outputs = await shared.run("vdvi-rgb", { rgb: { type: "float32", dims: [1, 3, height, width], data: rgb } });
        expect(outputs.labels.data).toEqual(expected);
        expect(new Set(expected)).toEqual(new Set(RGB_CLASS));
        // segment() with model "vdvi-rgb" runs the same fallback and says so; it reads no features
        const segmented = await shared.segment(rgbForSegment.slice(), new Float32Array(0), width, height, "vdvi-rgb");
        expect(segmented.modelKind).toBe("vdvi-rgb");
        expect(segmented.labels).toEqual(expected);
        // the full model is still there and answers as before
        await expectSegmentWorks(shared);
        // each file is refused as the other kind: by the manifest entry's kind, and by the model's own metadata
        expectCode(await rejection(shared.loadModel({ ...RGB_FIXTURE_REQUEST, kind: "vdvi" })), "MODEL_CONTRACT");
        expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, kind: "vdvi-rgb", manifestUrl: undefined })), "MODEL_CONTRACT");
        expect((await shared.modelInfo("vdvi-rgb"))?.name).withContext("a failed load keeps the loaded fallback").toBe(new URL(RGB_FIXTURE_URL, document.baseURI).href); // the client resolves URLs against the page
        await expectSegmentWorks(shared);
        await shared.unloadModel("vdvi-rgb");
    }, SPEC_MS);

    it("unloads a model: segment() is MODEL_NOT_FOUND until the next loadModel()", async () => {
        await shared.unloadModel("vdvi");
        const frame = fixtureFrame(32, 32);
        expectCode(await rejection(shared.segment(frame.rgb, frame.features, 32, 32)), "MODEL_NOT_FOUND");
        await shared.loadModel(FIXTURE_REQUEST);
        await expectSegmentWorks(shared);
    }, SPEC_MS);

    it("answers a deliberately slow segment() later, without blocking this thread", async () => {
        await shared.debugDelayNext(1000);
        const frame = fixtureFrame(32, 32);
        let answered = false;
        const pending = shared.segment(frame.rgb, frame.features, 32, 32).then((result) => ((answered = true), result));
        // This thread goes on with its own work while the worker waits: a timer set now fires before the answer
        // (asserted as an order of events, not as a duration).
        const answeredWhenTimerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(answered), 0));
        expect(answeredWhenTimerFired).withContext("the answer came before this thread's own timer").toBeFalse();
        const result = await pending;
        expect(answered).toBeTrue();
        expect(result.labels).toEqual(frame.expectedLabels);
    }, SPEC_MS);

    it("rejects inputs of the wrong size with INVALID_ARGUMENT", async () => {
        expectCode(await rejection(shared.segment(new Float32Array(3 * 1024), new Float32Array(4 * 1024), 32, 32)), "INVALID_ARGUMENT");
        expectCode(await rejection(shared.segment(new Float32Array(3 * 20 * 20), new Float32Array(8 * 20 * 20), 20, 20)), "INVALID_ARGUMENT");
        await expectSegmentWorks(shared);
    }, SPEC_MS);

    it("rejects segment() before any model is loaded with MODEL_NOT_FOUND", async () => {
        const empty = newClient();
        try {
            expectCode(await rejection(empty.segment(new Float32Array(3 * 1024), new Float32Array(8 * 1024), 32, 32)), "MODEL_NOT_FOUND");
        } finally {
            empty.dispose();
        }
    }, SPEC_MS);

    describe("faults that leave the worker alive", () => {
        it("model 404: MODEL_NOT_FOUND, and the loaded model keeps working", async () => {
            const error = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/no-such-model.onnx`, manifestUrl: undefined }));
            expectCode(error, "MODEL_NOT_FOUND");
            expect((error as Error).message).toContain("404");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("truncated model: MODEL_INVALID", async () => {
            const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
            const truncated = bytes.slice(0, Math.floor(bytes.byteLength / 2));
            expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: truncated, manifestUrl: undefined })), "MODEL_INVALID");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("corrupt model (not protobuf): MODEL_INVALID", async () => {
            const garbage = new Uint8Array(2048).fill(0xff).buffer;
            expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: garbage, manifestUrl: undefined })), "MODEL_INVALID");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("checksum mismatch against the manifest and against a given sha256: MODEL_INVALID", async () => {
            const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
            // The right bytes under another manifest entry's name: size and digest differ.
            expectCode(await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "vdvi-fixture-k4.onnx" })), "MODEL_INVALID");
            const wrongDigest = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, manifestUrl: undefined, sha256: "0".repeat(64) }));
            expectCode(wrongDigest, "MODEL_INVALID");
            expect((wrongDigest as Error).message).toContain("SHA-256");
            const unlisted = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "not-in-manifest.onnx" }));
            expectCode(unlisted, "MODEL_INVALID");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("wrong input names: MODEL_CONTRACT naming the inputs", async () => {
            const error = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-wrong-inputs.onnx` }));
            expectCode(error, "MODEL_CONTRACT");
            expect((error as Error).message).toContain("image");
            expect((error as SemanticSplatError).fileName).toContain("vdvi-fixture-wrong-inputs.onnx");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("wrong K: FEATURE_MISMATCH with both numbers", async () => {
            const error = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-k4.onnx` }));
            expectCode(error, "FEATURE_MISMATCH");
            expect((error as Error).message).toContain("K = 4");
            expect((error as Error).message).toContain("K = 8");
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("class table mismatch: CLASS_TABLE_MISMATCH with both versions", async () => {
            const error = await rejection(shared.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-wrong-table.onnx` }));
            expectCode(error, "CLASS_TABLE_MISMATCH");
            expect((error as Error).message).toContain(CLASS_TABLE_VERSION);
            await expectSegmentWorks(shared);
        }, SPEC_MS);

        it("a run that fails inside onnxruntime: INFERENCE_FAILED, and the same worker goes on", async () => {
            await shared.debugFailNext("reject");
            const frame = fixtureFrame(32, 32);
            expectCode(await rejection(shared.segment(frame.rgb, frame.features, 32, 32)), "INFERENCE_FAILED");
            await expectSegmentWorks(shared);
        }, SPEC_MS);
    });

    describe("faults that end the worker", () => {
        // Fresh clients with one wasm thread: lighter to start on a busy machine (threads are covered above).
        let client: InferenceClient | null = null;
        afterEach(() => {
            client?.dispose();
            client = null;
        });

        it("worker script 404: WORKER_FAILED on every call, instead of hanging", async () => {
            client = newClient({ workerUrl: "/base/build/test/no-such-worker.js", numThreads: 1 });
            expectCode(await rejection(client.init()), "WORKER_FAILED");
            // the next use starts a new worker, which fails the same way
            expectCode(await rejection(client.loadModel(FIXTURE_REQUEST)), "WORKER_FAILED");
        }, SPEC_MS);

        it("a worker that never answers init: WORKER_TIMEOUT", async () => {
            const silentSource = URL.createObjectURL(new Blob(["// loads, never answers\n"], { type: "text/javascript" }));
            client = newClient({ workerUrl: silentSource, initTimeoutMs: 300 });
            try {
                expectCode(await rejection(client.init()), "WORKER_TIMEOUT");
            } finally {
                URL.revokeObjectURL(silentSource);
            }
        }, SPEC_MS);

        it("wasm binary URL: an explicit one works; a wrong one is WORKER_FAILED, not a model error", async () => {
            // the test build copies it next to the spec bundle and the worker (rollup.config.mjs)
            const wasmUrl = new URL("./ort-wasm-simd-threaded.asyncify.wasm", import.meta.url).href;
            client = newClient({ numThreads: 1, wasmUrl });
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
            client.dispose();
            client = newClient({ numThreads: 1, wasmUrl: new URL("./no-such-runtime.wasm", import.meta.url).href });
            const error = await rejection(client.loadModel(FIXTURE_REQUEST));
            expectCode(error, "WORKER_FAILED");
            expect((error as Error).message).toContain("no-such-runtime.wasm");
        }, FRESH_WORKER_SPEC_MS);

        it("model, manifest and wasm URLs relative to the page are resolved against the page, not the worker script", async () => {
            // The page is karma's context.html at the server root; the worker script is /base/build/test/worker.js, so
            // these relative URLs would 404 if the worker resolved them (issue 15: "models/manifest.json" became
            // /build/models/manifest.json).
            client = newClient({ numThreads: 1, wasmUrl: "base/build/test/ort-wasm-simd-threaded.asyncify.wasm" });
            const info = await client.loadModel({ ...FIXTURE_REQUEST, source: "base/test/fixtures/models/vdvi-fixture.onnx", manifestUrl: "base/test/fixtures/models/manifest.json" });
            expect(info.name).toBe(new URL("base/test/fixtures/models/vdvi-fixture.onnx", document.baseURI).href);
            await expectSegmentWorks(client);
            client.dispose();
            client = newClient({ numThreads: 1 });
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: "base/test/fixtures/models/no-such.onnx", manifestUrl: undefined }));
            expectCode(error, "MODEL_NOT_FOUND");
            // the error names the URL that was tried, absolute
            expect((error as Error).message).toContain(new URL("base/test/fixtures/models/no-such.onnx", document.baseURI).href);
        }, FRESH_WORKER_SPEC_MS);

        it("a worker that crashes mid-inference: WORKER_FAILED, then a new worker reloads the model", async () => {
            client = newClient({ numThreads: 1 });
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("uncaught");
            const frame = fixtureFrame(32, 32);
            const error = await rejection(client.segment(frame.rgb, frame.features, 32, 32));
            expectCode(error, "WORKER_FAILED");
            expect((error as Error).message).toContain("crashed mid-inference");
            await expectSegmentWorks(client);
        }, FRESH_WORKER_SPEC_MS);

        it("a worker that closes itself mid-inference: WORKER_TIMEOUT, then a new worker works", async () => {
            client = newClient({ numThreads: 1, callTimeoutMs: 8000 });
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("close");
            const frame = fixtureFrame(32, 32);
            expectCode(await rejection(client.segment(frame.rgb, frame.features, 32, 32)), "WORKER_TIMEOUT");
            await expectSegmentWorks(client);
        }, FRESH_WORKER_SPEC_MS);

        it("dispose() while the worker is inside segment(): CANCELLED at once, the worker terminated", async () => {
            client = newClient({ numThreads: 1 });
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("stall");
            const frame = fixtureFrame(32, 32);
            let settled = false;
            const inFlight = client.segment(frame.rgb, frame.features, 32, 32).finally(() => (settled = true));
            await new Promise((resolve) => setTimeout(resolve, 300)); // the request reaches the stalled worker
            expect(settled).toBeFalse();
            client.dispose();
            expectCode(await rejection(inFlight), "CANCELLED");
        }, FRESH_WORKER_SPEC_MS);

        it("disposeAndWait(): the worker holds its life lock while it lives, and the lock is free once it has ended", async () => {
            client = newClient({ numThreads: 1 });
            await client.loadModel(FIXTURE_REQUEST);
            const ours = async () => ((await navigator.locks.query()).held ?? []).map((l) => l.name).filter((n) => n?.startsWith("semantic-splat-inference-"));
            const before = await ours();
            expect(before.length).toBeGreaterThan(0); // the shared client's worker and this one
            const stalled = newClient({ numThreads: 1 });
            await stalled.init();
            const withStalled = await ours();
            const lock = withStalled.find((n) => !before.includes(n))!;
            expect(lock).toBeDefined();
            await stalled.disposeAndWait();
            expect(await ours()).not.toContain(lock);
            expect(stalled.isDisposed).toBeTrue();
            await client.disposeAndWait(); // twice, and on a client that ended: at once
            await client.disposeAndWait();
            expect((await ours()).length).toBe(before.length - 1);
        }, FRESH_WORKER_SPEC_MS);

        it("dispose() while segment() is in flight: CANCELLED, then DISPOSED", async () => {
            client = newClient({ numThreads: 1 });
            await client.loadModel(FIXTURE_REQUEST);
            const frame = fixtureFrame(256, 256);
            const inFlight = client.segment(frame.rgb, frame.features, 256, 256);
            client.dispose();
            expectCode(await rejection(inFlight), "CANCELLED");
            const again = fixtureFrame(32, 32);
            expectCode(await rejection(client.segment(again.rgb, again.features, 32, 32)), "DISPOSED");
            expectCode(await rejection(client.loadModel(FIXTURE_REQUEST)), "DISPOSED");
            expect(client.isDisposed).toBeTrue();
            // a new client works afterwards: the shared client's specs above, and this
            client = newClient({ numThreads: 1 });
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, FRESH_WORKER_SPEC_MS);
    });
});

describe("inference worker manifest", () => {
    it("lists every fixture with a digest that matches its bytes", async () => {
        const manifest = await (await fetch(FIXTURE_MANIFEST)).json();
        expect(manifest.models.map((m: { kind: string }) => m.kind)).toEqual(["vdvi", "vdvi", "vdvi", "vdvi", "vdvi-rgb"]);
        for (const entry of manifest.models) {
            const bytes = await (await fetch(`${FIXTURES}/${entry.file}`)).arrayBuffer();
            const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
            expect(digest).withContext(entry.file).toBe(entry.sha256);
        }
    });
});
