// Malformed scene and sidecar files, generated here. Each must end in a SemanticSplatError with the right code
// and a message that names the file and the problem; none may hang or allocate for a lying header.
import { parsePlyHeader, MAX_PLY_HEADER_BYTES } from "../../src/formats/ply";
import { readSemanticAttributes } from "../../src/formats/semanticAttributes";
import { writeSemanticPly, writeSplatAsSemanticPly } from "../../src/formats/plyWriter";
import { encodeFeatureSidecar, decodeFeatureSidecar, checkFeatureShape } from "../../src/formats/featureSidecar";
import { buildPly, gaussianElement, plyHeaderText, seededRandom, expectSemanticError, type BuildPlyOptions, type BuilderEncoding } from "./plyBuilder";

const text = (s: string) => new TextEncoder().encode(s);

function concatBytes(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}

/** A valid scene with K features of `type` (values from `value`), a label, in `encoding`. */
function sceneWithFeatures(encoding: BuilderEncoding, K: number, type = "float", value: (v: number, c: number) => number = (v, c) => (v + c) / 100, count = 6): Uint8Array {
    const properties = Array.from({ length: K }, (_, c) => ({ name: `f_sem_${c}`, type }));
    return buildPly({ encoding, elements: [gaussianElement(count, 1, { properties, value })] });
}

function sidecar(count = 4, K = 3): Uint8Array {
    return encodeFeatureSidecar({ features: new Float32Array(count * K).fill(0.25), count, featureDim: K, encoderId: "enc" });
}

interface Case {
    what: string;
    file: string;
    code: string;
    pattern: RegExp;
    run: (file: string) => unknown;
}

const plyHeader = (file: string, bytes: Uint8Array) => parsePlyHeader(bytes, file);
const readAll = (file: string, bytes: Uint8Array) => readSemanticAttributes(bytes, file);
const plain = (options: Partial<BuildPlyOptions> = {}) => buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(4, 2)], ...options });

const CASES: Case[] = [
    { what: "an empty file", file: "empty.ply", code: "MALFORMED_FILE", pattern: /empty \(0 bytes\)/, run: (f) => plyHeader(f, new Uint8Array(0)) },
    {
        what: "garbage bytes",
        file: "garbage.ply",
        code: "MALFORMED_FILE",
        pattern: /not a PLY file.*'ply' magic/,
        run: (f) => {
            const random = seededRandom(1);
            return plyHeader(f, new Uint8Array(4096).map(() => Math.floor(random() * 256)));
        },
    },
    { what: "a .splat file given as PLY", file: "scene.splat", code: "MALFORMED_FILE", pattern: /'ply' magic/, run: (f) => plyHeader(f, new Uint8Array(new Float32Array([1, 2, 3, 0.1, 0.1, 0.1, 0, 0]).buffer)) },
    { what: "a header without end_header at the end of the file", file: "noend.ply", code: "MALFORMED_FILE", pattern: /no 'end_header' line: the header runs to the end of the file/, run: (f) => plyHeader(f, text(plyHeaderText({ encoding: "ascii", elements: [gaussianElement(2, 1)], omitEndHeader: true }))) },
    {
        what: "a header without end_header followed by binary data",
        file: "noend-binary.ply",
        code: "MALFORMED_FILE",
        pattern: /control byte .*binary data before 'end_header'/,
        run: (f) => plyHeader(f, concatBytes(text(plyHeaderText({ encoding: "binary_little_endian", elements: [gaussianElement(2, 1)], omitEndHeader: true })), new Uint8Array(new Float32Array([1.5, 2, 0.001]).buffer))),
    },
    {
        what: "a header longer than the scan limit, without end_header (bounded scan)",
        file: "endless.ply",
        code: "MALFORMED_FILE",
        pattern: new RegExp(`no 'end_header' line in the first ${MAX_PLY_HEADER_BYTES} bytes`),
        run: (f) => plyHeader(f, concatBytes(text("ply\nformat ascii 1.0\n"), text("comment padding padding padding padding padding\n".repeat(30000)))),
    },
    { what: "an unknown property type", file: "float128.ply", code: "UNSUPPORTED_FORMAT", pattern: /line 9: unknown property type 'float128'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\ncomment x\ncomment y\nproperty float128 q\nend_header\n1 2 3 4\n")) },
    { what: "a property type named like an Object method", file: "proto.ply", code: "UNSUPPORTED_FORMAT", pattern: /unknown property type 'toString'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty toString x\nend_header\n1\n")) },
    { what: "an unknown encoding", file: "middle.ply", code: "UNSUPPORTED_FORMAT", pattern: /unknown PLY encoding 'binary_middle_endian'/, run: (f) => plyHeader(f, text("ply\nformat binary_middle_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n")) },
    { what: "no format line", file: "noformat.ply", code: "MALFORMED_FILE", pattern: /'element' before the 'format' line/, run: (f) => plyHeader(f, text("ply\nelement vertex 1\nproperty float x\nend_header\n")) },
    { what: "an unknown header keyword", file: "keyword.ply", code: "MALFORMED_FILE", pattern: /line 3: unknown header keyword 'propety'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\npropety float x\nend_header\n")) },
    { what: "a property before any element", file: "orphan.ply", code: "MALFORMED_FILE", pattern: /'property' before any 'element'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nproperty float x\nelement vertex 1\nend_header\n")) },
    { what: "a duplicate property", file: "dup.ply", code: "MALFORMED_FILE", pattern: /two properties named 'x'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty double x\nend_header\n1 2\n")) },
    {
        what: "a list property on the vertex element",
        file: "list.ply",
        code: "UNSUPPORTED_FORMAT",
        pattern: /vertex element has a list property 'neighbours'/,
        run: (f) => plyHeader(f, plain({ elements: [{ ...gaussianElement(2, 1), properties: [...gaussianElement(2, 1).properties, { name: "neighbours", type: "int", listCountType: "uchar" }], rows: gaussianElement(2, 1).rows.map((r) => [...r, [1]]) }] })),
    },
    { what: "a list with a float count type", file: "listcount.ply", code: "MALFORMED_FILE", pattern: /non-integer count type 'float'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nelement face 1\nproperty list float int idx\nend_header\n")) },
    { what: "zero vertices", file: "zero.ply", code: "EMPTY_SCENE", pattern: /0 vertices/, run: (f) => plyHeader(f, plain({ elements: [{ ...gaussianElement(1, 1), rows: [] }] })) },
    { what: "no vertex element", file: "novertex.ply", code: "EMPTY_SCENE", pattern: /no 'vertex' element/, run: (f) => plyHeader(f, buildPly({ encoding: "ascii", elements: [{ name: "face", properties: [{ name: "a", type: "int" }], rows: [[1]] }] })) },
    {
        what: "missing z",
        file: "noz.ply",
        code: "MALFORMED_FILE",
        pattern: /no 'z' property/,
        run: (f) => plyHeader(f, buildPly({ encoding: "binary_little_endian", elements: [{ name: "vertex", properties: [{ name: "x", type: "float" }, { name: "y", type: "float" }], rows: [[1, 2]] }] })),
    },
    { what: "truncated binary vertex data", file: "cut.ply", code: "MALFORMED_FILE", pattern: /truncated vertex data: the header declares 4 vertices of 56 bytes .* \(3 complete vertices\)/, run: (f) => { const b = plain(); return plyHeader(f, b.subarray(0, b.length - 10)); } },
    { what: "a vertex count larger than the data", file: "liar.ply", code: "MALFORMED_FILE", pattern: /declares 1000 vertices of 56 bytes \(56000 bytes/, run: (f) => plyHeader(f, plain({ elements: [{ ...gaussianElement(4, 2), declaredCount: 1000 }] })) },
    { what: "a huge declared vertex count (no allocation)", file: "huge.ply", code: "MALFORMED_FILE", pattern: /declares 4294967295 vertices/, run: (f) => readAll(f, plain({ elements: [{ ...gaussianElement(4, 2), declaredCount: 4294967295 }] })) },
    { what: "a count beyond u32", file: "beyond.ply", code: "MALFORMED_FILE", pattern: /declares 99999999999 rows, more than a PLY count can hold/, run: (f) => plyHeader(f, text("ply\nformat binary_little_endian 1.0\nelement vertex 99999999999\nproperty float x\nend_header\n")) },
    { what: "a negative count", file: "negative.ply", code: "MALFORMED_FILE", pattern: /count that is not a non-negative integer: '-3'/, run: (f) => plyHeader(f, text("ply\nformat ascii 1.0\nelement vertex -3\nproperty float x\nend_header\n")) },
    {
        what: "truncated data in a list element before the vertices",
        file: "faces.ply",
        code: "MALFORMED_FILE",
        pattern: /truncated data in element 'face'/,
        run: (f) => {
            const faces = { name: "face", properties: [{ name: "idx", type: "int", listCountType: "uchar" }], rows: [[[0, 1, 2]], [[1, 2, 3]]] as number[][][], declaredCount: 200 };
            return plyHeader(f, buildPly({ encoding: "binary_big_endian", elements: [faces, gaussianElement(2, 1)] }));
        },
    },
    {
        what: "truncated ascii vertex data",
        file: "short.ply",
        code: "MALFORMED_FILE",
        pattern: /truncated ascii data: the header declares 6 vertices, the data ends in vertex 3/,
        run: (f) => readAll(f, buildPly({ encoding: "ascii", elements: [{ ...gaussianElement(3, 1, { properties: [{ name: "f_sem_0", type: "float" }], value: () => 0.5 }), declaredCount: 6 }] })),
    },
    {
        what: "an ascii token that is not a number",
        file: "word.ply",
        code: "MALFORMED_FILE",
        pattern: /vertex 1 property 'f_sem_0': 'hello' is not a number/,
        run: (f) => readAll(f, text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty float f_sem_0\nend_header\n0 0 0 1\n0 0 0 hello\n")),
    },
    {
        what: "an ascii label that is not an integer",
        file: "label35.ply",
        code: "MALFORMED_FILE",
        pattern: /vertex 0 property 'sem_label': '3.5' is not an integer/,
        run: (f) => readAll(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty uchar sem_label\nend_header\n0 0 0 3.5\n")),
    },
    {
        what: "an ascii hexadecimal float",
        file: "hex.ply",
        code: "MALFORMED_FILE",
        pattern: /vertex 0 property 'f_sem_0': '0x1f' is not a number/,
        run: (f) => readAll(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float f_sem_0\nend_header\n0 0 0 0x1f\n")),
    },
    {
        what: "an ascii label out of range for uchar",
        file: "label300.ply",
        code: "MALFORMED_FILE",
        pattern: /300 is out of range for uint8/,
        run: (f) => readAll(f, text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty uchar sem_label\nend_header\n0 0 0 300\n")),
    },
    { what: "a gap in f_sem indices", file: "gap.ply", code: "MALFORMED_FILE", pattern: /contiguous from 0: f_sem_2 is missing \(found f_sem_0, f_sem_1, f_sem_3\)/, run: (f) => readAll(f, buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(2, 1, { properties: [0, 1, 3].map((c) => ({ name: `f_sem_${c}`, type: "float" })), value: () => 0 })] })) },
    { what: "f_sem not starting at 0", file: "gap0.ply", code: "MALFORMED_FILE", pattern: /f_sem_0 is missing/, run: (f) => readAll(f, buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(2, 1, { properties: [{ name: "f_sem_1", type: "float" }], value: () => 0 })] })) },
    { what: "a malformed f_sem name", file: "name.ply", code: "MALFORMED_FILE", pattern: /'f_sem_01' is not named f_sem_<index>/, run: (f) => readAll(f, buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(2, 1, { properties: [{ name: "f_sem_0", type: "float" }, { name: "f_sem_01", type: "float" }], value: () => 0 })] })) },
    { what: "integer f_sem", file: "intfeat.ply", code: "UNSUPPORTED_FORMAT", pattern: /'f_sem_0' has type 'uchar'; f_sem_\* must be float, double or half/, run: (f) => readAll(f, sceneWithFeatures("binary_little_endian", 2, "uchar", () => 1)) },
    { what: "more than 64 feature channels", file: "k65.ply", code: "UNSUPPORTED_FORMAT", pattern: /65 feature channels f_sem_\*; at most 64/, run: (f) => readAll(f, sceneWithFeatures("binary_little_endian", 65, "half", () => 0.5, 2)) },
    { what: "a float sem_label", file: "floatlabel.ply", code: "UNSUPPORTED_FORMAT", pattern: /'sem_label' has type 'float'; it must be uchar or ushort/, run: (f) => readAll(f, buildPly({ encoding: "ascii", elements: [gaussianElement(2, 1, { properties: [{ name: "sem_label", type: "float" }], value: () => 1 })] })) },
    { what: "a char sem_instance", file: "charinst.ply", code: "UNSUPPORTED_FORMAT", pattern: /'sem_instance' has type 'char'; it must be ushort or uint/, run: (f) => readAll(f, buildPly({ encoding: "ascii", elements: [gaussianElement(2, 1, { properties: [{ name: "sem_instance", type: "char" }], value: () => 1 })] })) },
    { what: "a NaN feature (binary)", file: "nan.ply", code: "INVALID_FEATURES", pattern: /vertex 3 has a non-finite feature f_sem_1 = NaN/, run: (f) => readAll(f, sceneWithFeatures("binary_big_endian", 3, "float", (v, c) => (v === 3 && c === 1 ? NaN : 0.1))) },
    { what: "an infinite feature (ascii)", file: "inf.ply", code: "INVALID_FEATURES", pattern: /vertex 5 has a non-finite feature f_sem_0 = -Infinity/, run: (f) => readAll(f, sceneWithFeatures("ascii", 2, "float", (v, c) => (v === 5 && c === 0 ? -Infinity : 0.1))) },
    { what: "an infinite half feature", file: "infhalf.ply", code: "INVALID_FEATURES", pattern: /vertex 0 has a non-finite feature f_sem_2 = Infinity/, run: (f) => readAll(f, sceneWithFeatures("binary_little_endian", 3, "half", (v, c) => (v === 0 && c === 2 ? 1e6 : 0.1))) },
    { what: "a double feature that overflows float32", file: "bigdouble.ply", code: "INVALID_FEATURES", pattern: /vertex 1 has a non-finite feature f_sem_0 = Infinity/, run: (f) => readAll(f, sceneWithFeatures("binary_little_endian", 1, "double", (v) => (v === 1 ? 1e300 : 0))) },
    // sidecars
    { what: "a sidecar with a bad magic", file: "bad.semf", code: "MALFORMED_FILE", pattern: /not a feature sidecar: the file starts with "PLY\\n", expected magic "SEMF"/, run: (f) => { const b = sidecar(); b.set(text("PLY\n"), 0); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar of another version", file: "v9.semf", code: "UNSUPPORTED_FORMAT", pattern: /version 9; this reader knows versions 1 and 2/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint32(4, 9, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar shorter than its header", file: "tiny.semf", code: "MALFORMED_FILE", pattern: /truncated feature sidecar: 12 bytes, the header alone is 20/, run: (f) => decodeFeatureSidecar(sidecar().subarray(0, 12), f) },
    { what: "a sidecar with truncated features", file: "cut.semf", code: "MALFORMED_FILE", pattern: /truncated feature sidecar: 4 Gaussians x K=3 fp16 need 48 bytes, the file has 47/, run: (f) => decodeFeatureSidecar(sidecar().subarray(0, 47), f) },
    { what: "a sidecar with trailing bytes (wrong count in its header)", file: "long.semf", code: "MALFORMED_FILE", pattern: /6 unexpected bytes after the 4 x 3 features/, run: (f) => decodeFeatureSidecar(concatBytes(sidecar(), new Uint8Array(6)), f) },
    { what: "a sidecar whose encoder id runs past the end", file: "id.semf", code: "MALFORMED_FILE", pattern: /encoder id \(200 bytes\) runs past the end/, run: (f) => { const b = sidecar(1, 1).slice(0, 24); new DataView(b.buffer).setUint32(16, 200, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with an encoder id that is not UTF-8", file: "utf.semf", code: "MALFORMED_FILE", pattern: /encoder id is not valid UTF-8/, run: (f) => { const b = sidecar(); b[20] = 0xff; return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with 0 Gaussians", file: "zero.semf", code: "EMPTY_SCENE", pattern: /holds 0 Gaussians/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint32(8, 0, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with K=0", file: "k0.semf", code: "MALFORMED_FILE", pattern: /declares K=0/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint32(12, 0, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with K=1000", file: "k1000.semf", code: "UNSUPPORTED_FORMAT", pattern: /K=1000 channels; at most 64/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint32(12, 1000, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with a huge count (no allocation)", file: "hugecount.semf", code: "MALFORMED_FILE", pattern: /4294967295 Gaussians x K=3 fp16 need/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint32(8, 0xffffffff, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar with a NaN half", file: "nan.semf", code: "INVALID_FEATURES", pattern: /Gaussian 2 channel 1 holds a non-finite fp16 value \(bits 0x7e00\)/, run: (f) => { const b = sidecar(); new DataView(b.buffer).setUint16(24 + 2 * (2 * 3 + 1), 0x7e00, true); return decodeFeatureSidecar(b, f); } },
    { what: "a sidecar for another scene (count)", file: "other.semf", code: "FEATURE_MISMATCH", pattern: /sidecar features cover 4 Gaussians, the scene has 5/, run: (f) => decodeFeatureSidecar(sidecar(4, 3), f, { count: 5 }) },
    {
        what: "a sidecar whose K differs from the PLY's f_sem",
        file: "scene.ply.semf",
        code: "FEATURE_MISMATCH",
        pattern: /sidecar features have K=3 channels, expected K=2/,
        run: (f) => {
            const scene = readSemanticAttributes(sceneWithFeatures("binary_little_endian", 2, "float", () => 0.5, 4), "scene.ply");
            return decodeFeatureSidecar(sidecar(4, 3), f, { count: scene.count, featureDim: scene.featureDim });
        },
    },
    // writers
    { what: "writing features of the wrong length", file: "w.ply", code: "FEATURE_MISMATCH", pattern: /features hold 10 values, the scene needs 4 Gaussians x K=3 = 12/, run: (f) => writeSemanticPly(plain(), f, { features: new Float32Array(10), featureDim: 3 }) },
    { what: "writing NaN features", file: "w.ply", code: "INVALID_FEATURES", pattern: /feature of vertex 2 channel 0 is NaN/, run: (f) => writeSemanticPly(plain(), f, { features: new Float32Array([0, 0, NaN, 0]), featureDim: 1 }) },
    { what: "writing labels of the wrong length", file: "w.ply", code: "FEATURE_MISMATCH", pattern: /labels hold 3 values, the scene has 4 Gaussians/, run: (f) => writeSemanticPly(plain(), f, { labels: new Uint16Array(3) }) },
    { what: "writing with K=0", file: "w.ply", code: "INVALID_ARGUMENT", pattern: /featureDim must be an integer in 1\.\.64, got 0/, run: (f) => writeSemanticPly(plain(), f, { features: new Float32Array(0), featureDim: 0 }) },
    { what: "a splat buffer that is not whole splats", file: "odd.splat", code: "MALFORMED_FILE", pattern: /100 bytes is not a whole number of 32-byte splats/, run: (f) => writeSplatAsSemanticPly(new Uint8Array(100), f) },
    { what: "an empty splat buffer", file: "none.splat", code: "EMPTY_SCENE", pattern: /0 splats/, run: (f) => writeSplatAsSemanticPly(new Uint8Array(0), f) },
    { what: "a splat with a NaN position", file: "nanpos.splat", code: "MALFORMED_FILE", pattern: /splat 1 has a non-finite position/, run: (f) => { const s = new Float32Array(16); s[9] = NaN; return writeSplatAsSemanticPly(s, f); } },
    { what: "a malformed original given to the writer", file: "orig.ply", code: "MALFORMED_FILE", pattern: /truncated vertex data/, run: (f) => { const b = plain(); return writeSemanticPly(b.subarray(0, b.length - 1), f, {}); } },
];

describe("malformed files", () => {
    it("has at least 20 generated malformed cases", () => {
        expect(CASES.length).toBeGreaterThanOrEqual(20);
    });

    for (const c of CASES) {
        it(`rejects ${c.what} with ${c.code}`, () => {
            expectSemanticError(() => c.run(c.file), c.code, c.file, c.pattern);
        });
    }

    it("still accepts the valid files the malformed ones were derived from", () => {
        expect(readSemanticAttributes(sceneWithFeatures("binary_little_endian", 3), "ok.ply").featureDim).toBe(3);
        expect(decodeFeatureSidecar(sidecar(), "ok.semf", { count: 4, featureDim: 3 }).count).toBe(4);
        expect(parsePlyHeader(plain(), "ok.ply").vertexCount).toBe(4);
        expect(() => checkFeatureShape({ count: 4, featureDim: 3 }, { count: 4, featureDim: 3 }, "ok.semf")).not.toThrow();
    });
});
