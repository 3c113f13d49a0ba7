// Hostile and damaged scene files through the browser loader (issue 16): the validation policy (non-finite and
// degenerate Gaussians refused or dropped, labels outside the class table refused or mapped), lying counts,
// gzip/zip bombs refused within their budget, SOG meta.json and image checks, and atomic loads: a failed load
// into an existing mesh leaves it exactly as it was, and it still renders without WebGPU errors.
import type { Scene } from "@babylonjs/core/scene";
import { RegisterSPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { zipStored } from "../../src/formats/zip";
import { DEFAULT_CLASS_COUNT } from "../../src/formats/validation";
import { isSemanticError, type SemanticErrorCode } from "../../src/errors";
import { editHeader, makeGaussianPly } from "./plyFixtures";
import { splatTextureCapacity } from "../../src/mesh/loading";

const FIXTURES = "/assets/splats/fixtures/";
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

async function expectCode(promise: Promise<unknown>, code: SemanticErrorCode, message: RegExp): Promise<void> {
    let caught: unknown;
    try {
        await promise;
    } catch (e) {
        caught = e;
    }
    expect(isSemanticError(caught)).withContext(`expected a SemanticSplatError, got ${String(caught)}`).toBeTrue();
    if (isSemanticError(caught)) {
        expect(caught.code).toBe(code);
        expect(caught.message).toMatch(message);
    }
}

/** A .splat row buffer of `count` valid Gaussians; `edit(view, i)` may poison row i. */
function splatRows(count: number, edit?: (view: DataView, i: number) => void): Uint8Array {
    const bytes = new Uint8Array(count * 32);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) {
        const row = i * 32;
        view.setFloat32(row, i * 0.1, true);
        for (let j = 0; j < 3; j++) view.setFloat32(row + 12 + 4 * j, 0.05, true);
        bytes.set([200, 100, 50, 255, 255, 128, 128, 128], row + 24);
        edit?.(view, i);
    }
    return bytes;
}

describe("hostile scene files", () => {
    let t: TestEngine;
    let scene: Scene;
    beforeAll(() => RegisterSPLATFileLoader());
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    });

    it("the default class count is the package's class table", async () => {
        const table = await (await fetch("/base/models/classes.json")).json();
        expect(table.classes.length).toBe(DEFAULT_CLASS_COUNT);
    });

    const poisoned: { what: string; name: string; value: number; message: RegExp }[] = [
        { what: "NaN position", name: "y", value: NaN, message: /Gaussian 3 is invalid: position y is NaN/ },
        { what: "infinite position", name: "x", value: Infinity, message: /Gaussian 3 is invalid: position x is Infinity/ },
        { what: "infinite log scale", name: "scale_1", value: Infinity, message: /Gaussian 3 is invalid: scale_1 is Infinity/ },
        { what: "1e30 log scale", name: "scale_0", value: 1e30, message: /Gaussian 3 is invalid: scale_0 is 1\.0000000150474662e\+30/ },
        { what: "NaN opacity", name: "opacity", value: NaN, message: /Gaussian 3 is invalid: opacity is NaN/ },
        { what: "NaN colour", name: "f_dc_2", value: NaN, message: /Gaussian 3 is invalid: f_dc_2 is NaN/ },
        { what: "NaN rotation", name: "rot_2", value: NaN, message: /Gaussian 3 is invalid: rotation .*non-finite/ },
        { what: "zero quaternion", name: "rot_0", value: 0, message: /Gaussian 3 is invalid: rotation quaternion is zero/ },
    ];
    for (const p of poisoned) {
        it(`PLY with a ${p.what}: INVALID_GAUSSIANS naming Gaussian 3; "drop" loads the rest with their features and labels`, async () => {
            const make = () => makeGaussianPly({ count: 12, featureDimension: 4, labelType: "uchar", standard: (i, name) => (i === 3 && name === p.name ? p.value : undefined) });
            await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: make().bytes, fileName: "poison.ply" }, scene), "INVALID_GAUSSIANS", new RegExp(`poison\\.ply: ${p.message.source}`));
            expect(scene.meshes.length).toBe(0);
            const fixture = make();
            const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: fixture.bytes, fileName: "poison.ply" }, scene, { invalidGaussians: "drop" });
            expect(mesh.gaussianCount).toBe(11);
            expect(mesh.lastLoadReport.droppedGaussians).toBe(1);
            expect(mesh.featureDimension).toBe(4);
            // Gaussian 4 of the file is Gaussian 3 of the mesh: its features and label moved with it.
            expect(mesh.featureValues![3 * 4]).toBe(fixture.features![4 * 4]);
            expect(mesh.labels![3]).toBe(fixture.labels![4]);
            const positions = new Float32Array(mesh.splatsData!);
            expect(positions[3 * 8]).toBeCloseTo(fixture.positions[4 * 3], 6);
            for (let i = 0; i < positions.length; i++) if (i % 8 < 6) expect(Number.isFinite(positions[i])).toBeTrue();
            await stepFrames(scene, 2);
            expectNoWebGPUErrors(t);
            mesh.dispose();
        });
    }

    it(".splat with an infinite scale, a 1e30 scale or a zero quaternion is refused; \"drop\" keeps the valid rows", async () => {
        const bad: [string, (v: DataView, i: number) => void, RegExp][] = [
            ["inf.splat", (v, i) => i === 2 && v.setFloat32(2 * 32 + 16, Infinity, true), /Gaussian 2 is invalid: scale 1 is Infinity/],
            ["big.splat", (v, i) => i === 2 && v.setFloat32(2 * 32 + 12, 1e30, true), /Gaussian 2 is invalid: scale 0 is 1\.0000000150474662e\+30/],
            ["nan.splat", (v, i) => i === 5 && v.setFloat32(5 * 32 + 4, NaN, true), /Gaussian 5 is invalid: position y is NaN/],
            ["zeroq.splat", (v, i) => i === 1 && new Uint8Array(v.buffer).set([128, 128, 128, 128], 1 * 32 + 28), /Gaussian 1 is invalid: rotation quaternion is zero/],
        ];
        for (const [name, edit, message] of bad) {
            await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: splatRows(8, edit), fileName: name }, scene), "INVALID_GAUSSIANS", message);
            const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: splatRows(8, edit), fileName: name }, scene, { invalidGaussians: "drop" });
            expect(mesh.gaussianCount).withContext(name).toBe(7);
            expect(mesh.lastLoadReport.droppedGaussians).toBe(1);
            mesh.dispose();
        }
        await expectCode(
            SemanticGaussianSplattingMesh.LoadAsync({ data: splatRows(3, (v, i) => v.setFloat32(i * 32, NaN, true)), fileName: "all.splat" }, scene, { invalidGaussians: "drop" }),
            "INVALID_GAUSSIANS",
            /every one of the 3 Gaussians is invalid/
        );
    });

    it("labels outside the class table are refused, or mapped to none by option", async () => {
        const bytes = makeGaussianPly({ count: 10, labelType: "ushort" }).bytes;
        // labels are i % 21 (65535 for every 7th): with classCount 5, Gaussian 5 (label 5) is the first outside.
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: "labels.ply" }, scene, { classCount: 5 }), "INVALID_LABELS", /labels\.ply: Gaussian 5 has sem_label 5, outside the class table's 5 classes/);
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: "labels.ply" }, scene, { classCount: 5, invalidLabels: "none" });
        expect(Array.from(mesh.labels!)).toEqual([0, 1, 2, 3, 4, 65535, 65535, 65535, 65535, 65535]);
        expect(mesh.lastLoadReport.labelsMappedToNone).toBe(4);
        mesh.dispose();
    });

    it("short and ushort positions load as integers (not skipped, not read as fp16)", async () => {
        const float = makeGaussianPly({ count: 20, standard: (i, name) => (name === "x" ? i : name === "y" ? 2 * i : name === "z" ? 3 : undefined) });
        const reference = await SemanticGaussianSplattingMesh.LoadAsync({ data: float.bytes, fileName: "float.ply" }, scene);
        const expected = Array.from(new Float32Array(reference.splatsData!));
        reference.dispose();
        for (const type of ["short", "ushort", "int", "char", "uchar", "double"]) {
            let bytes = float.bytes;
            // binary: rewrite x, y, z of every row as `type` by re-encoding through ascii (the reader reads any encoding)
            const ascii = makeGaussianPly({ count: 20, encoding: "ascii", standard: (i, name) => (name === "x" ? i : name === "y" ? 2 * i : name === "z" ? 3 : undefined) }).bytes;
            bytes = ascii;
            for (const axis of ["x", "y", "z"]) bytes = editHeader(bytes, `property float ${axis}\n`, `property ${type} ${axis}\n`);
            const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: `${type}.ply` }, scene);
            expect(Array.from(new Float32Array(mesh.splatsData!))).withContext(type).toEqual(expected);
            mesh.dispose();
        }
    });

    it("an ascii PLY whose count the text cannot hold is refused at once (no RangeError, no 16 s walk)", async () => {
        const started = performance.now();
        const liar = new TextEncoder().encode("ply\nformat ascii 1.0\nelement vertex 4294967295\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n");
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: liar, fileName: "liar.ply" }, scene), "MALFORMED_FILE", /liar\.ply: truncated ascii data: the header declares 4294967295 vertices/);
        const empty = new TextEncoder().encode("ply\nformat ascii 1.0\nelement junk 4294967295\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n");
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: empty, fileName: "rows.ply" }, scene), "MALFORMED_FILE", /element 'junk' declares 4294967295 rows but has no properties/);
        expect(performance.now() - started).toBeLessThan(60000); // a hang guard (the old reader spent 16 s here)
    });

    it("a scene above what the device's splat textures hold is refused from its header with GPU_LIMITS (issue 17)", async () => {
        // Babylon lays splats on maxTextureSize-wide textures (one spare texel), so maxTextureSize^2 - 1 is the most
        // a device holds; past it Babylon's textures would fail only as uncaptured WebGPU errors. The default
        // maxGaussians budget (16 M) is below it, so a caller must have raised the budget to get here.
        const max = t.engine.getCaps().maxTextureSize;
        expect(splatTextureCapacity(8192)).toBe(67_108_863);
        const capacity = splatTextureCapacity(max);
        // An SPZ stream's 16-byte header (magic NGSP, version 2, count, SH degree 0) with a few bytes of data: the count
        // is read from the header before anything is decoded (a PLY's reader checks its data length first).
        const spz = (count: number) => {
            const header = new Uint8Array(64);
            const view = new DataView(header.buffer);
            view.setUint32(0, 0x5053474e, true);
            view.setUint32(4, 2, true);
            view.setUint32(8, count, true);
            header[13] = 12; // fractional bits
            return gzipBytes(header);
        };
        const started = performance.now();
        await expectCode(
            SemanticGaussianSplattingMesh.LoadAsync({ data: await spz(capacity + 1), fileName: "huge.spz" }, scene, { budgets: { maxGaussians: 2 * capacity } }),
            "GPU_LIMITS",
            new RegExp(`^huge\\.spz: the SPZ header declares ${capacity + 1} Gaussians: more than this device's splat textures hold \\(${capacity} Gaussians: ${max} x ${max} texels`)
        );
        // exactly the capacity passes the GPU check (and is then refused for its missing data, not for the GPU)
        let atCapacity: unknown = null;
        await SemanticGaussianSplattingMesh.LoadAsync({ data: await spz(capacity), fileName: "full.spz" }, scene, { budgets: { maxGaussians: 2 * capacity } }).catch((e) => (atCapacity = e));
        expect(isSemanticError(atCapacity) && atCapacity.code !== "GPU_LIMITS" && /full\.spz/.test(atCapacity.message)).withContext(String(atCapacity)).toBeTrue();
        const { bytes } = makeGaussianPly({ count: 3 });
        // a budget below the capacity still names the budget
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: "three.ply" }, scene, { budgets: { maxGaussians: 2 } }), "BUDGET_EXCEEDED", /three\.ply: the PLY declares 3 Gaussians: more than the maxGaussians budget of 2 Gaussians/);
        expect(scene.meshes.length).toBe(0);
        expect(performance.now() - started).toBeLessThan(60000); // refused from the header, nothing decoded
    });

    it("SPZ: a count that says 2 of 4, appended data and a gzip bomb are refused within the declared size", async () => {
        const raw = await fetchBytes(FIXTURES + "minimal-raw.spz");
        const two = raw.slice();
        new DataView(two.buffer).setUint32(8, 2, true);
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: await gzipBytes(two), fileName: "two.spz" }, scene), "MALFORMED_FILE", /two\.spz: the SPZ stream holds more than the \d+ bytes its header's count/);
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: two, fileName: "two-raw.spz" }, scene), "MALFORMED_FILE", /holds more than/);
        // a valid file followed by 256 MiB of zeros, gzipped (about 256 KiB)
        const padded = new Uint8Array(raw.length + 256 * 1024 * 1024);
        padded.set(raw);
        const bomb = await gzipBytes(padded);
        const started = performance.now();
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: bomb, fileName: "bomb.spz" }, scene), "MALFORMED_FILE", /bomb\.spz: the SPZ stream holds more than/);
        // a hang guard, not a speed target (scripts/bench-hostile.mjs measures): the refusal comes after the
        // declared 36 + 4 x 20 bytes, not after inflating the 256 MiB
        const ms = performance.now() - started;
        console.log(`hostile.spec: 256 MiB gzip bomb (${bomb.length} bytes) refused in ${ms.toFixed(0)} ms`);
        expect(ms).toBeLessThan(60000);
        // a budget smaller than the stream: BUDGET_EXCEEDED naming it
        await expectCode(
            SemanticGaussianSplattingMesh.LoadAsync({ data: await gzipBytes(raw), fileName: "small.spz" }, scene, { budgets: { maxDecompressedBytes: 20 } }),
            "BUDGET_EXCEEDED",
            /small\.spz: .*maxDecompressedBytes budget of 20 bytes/
        );
        await expectCode(SemanticGaussianSplattingMesh.LoadAsync({ data: await gzipBytes(raw), fileName: "few.spz" }, scene, { budgets: { maxGaussians: 3 } }), "BUDGET_EXCEEDED", /declares 4 Gaussians: more than the maxGaussians budget of 3 Gaussians/);
        expect(scene.meshes.length).toBe(0);
    });

    describe("SOG", () => {
        let files: Map<string, Uint8Array>;
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        let meta: Record<string, any>;
        beforeAll(async () => {
            const metaBytes = await fetchBytes(PLAYBOT + "meta.json");
            meta = JSON.parse(new TextDecoder().decode(metaBytes));
            files = new Map([["meta.json", metaBytes]]);
            for (const key of ["means", "scales", "quats", "sh0", "shN"]) {
                for (const name of (meta[key]?.files as string[]) ?? []) files.set(name, await fetchBytes(PLAYBOT + name));
            }
        });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const withMeta = (edit: (m: Record<string, any>) => void, text?: (json: string) => string) => {
            const copy = JSON.parse(JSON.stringify(meta));
            edit(copy);
            const json = text ? text(JSON.stringify(copy)) : JSON.stringify(copy);
            return zipStored(new Map([...files, ["meta.json", new TextEncoder().encode(json)]]));
        };

        it("non-finite bounds, an empty codebook, a lying count and a PNG instead of webp are refused, typed", async () => {
            const cases: [string, Uint8Array, RegExp][] = [
                ["inf-mins.sog", withMeta(() => {}, (j) => j.replace(/"mins":\[[^\],]+/, '"mins":[1e999')), /"means\.mins"\[0\] is null, not a finite number|"means\.mins"\[0\] is Infinity|not a finite number/],
                ["empty-codebook.sog", withMeta((m) => (m.scales.codebook = [])), /"scales\.codebook" has 0 entries, expected 256/],
                ["count.sog", withMeta((m) => (m.count = 50_000_000)), /declares 50000000 Gaussians: more than the maxGaussians budget|too small for 50000000 Gaussians/],
                ["big-count.sog", withMeta((m) => (m.count = 600_000)), /too small for 600000 Gaussians/],
            ];
            const png = new Map(files);
            png.set((meta.scales.files as string[])[0], new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(64)]));
            cases.push(["png.sog", zipStored(png), /is not a webp image \(it is a PNG\)/]);
            for (const [name, bytes, message] of cases) {
                let caught: unknown;
                try {
                    await SemanticGaussianSplattingMesh.LoadAsync({ data: bytes, fileName: name }, scene, name === "count.sog" ? { budgets: { maxGaussians: 1_000_000 } } : {});
                } catch (e) {
                    caught = e;
                }
                expect(isSemanticError(caught)).withContext(`${name}: ${String(caught)}`).toBeTrue();
                expect(String((caught as Error).message)).withContext(name).toMatch(message);
            }
            expect(scene.meshes.length).toBe(0);
        });

        it("a meta.json loaded by URL gets its images checked too: a PNG where a webp belongs is refused before Babylon decodes it", async () => {
            const realFetch = globalThis.fetch;
            const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(64)]);
            globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) =>
                String(input).endsWith("/scales.webp") ? new Response(png) : realFetch(input, init);
            try {
                await expectCode(SemanticGaussianSplattingMesh.LoadAsync(PLAYBOT + "meta.json", scene), "MALFORMED_FILE", /meta\.json: SOG image "scales\.webp" is not a webp image \(it is a PNG\)/);
                await expectCode(
                    SemanticGaussianSplattingMesh.LoadAsync(PLAYBOT + "meta.json", scene, { budgets: { maxFileBytes: 100_000 } }),
                    "BUDGET_EXCEEDED",
                    /meta\.json: SOG image "[a-z_]+\.webp" named by meta\.json could not be read: .*maxFileBytes budget/
                );
            } finally {
                globalThis.fetch = realFetch;
            }
            expect(scene.meshes.length).toBe(0);
        });

        it("an unreferenced entry is never inflated, and declared sizes past the budget are refused before inflating", async () => {
            // an entry meta.json does not name, declaring 1 GiB (its data is junk: inflating it would fail)
            const archive = zipStored(new Map([...files, ["junk.bin", new Uint8Array(16)]]));
            const view = new DataView(archive.buffer);
            // patch the central directory entry of junk.bin: method deflate, uncompressed 1 GiB
            const junkName = new TextEncoder().encode("junk.bin");
            for (let p = archive.length - 22; p > 0; p--) {
                if (view.getUint32(p, true) === 0x02014b50 && archive.subarray(p + 46, p + 46 + junkName.length).every((b, i) => b === junkName[i])) {
                    view.setUint16(p + 10, 8, true);
                    view.setUint32(p + 24, 1024 ** 3, true);
                }
            }
            const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: archive, fileName: "extra.sog" }, scene);
            expect(mesh.gaussianCount).toBe(500000);
            mesh.dispose();
            await expectCode(
                SemanticGaussianSplattingMesh.LoadAsync({ data: zipStored(files), fileName: "budget.sog" }, scene, { budgets: { maxDecompressedBytes: 1_000_000 } }),
                "BUDGET_EXCEEDED",
                /budget\.sog: the SOG entries meta.json names declare \d+ bytes: more than the maxDecompressedBytes budget/
            );
        });
    });

    it("reloading into an existing mesh gives the scaling a fresh load gives (Babylon's loader flips y on every load)", async () => {
        const ply = { data: makeGaussianPly({ count: 10 }).bytes, fileName: "a.ply" };
        const fresh = await SemanticGaussianSplattingMesh.LoadAsync(ply, scene);
        const expected = fresh.scaling.asArray();
        fresh.dispose();
        const splatFresh = await SemanticGaussianSplattingMesh.LoadAsync({ data: splatRows(4), fileName: "a.splat" }, scene);
        const expectedSplat = splatFresh.scaling.asArray();
        splatFresh.dispose();
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync(ply, scene);
        for (let i = 0; i < 3; i++) {
            await mesh.loadAsync(ply);
            expect(mesh.scaling.asArray()).withContext(`PLY reload ${i}`).toEqual(expected);
            await mesh.loadAsync({ data: splatRows(4), fileName: "a.splat" });
            expect(mesh.scaling.asArray()).withContext(`.splat reload ${i}`).toEqual(expectedSplat);
        }
        mesh.dispose();
    });

    it("a failed load into an existing mesh leaves it exactly as it was, and it renders without WebGPU errors", async () => {
        const fixture = makeGaussianPly({ count: 30, featureDimension: 4, labelType: "uchar" });
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: fixture.bytes, fileName: "good.ply" }, scene);
        await stepFrames(scene, 2);
        const state = () => ({
            count: mesh.gaussianCount,
            splats: Array.from(new Uint8Array(mesh.splatsData!)),
            features: Array.from(mesh.featureValues as Float32Array),
            labels: Array.from(mesh.labels!),
            name: mesh.sourceFileName,
            scaling: mesh.scaling.asArray(),
            textureSize: mesh.splatTextureSize,
        });
        const before = state();
        const texture = mesh.featureTexture;
        // refused by the checks (the mesh is never touched) ...
        await expectCode(mesh.loadAsync({ data: splatRows(4, (v) => v.setFloat32(0, NaN, true)), fileName: "nan.splat" }), "INVALID_GAUSSIANS", /nan\.splat/);
        // ... and a damaged SPZ v4 that passes the container checks, which the spz module decodes to nothing after
        // Babylon's loader has started on the mesh
        const v4 = await fetchBytes(FIXTURES + "minimal-v4.spz");
        v4.fill(0x00, 118, 140); // inside the positions stream's zstd frame, after its magic
        let caught: unknown;
        try {
            await mesh.loadAsync({ data: v4, fileName: "broken-v4.spz" }, { spzLibraryUrl: SPZ_MODULE });
        } catch (e) {
            caught = e;
        }
        expect(isSemanticError(caught)).withContext(String(caught)).toBeTrue();
        expect(state()).toEqual(before);
        expect(mesh.featureTexture).toBe(texture);
        await stepFrames(scene, 3);
        expectNoWebGPUErrors(t);
        // a later good load with fewer Gaussians still works
        await mesh.loadAsync(FIXTURES + "minimal.splat");
        expect(mesh.gaussianCount).toBe(4);
        await stepFrames(scene, 3);
        expectNoWebGPUErrors(t);
        mesh.dispose();
    });
});
