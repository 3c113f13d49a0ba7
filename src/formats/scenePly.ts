// A PLY scene read through the formats module and checked against the budgets and the validation policy
// (docs/FORMATS.md): the semantic properties, the Gaussians' values, and the bytes Babylon's PLY reader is given.
//
// Babylon's PLY reader (core 9.35, GaussianSplattingMeshBase.ParseHeader / loaders' _ConvertPLYToSplat) reads
// only binary little-endian files with LF line ends, a header in the first 10 KiB, property types float, double,
// int, uint and uchar (it skips `short` and reads `ushort` as fp16: harmless only for a property it does not use),
// and no element other than `chunk` before
// `vertex`; anything else it misreads silently or throws inside an un-awaited promise. The formats module reads
// every valid PLY, so a file Babylon cannot read, or one whose invalid Gaussians are dropped, is transcoded here
// into the standard 3DGS properties as a plain float PLY first. The browser's loader and the encode command both
// hand these bytes to Babylon's reader, so they decode the same values.
import { SemanticSplatError } from "../errors";
import { budgetExceeded, type SceneBudgets } from "./budgets";
import { parsePlyHeader, readVertexProperties, visitVertexProperties, type PlyHeader } from "./ply";
import { LABEL_NONE, readSemanticAttributes } from "./semanticAttributes";
import { checkLabels, describeValue, GaussianValidator, keepRows, MAX_LOG_SCALE, MAX_POSITION, type ValidationOptions } from "./validation";

export interface PlySceneContent {
    count: number;
    featureDimension: number;
    /** f_sem_* values (fp32; half properties decoded exactly), [count x K], or null. */
    features: Float32Array | null;
    /** sem_label per Gaussian (none = 65535, whatever the stored type), or null. */
    labels: Uint16Array | null;
    /** The bytes to hand Babylon's loader: the file itself, or a transcoded copy it can read. */
    babylonBytes: Uint8Array;
    /** The PLY the scene's Gaussians now come from (the file, or the transcoded copy after dropping Gaussians). */
    sourcePly: Uint8Array;
    header: PlyHeader;
    /** Gaussians dropped by the invalidGaussians: "drop" policy. */
    dropped: number;
    /** Labels mapped to none by the invalidLabels: "none" policy. */
    labelsMapped: number;
}

/** Type names Babylon's PLY reader decodes correctly. */
const BABYLON_TYPE_NAMES = new Set(["float", "double", "int", "uint", "uchar"]);
/** Types Babylon steps over by their right size but decodes wrongly (`short` not at all, `ushort` as fp16): harmless
 *  for a property it never uses (sem_instance, say), so such a file needs no transcoding. */
const BABYLON_SIZED_TYPE_NAMES = new Set(["short", "ushort", "uint16"]);
/** The vertex and chunk property names Babylon's reader uses (core 9.35, GaussianSplattingMeshBase._ValueNameToEnum). */
const BABYLON_VALUE_NAME = /^(?:[xyz]|scale_[0-2]|rot_[0-3]|opacity|f_dc_[0-3]|f_rest_\d+|(?:diffuse_)?(?:red|green|blue)|(?:min|max)_(?:[xyzrgb]|scale_[xyz])|packed_(?:position|rotation|scale|color))$/;
/** Babylon decodes the header from this many leading bytes. */
const BABYLON_HEADER_BYTES = 10 * 1024;
/** Properties without which a vertex is not a Gaussian (Babylon's loader makes a point cloud of it). */
const REQUIRED_GAUSSIAN_PROPERTIES = ["x", "y", "z", "scale_0", "scale_1", "scale_2", "opacity", "rot_0", "rot_1", "rot_2", "rot_3"];

/** When the bytes are one chunk of a larger PLY (src/formats/plyChunks.ts): the file's index of the chunk's first
 *  Gaussian (messages name the file's indices), and no "every Gaussian was dropped" check (the caller makes it for
 *  the whole file). */
export interface PlyChunkPart {
    firstGaussian: number;
}

/** Parses and checks a PLY scene (or one chunk of one, `part`); throws SemanticSplatError naming `fileName`. */
export function readPlyScene(bytes: Uint8Array, fileName: string, budgets: Required<SceneBudgets>, validation: Required<ValidationOptions>, part?: PlyChunkPart): PlySceneContent {
    const first = part?.firstGaussian ?? 0;
    const header = parsePlyHeader(bytes, fileName);
    if (header.vertexCount > budgets.maxGaussians) {
        throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `the PLY declares ${header.vertexCount} Gaussians`);
    }
    const names = new Set(header.vertex.properties.map((p) => p.name));
    const compressed = header.elements.some((e) => e.name === "chunk");
    if (!compressed) {
        const missing = REQUIRED_GAUSSIAN_PROPERTIES.filter((n) => !names.has(n));
        const hasColour = ["f_dc_0", "f_dc_1", "f_dc_2"].every((n) => names.has(n)) || ["red", "green", "blue"].every((n) => names.has(n));
        if (missing.length > 0 || !hasColour) {
            const what = [...missing, ...(hasColour ? [] : ["f_dc_0..2 (or red/green/blue)"])].join(", ");
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", `not a Gaussian splat PLY: the vertex element lacks ${what}`, fileName);
        }
        if (!names.has("f_dc_0")) {
            const wrong = header.vertex.properties.find((p) => ["red", "green", "blue"].includes(p.name) && p.type !== "uint8");
            if (wrong) throw new SemanticSplatError("UNSUPPORTED_FORMAT", `colour property '${wrong.name}' is ${wrong.typeName}; colours without f_dc_* must be uchar`, fileName);
        }
    }
    if (header.elements.some((e) => e.name === "face" && e.count > 0)) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", "the PLY has faces: it is a triangle mesh, not a Gaussian splat scene", fileName);
    }
    const attributes = readSemanticAttributes(bytes, fileName, header, first);

    const validator = new GaussianValidator(header.vertexCount, validation.invalidGaussians, fileName, first);
    if (compressed) checkChunks(bytes, header, fileName);
    else validatePlyGaussians(bytes, header, validator);
    if (!part) validator.finish();

    let features = attributes.features;
    let labels = attributes.labels;
    let count = attributes.count;
    const keep = validator.keep;
    if (keep) {
        count -= validator.dropped;
        if (features) features = keepRows(features, attributes.featureDim, keep, count);
        if (labels) labels = keepRows(labels, 1, keep, count);
    }
    const labelsMapped = labels ? checkLabels(labels, LABEL_NONE, validation, fileName, first) : 0;

    let babylonBytes = bytes;
    if (keep || !babylonCanRead(bytes, header)) {
        if (compressed) {
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", "a compressed (chunked) PLY must be binary little-endian with LF line ends and classic type names", fileName);
        }
        babylonBytes = transcodeForBabylon(bytes, header, keep, count);
    }
    return {
        count,
        featureDimension: attributes.featureDim,
        features,
        labels,
        babylonBytes,
        sourcePly: keep ? babylonBytes : bytes,
        header,
        dropped: validator.dropped,
        labelsMapped,
    };
}

/** Applies the validation policy to every Gaussian of a standard (uncompressed) 3DGS PLY. */
function validatePlyGaussians(bytes: Uint8Array, header: PlyHeader, validator: GaussianValidator): void {
    const all = header.vertex.properties.map((p) => p.name);
    const colour = all.filter((n) => /^f_(dc|rest)_\d+$/.test(n));
    const names = ["x", "y", "z", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "opacity", ...colour];
    const width = names.length;
    visitVertexProperties(bytes, header, names, (values, first, rows) => {
        for (let r = 0, o = 0; r < rows; r++, o += width) {
            let why: string | null = null;
            for (let j = 0; j < 3 && !why; j++) {
                const v = values[o + j];
                if (!(Math.abs(v) <= MAX_POSITION)) why = `position ${names[j]} is ${describeValue(v)}`;
            }
            for (let j = 3; j < 6 && !why; j++) {
                const v = values[o + j];
                if (!(v <= MAX_LOG_SCALE) || Number.isNaN(v)) why = `${names[j]} is ${describeValue(v)} (a log scale; exp() of it must stay below 1e18)`;
            }
            if (!why) {
                let squares = 0;
                for (let j = 6; j < 10; j++) squares += values[o + j] * values[o + j];
                if (!Number.isFinite(squares)) why = `rotation (rot_0..3) has a non-finite component`;
                else if (squares === 0) why = "rotation quaternion is zero (rot_0..3 all 0)";
            }
            for (let j = 10; j < width && !why; j++) {
                if (!Number.isFinite(values[o + j])) why = `${names[j]} is ${describeValue(values[o + j])}`;
            }
            if (why) validator.invalid(first + r, why);
        }
    });
}

/** A compressed PLY's chunk bounds (min_*, max_* floats) must be finite: every Gaussian is decoded from them. */
function checkChunks(bytes: Uint8Array, header: PlyHeader, fileName: string): void {
    const chunkIndex = header.elements.findIndex((e) => e.name === "chunk");
    const chunk = header.elements[chunkIndex];
    if (header.encoding !== "binary_little_endian" || chunkIndex !== 0 || chunk.rowByteSize === null) return; // refused later as unreadable
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = header.headerByteLength + chunk.count * chunk.rowByteSize;
    if (end > bytes.length) throw new SemanticSplatError("MALFORMED_FILE", `truncated data in element 'chunk'`, fileName);
    for (let row = 0; row < chunk.count; row++) {
        const base = header.headerByteLength + row * chunk.rowByteSize;
        for (const p of chunk.properties) {
            if (p.type !== "float32") continue;
            const v = view.getFloat32(base + p.offset, true);
            if (!Number.isFinite(v)) throw new SemanticSplatError("INVALID_GAUSSIANS", `chunk ${row} property '${p.name}' is ${describeValue(v)} (the Gaussians of chunk ${row}, from ${row * 256}, would be garbage)`, fileName);
        }
    }
}

/** A property Babylon's reader decodes wrongly: a list, a type it cannot read, or a sized type it misreads
 *  (BABYLON_SIZED_TYPE_NAMES) under a name it uses. */
function babylonMisreads(p: PlyHeader["elements"][number]["properties"][number]): boolean {
    return p.listCountType !== undefined || !(BABYLON_TYPE_NAMES.has(p.typeName) || (BABYLON_SIZED_TYPE_NAMES.has(p.typeName) && !BABYLON_VALUE_NAME.test(p.name)));
}

function babylonCanRead(bytes: Uint8Array, header: PlyHeader): boolean {
    if (header.encoding !== "binary_little_endian") return false;
    if (header.headerByteLength > BABYLON_HEADER_BYTES) return false;
    for (let i = 0; i < header.headerByteLength; i++) if (bytes[i] === 0x0d) return false;
    for (let e = 0; e < header.elements.length; e++) {
        const element = header.elements[e];
        if (e < header.vertexElementIndex && element.name !== "chunk") return false;
        if (element.properties.some(babylonMisreads)) return false;
    }
    // Babylon finds the vertex count with /element vertex (\d+)\n/: one space, no padding.
    return new TextDecoder().decode(bytes.subarray(0, header.headerByteLength)).includes(`element vertex ${header.vertexCount}\n`);
}

/** The standard 3DGS vertex properties of the kept Gaussians, as a binary little-endian float PLY Babylon reads. */
function transcodeForBabylon(bytes: Uint8Array, header: PlyHeader, keep: Uint8Array | null, kept: number): Uint8Array {
    const standard = /^(x|y|z|f_dc_\d+|f_rest_\d+|opacity|scale_\d+|rot_\d+)$/;
    const floatNames = header.vertex.properties.map((p) => p.name).filter((n) => standard.test(n));
    const hasDc = floatNames.includes("f_dc_0");
    const colourNames = hasDc ? [] : ["red", "green", "blue"];
    const count = header.vertexCount;
    const text =
        "ply\nformat binary_little_endian 1.0\n" +
        `element vertex ${kept}\n` +
        floatNames.map((n) => `property float ${n}\n`).join("") +
        colourNames.map((n) => `property uchar ${n}\n`).join("") +
        "end_header\n";
    const headerBytes = new TextEncoder().encode(text);
    const rowBytes = floatNames.length * 4 + colourNames.length;
    const out = new Uint8Array(headerBytes.length + kept * rowBytes);
    out.set(headerBytes, 0);
    const view = new DataView(out.buffer);
    let offset = headerBytes.length;
    const width = floatNames.length;
    const colours = colourNames.length ? readVertexProperties(bytes, header, colourNames, new Uint8Array(count * 3)) : null;
    visitVertexProperties(bytes, header, floatNames, (values, first, rows) => {
        for (let r = 0; r < rows; r++) {
            const v = first + r;
            if (keep && !keep[v]) continue;
            for (let j = 0; j < width; j++, offset += 4) view.setFloat32(offset, values[r * width + j], true);
            if (colours) for (let j = 0; j < 3; j++) out[offset++] = colours[v * 3 + j];
        }
    });
    return out;
}
