// A seeded generator of hostile scene files (issue 16): every format the loader reads, valid files and their
// damaged variants: NaN/Inf/1e30 values, zero quaternions, lying counts and sizes, truncation at every structural
// boundary, type swaps, labels outside the class table, gzip/zip bombs, bad codebooks, PNG where a webp belongs,
// random byte mutations. Generated at test time (nothing is committed), the same files for the same seed, in the
// browser (test/fuzz/hostileCorpus.spec.ts, the mesh loader) and in Node (test/fuzz/hostileCorpus.test.mjs, the
// encode command's reader). Plain JavaScript so both can import it; CompressionStream is global in both.

/** mulberry32: a small seeded PRNG (returns floats in [0, 1)). */
export function seededRandom(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const enc = new TextEncoder();
const STANDARD = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
const TYPE_SIZE = { char: 1, uchar: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, double: 8 };
const SETTER = { char: "setInt8", uchar: "setUint8", short: "setInt16", ushort: "setUint16", int: "setInt32", uint: "setUint32", float: "setFloat32", double: "setFloat64" };

function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
        out.set(p, o);
        o += p.length;
    }
    return out;
}

async function compress(bytes, format) {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
    return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Compresses `size` zeros after `prefix` in 1 MiB chunks (never holding them all). */
async function compressedZeros(prefix, size, format) {
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const source = new ReadableStream({
        pull(controller) {
            if (prefix) {
                controller.enqueue(prefix);
                prefix = null;
                return;
            }
            if (sent >= size) {
                controller.close();
                return;
            }
            controller.enqueue(chunk);
            sent += chunk.length;
        },
    });
    return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream(format))).arrayBuffer());
}

// ---------------------------------------------------------------------------------------------------------------
// PLY

/** Values of Gaussian i's standard properties. */
function standardValue(i, name) {
    switch (name) {
        case "x":
            return ((i % 4) - 1.5) * 0.2;
        case "y":
            return (Math.floor(i / 4) % 4) * 0.2 - 0.3;
        case "z":
            return Math.floor(i / 16) * 0.2;
        case "opacity":
            return 2;
        case "rot_0":
            return 1;
        case "rot_1":
        case "rot_2":
        case "rot_3":
            return 0;
        default:
            return name.startsWith("scale_") ? Math.log(0.05) : ((i * 7 + name.length) % 10) / 10 - 0.5;
    }
}

/**
 * A Gaussian PLY: `count` rows of the standard properties (+ f_sem_0..K-1 float, + sem_label uchar), in
 * `encoding`, with CRLF lines when `crlf`, property types from `types`, values changed by `poison(i, name, v)`.
 */
export function makePly({ count = 16, encoding = "binary_little_endian", crlf = false, types = {}, K = 4, label = true, poison, declaredCount, labelOf } = {}) {
    const names = [...STANDARD, ...Array.from({ length: K }, (_, c) => `f_sem_${c}`), ...(label ? ["sem_label"] : [])];
    const typeOf = (n) => types[n] ?? (n === "sem_label" ? "uchar" : "float");
    const eol = crlf ? "\r\n" : "\n";
    const header =
        ["ply", `format ${encoding} 1.0`, "comment hostile corpus", `element vertex ${declaredCount ?? count}`, ...names.map((n) => `property ${typeOf(n)} ${n}`), "end_header"].join(eol) + eol;
    const value = (i, n) => {
        let v = n === "sem_label" ? (labelOf ? labelOf(i) : i % 21) : n.startsWith("f_sem_") ? Math.cos(i + Number(n.slice(6))) : standardValue(i, n);
        if (poison) v = poison(i, n, v);
        const t = typeOf(n);
        return t === "float" || t === "double" ? v : Math.round(v);
    };
    if (encoding === "ascii") {
        const rows = [];
        for (let i = 0; i < count; i++) rows.push(names.map((n) => String(value(i, n))).join(" "));
        return enc.encode(header + rows.join(eol) + eol);
    }
    const little = encoding === "binary_little_endian";
    const rowBytes = names.reduce((s, n) => s + TYPE_SIZE[typeOf(n)], 0);
    const body = new DataView(new ArrayBuffer(count * rowBytes));
    let o = 0;
    for (let i = 0; i < count; i++) {
        for (const n of names) {
            body[SETTER[typeOf(n)]](o, value(i, n), little);
            o += TYPE_SIZE[typeOf(n)];
        }
    }
    return concat([enc.encode(header), new Uint8Array(body.buffer)]);
}

// ---------------------------------------------------------------------------------------------------------------
// .splat (Babylon's 32-byte rows) and SPZ (Niantic: 16-byte header, positions 24-bit fixed point, alpha, colour,
// scale, rotation 3 (v2) or 4 (v3) bytes, SH 3 bytes per coefficient).

export function makeSplat(count = 16, edit) {
    const bytes = new Uint8Array(count * 32);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) {
        const r = i * 32;
        view.setFloat32(r, standardValue(i, "x"), true);
        view.setFloat32(r + 4, standardValue(i, "y"), true);
        view.setFloat32(r + 8, standardValue(i, "z"), true);
        for (let j = 0; j < 3; j++) view.setFloat32(r + 12 + 4 * j, 0.05, true);
        bytes.set([200, 120, 60, 230, 255, 128, 128, 128], r + 24);
        edit?.(view, i);
    }
    return bytes;
}

export function makeSpzStream({ count = 16, version = 3, shDegree = 0, declaredCount, reserved = 0, magic = 0x5053474e } = {}) {
    const sh = [0, 3, 8, 15][Math.min(shDegree, 3)] * 3;
    const per = 9 + 1 + 3 + 3 + (version === 3 ? 4 : 3) + sh;
    const bytes = new Uint8Array(16 + count * per);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, version, true);
    view.setUint32(8, declaredCount ?? count, true);
    bytes[12] = shDegree;
    bytes[13] = 12;
    bytes[15] = reserved;
    for (let i = 16; i < bytes.length; i++) bytes[i] = (i * 37) & 0xff;
    return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// ZIP (stored or deflated entries; sizes can be made to lie) and SOG.

export async function makeZip(entries) {
    const parts = [];
    const central = [];
    let offset = 0;
    for (const e of entries) {
        const name = enc.encode(e.name);
        const data = e.deflate ? await compress(e.data, "deflate-raw") : e.data;
        const method = e.deflate ? 8 : 0;
        const size = e.declaredSize ?? e.data.length;
        const local = new Uint8Array(30 + name.length);
        const lv = new DataView(local.buffer);
        lv.setUint32(0, 0x04034b50, true);
        lv.setUint16(8, method, true);
        lv.setUint32(18, data.length, true);
        lv.setUint32(22, size, true);
        lv.setUint16(26, name.length, true);
        local.set(name, 30);
        const c = new Uint8Array(46 + name.length);
        const cv = new DataView(c.buffer);
        cv.setUint32(0, 0x02014b50, true);
        cv.setUint16(10, method, true);
        cv.setUint32(20, e.compressedSizeLie ?? data.length, true);
        cv.setUint32(24, size, true);
        cv.setUint16(28, name.length, true);
        cv.setUint32(42, offset, true);
        c.set(name, 46);
        parts.push(local, e.rawData ?? data);
        central.push(c);
        offset += local.length + (e.rawData ?? data).length;
    }
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, entries.length, true);
    ev.setUint16(10, entries.length, true);
    ev.setUint32(12, central.reduce((n, c) => n + c.length, 0), true);
    ev.setUint32(16, offset, true);
    return concat([...parts, ...central, end]);
}

/** A webp-looking file: the RIFF/WEBP/VP8L header with the given size and junk after it (it does not decode). */
export function fakeWebp(width, height) {
    const bytes = new Uint8Array(40);
    bytes.set(enc.encode("RIFF"), 0);
    new DataView(bytes.buffer).setUint32(4, 32, true);
    bytes.set(enc.encode("WEBPVP8L"), 8);
    new DataView(bytes.buffer).setUint32(16, 20, true);
    bytes[20] = 0x2f;
    const bits = (width - 1) | ((height - 1) << 14);
    new DataView(bytes.buffer).setUint32(21, bits >>> 0, true);
    return bytes;
}

export function sogMeta(count = 16) {
    const codebook = Array.from({ length: 256 }, (_, i) => -6 + i / 64);
    return {
        version: 2,
        count,
        means: { mins: [-1, -1, -1], maxs: [1, 1, 1], files: ["means_l.webp", "means_u.webp"] },
        scales: { codebook, files: ["scales.webp"] },
        quats: { files: ["quats.webp"] },
        sh0: { codebook: codebook.map((v) => v / 4), files: ["sh0.webp"] },
    };
}

async function makeSog(meta, images = {}) {
    const files = [{ name: "meta.json", data: enc.encode(typeof meta === "string" ? meta : JSON.stringify(meta)) }];
    for (const name of ["means_l.webp", "means_u.webp", "scales.webp", "quats.webp", "sh0.webp"]) {
        if (images[name] === null) continue;
        files.push({ name, data: images[name] ?? fakeWebp(4, 4) });
    }
    return makeZip(files);
}

// ---------------------------------------------------------------------------------------------------------------

/** Cuts `bytes` at every boundary in `cuts` (byte offsets), naming each. */
function truncations(name, bytes, cuts) {
    return [...new Set(cuts)].filter((c) => c >= 0 && c < bytes.length).map((c) => ({ name: `${name}@${c}`, bytes: bytes.slice(0, c) }));
}

function mutate(bytes, random, flips) {
    const out = bytes.slice();
    for (let k = 0; k < flips; k++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    return out;
}

/**
 * The corpus: an array of { name (with the extension that picks the format), bytes, category, expect } where
 * expect is "load" (a valid file: must load with finite values), "refuse" (must end in a typed error) or "either"
 * (a typed error or a valid load: random mutations, type swaps). `fixtures.spzV4` (the minimal v4 fixture's bytes)
 * adds SPZ v4 container mutations.
 */
export async function generateHostileCorpus(seed = 16, fixtures = {}) {
    const random = seededRandom(seed);
    const files = [];
    const add = (category, expect, name, bytes) => files.push({ category, expect, name, bytes });

    // --- PLY: valid encodings
    const valid = makePly();
    for (const [name, options] of [
        ["valid-le.ply", {}],
        ["valid-be.ply", { encoding: "binary_big_endian" }],
        ["valid-ascii.ply", { encoding: "ascii" }],
        ["valid-crlf.ply", { crlf: true }],
        ["valid-ascii-crlf.ply", { encoding: "ascii", crlf: true }],
        ["valid-double.ply", { types: { x: "double", y: "double", z: "double", opacity: "double" } }],
        ["valid-short-positions.ply", { types: { x: "short", y: "short", z: "short" } }],
        ["valid-ushort-label.ply", { types: { sem_label: "ushort" } }],
        ["valid-char-positions.ply", { types: { x: "char", y: "char", z: "char" }, encoding: "binary_big_endian" }],
    ]) {
        add("ply-valid", "load", name, makePly(options));
    }
    // --- PLY: poisoned values (each property, NaN / Inf / 1e30 / -Inf)
    const poisonable = ["x", "y", "z", "scale_0", "scale_1", "scale_2", "opacity", "f_dc_0", "f_dc_1", "f_dc_2", "rot_0", "rot_2"];
    for (const prop of poisonable) {
        for (const [tag, v] of [["nan", NaN], ["inf", Infinity], ["big", 1e30]]) {
            const encoding = ["binary_little_endian", "ascii", "binary_big_endian"][files.length % 3];
            // 1e30 is finite: a rotation component normalises, an opacity logit saturates, a colour clamps (valid
            // loads); as a position or a log scale it overflows float32 maths (refused)
            const expect = tag === "big" && !["x", "y", "z", "scale_0", "scale_1", "scale_2"].includes(prop) ? "load" : "refuse";
            add("ply-poison", expect, `poison-${prop}-${tag}.ply`, makePly({ encoding, poison: (i, n, x) => (i === 5 && n === prop ? v : x) }));
        }
        add("ply-poison", "either", `poison-${prop}-neginf.ply`, makePly({ poison: (i, n, x) => (i === 5 && n === prop ? -Infinity : x) }));
    }
    add("ply-poison", "refuse", "zero-quaternion.ply", makePly({ poison: (i, n, x) => (i === 3 && n.startsWith("rot_") ? 0 : x) }));
    add("ply-poison", "refuse", "all-nan.ply", makePly({ poison: (i, n, x) => (n === "x" ? NaN : x) }));
    add("ply-poison", "refuse", "nan-feature.ply", makePly({ poison: (i, n, x) => (i === 2 && n === "f_sem_1" ? NaN : x) }));
    add("ply-labels", "refuse", "label-200.ply", makePly({ labelOf: (i) => (i === 4 ? 200 : 1) }));
    add("ply-labels", "refuse", "label-60000.ply", makePly({ types: { sem_label: "ushort" }, labelOf: (i) => (i === 4 ? 60000 : 1) }));
    add("ply-labels", "load", "label-none.ply", makePly({ labelOf: () => 255 }));
    // --- PLY: lying counts
    for (const encoding of ["binary_little_endian", "ascii", "binary_big_endian"]) {
        for (const declared of [0, 1, 15, 17, 32, 1000, 2 ** 31, 4294967295]) {
            const expect = declared === 1 || declared === 15 ? "either" : "refuse";
            add("ply-count", expect, `count-${declared}-${encoding}.ply`, makePly({ encoding, declaredCount: declared }));
        }
    }
    add("ply-count", "refuse", "empty-rows-ascii.ply", enc.encode("ply\nformat ascii 1.0\nelement junk 4294967295\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n"));
    add("ply-count", "refuse", "count-4294967296.ply", enc.encode("ply\nformat ascii 1.0\nelement vertex 4294967296\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n"));
    add("ply-count", "refuse", "count-negative.ply", enc.encode("ply\nformat ascii 1.0\nelement vertex -3\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n"));
    // --- PLY: truncation at every structural boundary (header lines, rows, mid-row)
    const headerEnd = new TextDecoder().decode(valid).indexOf("end_header\n") + 11;
    const lineEnds = [];
    for (let i = 0; i < headerEnd; i++) if (valid[i] === 0x0a) lineEnds.push(i, i + 1);
    const rowBytes = (valid.length - headerEnd) / 16;
    const rowCuts = Array.from({ length: 16 }, (_, r) => headerEnd + r * rowBytes).concat(Array.from({ length: 4 }, (_, r) => headerEnd + r * rowBytes + 7));
    for (const t of truncations("cut-header.ply", valid, lineEnds.filter((_, k) => k % 3 === 0))) add("ply-truncated", "refuse", t.name, t.bytes);
    for (const t of truncations("cut-data.ply", valid, rowCuts)) add("ply-truncated", "refuse", t.name, t.bytes);
    const ascii = makePly({ encoding: "ascii" });
    const asciiHeaderEnd = new TextDecoder().decode(ascii).indexOf("end_header\n") + 11;
    for (const t of truncations("cut-ascii.ply", ascii, [asciiHeaderEnd, asciiHeaderEnd + 10, Math.floor((ascii.length + asciiHeaderEnd) / 2), ascii.length - 3])) {
        add("ply-truncated", "refuse", t.name, t.bytes);
    }
    // --- PLY: header lies (types, keywords, format)
    const text = new TextDecoder().decode(valid.subarray(0, headerEnd));
    const withHeader = (h) => concat([enc.encode(h), valid.subarray(headerEnd)]);
    for (const type of ["short", "ushort", "char", "uchar", "int", "uint", "double", "float128", "half", "list uchar float"]) {
        add("ply-header", "either", `type-x-${type.replace(/ /g, "_")}.ply`, withHeader(text.replace("property float x\n", `property ${type} x\n`)));
    }
    add("ply-header", "refuse", "format-unknown.ply", withHeader(text.replace("binary_little_endian", "binary_middle_endian")));
    add("ply-header", "refuse", "format-version.ply", withHeader(text.replace("1.0", "2.0")));
    add("ply-header", "refuse", "no-format.ply", withHeader(text.replace(/format .*\n/, "")));
    add("ply-header", "refuse", "no-vertex.ply", withHeader(text.replace("element vertex 16", "element splat 16")));
    add("ply-header", "refuse", "dup-property.ply", withHeader(text.replace("property float y\n", "property float x\n")));
    add("ply-header", "refuse", "no-end-header.ply", valid.slice(0, headerEnd - 11));
    add("ply-header", "refuse", "control-byte.ply", withHeader(text.replace("comment hostile corpus", "comment hostile\u0001corpus")));
    add("ply-header", "refuse", "faces.ply", withHeader(text.replace("end_header", "element face 1\nproperty list uchar int vertex_indices\nend_header")));
    add("ply-header", "refuse", "no-magic.ply", valid.slice(4));
    add("ply-header", "refuse", "point-cloud.ply", enc.encode("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n1 1 1\n"));
    add("ply-header", "refuse", "f_sem-gap.ply", withHeader(text.replace("f_sem_2", "f_sem_9")));
    // --- PLY: random mutations
    for (let k = 0; k < 40; k++) {
        const base = [valid, ascii, makePly({ encoding: "binary_big_endian" })][k % 3];
        const inHeader = k % 4 === 0;
        const out = base.slice();
        const span = inHeader ? headerEnd : out.length;
        for (let f = 0; f < 1 + (k % 5); f++) out[Math.floor(random() * span)] = Math.floor(random() * 256);
        add("ply-mutation", "either", `mutated-${k}.ply`, out);
    }

    // --- .splat
    add("splat", "load", "valid.splat", makeSplat());
    for (const [name, off, v] of [["nan-x", 0, NaN], ["inf-y", 4, Infinity], ["big-z", 8, 1e30], ["nan-scale", 12, NaN], ["inf-scale", 16, Infinity], ["big-scale", 20, 1e30]]) {
        add("splat", "refuse", `${name}.splat`, makeSplat(16, (view, i) => i === 7 && view.setFloat32(i * 32 + off, v, true)));
    }
    add("splat", "refuse", "zero-quaternion.splat", makeSplat(16, (view, i) => i === 2 && new Uint8Array(view.buffer).set([128, 128, 128, 128], i * 32 + 28)));
    for (const t of truncations("cut.splat", makeSplat(), [0, 1, 31, 33, 100, 511])) add("splat", t.bytes.length === 0 ? "refuse" : "refuse", t.name, t.bytes);
    for (let k = 0; k < 8; k++) add("splat-mutation", "either", `mutated-${k}.splat`, mutate(makeSplat(), random, 1 + k));

    // --- SPZ
    for (const version of [2, 3]) {
        for (const shDegree of [0, 1, 3]) {
            const stream = makeSpzStream({ version, shDegree });
            add("spz-valid", "load", `valid-v${version}-sh${shDegree}.spz`, await compress(stream, "gzip"));
        }
        add("spz-valid", "load", `valid-raw-v${version}.spz`, makeSpzStream({ version }));
    }
    for (const declared of [0, 1, 8, 15, 17, 32, 100000, 4294967295]) {
        add("spz-count", "refuse", `count-${declared}.spz`, await compress(makeSpzStream({ declaredCount: declared }), "gzip"));
    }
    add("spz-count", "refuse", "count-2-of-4.spz", await compress(makeSpzStream({ count: 4, declaredCount: 2 }), "gzip"));
    add("spz-header", "refuse", "magic.spz", await compress(makeSpzStream({ magic: 0x41414141 }), "gzip"));
    add("spz-header", "refuse", "version-1.spz", await compress(makeSpzStream({ version: 1 }), "gzip"));
    add("spz-header", "refuse", "version-7.spz", await compress(makeSpzStream({ version: 7 }), "gzip"));
    add("spz-header", "refuse", "sh-degree-4.spz", await compress(makeSpzStream({ shDegree: 4 }), "gzip"));
    add("spz-header", "refuse", "reserved.spz", await compress(makeSpzStream({ reserved: 9 }), "gzip"));
    add("spz-header", "refuse", "header-only.spz", await compress(makeSpzStream({ count: 0, declaredCount: 5 }).slice(0, 16), "gzip"));
    add("spz-header", "refuse", "short-header.spz", await compress(makeSpzStream().slice(0, 10), "gzip"));
    const gz = await compress(makeSpzStream(), "gzip");
    for (const t of truncations("cut-gzip.spz", gz, [2, 10, 20, Math.floor(gz.length / 2), gz.length - 8, gz.length - 1])) add("spz-truncated", "refuse", t.name, t.bytes);
    for (const t of truncations("cut-raw.spz", makeSpzStream(), [8, 15, 16, 100, 300])) add("spz-truncated", "refuse", t.name, t.bytes);
    add("spz-bomb", "refuse", "bomb-zeros.spz", await compressedZeros(null, 64 * 1024 * 1024, "gzip"));
    add("spz-bomb", "refuse", "bomb-after-header.spz", await compressedZeros(makeSpzStream({ count: 1 }), 64 * 1024 * 1024, "gzip"));
    add("spz-bomb", "refuse", "bomb-appended.spz", await compressedZeros(makeSpzStream(), 16 * 1024 * 1024, "gzip"));
    for (let k = 0; k < 10; k++) add("spz-mutation", "either", `mutated-${k}.spz`, k % 2 ? mutate(gz, random, 1 + (k % 3)) : await compress(mutate(makeSpzStream(), random, 2 + k), "gzip"));

    // --- SPZ v4 container mutations (from the fixture)
    if (fixtures.spzV4) {
        const v4 = fixtures.spzV4;
        add("spz-v4", "load", "valid-v4.spz", v4.slice());
        const edit = (name, fn) => {
            const b = v4.slice();
            fn(new DataView(b.buffer), b);
            add("spz-v4", "refuse", name, b);
        };
        edit("v4-count-2.spz", (v) => v.setUint32(8, 2, true));
        edit("v4-count-huge.spz", (v) => v.setUint32(8, 4000000000, true));
        edit("v4-sh-9.spz", (v, b) => (b[12] = 9));
        edit("v4-sh-1.spz", (v, b) => (b[12] = 1));
        edit("v4-streams-2.spz", (v, b) => (b[15] = 2));
        edit("v4-streams-200.spz", (v, b) => (b[15] = 200));
        edit("v4-table-offset.spz", (v) => v.setUint32(16, 100000, true));
        edit("v4-table-offset-small.spz", (v) => v.setUint32(16, 4, true));
        edit("v4-stream-size.spz", (v) => v.setBigUint64(32, 1n << 40n, true));
        edit("v4-raw-size.spz", (v) => v.setBigUint64(40, 35n, true));
        edit("v4-raw-huge.spz", (v) => v.setBigUint64(40, 1n << 50n, true));
        edit("v4-not-zstd.spz", (v, b) => b.fill(0x5a, 112, 116));
        for (const t of truncations("v4-cut.spz", v4, [8, 31, 40, 100, 112, 150, v4.length - 1])) add("spz-v4", "refuse", t.name, t.bytes);
        for (let k = 0; k < 6; k++) add("spz-v4", "either", `v4-mutated-${k}.spz`, mutate(v4, random, 1 + k));
    }

    // --- SOG (zip + meta.json + webp)
    const meta = sogMeta();
    const sog = (name, expect, m, images) => makeSog(m, images).then((bytes) => add("sog", expect, name, bytes));
    await sog("meta-nan.sog", "refuse", JSON.stringify(meta).replace('"mins":[-1', '"mins":[NaN'));
    await sog("meta-inf.sog", "refuse", JSON.stringify(meta).replace('"mins":[-1', '"mins":[1e999'));
    await sog("meta-huge-means.sog", "refuse", { ...meta, means: { ...meta.means, maxs: [1, 1, 1000] } });
    await sog("meta-empty-codebook.sog", "refuse", { ...meta, scales: { ...meta.scales, codebook: [] } });
    await sog("meta-short-codebook.sog", "refuse", { ...meta, sh0: { ...meta.sh0, codebook: [0, 1, 2] } });
    await sog("meta-null-codebook.sog", "refuse", { ...meta, scales: { ...meta.scales, codebook: meta.scales.codebook.map((v, i) => (i === 9 ? null : v)) } });
    await sog("meta-huge-scale.sog", "refuse", { ...meta, scales: { ...meta.scales, codebook: meta.scales.codebook.map((v, i) => (i === 9 ? 500 : v)) } });
    await sog("meta-count-50M.sog", "refuse", { ...meta, count: 50_000_000 });
    await sog("meta-count-lies.sog", "refuse", { ...meta, count: 17 });
    await sog("meta-count-negative.sog", "refuse", { ...meta, count: -1 });
    await sog("meta-count-string.sog", "refuse", { ...meta, count: "16" });
    await sog("meta-no-means.sog", "refuse", { ...meta, means: undefined });
    await sog("meta-one-means.sog", "refuse", { ...meta, means: { ...meta.means, files: ["means_l.webp"] } });
    await sog("meta-v1-bad.sog", "refuse", { ...meta, version: 1 });
    await sog("meta-shN-bands.sog", "refuse", { ...meta, shN: { bands: 7, codebook: meta.scales.codebook, files: ["means_l.webp", "means_u.webp"] } });
    await sog("meta-not-json.sog", "refuse", "{ not json");
    await sog("meta-array.sog", "refuse", "[1,2,3]");
    await sog("missing-image.sog", "refuse", meta, { "quats.webp": null });
    await sog("png-image.sog", "refuse", meta, { "scales.webp": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(40)]) });
    await sog("small-image.sog", "refuse", meta, { "means_l.webp": fakeWebp(2, 2) });
    await sog("junk-image.sog", "refuse", meta, { "sh0.webp": new Uint8Array(64).fill(7) });
    await sog("undecodable-images.sog", "either", meta);
    const metaBytes = enc.encode(JSON.stringify(meta));
    const images = ["means_l.webp", "means_u.webp", "scales.webp", "quats.webp", "sh0.webp"].map((name) => ({ name, data: fakeWebp(4, 4) }));
    add("sog-zip", "refuse", "entry-size-lie.sog", await makeZip([{ name: "meta.json", data: metaBytes, deflate: true, declaredSize: 20 }, ...images]));
    add("sog-zip", "refuse", "entry-bomb.sog", await makeZip([{ name: "meta.json", data: metaBytes, declaredSize: metaBytes.length, deflate: false }, ...images.slice(1), { name: "means_l.webp", data: new Uint8Array(0), rawData: await compressedZeros(null, 64 * 1024 * 1024, "deflate-raw"), deflate: true, declaredSize: 40 }]));
    add("sog-zip", "refuse", "declared-4GiB.sog", await makeZip([{ name: "meta.json", data: metaBytes, deflate: true, declaredSize: 0xfffffffe }, ...images]));
    add("sog-zip", "either", "unreferenced-1GiB.sog", await makeZip([{ name: "meta.json", data: metaBytes }, ...images, { name: "junk.bin", data: new Uint8Array(8), deflate: true, declaredSize: 1024 ** 3 }]));
    add("sog-zip", "refuse", "no-meta.sog", await makeZip(images));
    add("sog-zip", "refuse", "compressed-size-lie.sog", await makeZip([{ name: "meta.json", data: metaBytes, compressedSizeLie: 1 << 30 }, ...images]));
    const sogValid = await makeSog(meta);
    for (const t of truncations("cut.sog", sogValid, [4, 30, 100, Math.floor(sogValid.length / 2), sogValid.length - 22, sogValid.length - 1])) add("sog-zip", "refuse", t.name, t.bytes);
    for (let k = 0; k < 8; k++) add("sog-mutation", "either", `mutated-${k}.sog`, mutate(sogValid, random, 1 + k));
    add("sog-meta", "refuse", "nan/meta.json", enc.encode(JSON.stringify(meta).replace('"mins":[-1', '"mins":[NaN')));
    add("sog-meta", "refuse", "count/meta.json", enc.encode(JSON.stringify({ ...meta, count: 50_000_000 })));

    // --- other
    add("other", "refuse", "empty.ply", new Uint8Array(0));
    add("other", "refuse", "empty.splat", new Uint8Array(0));
    add("other", "refuse", "junk.spz", mutate(new Uint8Array(64), random, 64));
    add("other", "refuse", "junk.sog", mutate(new Uint8Array(64), random, 64));
    add("other", "refuse", "junk.bin", mutate(new Uint8Array(64), random, 64));
    add("other", "refuse", "text.ply", enc.encode("hello world, not a ply"));
    return files;
}
