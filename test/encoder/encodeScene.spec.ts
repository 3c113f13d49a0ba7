// encodeScene in the inference worker (onnxruntime-web, wasm): the golden parity scene loaded by Babylon and
// encoded in the worker equals what the Node command (onnxruntime-node) wrote for the same file
// (test/fixtures/encoder/parity-scene-features.f32, made by test/bin/makeEncodeFixture.mjs); progress stages;
// bad scenes -> typed errors through the worker; cancellation -> CANCELLED with the worker still usable; a mesh
// whose file has no features encodes itself (autoEncode) unless told not to.
import { Scene } from "@babylonjs/core/scene";
import { useEncoderScene } from "../support/encoderScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { isSemanticError } from "../../src/errors";
import { halfArrayToFloat32 } from "../../src/util/half";
import { writeSemanticPly } from "../../src/formats";
import type { EncodeProgress } from "../../src/encoder/encodeScene";
import { SPLAT_ROW_BYTES } from "../../src/encoder/sceneChannels";

const MODEL_URL = "/base/test/fixtures/encoder/tiny-encoder.onnx";
const SCENE_URL = "/base/test/golden/parity/scene.ply";
const EXPECTED_URL = "/base/test/fixtures/encoder/parity-scene-features.f32";
const K = 16;

async function fetchBytes(url: string): Promise<ArrayBuffer> {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`fetching ${url}: HTTP ${r.status}`);
    return r.arrayBuffer();
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    return worst;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    throw new Error("expected a rejection, but the promise resolved");
}

/** `count` splat rows on a grid `spacing` apart (Babylon's 32-byte layout), with `tweak` for bad values. */
function splatRows(count: number, spacing: number, tweak?: (i: number, f32: Float32Array) => void): Uint8Array {
    const bytes = new Uint8Array(count * SPLAT_ROW_BYTES);
    const f32 = new Float32Array(bytes.buffer);
    for (let i = 0; i < count; i++) {
        const o = (i * SPLAT_ROW_BYTES) / 4;
        f32[o] = (i % 10) * spacing;
        f32[o + 1] = Math.floor(i / 10) * spacing;
        f32[o + 2] = 0;
        f32[o + 3] = f32[o + 4] = f32[o + 5] = 0.02;
        bytes.set([200, 100, 50, 255, 255, 128, 128, 128], i * SPLAT_ROW_BYTES + 24);
        tweak?.(i, f32);
    }
    return bytes;
}

describe("encodeScene in the inference worker", () => {
    let scene: Scene;
    let client: InferenceClient;
    let expected: Float32Array;

    beforeAll(async () => {
        expected = new Float32Array(await fetchBytes(EXPECTED_URL));
    });
    useEncoderScene(MODEL_URL, (c) => (client = c), (s) => (scene = s));

    async function loadParityScene(options = {}): Promise<SemanticGaussianSplattingMesh> {
        return SemanticGaussianSplattingMesh.LoadAsync(SCENE_URL, scene, options);
    }

    /** The parity scene without its own f_sem_* (the golden file carries K = 8 features): a file to encode. */
    async function loadParitySceneWithoutFeatures(options = {}): Promise<SemanticGaussianSplattingMesh> {
        const bare = writeSemanticPly(await fetchBytes(SCENE_URL), "scene.ply", { features: null });
        return SemanticGaussianSplattingMesh.LoadAsync({ data: bare, fileName: "bare.ply" }, scene, options);
    }

    it("equals the Node command's features for the same file (max abs difference < 1e-4), with progress in stage order", async () => {
        const mesh = await loadParityScene();
        const rows = mesh.splatsData as ArrayBuffer;
        const progress: EncodeProgress[] = [];
        const result = await client.encodeScene(
            { splats: new Uint8Array(rows).slice(), worldMatrix: Array.from(mesh.computeWorldMatrix(true).m), outputPrecision: "float32" },
            { onProgress: (p) => progress.push(p) }
        );
        expect(result.count).toBe(2025);
        expect(result.k).toBe(K);
        expect(result.precision).toBe("float32");
        expect(result.encoderId).toBe("rtgs2-gaussian-encoder");
        expect(maxAbsDifference(result.features, expected)).toBeLessThan(1e-4);
        // comlink delivers the callbacks before the answer: all stages, in order, ending at 1
        expect(progress.map((p) => p.stage)).toEqual(["channels", "serialize", "inference", "output", "done"]);
        for (let i = 1; i < progress.length; i++) expect(progress[i].fraction).toBeGreaterThan(progress[i - 1].fraction);
        expect(progress[progress.length - 1].fraction).toBe(1);
    });

    it("the world matrix matters: without Babylon's y flip the features differ", async () => {
        const mesh = await loadParityScene();
        const rows = new Uint8Array(mesh.splatsData as ArrayBuffer);
        expect(mesh.computeWorldMatrix(true).m[5]).toBe(-1); // the PLY loader's scaling.y = -1
        const unflipped = await client.encodeScene({ splats: rows.slice() });
        expect(maxAbsDifference(unflipped.features, expected)).toBeGreaterThan(1e-2);
    });

    it("bad scenes reject with typed errors through the worker: NaN position, zero Gaussians, overflowing extent, ragged rows", async () => {
        const nan = await rejectionOf(client.encodeScene({ splats: splatRows(20, 0.1, (i, f) => { if (i === 3) f[i * 8 + 2] = NaN; }) }));
        expect(isSemanticError(nan, "INVALID_ARGUMENT")).withContext(String(nan)).toBeTrue();
        expect(String((nan as Error).message)).toContain("Gaussian 3 has a non-finite position");
        const empty = await rejectionOf(client.encodeScene({ splats: new Uint8Array(0) }));
        expect(isSemanticError(empty, "EMPTY_SCENE")).withContext(String(empty)).toBeTrue();
        const huge = await rejectionOf(client.encodeScene({ splats: splatRows(20, 1000) }));
        expect(isSemanticError(huge, "INVALID_ARGUMENT")).withContext(String(huge)).toBeTrue();
        expect(String((huge as Error).message)).toContain("16-bit codes");
        const ragged = await rejectionOf(client.encodeScene({ splats: new Uint8Array(33) }));
        expect(isSemanticError(ragged, "INVALID_ARGUMENT")).withContext(String(ragged)).toBeTrue();
        // the same too-large scene in centimetres fits
        const cm = await client.encodeScene({ splats: splatRows(20, 1000), metresPerUnit: 0.01 });
        expect(cm.count).toBe(20);
    });

    it("cancellation rejects with CANCELLED at once, and the worker encodes the next scene correctly", async () => {
        const mesh = await loadParityScene();
        const rows = new Uint8Array(mesh.splatsData as ArrayBuffer);
        const worldMatrix = Array.from(mesh.computeWorldMatrix(true).m);
        const before = new AbortController();
        before.abort();
        expect(isSemanticError(await rejectionOf(client.encodeScene({ splats: rows.slice() }, { signal: before.signal })), "CANCELLED")).toBeTrue();

        await client.debugDelayNext(3000); // the model run waits 3 s: time to cancel mid-encode
        const abort = new AbortController();
        const started = performance.now();
        const pending = client.encodeScene(
            { splats: rows.slice(), worldMatrix },
            { signal: abort.signal, onProgress: (p) => { if (p.stage === "inference") abort.abort(); } }
        );
        const error = await rejectionOf(pending);
        expect(isSemanticError(error, "CANCELLED")).withContext(String(error)).toBeTrue();
        expect(performance.now() - started).toBeLessThan(2500); // did not wait for the delayed run

        const again = await client.encodeScene({ splats: rows.slice(), worldMatrix });
        expect(maxAbsDifference(again.features, expected)).toBeLessThan(1e-4);
    });

    it("a mesh loaded from a file without features encodes itself (autoEncode), fp16; autoEncode: false leaves it alone", async () => {
        const withOwn = await loadParityScene({ encoder: { modelUrl: "/no/such/model.onnx" } });
        await withOwn.featuresReady; // the file's own K = 8 features: nothing to encode, the bad URL is never fetched
        expect(withOwn.featureDimension).toBe(8);
        const changes: number[] = [];
        const mesh = await loadParitySceneWithoutFeatures({ encoder: { modelUrl: MODEL_URL, client } });
        mesh.onFeaturesChangedObservable.add((m) => changes.push(m.featureDimension));
        await mesh.featuresReady;
        expect(mesh.featureDimension).toBe(K);
        expect(mesh.featureEncoderId).toBe("rtgs2-gaussian-encoder");
        expect(changes).toContain(K);
        const half = mesh.featureHalfBits!;
        expect(maxAbsDifference(halfArrayToFloat32(half), expected)).toBeLessThan(2e-3); // fp16 rounding
        // saved once, the scene needs no encode the next time
        const saved = mesh.saveSemanticPly();
        const reloaded = await SemanticGaussianSplattingMesh.LoadAsync({ data: saved, fileName: "encoded.ply" }, scene, { encoder: { modelUrl: "/no/such/model.onnx" } });
        await reloaded.featuresReady; // nothing to encode: the bad URL is never fetched
        expect(reloaded.featureDimension).toBe(K);
        expect(maxAbsDifference(halfArrayToFloat32(reloaded.featureHalfBits!), halfArrayToFloat32(half))).toBeLessThan(1e-3);

        const off = await loadParitySceneWithoutFeatures({ encoder: { modelUrl: MODEL_URL, client }, autoEncode: false });
        await off.featuresReady;
        expect(off.featureDimension).toBe(0);
    });

    it("a failed automatic encode rejects featuresReady with the model error and leaves the mesh usable", async () => {
        const mesh = await loadParitySceneWithoutFeatures({ encoder: { modelUrl: "/base/test/fixtures/encoder/missing-model.onnx", clientOptions: { numThreads: 1 } } });
        const error = await rejectionOf(mesh.featuresReady);
        expect(isSemanticError(error, "MODEL_NOT_FOUND")).withContext(String(error)).toBeTrue();
        expect(mesh.featureDimension).toBe(0);
        expect(mesh.gaussianCount).toBe(2025);
    });
});
