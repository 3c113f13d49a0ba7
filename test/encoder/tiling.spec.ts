// Tiled encoding (src/encoder/tiling.ts): the plan partitions the scene into runs of the curve cut at aligned cubes; a tile holding every Gaussian serializes
// exactly as the whole scene; the receptive field holds its core's patches; the worker's tiled encode of the golden
// parity scene equals the Node command's whole-scene features, reports tile progress with the time left and stops
// between tiles when cancelled; a model without its block counts refuses a tiled encode with MODEL_CONTRACT.
import { SPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { isSemanticError } from "../../src/errors";
import { FEATURE_SPILL_DIRECTORY, readFeatureSpill, type FeatureSpill } from "../../src/encoder/featureSpill";
import { spillFiles } from "../support/spillFiles";
import { encodeChannels, type EncodeProgress } from "../../src/encoder/encodeScene";
import { encoderFeeds, encoderInfoFromMetadata, type EncoderModelInfo } from "../../src/encoder/inputs";
import { DEFAULT_SERIALIZATION, INPUT_CHANNELS, sceneOrigin, serializeScene, uniqueVoxels, voxelCoordinates } from "../../src/encoder/serialization";
import { coreVoxels, gatherChannels, levelZeroVoxels, planTiles, receptiveField, resolveTilingOptions, sceneSkeleton, serializeTile, splitTile, tileTooLarge, type SceneSkeleton, type TilePlan } from "../../src/encoder/tiling";
import { seededRandom } from "../support/seededRandom";

const MODEL_URL = "/base/test/fixtures/encoder/tiny-encoder.onnx";
const SCENE_URL = "/base/test/golden/parity/scene.ply";
const EXPECTED_URL = "/base/test/fixtures/encoder/parity-scene-features.f32";

/** `count` Gaussians on the floor and two walls of a 4 x 2.7 x 3 m room (10 channels each). */
function roomChannels(count: number, seed = 7): Float32Array {
    const random = seededRandom(seed);
    const c = new Float32Array(count * INPUT_CHANNELS);
    for (let i = 0; i < count; i++) {
        const o = i * INPUT_CHANNELS, surface = i % 3, u = random(), v = random();
        const p = surface === 0 ? [4 * u, 0, 3 * v] : surface === 1 ? [4 * u, 2.7 * v, 0] : [0, 2.7 * u, 3 * v];
        c.set([...p, random(), random(), random(), 0.2 + 0.8 * random(), -4 - random(), -4 - random(), -5], o);
    }
    return c;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    throw new Error("expected a rejection, but the promise resolved");
}

describe("tiled encoding", () => {
    /** The plan's checks: the cores partition the scene, each core is a run of consecutive level-0 voxels along the
     *  curve (the skeleton's voxel order) holding all their Gaussians, and the boxes hold their cores. */
    function expectCurvePartition(plan: TilePlan, skeleton: SceneSkeleton, channels: Float32Array, count: number): void {
        const sizes = new Int32Array(plan.count);
        for (let i = 0; i < count; i++) sizes[plan.tileOf[i]]++;
        expect(Array.from(sizes)).toEqual(Array.from(plan.coreCounts));
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
        let previousVoxel = -1;
        for (let t = 0; t < plan.count; t++) {
            expect(plan.coreStart[t + 1] - plan.coreStart[t]).toBe(plan.coreCounts[t]);
            for (let j = plan.coreStart[t]; j < plan.coreStart[t + 1]; j++) {
                const i = plan.coreOrder[j], v = skeleton.gaussianVoxel[i];
                expect(plan.tileOf[i]).toBe(t);
                expect(v >= previousVoxel).withContext(`voxel order at ${j}`).toBeTrue();
                previousVoxel = v;
                for (let a = 0; a < 3; a++) {
                    const p = channels[i * INPUT_CHANNELS + a];
                    expect(p >= plan.boxes[6 * t + a] && p <= plan.boxes[6 * t + 3 + a]).toBeTrue();
                }
            }
            // a cut between voxels, not inside one
            if (t > 0) expect(skeleton.gaussianVoxel[plan.coreOrder[plan.coreStart[t] - 1]]).not.toBe(skeleton.gaussianVoxel[plan.coreOrder[plan.coreStart[t]]]);
        }
    }

    /** The highest coordinate bit in which level-0 voxels u and v differ. */
    function differingBit(skeleton: SceneSkeleton, u: number, v: number): number {
        const c = skeleton.levels[0].coords;
        return 31 - Math.clz32((c[3 * u] ^ c[3 * v]) | (c[3 * u + 1] ^ c[3 * v + 1]) | (c[3 * u + 2] ^ c[3 * v + 2]));
    }

    /** The highest coordinate bit in which the voxels on the two sides of a cut differ. */
    function cutBit(skeleton: SceneSkeleton, plan: TilePlan, t: number): number {
        return differingBit(skeleton, skeleton.gaussianVoxel[plan.coreOrder[plan.coreStart[t] - 1]], skeleton.gaussianVoxel[plan.coreOrder[plan.coreStart[t]]]);
    }

    /** The default serialization's skeleton of `count` Gaussians. */
    function skeletonOf(channels: Float32Array, count: number): SceneSkeleton {
        return sceneSkeleton(channels, count, DEFAULT_SERIALIZATION, sceneOrigin(channels, count, DEFAULT_SERIALIZATION.gridSize));
    }

    it("plans cores that are runs of the curve, each at most tileGaussians, bisected at large aligned cubes, deterministically", () => {
        const count = 20000;
        const channels = roomChannels(count);
        const skeleton = skeletonOf(channels, count);
        for (const tile of [3000, 4500]) {
            const plan = planTiles(skeleton, channels, tile);
            expect(Math.max(...plan.coreCounts)).toBeLessThanOrEqual(tile);
            const fewest = Math.ceil(count / tile);
            expect(plan.count).toBeGreaterThanOrEqual(fewest);
            expect(plan.count).toBeLessThanOrEqual(2 * fewest);
            expectCurvePartition(plan, skeleton, channels, count);
            expect(Array.from(planTiles(skeleton, channels, tile).tileOf)).toEqual(Array.from(plan.tileOf));
            // the bisection from the top: a range above `tile` is cut at the voxel boundary with the highest differing
            // bit within 1/8 of the range around its target (where its n cores would split floor(n/2) : ceil(n/2)),
            // the nearest to the target among equals; a range within `tile` is one core
            const starts = Array.from(plan.coreStart);
            const check = (lo: number, hi: number): void => {
                const inside = starts.filter((c) => c > lo && c < hi);
                if (hi - lo <= tile) {
                    expect(inside).withContext(`core ${lo}..${hi}`).toEqual([]);
                    return;
                }
                const n = Math.ceil((hi - lo) / tile);
                const target = lo + Math.round(((hi - lo) * Math.floor(n / 2)) / n);
                const window = Math.floor((hi - lo) / 8);
                const from = Math.max(lo + 1, target - window), to = Math.min(hi - 1, target + window);
                let best = -1;
                for (let v = 1; v < skeleton.levels[0].count; v++) {
                    const at = skeleton.voxelStart[v];
                    if (at >= from && at <= to) best = Math.max(best, differingBit(skeleton, v - 1, v));
                }
                const candidates = inside.filter((c) => c >= from && c <= to && cutBit(skeleton, plan, starts.indexOf(c)) === best);
                expect(candidates.length).withContext(`range ${lo}..${hi}: a cut at bit ${best} near ${target}`).toBeGreaterThan(0);
                const cut = candidates.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a));
                check(lo, cut);
                check(cut, hi);
            };
            check(0, count);
        }
    });

    it("splitTile halves one core at an aligned cut (the plan still partitions the scene along the curve); fields above fieldGaussians are halved, down to a limit", () => {
        const count = 20000;
        const channels = roomChannels(count);
        const skeleton = skeletonOf(channels, count);
        const plan = planTiles(skeleton, channels, 3000);
        const before = { counts: Array.from(plan.coreCounts), boxes: Array.from(plan.boxes), start: Array.from(plan.coreStart) };
        const split = splitTile(skeleton, channels, plan, 2);
        expect(split.count).toBe(plan.count + 1);
        expect(split.coreCounts[2] + split.coreCounts[3]).toBe(before.counts[2]);
        expect(Math.abs(split.coreCounts[2] - split.coreCounts[3])).toBeLessThanOrEqual(before.counts[2] / 4);
        expect(Array.from(split.coreCounts.subarray(0, 2))).toEqual(before.counts.slice(0, 2));
        expect(Array.from(split.coreCounts.subarray(4))).toEqual(before.counts.slice(3));
        expect(Array.from(split.boxes.subarray(0, 12))).toEqual(before.boxes.slice(0, 12));
        expect(Array.from(split.boxes.subarray(24))).toEqual(before.boxes.slice(18));
        expect(Array.from(split.coreStart)).toEqual([...before.start.slice(0, 3), split.coreStart[3], ...before.start.slice(3)]);
        expectCurvePartition(split, skeleton, channels, count);
        // the options: fieldGaussians defaults to 3 x tileGaussians; a core is halved only above tileGaussians / 8
        expect(resolveTilingOptions({ tileGaussians: 40000 }).fieldGaussians).toBe(120000);
        expect(resolveTilingOptions({}).fieldGaussians).toBe(300000);
        expect(() => resolveTilingOptions({ fieldGaussians: 10 })).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT"));
        expect(tileTooLarge(50000, 300001, 100000, 300000)).toBeTrue();
        expect(tileTooLarge(50000, 300000, 100000, 300000)).toBeFalse();
        expect(tileTooLarge(12500, 400000, 100000, 300000)).toBeFalse();
        expect(tileTooLarge(1500, 400000, 1000, 3000)).toBeFalse(); // never below 2 x MIN_TILE_GAUSSIANS
    });

    it("a scene that is one voxel is cut inside it (no boundary to move to)", () => {
        const count = 5000;
        const channels = new Float32Array(count * INPUT_CHANNELS);
        for (let i = 0; i < count; i++) channels.set([0.01, 0.01, 0.01, 0.5, 0.5, 0.5, 1, -5, -5, -5], i * INPUT_CHANNELS);
        const plan = planTiles(skeletonOf(channels, count), channels, 2000);
        expect(plan.count).toBe(3);
        expect(Array.from(plan.coreCounts)).toEqual([1667, 1667, 1666]); // bisected at the targets: 1667 | 3333, then 1667 | 1666
    });

    it("a tile of every Gaussian serializes exactly as the whole scene; a core's field holds its whole patches", () => {
        const count = 6000;
        const channels = roomChannels(count, 11);
        const config = DEFAULT_SERIALIZATION;
        const whole = encoderFeeds(serializeScene(channels, count, config), config);
        const skeleton = sceneSkeleton(channels, count, config, sceneOrigin(channels, count, config.gridSize));
        const all = Int32Array.from({ length: count }, (_, i) => i);
        const tile = encoderFeeds(serializeTile(gatherChannels(channels, all), all, skeleton, config), config);
        expect(Object.keys(tile).sort()).toEqual(Object.keys(whole).sort());
        for (const name of Object.keys(whole)) {
            expect(tile[name].dims).withContext(name).toEqual(whole[name].dims);
            expect(Array.from(tile[name].data)).withContext(name).toEqual(Array.from(whole[name].data));
        }
        // the field of one tile's core: the core itself, and every level-0 patch-mate of a core voxel in the orders of
        // the level-0 blocks (block b uses order b mod 4: the level-0 encoder block is block 0, the last decoder block 5)
        const plan = planTiles(skeleton, channels, 1000);
        const core = coreVoxels(skeleton, plan, 0);
        const field = new Set(receptiveField(skeleton, core, { encoder: [1, 1, 2], decoder: [1, 1] }, config).voxels);
        expect(field.size).toBeLessThan(skeleton.levels[0].count);
        for (const v of core) expect(field.has(v)).toBeTrue();
        const g = skeleton.levels[0], P = config.patchSize;
        for (const o of [0, 1]) {
            for (const v of core) {
                const p = Math.floor(g.ranks[o * g.count + v] / P);
                for (let r = p * P; r < Math.min((p + 1) * P, g.count); r++) expect(field.has(g.orders[o * g.count + r])).toBeTrue();
            }
        }
    });

    it("the skeleton's level 0 equals uniqueVoxels of the voxel coordinates, made without them; a Gaussian off the grid is refused", () => {
        const count = 5000;
        const channels = roomChannels(count, 5);
        const g = DEFAULT_SERIALIZATION.gridSize;
        const origin = sceneOrigin(channels, count, g);
        const expected = uniqueVoxels(voxelCoordinates(channels, count, g, origin).coords, count);
        const got = levelZeroVoxels(channels, count, g, origin);
        expect(got.count).toBe(expected.count);
        expect(got.count).toBeGreaterThan(100);
        expect(Array.from(got.coords)).toEqual(Array.from(expected.coords));
        expect(Array.from(got.ids)).toEqual(Array.from(expected.ids));
        expect(Array.from(got.sorted)).toEqual(Array.from(expected.sorted));
        // the skeleton's voxel index: each voxel's Gaussians, ascending, voxel by voxel
        const skeleton = sceneSkeleton(channels, count, DEFAULT_SERIALIZATION, origin);
        for (let v = 0; v < skeleton.levels[0].count; v++) {
            for (let j = skeleton.voxelStart[v]; j < skeleton.voxelStart[v + 1]; j++) {
                expect(skeleton.gaussianVoxel[skeleton.voxelGaussians[j]]).toBe(v);
                if (j > skeleton.voxelStart[v]) expect(skeleton.voxelGaussians[j]).toBeGreaterThan(skeleton.voxelGaussians[j - 1]);
            }
        }
        const above = Float32Array.from([origin[0], origin[1] + 0.5, origin[2]]);
        expect(() => levelZeroVoxels(channels, count, g, above)).toThrowError(/lies outside the voxel grid along y/);
    });

    it("a tiled encode needs the model's block counts (encoder_config): MODEL_CONTRACT without them", async () => {
        const props = { kind: "encoder", k: "16", encoder_id: "x", encoder_version: "1", grid_size: "0.05", patch_size: "64", levels: "3", orders: "xyz,zyx" };
        const withBlocks = encoderInfoFromMetadata({ ...props, encoder_config: JSON.stringify({ encoder_blocks: [1, 1, 2], decoder_blocks: [1, 1] }) }, "enc.onnx");
        expect(withBlocks.blocks).toEqual({ encoder: [1, 1, 2], decoder: [1, 1] });
        expect(() => encoderInfoFromMetadata({ ...props, encoder_config: JSON.stringify({ encoder_blocks: [1, 1], decoder_blocks: [1, 1] }) }, "enc.onnx")).toThrowMatching(
            (e) => isSemanticError(e, "MODEL_CONTRACT") && e.message.includes("encoder_blocks") && e.message.includes("enc.onnx")
        );
        const info: EncoderModelInfo = encoderInfoFromMetadata(props, "enc.onnx");
        expect(info.blocks).toBeUndefined();
        let calls = 0;
        const error = await rejectionOf(encodeChannels(roomChannels(2500), 2500, info, async () => { calls++; throw new Error("not reached"); }, { tileGaussians: 1000 }));
        expect(isSemanticError(error, "MODEL_CONTRACT")).withContext(String(error)).toBeTrue();
        expect(String(error)).toContain("encoder_config");
        expect(calls).toBe(0);
    });

    describe("in the inference worker", () => {
        let client: InferenceClient;
        let expected: Float32Array;
        let rows: Uint8Array;
        const worldMatrix = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]; // Babylon's PLY loader: scaling.y = -1

        beforeAll(async () => {
            expected = new Float32Array(await (await fetch(EXPECTED_URL)).arrayBuffer());
            // the parity scene's splat rows, as Babylon's loader makes them
            const ply = await (await fetch(SCENE_URL)).arrayBuffer();
            const loader = SPLATFileLoader as unknown as { _ConvertPLYToSplat(data: ArrayBuffer): Promise<{ data: ArrayBuffer }> }; // private, static
            const parsed = await loader._ConvertPLYToSplat(ply);
            rows = new Uint8Array(parsed.data);
            client = new InferenceClient({ numThreads: 1 });
            await client.loadModel({ kind: "encoder", source: MODEL_URL, executionProvider: "wasm" });
        });
        afterAll(() => client.dispose());

        it("equals the whole-scene features of the Node command, with tile progress and the time left", async () => {
            const progress: EncodeProgress[] = [];
            const result = await client.encodeScene({ splats: rows.slice(), worldMatrix, tileGaussians: 1000 }, { onProgress: (p) => progress.push(p) });
            expect(result.count).toBe(2025);
            expect(result.tiles).toBe(3); // ceil(2025 / 1000), bisected 1 : 2
            let worst = 0;
            for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(result.features[i] - expected[i]));
            expect(worst).toBeLessThan(1e-4);
            const tiles = progress.filter((p) => p.tiles === 3);
            expect(tiles.map((p) => p.tile)).toEqual([0, 1, 2, 3]);
            expect(tiles[2].secondsLeft).toBeGreaterThanOrEqual(0);
            for (let i = 1; i < progress.length; i++) expect(progress[i].fraction).toBeGreaterThanOrEqual(progress[i - 1].fraction);
            expect(progress[progress.length - 1]).toEqual({ stage: "done", fraction: 1 });
        });

        it("encodeSceneSpilled: a tiled fp16 encode leaves its features in a spill file, read back as encodeScene's and then removed", async () => {
            const request = { worldMatrix, tileGaussians: 1000, outputPrecision: "float16" as const };
            const inMemory = await client.encodeScene({ ...request, splats: rows.slice() });
            const before = await spillFiles();
            const spilled = await client.encodeSceneSpilled({ ...request, splats: rows.slice() });
            expect(spilled.features).toBeNull();
            const spill = spilled.spill!;
            expect([spill.count, spill.k, spilled.tiles]).toEqual([2025, 16, 3]);
            expect((await spillFiles()).filter((n) => !before.includes(n))).toEqual([spill.file]);
            const features = await readFeatureSpill(spill);
            expect(features.length).toBe(2025 * 16);
            expect(Array.from(features)).toEqual(Array.from(inMemory.features as Uint16Array));
            expect(await spillFiles()).not.toContain(spill.file);
            // encoded whole (or asked for float32): the features come back in memory and no file is left
            const whole = await client.encodeSceneSpilled({ ...request, tileGaussians: Infinity, splats: rows.slice() });
            expect(whole.spill).toBeNull();
            expect(whole.features!.length).toBe(2025 * 16);
            const float32 = await client.encodeSceneSpilled({ ...request, outputPrecision: "float32", splats: rows.slice() });
            expect(float32.spill).toBeNull();
            expect(float32.features).toBeInstanceOf(Float32Array);
            expect(await spillFiles()).toEqual(before);
        });

        it("a cancelled spilled encode leaves no spill file; a damaged spill file is refused (MALFORMED_FILE) and removed", async () => {
            const before = await spillFiles();
            const abort = new AbortController();
            const error = await rejectionOf(
                client.encodeSceneSpilled(
                    { splats: rows.slice(), worldMatrix, tileGaussians: 1000, outputPrecision: "float16" },
                    { signal: abort.signal, onProgress: (p) => { if (p.tile === 1) abort.abort(); } }
                )
            );
            expect(isSemanticError(error, "CANCELLED")).withContext(String(error)).toBeTrue();
            await client.encodeScene({ splats: rows.slice(), worldMatrix, tileGaussians: 1000 }); // runs after the cancelled job ended
            expect(await spillFiles()).toEqual(before);

            const directory = await (await navigator.storage.getDirectory()).getDirectoryHandle(FEATURE_SPILL_DIRECTORY, { create: true });
            const damaged = async (name: string, bytes: Uint8Array): Promise<FeatureSpill> => {
                const writable = await (await directory.getFileHandle(name, { create: true })).createWritable();
                await writable.write(bytes as Uint8Array<ArrayBuffer>);
                await writable.close();
                return { directory: FEATURE_SPILL_DIRECTORY, file: name, count: 3, k: 2 };
            };
            const block = (rows: number[], k = 2) => new Uint8Array([...new Uint8Array(new Uint32Array([rows.length, k]).buffer), ...new Uint8Array(Int32Array.from(rows).buffer), ...new Uint8Array(rows.length * k * 2)]);
            const cases: Array<[string, Uint8Array, RegExp]> = [
                ["short.spill", block([0, 1]), /2 of 3 Gaussians/],
                ["repeated.spill", new Uint8Array([...block([0, 1]), ...block([1])]), /Gaussian 1 is out of range or repeated/],
                ["k.spill", block([0, 1, 2], 3), /K=3/],
                ["cut.spill", block([0, 1, 2]).slice(0, 20), /cut off/],
            ];
            for (const [name, bytes, message] of cases) {
                const e = await rejectionOf(readFeatureSpill(await damaged(name, bytes)));
                expect(isSemanticError(e, "MALFORMED_FILE")).withContext(`${name}: ${String(e)}`).toBeTrue();
                expect(String(e)).withContext(name).toMatch(message);
                expect(await spillFiles()).withContext(name).not.toContain(name);
            }
            expect(Array.from(await readFeatureSpill(await damaged("good.spill", new Uint8Array([...block([2]), ...block([0, 1])]))))).toEqual(new Array(6).fill(0));
        });

        it("cancelled after the first tile: CANCELLED at once, and the worker encodes the next scene", async () => {
            const abort = new AbortController();
            const error = await rejectionOf(
                client.encodeScene({ splats: rows.slice(), worldMatrix, tileGaussians: 1000 }, { signal: abort.signal, onProgress: (p) => { if (p.tile === 1) abort.abort(); } })
            );
            expect(isSemanticError(error, "CANCELLED")).withContext(String(error)).toBeTrue();
            const again = await client.encodeScene({ splats: rows.slice(), worldMatrix, tileGaussians: 1000 });
            expect(again.tiles).toBe(3);
        });
    });
});
