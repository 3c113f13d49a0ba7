// Feature sidecar (ARCHITECTURE.md contract 1): per-Gaussian features for scene formats that cannot carry extra
// attributes (.splat, .spz, .sog; also usable beside a PLY). Conventional name: `<scene file>.semf`.
//
// Layout, every integer little endian. Version 2 (issue 13) records the scene frame the features were computed in;
// a writer given no frame writes version 1, byte for byte as before, and readers read both:
//
//   offset  size         field
//   0       4            magic, the ASCII bytes "SEMF"
//   4       4            version, u32 = 2 (1: the same without the two scene frame fields)
//   8       4            count, u32: number of Gaussians, in the scene's splat (PLY vertex) order, >= 1
//   12      4            K, u32: feature channels per Gaussian, 1..64
//   16      4            encoder id length in bytes, u32, 0..255
//   20      n            encoder id, UTF-8 (which encoder model made the features, e.g. "ptv3-lite-k16@1.0")
//   20+n    0..3         zero padding to a multiple of 4 (offset F)
//   F       4            v2 only: scene frame record length in bytes, u32, 0..4096 (0: no frame recorded)
//   F+4     m            v2 only: the scene frame the features were computed in, UTF-8 JSON (docs/FRAME.md,
//                        "Recorded frame": rotation, metresPerUnit, floorHeight, confidence, fallback, source)
//   F+4+m   0..3         v2 only: zero padding to a multiple of 4
//   H       count*K*2    features, IEEE fp16, row-major [count x K] (feature c of Gaussian i at H + 2*(i*K + c));
//                        H = F in version 1
//
// The file ends exactly after the features. Readers reject any other length, an unknown magic or version, K out
// of range, and non-finite (Inf/NaN) halves; callers pass the scene's count and K to get FEATURE_MISMATCH early.

import { SemanticSplatError } from "../errors";
import { HALF_EXPONENT_MASK, float32ToHalfBits } from "../util/half";
import { asBytes } from "./ply";
import { MAX_FEATURE_DIM } from "./semanticAttributes";
import { parseSceneFrameRecord, sceneFrameRecord, type SceneFrame } from "../frame/sceneFrame";

/** The four magic bytes at the start of every sidecar. */
export const FEATURE_SIDECAR_MAGIC = "SEMF";
/** The newest sidecar version (written when a scene frame is recorded; version 1 otherwise; both are read). */
export const FEATURE_SIDECAR_VERSION = 2;
/** Longest scene frame record, in UTF-8 bytes. */
export const MAX_FRAME_RECORD_BYTES = 4096;
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
    /** The scene frame the features were computed in (version 2), or null (version 1, or none recorded). */
    readonly sceneFrame: SceneFrame | null;
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
    /** The scene frame the features were computed in (recorded so a saved scene need not estimate it again). */
    readonly sceneFrame?: SceneFrame | null;
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

/** The checked header fields of a sidecar for `input` (everything before the features). */
function sidecarHeader(input: FeatureSidecarInput, fileName: string): { version: number; id: Uint8Array; record: Uint8Array; frameOffset: number; dataOffset: number } {
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
    const frameOffset = align4(FIXED_HEADER_BYTES + id.length);
    const record = input.sceneFrame ? new TextEncoder().encode(sceneFrameRecord(input.sceneFrame)) : new Uint8Array(0);
    if (record.length > MAX_FRAME_RECORD_BYTES) throw new SemanticSplatError("INVALID_ARGUMENT", `scene frame record is ${record.length} bytes, at most ${MAX_FRAME_RECORD_BYTES}`, fileName);
    const version = input.sceneFrame ? 2 : 1;
    const dataOffset = version === 2 ? align4(frameOffset + 4 + record.length) : frameOffset;
    return { version, id, record, frameOffset, dataOffset };
}

/** Writes the header fields into `out` (the sidecar's first bytes, at least dataOffset long, zeroed). */
function writeSidecarHeader(out: Uint8Array, input: FeatureSidecarInput, header: ReturnType<typeof sidecarHeader>): void {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < 4; i++) out[i] = FEATURE_SIDECAR_MAGIC.charCodeAt(i);
    view.setUint32(4, header.version, true);
    view.setUint32(8, input.count, true);
    view.setUint32(12, input.featureDim, true);
    view.setUint32(16, header.id.length, true);
    out.set(header.id, FIXED_HEADER_BYTES);
    if (header.version === 2) {
        view.setUint32(header.frameOffset, header.record.length, true);
        out.set(header.record, header.frameOffset + 4);
    }
}

/** The fp16 bits of feature `i`, refusing a value fp16 cannot hold (INVALID_FEATURES). */
function halfBitsOf(features: Float32Array | Uint16Array, i: number, featureDim: number, fileName: string): number {
    const isHalf = features instanceof Uint16Array;
    const bits = isHalf ? features[i] : float32ToHalfBits(features[i]);
    if ((bits & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK) {
        const value = isHalf ? `half bits 0x${bits.toString(16)}` : String(features[i]);
        throw new SemanticSplatError(
            "INVALID_FEATURES",
            `feature of Gaussian ${Math.floor(i / featureDim)} channel ${i % featureDim} is ${value}, not a finite fp16 value (|x| <= 65504)`,
            fileName
        );
    }
    return bits;
}

/**
 * Encodes features as a sidecar: version 2 with the scene frame record when `input.sceneFrame` is given, else
 * version 1.
 * `prefixBytes` zero bytes come first (room for a container's header: the result is that many bytes longer).
 * @throws SemanticSplatError INVALID_ARGUMENT (bad count, K, lengths or encoder id), INVALID_FEATURES (a value that
 *   is NaN, infinite, or too large for fp16)
 */
export function encodeFeatureSidecar(input: FeatureSidecarInput, fileName = "feature sidecar", prefixBytes = 0): Uint8Array {
    const header = sidecarHeader(input, fileName);
    const { features, featureDim } = input;
    const dataOffset = header.dataOffset;
    // `prefixBytes` (a container's own header, e.g. the feature cache's) are left zero before the sidecar: one buffer
    const whole = new Uint8Array(prefixBytes + dataOffset + features.length * 2);
    const out = whole.subarray(prefixBytes);
    writeSidecarHeader(out, input, header);
    const view = new DataView(whole.buffer, prefixBytes);
    for (let i = 0; i < features.length; i++) view.setUint16(dataOffset + 2 * i, halfBitsOf(features, i, featureDim, fileName), true);
    return whole;
}

/** Whether this machine stores a Uint16Array's elements little endian (the sidecar's byte order). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A sidecar as two byte runs to write one after the other: `header` (after `prefixBytes` zero bytes, as in
 * encodeFeatureSidecar) and `body`, the features. fp16 features on a little-endian machine are checked and their
 * own bytes are the body (no copy: at 6 M Gaussians x K = 16 that is 193 MB less to hold while writing, which the
 * encode command streams to the file); other input gets a new body. header + body equal encodeFeatureSidecar's bytes.
 * @throws SemanticSplatError as encodeFeatureSidecar
 */
export function encodeFeatureSidecarParts(input: FeatureSidecarInput, fileName = "feature sidecar", prefixBytes = 0): { header: Uint8Array; body: Uint8Array } {
    const header = sidecarHeader(input, fileName);
    const { features, featureDim } = input;
    const headerBytes = new Uint8Array(prefixBytes + header.dataOffset);
    writeSidecarHeader(headerBytes.subarray(prefixBytes), input, header);
    if (features instanceof Uint16Array && LITTLE_ENDIAN_HOST) {
        for (let i = 0; i < features.length; i++) halfBitsOf(features, i, featureDim, fileName);
        return { header: headerBytes, body: new Uint8Array(features.buffer, features.byteOffset, features.byteLength) };
    }
    const body = new Uint8Array(features.length * 2);
    const view = new DataView(body.buffer);
    for (let i = 0; i < features.length; i++) view.setUint16(2 * i, halfBitsOf(features, i, featureDim, fileName), true);
    return { header: headerBytes, body };
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
    if (version !== 1 && version !== 2) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `feature sidecar version ${version}; this reader knows versions 1 and ${FEATURE_SIDECAR_VERSION}`, fileName);
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
    let dataOffset = align4(FIXED_HEADER_BYTES + idLength);
    let sceneFrame: SceneFrame | null = null;
    if (version >= 2) {
        const frameOffset = dataOffset;
        if (frameOffset + 4 > bytes.length) throw new SemanticSplatError("MALFORMED_FILE", "truncated feature sidecar: it ends before the scene frame record length", fileName);
        const recordLength = view.getUint32(frameOffset, true);
        if (recordLength > MAX_FRAME_RECORD_BYTES) throw new SemanticSplatError("MALFORMED_FILE", `scene frame record length ${recordLength} exceeds ${MAX_FRAME_RECORD_BYTES} bytes`, fileName);
        if (frameOffset + 4 + recordLength > bytes.length) throw new SemanticSplatError("MALFORMED_FILE", `truncated feature sidecar: the scene frame record (${recordLength} bytes) runs past the end of the file`, fileName);
        if (recordLength > 0) {
            let text: string;
            try {
                text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(frameOffset + 4, frameOffset + 4 + recordLength));
            } catch (cause) {
                throw new SemanticSplatError("MALFORMED_FILE", "the scene frame record is not valid UTF-8", fileName, { cause });
            }
            sceneFrame = parseSceneFrameRecord(text, fileName);
        }
        dataOffset = align4(frameOffset + 4 + recordLength);
    }
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
    return { version, count, featureDim, encoderId, halfFeatures, sceneFrame };
}
