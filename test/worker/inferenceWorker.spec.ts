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
    expectSegmentWorks,
    fixtureFrame,
    newClient,
    rejection,
} from "./fixtureInputs";

/** Well under karma's 120 s jasmine timeout: a hang fails the spec, it does not stall the run. */
const WASM_SPEC_MS = 45000;
const WEBGPU_SPEC_MS = 100000;

function expectCode(error: unknown, code: SemanticSplatError["code"]): void {
    expect(error).toBeInstanceOf(SemanticSplatError);
    expect(isSemanticError(error, code)).withContext(`${String(error)}`).toBeTrue();
}

describe("inference worker", () => {
    let client: InferenceClient | null = null;
    afterEach(() => {
        client?.dispose();
        client = null;
    });

    it("runs the fixture under the wasm EP with transferred buffers, progress and stage timings", async () => {
        client = newClient();
        const init = await client.init();
        expect(init.crossOriginIsolated).toBeTrue(); // karma sends COOP/COEP
        expect(init.numThreads).toBe(2);
        const progress: LoadProgress[] = [];
        const info = await client.loadModel(FIXTURE_REQUEST, (p) => progress.push(p));
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
        const result = await client.segment(rgb, features, 64, 32);
        expect(rgb.byteLength).withContext("rgb was transferred, not copied").toBe(0);
        expect(features.byteLength).withContext("features were transferred, not copied").toBe(0);
        expect(result.width).toBe(64);
        expect(result.height).toBe(32);
        expect(result.labels).toBeInstanceOf(Uint8Array);
        expect(result.labels).toEqual(frame.expectedLabels);
        expect(Math.min(...result.confidence)).toBeGreaterThan(0.99);
        expect(Math.max(...result.confidence)).toBeLessThanOrEqual(1);
        for (const ms of Object.values(result.timings)) expect(ms).toBeGreaterThanOrEqual(0);
    }, WASM_SPEC_MS);

    it("returns identical labels under the WebGPU EP and the wasm EP", async () => {
        const frame = fixtureFrame(32, 32);
        const runOn = async (executionProvider: "wasm" | "webgpu") => {
            const c = newClient();
            try {
                const info = await c.loadModel({ ...FIXTURE_REQUEST, executionProvider });
                expect(info.executionProvider).toBe(executionProvider);
                const input = fixtureFrame(32, 32);
                return await c.segment(input.rgb, input.features, 32, 32);
            } finally {
                c.dispose();
            }
        };
        const wasm = await runOn("wasm");
        const webgpu = await runOn("webgpu");
        expect(webgpu.labels).toEqual(frame.expectedLabels);
        expect(webgpu.labels).toEqual(wasm.labels);
        for (let i = 0; i < wasm.confidence.length; i++) {
            expect(Math.abs(webgpu.confidence[i] - wasm.confidence[i])).toBeLessThan(1e-4);
        }
    }, WEBGPU_SPEC_MS);

    it("picks WebGPU on 'auto' when the worker sees an adapter", async () => {
        client = newClient({ executionProvider: "auto" });
        const init = await client.init();
        const info = await client.loadModel({ ...FIXTURE_REQUEST, executionProvider: undefined });
        expect(info.executionProvider).toBe(init.webgpuAdapter ? "webgpu" : "wasm");
    }, WASM_SPEC_MS);

    it("loads from an ArrayBuffer checked against the manifest by name", async () => {
        client = newClient();
        const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
        const progress: LoadProgress[] = [];
        const info = await client.loadModel(
            { ...FIXTURE_REQUEST, source: bytes, manifestName: "vdvi-fixture.onnx" },
            (p) => progress.push(p)
        );
        expect(bytes.byteLength).withContext("a model buffer is copied, the caller keeps it").toBe(info.bytes);
        expect(progress).toEqual([{ loaded: info.bytes, total: info.bytes }]);
        await expectSegmentWorks(client);
    }, WASM_SPEC_MS);

    it("rejects segment() before any model is loaded, and inputs of the wrong size", async () => {
        client = newClient();
        expectCode(await rejection(client.segment(new Float32Array(3 * 1024), new Float32Array(8 * 1024), 32, 32)), "MODEL_NOT_FOUND");
        await client.loadModel(FIXTURE_REQUEST);
        expectCode(await rejection(client.segment(new Float32Array(3 * 1024), new Float32Array(4 * 1024), 32, 32)), "INVALID_ARGUMENT");
        expectCode(await rejection(client.segment(new Float32Array(3 * 20 * 20), new Float32Array(8 * 20 * 20), 20, 20)), "INVALID_ARGUMENT");
        await expectSegmentWorks(client);
    }, WASM_SPEC_MS);

    describe("faults", () => {
        it("model 404: MODEL_NOT_FOUND, and the loaded model keeps working", async () => {
            client = newClient();
            await client.loadModel(FIXTURE_REQUEST);
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/no-such-model.onnx`, manifestUrl: undefined }));
            expectCode(error, "MODEL_NOT_FOUND");
            expect((error as Error).message).toContain("404");
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("truncated model: MODEL_INVALID", async () => {
            client = newClient();
            const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
            const truncated = bytes.slice(0, Math.floor(bytes.byteLength / 2));
            expectCode(await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: truncated, manifestUrl: undefined })), "MODEL_INVALID");
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("corrupt model (not protobuf): MODEL_INVALID", async () => {
            client = newClient();
            const garbage = new Uint8Array(2048).fill(0xff).buffer;
            expectCode(await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: garbage, manifestUrl: undefined })), "MODEL_INVALID");
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("checksum mismatch against the manifest and against a given sha256: MODEL_INVALID", async () => {
            client = newClient();
            const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
            // The right bytes under another manifest entry's name: size and digest differ.
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "vdvi-fixture-k4.onnx" }));
            expectCode(error, "MODEL_INVALID");
            const wrongDigest = "0".repeat(64);
            const error2 = await rejection(client.loadModel({ ...FIXTURE_REQUEST, manifestUrl: undefined, sha256: wrongDigest }));
            expectCode(error2, "MODEL_INVALID");
            expect((error2 as Error).message).toContain("SHA-256");
            const unlisted = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: bytes, manifestName: "not-in-manifest.onnx" }));
            expectCode(unlisted, "MODEL_INVALID");
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("wrong input names: MODEL_CONTRACT naming the inputs", async () => {
            client = newClient();
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-wrong-inputs.onnx` }));
            expectCode(error, "MODEL_CONTRACT");
            expect((error as Error).message).toContain("image");
            expect((error as SemanticSplatError).fileName).toContain("vdvi-fixture-wrong-inputs.onnx");
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("wrong K: FEATURE_MISMATCH with both numbers", async () => {
            client = newClient();
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-k4.onnx` }));
            expectCode(error, "FEATURE_MISMATCH");
            expect((error as Error).message).toContain("K = 4");
            expect((error as Error).message).toContain("K = 8");
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("class table mismatch: CLASS_TABLE_MISMATCH with both versions", async () => {
            client = newClient();
            const error = await rejection(client.loadModel({ ...FIXTURE_REQUEST, source: `${FIXTURES}/vdvi-fixture-wrong-table.onnx` }));
            expectCode(error, "CLASS_TABLE_MISMATCH");
            expect((error as Error).message).toContain(CLASS_TABLE_VERSION);
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("worker script 404: WORKER_FAILED on every call, a correct client works", async () => {
            const broken = newClient({ workerUrl: "/base/build/test/no-such-worker.js" });
            try {
                expectCode(await rejection(broken.init()), "WORKER_FAILED");
                // the next use starts a new worker, which fails the same way instead of hanging
                expectCode(await rejection(broken.loadModel(FIXTURE_REQUEST)), "WORKER_FAILED");
            } finally {
                broken.dispose();
            }
            client = newClient();
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("a worker that never answers init: WORKER_TIMEOUT", async () => {
            const silentSource = URL.createObjectURL(new Blob(["// loads, never answers\n"], { type: "text/javascript" }));
            const silent = newClient({ workerUrl: silentSource, initTimeoutMs: 300 });
            try {
                expectCode(await rejection(silent.init()), "WORKER_TIMEOUT");
            } finally {
                silent.dispose();
                URL.revokeObjectURL(silentSource);
            }
        }, WASM_SPEC_MS);

        it("a worker that crashes mid-inference: WORKER_FAILED, then a new worker reloads the model", async () => {
            client = newClient();
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("uncaught");
            const frame = fixtureFrame(32, 32);
            const error = await rejection(client.segment(frame.rgb, frame.features, 32, 32));
            expectCode(error, "WORKER_FAILED");
            expect((error as Error).message).toContain("crashed mid-inference");
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("a worker that closes itself mid-inference: WORKER_TIMEOUT, then a new worker works", async () => {
            client = newClient({ callTimeoutMs: 8000 });
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("close");
            const frame = fixtureFrame(32, 32);
            expectCode(await rejection(client.segment(frame.rgb, frame.features, 32, 32)), "WORKER_TIMEOUT");
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("a run that fails inside onnxruntime: INFERENCE_FAILED, and the same worker goes on", async () => {
            client = newClient();
            await client.loadModel(FIXTURE_REQUEST);
            await client.debugFailNext("reject");
            const frame = fixtureFrame(32, 32);
            expectCode(await rejection(client.segment(frame.rgb, frame.features, 32, 32)), "INFERENCE_FAILED");
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);

        it("dispose() while segment() is in flight: CANCELLED, then DISPOSED; a new client works", async () => {
            const disposing = newClient();
            await disposing.loadModel(FIXTURE_REQUEST);
            const frame = fixtureFrame(256, 256);
            const inFlight = disposing.segment(frame.rgb, frame.features, 256, 256);
            disposing.dispose();
            expectCode(await rejection(inFlight), "CANCELLED");
            const again = fixtureFrame(32, 32);
            expectCode(await rejection(disposing.segment(again.rgb, again.features, 32, 32)), "DISPOSED");
            expect(disposing.isDisposed).toBeTrue();
            client = newClient();
            await client.loadModel(FIXTURE_REQUEST);
            await expectSegmentWorks(client);
        }, WASM_SPEC_MS);
    });
});

describe("inference worker manifest", () => {
    it("lists every fixture with a digest that matches its bytes", async () => {
        const manifest = await (await fetch(FIXTURE_MANIFEST)).json();
        expect(manifest.models.length).toBe(4);
        for (const entry of manifest.models) {
            const bytes = await (await fetch(`${FIXTURES}/${entry.file}`)).arrayBuffer();
            const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
            expect(digest).withContext(entry.file).toBe(entry.sha256);
        }
    });
});
