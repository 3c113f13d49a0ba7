// The feature cache (src/cache/): keys name everything that decides the features; entries round-trip and a stale
// or foreign entry is a miss; the browser cache (OPFS and IndexedDB) keeps entries by key, evicts the least recently
// used over its byte bound and clears; a mesh reopened with the same scene takes its features from the cache
// without an encode, and `cache: false` turns it off.
import { Scene } from "@babylonjs/core/scene";
import { useEncoderScene } from "../support/encoderScene";
import { FeatureCache, type FeatureCacheStorage } from "../../src/cache/featureCache";
import { decodeSemcache, encodeSemcache, featureCacheKey, semcacheKey } from "../../src/cache/semcache";
import { encodeMeshFeatures } from "../../src/encoder/encodeMesh";
import { spillFiles } from "../support/spillFiles";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { writeSemanticPly } from "../../src/formats";
import { isSemanticError } from "../../src/errors";
import type { EncodeProgress } from "../../src/encoder/encodeScene";

const MODEL_URL = "/base/test/fixtures/encoder/tiny-encoder.onnx";
const SCENE_URL = "/base/test/golden/parity/scene.ply";

function rowsOf(count: number, seed: number): Uint8Array {
    const rows = new Uint8Array(count * 32);
    for (let i = 0; i < rows.length; i++) rows[i] = (i * 31 + seed) & 255;
    return rows;
}

function entry(key: string, count: number, fill = 0x3c00): Uint8Array {
    return encodeSemcache(key, { features: new Uint16Array(count * 4).fill(fill), count, featureDim: 4, encoderId: "test-encoder" });
}

describe("feature cache", () => {
    it("keys change with the scene, the world matrix, the model, the frame choice and a finite halo, and nothing else", async () => {
        const rows = rowsOf(100, 1);
        const base = { rows, worldMatrix: [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], modelSha256: "ab".repeat(32) };
        const key = await featureCacheKey(base);
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect(await featureCacheKey({ ...base, rows: rows.slice() })).toBe(key); // content, not identity
        expect(await featureCacheKey({ ...base, haloMetres: Infinity })).toBe(key); // the default: exact features
        const changed = await Promise.all([
            featureCacheKey({ ...base, rows: rowsOf(100, 2) }),
            featureCacheKey({ ...base, worldMatrix: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] }),
            featureCacheKey({ ...base, modelSha256: "cd".repeat(32) }),
            featureCacheKey({ ...base, frame: { frame: "none" } }),
            featureCacheKey({ ...base, frame: { upAxis: "+z" } }),
            featureCacheKey({ ...base, haloMetres: 1 }),
        ]);
        expect(new Set([key, ...changed]).size).toBe(7);
    });

    it("an entry decodes for its own key only; a damaged one with the right key is MALFORMED_FILE", async () => {
        const key = "1".repeat(64), other = "2".repeat(64);
        const bytes = entry(key, 10);
        expect(semcacheKey(bytes)).toBe(key);
        const decoded = decodeSemcache(bytes, key)!;
        expect(decoded.count).toBe(10);
        expect(decoded.featureDim).toBe(4);
        expect(decoded.encoderId).toBe("test-encoder");
        expect(decodeSemcache(bytes, other)).toBeNull();
        expect(decodeSemcache(new Uint8Array(10), key)).toBeNull();
        expect(() => decodeSemcache(bytes.subarray(0, bytes.length - 8), key, "x.semcache")).toThrowMatching((e) => isSemanticError(e, "MALFORMED_FILE") && String(e.message).includes("x.semcache"));
    });

    for (const storage of ["opfs", "indexeddb"] as FeatureCacheStorage[]) {
        it(`${storage}: entries by key, least recently used evicted over the byte bound, usage, delete, clear`, async () => {
            const one = entry("a".repeat(64), 100), size = one.byteLength;
            const cache = new FeatureCache({ name: `spec-${storage}-${Date.now()}`, maxBytes: 2 * size + 10, storage });
            expect(cache.storage).toBe(storage);
            // every use in the same millisecond: the order of use must still decide (it once tied, and the test was flaky)
            spyOn(Date, "now").and.returnValue(1_700_000_000_000);
            await cache.clear();
            expect(await cache.get("a".repeat(64))).toBeNull();
            expect(await cache.put("a".repeat(64), one)).toBeTrue();
            expect(await cache.put("b".repeat(64), entry("b".repeat(64), 100))).toBeTrue();
            expect(Array.from((await cache.get("a".repeat(64)))!)).toEqual(Array.from(one));
            // a third entry goes over the bound: "b" (used least recently) is evicted, "a" stays
            expect(await cache.put("c".repeat(64), entry("c".repeat(64), 100))).toBeTrue();
            expect(await cache.get("b".repeat(64))).toBeNull();
            expect(await cache.get("a".repeat(64))).not.toBeNull();
            expect(await cache.usage()).toEqual({ bytes: 2 * size, entries: 2 });
            // an entry larger than the whole bound is not stored
            expect(await cache.put("d".repeat(64), entry("d".repeat(64), 1000))).toBeFalse();
            await cache.delete("c".repeat(64));
            expect(await cache.get("c".repeat(64))).toBeNull();
            await cache.clear();
            expect(await cache.get("a".repeat(64))).toBeNull();
            expect(await cache.usage()).toEqual({ bytes: 0, entries: 0 });
        });
    }

    describe("a mesh reopened", () => {
        let scene: Scene;
        let client: InferenceClient;
        useEncoderScene(MODEL_URL, (c) => (client = c), (s) => (scene = s));

        async function bareMesh(): Promise<SemanticGaussianSplattingMesh> {
            const bare = writeSemanticPly(await (await fetch(SCENE_URL)).arrayBuffer(), "scene.ply", { features: null });
            return SemanticGaussianSplattingMesh.LoadAsync({ data: bare, fileName: "bare.ply" }, scene);
        }

        it("takes its features from the cache without an encode; cache: false encodes", async () => {
            const cache = new FeatureCache({ name: `spec-mesh-${Date.now()}` });
            await cache.clear();
            const first = await bareMesh();
            const progress: EncodeProgress[] = [];
            const encoded = await encodeMeshFeatures(first, { modelUrl: MODEL_URL, client, cache, onProgress: (p) => progress.push(p) });
            expect(encoded.cache).toBe("miss");
            expect(progress.map((p) => p.stage)).toContain("inference");
            expect((await cache.usage()).entries).toBe(1);

            const second = await bareMesh();
            const reopenedProgress: EncodeProgress[] = [];
            const reopened = await encodeMeshFeatures(second, { modelUrl: MODEL_URL, client, cache, onProgress: (p) => reopenedProgress.push(p) });
            expect(reopened.cache).toBe("hit");
            expect(reopenedProgress.map((p) => p.stage)).toEqual(["done"]); // no stage of an encode ran
            expect(second.featureDimension).toBe(16);
            expect(Array.from(second.featureHalfBits!)).toEqual(Array.from(first.featureHalfBits!));
            // the frame comes back as recorded (docs/FRAME.md: a record keeps rotation, scale and floor, not the evidence)
            const f1 = first.sceneFrame!, f2 = second.sceneFrame!;
            expect([f2.rotation, f2.metresPerUnit, f2.floorHeight]).toEqual([f1.rotation, f1.metresPerUnit, f1.floorHeight]);

            const third = await bareMesh();
            const off = await encodeMeshFeatures(third, { modelUrl: MODEL_URL, client, cache: false });
            expect(off.cache).toBe("off");
            expect(Array.from(third.featureHalfBits!)).toEqual(Array.from(first.featureHalfBits!));
            await cache.clear();
        });

        it("a tiled encode with its own client spills its features to OPFS and sets the same features, leaving no spill file", async () => {
            const before = await spillFiles();
            const shared = await bareMesh(); // the given client: features come back in memory
            const sharedResult = await encodeMeshFeatures(shared, { modelUrl: MODEL_URL, client, cache: false, tileGaussians: 1000 });
            const own = await bareMesh(); // a client made for the encode: spilled, read back after its worker ended
            const ownResult = await encodeMeshFeatures(own, { modelUrl: MODEL_URL, cache: false, tileGaussians: 1000, clientOptions: { numThreads: 1 } });
            expect([sharedResult.tiles, ownResult.tiles]).toEqual([3, 3]); // ceil(2025 / 1000)
            expect(own.featureDimension).toBe(16);
            expect(Array.from(own.featureHalfBits!)).toEqual(Array.from(shared.featureHalfBits!));
            expect(ownResult.features).toBe(own.featureHalfBits!); // handed to the mesh, not copied
            expect(await spillFiles()).toEqual(before);
        });
    });
});
