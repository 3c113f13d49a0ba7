// Feature sidecar (ARCHITECTURE.md contract 1): per-Gaussian features for scene formats that cannot carry extra
// attributes (.splat, .spz, .sog; also usable beside a PLY). Conventional name: `<scene file>.semf`.
//
// Layout, version 1, every integer little endian:
//
//   offset  size         field
//   0       4            magic, the ASCII bytes "SEMF"
//   4       4            version, u32 = 1
//   8       4            count, u32: number of Gaussians, in the scene's splat (PLY vertex) order, >= 1
//   12      4            K, u32: feature channels per Gaussian, 1..64
//   16      4            encoder id length in bytes, u32, 0..255
//   20      n            encoder id, UTF-8 (which encoder model made the features, e.g. "ptv3-lite-k16@1.0")
//   20+n    0..3         zero padding, so the features start at a multiple of 4
//   H       count*K*2    features, IEEE fp16, row-major [count x K] (feature c of Gaussian i at H + 2*(i*K + c))
//
// The file ends exactly after the features. Readers reject any other length, an unknown magic or version, K out
// of range, and non-finite (Inf/NaN) halves; callers pass the scene's count and K to get FEATURE_MISMATCH early.

import { SemanticSplatError } from "../errors";
import { HALF_EXPONENT_MASK, float32ToHalfBits } from "../util/half";
import { asBytes } from "./ply";
import { MAX_FEATURE_DIM } from "./semanticAttributes";

/** The four magic bytes at the start of every sidecar. */
export const FEATURE_SIDECAR_MAGIC = "SEMF";
/** The sidecar version this module writes and reads. */
export const FEATURE_SIDECAR_VERSION = 1;
/** File name suffix of a sidecar: `<scene file>` + this. */
export const FEATURE_SIDECAR_EXTENSION = ".semf";
/** Longest encoder id, in UTF-8 bytes. */
export const MAX_ENCODER_ID_BYTES = 255;

const FIXED_HEADER_BYTES = 20;

/** A decoded sidecar. */
export interface FeatureSidecar {
    readonly version: number;
    /** Number of Gaussians. */
    readonly count: number;
    /** K, channels per Gaussian. */
    readonly featureDim: number;
    /** The encoder model that produced the features. */
    readonly encoderId: string;
    /** fp16 bits, `count * featureDim`, row-major; convert with halfArrayToFloat32 (src/util/half) if needed. */
    readonly halfFeatures: Uint16Array;
}

/** What the caller expects of a sidecar (the scene's Gaussian count and the model's K). */
export interface FeatureShapeExpectation {
    readonly count?: number;
    readonly featureDim?: number;
}

/** Input of {@link encodeFeatureSidecar}. */
export interface FeatureSidecarInput {
    /** Float features (rounded to fp16, ties to even) or fp16 bits, `count * featureDim`, row-major. */
    readonly features: Float32Array | Uint16Array;
    readonly count: number;
    readonly featureDim: number;
    readonly encoderId: string;
}

/** The sidecar name for a scene file or URL: `room.splat` -> `room.splat.semf` (a URL's query/hash stay at the end). */
export function featureSidecarFileName(sceneFile: string): string {
    const cut = sceneFile.search(/[?#]/);
    if (cut < 0) return sceneFile + FEATURE_SIDECAR_EXTENSION;
    return sceneFile.slice(0, cut) + FEATURE_SIDECAR_EXTENSION + sceneFile.slice(cut);
}

/**
 * Throws FEATURE_MISMATCH when `actual` disagrees with what is expected (fields left undefined are not checked).
 * @param what what the numbers describe, e.g. "the sidecar" or "the PLY features"
 */
export function checkFeatureShape(actual: { count: number; featureDim: number }, expected: FeatureShapeExpectation, fileName: string, what = "the features"): void {
    if (expected.count !== undefined && actual.count !== expected.count) {
        throw new SemanticSplatError("FEATURE_MISMATCH", `${what} cover ${actual.count} Gaussians, the scene has ${expected.count}`, fileName);
    }
    if (expected.featureDim !== undefined && actual.featureDim !== expected.featureDim) {
        throw new SemanticSplatError("FEATURE_MISMATCH", `${what} have K=${actual.featureDim} channels, expected K=${expected.featureDim}`, fileName);
    }
}

function align4(n: number): number {
    return (n + 3) & ~3;
}

/**
 * Encodes features as a version-1 sidecar.
 * @throws SemanticSplatError INVALID_ARGUMENT (bad count, K, lengths or encoder id), INVALID_FEATURES (a value that
 *   is NaN, infinite, or too large for fp16)
 */
export function encodeFeatureSidecar(input: FeatureSidecarInput, fileName = "feature sidecar"): Uint8Array {
    const { features, count, featureDim, encoderId } = input;
    if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) throw new SemanticSplatError("INVALID_ARGUMENT", `count must be an integer >= 1, got ${count}`, fileName);
    if (!Number.isInteger(featureDim) || featureDim < 1 || featureDim > MAX_FEATURE_DIM) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `featureDim must be an integer in 1..${MAX_FEATURE_DIM}, got ${featureDim}`, fileName);
    }
    if (features.length !== count * featureDim) {
        throw new SemanticSplatError("FEATURE_MISMATCH", `features hold ${features.length} values, count x K = ${count} x ${featureDim} = ${count * featureDim}`, fileName);
    }
    const id = new TextEncoder().encode(encoderId);
    if (id.length > MAX_ENCODER_ID_BYTES) throw new SemanticSplatError("INVALID_ARGUMENT", `encoder id is ${id.length} UTF-8 bytes, at most ${MAX_ENCODER_ID_BYTES}`, fileName);

    const dataOffset = align4(FIXED_HEADER_BYTES + id.length);
    const out = new Uint8Array(dataOffset + features.length * 2);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) out[i] = FEATURE_SIDECAR_MAGIC.charCodeAt(i);
    view.setUint32(4, FEATURE_SIDECAR_VERSION, true);
    view.setUint32(8, count, true);
    view.setUint32(12, featureDim, true);
    view.setUint32(16, id.length, true);
    out.set(id, FIXED_HEADER_BYTES);
    const isHalf = features instanceof Uint16Array;
    for (let i = 0; i < features.length; i++) {
        const bits = isHalf ? features[i] : float32ToHalfBits(features[i]);
        if ((bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK) {
            const value = isHalf ? `half bits 0x${bits.toString(16)}` : String(features[i]);
            throw new SemanticSplatError(
                "INVALID_FEATURES",
                `feature of Gaussian ${Math.floor(i / featureDim)} channel ${i % featureDim} is ${value}, not a finite fp16 value (|x| <= 65504)`,
                fileName
            );
        }
        view.setUint16(dataOffset + 2 * i, bits, true);
    }
    return out;
}

/**
 * Decodes and validates a sidecar. With `expected`, the count and K are checked against the scene and model.
 * @throws SemanticSplatError MALFORMED_FILE (bad magic, truncated or oversized file, bad encoder id),
 *   UNSUPPORTED_FORMAT (another version, K above 64), EMPTY_SCENE (count 0), FEATURE_MISMATCH (count or K differ
 *   from `expected`), INVALID_FEATURES (an Inf/NaN half)
 */
export function decodeFeatureSidecar(data: ArrayBuffer | ArrayBufferView, fileName: string, expected: FeatureShapeExpectation = {}): FeatureSidecar {
    const bytes = asBytes(data);
    if (bytes.length < FIXED_HEADER_BYTES) {
        throw new SemanticSplatError("MALFORMED_FILE", `truncated feature sidecar: ${bytes.length} bytes, the header alone is ${FIXED_HEADER_BYTES}`, fileName);
    }
    let magic = "";
    for (let i = 0; i < 4; i++) magic += String.fromCharCode(bytes[i]);
    if (magic !== FEATURE_SIDECAR_MAGIC) {
        throw new SemanticSplatError("MALFORMED_FILE", `not a feature sidecar: the file starts with ${JSON.stringify(magic)}, expected magic "${FEATURE_SIDECAR_MAGIC}"`, fileName);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(4, true);
    if (version !== FEATURE_SIDECAR_VERSION) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `feature sidecar version ${version}; this reader knows version ${FEATURE_SIDECAR_VERSION}`, fileName);
    }
    const count = view.getUint32(8, true);
    const featureDim = view.getUint32(12, true);
    const idLength = view.getUint32(16, true);
    if (count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the feature sidecar holds 0 Gaussians", fileName);
    if (featureDim === 0) throw new SemanticSplatError("MALFORMED_FILE", "the feature sidecar declares K=0 feature channels", fileName);
    if (featureDim > MAX_FEATURE_DIM) throw new SemanticSplatError("UNSUPPORTED_FORMAT", `the feature sidecar declares K=${featureDim} channels; at most ${MAX_FEATURE_DIM} are supported`, fileName);
    if (idLength > MAX_ENCODER_ID_BYTES) throw new SemanticSplatError("MALFORMED_FILE", `encoder id length ${idLength} exceeds ${MAX_ENCODER_ID_BYTES} bytes`, fileName);
    if (FIXED_HEADER_BYTES + idLength > bytes.length) throw new SemanticSplatError("MALFORMED_FILE", `truncated feature sidecar: the encoder id (${idLength} bytes) runs past the end of the file (${bytes.length} bytes)`, fileName);
    let encoderId: string;
    try {
        encoderId = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + idLength));
    } catch (cause) {
        throw new SemanticSplatError("MALFORMED_FILE", "the encoder id is not valid UTF-8", fileName, { cause });
    }
    const dataOffset = align4(FIXED_HEADER_BYTES + idLength);
    const expectedLength = dataOffset + count * featureDim * 2;
    if (bytes.length < expectedLength) {
        throw new SemanticSplatError(
            "MALFORMED_FILE",
            `truncated feature sidecar: ${count} Gaussians x K=${featureDim} fp16 need ${expectedLength} bytes, the file has ${bytes.length}`,
            fileName
        );
    }
    if (bytes.length > expectedLength) {
        throw new SemanticSplatError("MALFORMED_FILE", `feature sidecar has ${bytes.length - expectedLength} unexpected bytes after the ${count} x ${featureDim} features (wrong count or K in the header?)`, fileName);
    }
    checkFeatureShape({ count, featureDim }, expected, fileName, "the sidecar features");

    // Copy into an aligned array (the input may sit at any offset) and check every half for Inf/NaN.
    const halfFeatures = new Uint16Array(count * featureDim);
    for (let i = 0; i < halfFeatures.length; i++) {
        const bits = view.getUint16(dataOffset + 2 * i, true);
        if ((bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK) {
            throw new SemanticSplatError("INVALID_FEATURES", `Gaussian ${Math.floor(i / featureDim)} channel ${i % featureDim} holds a non-finite fp16 value (bits 0x${bits.toString(16)})`, fileName);
        }
        halfFeatures[i] = bits;
    }
    return { version, count, featureDim, encoderId, halfFeatures };
}
