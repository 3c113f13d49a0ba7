// src/encoder/serialization.ts against the shared vectors that factory/scripts/make_encoder_vectors.py writes from
// the Python implementation: every output must be identical (voxel features bit for bit), and bad inputs must fail
// with the same code and wording.
import { isSemanticError } from "../../src/errors";
import { DEFAULT_SERIALIZATION, type AxisOrder, mortonCode, serializeScene, sortedIndices } from "../../src/encoder/serialization";
import { encoderInfoFromMetadata, prepareEncoderInputs } from "../../src/encoder/inputs";

interface VectorCase {
    name: string;
    count: number;
    channelBits: number[];
    config: { gridSize: number; patchSize: number; levels: number; orders: AxisOrder[] };
    error?: { code: string; message: string };
    sceneMinBits?: number[];
    gaussianVoxel?: number[];
    voxelFeatureBits?: number[];
    levels?: { count: number; coords: number[]; orders: number[][]; inverses: number[][]; pool?: number[]; unpool?: number[] }[];
}

async function loadVectors(): Promise<VectorCase[]> {
    const response = await fetch("/base/test/fixtures/encoder/serialization-vectors.json");
    expect(response.ok).withContext("fetching the shared vectors").toBeTrue();
    const json = await response.json();
    expect(json.format).toBe("rtgs2-encoder-serialization-vectors");
    return json.cases;
}

const floatsFromBits = (bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("encoder serialization (shared vectors with Python)", () => {
    let cases: VectorCase[];
    beforeAll(async () => {
        cases = await loadVectors();
    });

    it("covers ties, one point, float32 boundaries, huge negative coordinates, the widest extent and the errors", () => {
        const names = cases.map((c) => c.name);
        for (const n of ["ties", "one-point", "float32-boundaries", "huge-negative-coordinates", "widest-extent", "room",
            "error-empty", "error-nan-position", "error-inf-colour", "error-extent-overflow"]) {
            expect(names).toContain(n);
        }
    });

    it("produces exactly the Python outputs for every valid case", () => {
        for (const c of cases.filter((c) => !c.error)) {
            const s = serializeScene(floatsFromBits(c.channelBits), c.count, c.config);
            const at = `case ${c.name}`;
            expect(bitsOf(s.sceneMin)).withContext(`${at}: scene min`).toEqual(c.sceneMinBits!);
            expect(Array.from(s.gaussianVoxel)).withContext(`${at}: gaussian -> voxel`).toEqual(c.gaussianVoxel!);
            expect(bitsOf(s.voxelFeatures)).withContext(`${at}: voxel features (bits)`).toEqual(c.voxelFeatureBits!);
            expect(s.levels.length).withContext(`${at}: levels`).toBe(c.levels!.length);
            c.levels!.forEach((want, l) => {
                const got = s.levels[l];
                expect(got.count).withContext(`${at} level ${l}: count`).toBe(want.count);
                expect(Array.from(got.coords)).withContext(`${at} level ${l}: coords`).toEqual(want.coords);
                expect(Array.from(got.orders)).withContext(`${at} level ${l}: orders`).toEqual(want.orders.flat());
                expect(got.paddedCount).toBe(want.orders[0].length);
                expect(Array.from(got.inverses)).withContext(`${at} level ${l}: inverses`).toEqual(want.inverses.flat());
                if (l > 0) {
                    expect(Array.from(got.pool!)).withContext(`${at} level ${l}: pool`).toEqual(want.pool!);
                    expect(Array.from(got.unpool!)).withContext(`${at} level ${l}: unpool`).toEqual(want.unpool!);
                } else {
                    expect(got.pool).toBeNull();
                }
            });
        }
    });

    it("fails on bad input with the same code and message as Python", () => {
        const errorCases = cases.filter((c) => c.error);
        expect(errorCases.length).toBeGreaterThanOrEqual(4);
        for (const c of errorCases) {
            let caught: unknown = null;
            try {
                serializeScene(floatsFromBits(c.channelBits), c.count, c.config);
            } catch (e) {
                caught = e;
            }
            expect(isSemanticError(caught, c.error!.code as never)).withContext(`case ${c.name}: ${String(caught)}`).toBeTrue();
            expect((caught as Error).message).withContext(`case ${c.name}`).toContain(c.error!.message);
        }
    });

    it("rejects a channel array whose length is not count x 10", () => {
        expect(() => serializeScene(new Float32Array(25), 3, DEFAULT_SERIALIZATION)).toThrowMatching(
            (e) => isSemanticError(e, "INVALID_ARGUMENT") && /count x 10 = 30 floats, got 25/.test(e.message)
        );
    });

    it("computes 48-bit Morton codes exactly, without BigInt", () => {
        expect(mortonCode(1, 0, 0)).toBe(4);
        expect(mortonCode(0, 0, 1)).toBe(1);
        expect(mortonCode(65535, 65535, 65535)).toBe(2 ** 48 - 1);
        expect(mortonCode(256, 0, 0)).toBe(2 ** 26); // bit 8 of the first axis -> bit 3 * 8 + 2
    });

    it("sorts indices by code, ties by index, whichever of the four digits the keys share", () => {
        // keys whose high half is all zero (a small scene), whose low digits are all equal, all equal, and mixed:
        // the radix sort skips a digit every key shares, and must give the stable argsort all the same
        let seed = 11;
        const random = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
        const cases: Array<(i: number) => [number, number]> = [
            () => [0, random(1 << 24)],
            () => [random(1 << 24), 0x345678],
            () => [5, 7],
            () => [random(4) << 12, random(3)],
            () => [random(1 << 24), random(1 << 24)],
        ];
        for (const key of cases) {
            const n = 3000;
            const hi = new Uint32Array(n), lo = new Uint32Array(n);
            for (let i = 0; i < n; i++) [hi[i], lo[i]] = key(i);
            const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b] || a - b);
            expect(Array.from(sortedIndices({ hi, lo }))).toEqual(expected);
        }
        expect(Array.from(sortedIndices({ hi: new Uint32Array(0), lo: new Uint32Array(0) }))).toEqual([]);
    });

    it("builds feeds with the graph's names, types and dims", () => {
        const room = cases.find((c) => c.name === "room")!;
        const feeds = prepareEncoderInputs(floatsFromBits(room.channelBits), room.count, room.config);
        const l0 = room.levels![0], l1 = room.levels![1];
        expect(feeds.voxel_features.dims).toEqual([l0.count, 12]);
        expect(feeds.gaussian_voxel).toEqual(jasmine.objectContaining({ type: "int32", dims: [room.count] }));
        expect(feeds.order_l0.dims).toEqual([room.config.orders.length, l0.orders[0].length]);
        expect(feeds.inverse_l1.dims).toEqual([room.config.orders.length, l1.count]);
        expect(feeds.pool_l1.dims).toEqual([l1.count, 8]);
        expect(feeds.unpool_l1.dims).toEqual([l0.count]);
        expect(feeds.coords_l2.type).toBe("float32");
        expect(Object.keys(feeds).length).toBe(2 + 3 * 3 + 2 * 2);
    });

    it("reads the serialization config from encoder metadata and refuses a bad one", () => {
        const props = { kind: "encoder", k: "16", encoder_id: "x", encoder_version: "1", grid_size: "0.05", patch_size: "64", levels: "3", orders: "xyz,zyx" };
        const info = encoderInfoFromMetadata(props, "enc.onnx");
        expect(info.k).toBe(16);
        expect(info.serialization).toEqual({ gridSize: 0.05, patchSize: 64, levels: 3, orders: ["xyz", "zyx"] });
        expect(() => encoderInfoFromMetadata({ ...props, orders: "xyz,abc" }, "enc.onnx")).toThrowMatching(
            (e) => isSemanticError(e, "MODEL_CONTRACT") && e.message.includes("enc.onnx") && e.message.includes("'abc'")
        );
        const { patch_size: _omit, ...missing } = props;
        expect(() => encoderInfoFromMetadata(missing, "enc.onnx")).toThrowMatching((e) => isSemanticError(e, "MODEL_CONTRACT") && e.message.includes("patch_size"));
    });
});
