// Files made by other tools: the factory's Python-written parity scene (test/golden/parity/scene.ply) and a real
// antimatter15 .splat file from the shared assets (playcanvas/splat-transform test fixture, MIT).
import { GaussianSplattingMeshBase } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMeshBase.pure";
import { parsePlyHeader } from "../../src/formats/ply";
import { readSemanticAttributes, LABEL_NONE, INSTANCE_NONE } from "../../src/formats/semanticAttributes";
import { writeSemanticPly, writeSplatAsSemanticPly } from "../../src/formats/plyWriter";
import { encodeFeatureSidecar, decodeFeatureSidecar } from "../../src/formats/featureSidecar";
import { halfArrayToFloat32 } from "../../src/util/half";

async function fetchBytes(url: string): Promise<Uint8Array> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
}

function babylonSplats(ply: Uint8Array): Uint8Array {
    const run = GaussianSplattingMeshBase.ConvertPLYToSplat(ply.slice().buffer as ArrayBuffer, false);
    let step = run.next();
    while (!step.done) step = run.next();
    return new Uint8Array(step.value as ArrayBuffer);
}

describe("real files", () => {
    it("reads the factory's parity scene and rewrites it byte for byte", async () => {
        const file = "/base/test/golden/parity/scene.ply";
        const bytes = await fetchBytes(file);
        const header = parsePlyHeader(bytes, file);
        expect(header.vertexCount).toBe(2025);
        const attributes = readSemanticAttributes(bytes, file, header);
        expect(attributes.featureDim).toBe(8);
        expect(attributes.featureType).toBe("float32");
        // the generator L2-normalises the features (make_parity_scene.py)
        for (let i = 0; i < attributes.count; i++) {
            let norm = 0;
            for (let c = 0; c < 8; c++) norm += attributes.features![i * 8 + c] ** 2;
            expect(Math.abs(Math.sqrt(norm) - 1)).toBeLessThan(1e-5);
        }
        const labels = attributes.labels!;
        expect(labels.every((l) => l <= 20 || l === LABEL_NONE)).toBeTrue();
        expect(new Set(labels).size).toBeGreaterThan(1);
        expect(attributes.instances!.every((i) => i < 65535 || i === INSTANCE_NONE)).toBeTrue();

        // Writing the file's own attributes back reproduces it exactly (same layout, same types, same header).
        const rewritten = writeSemanticPly(bytes, file, { features: attributes.features, featureDim: 8, labels: attributes.labels, instances: attributes.instances });
        expect(rewritten.length).toBe(bytes.length);
        expect(rewritten.every((b, i) => b === bytes[i])).toBeTrue();
        expect(writeSemanticPly(bytes, file, {}).every((b, i) => b === bytes[i])).toBeTrue();

        // A sidecar of the same features decodes to the fp16 of the PLY values.
        const sidecar = decodeFeatureSidecar(encodeFeatureSidecar({ features: attributes.features!, count: 2025, featureDim: 8, encoderId: "parity" }), "scene.ply.semf", { count: 2025, featureDim: 8 });
        const back = halfArrayToFloat32(sidecar.halfFeatures);
        for (let i = 0; i < back.length; i++) expect(Math.abs(back[i] - attributes.features![i])).toBeLessThanOrEqual(2 ** -11);
    });

    it("converts a real .splat file to a semantic 3DGS PLY that Babylon reads back as the same splats", async () => {
        const splat = await fetchBytes("/assets/splats/fixtures/minimal.splat");
        expect(splat.length % 32).toBe(0);
        const count = splat.length / 32;
        const features = new Float32Array(count * 4).map((_, i) => (i % 4 === 0 ? 1 : 0));
        const ply = writeSplatAsSemanticPly(splat, "minimal.splat", { features, featureDim: 4, labels: new Uint16Array(count).fill(7) });
        const attributes = readSemanticAttributes(ply, "minimal.splat.ply");
        expect(attributes.count).toBe(count);
        expect(Array.from(attributes.features!)).toEqual(Array.from(features));
        expect(Array.from(attributes.labels!)).toEqual(new Array(count).fill(7));
        const again = babylonSplats(ply);
        const f0 = new Float32Array(splat.slice().buffer);
        const f1 = new Float32Array(again.buffer);
        for (let v = 0; v < count; v++) {
            for (let c = 0; c < 3; c++) expect(f1[v * 8 + c]).toBe(f0[v * 8 + c]);
            for (let c = 3; c < 6; c++) expect(Math.abs(f1[v * 8 + c] - f0[v * 8 + c])).toBeLessThanOrEqual(Math.abs(f0[v * 8 + c]) * 2e-6);
            for (let b = 24; b < 28; b++) expect(again[v * 32 + b]).toBe(splat[v * 32 + b]);
            for (let b = 28; b < 32; b++) expect(Math.abs(again[v * 32 + b] - splat[v * 32 + b])).toBeLessThanOrEqual(1);
        }
    });
});
