// Builds PLY files in memory for the format specs: any encoding, any declared types, lists, comments, CRLF.
// Written independently of src/formats (straight DataView writes from a declarative description) so the specs
// test the reader against a second implementation rather than against itself.
import { float32ToHalfBits } from "../../src/util/half";

export type BuilderEncoding = "ascii" | "binary_little_endian" | "binary_big_endian";

export interface BuilderProperty {
    name: string;
    /** The type name written in the header (`float`, `float32`, `uchar`, `half`, ...). */
    type: string;
    /** For list properties: the count type name. */
    listCountType?: string;
}

export interface BuilderElement {
    name: string;
    properties: BuilderProperty[];
    /** One array per row; a list property takes a number[] in its slot. */
    rows: (number | number[])[][];
    /** Declared count, when it must differ from rows.length (to build lying headers). */
    declaredCount?: number;
}

export interface BuildPlyOptions {
    encoding: BuilderEncoding;
    elements: BuilderElement[];
    comments?: string[];
    objInfo?: string[];
    crlf?: boolean;
    /** Extra raw header lines inserted before end_header. */
    extraHeaderLines?: string[];
    /** Omit the end_header line (to test its absence). */
    omitEndHeader?: boolean;
}

const SIZE: Record<string, number> = {
    char: 1, int8: 1, uchar: 1, uint8: 1, short: 2, int16: 2, ushort: 2, uint16: 2,
    int: 4, int32: 4, uint: 4, uint32: 4, float: 4, float32: 4, double: 8, float64: 8, half: 2, float16: 2,
};

function writeScalar(view: DataView, at: number, type: string, value: number, le: boolean): number {
    switch (type) {
        case "char": case "int8": view.setInt8(at, value); break;
        case "uchar": case "uint8": view.setUint8(at, value); break;
        case "short": case "int16": view.setInt16(at, value, le); break;
        case "ushort": case "uint16": view.setUint16(at, value, le); break;
        case "int": case "int32": view.setInt32(at, value, le); break;
        case "uint": case "uint32": view.setUint32(at, value, le); break;
        case "float": case "float32": view.setFloat32(at, value, le); break;
        case "double": case "float64": view.setFloat64(at, value, le); break;
        case "half": case "float16": view.setUint16(at, float32ToHalfBits(value), le); break;
        default: throw new Error(`plyBuilder: unknown type ${type}`);
    }
    return SIZE[type];
}

function asciiNumber(value: number): string {
    if (Number.isNaN(value)) return "nan";
    if (value === Infinity) return "inf";
    if (value === -Infinity) return "-inf";
    return String(value);
}

/** Encodes the header only (as text). */
export function plyHeaderText(options: BuildPlyOptions): string {
    const nl = options.crlf ? "\r\n" : "\n";
    const lines = ["ply", `format ${options.encoding} 1.0`];
    for (const c of options.comments ?? []) lines.push(`comment ${c}`);
    for (const c of options.objInfo ?? []) lines.push(`obj_info ${c}`);
    for (const e of options.elements) {
        lines.push(`element ${e.name} ${e.declaredCount ?? e.rows.length}`);
        for (const p of e.properties) {
            lines.push(p.listCountType ? `property list ${p.listCountType} ${p.type} ${p.name}` : `property ${p.type} ${p.name}`);
        }
    }
    lines.push(...(options.extraHeaderLines ?? []));
    if (!options.omitEndHeader) lines.push("end_header");
    return lines.join(nl) + nl;
}

/** Builds a whole PLY file. */
export function buildPly(options: BuildPlyOptions): Uint8Array {
    const header = new TextEncoder().encode(plyHeaderText(options));
    if (options.encoding === "ascii") {
        const nl = options.crlf ? "\r\n" : "\n";
        let body = "";
        for (const e of options.elements) {
            for (const row of e.rows) {
                const parts: string[] = [];
                row.forEach((value) => {
                    if (Array.isArray(value)) {
                        parts.push(String(value.length), ...value.map(asciiNumber));
                    } else {
                        parts.push(asciiNumber(value));
                    }
                });
                body += parts.join(" ") + nl;
            }
        }
        const data = new TextEncoder().encode(body);
        const out = new Uint8Array(header.length + data.length);
        out.set(header, 0);
        out.set(data, header.length);
        return out;
    }
    const le = options.encoding === "binary_little_endian";
    let size = 0;
    for (const e of options.elements) {
        for (const row of e.rows) {
            row.forEach((value, i) => {
                const p = e.properties[i];
                if (Array.isArray(value)) size += SIZE[p.listCountType as string] + value.length * SIZE[p.type];
                else size += SIZE[p.type];
            });
        }
    }
    const out = new Uint8Array(header.length + size);
    out.set(header, 0);
    const view = new DataView(out.buffer);
    let at = header.length;
    for (const e of options.elements) {
        for (const row of e.rows) {
            row.forEach((value, i) => {
                const p = e.properties[i];
                if (Array.isArray(value)) {
                    at += writeScalar(view, at, p.listCountType as string, value.length, le);
                    for (const item of value) at += writeScalar(view, at, p.type, item, le);
                } else {
                    at += writeScalar(view, at, p.type, value, le);
                }
            });
        }
    }
    return out;
}

import { seededRandom } from "../support/seededRandom";

export { seededRandom };

/** A 3DGS-like vertex element: x y z, f_dc_0..2, opacity, scale_0..2, rot_0..3 as float, plus extra properties. */
export function gaussianElement(count: number, seed: number, extra: { properties: BuilderProperty[]; value: (vertex: number, column: number) => number } | null = null): BuilderElement {
    const random = seededRandom(seed);
    const base = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
    const properties: BuilderProperty[] = base.map((name) => ({ name, type: "float" }));
    if (extra) properties.push(...extra.properties);
    const rows: number[][] = [];
    for (let v = 0; v < count; v++) {
        const row = base.map(() => Math.fround(random() * 4 - 2));
        if (extra) extra.properties.forEach((_, c) => row.push(extra.value(v, c)));
        rows.push(row);
    }
    return { name: "vertex", properties, rows };
}

/** Expects `fn` to throw a SemanticSplatError with `code` whose message names `fileName` and matches `pattern`. */
export function expectSemanticError(fn: () => unknown, code: string, fileName: string, pattern: RegExp): void {
    let thrown: unknown = null;
    try {
        fn();
    } catch (e) {
        thrown = e;
    }
    expect(thrown).withContext("expected an error").not.toBeNull();
    const error = thrown as { name?: string; code?: string; message?: string; fileName?: string };
    expect(error.name).withContext(String(thrown)).toBe("SemanticSplatError");
    expect(error.code).withContext(String(error.message)).toBe(code);
    expect(error.fileName).toBe(fileName);
    expect(error.message).toContain(fileName);
    expect(error.message).toMatch(pattern);
}
