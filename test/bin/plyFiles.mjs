// Small binary 3DGS PLY files for the encode command's tests (x y z, f_dc_0..2, opacity, scale_0..2, rot_0..3).
import { writeFileSync } from "node:fs";

const PROPERTIES = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];

/** A PLY with `count` Gaussians on a grid `spacing` metres apart; `tweak(i, row)` may change a row (14 floats). */
export function gaussianPly(count, { spacing = 0.07, tweak } = {}) {
    const header =
        `ply\nformat binary_little_endian 1.0\nelement vertex ${count}\n` +
        PROPERTIES.map((p) => `property float ${p}\n`).join("") +
        "end_header\n";
    const head = Buffer.from(header, "ascii");
    const body = Buffer.alloc(count * PROPERTIES.length * 4);
    const row = new Float32Array(PROPERTIES.length);
    for (let i = 0; i < count; i++) {
        // a 10 x 10 x n block: several voxels per level, deterministic colours and sizes
        row.set([(i % 10) * spacing, Math.floor(i / 100) * spacing, (Math.floor(i / 10) % 10) * spacing,
            ((i * 7) % 11) / 11 - 0.5, ((i * 3) % 5) / 5 - 0.5, ((i * 13) % 17) / 17 - 0.5,
            ((i * 5) % 9) - 4, -3.5 + (i % 3) * 0.2, -3.2, -4.0 + (i % 5) * 0.1, 1, 0, 0, 0]);
        tweak?.(i, row);
        for (let c = 0; c < row.length; c++) body.writeFloatLE(row[c], (i * PROPERTIES.length + c) * 4);
    }
    return Buffer.concat([head, body]);
}

export function writeGaussianPly(path, count, options) {
    writeFileSync(path, gaussianPly(count, options));
    return path;
}

const TYPE_SIZE = { char: 1, uchar: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, double: 8 };

/**
 * The scene of gaussianPly(count, options) written in another PLY encoding ("ascii", "binary_big_endian",
 * "binary_little_endian"), with CRLF header lines when `crlf`, and `types` overriding a property's type
 * (e.g. { x: "short" }: values are rounded to that integer type).
 */
export function gaussianPlyAs(count, { encoding = "binary_little_endian", crlf = false, types = {}, ...options } = {}) {
    const source = gaussianPly(count, options);
    const start = source.indexOf("end_header\n") + "end_header\n".length;
    const values = new Float32Array(source.buffer.slice(source.byteOffset + start, source.byteOffset + source.length));
    const eol = crlf ? "\r\n" : "\n";
    const typeOf = (p) => types[p] ?? "float";
    const header = ["ply", `format ${encoding} 1.0`, `element vertex ${count}`, ...PROPERTIES.map((p) => `property ${typeOf(p)} ${p}`), "end_header"].join(eol) + eol;
    const convert = (v, type) => (type === "float" || type === "double" ? v : Math.round(v));
    if (encoding === "ascii") {
        const lines = [];
        for (let i = 0; i < count; i++) lines.push(PROPERTIES.map((p, c) => String(convert(values[i * PROPERTIES.length + c], typeOf(p)))).join(" "));
        return Buffer.from(header + lines.join(eol) + eol, "latin1");
    }
    const little = encoding === "binary_little_endian";
    const rowBytes = PROPERTIES.reduce((n, p) => n + TYPE_SIZE[typeOf(p)], 0);
    const body = new DataView(new ArrayBuffer(count * rowBytes));
    let o = 0;
    for (let i = 0; i < count; i++) {
        PROPERTIES.forEach((p, c) => {
            const type = typeOf(p);
            const v = convert(values[i * PROPERTIES.length + c], type);
            const setter = { char: "setInt8", uchar: "setUint8", short: "setInt16", ushort: "setUint16", int: "setInt32", uint: "setUint32", float: "setFloat32", double: "setFloat64" }[type];
            body[setter](o, v, little);
            o += TYPE_SIZE[type];
        });
    }
    return Buffer.concat([Buffer.from(header, "latin1"), new Uint8Array(body.buffer)]);
}
