// Layout of the per-Gaussian feature texture array (what the feature splat pass reads with textureLoad):
// one RGBA16F 2D texture array with ceil(K / 4) layers; layer l holds channels 4l .. 4l+3 of every Gaussian
// (missing channels of the last layer are 0); Gaussian i sits at texel (i % width, floor(i / width)), with
// the same width and height as Babylon's own per-splat data textures.
import { float32ToHalfBits, HALF_EXPONENT_MASK } from "../util/half";
import { SemanticSplatError } from "../errors";

/** Channels per texel of the feature texture (RGBA). */
export const FEATURE_CHANNELS_PER_LAYER = 4;

/** Number of RGBA layers that hold `featureDimension` channels. */
export function featureLayerCount(featureDimension: number): number {
    return Math.ceil(featureDimension / FEATURE_CHANNELS_PER_LAYER);
}

/** Per-Gaussian features as a caller hands them over: fp32 values, or fp16 bit patterns in a Uint16Array. */
export type FeatureArray = Float32Array | Uint16Array;

/**
 * Checks `data` holds `count * featureDimension` finite values representable in fp16, and returns their fp16
 * bits ([count x K], row-major per Gaussian). Throws SemanticSplatError naming `source` and the first bad value.
 */
export function featuresToFloat16(data: FeatureArray, count: number, featureDimension: number, source: string): Uint16Array {
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
        return data.slice();
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
 * `width * height` RGBA texels in row order.
 */
export function packFeatureLayers(half: Uint16Array, count: number, featureDimension: number, width: number, height: number): Uint16Array {
    if (count > width * height) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `${count} Gaussians do not fit a ${width}x${height} feature texture`);
    }
    const layers = featureLayerCount(featureDimension);
    const layerTexels = width * height;
    const packed = new Uint16Array(layers * layerTexels * FEATURE_CHANNELS_PER_LAYER);
    for (let i = 0; i < count; i++) {
        const src = i * featureDimension;
        for (let channel = 0; channel < featureDimension; channel++) {
            const layer = channel >> 2;
            packed[(layer * layerTexels + i) * FEATURE_CHANNELS_PER_LAYER + (channel & 3)] = half[src + channel];
        }
    }
    return packed;
}

/** True when fp16 bits stand for NaN or +-Inf (all exponent bits set). */
function isHalfNonFinite(bits: number): boolean {
    return (bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK;
}
