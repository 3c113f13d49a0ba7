// The Gaussian encoder's out-of-graph preparation (docs/ENCODER.md, "Serialization"): voxelization, voxel input
// features, Morton orders with patch padding, grid-pooling indices. The SAME computations as
// factory/rtgs2/encoder/serialization.py, bit for bit (test/encoder/serialization.spec.ts runs both on the shared
// vectors in test/fixtures/encoder/). Rules that make the two languages agree:
// - voxel coordinates: float32 arithmetic, one rounding per operation (Math.fround), floor;
// - voxel features: float64 sums in Gaussian index order, one rounding to float32; only + * / (no exp/log, whose
//   last bit differs between V8 and libm);
// - sort keys: 48-bit Morton codes (two 24-bit halves, no BigInt), ties broken by index.
// Pure TypeScript: no Babylon, no onnxruntime, so it runs in the worker, in Node and in the page.
import { SemanticSplatError } from "../errors";

/** Bits per axis of a voxel coordinate: 16, so a Morton code has 48 bits, exact in a float64. */
export const COORD_BITS = 16;
export const MAX_COORD = (1 << COORD_BITS) - 1;
/** Grid pooling by 2 in each axis: at most 2 x 2 x 2 children per parent voxel. */
export const POOL_CHILDREN = 8;
/** ARCHITECTURE.md contract 2: x y z r g b opacity log_sx log_sy log_sz. */
export const INPUT_CHANNELS = 10;
/** Voxel input channels (see voxelFeatures). */
export const VOXEL_CHANNELS = 12;
const OPACITY_WEIGHT_EPS = 1e-3;
const COUNT_SATURATION = 8;
export const TWO_POW_24 = 16777216;

export type AxisOrder = "xyz" | "xzy" | "yxz" | "yzx" | "zxy" | "zyx";

export interface SerializationConfig {
    /** Voxel edge in metres (0.05 by default, METHOD.md). */
    gridSize: number;
    /** Voxels per attention patch. */
    patchSize: number;
    /** Levels of the encoder (level l+1 pools level l by 2 in each axis). */
    levels: number;
    /** Axis orders of the Morton curves; the first axis is the most significant in each bit triple. */
    orders: readonly AxisOrder[];
}

export const DEFAULT_SERIALIZATION: SerializationConfig = { gridSize: 0.05, patchSize: 64, levels: 3, orders: ["xyz", "yzx", "zxy", "zyx"] };

export interface LevelSerialization {
    count: number;
    /** (V, 3) voxel coordinates at this level. */
    coords: Int32Array;
    /** (O, Vp) voxel ids along each curve, padded to a multiple of the patch size. */
    orders: Int32Array;
    paddedCount: number;
    /** (O, V) position of each voxel in each (unpadded) order. */
    inverses: Int32Array;
    /** (V, 8) children at the previous level, padded with the first child (levels >= 1). */
    pool: Int32Array | null;
    /** (V_prev) parent at this level of each previous-level voxel (levels >= 1). */
    unpool: Int32Array | null;
}

export interface SerializedScene {
    count: number;
    /** (N) level-0 voxel of each Gaussian. */
    gaussianVoxel: Int32Array;
    /** (V0, 12) voxel inputs. */
    voxelFeatures: Float32Array;
    levels: LevelSerialization[];
    sceneMin: Float32Array;
}

const AXIS_INDEX: Record<string, number> = { x: 0, y: 1, z: 2 };

/** SPREAD8[b]: bit i of the byte b moved to bit 3 i (24 bits). */
const SPREAD8 = (() => {
    const t = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
        let v = 0;
        for (let i = 0; i < 8; i++) if (b & (1 << i)) v |= 1 << (3 * i);
        t[b] = v;
    }
    return t;
})();

/** The 48-bit z-order code of (a, b, c) (each < 2^16; `a` most significant in each bit triple) as an exact number. */
export function mortonCode(a: number, b: number, c: number): number {
    const lo = (SPREAD8[a & 255] << 2) | (SPREAD8[b & 255] << 1) | SPREAD8[c & 255];
    const hi = (SPREAD8[(a >>> 8) & 255] << 2) | (SPREAD8[(b >>> 8) & 255] << 1) | SPREAD8[(c >>> 8) & 255];
    return hi * TWO_POW_24 + lo;
}

function invalid(message: string): SemanticSplatError {
    return new SemanticSplatError("INVALID_ARGUMENT", message);
}

export function checkSerializationConfig(config: SerializationConfig): void {
    if (!(Number.isFinite(config.gridSize) && config.gridSize > 0)) {
        throw invalid(`grid size must be a positive finite number, got ${config.gridSize}`);
    }
    if (!(Number.isInteger(config.patchSize) && config.patchSize >= 1)) throw invalid(`patch_size must be a positive integer, got ${config.patchSize}`);
    if (!(Number.isInteger(config.levels) && config.levels >= 1 && config.levels <= 8)) throw invalid(`levels must be an integer in 1..8, got ${config.levels}`);
    if (config.orders.length === 0) throw invalid("orders must name at least one axis order");
    for (const o of config.orders) {
        if (o.length !== 3 || [...o].sort().join("") !== "xyz") throw invalid(`order '${o}' is not a permutation of 'xyz'`);
    }
}

/** Morton codes of `count` voxels as two 24-bit halves (the code is hi * 2^24 + lo). */
export interface MortonKeys {
    hi: Uint32Array;
    lo: Uint32Array;
}

const RADIX_BITS = 12;
const RADIX_BUCKETS = 1 << RADIX_BITS;
const RADIX_MASK = RADIX_BUCKETS - 1;

/** Indices 0..n-1 sorted by code ascending, ties by index: an LSD radix sort over four 12-bit digits. Each pass is
 *  stable, so equal codes keep index order, the same total order as Python's stable argsort (no comparator sort:
 *  500k Gaussians sort in tens of milliseconds). A digit that every key shares skips its scatter. */
export function sortedIndices(keys: MortonKeys): Int32Array {
    const n = keys.lo.length;
    let from = new Int32Array(n);
    let to = new Int32Array(n);
    for (let i = 0; i < n; i++) from[i] = i;
    const counts = new Int32Array(RADIX_BUCKETS);
    for (const [half, shift] of [[keys.lo, 0], [keys.lo, RADIX_BITS], [keys.hi, 0], [keys.hi, RADIX_BITS]] as const) {
        counts.fill(0);
        for (let i = 0; i < n; i++) counts[(half[i] >>> shift) & RADIX_MASK]++;
        // every key has the same digit here (a scene's high bits are mostly zero): the pass would keep the order
        if (n > 0 && counts[(half[0] >>> shift) & RADIX_MASK] === n) continue;
        let sum = 0;
        for (let b = 0; b < RADIX_BUCKETS; b++) {
            const c = counts[b];
            counts[b] = sum;
            sum += c;
        }
        for (let j = 0; j < n; j++) {
            const i = from[j];
            to[counts[(half[i] >>> shift) & RADIX_MASK]++] = i;
        }
        [from, to] = [to, from];
    }
    return from;
}

export function mortonKeys(coords: Int32Array, count: number, order: string): MortonKeys {
    const a = AXIS_INDEX[order[0]], b = AXIS_INDEX[order[1]], c = AXIS_INDEX[order[2]];
    const hi = new Uint32Array(count), lo = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
        const x = coords[3 * i + a], y = coords[3 * i + b], z = coords[3 * i + c];
        lo[i] = (SPREAD8[x & 255] << 2) | (SPREAD8[y & 255] << 1) | SPREAD8[z & 255];
        hi[i] = (SPREAD8[(x >>> 8) & 255] << 2) | (SPREAD8[(y >>> 8) & 255] << 1) | SPREAD8[(z >>> 8) & 255];
    }
    return { hi, lo };
}

/** Distinct voxels of (M, 3) coordinates, numbered in xyz-Morton order: unique coords and the id of each input. */
export function uniqueVoxels(coords: Int32Array, count: number): { coords: Int32Array; count: number; ids: Int32Array; sorted: Int32Array } {
    const perm = sortedIndices(mortonKeys(coords, count, "xyz"));
    const ids = new Int32Array(count);
    const out: number[] = [];
    let run = -1;
    let px = 0, py = 0, pz = 0;
    for (let j = 0; j < count; j++) {
        const i = perm[j];
        const x = coords[3 * i], y = coords[3 * i + 1], z = coords[3 * i + 2];
        if (j === 0 || x !== px || y !== py || z !== pz) {
            run++;
            out.push(x, y, z);
            px = x; py = y; pz = z;
        }
        ids[i] = run;
    }
    // `sorted` lists the inputs grouped by voxel, ascending index within each voxel
    return { coords: Int32Array.from(out), count: run + 1, ids, sorted: perm };
}

/** Pads an order to a multiple of the patch size: slot j >= V repeats slot j - P (the previous patch), or j mod V
 *  when there is a single patch. */
export function padOrder(order: Int32Array, patchSize: number): Int32Array {
    const v = order.length;
    const vp = Math.ceil(v / patchSize) * patchSize;
    const out = new Int32Array(vp);
    out.set(order);
    for (let j = v; j < vp; j++) out[j] = j >= patchSize ? out[j - patchSize] : order[j % v];
    return out;
}

function serializeLevel(coords: Int32Array, count: number, config: SerializationConfig): { orders: Int32Array; inverses: Int32Array; paddedCount: number } {
    const paddedCount = Math.ceil(count / config.patchSize) * config.patchSize;
    const orders = new Int32Array(config.orders.length * paddedCount);
    const inverses = new Int32Array(config.orders.length * count);
    config.orders.forEach((name, o) => {
        const order = sortedIndices(mortonKeys(coords, count, name));
        orders.set(padOrder(order, config.patchSize), o * paddedCount);
        for (let j = 0; j < count; j++) inverses[o * count + order[j]] = j;
    });
    return { orders, inverses, paddedCount };
}

/** (parentCount, 8): the children of each parent in ascending id, padded with the first child. */
export function poolChildren(parent: Int32Array, parentCount: number): Int32Array {
    const filled = new Int32Array(parentCount);
    const table = new Int32Array(parentCount * POOL_CHILDREN);
    for (let j = 0; j < parent.length; j++) {
        const p = parent[j];
        if (filled[p] === POOL_CHILDREN) throw invalid(`a parent voxel has more than ${POOL_CHILDREN} children`);
        table[p * POOL_CHILDREN + filled[p]++] = j;
    }
    for (let p = 0; p < parentCount; p++) {
        for (let s = filled[p]; s < POOL_CHILDREN; s++) table[p * POOL_CHILDREN + s] = table[p * POOL_CHILDREN];
    }
    return table;
}

/** Checks a count x 10 channel array: EMPTY_SCENE for zero Gaussians, INVALID_ARGUMENT for a wrong length or a
 *  non-finite value (naming the first bad Gaussian and how many are affected). */
export function checkChannels(channels: Float32Array, count: number): void {
    if (!Number.isInteger(count) || count < 0) throw invalid(`Gaussian count must be a non-negative integer, got ${count}`);
    if (channels.length !== count * INPUT_CHANNELS) {
        throw invalid(`channels must hold count x ${INPUT_CHANNELS} = ${count * INPUT_CHANNELS} floats, got ${channels.length}`);
    }
    if (count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the scene has zero Gaussians: nothing to encode");
    let first = -1, affected = 0;
    for (let i = 0; i < count; i++) {
        let bad = false;
        for (let c = 0; c < INPUT_CHANNELS; c++) {
            if (!Number.isFinite(channels[i * INPUT_CHANNELS + c])) {
                if (first < 0) first = i * INPUT_CHANNELS + c;
                bad = true;
            }
        }
        if (bad) affected++;
    }
    if (first >= 0) {
        const i = Math.floor(first / INPUT_CHANNELS), c = first % INPUT_CHANNELS;
        throw invalid(`Gaussian ${i} has a non-finite ${c < 3 ? "position" : "channel"} (channel ${c}); ${affected} Gaussians are affected`);
    }
}

/** The per-axis minimum of the positions (float32), after checking that the scene's extent fits the 16-bit voxel
 *  codes at `gridSize` (INVALID_ARGUMENT naming the axis otherwise). The same float32 arithmetic as
 *  voxelCoordinates, whose largest coordinate comes from the largest position. */
export function sceneOrigin(channels: Float32Array, count: number, gridSize: number): Float32Array {
    const sceneMin = new Float32Array([Infinity, Infinity, Infinity]);
    const sceneMax = new Float32Array([-Infinity, -Infinity, -Infinity]);
    for (let i = 0; i < count; i++) {
        for (let a = 0; a < 3; a++) {
            const p = channels[i * INPUT_CHANNELS + a];
            if (p < sceneMin[a]) sceneMin[a] = p;
            if (p > sceneMax[a]) sceneMax[a] = p;
        }
    }
    const g = Math.fround(gridSize);
    for (let a = 0; a < 3; a++) {
        const top = count > 0 ? Math.floor(Math.fround(Math.fround(sceneMax[a] - sceneMin[a]) / g)) : 0;
        if (top > MAX_COORD) {
            const extent = sceneMax[a] - sceneMin[a];
            throw invalid(
                `the scene spans ${extent.toPrecision(6)} m along ${"xyz"[a]}: ${top + 1} voxels of ${gridSize} m, more than the ` +
                    `${MAX_COORD + 1} that ${COORD_BITS}-bit codes hold (check the scene's units, or use a larger grid)`
            );
        }
    }
    return sceneMin;
}

/** Level-0 voxel coordinates (float32 arithmetic, as numpy float32 does it) and the scene minimum. `origin` (a
 *  larger scene's minimum, for one tile of it: src/encoder/tiling.ts) replaces the minimum of these positions, so
 *  a tile's voxels are the whole scene's voxels; every position must be at or above it. */
export function voxelCoordinates(channels: Float32Array, count: number, gridSize: number, origin?: ArrayLike<number>): { coords: Int32Array; sceneMin: Float32Array } {
    const sceneMin = origin ? Float32Array.from(origin) : sceneOrigin(channels, count, gridSize);
    const g = Math.fround(gridSize);
    const coords = new Int32Array(count * 3);
    for (let i = 0; i < count; i++) {
        for (let a = 0; a < 3; a++) coords[3 * i + a] = voxelCoordinate(channels, i, a, sceneMin[a], g);
    }
    return { coords, sceneMin };
}

/** Gaussian i's level-0 voxel coordinate along axis a on the grid of float32 size `g` at float32 `origin` (float32
 *  arithmetic, as numpy float32 does it); INVALID_ARGUMENT when it falls outside the grid. */
export function voxelCoordinate(channels: Float32Array, i: number, a: number, origin: number, g: number): number {
    const v = Math.floor(Math.fround(Math.fround(channels[i * INPUT_CHANNELS + a] - origin) / g));
    if (v < 0 || v > MAX_COORD) {
        throw invalid(`Gaussian ${i} lies outside the voxel grid along ${"xyz"[a]} (coordinate ${v}): the origin given is not the scene's minimum, or the extent is too large`);
    }
    return v;
}

/** (V, 12) voxel inputs, as rtgs2.encoder.serialization.voxel_features: weights w = opacity + 1e-3;
 *  0-2 weighted mean centre minus voxel centre (voxel units), 3 weighted mean height above the lowest centre (m),
 *  4-6 weighted mean rgb, 7 mean opacity, 8-10 weighted mean log-scales, 11 n / (n + 8).
 *  `byVoxel` lists the Gaussians grouped by voxel (voxel 0 first), ascending index within each voxel: each voxel's
 *  float64 sums then run over its Gaussians in index order, exactly the order of Python's np.bincount, while the
 *  accumulators stay in registers. */
export function voxelFeatures(
    channels: Float32Array, byVoxel: Int32Array, voxelOf: Int32Array, coords: Int32Array, voxelCount: number, sceneMin: Float32Array, gridSize: number
): Float32Array {
    const out = new Float32Array(voxelCount * VOXEL_CHANNELS);
    const sums = new Float64Array(INPUT_CHANNELS); // weighted sums of the 10 channels of the current voxel
    let j = 0;
    for (let v = 0; v < voxelCount; v++) {
        sums.fill(0);
        let sumW = 0, sumOpacity = 0, n = 0;
        for (; j < byVoxel.length && voxelOf[byVoxel[j]] === v; j++) {
            const base = byVoxel[j] * INPUT_CHANNELS;
            const opacity = channels[base + 6];
            const w = opacity + OPACITY_WEIGHT_EPS;
            sumW += w;
            sumOpacity += opacity;
            n += 1;
            for (let c = 0; c < INPUT_CHANNELS; c++) sums[c] += w * channels[base + c];
        }
        const o = v * VOXEL_CHANNELS;
        for (let a = 0; a < 3; a++) out[o + a] = (sums[a] / sumW - sceneMin[a]) / gridSize - coords[3 * v + a] - 0.5;
        out[o + 3] = sums[1] / sumW - sceneMin[1];
        for (let k = 0; k < 3; k++) out[o + 4 + k] = sums[3 + k] / sumW;
        out[o + 7] = sumOpacity / n;
        for (let k = 0; k < 3; k++) out[o + 8 + k] = sums[7 + k] / sumW;
        out[o + 11] = n / (n + COUNT_SATURATION);
    }
    return out;
}

/** The whole out-of-graph preparation of one scene: `count` Gaussians x 10 channels (contract 2) -> indices and
 *  voxel inputs. Throws SemanticSplatError EMPTY_SCENE / INVALID_ARGUMENT on bad input. `origin`: the voxel grid's
 *  origin and height reference when these Gaussians are one tile of a larger scene (that scene's minimum,
 *  sceneOrigin); default the minimum of these positions (the Python reference's only mode). */
export function serializeScene(channels: Float32Array, count: number, config: SerializationConfig = DEFAULT_SERIALIZATION, origin?: ArrayLike<number>): SerializedScene {
    checkSerializationConfig(config);
    checkChannels(channels, count);
    const { coords, sceneMin } = voxelCoordinates(channels, count, config.gridSize, origin);
    const level0 = uniqueVoxels(coords, count);
    const voxelFeaturesOut = voxelFeatures(channels, level0.sorted, level0.ids, level0.coords, level0.count, sceneMin, config.gridSize);
    const levels: LevelSerialization[] = [];
    let levelCoords = level0.coords, levelCount = level0.count;
    let parent: Int32Array | null = null;
    for (let l = 0; l < config.levels; l++) {
        if (l > 0) {
            const prev = levels[l - 1];
            const halved = new Int32Array(prev.coords.length);
            for (let i = 0; i < halved.length; i++) halved[i] = prev.coords[i] >> 1;
            const u = uniqueVoxels(halved, prev.count);
            levelCoords = u.coords; levelCount = u.count; parent = u.ids;
        }
        const { orders, inverses, paddedCount } = serializeLevel(levelCoords, levelCount, config);
        levels.push({
            count: levelCount, coords: levelCoords, orders, paddedCount, inverses,
            pool: l > 0 ? poolChildren(parent!, levelCount) : null,
            unpool: l > 0 ? parent : null,
        });
    }
    return { count, gaussianVoxel: level0.ids, voxelFeatures: voxelFeaturesOut, levels, sceneMin };
}
