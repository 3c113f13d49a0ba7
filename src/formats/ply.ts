// PLY reading: header parsing, data layout, and a single-pass vertex property reader.
//
// Pure TypeScript with no Babylon imports: the mesh, the worker and Node tools share it.
// Supports the three PLY encodings (ascii, binary_little_endian, binary_big_endian), every PLY scalar type and
// its sized alias (char/int8, uchar/uint8, short/int16, ushort/uint16, int/int32, uint/uint32, float/float32,
// double/float64) plus `half`/`float16` (not in the PLY standard; used for compact per-Gaussian features),
// elements before and after `vertex` (list properties are allowed there and walked to find offsets), `comment` and
// `obj_info` lines, CRLF line ends. The vertex element must have fixed-size rows (no list properties).
//
// Every failure is a SemanticSplatError whose message starts with the file name and says what is wrong.

import { SemanticSplatError } from "../errors";
import { float32ToHalfBits, halfBitsToFloat32 } from "../util/half";

/** The three PLY data encodings. */
export type PlyEncoding = "ascii" | "binary_little_endian" | "binary_big_endian";

/** A PLY scalar type, by its sized name (the header may use the classic alias, kept in `typeName`). */
export type PlyScalarType = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64" | "float16";

/** Byte size of each scalar type. */
export const PLY_TYPE_SIZE: Readonly<Record<PlyScalarType, number>> = {
    int8: 1,
    uint8: 1,
    int16: 2,
    uint16: 2,
    int32: 4,
    uint32: 4,
    float32: 4,
    float64: 8,
    float16: 2,
};

/** Type names accepted in a header (classic names, sized aliases, and the half extension). */
const TYPE_NAMES: Readonly<Record<string, PlyScalarType>> = {
    char: "int8",
    int8: "int8",
    uchar: "uint8",
    uint8: "uint8",
    short: "int16",
    int16: "int16",
    ushort: "uint16",
    uint16: "uint16",
    int: "int32",
    int32: "int32",
    uint: "uint32",
    uint32: "uint32",
    float: "float32",
    float32: "float32",
    double: "float64",
    float64: "float64",
    half: "float16",
    float16: "float16",
};

/**
 * The classic PLY name of each type, used when writing. Babylon's own PLY loader only knows the classic names
 * (float, double, int, uint, uchar, ushort, short), so written files use them.
 */
export const PLY_CLASSIC_TYPE_NAME: Readonly<Record<PlyScalarType, string>> = {
    int8: "char",
    uint8: "uchar",
    int16: "short",
    uint16: "ushort",
    int32: "int",
    uint32: "uint",
    float32: "float",
    float64: "double",
    float16: "half",
};

/** True for the integer scalar types. */
export function isIntegerPlyType(type: PlyScalarType): boolean {
    return type !== "float32" && type !== "float64" && type !== "float16";
}

/** One property of an element. */
export interface PlyProperty {
    readonly name: string;
    /** Scalar type; for a list property, the type of its items. */
    readonly type: PlyScalarType;
    /** The type name as written in the header (e.g. `float` or `float32`). */
    readonly typeName: string;
    /** For a list property, the type of its leading item count; undefined for scalar properties. */
    readonly listCountType?: PlyScalarType;
    /** Byte offset of the property inside a binary row; -1 when a list property precedes it (variable offset). */
    readonly offset: number;
}

/** One element (`element <name> <count>`) and its properties, in header order. */
export interface PlyElement {
    readonly name: string;
    readonly count: number;
    readonly properties: readonly PlyProperty[];
    /** Bytes per binary row, or null when the element has list properties (variable-size rows). */
    readonly rowByteSize: number | null;
}

/** A parsed PLY header. */
export interface PlyHeader {
    readonly fileName: string;
    readonly encoding: PlyEncoding;
    /** The version string of the `format` line (always "1.0" in practice). */
    readonly version: string;
    /** `comment` lines, without the keyword, in order. */
    readonly comments: readonly string[];
    /** `obj_info` lines, without the keyword, in order. */
    readonly objInfo: readonly string[];
    readonly elements: readonly PlyElement[];
    /** Byte length of the header, through the newline after `end_header`: the data starts here. */
    readonly headerByteLength: number;
    /** Index of the `vertex` element in `elements`. */
    readonly vertexElementIndex: number;
    /** The `vertex` element (the Gaussians); its rows have a fixed size. */
    readonly vertex: PlyElement;
    /** Number of vertices (Gaussians). Always at least 1. */
    readonly vertexCount: number;
    /** Bytes per vertex row in binary encodings. */
    readonly vertexRowByteSize: number;
    /**
     * Absolute byte offset of the first vertex row for binary encodings (elements before `vertex` are skipped,
     * walking their lists when they have any); null for ascii, whose offsets depend on the text, and for a header
     * parsed from a prefix (`complete: false`) that ends inside a list element before the vertices.
     */
    readonly vertexDataOffset: number | null;
}

/** Options of {@link parsePlyHeader}. */
export interface ParsePlyHeaderOptions {
    /**
     * When true (the default) the bytes must be the whole file: the vertex data of a binary file must be present,
     * so a truncated file or a vertex count larger than the data fails here, before anything is allocated.
     * Pass false to parse a header from a prefix of the file (offsets are then not checked).
     */
    readonly complete?: boolean;
}

/** The longest header we scan for `end_header` (headers of real 3DGS files are a few KiB). */
export const MAX_PLY_HEADER_BYTES = 1 << 20;

/** Most elements a PLY may declare per element: counts are u32 in practice. */
const MAX_ELEMENT_COUNT = 0xffffffff;

/** Accepts an ArrayBuffer or any view and returns a Uint8Array over the same bytes (no copy). */
export function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return new Uint8Array(data);
}

function malformed(fileName: string, message: string): SemanticSplatError {
    return new SemanticSplatError("MALFORMED_FILE", message, fileName);
}

/** True when the bytes start with the PLY magic line (`ply` then LF or CRLF). */
export function isPly(data: ArrayBuffer | ArrayBufferView): boolean {
    const bytes = asBytes(data);
    return (
        bytes.length >= 4 &&
        bytes[0] === 0x70 && // p
        bytes[1] === 0x6c && // l
        bytes[2] === 0x79 && // y
        (bytes[3] === 0x0a || (bytes[3] === 0x0d && bytes[4] === 0x0a))
    );
}

/**
 * Parses the header of a PLY scene and checks that it describes Gaussians we can read: a `vertex` element with at
 * least one vertex, `x`, `y`, `z` properties, no list properties on it, and (by default) binary data long enough for
 * every declared vertex.
 *
 * @param data the file (or, with `complete: false`, a prefix of it that holds the whole header)
 * @param fileName name or URL of the file, used in error messages
 * @throws SemanticSplatError MALFORMED_FILE (no `ply` magic, no `end_header` in the first
 *   {@link MAX_PLY_HEADER_BYTES}, bad lines, missing x/y/z, truncated data, vertex count larger than the data),
 *   UNSUPPORTED_FORMAT (unknown encoding or property type, list property on `vertex`), EMPTY_SCENE (0 vertices
 *   or no `vertex` element)
 */
export function parsePlyHeader(data: ArrayBuffer | ArrayBufferView, fileName: string, options: ParsePlyHeaderOptions = {}): PlyHeader {
    const bytes = asBytes(data);
    if (bytes.length === 0) throw malformed(fileName, "the file is empty (0 bytes)");
    if (!isPly(bytes)) throw malformed(fileName, "not a PLY file: it does not start with the 'ply' magic line");

    const lines = splitHeaderLines(bytes, fileName);
    let encoding: PlyEncoding | null = null;
    let version = "";
    const comments: string[] = [];
    const objInfo: string[] = [];
    const elements: { name: string; count: number; properties: PlyProperty[]; line: number }[] = [];

    // lines[0] is the magic; the last line is end_header.
    for (let i = 1; i < lines.text.length - 1; i++) {
        const raw = lines.text[i];
        const lineNo = i + 1;
        const trimmed = raw.trim();
        if (trimmed === "") continue;
        const keyword = trimmed.split(/\s+/, 1)[0];
        if (keyword === "comment") {
            comments.push(trimmed.slice(7).trim());
            continue;
        }
        if (keyword === "obj_info") {
            objInfo.push(trimmed.slice(8).trim());
            continue;
        }
        const words = trimmed.split(/\s+/);
        if (keyword === "format") {
            if (encoding !== null) throw malformed(fileName, `header line ${lineNo}: a second 'format' line`);
            if (words.length !== 3) throw malformed(fileName, `header line ${lineNo}: expected 'format <encoding> <version>', got '${trimmed}'`);
            const name = words[1];
            if (name !== "ascii" && name !== "binary_little_endian" && name !== "binary_big_endian") {
                throw new SemanticSplatError("UNSUPPORTED_FORMAT", `header line ${lineNo}: unknown PLY encoding '${name}' (expected ascii, binary_little_endian or binary_big_endian)`, fileName);
            }
            encoding = name;
            version = words[2];
            if (version !== "1.0" && version !== "1") {
                throw new SemanticSplatError("UNSUPPORTED_FORMAT", `header line ${lineNo}: unsupported PLY version '${version}' (only 1.0 exists)`, fileName);
            }
            continue;
        }
        if (encoding === null) throw malformed(fileName, `header line ${lineNo}: '${keyword}' before the 'format' line`);
        if (keyword === "element") {
            if (words.length !== 3) throw malformed(fileName, `header line ${lineNo}: expected 'element <name> <count>', got '${trimmed}'`);
            const name = words[1];
            if (!/^\d+$/.test(words[2])) throw malformed(fileName, `header line ${lineNo}: element '${name}' has a count that is not a non-negative integer: '${words[2]}'`);
            const count = Number(words[2]);
            if (count > MAX_ELEMENT_COUNT) throw malformed(fileName, `header line ${lineNo}: element '${name}' declares ${words[2]} rows, more than a PLY count can hold (${MAX_ELEMENT_COUNT})`);
            if (elements.some((e) => e.name === name)) throw malformed(fileName, `header line ${lineNo}: element '${name}' is declared twice`);
            elements.push({ name, count, properties: [], line: lineNo });
            continue;
        }
        if (keyword === "property") {
            const element = elements[elements.length - 1];
            if (!element) throw malformed(fileName, `header line ${lineNo}: 'property' before any 'element'`);
            let property: PlyProperty;
            if (words[1] === "list") {
                if (words.length !== 5) throw malformed(fileName, `header line ${lineNo}: expected 'property list <count type> <item type> <name>', got '${trimmed}'`);
                const countType = scalarType(words[2], fileName, lineNo);
                const itemType = scalarType(words[3], fileName, lineNo);
                if (!isIntegerPlyType(countType)) throw malformed(fileName, `header line ${lineNo}: list '${words[4]}' has a non-integer count type '${words[2]}'`);
                property = { name: words[4], type: itemType, typeName: words[3], listCountType: countType, offset: -1 };
            } else {
                if (words.length !== 3) throw malformed(fileName, `header line ${lineNo}: expected 'property <type> <name>', got '${trimmed}'`);
                property = { name: words[2], type: scalarType(words[1], fileName, lineNo), typeName: words[1], offset: -1 };
            }
            if (element.properties.some((p) => p.name === property.name)) {
                throw malformed(fileName, `header line ${lineNo}: element '${element.name}' has two properties named '${property.name}'`);
            }
            element.properties.push(property);
            continue;
        }
        throw malformed(fileName, `header line ${lineNo}: unknown header keyword '${keyword}'`);
    }
    if (encoding === null) throw malformed(fileName, "the header has no 'format' line");

    // Binary row layout: fixed offsets until the first list property.
    const finalElements: PlyElement[] = elements.map((e) => {
        let offset = 0;
        let fixed = true;
        const properties = e.properties.map((p) => {
            const placed: PlyProperty = { ...p, offset: fixed ? offset : -1 };
            if (p.listCountType !== undefined) fixed = false;
            else offset += PLY_TYPE_SIZE[p.type];
            return placed;
        });
        return { name: e.name, count: e.count, properties, rowByteSize: fixed ? offset : null };
    });

    const vertexElementIndex = finalElements.findIndex((e) => e.name === "vertex");
    if (vertexElementIndex < 0) throw new SemanticSplatError("EMPTY_SCENE", "the PLY has no 'vertex' element, so no Gaussians", fileName);
    const vertex = finalElements[vertexElementIndex];
    const list = vertex.properties.find((p) => p.listCountType !== undefined);
    if (list) throw new SemanticSplatError("UNSUPPORTED_FORMAT", `the vertex element has a list property '${list.name}'; Gaussians need fixed-size vertex rows`, fileName);
    if (vertex.count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the PLY declares 0 vertices (an empty scene)", fileName);
    for (const axis of ["x", "y", "z"]) {
        if (!vertex.properties.some((p) => p.name === axis)) throw malformed(fileName, `the vertex element has no '${axis}' property (positions are required)`);
    }
    const vertexRowByteSize = vertex.rowByteSize as number;

    if (encoding === "ascii" && (options.complete ?? true)) {
        // Each value is at least one character and values are separated by whitespace: a count the text cannot
        // hold is refused here, before any row is walked or any array is sized from it.
        let values = 0;
        for (let e = 0; e <= vertexElementIndex; e++) {
            const element = finalElements[e];
            if (element.count > 0 && element.properties.length === 0) {
                throw malformed(fileName, `element '${element.name}' declares ${element.count} rows but has no properties`);
            }
            values += element.count * element.properties.length;
        }
        const available = bytes.length - lines.byteLength;
        if (values * 2 - 1 > available) {
            throw malformed(
                fileName,
                `truncated ascii data: the header declares ${vertex.count} vertices (${values} values through the vertex element), ` +
                    `which need at least ${values * 2 - 1} bytes of text, but only ${available} bytes follow the header`
            );
        }
    }

    let vertexDataOffset: number | null = null;
    if (encoding !== "ascii") {
        const littleEndian = encoding === "binary_little_endian";
        const complete = options.complete ?? true;
        let offset: number | null = lines.byteLength;
        for (let e = 0; e < vertexElementIndex && offset !== null; e++) {
            const element = finalElements[e];
            // A prefix may end inside a list element before the vertices: the offset is then unknown.
            if (!complete && element.rowByteSize === null && !canWalkListElement(bytes, offset, element, littleEndian)) offset = null;
            else offset = skipBinaryElement(bytes, offset, element, littleEndian, fileName, complete);
        }
        vertexDataOffset = offset;
        if (complete && offset !== null) {
            const needed = vertex.count * vertexRowByteSize;
            const available = bytes.length - offset;
            if (needed > available) {
                const whole = Math.floor(available / vertexRowByteSize);
                throw malformed(
                    fileName,
                    `truncated vertex data: the header declares ${vertex.count} vertices of ${vertexRowByteSize} bytes ` +
                        `(${needed} bytes from byte ${offset}), but only ${available} bytes follow (${whole} complete vertices)`
                );
            }
        }
    }

    return {
        fileName,
        encoding,
        version,
        comments,
        objInfo,
        elements: finalElements,
        headerByteLength: lines.byteLength,
        vertexElementIndex,
        vertex,
        vertexCount: vertex.count,
        vertexRowByteSize,
        vertexDataOffset,
    };
}

function scalarType(name: string, fileName: string, lineNo: number): PlyScalarType {
    const type = Object.prototype.hasOwnProperty.call(TYPE_NAMES, name) ? TYPE_NAMES[name] : undefined; // not "toString"
    if (!type) {
        throw new SemanticSplatError(
            "UNSUPPORTED_FORMAT",
            `header line ${lineNo}: unknown property type '${name}' (known: ${Object.keys(TYPE_NAMES).join(", ")})`,
            fileName
        );
    }
    return type;
}

/** Splits the header into lines (LF or CRLF), scanning at most MAX_PLY_HEADER_BYTES for `end_header`. */
function splitHeaderLines(bytes: Uint8Array, fileName: string): { text: string[]; byteLength: number } {
    const limit = Math.min(bytes.length, MAX_PLY_HEADER_BYTES);
    const text: string[] = [];
    let start = 0;
    for (let i = 0; i <= limit; i++) {
        const atEnd = i === bytes.length; // the last line of a file without data may lack a newline
        if (!atEnd && i === limit) break; // a line cut at the scan limit: no end_header in the prefix
        if (!atEnd && bytes[i] !== 0x0a) continue;
        let end = i;
        if (end > start && bytes[end - 1] === 0x0d) end--;
        let line = "";
        for (let j = start; j < end; j++) {
            const c = bytes[j];
            // Control bytes never occur in a text header; they mean binary data (no end_header before it).
            // Bytes >= 0x80 are allowed (read as Latin-1): some tools write UTF-8 comments.
            if ((c < 0x20 && c !== 0x09 && c !== 0x0d) || c === 0x7f) {
                throw malformed(fileName, `header line ${text.length + 1} has a control byte 0x${c.toString(16).padStart(2, "0")} at byte ${j} (binary data before 'end_header'?)`);
            }
            line += String.fromCharCode(c);
        }
        text.push(line);
        if (line.trim() === "end_header") return { text, byteLength: atEnd ? i : i + 1 };
        if (atEnd) break;
        start = i + 1;
    }
    throw malformed(
        fileName,
        bytes.length > MAX_PLY_HEADER_BYTES
            ? `no 'end_header' line in the first ${MAX_PLY_HEADER_BYTES} bytes`
            : `no 'end_header' line: the header runs to the end of the file (${bytes.length} bytes)`
    );
}

/** True when every row of a list element lies inside `bytes` (so a prefix can be walked). */
function canWalkListElement(bytes: Uint8Array, offset: number, element: PlyElement, littleEndian: boolean): boolean {
    try {
        skipBinaryElement(bytes, offset, element, littleEndian, "", true);
        return true;
    } catch {
        return false;
    }
}

/** Reads an integer of an integer type (used for list counts). */
function readBinaryInteger(view: DataView, offset: number, type: PlyScalarType, littleEndian: boolean): number {
    switch (type) {
        case "int8":
            return view.getInt8(offset);
        case "uint8":
            return view.getUint8(offset);
        case "int16":
            return view.getInt16(offset, littleEndian);
        case "uint16":
            return view.getUint16(offset, littleEndian);
        case "int32":
            return view.getInt32(offset, littleEndian);
        case "uint32":
            return view.getUint32(offset, littleEndian);
        default:
            throw new Error(`not an integer type: ${type}`);
    }
}

/**
 * Returns the byte offset just past the binary rows of `element` starting at `offset`. Fixed-size elements are
 * skipped arithmetically, elements with lists row by row. With `complete`, running past the data is an error.
 */
export function skipBinaryElement(bytes: Uint8Array, offset: number, element: PlyElement, littleEndian: boolean, fileName: string, complete = true): number {
    if (element.rowByteSize !== null) {
        const end = offset + element.count * element.rowByteSize;
        if (complete && end > bytes.length) {
            throw malformed(fileName, `truncated data in element '${element.name}': its ${element.count} rows need ${end - offset} bytes from byte ${offset}, the file has ${bytes.length} bytes`);
        }
        return end;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let position = offset;
    for (let row = 0; row < element.count; row++) {
        for (const property of element.properties) {
            if (property.listCountType === undefined) {
                position += PLY_TYPE_SIZE[property.type];
                continue;
            }
            const countSize = PLY_TYPE_SIZE[property.listCountType];
            if (position + countSize > bytes.length) {
                throw malformed(fileName, `truncated data in element '${element.name}': row ${row} of ${element.count} ends past the end of the file (${bytes.length} bytes)`);
            }
            const n = readBinaryInteger(view, position, property.listCountType, littleEndian);
            if (n < 0) throw malformed(fileName, `element '${element.name}' row ${row}: list '${property.name}' has a negative length ${n}`);
            position += countSize + n * PLY_TYPE_SIZE[property.type];
        }
        if (position > bytes.length) {
            throw malformed(fileName, `truncated data in element '${element.name}': row ${row} of ${element.count} ends past the end of the file (${bytes.length} bytes)`);
        }
    }
    return position;
}

// ---------------------------------------------------------------------------------------------------------------
// ASCII data: whitespace-separated tokens, rows may span or share lines (the PLY spec only fixes the order).

/** Sequential reader of whitespace-separated ASCII tokens in the data section. */
export class PlyAsciiTokens {
    private position: number;
    constructor(
        private readonly bytes: Uint8Array,
        start: number
    ) {
        this.position = start;
    }

    /** The next token, or null at the end of the data. */
    next(): string | null {
        const bytes = this.bytes;
        const length = bytes.length;
        let i = this.position;
        while (i < length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
        if (i >= length) {
            this.position = i;
            return null;
        }
        let token = "";
        while (i < length) {
            const c = bytes[i];
            if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
            token += String.fromCharCode(c);
            i++;
        }
        this.position = i;
        return token;
    }
}

/** Parses one ASCII token as a value of `type`; throws a MALFORMED_FILE error naming the place on failure. */
export function parseAsciiValue(token: string, type: PlyScalarType, fileName: string, where: string): number {
    if (isIntegerPlyType(type)) {
        // Decimal integers; a zero fraction ("255.0", written by some exporters) is accepted. Number() alone would
        // also take "0x1f", "1e2" or "Infinity".
        if (!ASCII_INTEGER.test(token)) throw malformed(fileName, `${where}: '${token}' is not an integer`);
        const value = Number(token);
        const [min, max] = INTEGER_RANGE[type];
        if (value < min || value > max) throw malformed(fileName, `${where}: ${token} is out of range for ${type} (${min}..${max})`);
        return value;
    }
    const lower = token.toLowerCase();
    if (lower === "nan" || lower === "-nan" || lower === "+nan") return NaN;
    if (lower === "inf" || lower === "+inf" || lower === "infinity" || lower === "+infinity") return Infinity;
    if (lower === "-inf" || lower === "-infinity") return -Infinity;
    if (!ASCII_DECIMAL.test(token)) throw malformed(fileName, `${where}: '${token}' is not a number`);
    return Number(token);
}

const ASCII_INTEGER = /^[+-]?\d+(\.0*)?$/;
const ASCII_DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const INTEGER_RANGE: Readonly<Record<string, readonly [number, number]>> = {
    int8: [-128, 127],
    uint8: [0, 255],
    int16: [-32768, 32767],
    uint16: [0, 65535],
    int32: [-2147483648, 2147483647],
    uint32: [0, 4294967295],
};

/** Skips the ASCII rows of `element` (used for elements before `vertex`). */
export function skipAsciiElement(tokens: PlyAsciiTokens, element: PlyElement, fileName: string): void {
    for (let row = 0; row < element.count; row++) {
        for (const property of element.properties) {
            const where = `element '${element.name}' row ${row} property '${property.name}'`;
            const token = tokens.next();
            if (token === null) throw malformed(fileName, `truncated ascii data: ${where} is missing (the data ends early)`);
            if (property.listCountType !== undefined) {
                const n = parseAsciiValue(token, property.listCountType, fileName, where);
                for (let k = 0; k < n; k++) {
                    if (tokens.next() === null) throw malformed(fileName, `truncated ascii data: ${where} list item ${k} of ${n} is missing`);
                }
            }
        }
    }
}

/** Returns a token reader positioned at the first vertex row of an ASCII PLY. */
export function asciiTokensAtVertexData(bytes: Uint8Array, header: PlyHeader): PlyAsciiTokens {
    const tokens = new PlyAsciiTokens(bytes, header.headerByteLength);
    for (let e = 0; e < header.vertexElementIndex; e++) skipAsciiElement(tokens, header.elements[e], header.fileName);
    return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Vertex property reading.

/** Typed arrays {@link readVertexProperties} can fill. */
export type VertexPropertyTarget = Float32Array | Float64Array | Uint16Array | Uint32Array | Int32Array | Uint8Array;

const TYPE_CODE: Readonly<Record<PlyScalarType, number>> = {
    int8: 0,
    uint8: 1,
    int16: 2,
    uint16: 3,
    int32: 4,
    uint32: 5,
    float32: 6,
    float64: 7,
    float16: 8,
};

/**
 * Reads the given vertex properties of every vertex, in one pass, into `target` row-major
 * (`target[v * names.length + j]` is property `names[j]` of vertex `v`). Values are converted by the typed array's
 * own conversion (float32 targets round doubles to float; integer targets must be wide enough: the caller picks
 * them from the property types). float16 properties are decoded exactly.
 *
 * @throws SemanticSplatError MALFORMED_FILE for a missing property name or truncated/invalid ascii data
 */
export function readVertexProperties<T extends VertexPropertyTarget>(
    data: ArrayBuffer | ArrayBufferView,
    header: PlyHeader,
    names: readonly string[],
    target: T
): T {
    const width = names.length;
    if (target.length !== header.vertexCount * width) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `readVertexProperties: target has ${target.length} elements, need ${header.vertexCount} x ${width}`, header.fileName);
    }
    visitVertexProperties(data, header, names, (values, firstVertex, rows) => {
        // The native TypedArray.set converts a whole chunk into the target type.
        target.set(rows * width === values.length ? values : values.subarray(0, rows * width), firstVertex * width);
    });
    return target;
}

/**
 * Called by {@link visitVertexProperties} for each chunk of consecutive vertices: `values` holds `rows` rows of
 * `names.length` values each (row-major; only the first `rows * names.length` entries are valid). The array is
 * reused for the next chunk, so copy out what you keep.
 */
export type VertexChunkVisitor = (values: Float64Array, firstVertex: number, rows: number) => void;

/**
 * The single-pass vertex reader behind {@link readVertexProperties}: decodes the named properties chunk by chunk
 * (a few thousand vertices at a time) into a Float64Array, which holds every PLY scalar exactly: float32 values
 * as float32, halves decoded exactly, ascii text rounded to the declared type as a binary file would store it.
 * The hot loop always writes that one array type, so it stays monomorphic; callers see one call per chunk.
 *
 * @throws SemanticSplatError MALFORMED_FILE for a missing property name or truncated/invalid data,
 *   INVALID_ARGUMENT for a header parsed from a prefix that does not reach the vertex data
 */
export function visitVertexProperties(data: ArrayBuffer | ArrayBufferView, header: PlyHeader, names: readonly string[], visit: VertexChunkVisitor): void {
    const bytes = asBytes(data);
    const fileName = header.fileName;
    const count = header.vertexCount;
    const width = names.length;
    const properties = names.map((name) => {
        const index = header.vertex.properties.findIndex((p) => p.name === name);
        if (index < 0) throw malformed(fileName, `the vertex element has no '${name}' property`);
        return { property: header.vertex.properties[index], index };
    });
    if (width === 0) return;
    const chunkRows = Math.max(1, Math.floor(CHUNK_VALUES / width));
    const scratch = new Float64Array(chunkRows * width);

    if (header.encoding === "ascii") {
        const tokens = asciiTokensAtVertexData(bytes, header);
        const vertexProperties = header.vertex.properties;
        const row: string[] = new Array(vertexProperties.length);
        let first = 0;
        let o = 0;
        for (let v = 0; v < count; v++) {
            for (let p = 0; p < vertexProperties.length; p++) {
                const token = tokens.next();
                if (token === null) {
                    throw malformed(fileName, `truncated ascii data: the header declares ${count} vertices, the data ends in vertex ${v} (property '${vertexProperties[p].name}')`);
                }
                row[p] = token;
            }
            for (let j = 0; j < width; j++) {
                const { property, index } = properties[j];
                const value = parseAsciiValue(row[index], property.type, fileName, `vertex ${v} property '${property.name}'`);
                // Store what a binary file of the declared type would hold: text "0.1" in a float property is fround(0.1).
                scratch[o++] = property.type === "float32" ? Math.fround(value) : property.type === "float16" ? halfBitsToFloat32(float32ToHalfBits(value)) : value;
            }
            if (o === scratch.length || v === count - 1) {
                visit(scratch, first, v + 1 - first);
                first = v + 1;
                o = 0;
            }
        }
        return;
    }

    if (header.vertexDataOffset === null) {
        throw new SemanticSplatError("INVALID_ARGUMENT", "the header was parsed from a prefix that does not reach the vertex data; parse the whole file", fileName);
    }
    const base = header.vertexDataOffset;
    const stride = header.vertexRowByteSize;
    if (base + count * stride > bytes.length) {
        throw malformed(fileName, `truncated vertex data: ${count} vertices of ${stride} bytes from byte ${base} need ${base + count * stride} bytes, the file has ${bytes.length}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const littleEndian = header.encoding === "binary_little_endian";
    const offsets = new Int32Array(width);
    const codes = new Uint8Array(width);
    for (let j = 0; j < width; j++) {
        offsets[j] = properties[j].property.offset;
        codes[j] = TYPE_CODE[properties[j].property.type];
    }
    for (let first = 0; first < count; first += chunkRows) {
        const rows = Math.min(chunkRows, count - first);
        readBinaryRows(view, littleEndian, base + first * stride, stride, rows, offsets, codes, scratch);
        visit(scratch, first, rows);
    }
}

/** Values per chunk of {@link visitVertexProperties} (512 KiB of Float64 scratch). */
const CHUNK_VALUES = 65536;

/** Decodes `rows` binary rows starting at byte `start` into `out` (row-major, `offsets.length` values a row). */
function readBinaryRows(view: DataView, littleEndian: boolean, start: number, stride: number, rows: number, offsets: Int32Array, codes: Uint8Array, out: Float64Array): void {
    const width = offsets.length;
    let o = 0;
    if (littleEndian && codes.every((c) => c === 6)) {
        // every property a little-endian float32 (most Gaussian Splatting files): no type switch per value
        for (let v = 0, row = start; v < rows; v++, row += stride) {
            for (let j = 0; j < width; j++, o++) out[o] = view.getFloat32(row + offsets[j], true);
        }
        return;
    }
    for (let v = 0, row = start; v < rows; v++, row += stride) {
        for (let j = 0; j < width; j++, o++) {
            const at = row + offsets[j];
            switch (codes[j]) {
                case 0:
                    out[o] = view.getInt8(at);
                    break;
                case 1:
                    out[o] = view.getUint8(at);
                    break;
                case 2:
                    out[o] = view.getInt16(at, littleEndian);
                    break;
                case 3:
                    out[o] = view.getUint16(at, littleEndian);
                    break;
                case 4:
                    out[o] = view.getInt32(at, littleEndian);
                    break;
                case 5:
                    out[o] = view.getUint32(at, littleEndian);
                    break;
                case 6:
                    out[o] = view.getFloat32(at, littleEndian);
                    break;
                case 7:
                    out[o] = view.getFloat64(at, littleEndian);
                    break;
                default:
                    out[o] = halfBitsToFloat32(view.getUint16(at, littleEndian));
                    break;
            }
        }
    }
}
