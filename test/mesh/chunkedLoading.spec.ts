// A binary PLY is loaded in chunks (src/mesh/loading.ts, loadPlyInChunks) instead of through Babylon's loader with a
// File round trip: the mesh must hold exactly what Babylon's own loader gives for the same file (rows, SH, scaling,
// world matrix), with the file's features and labels, from a URL, bytes or a Blob; the checks still refuse bad files
// (naming whole-file Gaussian indices past the first chunk); and `sourceInMemory: false` keeps the PLY as a Blob that
// saveSemanticPlyAsync() reads back.
import type { Scene } from "@babylonjs/core/scene";
import { ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";
import { RegisterSPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { splatTextureCapacity } from "../../src/mesh/loading";
import { isSemanticError, type SemanticErrorCode } from "../../src/errors";
import { editHeader, makeGaussianPly } from "./plyFixtures";

/** A real SynthRooms room (2,588 Gaussians, written by the factory), one chunk. */
const ROOM = "/base/test/fixtures/frame/room-canonical.ply";
/** Rows per chunk of the chunked load (loading.ts CHUNK_ROWS): the large fixture below spans two chunks. */
const CHUNK_ROWS = 1 << 18;

async function fetchBytes(url: string): Promise<Uint8Array> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
}

/** The same file loaded by Babylon's own loader into its own mesh (keepInRam, so its rows and SH can be compared). */
async function babylonReference(bytes: Uint8Array, scene: Scene): Promise<GaussianSplattingMesh> {
    const reference = new GaussianSplattingMesh("reference", null, scene, true);
    const file = new File([bytes as BlobPart], "reference.ply");
    await ImportMeshAsync(file, scene, { pluginExtension: ".ply", pluginOptions: { splat: { gaussianSplattingMesh: reference } } });
    return reference;
}

function bytesOf(data: ArrayBuffer | ArrayBufferView | null): Uint8Array {
    if (!data) throw new Error("no data kept");
    return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** True when both hold the same bytes (compared without building million-element arrays for jasmine's diff). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}

function expectSameAsBabylon(mesh: SemanticGaussianSplattingMesh, reference: GaussianSplattingMesh, what: string): void {
    expect(mesh.gaussianCount).withContext(what).toBe(bytesOf(reference.splatsData).length / 32);
    // positions, scales, colours (rgba) and rotations: the 32-byte rows, bit for bit
    expect(sameBytes(bytesOf(mesh.splatsData), bytesOf(reference.splatsData))).withContext(`${what}: splat rows`).toBeTrue();
    expect(mesh.shDegree).withContext(what).toBe(reference.shDegree);
    const sh = mesh.shData;
    const referenceSh = reference.shData;
    expect(sh?.length ?? 0).withContext(what).toBe(referenceSh?.length ?? 0);
    for (let t = 0; t < (sh?.length ?? 0); t++) expect(sameBytes(sh![t], referenceSh![t])).withContext(`${what}: SH texture ${t}`).toBeTrue();
    expect(mesh.scaling.asArray()).withContext(what).toEqual(reference.scaling.asArray());
    expect(Array.from(mesh.computeWorldMatrix(true).m)).withContext(what).toEqual(Array.from(reference.computeWorldMatrix(true).m));
}

async function expectCode(promise: Promise<unknown>, code: SemanticErrorCode, message: RegExp): Promise<void> {
    let caught: unknown = null;
    await promise.catch((e) => (caught = e));
    expect(isSemanticError(caught)).withContext(String(caught)).toBeTrue();
    if (isSemanticError(caught)) {
        expect(caught.code).toBe(code);
        expect(caught.message).toMatch(message);
    }
}

/** Deterministic SH values, different per Gaussian and coefficient (so a misplaced byte shows). */
const shValue = (i: number, name: string) => (name.startsWith("f_rest_") ? Math.fround(Math.sin(i * 0.013 + Number(name.slice(7)) * 0.7) * 0.9) : undefined);

describe("SemanticGaussianSplattingMesh: PLY loaded in chunks", () => {
    let t: TestEngine;
    let scene: Scene;
    beforeAll(() => RegisterSPLATFileLoader());
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    });

    it("a real room from a URL, bytes or a Blob: the rows, scaling and world matrix Babylon's loader gives", async () => {
        const bytes = await fetchBytes(ROOM);
        const reference = await babylonReference(bytes, scene);
        expect(bytesOf(reference.splatsData).length / 32).toBe(2588);
        const fromUrl = await SemanticGaussianSplattingMesh.LoadAsync(ROOM, scene);
        expectSameAsBabylon(fromUrl, reference, "URL");
        expect(fromUrl.sourcePly).not.toBeNull();
        expect(sameBytes(fromUrl.sourcePly!, bytes)).withContext("the URL's bytes kept for saving").toBeTrue();
        const fromBytes = await SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: "room.ply" }, scene);
        expectSameAsBabylon(fromBytes, reference, "bytes");
        expect(fromBytes.sourcePly).toBe(bytes); // the caller's bytes, not a copy
        const fromBlob = await SemanticGaussianSplattingMesh.LoadAsync({ data: new Blob([bytes as BlobPart]), fileName: "room.ply" }, scene);
        expectSameAsBabylon(fromBlob, reference, "Blob");
        // and it renders like any loaded mesh
        await stepFrames(scene, 2);
        expectNoWebGPUErrors(t);
        for (const m of [reference, fromUrl, fromBytes, fromBlob]) m.dispose();
    });

    it("two chunks with SH, features and labels: Babylon's rows and SH, the file's features and labels in order", async () => {
        const count = CHUNK_ROWS + 1000;
        const rest = Array.from({ length: 9 }, (_, j) => `f_rest_${j}`); // SH degree 1
        const ply = makeGaussianPly({ count, featureDimension: 3, labelType: "ushort", extra: rest, standard: shValue });
        const reference = await babylonReference(ply.bytes, scene);
        expect(reference.shDegree).toBe(1);
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: new Blob([ply.bytes as BlobPart]), fileName: "two-chunks.ply" }, scene);
        expectSameAsBabylon(mesh, reference, "two chunks");
        expect(mesh.featureDimension).toBe(3);
        const values = mesh.featureValues as Float32Array;
        expect(values.length).toBe(count * 3);
        let featuresMatch = true;
        for (let i = 0; i < values.length; i++) if (values[i] !== ply.features![i]) featuresMatch = false;
        expect(featuresMatch).withContext("f_sem_* of both chunks").toBeTrue();
        const labels = mesh.labels!;
        let labelsMatch = labels.length === count;
        for (let i = 0; i < count && labelsMatch; i++) if (labels[i] !== ply.labels![i]) labelsMatch = false;
        expect(labelsMatch).withContext("sem_label of both chunks").toBeTrue();
        reference.dispose();
        mesh.dispose();
    });

    it("bad files are still refused with whole-file Gaussian indices, and a failed load leaves the mesh as it was", async () => {
        const count = CHUNK_ROWS + 10;
        const poisoned = makeGaussianPly({ count, standard: (i, name) => (i === CHUNK_ROWS + 3 && name === "y" ? NaN : undefined) });
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: makeGaussianPly({ count: 50, featureDimension: 2, labelType: "uchar" }).bytes, fileName: "good.ply" }, scene);
        const rowsBefore = mesh.splatsData;
        for (const data of [poisoned.bytes, new Blob([poisoned.bytes as BlobPart])]) {
            await expectCode(mesh.loadAsync({ data, fileName: "poison.ply" }), "INVALID_GAUSSIANS", new RegExp(`poison\\.ply: Gaussian ${CHUNK_ROWS + 3} is invalid: position y is NaN`));
        }
        const truncated = poisoned.bytes.subarray(0, poisoned.bytes.length - 1);
        for (const data of [truncated, new Blob([truncated as BlobPart])]) {
            await expectCode(mesh.loadAsync({ data, fileName: "short.ply" }), "MALFORMED_FILE", /short\.ply: truncated vertex data/);
        }
        expect(mesh.gaussianCount).toBe(50);
        expect(mesh.splatsData).toBe(rowsBefore);
        expect(mesh.featureDimension).toBe(2);
        expect(mesh.labels!.length).toBe(50);
        // a header past the budget is refused before any row is read
        const huge = editHeader(makeGaussianPly({ count: 1 }).bytes, "element vertex 1\n", "element vertex 20000000\n");
        await expectCode(mesh.loadAsync({ data: new Blob([huge as BlobPart]), fileName: "huge.ply" }), "BUDGET_EXCEEDED", /huge\.ply: the PLY declares 20000000 Gaussians: more than the maxGaussians budget/);
        // ... and one above what the device's splat textures hold, with GPU_LIMITS naming the limit
        const capacity = splatTextureCapacity(t.engine.getCaps().maxTextureSize);
        const tooMany = editHeader(makeGaussianPly({ count: 1 }).bytes, "element vertex 1\n", `element vertex ${capacity + 1}\n`);
        await expectCode(
            mesh.loadAsync({ data: new Blob([tooMany as BlobPart]), fileName: "gpu.ply" }, { budgets: { maxGaussians: 2 * capacity } }),
            "GPU_LIMITS",
            new RegExp(`^gpu\\.ply: the PLY declares ${capacity + 1} Gaussians: more than this device's splat textures hold \\(${capacity} Gaussians`)
        );
        mesh.dispose();
    });

    it("sourceInMemory: false keeps the PLY as a Blob: saveSemanticPly() refuses, saveSemanticPlyAsync() writes the same file", async () => {
        const ply = makeGaussianPly({ count: 300, featureDimension: 4, labelType: "uchar" });
        const inMemory = await SemanticGaussianSplattingMesh.LoadAsync({ data: ply.bytes, fileName: "room.ply" }, scene);
        const asBlob = await SemanticGaussianSplattingMesh.LoadAsync({ data: new Blob([ply.bytes as BlobPart]), fileName: "room.ply" }, scene, { sourceInMemory: false });
        expect(asBlob.sourcePly).toBeNull();
        let refused: unknown = null;
        try {
            asBlob.saveSemanticPly();
        } catch (e) {
            refused = e;
        }
        expect(isSemanticError(refused, "INVALID_ARGUMENT") && /saveSemanticPlyAsync/.test(refused.message)).withContext(String(refused)).toBeTrue();
        const expected = inMemory.saveSemanticPly();
        expect(sameBytes(await asBlob.saveSemanticPlyAsync(), expected)).toBeTrue();
        expect(sameBytes(await inMemory.saveSemanticPlyAsync(), expected)).toBeTrue();
        // from bytes too: the mesh keeps a Blob of them, not the caller's array
        const fromBytes = await SemanticGaussianSplattingMesh.LoadAsync({ data: ply.bytes, fileName: "room.ply" }, scene, { sourceInMemory: false });
        expect(fromBytes.sourcePly).toBeNull();
        expect(sameBytes(await fromBytes.saveSemanticPlyAsync(), expected)).toBeTrue();
        // splat data set by the caller replaces the file: nothing of it is kept
        fromBytes.updateData(fromBytes.splatsData!.slice(0));
        expect(sameBytes(await fromBytes.saveSemanticPlyAsync(), expected)).withContext("rebuilt from the splats, not the file").toBeFalse();
        for (const m of [inMemory, asBlob, fromBytes]) m.dispose();
    });
});
