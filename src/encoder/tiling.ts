// Tiled encoding (docs/ENCODER.md, "Large scenes: tiles"): a scene of millions of Gaussians goes through the encoder
// one spatial tile at a time, so memory no longer grows with the scene beyond the per-Gaussian input and output
// arrays and one tile's model call. The whole scene's voxels, levels and curve orders are computed once
// (sceneSkeleton: integers only); tiles are runs of its level-0 voxels along the Morton curve, cut where the curve
// leaves large aligned cubes (planTiles; each tile's core holds at most `tileGaussians`); each tile then encodes its
// core plus the core's RECEPTIVE FIELD, followed backwards through the network's attention patches, grid pooling and
// unpooling (receptiveField), laid out in the whole scene's own patches (serializeTile). Its core's features are
// therefore the whole-scene encode's, up to float rounding (measured: BENCHMARKS.md, "Tiled encoding"). The fields
// hold 1.04-2.8 times their cores (the curves' patches reach far at the coarse levels; the more so the smaller the
// core), which is the price of exactness; `haloMetres` clips them to a box around the core for speed, at the accuracy
// measured there. A scene of at most twice `tileGaussians` is encoded whole (one model call of that size needs no
// more memory than a tile and its field).
// Pure TypeScript (no onnxruntime, no Babylon): the worker and the Node command share it.
import { SemanticSplatError } from "../errors";
import { releaseBuffers } from "../util/releaseBuffers";
import type { EncoderBlocks } from "./inputs";
import {
    INPUT_CHANNELS,
    TWO_POW_24,
    type LevelSerialization,
    type SerializationConfig,
    type SerializedScene,
    mortonKeys,
    poolChildren,
    sortedIndices,
    uniqueVoxels,
    voxelCoordinate,
    mortonCode,
    voxelFeatures,
} from "./serialization";

/** Gaussians per tile core by default. onnxruntime needs about 0.8 KB per Gaussian of a model call with the shipped
 *  encoder (2.7 KB before its dimensions were unnamed: BENCHMARKS.md, "The encoder's working memory"), so a core of
 *  100k and its field (up to 300k) stay near 0.25 GB. */
export const DEFAULT_TILE_GAUSSIANS = 100_000;
/** By default each tile takes its whole receptive field (exact features). */
export const DEFAULT_HALO_METRES = Infinity;
/** The smallest tile core accepted: below it the receptive field dominates and tiles only cost time. */
export const MIN_TILE_GAUSSIANS = 1000;
/** A scene of at most this many times `tileGaussians` (and at most `fieldGaussians`) is encoded whole. */
export const WHOLE_SCENE_FACTOR = 2;
/** By default one model call holds at most this many times `tileGaussians` (a core and its receptive field): the
 *  largest call sets the encode's peak memory. At 6 M Gaussians with 100k cores the curve-aligned fields stay below
 *  200k (docs/ENCODER.md, "Large scenes: tiles"); the k-d split used before needed the cap for 7 of 61 cores. */
export const FIELD_FACTOR = 3;
/** A core whose field is too large is halved only while it holds more than `tileGaussians` / this: a field that does
 *  not shrink with its core (a scene that is all one patch at the coarse levels) costs at most 3 halvings. */
const MAX_SPLIT_FACTOR = 8;

export interface TilingOptions {
    /** Most Gaussians in one tile's core (default DEFAULT_TILE_GAUSSIANS); a scene of at most twice this is encoded
     *  whole; `Infinity` always encodes whole (memory then grows with the scene). */
    tileGaussians?: number;
    /** Most Gaussians in one model call (a tile's core and its receptive field; default FIELD_FACTOR x
     *  `tileGaussians`): a tile whose field holds more is halved (splitTile), down to cores of `tileGaussians` / 8.
     *  What bounds an encode's peak memory (onnxruntime needs about 0.8 KB per Gaussian of a call). */
    fieldGaussians?: number;
    /** Clips each tile's receptive field to this distance (metres, encoder frame) around the core's bounding box:
     *  faster, no longer exact (BENCHMARKS.md, "Tiled encoding"). Default Infinity: the whole field, exact. */
    haloMetres?: number;
}

export interface TilePlan {
    /** Number of tiles. */
    count: number;
    /** tileOf[i]: the tile whose core holds Gaussian i. */
    tileOf: Int32Array;
    /** Core sizes. */
    coreCounts: Int32Array;
    /** (tiles, 6): min x y z, max x y z of each core's positions. */
    boxes: Float32Array;
    /** Tile t's core Gaussians are coreOrder[coreStart[t] .. coreStart[t + 1]). */
    coreStart: Int32Array;
    coreOrder: Int32Array;
}

/** Checks the tiling options and returns them with their defaults. */
export function resolveTilingOptions(options: TilingOptions = {}): { tileGaussians: number; fieldGaussians: number; haloMetres: number } {
    const tileGaussians = options.tileGaussians ?? DEFAULT_TILE_GAUSSIANS;
    const haloMetres = options.haloMetres ?? DEFAULT_HALO_METRES;
    if (!(tileGaussians === Infinity || (Number.isInteger(tileGaussians) && tileGaussians >= MIN_TILE_GAUSSIANS))) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `tileGaussians must be an integer >= ${MIN_TILE_GAUSSIANS} or Infinity, got ${String(tileGaussians)}`);
    }
    const fieldGaussians = options.fieldGaussians ?? FIELD_FACTOR * tileGaussians;
    if (!(fieldGaussians === Infinity || (Number.isInteger(fieldGaussians) && fieldGaussians >= MIN_TILE_GAUSSIANS))) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `fieldGaussians must be an integer >= ${MIN_TILE_GAUSSIANS} or Infinity, got ${String(fieldGaussians)}`);
    }
    if (!(haloMetres >= 0)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `haloMetres must be a number >= 0 (Infinity: the whole receptive field), got ${String(haloMetres)}`);
    }
    return { tileGaussians, fieldGaussians, haloMetres };
}

/**
 * What a tiled encode in Node holds at its peak, from the runs in BENCHMARKS.md ("Large scenes in Node", shipped
 * K = 16 encoder, the encode command's malloc settings): a base (the runtime, onnxruntime, the model), the
 * per-Gaussian arrays (channels, plan, skeleton, spill bookkeeping: 0.26 GB more at 6 M than at 3 M Gaussians with
 * the same tiles, 87 B a Gaussian) and the largest model call. The command runs onnxruntime with its CPU arena (a new
 * session, so an empty arena, for a call larger than the session's earlier ones), which holds more than the live
 * tensors, by an amount that jumps with the arena's growth steps: measured 1.03-1.49 KB per Gaussian of the call once base and arrays are taken off (a whole
 * 0.96 M encode: 1.37 GB; 6 M in calls of at most 596k: 1.70 GB). 1.5 KB is the top of that range, so the budget
 * holds (2026-12-07: 3 M peaked at 1.38 GB, 6 M at 1.32 GB under a 1.5 GB budget; with the curve-aligned tiles of
 * call / BUDGET_FIELD_RATIO, 1.05 and 1.24 GiB).
 */
export const NODE_MEMORY_MODEL = { baseBytes: 0.29e9, bytesPerGaussian: 87, bytesPerCallGaussian: 1500, bytesPerExtraSession: 0.05e9 } as const;
export interface NodeMemoryModel {
    baseBytes: number;
    bytesPerGaussian: number;
    bytesPerCallGaussian: number;
    /** A further onnxruntime session in its own worker thread (concurrent calls): its isolate, runtime and model. */
    bytesPerExtraSession: number;
}
/** A memory budget's cores are its largest model call divided by this: the curve-aligned fields of cores of 100k or
 *  more are 1.04-1.3 times their cores (BENCHMARKS.md, "Curve-aligned tiles"); a larger field is halved first. */
export const BUDGET_FIELD_RATIO = 1.25;
/** The smallest core a memory budget may ask for (below it the fields cost several times the cores' work). */
export const MIN_BUDGET_TILE_GAUSSIANS = 25_000;

/** Model calls in flight at once (encodeChannels' `concurrentCalls`, the memory plan's share): an integer >= 1. */
export function checkConcurrentCalls(calls: number): number {
    if (!(Number.isInteger(calls) && calls >= 1)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `concurrentCalls must be an integer >= 1, got ${String(calls)}`);
    }
    return calls;
}

/**
 * The largest tiles whose encode fits `budgetBytes` of peak memory (NODE_MEMORY_MODEL): the model call may hold what
 * is left after the base and the scene's per-Gaussian arrays (`fieldGaussians`), and cores are that divided by
 * BUDGET_FIELD_RATIO (a larger field is halved first); with `concurrentCalls` calls in flight at once, each gets
 * its share (and each further session costs `bytesPerExtraSession`). A scene that fits one call is encoded whole
 * (`tileGaussians: Infinity`). `fits` is false when even the smallest tiles (MIN_BUDGET_TILE_GAUSSIANS) exceed the
 * budget: those are returned, and the caller says so. Larger cores do less halo work: at 3 M Gaussians on 2 cores,
 * 800k cores encode in 15 s where 100k take 31 s.
 */
export function tilingForMemoryBudget(count: number, budgetBytes: number, model: NodeMemoryModel = NODE_MEMORY_MODEL, concurrentCalls = 1): { tileGaussians: number; fieldGaussians: number; fits: boolean } {
    if (!(budgetBytes > 0) || !Number.isFinite(budgetBytes)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `the memory budget must be a positive number of bytes, got ${String(budgetBytes)}`);
    }
    checkConcurrentCalls(concurrentCalls);
    const free = budgetBytes - model.baseBytes - model.bytesPerGaussian * count;
    // a scene encoded whole is one call, whatever the concurrency
    if (Math.floor(free / model.bytesPerCallGaussian) >= count) return { tileGaussians: Infinity, fieldGaussians: Infinity, fits: true };
    // else every call in flight holds its own, and each further session its own runtime
    const callGaussians = Math.floor((free - (concurrentCalls - 1) * model.bytesPerExtraSession) / (concurrentCalls * model.bytesPerCallGaussian));
    const tileGaussians = Math.floor(callGaussians / BUDGET_FIELD_RATIO);
    if (tileGaussians < MIN_BUDGET_TILE_GAUSSIANS) {
        return { tileGaussians: MIN_BUDGET_TILE_GAUSSIANS, fieldGaussians: Math.floor(BUDGET_FIELD_RATIO * MIN_BUDGET_TILE_GAUSSIANS), fits: false };
    }
    return { tileGaussians, fieldGaussians: callGaussians, fits: true };
}

/** Whether a tile whose core holds `core` Gaussians and whose model call would hold `field` is halved first. */
export function tileTooLarge(core: number, field: number, tileGaussians: number, fieldGaussians: number): boolean {
    return field > fieldGaussians && core > Math.max(tileGaussians / MAX_SPLIT_FACTOR, 2 * MIN_TILE_GAUSSIANS);
}

/** A cut may move from its target by at most this fraction of the range it cuts to reach a larger aligned cube. */
const CUT_WINDOW = 1 / 8;

/**
 * Splits the scene into cores of at most `tileGaussians` as RANGES OF THE CURVE: the skeleton numbers level-0 voxels
 * along their xyz Morton order, and each core is a run of consecutive voxels with all their Gaussians. The curve is
 * cut in two recursively, each range that holds more than `tileGaussians` at the voxel boundary, within CUT_WINDOW of
 * the range, where the curve leaves the largest aligned cube (the highest bit in which the two voxels' coordinates
 * differ), nearest to where the range's n = ceil(range / tileGaussians) cores would split floor(n / 2) : ceil(n / 2).
 * Why: an aligned cube is one contiguous run in EVERY axis order at every level (its voxels share the top bits of each
 * coordinate), so a core made of large cubes is cut by only a few patches of each block's order, and its receptive
 * field stays close to it; the first cuts, with a window of 1/8 of a large range, find the largest cubes (the k-d
 * split used before cut straight through patches: fields 1.2-3.9 times their cores; cutting the curve into n even
 * shares, each cut within 1/8 of a core, 1.17 times at 3 M Gaussians in 240k cores and 1.35 at 6 M in 170k ones, where
 * this gives 1.14 and 1.19: BENCHMARKS.md, "Curve-aligned tiles" and "Bisected tiles"). A moved cut can leave a side
 * one core more than n / 2 would, so a plan may have a few more cores than ceil(count / tileGaussians).
 * Deterministic; the plan's coreOrder is the skeleton's voxelGaussians (no copy), which later splits cut but never
 * reorder.
 */
export function planTiles(skeleton: SceneSkeleton, channels: Float32Array, tileGaussians: number): TilePlan {
    const count = skeleton.count;
    const cuts = [0];
    // an explicit stack (right side pushed first): the cuts come out in curve order without recursion
    const ranges: Array<[number, number]> = [[0, count]];
    while (ranges.length > 0) {
        const [lo, hi] = ranges.pop()!;
        if (hi - lo <= tileGaussians) {
            cuts.push(hi);
            continue;
        }
        const n = Math.ceil((hi - lo) / tileGaussians);
        const cut = cutRange(skeleton, lo, hi, lo + Math.round(((hi - lo) * Math.floor(n / 2)) / n));
        ranges.push([cut, hi], [lo, cut]);
    }
    const parts = cuts.length - 1;
    const coreStart = Int32Array.from(cuts);
    const order = skeleton.voxelGaussians;
    const tileOf = new Int32Array(count);
    const coreCounts = new Int32Array(parts);
    const boxes = new Float32Array(parts * 6);
    for (let t = 0; t < parts; t++) {
        for (let j = coreStart[t]; j < coreStart[t + 1]; j++) tileOf[order[j]] = t;
        coreCounts[t] = coreStart[t + 1] - coreStart[t];
        boxes.set(bounds(channels, order, coreStart[t], coreStart[t + 1]), 6 * t);
    }
    return { count: parts, tileOf, coreCounts, boxes, coreStart, coreOrder: order };
}

/**
 * The plan with tile `tile`'s core halved at the most aligned voxel boundary within CUT_WINDOW of its middle (as
 * planTiles cuts): tiles `tile` and `tile + 1` hold the halves, later tiles move up by one. For a core whose receptive
 * field is too large for one model call (encodeChannels' `fieldGaussians`): the halves' fields are smaller. Only the
 * halves' boxes are computed and only later tiles renumbered (in the old plan's tileOf: the old plan is not used
 * again). O(count) at most.
 */
export function splitTile(skeleton: SceneSkeleton, channels: Float32Array, plan: TilePlan, tile: number): TilePlan {
    const order = plan.coreOrder;
    const lo = plan.coreStart[tile], hi = plan.coreStart[tile + 1];
    const cut = cutRange(skeleton, lo, hi, lo + ((hi - lo) >> 1));
    const count = plan.count + 1;
    const coreStart = new Int32Array(count + 1);
    coreStart.set(plan.coreStart.subarray(0, tile + 1));
    coreStart[tile + 1] = cut;
    coreStart.set(plan.coreStart.subarray(tile + 1), tile + 2);
    const coreCounts = new Int32Array(count);
    for (let t = 0; t < count; t++) coreCounts[t] = coreStart[t + 1] - coreStart[t];
    const boxes = new Float32Array(count * 6);
    boxes.set(plan.boxes.subarray(0, 6 * tile));
    boxes.set(bounds(channels, order, lo, cut), 6 * tile);
    boxes.set(bounds(channels, order, cut, hi), 6 * (tile + 1));
    boxes.set(plan.boxes.subarray(6 * (tile + 1)), 6 * (tile + 2));
    const tileOf = plan.tileOf;
    for (let t = tile + 1; t < count; t++) for (let j = coreStart[t]; j < coreStart[t + 1]; j++) tileOf[order[j]] = t;
    return { count, tileOf, coreCounts, boxes, coreStart, coreOrder: order };
}

/** Where to cut the range [lo, hi) of the curve near `target`: alignedCut within CUT_WINDOW of the range, never at
 *  either end. */
function cutRange(skeleton: SceneSkeleton, lo: number, hi: number, target: number): number {
    const window = Math.floor((hi - lo) * CUT_WINDOW);
    return alignedCut(skeleton, Math.max(lo + 1, target - window), Math.min(hi - 1, target + window), target);
}

/**
 * The position in the skeleton's voxel-ordered Gaussians (voxelGaussians) in [lo, hi] to cut at: a voxel boundary
 * whose two voxels differ in the highest coordinate bit (they lie in different aligned cubes of the largest side),
 * the nearest to `target` among equals; `target` itself when no boundary lies in the range (a voxel holding more
 * Gaussians than the range is wide is then cut inside).
 */
function alignedCut(skeleton: SceneSkeleton, lo: number, hi: number, target: number): number {
    const start = skeleton.voxelStart, coords = skeleton.levels[0].coords;
    const v0 = skeleton.levels[0].count;
    // the first voxel starting at or after lo (binary search over the voxel starts)
    let a = 1, b = v0;
    while (a < b) {
        const m = (a + b) >> 1;
        if (start[m] < lo) a = m + 1;
        else b = m;
    }
    let best = target, bestBit = -1, bestDistance = Infinity;
    for (let v = a; v < v0 && start[v] <= hi; v++) {
        const diff = (coords[3 * v - 3] ^ coords[3 * v]) | (coords[3 * v - 2] ^ coords[3 * v + 1]) | (coords[3 * v - 1] ^ coords[3 * v + 2]);
        const bit = 31 - Math.clz32(diff), distance = Math.abs(start[v] - target);
        if (bit > bestBit || (bit === bestBit && distance < bestDistance)) {
            best = start[v];
            bestBit = bit;
            bestDistance = distance;
        }
    }
    return best;
}

function bounds(channels: Float32Array, order: Int32Array, lo: number, hi: number): Float32Array {
    const box = new Float32Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
    for (let j = lo; j < hi; j++) {
        const o = order[j] * INPUT_CHANNELS;
        for (let a = 0; a < 3; a++) {
            const p = channels[o + a];
            if (p < box[a]) box[a] = p;
            if (p > box[3 + a]) box[3 + a] = p;
        }
    }
    return box;
}

/** The channels of `members` (count x 10), gathered into one array. */
export function gatherChannels(channels: Float32Array, members: Int32Array): Float32Array {
    const out = new Float32Array(members.length * INPUT_CHANNELS);
    for (let j = 0, o = 0; j < members.length; j++) {
        const from = members[j] * INPUT_CHANNELS;
        for (let c = 0; c < INPUT_CHANNELS; c++) out[o++] = channels[from + c];
    }
    return out;
}

/** One level of the whole scene's voxel structure. */
interface SkeletonLevel {
    count: number;
    /** Children of each voxel at the previous level (levels >= 1), CSR: childStart (V + 1), children (V_prev). */
    childStart: Int32Array | null;
    children: Int32Array | null;
    /** Scratch marks of the receptive-field closure: voxels and patches, by stamp (no reset needed). */
    voxelStamp: Int32Array;
    patchStamp: Int32Array;
    /** (V, 3) voxel coordinates. */
    coords: Int32Array;
    /** (V_prev) parent of each previous-level voxel (levels >= 1). */
    parent: Int32Array | null;
    /** (O, V) voxel at each rank of each (unpadded) order. */
    orders: Int32Array;
    /** (O, V) rank of each voxel in each order. */
    ranks: Int32Array;
    /** Scratch: the current tile's local id of each voxel, -1 when not in it (reset after each tile). */
    localOf: Int32Array;
}

/** The whole scene's voxels, levels and curve orders (serializeScene's structure without the voxel inputs, the
 *  pooling tables and the padded feeds): what lets each tile see the same patches as the whole scene. */
export interface SceneSkeleton {
    count: number;
    /** The Gaussians of level-0 voxel v are voxelGaussians[voxelStart[v] .. voxelStart[v + 1]), ascending. */
    voxelStart: Int32Array;
    voxelGaussians: Int32Array;
    /** Stamps handed out to the closure's scratch marks. */
    stamp: number;
    origin: Float32Array;
    /** (N) level-0 voxel of each Gaussian. */
    gaussianVoxel: Int32Array;
    levels: SkeletonLevel[];
}

/** The whole scene's skeleton (voxels on the grid at `origin`, the same numbering and orders as serializeScene). */
export function sceneSkeleton(channels: Float32Array, count: number, config: SerializationConfig, origin: ArrayLike<number>): SceneSkeleton {
    const level0 = levelZeroVoxels(channels, count, config.gridSize, origin);
    const gaussianVoxel = level0.ids;
    let levelCoords = level0.coords, levelCount = level0.count, parent: Int32Array | null = null;
    const levels: SkeletonLevel[] = [];
    const orderCount = config.orders.length;
    for (let l = 0; l < config.levels; l++) {
        if (l > 0) {
            const prev = levels[l - 1];
            const halved = new Int32Array(prev.coords.length);
            for (let i = 0; i < halved.length; i++) halved[i] = prev.coords[i] >> 1;
            const u = uniqueVoxels(halved, prev.count);
            levelCoords = u.coords; levelCount = u.count; parent = u.ids;
        }
        const orders = new Int32Array(orderCount * levelCount);
        const ranks = new Int32Array(orderCount * levelCount);
        config.orders.forEach((name, o) => {
            const order = sortedIndices(mortonKeys(levelCoords, levelCount, name));
            orders.set(order, o * levelCount);
            for (let j = 0; j < levelCount; j++) ranks[o * levelCount + order[j]] = j;
        });
        let childStart: Int32Array | null = null, children: Int32Array | null = null;
        if (parent) {
            childStart = new Int32Array(levelCount + 1);
            for (let i = 0; i < parent.length; i++) childStart[parent[i] + 1]++;
            for (let v = 0; v < levelCount; v++) childStart[v + 1] += childStart[v];
            const fill = childStart.slice(0, levelCount);
            children = new Int32Array(parent.length);
            for (let i = 0; i < parent.length; i++) children[fill[parent[i]]++] = i;
        }
        levels.push({
            count: levelCount, coords: levelCoords, parent, childStart, children, orders, ranks,
            localOf: new Int32Array(levelCount).fill(-1),
            voxelStamp: new Int32Array(levelCount),
            patchStamp: new Int32Array(Math.ceil(levelCount / config.patchSize)),
        });
    }
    const v0 = levels[0].count;
    const voxelStart = new Int32Array(v0 + 1);
    for (let i = 0; i < count; i++) voxelStart[gaussianVoxel[i] + 1]++;
    for (let v = 0; v < v0; v++) voxelStart[v + 1] += voxelStart[v];
    // level0.sorted already lists the Gaussians voxel by voxel (voxels numbered along it), ascending within each
    return { count, voxelStart, voxelGaussians: level0.sorted, stamp: 0, origin: Float32Array.from(origin), gaussianVoxel, levels };
}

/**
 * uniqueVoxels of the Gaussians' level-0 voxel coordinates on the grid at `origin` (voxelCoordinates, the same
 * float32 arithmetic and checks), without holding those coordinates: the Morton keys are made from the positions
 * directly, and the distinct voxels' coordinates are computed again from one Gaussian of each. What the skeleton of a
 * scene of millions of Gaussians needs without a (count x 3) array and a growing list beside its sort (at 6 M
 * Gaussians: about 0.15 GB less at the peak of building it).
 */
export function levelZeroVoxels(channels: Float32Array, count: number, gridSize: number, origin: ArrayLike<number>): { coords: Int32Array; count: number; ids: Int32Array; sorted: Int32Array } {
    const g = Math.fround(gridSize);
    const o = Float32Array.from(origin);
    const hi = new Uint32Array(count), lo = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
        // mortonKeys' "xyz" halves of the voxel (x, y, z)
        const code = mortonCode(voxelCoordinate(channels, i, 0, o[0], g), voxelCoordinate(channels, i, 1, o[1], g), voxelCoordinate(channels, i, 2, o[2], g));
        hi[i] = Math.floor(code / TWO_POW_24);
        lo[i] = code % TWO_POW_24;
    }
    const sorted = sortedIndices({ hi, lo });
    // position j of the sort starts a new voxel
    const starts = (j: number) => j === 0 || hi[sorted[j]] !== hi[sorted[j - 1]] || lo[sorted[j]] !== lo[sorted[j - 1]];
    let runs = 0;
    for (let j = 0; j < count; j++) if (starts(j)) runs++;
    const coords = new Int32Array(runs * 3);
    const ids = new Int32Array(count);
    let run = -1;
    for (let j = 0; j < count; j++) {
        const i = sorted[j];
        if (starts(j)) {
            run++;
            for (let a = 0; a < 3; a++) coords[3 * run + a] = voxelCoordinate(channels, i, a, o[a], g);
        }
        ids[i] = run;
    }
    return { coords, count: runs, ids, sorted };
}

/** Frees the plan's and the skeleton's arrays at once (releaseBuffers): a tiled encode calls it when it is done, so
 *  that they do not stay resident until a garbage collection (about 0.35 GB at 6 M Gaussians). Neither is usable
 *  afterwards. */
export function releaseTileStructures(plan: TilePlan, skeleton: SceneSkeleton): void {
    releaseBuffers(plan.tileOf, plan.coreCounts, plan.boxes, plan.coreStart); // coreOrder is voxelGaussians
    releaseBuffers(skeleton.voxelStart, skeleton.voxelGaussians, skeleton.gaussianVoxel);
    for (const l of skeleton.levels) releaseBuffers(l.childStart, l.children, l.voxelStamp, l.patchStamp, l.coords, l.parent, l.orders, l.ranks, l.localOf);
}

/** The distinct values of `value(0..n-1)` (voxel ids of `level`), ascending; marks their local ids in level.localOf. */
function distinctVoxels(level: SkeletonLevel, n: number, value: (j: number) => number): Int32Array {
    const found = new Int32Array(n);
    let c = 0;
    for (let j = 0; j < n; j++) {
        const v = value(j);
        if (level.localOf[v] === -1) {
            level.localOf[v] = 0;
            found[c++] = v;
        }
    }
    const ids = found.slice(0, c).sort();
    for (let i = 0; i < c; i++) level.localOf[ids[i]] = i;
    return ids;
}

/**
 * One tile's serialization on the whole scene's skeleton: `members` (ascending scene indices) with their gathered
 * channels. Voxels are the scene's voxels (numbered in the same order), and each curve order keeps the whole
 * scene's patches: every patch the tile touches is laid out with the scene voxels it holds in their own slots
 * (the whole scene's padding rule included), slots of voxels outside the tile repeat the patch's present voxels,
 * and orders with fewer patches repeat their first patch up to the common padded length. A patch entirely inside
 * the tile is then exactly the whole scene's patch; with all Gaussians as members the result equals serializeScene.
 */
export function serializeTile(tileChannels: Float32Array, members: Int32Array, skeleton: SceneSkeleton, config: SerializationConfig): SerializedScene {
    const m = members.length;
    const P = config.patchSize;
    const orderCount = config.orders.length;
    const levelIds: Int32Array[] = [];
    try {
        // level 0: the members' voxels, their inputs from the members' channels
        const g0 = skeleton.levels[0];
        const ids0 = distinctVoxels(g0, m, (j) => skeleton.gaussianVoxel[members[j]]);
        levelIds.push(ids0);
        const v0 = ids0.length;
        const gaussianVoxel = new Int32Array(m);
        const start = new Int32Array(v0 + 1);
        for (let j = 0; j < m; j++) {
            const v = g0.localOf[skeleton.gaussianVoxel[members[j]]];
            gaussianVoxel[j] = v;
            start[v + 1]++;
        }
        for (let v = 0; v < v0; v++) start[v + 1] += start[v];
        const byVoxel = new Int32Array(m);
        for (let j = 0; j < m; j++) byVoxel[start[gaussianVoxel[j]]++] = j; // stable: ascending within each voxel
        const levels: LevelSerialization[] = [];
        let coords0: Int32Array | null = null;
        for (let l = 0; l < config.levels; l++) {
            const g = skeleton.levels[l];
            let ids: Int32Array;
            let unpool: Int32Array | null = null;
            if (l === 0) ids = ids0;
            else {
                const prevIds = levelIds[l - 1];
                const parentOf = g.parent!;
                ids = distinctVoxels(g, prevIds.length, (i) => parentOf[prevIds[i]]);
                levelIds.push(ids);
                unpool = new Int32Array(prevIds.length);
                for (let i = 0; i < prevIds.length; i++) unpool[i] = g.localOf[parentOf[prevIds[i]]];
            }
            const v = ids.length;
            const coords = new Int32Array(v * 3);
            for (let i = 0; i < v; i++) {
                coords[3 * i] = g.coords[3 * ids[i]];
                coords[3 * i + 1] = g.coords[3 * ids[i] + 1];
                coords[3 * i + 2] = g.coords[3 * ids[i] + 2];
            }
            if (l === 0) coords0 = coords;
            const { orders, inverses, paddedCount } = tileOrders(g, ids, P, orderCount);
            levels.push({ count: v, coords, orders, paddedCount, inverses, pool: unpool ? poolChildren(unpool, v) : null, unpool });
        }
        const voxelFeaturesOut = voxelFeatures(tileChannels, byVoxel, gaussianVoxel, coords0!, v0, skeleton.origin, config.gridSize);
        return { count: m, gaussianVoxel, voxelFeatures: voxelFeaturesOut, levels, sceneMin: skeleton.origin };
    } finally {
        levelIds.forEach((ids, l) => {
            const localOf = skeleton.levels[l].localOf;
            for (let i = 0; i < ids.length; i++) localOf[ids[i]] = -1;
        });
    }
}

/** The tile's padded orders and inverses at one level (see serializeTile). */
function tileOrders(g: SkeletonLevel, ids: Int32Array, P: number, orderCount: number): { orders: Int32Array; inverses: Int32Array; paddedCount: number } {
    const v = ids.length, total = g.count;
    const patchLists: Int32Array[] = [];
    let most = 0;
    for (let o = 0; o < orderCount; o++) {
        const patches = new Int32Array(v);
        for (let i = 0; i < v; i++) patches[i] = Math.floor(g.ranks[o * total + ids[i]] / P);
        patches.sort();
        let c = 0;
        for (let i = 0; i < v; i++) if (i === 0 || patches[i] !== patches[i - 1]) patches[c++] = patches[i];
        patchLists.push(patches.subarray(0, c));
        most = Math.max(most, c);
    }
    const paddedCount = most * P;
    const orders = new Int32Array(orderCount * paddedCount);
    const inverses = new Int32Array(orderCount * v);
    const slots = new Int32Array(P);
    const presentSlots = new Int32Array(P);
    for (let o = 0; o < orderCount; o++) {
        const patches = patchLists[o];
        const out = orders.subarray(o * paddedCount, (o + 1) * paddedCount);
        for (let q = 0; q < patches.length; q++) {
            const p = patches[q];
            let present = 0;
            for (let s = 0; s < P; s++) {
                let r = p * P + s;
                const padding = r >= total;
                if (padding) r = r >= P ? r - P : r % total; // the whole scene's padding rule (padOrder)
                const local = g.localOf[g.orders[o * total + r]];
                slots[s] = local;
                if (local >= 0) {
                    presentSlots[present++] = local;
                    if (!padding) inverses[o * v + local] = q * P + s;
                }
            }
            // slots of voxels outside the tile repeat the patch's present voxels (at least one: the tile touches it)
            for (let s = 0, k = 0; s < P; s++) if (slots[s] < 0) slots[s] = presentSlots[k++ % present];
            out.set(slots, q * P);
        }
        for (let q = patches.length; q < most; q++) out.copyWithin(q * P, 0, P);
    }
    return { orders, inverses, paddedCount };
}

/** Voxels of `level` sharing a patch of order `order` with any voxel of `list` (the list's own voxels included, and
 *  for the last patch the previous patch's voxels its padding repeats): what one attention block reads. */
function patchNeighbours(skeleton: SceneSkeleton, level: number, list: Int32Array, order: number, P: number): Int32Array {
    const g = skeleton.levels[level];
    const total = g.count;
    const stamp = ++skeleton.stamp;
    const out: number[] = [];
    for (let i = 0; i < list.length; i++) {
        const p = Math.floor(g.ranks[order * total + list[i]] / P);
        if (g.patchStamp[p] === stamp) continue;
        g.patchStamp[p] = stamp;
        for (let s = 0; s < P; s++) {
            let r = p * P + s;
            if (r >= total) r = r >= P ? r - P : r % total;
            const u = g.orders[order * total + r];
            if (g.voxelStamp[u] !== stamp) {
                g.voxelStamp[u] = stamp;
                out.push(u);
            }
        }
    }
    return Int32Array.from(out);
}

/** The distinct parents (level + 1) of `list` (level). */
function parentsOf(skeleton: SceneSkeleton, level: number, list: Int32Array): Int32Array {
    const g = skeleton.levels[level + 1];
    const stamp = ++skeleton.stamp;
    const out: number[] = [];
    for (let i = 0; i < list.length; i++) {
        const p = g.parent![list[i]];
        if (g.voxelStamp[p] !== stamp) {
            g.voxelStamp[p] = stamp;
            out.push(p);
        }
    }
    return Int32Array.from(out);
}

/** Every child (level - 1) of `list` (level). */
function childrenOf(skeleton: SceneSkeleton, level: number, list: Int32Array): Int32Array {
    const g = skeleton.levels[level];
    let n = 0;
    for (let i = 0; i < list.length; i++) n += g.childStart![list[i] + 1] - g.childStart![list[i]];
    const out = new Int32Array(n);
    for (let i = 0, j = 0; i < list.length; i++) {
        for (let c = g.childStart![list[i]]; c < g.childStart![list[i] + 1]; c++) out[j++] = g.children![c];
    }
    return out;
}

/**
 * The level-0 voxels whose inputs the encoder's outputs at `core` (level-0 voxels) depend on: the receptive field,
 * followed backwards through the network (factory/rtgs2/encoder/model.py): each attention block reads the whole
 * patches (of its order) of the voxels it must produce, a grid pool reads all children, an unpooling reads the
 * parent and the skip. A tile whose members are every Gaussian of these voxels computes its core's features as the
 * whole scene does: the same voxels in the same patches, on the same inputs. Marks the result in level 0's
 * voxelStamp with the returned stamp.
 */
export function receptiveField(skeleton: SceneSkeleton, core: Int32Array, blocks: EncoderBlocks, config: SerializationConfig): { voxels: Int32Array; stamp: number } {
    const P = config.patchSize, orderCount = config.orders.length, L = config.levels;
    // block b uses order b mod O: encoder blocks level by level, then the decoder stages (levels L-2 .. 0)
    const encoderOrders: number[][] = [], decoderOrders: number[][] = [];
    let b = 0;
    for (let l = 0; l < L; l++) encoderOrders.push(Array.from({ length: blocks.encoder[l] }, () => b++ % orderCount));
    for (let i = 0; i < L - 1; i++) decoderOrders.push(Array.from({ length: blocks.decoder[i] }, () => b++ % orderCount));
    const inputs: Int32Array[] = [];
    // x after level l's encoder blocks is needed at `list`: returns nothing, collects the level-0 inputs needed
    const encoderOutput = (l: number, list: Int32Array): void => {
        for (const o of [...encoderOrders[l]].reverse()) list = patchNeighbours(skeleton, l, list, o, P);
        if (l === 0) inputs.push(list);
        else encoderOutput(l - 1, childrenOf(skeleton, l, list));
    };
    // x after the decoder stage at level l (after the encoders at the deepest level) is needed at `list`
    const decoderOutput = (l: number, list: Int32Array): void => {
        if (l === L - 1) return encoderOutput(l, list);
        for (const o of [...decoderOrders[L - 2 - l]].reverse()) list = patchNeighbours(skeleton, l, list, o, P);
        encoderOutput(l, list); // the skip
        decoderOutput(l + 1, parentsOf(skeleton, l, list)); // the coarse features through the unpooling
    };
    decoderOutput(0, core);
    const g0 = skeleton.levels[0];
    const stamp = ++skeleton.stamp;
    const out: number[] = [];
    for (const list of inputs) {
        for (let i = 0; i < list.length; i++) {
            const v = list[i];
            if (g0.voxelStamp[v] !== stamp) {
                g0.voxelStamp[v] = stamp;
                out.push(v);
            }
        }
    }
    return { voxels: Int32Array.from(out), stamp };
}

/** The level-0 voxels of a tile's core Gaussians. */
export function coreVoxels(skeleton: SceneSkeleton, plan: TilePlan, tile: number): Int32Array {
    const g0 = skeleton.levels[0];
    const stamp = ++skeleton.stamp;
    const out: number[] = [];
    for (let j = plan.coreStart[tile]; j < plan.coreStart[tile + 1]; j++) {
        const v = skeleton.gaussianVoxel[plan.coreOrder[j]];
        if (g0.voxelStamp[v] !== stamp) {
            g0.voxelStamp[v] = stamp;
            out.push(v);
        }
    }
    return Int32Array.from(out);
}

/** The Gaussians of `field` (receptiveField's level-0 voxels, which hold the core's), ascending, and which belong to
 *  `tile`'s core. A finite `haloMetres` keeps only the others within that distance of the core's bounding box. */
export function fieldMembers(
    channels: Float32Array, skeleton: SceneSkeleton, plan: TilePlan, tile: number, field: Int32Array, haloMetres: number
): { members: Int32Array; isCore: Uint8Array } {
    const tileOf = plan.tileOf, start = skeleton.voxelStart, gaussians = skeleton.voxelGaussians;
    const b = plan.boxes.subarray(6 * tile, 6 * tile + 6);
    const x0 = b[0] - haloMetres, y0 = b[1] - haloMetres, z0 = b[2] - haloMetres;
    const x1 = b[3] + haloMetres, y1 = b[4] + haloMetres, z1 = b[5] + haloMetres;
    const clip = Number.isFinite(haloMetres);
    let n = 0;
    for (let f = 0; f < field.length; f++) n += start[field[f] + 1] - start[field[f]];
    const found = new Int32Array(n);
    let m = 0;
    for (let f = 0; f < field.length; f++) {
        for (let j = start[field[f]]; j < start[field[f] + 1]; j++) {
            const i = gaussians[j];
            if (clip && tileOf[i] !== tile) {
                const o = i * INPUT_CHANNELS;
                const x = channels[o], y = channels[o + 1], z = channels[o + 2];
                if (!(x >= x0 && x <= x1 && y >= y0 && y <= y1 && z >= z0 && z <= z1)) continue;
            }
            found[m++] = i;
        }
    }
    const members = found.slice(0, m).sort();
    const isCore = new Uint8Array(m);
    for (let j = 0; j < m; j++) isCore[j] = tileOf[members[j]] === tile ? 1 : 0;
    return { members, isCore };
}

