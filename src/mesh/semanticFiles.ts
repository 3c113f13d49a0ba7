// Adapter between the mesh and the file formats module (src/formats): reads a PLY's semantic properties and
// prepares the bytes Babylon's PLY reader is given.
//
// Babylon's PLY reader (core 9.35, GaussianSplattingMeshBase.ParseHeader / loaders' _ConvertPLYToSplat) reads
// only binary little-endian files with LF line ends, a header in the first 10 KiB, property types float, double,
// int, uint, short, ushort/uint16 and uchar, and no element other than `chunk` before `vertex`; anything else it
// misreads silently or throws inside an un-awaited promise. The formats module reads every valid PLY, so a file
// Babylon cannot read is transcoded here into the standard 3DGS properties as a plain float PLY first.
import { SemanticSplatError } from "../errors";
import type { SceneFrame } from "../frame/sceneFrame";
import { decodeFeatureSidecar, parsePlyHeader, readSemanticAttributes, readVertexProperties, type PlyHeader } from "../formats";

export interface SemanticPlyContent {
    count: number;
    featureDimension: number;
    /** f_sem_* values (fp32; half properties decoded exactly), [count x K], or null. */
    features: Float32Array | null;
    /** sem_label per Gaussian (none = 65535, whatever the stored type), or null. */
    labels: Uint16Array | null;
    /** The bytes to hand Babylon's loader: the file itself, or a transcoded copy it can read. */
    babylonBytes: Uint8Array;
    header: PlyHeader;
}

/** Type names Babylon's PLY reader sizes correctly. */
const BABYLON_TYPE_NAMES = new Set(["float", "double", "int", "uint", "short", "ushort", "uint16", "uchar"]);
/** Babylon decodes the header from this many leading bytes. */
const BABYLON_HEADER_BYTES = 10 * 1024;
/** Properties without which a vertex is not a Gaussian (Babylon's loader makes a point cloud of it). */
const REQUIRED_GAUSSIAN_PROPERTIES = ["x", "y", "z", "scale_0", "scale_1", "scale_2", "opacity", "rot_0", "rot_1", "rot_2", "rot_3"];

/** Parses and checks a PLY scene with the formats module; throws SemanticSplatError naming `fileName`. */
export function readPlySemantics(bytes: Uint8Array, fileName: string): SemanticPlyContent {
    const header = parsePlyHeader(bytes, fileName);
    const attributes = readSemanticAttributes(bytes, fileName, header);
    const names = new Set(header.vertex.properties.map((p) => p.name));
    const compressed = header.elements.some((e) => e.name === "chunk");
    if (!compressed) {
        const missing = REQUIRED_GAUSSIAN_PROPERTIES.filter((n) => !names.has(n));
        const hasColour = ["f_dc_0", "f_dc_1", "f_dc_2"].every((n) => names.has(n)) || ["red", "green", "blue"].every((n) => names.has(n));
        if (missing.length > 0 || !hasColour) {
            const what = [...missing, ...(hasColour ? [] : ["f_dc_0..2 (or red/green/blue)"])].join(", ");
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", `not a Gaussian splat PLY: the vertex element lacks ${what}`, fileName);
        }
    }
    if (header.elements.some((e) => e.name === "face" && e.count > 0)) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", "the PLY has faces: it is a triangle mesh, not a Gaussian splat scene", fileName);
    }
    let babylonBytes = bytes;
    if (!babylonCanRead(bytes, header)) {
        if (compressed) {
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", "a compressed (chunked) PLY must be binary little-endian with LF line ends", fileName);
        }
        babylonBytes = transcodeForBabylon(bytes, header);
    }
    return {
        count: attributes.count,
        featureDimension: attributes.featureDim,
        features: attributes.features,
        labels: attributes.labels,
        babylonBytes,
        header,
    };
}

function babylonCanRead(bytes: Uint8Array, header: PlyHeader): boolean {
    if (header.encoding !== "binary_little_endian") return false;
    if (header.headerByteLength > BABYLON_HEADER_BYTES) return false;
    for (let i = 0; i < header.headerByteLength; i++) if (bytes[i] === 0x0d) return false;
    for (let e = 0; e < header.elements.length; e++) {
        const element = header.elements[e];
        if (e < header.vertexElementIndex && element.name !== "chunk") return false;
        if (element.properties.some((p) => p.listCountType !== undefined || !BABYLON_TYPE_NAMES.has(p.typeName))) return false;
    }
    // Babylon finds the vertex count with /element vertex (\d+)\n/: one space, no padding.
    return new TextDecoder().decode(bytes.subarray(0, header.headerByteLength)).includes(`element vertex ${header.vertexCount}\n`);
}

/** The standard 3DGS vertex properties of the file, as a binary little-endian float PLY Babylon reads. */
function transcodeForBabylon(bytes: Uint8Array, header: PlyHeader): Uint8Array {
    const standard = /^(x|y|z|f_dc_\d+|f_rest_\d+|opacity|scale_\d+|rot_\d+)$/;
    const floatNames = header.vertex.properties.map((p) => p.name).filter((n) => standard.test(n));
    const hasDc = floatNames.includes("f_dc_0");
    const colourNames = hasDc ? [] : ["red", "green", "blue"];
    const count = header.vertexCount;
    const floats = readVertexProperties(bytes, header, floatNames, new Float32Array(count * floatNames.length));
    const colours = colourNames.length ? readVertexProperties(bytes, header, colourNames, new Uint8Array(count * 3)) : null;
    const text =
        "ply\nformat binary_little_endian 1.0\n" +
        `element vertex ${count}\n` +
        floatNames.map((n) => `property float ${n}\n`).join("") +
        colourNames.map((n) => `property uchar ${n}\n`).join("") +
        "end_header\n";
    const headerBytes = new TextEncoder().encode(text);
    const rowBytes = floatNames.length * 4 + colourNames.length;
    const out = new Uint8Array(headerBytes.length + count * rowBytes);
    out.set(headerBytes, 0);
    const view = new DataView(out.buffer);
    let offset = headerBytes.length;
    for (let v = 0; v < count; v++) {
        for (let j = 0; j < floatNames.length; j++, offset += 4) view.setFloat32(offset, floats[v * floatNames.length + j], true);
        if (colours) for (let j = 0; j < 3; j++) out[offset++] = colours[v * 3 + j];
    }
    return out;
}

/**
 * Reads a feature sidecar (ARCHITECTURE.md contract 1) and checks it covers `count` Gaussians (and has
 * `featureDimension` channels when given). Throws SemanticSplatError naming `fileName`.
 */
export function readSidecar(
    bytes: Uint8Array,
    fileName: string,
    expected: { count: number; featureDimension?: number }
): { count: number; featureDimension: number; features: Uint16Array; encoderId: string; sceneFrame: SceneFrame | null } {
    const sidecar = decodeFeatureSidecar(bytes, fileName, { count: expected.count, featureDim: expected.featureDimension });
    return { count: sidecar.count, featureDimension: sidecar.featureDim, features: sidecar.halfFeatures, encoderId: sidecar.encoderId, sceneFrame: sidecar.sceneFrame };
}
