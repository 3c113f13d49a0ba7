// PLY writing with semantic attributes (ARCHITECTURE.md contract 1, docs/FORMATS.md).
//
// Two writers, both producing binary_little_endian PLY:
// - writeSemanticPly: from the ORIGINAL PLY bytes (ascii, little or big endian). Every element is kept in order;
//   every original vertex property is kept with its type and its exact bits (big-endian values are byte-swapped,
//   ascii values are stored as the declared type would hold them); f_sem_* / sem_label / sem_instance are
//   replaced by the given ones, appended after the kept properties.
// - writeSplatAsSemanticPly: from Babylon's 32-byte-per-splat layout (what the .splat/.spz/.sog loaders produce,
//   `GaussianSplattingMesh.splatsData`) to a standard 3DGS PLY plus the semantic properties, so scenes that were
//   not PLY can carry features too.
//
// Round trip: readSemanticAttributes(write(...)) returns the given features, labels and instances bit for bit.

import { SemanticSplatError } from "../errors";
import { float32ToHalfBits } from "../util/half";
import {
    PLY_CLASSIC_TYPE_NAME,
    PLY_TYPE_SIZE,
    asBytes,
    parseAsciiValue,
    parsePlyHeader,
    skipBinaryElement,
    PlyAsciiTokens,
    type PlyElement,
    type PlyHeader,
    type PlyProperty,
    type PlyScalarType,
} from "./ply";
import { INSTANCE_NONE, LABEL_NONE, MAX_FEATURE_DIM, findNonFinite } from "./semanticAttributes";

/**
 * The semantic attributes to write. For each of features, labels and instances: a value replaces the file's own
 * property (or adds it), `null` removes it, and leaving it undefined keeps the original property untouched.
 */
export interface SemanticPayload {
    /** `count * featureDim` floats, row-major in vertex order; written as float32 f_sem_0..f_sem_{K-1}. */
    readonly features?: Float32Array | null;
    /** K, required with `features` (1..64). */
    readonly featureDim?: number;
    /** Class id per vertex, LABEL_NONE (65535) = none; written as uchar when every id is < 255, else ushort. */
    readonly labels?: Uint16Array | null;
    /** Instance id per vertex, INSTANCE_NONE (0xFFFFFFFF) = none; written as ushort when every id is < 65535, else uint. */
    readonly instances?: Uint32Array | null;
    /** Extra `comment` lines for the header (no newlines). */
    readonly comments?: readonly string[];
}

/** How the semantic tail of each written vertex row is laid out. */
interface SemanticTail {
    readonly featureDim: number;
    readonly features: Float32Array | null;
    readonly labels: Uint16Array | null;
    readonly labelType: "uint8" | "uint16";
    readonly instances: Uint32Array | null;
    readonly instanceType: "uint16" | "uint32";
    readonly byteSize: number;
    readonly properties: readonly { name: string; type: PlyScalarType }[];
}

function planSemanticTail(payload: SemanticPayload, count: number, fileName: string): SemanticTail {
    const properties: { name: string; type: PlyScalarType }[] = [];
    let byteSize = 0;
    let featureDim = 0;
    const features = payload.features ?? null;
    if (features) {
        if (!(features instanceof Float32Array)) throw new SemanticSplatError("INVALID_ARGUMENT", "features must be a Float32Array", fileName);
        featureDim = payload.featureDim ?? 0;
        if (!Number.isInteger(featureDim) || featureDim < 1 || featureDim > MAX_FEATURE_DIM) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `featureDim must be an integer in 1..${MAX_FEATURE_DIM}, got ${payload.featureDim}`, fileName);
        }
        if (features.length !== count * featureDim) {
            throw new SemanticSplatError("FEATURE_MISMATCH", `features hold ${features.length} values, the scene needs ${count} Gaussians x K=${featureDim} = ${count * featureDim}`, fileName);
        }
        const bad = findNonFinite(features);
        if (bad >= 0) {
            throw new SemanticSplatError("INVALID_FEATURES", `feature of vertex ${Math.floor(bad / featureDim)} channel ${bad % featureDim} is ${features[bad]}`, fileName);
        }
        for (let c = 0; c < featureDim; c++) properties.push({ name: `f_sem_${c}`, type: "float32" });
        byteSize += 4 * featureDim;
    }
    const labels = payload.labels ?? null;
    let labelType: "uint8" | "uint16" = "uint8";
    if (labels) {
        if (!(labels instanceof Uint16Array)) throw new SemanticSplatError("INVALID_ARGUMENT", "labels must be a Uint16Array (65535 = none)", fileName);
        if (labels.length !== count) throw new SemanticSplatError("FEATURE_MISMATCH", `labels hold ${labels.length} values, the scene has ${count} Gaussians`, fileName);
        for (let i = 0; i < count; i++) {
            if (labels[i] >= 255 && labels[i] !== LABEL_NONE) {
                labelType = "uint16";
                break;
            }
        }
        properties.push({ name: "sem_label", type: labelType });
        byteSize += PLY_TYPE_SIZE[labelType];
    }
    const instances = payload.instances ?? null;
    let instanceType: "uint16" | "uint32" = "uint16";
    if (instances) {
        if (!(instances instanceof Uint32Array)) throw new SemanticSplatError("INVALID_ARGUMENT", "instances must be a Uint32Array (0xFFFFFFFF = none)", fileName);
        if (instances.length !== count) throw new SemanticSplatError("FEATURE_MISMATCH", `instances hold ${instances.length} values, the scene has ${count} Gaussians`, fileName);
        for (let i = 0; i < count; i++) {
            if (instances[i] >= 65535 && instances[i] !== INSTANCE_NONE) {
                instanceType = "uint32";
                break;
            }
        }
        properties.push({ name: "sem_instance", type: instanceType });
        byteSize += PLY_TYPE_SIZE[instanceType];
    }
    return { featureDim, features, labels, labelType, instances, instanceType, byteSize, properties };
}

/** Writes the semantic properties of vertex `v` at byte `at` (little endian). */
function writeSemanticTail(view: DataView, at: number, v: number, tail: SemanticTail): void {
    const features = tail.features;
    if (features) {
        const K = tail.featureDim;
        for (let c = 0, i = v * K; c < K; c++, i++, at += 4) view.setFloat32(at, features[i], true);
    }
    const labels = tail.labels;
    if (labels) {
        const label = labels[v];
        if (tail.labelType === "uint8") {
            view.setUint8(at, label === LABEL_NONE ? 255 : label);
            at += 1;
        } else {
            view.setUint16(at, label, true);
            at += 2;
        }
    }
    const instances = tail.instances;
    if (instances) {
        const instance = instances[v];
        if (tail.instanceType === "uint16") view.setUint16(at, instance === INSTANCE_NONE ? 65535 : instance, true);
        else view.setUint32(at, instance, true);
    }
}

function checkComment(comment: string, fileName: string): string {
    if (!/^[\x20-\x7e\t]*$/.test(comment)) throw new SemanticSplatError("INVALID_ARGUMENT", `a PLY comment must be printable ASCII on one line: ${JSON.stringify(comment)}`, fileName);
    return comment;
}

function headerBytes(comments: readonly string[], objInfo: readonly string[], elements: readonly { name: string; count: number; properties: readonly HeaderProperty[] }[]): Uint8Array {
    const lines = ["ply", "format binary_little_endian 1.0"];
    for (const c of comments) lines.push(c === "" ? "comment" : `comment ${c}`);
    for (const o of objInfo) lines.push(o === "" ? "obj_info" : `obj_info ${o}`);
    for (const e of elements) {
        lines.push(`element ${e.name} ${e.count}`);
        for (const p of e.properties) {
            const type = PLY_CLASSIC_TYPE_NAME[p.type];
            lines.push(p.listCountType ? `property list ${PLY_CLASSIC_TYPE_NAME[p.listCountType]} ${type} ${p.name}` : `property ${type} ${p.name}`);
        }
    }
    lines.push("end_header");
    // Header text is ASCII (names come from a parsed ASCII header), so one byte per character.
    const text = lines.join("\n") + "\n";
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
    return out;
}

interface HeaderProperty {
    readonly name: string;
    readonly type: PlyScalarType;
    readonly listCountType?: PlyScalarType;
}

/** Writes `value` as `type` little endian at `at`; returns the byte size. */
function writeValueLE(view: DataView, at: number, type: PlyScalarType, value: number): number {
    switch (type) {
        case "int8":
            view.setInt8(at, value);
            return 1;
        case "uint8":
            view.setUint8(at, value);
            return 1;
        case "int16":
            view.setInt16(at, value, true);
            return 2;
        case "uint16":
            view.setUint16(at, value, true);
            return 2;
        case "int32":
            view.setInt32(at, value, true);
            return 4;
        case "uint32":
            view.setUint32(at, value, true);
            return 4;
        case "float32":
            view.setFloat32(at, value, true);
            return 4;
        case "float64":
            view.setFloat64(at, value, true);
            return 8;
        case "float16":
            view.setUint16(at, float32ToHalfBits(value), true);
            return 2;
    }
}

/** A growable little-endian byte sink for elements of unknown size (ascii sources with lists). */
class ByteSink {
    bytes = new Uint8Array(1024);
    view = new DataView(this.bytes.buffer);
    length = 0;
    reserve(n: number): number {
        if (this.length + n > this.bytes.length) {
            const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
            grown.set(this.bytes.subarray(0, this.length));
            this.bytes = grown;
            this.view = new DataView(grown.buffer);
        }
        const at = this.length;
        this.length += n;
        return at;
    }
    result(): Uint8Array {
        return this.bytes.subarray(0, this.length);
    }
}

/** Re-encodes the rows of a non-vertex element as little endian; returns the bytes and the next input position. */
function convertOtherElementBinary(bytes: Uint8Array, offset: number, element: PlyElement, littleEndian: boolean, fileName: string): { data: Uint8Array; end: number } {
    const end = skipBinaryElement(bytes, offset, element, littleEndian, fileName);
    const data = bytes.slice(offset, end); // same layout and sizes; only byte order may differ
    if (!littleEndian) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let at = 0;
        const swap = (size: number) => {
            if (size > 1) data.subarray(at, at + size).reverse();
            at += size;
        };
        for (let row = 0; row < element.count; row++) {
            for (const property of element.properties) {
                if (property.listCountType !== undefined) {
                    const countSize = PLY_TYPE_SIZE[property.listCountType];
                    const n = readIntegerBE(view, offset + at, property.listCountType);
                    swap(countSize);
                    for (let k = 0; k < n; k++) swap(PLY_TYPE_SIZE[property.type]);
                } else {
                    swap(PLY_TYPE_SIZE[property.type]);
                }
            }
        }
    }
    return { data, end };
}

function readIntegerBE(view: DataView, at: number, type: PlyScalarType): number {
    switch (type) {
        case "int8":
            return view.getInt8(at);
        case "uint8":
            return view.getUint8(at);
        case "int16":
            return view.getInt16(at, false);
        case "uint16":
            return view.getUint16(at, false);
        case "int32":
            return view.getInt32(at, false);
        default:
            return view.getUint32(at, false);
    }
}

function convertOtherElementAscii(tokens: PlyAsciiTokens, element: PlyElement, fileName: string): Uint8Array {
    const sink = new ByteSink();
    for (let row = 0; row < element.count; row++) {
        for (const property of element.properties) {
            const where = `element '${element.name}' row ${row} property '${property.name}'`;
            const token = tokens.next();
            if (token === null) throw new SemanticSplatError("MALFORMED_FILE", `truncated ascii data: ${where} is missing (the data ends early)`, fileName);
            if (property.listCountType !== undefined) {
                const n = parseAsciiValue(token, property.listCountType, fileName, where);
                writeValueLE(sink.view, sink.reserve(PLY_TYPE_SIZE[property.listCountType]), property.listCountType, n);
                for (let k = 0; k < n; k++) {
                    const item = tokens.next();
                    if (item === null) throw new SemanticSplatError("MALFORMED_FILE", `truncated ascii data: ${where} list item ${k} of ${n} is missing`, fileName);
                    const value = parseAsciiValue(item, property.type, fileName, `${where} item ${k}`);
                    writeValueLE(sink.view, sink.reserve(PLY_TYPE_SIZE[property.type]), property.type, value);
                }
            } else {
                const value = parseAsciiValue(token, property.type, fileName, where);
                writeValueLE(sink.view, sink.reserve(PLY_TYPE_SIZE[property.type]), property.type, value);
            }
        }
    }
    return sink.result();
}

function isReplaced(property: PlyProperty, payload: SemanticPayload): boolean {
    if (payload.features !== undefined && property.name.startsWith("f_sem_")) return true;
    if (payload.labels !== undefined && property.name === "sem_label") return true;
    if (payload.instances !== undefined && property.name === "sem_instance") return true;
    return false;
}

/**
 * Writes a binary_little_endian PLY with the original file's elements and vertex properties (bit-exact) and the
 * given semantic attributes. See {@link SemanticPayload} for replace / keep / remove.
 *
 * @param original the original PLY file (any encoding)
 * @param fileName its name, for error messages
 * @throws SemanticSplatError from {@link parsePlyHeader}; FEATURE_MISMATCH when an array's length does not match
 *   the vertex count; INVALID_FEATURES for NaN/Inf features; INVALID_ARGUMENT for a bad K or array type
 */
export function writeSemanticPly(original: ArrayBuffer | ArrayBufferView, fileName: string, payload: SemanticPayload): Uint8Array {
    const bytes = asBytes(original);
    const header = parsePlyHeader(bytes, fileName);
    const count = header.vertexCount;
    const tail = planSemanticTail(payload, count, fileName);
    const kept = header.vertex.properties.filter((p) => !isReplaced(p, payload));
    const keptByteSize = kept.reduce((sum, p) => sum + PLY_TYPE_SIZE[p.type], 0);
    const rowByteSize = keptByteSize + tail.byteSize;

    const comments = [...header.comments, ...(payload.comments ?? []).map((c) => checkComment(c, fileName))];
    const outElements = header.elements.map((e, index) =>
        index === header.vertexElementIndex
            ? { name: e.name, count: e.count, properties: [...kept.map((p) => ({ name: p.name, type: p.type })), ...tail.properties] }
            : { name: e.name, count: e.count, properties: e.properties.map((p) => ({ name: p.name, type: p.type, listCountType: p.listCountType })) }
    );
    const head = headerBytes(comments, header.objInfo, outElements);

    const parts: Uint8Array[] = [head];
    const littleEndian = header.encoding === "binary_little_endian";
    const ascii = header.encoding === "ascii";
    const tokens = ascii ? new PlyAsciiTokens(bytes, header.headerByteLength) : null;
    let position = header.headerByteLength;

    for (let e = 0; e < header.elements.length; e++) {
        const element = header.elements[e];
        if (e !== header.vertexElementIndex) {
            if (tokens) parts.push(convertOtherElementAscii(tokens, element, fileName));
            else {
                const converted = convertOtherElementBinary(bytes, position, element, littleEndian, fileName);
                parts.push(converted.data);
                position = converted.end;
            }
            continue;
        }
        const vertexData = new Uint8Array(count * rowByteSize);
        const view = new DataView(vertexData.buffer);
        if (tokens) {
            writeAsciiVertices(tokens, header, kept, tail, view, rowByteSize, keptByteSize);
        } else {
            writeBinaryVertices(bytes, header, kept, tail, vertexData, view, rowByteSize, keptByteSize, littleEndian);
            position += count * header.vertexRowByteSize;
        }
        parts.push(vertexData);
    }
    return concat(parts);
}

function writeBinaryVertices(
    bytes: Uint8Array,
    header: PlyHeader,
    kept: readonly PlyProperty[],
    tail: SemanticTail,
    out: Uint8Array,
    view: DataView,
    rowByteSize: number,
    keptByteSize: number,
    littleEndian: boolean
): void {
    // For each output byte of the kept part, the input byte (within the source row) it comes from: this copies,
    // reorders and byte-swaps (big endian) in one flat loop, without decoding values, so NaN payloads and
    // every other bit pattern survive.
    const sourceByte = new Int32Array(keptByteSize);
    let j = 0;
    for (const property of kept) {
        const size = PLY_TYPE_SIZE[property.type];
        for (let b = 0; b < size; b++) sourceByte[j++] = property.offset + (littleEndian ? b : size - 1 - b);
    }
    const stride = header.vertexRowByteSize;
    const count = header.vertexCount;
    let source = header.vertexDataOffset as number;
    let target = 0;
    if (!littleEndian) {
        for (let v = 0; v < count; v++, source += stride, target += rowByteSize) {
            for (let b = 0; b < keptByteSize; b++) out[target + b] = bytes[source + sourceByte[b]];
            if (tail.byteSize) writeSemanticTail(view, target + keptByteSize, v, tail);
        }
        return;
    }
    // Little endian: the kept bytes are a few contiguous runs of the source row (usually one); copy each run
    // with the native TypedArray.set, which is several times faster than a byte loop on 200+ byte rows.
    const runs: number[] = []; // triples: source offset in row, target offset in row, length
    for (let b = 0; b < keptByteSize; b++) {
        const last = runs.length - 3;
        if (last >= 0 && runs[last] + runs[last + 2] === sourceByte[b] && runs[last + 1] + runs[last + 2] === b) runs[last + 2]++;
        else runs.push(sourceByte[b], b, 1);
    }
    for (let v = 0; v < count; v++, source += stride, target += rowByteSize) {
        for (let r = 0; r < runs.length; r += 3) {
            const from = source + runs[r];
            out.set(bytes.subarray(from, from + runs[r + 2]), target + runs[r + 1]);
        }
        if (tail.byteSize) writeSemanticTail(view, target + keptByteSize, v, tail);
    }
}

function writeAsciiVertices(
    tokens: PlyAsciiTokens,
    header: PlyHeader,
    kept: readonly PlyProperty[],
    tail: SemanticTail,
    view: DataView,
    rowByteSize: number,
    keptByteSize: number
): void {
    const fileName = header.fileName;
    const all = header.vertex.properties;
    const keptIndex = kept.map((p) => all.indexOf(p));
    const row: string[] = new Array(all.length);
    for (let v = 0, target = 0; v < header.vertexCount; v++, target += rowByteSize) {
        for (let p = 0; p < all.length; p++) {
            const token = tokens.next();
            if (token === null) {
                throw new SemanticSplatError("MALFORMED_FILE", `truncated ascii data: the header declares ${header.vertexCount} vertices, the data ends in vertex ${v} (property '${all[p].name}')`, fileName);
            }
            row[p] = token;
        }
        let at = target;
        for (let k = 0; k < kept.length; k++) {
            const property = kept[k];
            const value = parseAsciiValue(row[keptIndex[k]], property.type, fileName, `vertex ${v} property '${property.name}'`);
            at += writeValueLE(view, at, property.type, value);
        }
        if (tail.byteSize) writeSemanticTail(view, target + keptByteSize, v, tail);
    }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    for (const part of parts) {
        out.set(part, at);
        at += part.length;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Babylon's splat layout -> 3DGS PLY.

/** Bytes per splat in Babylon's layout (GaussianSplattingMeshBase._RowOutputLength). */
export const BABYLON_SPLAT_ROW_BYTES = 32;

/** The SH band-0 constant Babylon (and 3DGS) use for colour: rgb = 0.5 + SH_C0 * f_dc. */
export const SH_C0 = 0.28209479177387814;

/** Properties of the standard 3DGS PLY written from a splat buffer, in order (all float). */
export const SPLAT_PLY_PROPERTIES = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"] as const;

/** log() of the smallest normal float: the log-scale written for a zero scale (exp() of it reads back as ~0). */
const MIN_LOG_SCALE = Math.log(1.1754943508222875e-38);

/**
 * Writes a standard 3DGS PLY (x y z, f_dc_0..2, opacity as a logit, scale_0..2 as logs, rot_0..3 with rot_0 = w)
 * plus the semantic properties from Babylon's 32-byte splat layout:
 * position f32x3 (bytes 0-11), scale f32x3 (12-23, linear), rgba u8x4 (24-27, alpha = sigmoid(opacity) * 255),
 * rotation u8x4 (28-31, [w, x, y, z] each as q * 127.5 + 127.5), as built by
 * `GaussianSplattingMeshBase._GetSplat` in @babylonjs/core 9.35. The conversion inverts Babylon's PLY import, so
 * loading the written PLY in Babylon gives back the same positions and scales (to float rounding), the same
 * colour and alpha bytes, and rotation bytes within 1 (Babylon renormalises the dequantised quaternion).
 * Spherical harmonics beyond band 0 are not in the splat layout and are not written.
 *
 * @param splats `count * 32` bytes (e.g. `mesh.splatsData`)
 * @throws SemanticSplatError MALFORMED_FILE (length not a multiple of 32, non-finite position or scale),
 *   EMPTY_SCENE (no splats), and the payload errors of {@link writeSemanticPly}
 */
export function writeSplatAsSemanticPly(splats: ArrayBuffer | ArrayBufferView, fileName: string, payload: SemanticPayload = {}): Uint8Array {
    const bytes = asBytes(splats);
    if (bytes.length % BABYLON_SPLAT_ROW_BYTES !== 0) {
        throw new SemanticSplatError("MALFORMED_FILE", `splat data of ${bytes.length} bytes is not a whole number of ${BABYLON_SPLAT_ROW_BYTES}-byte splats`, fileName);
    }
    const count = bytes.length / BABYLON_SPLAT_ROW_BYTES;
    if (count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the splat data holds 0 splats (an empty scene)", fileName);
    const tail = planSemanticTail(payload, count, fileName);
    const comments = ["converted from Babylon.js splat data by babylon-semantic-splatting", ...(payload.comments ?? []).map((c) => checkComment(c, fileName))];
    const properties: HeaderProperty[] = [...SPLAT_PLY_PROPERTIES.map((name) => ({ name, type: "float32" as const })), ...tail.properties];
    const head = headerBytes(comments, [], [{ name: "vertex", count, properties }]);

    const baseByteSize = SPLAT_PLY_PROPERTIES.length * 4;
    const rowByteSize = baseByteSize + tail.byteSize;
    const out = new Uint8Array(head.length + count * rowByteSize);
    out.set(head, 0);
    const view = new DataView(out.buffer);
    const source = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const f = new Float64Array(SPLAT_PLY_PROPERTIES.length);
    for (let v = 0, at = head.length; v < count; v++, at += rowByteSize) {
        const s = v * BABYLON_SPLAT_ROW_BYTES;
        f[0] = source.getFloat32(s, true);
        f[1] = source.getFloat32(s + 4, true);
        f[2] = source.getFloat32(s + 8, true);
        if (!Number.isFinite(f[0] + f[1] + f[2])) throw new SemanticSplatError("MALFORMED_FILE", `splat ${v} has a non-finite position`, fileName);
        // colour: byte = (0.5 + SH_C0 * f_dc) * 255  =>  f_dc = (byte / 255 - 0.5) / SH_C0
        for (let c = 0; c < 3; c++) f[3 + c] = (bytes[s + 24 + c] / 255 - 0.5) / SH_C0;
        // alpha: byte = sigmoid(opacity) * 255. Bytes 0 and 255 have no finite logit: use 0.25 and 254.75, which
        // Babylon's Uint8ClampedArray rounds back to 0 and 255.
        const p = Math.min(Math.max(bytes[s + 27], 0.25), 254.75) / 255;
        f[6] = Math.log(p / (1 - p));
        for (let c = 0; c < 3; c++) {
            const scale = source.getFloat32(s + 12 + 4 * c, true);
            if (Number.isNaN(scale) || scale === Infinity) throw new SemanticSplatError("MALFORMED_FILE", `splat ${v} has a non-finite scale ${scale}`, fileName);
            f[7 + c] = scale > 0 ? Math.log(scale) : MIN_LOG_SCALE;
        }
        // rotation bytes [w, x, y, z] = q * 127.5 + 127.5 -> PLY rot_0 = w, rot_1..3 = x, y, z
        for (let c = 0; c < 4; c++) f[10 + c] = (bytes[s + 28 + c] - 127.5) / 127.5;
        for (let c = 0; c < SPLAT_PLY_PROPERTIES.length; c++) view.setFloat32(at + 4 * c, f[c], true);
        if (tail.byteSize) writeSemanticTail(view, at + baseByteSize, v, tail);
    }
    return out;
}
