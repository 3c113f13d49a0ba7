// The exported tiny encoder (factory/scripts/make_encoder_fixture.py) run in onnxruntime-web's wasm EP in the page,
// on feeds built by src/encoder (TypeScript serialization): its features must equal Python onnxruntime's output for
// the same scene. The worker's encodeScene comes later; this proves the model and the TypeScript half agree.
import * as ort from "onnxruntime-web/webgpu";
import { prepareEncoderInputs, encoderInfoFromMetadata } from "../../src/encoder/inputs";
import { readOnnxModelHeader } from "../../src/worker/onnxProto";

const BASE = "/base/test/fixtures/encoder/";

async function fetchBytes(name: string): Promise<ArrayBuffer> {
    const r = await fetch(BASE + name);
    if (!r.ok) throw new Error(`fetching ${name}: HTTP ${r.status}`);
    return r.arrayBuffer();
}

function toOrtFeeds(feeds: ReturnType<typeof prepareEncoderInputs>): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) out[name] = new ort.Tensor(f.type, f.data, f.dims);
    return out;
}

describe("encoder ONNX in onnxruntime-web (wasm, in the page)", () => {
    let manifest: { count: number; k: number; model: string; scene: string; expected: string };
    let modelBytes: Uint8Array;
    let scene: Float32Array;
    let expected: Float32Array;
    let session: ort.InferenceSession;

    beforeAll(async () => {
        manifest = await (await fetch(BASE + "tiny-encoder.json")).json();
        modelBytes = new Uint8Array(await fetchBytes(manifest.model));
        scene = new Float32Array(await fetchBytes(manifest.scene));
        expected = new Float32Array(await fetchBytes(manifest.expected));
        // One thread: no helper workers to locate; the .wasm is the copy rollup puts next to the test bundle.
        ort.env.wasm.numThreads = 1;
        ort.env.logLevel = "error"; // WebGPU EP: "shape ops assigned to CPU" is a warning, not a failure
        ort.env.wasm.wasmPaths = { wasm: new URL("/base/build/test/ort-wasm-simd-threaded.asyncify.wasm", location.href).href };
        session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
    });

    afterAll(async () => {
        await session?.release();
    });

    it("declares its serialization in metadata, and its inputs are the ones the TypeScript feeds name", () => {
        const header = readOnnxModelHeader(modelBytes, manifest.model);
        const info = encoderInfoFromMetadata(header.metadata, manifest.model);
        expect(info.k).toBe(manifest.k);
        expect(header.opsets[""]).toBeGreaterThanOrEqual(17);
        const feeds = prepareEncoderInputs(scene, manifest.count, info.serialization);
        expect([...session.inputNames].sort()).toEqual(Object.keys(feeds).sort());
        expect(session.outputNames).toEqual(["features"]);
    });

    it("gives the same features as Python onnxruntime (max abs difference <= 1e-4)", async () => {
        const info = encoderInfoFromMetadata(readOnnxModelHeader(modelBytes, manifest.model).metadata, manifest.model);
        expect(scene.length).toBe(manifest.count * 10);
        const result = await session.run(toOrtFeeds(prepareEncoderInputs(scene, manifest.count, info.serialization)));
        const features = result.features;
        expect(features.dims).toEqual([manifest.count, manifest.k]);
        const got = features.data as Float32Array;
        expect(got.length).toBe(expected.length);
        let maxDiff = 0;
        for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
        expect(maxDiff).withContext("max |web - python|").toBeLessThanOrEqual(1e-4);
        for (let n = 0; n < manifest.count; n += 97) {
            let sq = 0;
            for (let c = 0; c < manifest.k; c++) sq += got[n * manifest.k + c] ** 2;
            expect(Math.sqrt(sq)).withContext(`norm of Gaussian ${n}`).toBeCloseTo(1, 4);
        }
    });

    it("runs on another point count (dynamic shapes), and features differ between distinct voxels", async () => {
        const info = encoderInfoFromMetadata(readOnnxModelHeader(modelBytes, manifest.model).metadata, manifest.model);
        const count = 37;
        const result = await session.run(toOrtFeeds(prepareEncoderInputs(scene.subarray(0, count * 10), count, info.serialization)));
        expect(result.features.dims).toEqual([count, manifest.k]);
        const f = result.features.data as Float32Array;
        expect(f.every(Number.isFinite)).toBeTrue();
        let differing = 0;
        for (let c = 0; c < manifest.k; c++) if (Math.abs(f[c] - f[36 * manifest.k + c]) > 1e-3) differing++;
        expect(differing).toBeGreaterThan(0);
    });

    it("runs on the WebGPU EP too, with the same features as wasm (300 Gaussians: SwiftShader is slow)", async () => {
        if (!navigator.gpu || !(await navigator.gpu.requestAdapter())) {
            fail("no WebGPU adapter in this browser (karma.conf.cjs enables SwiftShader's)");
            return;
        }
        const info = encoderInfoFromMetadata(readOnnxModelHeader(modelBytes, manifest.model).metadata, manifest.model);
        const count = 300;
        const feeds = prepareEncoderInputs(scene.subarray(0, count * 10), count, info.serialization);
        const onWasm = (await session.run(toOrtFeeds(feeds))).features.data as Float32Array;
        const gpu = await ort.InferenceSession.create(modelBytes, { executionProviders: ["webgpu"] });
        try {
            const onGpu = (await gpu.run(toOrtFeeds(feeds))).features.data as Float32Array;
            expect(onGpu.length).toBe(onWasm.length);
            let maxDiff = 0;
            for (let i = 0; i < onGpu.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onGpu[i] - onWasm[i]));
            expect(maxDiff).withContext("max |webgpu - wasm|").toBeLessThanOrEqual(1e-3);
        } finally {
            await gpu.release();
        }
    });
});
