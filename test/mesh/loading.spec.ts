// Loading every supported format through Babylon's loader into SemanticGaussianSplattingMesh, PLY semantics,
// and bad input: each malformed file ends in a SemanticSplatError naming the file and the problem, with nothing
// left on the scene or on the GPU.
import type { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";
import { RegisterSPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { readFeatureTextureLayer } from "../support/tinyScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { float32ToHalfBits } from "../../src/util/half";
import { zipStored } from "../../src/formats/zip";
import { encodeFeatureSidecar } from "../../src/formats";
import { isSemanticError, type SemanticErrorCode } from "../../src/errors";
import { editHeader, makeGaussianPly } from "./plyFixtures";
import { installGpuCounter, liveGpuObjects } from "./gpuCounter";

const FIXTURES = "/assets/splats/fixtures/";
/** The @adobe/spz WASM module (devDependency) as karma serves it; a page passes its own copy's URL. */
const SPZ_MODULE = "/base/node_modules/@adobe/spz/dist/spz.js";
const PLAYBOT = "/assets/splats/playbot-lod0/";

async function fetchBytes(url: string): Promise<Uint8Array> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
}

async function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Positions (x, y, z) of Babylon's decoded splat rows. */
function splatPositions(mesh: GaussianSplattingMesh): number[] {
    const data = mesh.splatsData;
    if (!data) throw new Error("no splatsData: keepInRam is off");
    const f32 = new Float32Array(data);
    const out: number[] = [];
    for (let i = 0; i < f32.length / 8; i++) out.push(f32[i * 8], f32[i * 8 + 1], f32[i * 8 + 2]);
    return out;
}

describe("SemanticGaussianSplattingMesh loading", () => {
    let t: TestEngine;
    let scene: Scene;
    beforeAll(() => {
        installGpuCounter();
        RegisterSPLATFileLoader();
    });
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    });

    it("loads a .splat into the subclass exactly as Babylon loads it into its own mesh", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal.splat", scene);
        expect(mesh).toBeInstanceOf(SemanticGaussianSplattingMesh);
        expect(mesh.getClassName()).toBe("GaussianSplattingMesh");
        expect(scene.meshes).toContain(mesh);
        expect(mesh.gaussianCount).toBe(4); // 128 bytes / 32-byte rows
        expect(mesh.scaling.y).toBe(-1); // Babylon's loader flips Y-down splat files
        const reference = new GaussianSplattingMesh("reference", null, scene, true);
        await ImportMeshAsync(FIXTURES + "minimal.splat", scene, { pluginOptions: { splat: { gaussianSplattingMesh: reference } } });
        expect(splatPositions(mesh)).toEqual(splatPositions(reference));
        reference.dispose();
        // From bytes too.
        const fromBytes = await SemanticGaussianSplattingMesh.LoadAsync({ data: (await fetchBytes(FIXTURES + "minimal.splat")).buffer as ArrayBuffer, fileName: "minimal.splat" }, scene);
        expect(splatPositions(fromBytes)).toEqual(splatPositions(mesh));
        await stepFrames(scene, 1);
        expectNoWebGPUErrors(t);
        mesh.dispose();
        fromBytes.dispose();
    });

    it("loads SPZ v2, v3 and raw (uncompressed) files with Babylon's built-in parser, without network", async () => {
        const v2 = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v2.spz", scene);
        const v3 = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v3.spz", scene);
        const raw = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-raw.spz", scene);
        for (const mesh of [v2, v3, raw]) expect(mesh.gaussianCount).toBe(4);
        // The raw file is the uncompressed v2 stream: same decoded positions.
        expect(Array.from(await gunzipBytes(await fetchBytes(FIXTURES + "minimal-v2.spz")))).toEqual(Array.from(await fetchBytes(FIXTURES + "minimal-raw.spz")));
        expect(splatPositions(raw)).toEqual(splatPositions(v2));
        expect(splatPositions(v3).length).toBe(12);
        await stepFrames(scene, 1);
        expectNoWebGPUErrors(t);
        for (const mesh of [v2, v3, raw]) mesh.dispose();
    });

    it("loads SPZ v4 (NGSP v4, zstd streams) through the @adobe/spz module named by spzLibraryUrl, like v3", async () => {
        const v4 = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v4.spz", scene, { spzLibraryUrl: SPZ_MODULE });
        const v3 = await SemanticGaussianSplattingMesh.LoadAsync(FIXTURES + "minimal-v3.spz", scene);
        expect(v4.getClassName()).toBe("GaussianSplattingMesh");
        expect(v4.gaussianCount).toBe(4);
        // The same four splats as the v3 fixture, in world space (the two paths differ in their Y flip: one flips
        // the data, the other the mesh scaling), to the fixed-point precision of the files.
        const world = (mesh: SemanticGaussianSplattingMesh) => {
            const p = splatPositions(mesh);
            const m = mesh.computeWorldMatrix(true);
            const out: number[] = [];
            for (let i = 0; i < p.length; i += 3) {
                const w = Vector3.TransformCoordinates(new Vector3(p[i], p[i + 1], p[i + 2]), m);
                out.push(w.x, w.y, w.z);
            }
            return out;
        };
        const a = world(v4);
        const b = world(v3);
        expect(a.length).toBe(12);
        for (let i = 0; i < 12; i++) expect(Math.abs(a[i] - b[i])).withContext(`coordinate ${i}: v4 ${a[i]}, v3 ${b[i]}`).toBeLessThan(1e-3);
        await stepFrames(scene, 1);
        expectNoWebGPUErrors(t);
        v4.dispose();
        v3.dispose();
    });

    it("loads the 500k-Gaussian SOG scene (meta.json + webp) and renders it once", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(PLAYBOT + "meta.json", scene);
        expect(mesh.gaussianCount).toBe(500000);
        const camera = scene.activeCamera as FreeCamera;
        camera.position = new Vector3(0, 0.3, -2);
        camera.setTarget(new Vector3(0, 0.3, 0));
        await stepFrames(scene, 1); // the first frame starts the sort (Babylon draws nothing until it is back)
        // Babylon's private flag: set when the sort worker's first order for this mesh has arrived.
        const sorted = () => (mesh as unknown as { _readyToDisplay: boolean })._readyToDisplay;
        for (let waited = 0; !sorted() && waited < 60000; waited += 50) await new Promise((r) => setTimeout(r, 50));
        expect(sorted()).withContext("sort finished").toBeTrue();
        const pixels = await renderAndReadCanvas(scene);
        let lit = 0;
        for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] > 30) lit++;
        expect(lit).withContext("pixels the splats cover").toBeGreaterThan(50);
        expectNoWebGPUErrors(t);
        mesh.dispose();
    });

    it("loads the same SOG scene bundled as a .sog zip", async () => {
        const meta = await fetchBytes(PLAYBOT + "meta.json");
        const names: string[] = [];
        const json = JSON.parse(new TextDecoder().decode(meta));
        for (const key of ["means", "scales", "quats", "sh0", "shN"]) if (json[key]) names.push(...json[key].files);
        const files = new Map<string, Uint8Array>([["meta.json", meta]]);
        for (const name of names) files.set(name, await fetchBytes(PLAYBOT + name));
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: zipStored(files), fileName: "playbot.sog" }, scene);
        expect(mesh.gaussianCount).toBe(500000);
        mesh.dispose();
    });

    for (const variant of [
        { featureType: "float" as const, labelType: "uchar" as const, encoding: "binary_little_endian" as const, K: 16 },
        { featureType: "half" as const, labelType: "ushort" as const, encoding: "binary_little_endian" as const, K: 8 },
        { featureType: "float" as const, labelType: "uchar" as const, encoding: "ascii" as const, K: 5 },
    ]) {
        it(`loads a PLY with ${variant.featureType} f_sem_* (K=${variant.K}, ${variant.encoding}) and ${variant.labelType} sem_label`, async () => {
            const count = 137;
            const ply = makeGaussianPly({ count, featureDimension: variant.K, featureType: variant.featureType, labelType: variant.labelType, encoding: variant.encoding });
            const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: ply.bytes, fileName: "scene.ply" }, scene);
            expect(mesh.gaussianCount).toBe(count);
            expect(mesh.featureDimension).toBe(variant.K);
            expect(Array.from(mesh.featureValues as Float32Array)).toEqual(Array.from(ply.features!));
            const none = 65535; // the reader normalises "none" to 65535 whatever the stored type
            expect(Array.from(mesh.labels!)).toEqual(ply.labels!.map((l) => (l === 255 || l === 65535 ? none : l)));
            // Positions reach Babylon (as a file Babylon reads directly, or transcoded for it).
            expect(splatPositions(mesh)).toEqual(Array.from(ply.positions));
            // The texture holds the fp16 features at texel i of layer c / 8 (RGBA32UI texels of fp16 pairs).
            const width = mesh.splatTextureSize.width;
            for (let layer = 0; layer < mesh.featureLayerCount; layer++) {
                const texels = await readFeatureTextureLayer(mesh, layer);
                for (let i = 0; i < count; i++) {
                    const texel = (Math.floor(i / width) * width + (i % width)) * 8;
                    for (let c = 0; c < 8; c++) {
                        const channel = layer * 8 + c;
                        const expected = channel < variant.K ? float32ToHalfBits(ply.features![i * variant.K + channel]) : 0;
                        if (texels[texel + c] !== expected) fail(`Gaussian ${i} channel ${channel}: ${texels[texel + c]} != ${expected}`);
                    }
                }
            }
            expect(mesh.sourcePly).toBe(ply.bytes);
            await stepFrames(scene, 1);
            expectNoWebGPUErrors(t);
            mesh.dispose();
        });
    }

    it("an instance load replaces the features of the previous scene", async () => {
        const mesh = new SemanticGaussianSplattingMesh("reused", scene);
        await mesh.loadAsync({ data: makeGaussianPly({ count: 20, featureDimension: 4 }).bytes, fileName: "a.ply" });
        expect(mesh.featureDimension).toBe(4);
        await mesh.loadAsync(FIXTURES + "minimal.splat");
        expect(mesh.gaussianCount).toBe(4);
        expect(mesh.featureDimension).toBe(0);
        expect(mesh.featureTexture).toBeNull();
        expect(mesh.sourcePly).toBeNull();
        mesh.dispose();
    });

    it("a file refused by the checks leaves an existing mesh's data and features as they were", async () => {
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: makeGaussianPly({ count: 20, featureDimension: 4 }).bytes, fileName: "a.ply" }, scene);
        const splats = Array.from(new Uint8Array(mesh.splatsData!));
        const texture = mesh.featureTexture;
        const bad = makeGaussianPly({ count: 30, featureDimension: 4, poison: { gaussian: 2, channel: 1, value: NaN } }).bytes;
        await expectAsync(mesh.loadAsync({ data: bad, fileName: "bad.ply" })).toBeRejectedWithError(/bad\.ply.*non-finite/);
        const tooBig = makeGaussianPly({ count: 30, featureDimension: 4, poison: { gaussian: 2, channel: 1, value: 1e9 } }).bytes;
        await expectAsync(mesh.loadAsync({ data: tooBig, fileName: "big.ply" })).toBeRejectedWithError(/big\.ply.*fp16/);
        expect(mesh.gaussianCount).toBe(20);
        expect(Array.from(new Uint8Array(mesh.splatsData!))).toEqual(splats);
        expect(mesh.featureTexture).toBe(texture);
        expect(mesh.featureDimension).toBe(4);
        mesh.dispose();
    });

    describe("bad input", () => {
        const good = () => makeGaussianPly({ count: 10, featureDimension: 4, labelType: "uchar" }).bytes;
        const sidecarFor = (count: number, featureDim: number) =>
            encodeFeatureSidecar({ features: new Float32Array(count * featureDim).fill(0.5), count, featureDim, encoderId: "test" });
        const cases: {
            name: string;
            /** The file the error must name (the sidecar's, for sidecar errors). */
            fileName: string;
            code: SemanticErrorCode;
            message: string;
            make: () => Promise<Uint8Array | string> | Uint8Array | string;
            /** With a sidecar: the scene's file name and the sidecar bytes (named `fileName`). */
            sidecar?: { sceneFileName: string; make: () => Uint8Array };
            /** Load options of the case (besides the sidecar). */
            options?: { spzLibraryUrl?: string };
        }[] = [
            { name: "PLY with truncated data", fileName: "truncated.ply", code: "MALFORMED_FILE", message: "truncated", make: () => good().slice(0, good().length - 7) },
            { name: "PLY whose vertex count is larger than its data", fileName: "count.ply", code: "MALFORMED_FILE", message: "1000", make: () => editHeader(good(), "element vertex 10", "element vertex 1000") },
            { name: "PLY with an unknown property type", fileName: "type.ply", code: "UNSUPPORTED_FORMAT", message: "float128", make: () => editHeader(good(), "property float f_sem_2", "property float128 f_sem_2") },
            { name: "PLY header without end_header", fileName: "noend.ply", code: "MALFORMED_FILE", message: "end_header", make: () => new TextEncoder().encode("ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n") },
            { name: "PLY with 0 vertices", fileName: "empty.ply", code: "EMPTY_SCENE", message: "0 vertices", make: () => new TextEncoder().encode("ply\nformat binary_little_endian 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n") },
            { name: "PLY with a NaN feature", fileName: "nan.ply", code: "INVALID_FEATURES", message: "vertex 3", make: () => makeGaussianPly({ count: 10, featureDimension: 4, poison: { gaussian: 3, channel: 2, value: NaN } }).bytes },
            { name: "PLY with an infinite feature", fileName: "inf.ply", code: "INVALID_FEATURES", message: "f_sem_0", make: () => makeGaussianPly({ count: 10, featureDimension: 4, poison: { gaussian: 9, channel: 0, value: Infinity } }).bytes },
            { name: "PLY with a feature outside the fp16 range", fileName: "big.ply", code: "INVALID_FEATURES", message: "fp16", make: () => makeGaussianPly({ count: 10, featureDimension: 4, poison: { gaussian: 1, channel: 1, value: 1e6 } }).bytes },
            { name: "PLY with a gap in f_sem_* indices", fileName: "gap.ply", code: "MALFORMED_FILE", message: "f_sem", make: () => editHeader(good(), "property float f_sem_2", "property float f_sem_7") },
            { name: "PLY point cloud (no Gaussian properties)", fileName: "points.ply", code: "UNSUPPORTED_FORMAT", message: "rot_0", make: () => makeGaussianPly({ count: 10, omit: ["rot_0", "rot_1", "rot_2", "rot_3"] }).bytes },
            { name: "PLY without the ply magic", fileName: "magic.ply", code: "MALFORMED_FILE", message: "ply", make: () => good().slice(4) },
            { name: ".splat not a whole number of rows", fileName: "cut.splat", code: "MALFORMED_FILE", message: "32-byte rows", make: async () => (await fetchBytes(FIXTURES + "minimal.splat")).slice(0, 100) },
            { name: "empty file", fileName: "nothing.splat", code: "EMPTY_SCENE", message: "empty", make: () => new Uint8Array(0) },
            { name: "SPZ with a truncated gzip stream", fileName: "cut.spz", code: "MALFORMED_FILE", message: "gzip", make: async () => (await fetchBytes(FIXTURES + "minimal-v2.spz")).slice(0, 40) },
            { name: "SPZ declaring more Gaussians than it holds", fileName: "count.spz", code: "MALFORMED_FILE", message: "truncated", make: async () => {
                const raw = await fetchBytes(FIXTURES + "minimal-raw.spz");
                new DataView(raw.buffer).setUint32(8, 4000, true);
                return gzipBytes(raw);
            } },
            { name: "SPZ with a bad magic", fileName: "magic.spz", code: "MALFORMED_FILE", message: "NGSP", make: async () => {
                const raw = await fetchBytes(FIXTURES + "minimal-raw.spz");
                raw[0] = 0x41;
                return gzipBytes(raw);
            } },
            { name: "SPZ v4 without the spz module", fileName: "minimal-v4.spz", code: "UNSUPPORTED_FORMAT", message: "spzLibraryUrl", make: () => fetchBytes(FIXTURES + "minimal-v4.spz") },
            { name: "SPZ v4 cut short, with the spz module", fileName: "cut-v4.spz", code: "MALFORMED_FILE", message: "truncated", options: { spzLibraryUrl: SPZ_MODULE }, make: async () => (await fetchBytes(FIXTURES + "minimal-v4.spz")).slice(0, 150) },
            { name: "SPZ v4 whose streams are not zstd, with the spz module", fileName: "junk-v4.spz", code: "MALFORMED_FILE", message: "not a zstd frame", options: { spzLibraryUrl: SPZ_MODULE }, make: async () => {
                const bytes = await fetchBytes(FIXTURES + "minimal-v4.spz");
                bytes.fill(0x5a, 112);
                return bytes;
            } },
            { name: ".ksplat (Babylon has no reader for it)", fileName: "minimal.ksplat", code: "UNSUPPORTED_FORMAT", message: "unknown scene format", make: () => fetchBytes(FIXTURES + "minimal.ksplat") },
            { name: ".sog zip cut short", fileName: "cut.sog", code: "MALFORMED_FILE", message: "ZIP", make: () => zipStored(new Map([["meta.json", new TextEncoder().encode("{}")]])).slice(0, 30) },
            { name: ".sog zip without meta.json", fileName: "nometa.sog", code: "MALFORMED_FILE", message: "meta.json", make: () => zipStored(new Map([["means_l.webp", new Uint8Array(8)]])) },
            { name: "SOG meta.json that is not JSON", fileName: "meta.json", code: "MALFORMED_FILE", message: "JSON", make: () => new TextEncoder().encode("{ not json") },
            { name: "SOG meta.json naming images that do not exist", fileName: "missing/meta.json", code: "MALFORMED_FILE", message: 'SOG image "nowhere_l.webp" named by meta.json could not be read', make: async () => editHeaderText(await fetchBytes(PLAYBOT + "meta.json"), "means_l.webp", "nowhere_l.webp") },
            { name: "K mismatch between the PLY's f_sem_* and the sidecar", fileName: "k.ply.semf", code: "FEATURE_MISMATCH", message: "K=8", make: good, sidecar: { sceneFileName: "k.ply", make: () => sidecarFor(10, 8) } },
            { name: "sidecar for a different number of Gaussians", fileName: "count.splat.semf", code: "FEATURE_MISMATCH", message: "4000", make: () => fetchBytes(FIXTURES + "minimal.splat"), sidecar: { sceneFileName: "count.splat", make: () => sidecarFor(4000, 4) } },
            { name: "sidecar that is not a sidecar", fileName: "junk.splat.semf", code: "MALFORMED_FILE", message: "magic", make: () => fetchBytes(FIXTURES + "minimal.splat"), sidecar: { sceneFileName: "junk.splat", make: () => new TextEncoder().encode("definitely not a feature sidecar file") } },
            { name: "a URL that does not exist", fileName: "/assets/splats/fixtures/absent.ply", code: "INVALID_ARGUMENT", message: "HTTP 404", make: () => "/assets/splats/fixtures/absent.ply" },
        ];

        for (const c of cases) {
            it(`${c.name}: clear error, nothing left behind`, async () => {
                const made = await c.make();
                const source = typeof made === "string" ? made : { data: made, fileName: c.sidecar?.sceneFileName ?? c.fileName };
                const sidecar = c.sidecar ? { sidecar: { data: c.sidecar.make(), fileName: c.fileName } } : {};
                await stepFrames(scene, 1);
                const meshesBefore = scene.meshes.length;
                const materialsBefore = scene.materials.length;
                const texturesBefore = scene.textures.length;
                const gpuBefore = liveGpuObjects();
                const options = c.fileName.startsWith("missing/") ? { rootUrl: PLAYBOT.replace("playbot-lod0/", "nowhere/"), ...sidecar } : { ...sidecar, ...c.options };
                let caught: unknown;
                try {
                    await SemanticGaussianSplattingMesh.LoadAsync(source, scene, { ...options, timeoutMs: 60000 });
                } catch (e) {
                    caught = e;
                }
                expect(isSemanticError(caught)).withContext(`expected a SemanticSplatError, got ${String(caught)}`).toBeTrue();
                if (isSemanticError(caught)) {
                    expect(caught.code).toBe(c.code);
                    expect(caught.message).toContain(c.fileName);
                    expect(caught.message).toContain(c.message);
                    expect(caught.message).not.toContain("did not finish"); // ended by a check, not the watchdog
                }
                expect(scene.meshes.length).withContext("meshes").toBe(meshesBefore);
                expect(scene.materials.length).withContext("materials").toBe(materialsBefore);
                expect(scene.textures.length).withContext("textures").toBe(texturesBefore);
                await stepFrames(scene, 1);
                expect(liveGpuObjects()).withContext("live GPU textures and buffers").toEqual(gpuBefore);
                expectNoWebGPUErrors(t);
            });
        }
    });
});

function editHeaderText(bytes: Uint8Array, from: string, to: string): Uint8Array {
    return new TextEncoder().encode(new TextDecoder().decode(bytes).replace(from, to));
}
