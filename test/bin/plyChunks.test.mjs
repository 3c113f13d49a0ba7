// Chunked PLY reading (src/formats/plyChunks.ts, used by `bin/encode.mjs --sidecar`): Babylon's rows of every chunk,
// put together, equal Babylon's rows of the whole file read by readSceneFile (also with dropped Gaussians and a
// property type Babylon misreads, which is transcoded per chunk); errors name the file's Gaussian index, not the
// chunk's; a layout the chunks do not cover (ascii) is left to the whole-file reader. The command encodes a scene
// through the chunks to the sidecar the whole-file path gives, its chunk reader (bin/plyRows.mjs) converting chunks in
// worker threads. Run by scripts/test-all.sh after the library build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gaussianPly, gaussianPlyAs } from "./plyFiles.mjs";
import { readPlyRowsInChunks } from "../../bin/plyRows.mjs";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const { SPLATFileLoader } = await import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");
const MODEL = join(root, "test/fixtures/encoder/tiny-encoder.onnx");
const dir = mkdtempSync(join(tmpdir(), "ply-chunks-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

const sourceOf = (bytes) => ({ size: bytes.length, read: (position, into) => into.set(bytes.subarray(position, position + into.length)) });
const own = (view) => view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);

async function wholeRows(bytes, options = {}) {
    const scene = await lib.readSceneFile(new Uint8Array(bytes), "scene.ply", options);
    return { rows: new Uint8Array((await SPLATFileLoader._ConvertPLYToSplat(own(scene.loaderBytes))).data), dropped: scene.dropped };
}

async function chunkedRows(bytes, rowsPerChunk, options = {}) {
    const opened = await lib.openPlySceneChunks(sourceOf(bytes), "scene.ply", options, rowsPerChunk);
    assert.ok(opened, "a binary little-endian PLY is read in chunks");
    const parts = [];
    let dropped = 0, chunks = 0;
    for await (const chunk of opened.chunks()) {
        chunks++;
        dropped += chunk.dropped;
        if (chunk.count > 0) parts.push(new Uint8Array((await SPLATFileLoader._ConvertPLYToSplat(own(chunk.babylonBytes))).data));
    }
    const rows = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (rows.set(p, at), at + p.length), 0);
    return { rows, dropped, chunks };
}

test("the chunks' Babylon rows equal the whole file's, also with dropped Gaussians and a transcoded ushort property", async () => {
    const plain = gaussianPly(1000);
    const a = await wholeRows(plain), b = await chunkedRows(plain, 128);
    assert.equal(b.chunks, 8);
    assert.equal(b.rows.length, 1000 * 32);
    assert.deepEqual(b.rows, a.rows);

    // NaNs in chunks 0 and 3, a whole chunk (rows 256..383) invalid
    const bad = gaussianPly(1000, { tweak: (i, row) => { if (i === 5 || i === 400 || (i >= 256 && i < 384)) row[0] = NaN; } });
    const c = await wholeRows(bad, { invalidGaussians: "drop" }), d = await chunkedRows(bad, 128, { invalidGaussians: "drop" });
    assert.equal(d.dropped, 130);
    assert.equal(c.dropped, 130);
    assert.deepEqual(d.rows, c.rows);

    const ushort = gaussianPlyAs(700, { types: { x: "ushort" } }); // Babylon alone would read it as fp16: transcoded
    assert.deepEqual((await chunkedRows(ushort, 100)).rows, (await wholeRows(ushort)).rows);
});

test("a ushort or short property Babylon never uses (sem_instance) is not transcoded: Babylon gets the file's own bytes and the same rows", async () => {
    const plain = gaussianPly(700);
    const start = plain.indexOf("end_header\n");
    const floats = new Float32Array(plain.buffer.slice(plain.byteOffset + start + 11, plain.byteOffset + plain.length));
    const header = plain.subarray(0, start).toString("latin1") + "property ushort sem_instance\nproperty short extra_short\nend_header\n";
    const body = new DataView(new ArrayBuffer(700 * (14 * 4 + 4)));
    for (let i = 0, o = 0; i < 700; i++) {
        for (let c = 0; c < 14; c++, o += 4) body.setFloat32(o, floats[i * 14 + c], true);
        body.setUint16(o, 60000 - i, true); // large values: fp16 NaN / infinity patterns if they were ever decoded
        body.setInt16(o + 2, -i, true);
        o += 4;
    }
    const file = Buffer.concat([Buffer.from(header, "latin1"), new Uint8Array(body.buffer)]);
    const opened = await lib.openPlySceneChunks(sourceOf(file), "extra.ply", {}, 350);
    for await (const chunk of opened.chunks()) {
        const text = Buffer.from(chunk.babylonBytes.subarray(0, 1000)).toString("latin1");
        assert.match(text, /property ushort sem_instance\nproperty short extra_short\n/, "the chunk's own bytes go to Babylon, not a transcoded copy");
        assert.equal(chunk.babylonBytes.length, text.indexOf("end_header\n") + 11 + 350 * 60);
    }
    assert.deepEqual((await wholeRows(file)).rows, (await wholeRows(plain)).rows);
    assert.deepEqual((await chunkedRows(file, 100)).rows, (await wholeRows(plain)).rows);
});

test("errors name the file's Gaussian index; every Gaussian dropped is refused; ascii is left to the whole-file reader", async () => {
    const bad = gaussianPly(600, { tweak: (i, row) => { if (i === 333) row[1] = Infinity; } });
    await assert.rejects(chunkedRows(bad, 100), (e) => e.code === "INVALID_GAUSSIANS" && /Gaussian 333 is invalid: position y is Infinity/.test(e.message));
    const allBad = gaussianPly(300, { tweak: (i, row) => { row[2] = NaN; } });
    await assert.rejects(chunkedRows(allBad, 100, { invalidGaussians: "drop" }), (e) => e.code === "INVALID_GAUSSIANS" && /every one of the 300 Gaussians/.test(e.message));
    const truncated = gaussianPly(300).subarray(0, 5000);
    await assert.rejects(lib.openPlySceneChunks(sourceOf(truncated), "t.ply", {}, 100), (e) => e.code === "MALFORMED_FILE" && /truncated vertex data/.test(e.message));
    await assert.rejects(lib.openPlySceneChunks(sourceOf(gaussianPly(300)), "b.ply", { budgets: { maxGaussians: 299 } }), (e) => e.code === "BUDGET_EXCEEDED");
    assert.equal(await lib.openPlySceneChunks(sourceOf(gaussianPlyAs(50, { encoding: "ascii" })), "a.ply"), null);
});

test("the command's chunk reader gives the whole file's rows with its conversions in worker threads, in this thread, and with dropped Gaussians", async () => {
    // 40 chunks of 50 rows, converted by worker threads that finish in any order: every chunk's rows land at its
    // own place; the same with the conversions in this thread (threads 1) and with whole chunks dropped
    const bytes = gaussianPly(2000, { tweak: (i, row) => { if (i === 7 || (i >= 300 && i < 350) || i === 1999) row[0] = NaN; } });
    const scene = join(dir, "pooled.ply");
    writeFileSync(scene, bytes);
    const options = { invalidGaussians: "drop" };
    const whole = await wholeRows(bytes, options);
    for (const threads of [1, 2, 3]) {
        const read = await readPlyRowsInChunks(scene, options, lib, SPLATFileLoader, { threads, rowsPerChunk: 50 });
        assert.equal(read.count, 2000 - 52, `threads ${threads}`);
        assert.equal(read.dropped, 52);
        assert.equal(read.flipY, -1);
        assert.deepEqual(new Uint8Array(read.rows), whole.rows, `threads ${threads}`);
    }
    assert.equal(await readPlyRowsInChunks(MODEL, {}, lib, SPLATFileLoader, { threads: 2 }), null, "not a PLY: left to the whole-file reader");
});

test("a chunk the checks refuse stops the pooled reading with the file's message (its worker threads are stopped, or this file would not end)", async () => {
    const scene = join(dir, "refused.ply");
    writeFileSync(scene, gaussianPly(1000, { tweak: (i, row) => { if (i === 777) row[1] = Infinity; } }));
    await assert.rejects(
        readPlyRowsInChunks(scene, {}, lib, SPLATFileLoader, { threads: 2, rowsPerChunk: 100 }),
        (e) => e.code === "INVALID_GAUSSIANS" && /777/.test(e.message)
    );
});

test("the command's sidecar from the chunked reading equals the whole-file reading's (--out .semf vs a PLY written whole)", () => {
    const scene = join(dir, "scene.ply");
    writeFileSync(scene, gaussianPly(3000, { tweak: (i, row) => { if (i === 10) row[0] = NaN; } }));
    const run = (...args) => spawnSync(process.execPath, [join(root, "bin/encode.mjs"), scene, "--model", MODEL, "--quiet", "--invalid-gaussians", "drop", ...args], { encoding: "utf8" });
    const chunked = run("--sidecar", "--out", join(dir, "chunked.semf"));
    assert.equal(chunked.status, 0, chunked.stderr);
    assert.match(chunked.stderr, /dropped 1 invalid Gaussians/);
    const whole = run("--out", join(dir, "whole.ply")); // a PLY output reads the file whole
    assert.equal(whole.status, 0, whole.stderr);
    const sidecar = lib.decodeFeatureSidecar(readFileSync(join(dir, "chunked.semf")), "chunked.semf");
    const ply = lib.readSemanticAttributes(readFileSync(join(dir, "whole.ply")), "whole.ply");
    assert.equal(sidecar.count, 2999);
    assert.equal(ply.features.length, sidecar.halfFeatures.length);
    const half = lib.halfArrayToFloat32(sidecar.halfFeatures);
    let worst = 0;
    for (let i = 0; i < half.length; i++) worst = Math.max(worst, Math.abs(half[i] - ply.features[i]));
    assert.ok(worst <= 1e-3, `chunked sidecar vs whole-file PLY: max abs difference ${worst} (fp16 rounding only)`);
});
