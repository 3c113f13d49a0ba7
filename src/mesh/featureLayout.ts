// Layout of the per-Gaussian feature texture array (what the feature splat pass reads with textureLoad):
// one 2D texture array of fp16 features, two per 32-bit channel of an RGBA32UI texel (the way Babylon packs its
// own spherical-harmonics textures into rgba32uint), ceil(K / 8) layers; layer l holds channels 8l .. 8l+7 of
// every Gaussian, channel 8l + 2w in the low 16 bits of component w and 8l + 2w + 1 in the high ones, so that
// WGSL's unpack2x16float(texel[w]) gives (channel 8l + 2w, channel 8l + 2w + 1) (missing channels of the last
// layer are 0). Gaussian i sits at texel (i % width, floor(i / width)), with the same width and height as
// Babylon's own per-splat data textures. Two channels per 32 bits rather than an RGBA16F texture halves the
// texel loads of the feature pass's vertex stage (1-8 % of the whole K = 16 pass in A/B profiles on SwiftShader,
// BENCHMARKS.md) and reads the very same fp16 values.
import { float32ToHalfBits, HALF_EXPONENT_MASK } from "../util/half";
import { SemanticSplatError } from "../errors";

/** fp16 channels per texel of the feature texture (RGBA32UI, two per component). */
export const FEATURE_CHANNELS_PER_LAYER = 8;

/** Number of RGBA layers that hold `featureDimension` channels. */
export function featureLayerCount(featureDimension: number): number {
    return Math.ceil(featureDimension / FEATURE_CHANNELS_PER_LAYER);
}

/** Per-Gaussian features as a caller hands them over: fp32 values, or fp16 bit patterns in a Uint16Array. */
export type FeatureArray = Float32Array | Uint16Array;

/**
 * Checks `data` holds `count * featureDimension` finite values representable in fp16, and returns their fp16
 * bits ([count x K], row-major per Gaussian): for fp16 input a copy, or `data` itself when `copy` is false. Throws
 * SemanticSplatError naming `source` and the first bad value.
 */
export function featuresToFloat16(data: FeatureArray, count: number, featureDimension: number, source: string, copy = true): Uint16Array {
    if (!Number.isInteger(featureDimension) || featureDimension < 1) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `feature dimension K must be a positive integer, got ${featureDimension}`, source);
    }
    if (!(data instanceof Float32Array) && !(data instanceof Uint16Array)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "features must be a Float32Array (fp32) or a Uint16Array (fp16 bits)", source);
    }
    if (data.length !== count * featureDimension) {
        throw new SemanticSplatError(
            "FEATURE_MISMATCH",
            `features hold ${data.length} values but the scene has ${count} Gaussians x K=${featureDimension} = ${count * featureDimension}`,
            source
        );
    }
    if (data instanceof Uint16Array) {
        for (let i = 0; i < data.length; i++) {
            if (isHalfNonFinite(data[i])) throw nonFinite(source, i, featureDimension, "NaN or Inf (fp16)");
        }
        return copy ? data.slice() : data;
    }
    const half = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) {
        const value = data[i];
        if (!Number.isFinite(value)) throw nonFinite(source, i, featureDimension, String(value));
        const bits = float32ToHalfBits(value);
        if (isHalfNonFinite(bits)) throw nonFinite(source, i, featureDimension, `${value} (outside the fp16 range +-65504)`);
        half[i] = bits;
    }
    return half;
}

function nonFinite(source: string, index: number, featureDimension: number, what: string): SemanticSplatError {
    const gaussian = Math.floor(index / featureDimension);
    const channel = index % featureDimension;
    return new SemanticSplatError("INVALID_FEATURES", `feature ${channel} of Gaussian ${gaussian} is ${what}`, source);
}

/**
 * Packs fp16 features [count x K] into the texture array's upload layout: layers one after another, each
 * `width * height` texels in row order, 8 fp16 values per texel in channel order. Read as 32-bit words on a
 * little-endian machine (every WebGPU platform), value 2w is the low half of word w: the RGBA32UI texel above.
 */
export function packFeatureLayers(half: Uint16Array, count: number, featureDimension: number, width: number, height: number): Uint16Array {
    const layers = featureLayerCount(featureDimension);
    const layerValues = width * height * FEATURE_CHANNELS_PER_LAYER;
    const packed = new Uint16Array(layers * layerValues);
    for (let layer = 0; layer < layers; layer++) packFeatureLayer(half, count, featureDimension, width, height, layer, packed.subarray(layer * layerValues, (layer + 1) * layerValues));
    return packed;
}

/**
 * One layer of {@link packFeatureLayers} (`width * height` texels, channels 8 * layer .. 8 * layer + 7 of each
 * Gaussian), written into `out` (zeroed first) or a new array: a texture can be filled a layer at a time, holding one
 * layer's upload array instead of all of them (96 MiB a layer at 6 M Gaussians).
 */
export function packFeatureLayer(half: Uint16Array, count: number, featureDimension: number, width: number, height: number, layer: number, out?: Uint16Array): Uint16Array {
    if (count > width * height) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `${count} Gaussians do not fit a ${width}x${height} feature texture`);
    }
    return packFeatureRows(half, count, featureDimension, width, layer, 0, height, out);
}

/**
 * Rows `firstRow .. firstRow + rows - 1` of one layer of {@link packFeatureLayers} (`rows * width` texels), written
 * into `out` (zeroed first) or a new array: the texture can be filled a band of rows at a time, so that neither the
 * upload array nor the copy WebGPU makes of it holds a whole layer (96 MiB at 6 M Gaussians).
 */
export function packFeatureRows(half: Uint16Array, count: number, featureDimension: number, width: number, layer: number, firstRow: number, rows: number, out?: Uint16Array): Uint16Array {
    const values = width * rows * FEATURE_CHANNELS_PER_LAYER;
    const packed = out ?? new Uint16Array(values);
    if (packed.length !== values) throw new SemanticSplatError("INVALID_ARGUMENT", `${rows} rows of ${width} texels hold ${values} values, not ${packed.length}`);
    if (out) packed.fill(0);
    const first = layer * FEATURE_CHANNELS_PER_LAYER;
    const channels = Math.min(FEATURE_CHANNELS_PER_LAYER, featureDimension - first);
    const end = Math.min(count, (firstRow + rows) * width);
    for (let i = firstRow * width; i < end; i++) {
        const src = i * featureDimension + first;
        const dst = (i - firstRow * width) * FEATURE_CHANNELS_PER_LAYER;
        for (let c = 0; c < channels; c++) packed[dst + c] = half[src + c];
    }
    return packed;
}

/** True when fp16 bits stand for NaN or +-Inf (all exponent bits set). */
function isHalfNonFinite(bits: number): boolean {
    return (bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK;
}
