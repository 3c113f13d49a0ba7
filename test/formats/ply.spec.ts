// PLY header parsing and vertex reading: the three encodings, every scalar type and alias, elements around the
// vertex element (with lists), comments, CRLF.
import { parsePlyHeader, readVertexProperties, isPly } from "../../src/formats/ply";
import { readSemanticAttributes, LABEL_NONE, INSTANCE_NONE } from "../../src/formats/semanticAttributes";
import { halfBitsToFloat32, float32ToHalfBits } from "../../src/util/half";
import { buildPly, gaussianElement, seededRandom, type BuilderEncoding, type BuilderElement } from "./plyBuilder";

const ENCODINGS: BuilderEncoding[] = ["ascii", "binary_little_endian", "binary_big_endian"];

/** An element before the vertices with a list property, like a mesh's faces or a camera block. */
function facesElement(): BuilderElement {
    return {
        name: "face",
        properties: [
            { name: "vertex_indices", type: "int", listCountType: "uchar" },
            { name: "flag", type: "ushort" },
        ],
        rows: [
            [[0, 1, 2], 7],
            [[2, 3, 0, 1], 9],
            [[], 11],
        ],
    };
}

describe("PLY header parser", () => {
    for (const encoding of ENCODINGS) {
        it(`parses a ${encoding} scene with elements before and after the vertices, comments and obj_info`, () => {
            const vertices = gaussianElement(5, 1);
            const camera: BuilderElement = { name: "camera", properties: [{ name: "fov", type: "double" }, { name: "id", type: "uint8" }], rows: [[0.75, 3]] };
            const bytes = buildPly({
                encoding,
                elements: [camera, facesElement(), vertices, { ...facesElement(), name: "edge" }],
                comments: ["made by the spec", "second comment"],
                objInfo: ["num_cols 4"],
            });
            expect(isPly(bytes)).toBeTrue();
            const header = parsePlyHeader(bytes, "scene.ply");
            expect(header.encoding).toBe(encoding);
            expect(header.comments).toEqual(["made by the spec", "second comment"]);
            expect(header.objInfo).toEqual(["num_cols 4"]);
            expect(header.elements.map((e) => e.name)).toEqual(["camera", "face", "vertex", "edge"]);
            expect(header.vertexElementIndex).toBe(2);
            expect(header.vertexCount).toBe(5);
            expect(header.vertexRowByteSize).toBe(14 * 4);
            expect(header.elements[0].rowByteSize).toBe(9);
            expect(header.elements[1].rowByteSize).toBeNull();
            if (encoding === "ascii") {
                expect(header.vertexDataOffset).toBeNull();
            } else {
                // camera: 9 bytes; faces: (1 + 3*4 + 2) + (1 + 4*4 + 2) + (1 + 0 + 2) = 15 + 19 + 3
                expect(header.vertexDataOffset).toBe(header.headerByteLength + 9 + 15 + 19 + 3);
            }
            const xyz = readVertexProperties(bytes, header, ["x", "y", "z", "rot_3"], new Float32Array(5 * 4));
            for (let v = 0; v < 5; v++) {
                expect(xyz[v * 4 + 0]).toBe(vertices.rows[v][0] as number);
                expect(xyz[v * 4 + 1]).toBe(vertices.rows[v][1] as number);
                expect(xyz[v * 4 + 2]).toBe(vertices.rows[v][2] as number);
                expect(xyz[v * 4 + 3]).toBe(vertices.rows[v][13] as number);
            }
        });
    }

    it("reads every scalar type and its alias with the right sizes and offsets, in all encodings", () => {
        const types = [
            ["char", -5], ["int8", -128], ["uchar", 250], ["uint8", 7], ["short", -30000], ["int16", 1234],
            ["ushort", 65535], ["uint16", 40000], ["int", -2000000000], ["int32", 5], ["uint", 4000000000], ["uint32", 9],
            ["float", 0.1], ["float32", -3.5], ["double", 0.1], ["float64", 1e300], ["half", 0.333], ["float16", -2],
        ] as const;
        const properties = [{ name: "x", type: "float" }, { name: "y", type: "float" }, { name: "z", type: "float" }, ...types.map(([type], i) => ({ name: `p${i}`, type }))];
        const row = [1, 2, 3, ...types.map(([, value]) => value)];
        for (const encoding of ENCODINGS) {
            const bytes = buildPly({ encoding, elements: [{ name: "vertex", properties, rows: [row, row] }] });
            const header = parsePlyHeader(bytes, `types-${encoding}.ply`);
            expect(header.vertexRowByteSize).toBe(12 + 1 + 1 + 1 + 1 + 2 + 2 + 2 + 2 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 8 + 2 + 2);
            const names = types.map((_, i) => `p${i}`);
            const values = readVertexProperties(bytes, header, names, new Float64Array(2 * names.length));
            const expected = types.map(([type, value]) => {
                if (type === "float" || type === "float32") return Math.fround(value);
                if (type === "half" || type === "float16") return halfBitsToFloat32(float32ToHalfBits(value));
                return value;
            });
            expect(Array.from(values.subarray(0, names.length))).withContext(encoding).toEqual(expected);
            expect(Array.from(values.subarray(names.length))).withContext(encoding).toEqual(expected);
        }
    });

    it("tolerates CRLF line ends, blank header lines and extra spaces", () => {
        const vertices = gaussianElement(3, 2);
        for (const encoding of ENCODINGS) {
            const bytes = buildPly({ encoding, elements: [vertices], crlf: true, comments: ["windows tool"], extraHeaderLines: ["", "comment   spaced   out  "] });
            const header = parsePlyHeader(bytes, "crlf.ply");
            expect(header.comments).toEqual(["windows tool", "spaced   out"]);
            const x = readVertexProperties(bytes, header, ["x"], new Float32Array(3));
            expect(Array.from(x)).toEqual(vertices.rows.map((r) => r[0] as number));
        }
    });

    it("accepts a header-only prefix when told the data is incomplete", () => {
        const bytes = buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(100, 3)] });
        const header = parsePlyHeader(bytes.subarray(0, 600), "prefix.ply", { complete: false });
        expect(header.vertexCount).toBe(100);
        expect(header.vertexDataOffset).toBe(header.headerByteLength);
    });

    it("leaves the vertex offset unknown when a prefix ends inside a list element before the vertices", () => {
        const faces: BuilderElement = { ...facesElement(), rows: Array.from({ length: 50 }, () => [[1, 2, 3, 4, 5, 6], 1]) };
        const bytes = buildPly({ encoding: "binary_little_endian", elements: [faces, gaussianElement(3, 3)] });
        const full = parsePlyHeader(bytes, "faces.ply");
        const prefix = bytes.subarray(0, full.headerByteLength + 40);
        const header = parsePlyHeader(prefix, "faces.ply", { complete: false });
        expect(header.vertexCount).toBe(3);
        expect(header.vertexDataOffset).toBeNull();
        expect(() => readVertexProperties(bytes, header, ["x"], new Float32Array(3))).toThrowMatching((e) => (e as { code?: string }).code === "INVALID_ARGUMENT");
        expect(full.vertexDataOffset).toBe(full.headerByteLength + 50 * (1 + 6 * 4 + 2));
    });
});

describe("semantic attribute reader", () => {
    for (const encoding of ENCODINGS) {
        for (const featureType of ["float", "double", "half"]) {
            it(`reads f_sem_* (${featureType}), sem_label and sem_instance from a ${encoding} file`, () => {
                const K = 5;
                const count = 17;
                const random = seededRandom(42);
                const values: number[][] = [];
                const labels: number[] = [];
                const instances: number[] = [];
                for (let v = 0; v < count; v++) {
                    values.push(Array.from({ length: K }, () => random() * 2 - 1));
                    labels.push(v % 4 === 0 ? 255 : v % 21);
                    instances.push(v % 5 === 0 ? 65535 : v * 3);
                }
                // f_sem properties in a shuffled header order: channel order comes from the index, not the position
                const order = [3, 0, 4, 1, 2];
                const extra = {
                    properties: [
                        ...order.map((c) => ({ name: `f_sem_${c}`, type: featureType })),
                        { name: "sem_label", type: "uchar" },
                        { name: "sem_instance", type: "ushort" },
                    ],
                    value: (v: number, column: number) => (column < K ? values[v][order[column]] : column === K ? labels[v] : instances[v]),
                };
                const bytes = buildPly({ encoding, elements: [gaussianElement(count, 5, extra)] });
                const attributes = readSemanticAttributes(bytes, "semantic.ply");
                expect(attributes.count).toBe(count);
                expect(attributes.featureDim).toBe(K);
                const expectedType = featureType === "float" ? "float32" : featureType === "double" ? "float64" : "float16";
                expect(attributes.featureType).toBe(expectedType);
                for (let v = 0; v < count; v++) {
                    for (let c = 0; c < K; c++) {
                        const stored = values[v][c];
                        const expected = featureType === "half" ? halfBitsToFloat32(float32ToHalfBits(stored)) : Math.fround(stored);
                        expect(attributes.features![v * K + c]).toBe(expected);
                    }
                    expect(attributes.labels![v]).toBe(labels[v] === 255 ? LABEL_NONE : labels[v]);
                    expect(attributes.instances![v]).toBe(instances[v] === 65535 ? INSTANCE_NONE : instances[v]);
                }
                expect(attributes.labelType).toBe("uint8");
                expect(attributes.instanceType).toBe("uint16");
            });
        }
    }

    it("reads scenes larger than one read chunk (65536 values) exactly, in every encoding", () => {
        // K = 16 + label + instance = 18 columns: 3640 vertices a chunk, so 9000 vertices take three chunks.
        const count = 9000;
        const K = 16;
        const feature = (v: number, c: number) => Math.fround(Math.sin(v * 0.37 + c) * 0.5);
        const extra = {
            properties: [...Array.from({ length: K }, (_, c) => ({ name: `f_sem_${c}`, type: "float" })), { name: "sem_label", type: "uchar" }, { name: "sem_instance", type: "uint" }],
            value: (v: number, c: number) => (c < K ? feature(v, c) : c === K ? v % 256 : v * 1000),
        };
        const element = gaussianElement(count, 8, extra);
        for (const encoding of ENCODINGS) {
            const attributes = readSemanticAttributes(buildPly({ encoding, elements: [element] }), `big-${encoding}.ply`);
            let wrong = 0;
            for (let v = 0; v < count; v++) {
                for (let c = 0; c < K; c++) if (attributes.features![v * K + c] !== feature(v, c)) wrong++;
                if (attributes.labels![v] !== (v % 256 === 255 ? LABEL_NONE : v % 256)) wrong++;
                if (attributes.instances![v] !== v * 1000) wrong++;
            }
            expect(wrong).withContext(encoding).toBe(0);
        }
    });

    it("returns nulls and K = 0 for a plain 3DGS file", () => {
        const attributes = readSemanticAttributes(buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(4, 9)] }), "plain.ply");
        expect(attributes.count).toBe(4);
        expect(attributes.featureDim).toBe(0);
        expect(attributes.features).toBeNull();
        expect(attributes.labels).toBeNull();
        expect(attributes.instances).toBeNull();
    });

    it("keeps ushort labels (65535 = none) and uint instances", () => {
        const extra = {
            properties: [{ name: "sem_label", type: "ushort" }, { name: "sem_instance", type: "uint" }],
            value: (v: number, c: number) => (c === 0 ? [300, 65535, 0][v] : [70000, 0xffffffff, 1][v]),
        };
        const attributes = readSemanticAttributes(buildPly({ encoding: "binary_big_endian", elements: [gaussianElement(3, 9, extra)] }), "wide.ply");
        expect(Array.from(attributes.labels!)).toEqual([300, LABEL_NONE, 0]);
        expect(Array.from(attributes.instances!)).toEqual([70000, INSTANCE_NONE, 1]);
        expect(attributes.labelType).toBe("uint16");
        expect(attributes.instanceType).toBe("uint32");
    });
});
