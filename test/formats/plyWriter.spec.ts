// PLY writing: original properties kept bit-exact from every encoding, semantic attributes round-trip bit-exact,
// and Babylon's own PLY import reads the written files (the same splats as from the original).
import { GaussianSplattingMeshBase } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMeshBase.pure";
import { parsePlyHeader, readVertexProperties, type PlyHeader } from "../../src/formats/ply";
import { readSemanticAttributes, LABEL_NONE, INSTANCE_NONE } from "../../src/formats/semanticAttributes";
import { writeSemanticPly, writeSplatAsSemanticPly, SPLAT_PLY_PROPERTIES } from "../../src/formats/plyWriter";
import { float32ArrayToHalf, float32ToHalfBits } from "../../src/util/half";
import { buildPly, gaussianElement, seededRandom, type BuilderElement, type BuilderEncoding } from "./plyBuilder";

const ENCODINGS: BuilderEncoding[] = ["ascii", "binary_little_endian", "binary_big_endian"];

function randomFeatures(count: number, K: number, seed: number): Float32Array {
    const random = seededRandom(seed);
    const out = new Float32Array(count * K);
    for (let i = 0; i < out.length; i++) out[i] = random() * 2 - 1;
    return out;
}

function bitsOf(values: Float32Array): number[] {
    return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** Babylon's own PLY -> 32-byte splat conversion (the path its loader takes), run to completion. */
function babylonSplats(ply: Uint8Array): Uint8Array {
    const buffer = ply.buffer.slice(ply.byteOffset, ply.byteOffset + ply.byteLength) as ArrayBuffer;
    const run = GaussianSplattingMeshBase.ConvertPLYToSplat(buffer, false);
    let step = run.next();
    while (!step.done) step = run.next();
    return new Uint8Array(step.value as ArrayBuffer);
}

/** A scene with mixed property types, an old half f_sem, an old label, and elements around the vertices. */
function mixedScene(count: number, encoding: BuilderEncoding): Uint8Array {
    const random = seededRandom(11);
    const extra = {
        properties: [
            { name: "red", type: "uchar" },
            { name: "confidence", type: "double" },
            { name: "age", type: "short" },
            { name: "f_sem_0", type: "half" },
            { name: "f_sem_1", type: "half" },
            { name: "id", type: "uint" },
            { name: "sem_label", type: "uchar" },
            { name: "weight", type: "float16" },
        ],
        value: (v: number, c: number) => [v % 256, random() * 1e3, -v, random(), -random(), v * 7919, v % 3, random() * 10][c],
    };
    const before: BuilderElement = {
        name: "camera",
        properties: [{ name: "ids", type: "ushort", listCountType: "uchar" }, { name: "focal", type: "float" }],
        rows: [[[1, 2, 3], 1.5], [[], 0.25]],
    };
    const after: BuilderElement = { name: "bounds", properties: [{ name: "lo", type: "float" }, { name: "hi", type: "double" }], rows: [[-1, 2.5]] };
    return buildPly({ encoding, elements: [before, gaussianElement(count, 3, extra), after], comments: ["original comment"], objInfo: ["origin spec"] });
}

/** Raw bytes of one vertex property in a binary file, in little-endian order. */
function propertyBytesLE(bytes: Uint8Array, header: PlyHeader, v: number, name: string): number[] {
    const property = header.vertex.properties.find((p) => p.name === name)!;
    const size = { int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, int32: 4, uint32: 4, float32: 4, float64: 8 }[property.type];
    const at = (header.vertexDataOffset as number) + v * header.vertexRowByteSize + property.offset;
    const raw = Array.from(bytes.subarray(at, at + size));
    return header.encoding === "binary_big_endian" ? raw.reverse() : raw;
}

describe("PLY writer from an original PLY", () => {
    for (const encoding of ENCODINGS) {
        it(`keeps every vertex property of a ${encoding} file and replaces the semantic ones (round trip bit-exact)`, () => {
            const count = 23;
            const K = 7;
            const original = mixedScene(count, encoding);
            const features = randomFeatures(count, K, 5);
            const labels = new Uint16Array(count).map((_, i) => (i % 5 === 0 ? LABEL_NONE : i % 21));
            const instances = new Uint32Array(count).map((_, i) => (i % 4 === 0 ? INSTANCE_NONE : i * 100));
            const written = writeSemanticPly(original, "mixed.ply", { features, featureDim: K, labels, instances, comments: ["semantic v1"] });

            const inHeader = parsePlyHeader(original, "mixed.ply");
            const outHeader = parsePlyHeader(written, "written.ply");
            expect(outHeader.encoding).toBe("binary_little_endian");
            expect(outHeader.comments).toEqual(["original comment", "semantic v1"]);
            expect(outHeader.objInfo).toEqual(["origin spec"]);
            expect(outHeader.elements.map((e) => `${e.name}:${e.count}`)).toEqual(["camera:2", "vertex:23", "bounds:1"]);
            const keptNames = inHeader.vertex.properties.map((p) => p.name).filter((n) => !n.startsWith("f_sem_") && n !== "sem_label");
            expect(outHeader.vertex.properties.map((p) => p.name)).toEqual([
                ...keptNames,
                ...Array.from({ length: K }, (_, c) => `f_sem_${c}`),
                "sem_label",
                "sem_instance",
            ]);
            // types are kept (written with their classic names)
            for (const name of keptNames) {
                expect(outHeader.vertex.properties.find((p) => p.name === name)!.type).toBe(inHeader.vertex.properties.find((p) => p.name === name)!.type);
            }
            expect(outHeader.vertex.properties.find((p) => p.name === "sem_label")!.typeName).toBe("uchar");
            expect(outHeader.vertex.properties.find((p) => p.name === "sem_instance")!.typeName).toBe("ushort");

            if (encoding !== "ascii") {
                for (let v = 0; v < count; v++) {
                    for (const name of keptNames) {
                        expect(propertyBytesLE(written, outHeader, v, name)).withContext(`${name} of vertex ${v}`).toEqual(propertyBytesLE(original, inHeader, v, name));
                    }
                }
            }
            const before = readVertexProperties(original, inHeader, keptNames, new Float64Array(count * keptNames.length));
            const after = readVertexProperties(written, outHeader, keptNames, new Float64Array(count * keptNames.length));
            expect(Array.from(after)).toEqual(Array.from(before));

            const back = readSemanticAttributes(written, "written.ply");
            expect(back.featureDim).toBe(K);
            expect(back.featureType).toBe("float32");
            expect(bitsOf(back.features!)).toEqual(bitsOf(features));
            expect(Array.from(back.labels!)).toEqual(Array.from(labels));
            expect(Array.from(back.instances!)).toEqual(Array.from(instances));
        });
    }

    it("writes the same bytes from ascii, little-endian and big-endian versions of one scene (other elements included)", () => {
        const count = 9;
        const payload = { features: randomFeatures(count, 3, 8), featureDim: 3, labels: new Uint16Array(count).fill(4) };
        const outputs = ENCODINGS.map((encoding) => writeSemanticPly(mixedScene(count, encoding), `${encoding}.ply`, payload));
        expect(Array.from(outputs[1])).toEqual(Array.from(outputs[0]));
        expect(Array.from(outputs[2])).toEqual(Array.from(outputs[0]));
        // and the little-endian input's non-vertex elements are carried over byte for byte
        const header = parsePlyHeader(outputs[1], "le.ply");
        const original = mixedScene(count, "binary_little_endian");
        const inHeader = parsePlyHeader(original, "orig.ply");
        const cameraBytes = (inHeader.vertexDataOffset as number) - inHeader.headerByteLength;
        expect(Array.from(outputs[1].subarray(header.headerByteLength, header.headerByteLength + cameraBytes))).toEqual(
            Array.from(original.subarray(inHeader.headerByteLength, inHeader.headerByteLength + cameraBytes))
        );
        const boundsOut = outputs[1].subarray(outputs[1].length - 12);
        const boundsIn = original.subarray(original.length - 12);
        expect(Array.from(boundsOut)).toEqual(Array.from(boundsIn));
    });

    it("keeps NaN payloads and signed zeros of kept float properties bit for bit (little and big endian)", () => {
        for (const encoding of ["binary_little_endian", "binary_big_endian"] as const) {
            const original = buildPly({ encoding, elements: [gaussianElement(3, 4, { properties: [{ name: "odd", type: "float" }], value: (v) => [NaN, -0, 1][v] })] });
            const header = parsePlyHeader(original, "nan.ply");
            // give vertex 0 a NaN with a payload the JS engine would not produce itself
            const at = (header.vertexDataOffset as number) + header.vertex.properties.find((p) => p.name === "odd")!.offset;
            const payload = [0x7f, 0xa1, 0xb2, 0xc3];
            original.set(encoding === "binary_big_endian" ? payload : payload.slice().reverse(), at);
            const written = writeSemanticPly(original, "nan.ply", { features: new Float32Array(3).fill(0.5), featureDim: 1 });
            const outHeader = parsePlyHeader(written, "out.ply");
            for (let v = 0; v < 3; v++) expect(propertyBytesLE(written, outHeader, v, "odd")).toEqual(propertyBytesLE(original, header, v, "odd"));
            expect(propertyBytesLE(written, outHeader, 0, "odd")).toEqual([0xc3, 0xb2, 0xa1, 0x7f]);
        }
    });

    it("round-trips half f_sem: half -> float32 -> written float32 -> read gives the same bits and the same halves", () => {
        const count = 31;
        const K = 4;
        const random = seededRandom(99);
        const values = Array.from({ length: count * K }, () => random() * 4 - 2);
        const extra = { properties: Array.from({ length: K }, (_, c) => ({ name: `f_sem_${c}`, type: "half" })), value: (v: number, c: number) => values[v * K + c] };
        const original = buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(count, 1, extra)] });
        const first = readSemanticAttributes(original, "half.ply");
        expect(first.featureType).toBe("float16");
        const written = writeSemanticPly(original, "half.ply", { features: first.features, featureDim: K });
        const second = readSemanticAttributes(written, "half-out.ply");
        expect(bitsOf(second.features!)).toEqual(bitsOf(first.features!));
        expect(Array.from(float32ArrayToHalf(second.features!))).toEqual(values.map((v) => float32ToHalfBits(v)));
        // and writing again is a fixed point
        const again = writeSemanticPly(written, "half-out.ply", { features: second.features, featureDim: K });
        expect(Array.from(again)).toEqual(Array.from(written));
    });

    it("chooses ushort labels and uint instances when ids do not fit, and round-trips them", () => {
        const count = 5;
        const original = buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(count, 2)] });
        const labels = new Uint16Array([0, 255, 300, LABEL_NONE, 65534]);
        const instances = new Uint32Array([0, 65535, 1 << 20, INSTANCE_NONE, 7]);
        const written = writeSemanticPly(original, "wide.ply", { labels, instances });
        const header = parsePlyHeader(written, "wide.ply");
        expect(header.vertex.properties.find((p) => p.name === "sem_label")!.typeName).toBe("ushort");
        expect(header.vertex.properties.find((p) => p.name === "sem_instance")!.typeName).toBe("uint");
        const back = readSemanticAttributes(written, "wide.ply");
        expect(Array.from(back.labels!)).toEqual(Array.from(labels));
        expect(Array.from(back.instances!)).toEqual(Array.from(instances));
        expect(back.features).toBeNull();
    });

    it("stores none as 255 in uchar labels", () => {
        const original = buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(3, 2)] });
        const written = writeSemanticPly(original, "none.ply", { labels: new Uint16Array([LABEL_NONE, 20, 0]) });
        const header = parsePlyHeader(written, "none.ply");
        expect(Array.from(readVertexProperties(written, header, ["sem_label"], new Uint8Array(3)))).toEqual([255, 20, 0]);
    });

    it("keeps semantic properties left undefined and removes those set to null", () => {
        const original = mixedScene(4, "binary_little_endian");
        const keep = writeSemanticPly(original, "m.ply", {});
        const keptNames = parsePlyHeader(keep, "k.ply").vertex.properties.map((p) => p.name);
        expect(keptNames).toContain("f_sem_0");
        expect(keptNames).toContain("sem_label");
        expect(bitsOf(readSemanticAttributes(keep, "k.ply").features!)).toEqual(bitsOf(readSemanticAttributes(original, "m.ply").features!));
        const removed = writeSemanticPly(original, "m.ply", { features: null, labels: null });
        const removedNames = parsePlyHeader(removed, "r.ply").vertex.properties.map((p) => p.name);
        expect(removedNames.some((n) => n.startsWith("f_sem_") || n === "sem_label")).toBeFalse();
        expect(removedNames).toContain("weight");
    });

    it("writes files that Babylon's PLY import reads as the same splats as the original", () => {
        const count = 40;
        const extra = { properties: [{ name: "nx", type: "float" }], value: () => 0 };
        for (const encoding of ["binary_little_endian", "binary_big_endian", "ascii"] as const) {
            const original = buildPly({ encoding: "binary_little_endian", elements: [gaussianElement(count, 6, extra)] });
            const source = encoding === "binary_little_endian" ? original : buildPly({ encoding, elements: [gaussianElement(count, 6, extra)] });
            const written = writeSemanticPly(source, "babylon.ply", { features: randomFeatures(count, 16, 2), featureDim: 16, labels: new Uint16Array(count).fill(3) });
            expect(Array.from(babylonSplats(written))).withContext(encoding).toEqual(Array.from(babylonSplats(original)));
        }
    });
});

describe("PLY writer from Babylon's splat layout", () => {
    /** A 3DGS PLY with unit quaternions, the kind Babylon's loaders produce splats from. */
    function sourceScene(count: number): Uint8Array {
        const random = seededRandom(21);
        const rows: number[][] = [];
        for (let v = 0; v < count; v++) {
            const q = [random() - 0.5, random() - 0.5, random() - 0.5, random() - 0.5];
            const norm = Math.hypot(...q);
            rows.push([
                random() * 10 - 5, random() * 10 - 5, random() * 10 - 5,
                random() * 3 - 1.5, random() * 3 - 1.5, random() * 3 - 1.5,
                random() * 10 - 5,
                random() * 4 - 6, random() * 4 - 6, random() * 4 - 6,
                ...q.map((c) => c / norm),
            ].map(Math.fround));
        }
        return buildPly({ encoding: "binary_little_endian", elements: [{ name: "vertex", properties: SPLAT_PLY_PROPERTIES.map((name) => ({ name, type: "float" })), rows }] });
    }

    it("writes a standard 3DGS PLY that Babylon reads back as the same splats (rotation bytes within 1)", () => {
        const count = 500;
        const splats = babylonSplats(sourceScene(count));
        const features = randomFeatures(count, 8, 4);
        const labels = new Uint16Array(count).map((_, i) => i % 22 === 21 ? LABEL_NONE : i % 21);
        const written = writeSplatAsSemanticPly(splats, "scene.splat", { features, featureDim: 8, labels });

        const header = parsePlyHeader(written, "scene.splat.ply");
        expect(header.vertex.properties.map((p) => p.name)).toEqual([...SPLAT_PLY_PROPERTIES, ...Array.from({ length: 8 }, (_, c) => `f_sem_${c}`), "sem_label"]);
        const semantic = readSemanticAttributes(written, "scene.splat.ply");
        expect(bitsOf(semantic.features!)).toEqual(bitsOf(features));
        expect(Array.from(semantic.labels!)).toEqual(Array.from(labels));

        const again = babylonSplats(written);
        const f0 = new Float32Array(splats.buffer);
        const f1 = new Float32Array(again.buffer);
        let rotationOffByOne = 0;
        for (let v = 0; v < count; v++) {
            for (let c = 0; c < 3; c++) expect(f1[v * 8 + c]).toBe(f0[v * 8 + c]); // positions: exact
            for (let c = 3; c < 6; c++) expect(Math.abs(f1[v * 8 + c] - f0[v * 8 + c])).toBeLessThanOrEqual(Math.abs(f0[v * 8 + c]) * 2e-6); // exp(log(s))
            for (let b = 24; b < 28; b++) expect(again[v * 32 + b]).withContext(`rgba byte ${b - 24} of splat ${v}`).toBe(splats[v * 32 + b]);
            for (let b = 28; b < 32; b++) {
                const d = Math.abs(again[v * 32 + b] - splats[v * 32 + b]);
                expect(d).toBeLessThanOrEqual(1);
                if (d) rotationOffByOne++;
            }
        }
        // renormalisation moves only a few bytes
        expect(rotationOffByOne).toBeLessThan(count * 4 * 0.1);
    });

    it("maps alpha 0 and 255 to finite logits that come back as 0 and 255", () => {
        const splat = new Uint8Array(64);
        const f = new Float32Array(splat.buffer);
        f.set([1, 2, 3, 0.1, 0.2, 0.3], 0);
        f.set([4, 5, 6, 0, 1, 2], 8); // one zero scale
        splat.set([0, 128, 255, 0], 24);
        splat.set([255, 127, 128, 128], 28);
        splat.set([10, 20, 30, 255], 56);
        splat.set([128, 128, 255, 128], 60);
        const written = writeSplatAsSemanticPly(splat, "edge.splat");
        const header = parsePlyHeader(written, "edge.ply");
        const opacity = readVertexProperties(written, header, ["opacity", "scale_0"], new Float32Array(4));
        expect(Number.isFinite(opacity[0]) && Number.isFinite(opacity[2]) && Number.isFinite(opacity[3])).toBeTrue();
        const again = babylonSplats(written);
        expect(Array.from(again.subarray(24, 28))).toEqual([0, 128, 255, 0]);
        expect(Array.from(again.subarray(56, 60))).toEqual([10, 20, 30, 255]);
        expect(new Float32Array(again.buffer)[8 + 3]).toBeLessThan(1e-30); // zero scale stays (near) zero
    });
});
