// The encode command reads every PLY encoding the browser reads, with the same decoded values (ascii, big-endian,
// CRLF headers, short/ushort properties: the same features as the plain binary file), .spz v2/v3 through
// Babylon's own SPZ parser, and refuses hostile files with typed errors, quickly: lying ascii counts, budgets,
// invalid labels. Run by scripts/test-all.sh after the library build: node --test test/bin/readScene.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gaussianPly, gaussianPlyAs } from "./plyFiles.mjs";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const MODEL = join(root, "test/fixtures/encoder/tiny-encoder.onnx");
const FIXTURES = join(root, "../shared/assets/splats/fixtures");
const dir = mkdtempSync(join(tmpdir(), "read-scene-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

function encode(args) {
    const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), ...args, "--quiet"], { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
}

function sidecarOf(path) {
    return lib.decodeFeatureSidecar(readFileSync(`${path}.semf`), path);
}

test("ascii, big-endian and CRLF-header PLY encode to exactly the features of the binary little-endian file", () => {
    const count = 300;
    const reference = join(dir, "ref.ply");
    writeFileSync(reference, gaussianPly(count));
    assert.equal(encode([reference, "--model", MODEL, "--sidecar"]).status, 0);
    const expected = Array.from(sidecarOf(reference).halfFeatures);
    const variants = {
        "ascii.ply": gaussianPlyAs(count, { encoding: "ascii" }),
        "be.ply": gaussianPlyAs(count, { encoding: "binary_big_endian" }),
        "crlf.ply": gaussianPlyAs(count, { crlf: true }),
        "ascii-crlf.ply": gaussianPlyAs(count, { encoding: "ascii", crlf: true }),
        "double.ply": gaussianPlyAs(count, { types: { x: "double", y: "double", z: "double" } }),
    };
    for (const [name, bytes] of Object.entries(variants)) {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        const r = encode([path, "--model", MODEL, "--sidecar"]);
        assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        assert.deepEqual(Array.from(sidecarOf(path).halfFeatures), expected, `${name} decodes differently`);
    }
});

test("short and ushort positions are decoded as integers (Babylon alone reads ushort as fp16 and skips short)", async () => {
    // Integer grid positions: the same scene as float and as short/ushort must give the same features.
    const count = 200;
    const tweak = (i, row) => {
        row[0] = i % 10;
        row[1] = Math.floor(i / 100);
        row[2] = Math.floor(i / 10) % 10;
    };
    const asFloat = join(dir, "grid-float.ply");
    writeFileSync(asFloat, gaussianPly(count, { tweak }));
    assert.equal(encode([asFloat, "--model", MODEL, "--sidecar", "--metres-per-unit", "0.01"]).status, 0);
    const expected = Array.from(sidecarOf(asFloat).halfFeatures);
    for (const type of ["short", "ushort", "int", "uint", "char", "uchar"]) {
        const path = join(dir, `grid-${type}.ply`);
        writeFileSync(path, gaussianPlyAs(count, { tweak, types: { x: type, y: type, z: type } }));
        const r = encode([path, "--model", MODEL, "--sidecar", "--metres-per-unit", "0.01"]);
        assert.equal(r.status, 0, `${type}: ${r.stderr}`);
        assert.deepEqual(Array.from(sidecarOf(path).halfFeatures), expected, `${type} positions decode differently`);
        // and the checked reader hands Babylon a file whose decoded rows equal the float file's
        const content = await lib.readSceneFile(new Uint8Array(readFileSync(path)), path);
        assert.equal(content.count, count);
    }
});

test("SPZ v2, v3 and raw fixtures encode through Babylon's SPZ parser (same count)", () => {
    for (const name of ["minimal-v2.spz", "minimal-v3.spz", "minimal-raw.spz"]) {
        const source = join(FIXTURES, name);
        const path = join(dir, name);
        writeFileSync(path, readFileSync(source));
        const r = encode([path, "--model", MODEL]);
        assert.equal(r.status, 0, `${name}: ${r.stderr}`);
        assert.equal(sidecarOf(path).count, 4);
    }
});

test("a 397-byte ascii PLY claiming 4294967295 rows is refused at once, typed, naming the file", () => {
    const header = "ply\nformat ascii 1.0\nelement vertex 4294967295\n" +
        ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"].map((p) => `property float ${p}\n`).join("") +
        "end_header\n";
    const path = join(dir, "liar.ply");
    writeFileSync(path, header + "0 ".repeat(Math.max(0, (397 - header.length) >> 1)));
    const started = performance.now();
    const r = encode([path, "--model", MODEL]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /MALFORMED_FILE: .*liar\.ply: truncated ascii data: the header declares 4294967295 vertices/);
    assert.ok(performance.now() - started < 20000);
    // empty rows of a property-less element before the vertices are refused too (no 4-billion-step walk)
    const empty = join(dir, "empty-rows.ply");
    writeFileSync(empty, "ply\nformat ascii 1.0\nelement junk 4294967295\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 0 0\n");
    const e = encode([empty, "--model", MODEL]);
    assert.equal(e.status, 1);
    assert.match(e.stderr, /MALFORMED_FILE: .*empty-rows\.ply: element 'junk' declares 4294967295 rows but has no properties/);
});

test("budget flags: --max-gaussians, --max-file-bytes and --max-model-bytes refuse with BUDGET_EXCEEDED", () => {
    const path = join(dir, "budget.ply");
    writeFileSync(path, gaussianPly(100));
    const many = encode([path, "--model", MODEL, "--max-gaussians", "99"]);
    assert.equal(many.status, 1);
    assert.match(many.stderr, /BUDGET_EXCEEDED: .*budget\.ply: the PLY declares 100 Gaussians: more than the maxGaussians budget of 99 Gaussians/);
    const big = encode([path, "--model", MODEL, "--max-file-bytes", "1000"]);
    assert.equal(big.status, 1);
    assert.match(big.stderr, /BUDGET_EXCEEDED: .*budget\.ply/);
    const model = encode([path, "--model", MODEL, "--max-model-bytes", "1000"]);
    assert.equal(model.status, 1);
    assert.match(model.stderr, /BUDGET_EXCEEDED: .*tiny-encoder\.onnx/);
    assert.equal(encode([path, "--model", MODEL, "--max-gaussians", "abc"]).status, 2);
});

test("a gzip bomb inside .spz is refused within its declared size, and labels outside the class table by policy", async () => {
    // a valid v3 header declaring 1 Gaussian followed by 64 MiB of zeros
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, 0x5053474e, true);
    new DataView(header.buffer).setUint32(4, 3, true);
    new DataView(header.buffer).setUint32(8, 1, true);
    const zlib = await import("node:zlib");
    const bomb = zlib.gzipSync(Buffer.concat([header, Buffer.alloc(64 * 1024 * 1024)]), { level: 9 });
    const path = join(dir, "bomb.spz");
    writeFileSync(path, bomb);
    const r = encode([path, "--model", MODEL]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /MALFORMED_FILE: .*bomb\.spz: the SPZ stream holds more than the 36 bytes/);

    const labelled = Buffer.from(gaussianPly(3).toString("latin1").replace("property float rot_3\n", "property float rot_3\nproperty uchar sem_label\n"), "latin1");
    // append one label byte per row: rebuild the body with labels 0, 200, 255
    const start = labelled.indexOf("end_header\n") + 11;
    const rows = [];
    for (let i = 0; i < 3; i++) rows.push(labelled.subarray(start + i * 56, start + (i + 1) * 56), Buffer.from([[0, 200, 255][i]]));
    const labelPath = join(dir, "labels.ply");
    writeFileSync(labelPath, Buffer.concat([labelled.subarray(0, start), ...rows]));
    const refused = encode([labelPath, "--model", MODEL]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /INVALID_LABELS: .*labels\.ply: Gaussian 1 has sem_label 200, outside the class table's 21 classes/);
    const mapped = encode([labelPath, "--model", MODEL, "--invalid-labels", "none", "--sidecar"]);
    assert.equal(mapped.status, 0, mapped.stderr);
    assert.match(mapped.stderr, /mapped 1 labels outside the class table to none/);
    assert.equal(encode([labelPath, "--model", MODEL, "--class-count", "201", "--sidecar"]).status, 0);
});

test("SPZ v4 encodes through the @adobe/spz module like the browser; a damaged v4 file is MALFORMED_FILE; SOG is refused after its checks", () => {
    const path = join(dir, "minimal-v4.spz");
    writeFileSync(path, readFileSync(join(FIXTURES, "minimal-v4.spz")));
    const r = encode([path, "--model", MODEL]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sidecarOf(path).count, 4);
    // the v3 fixture holds the same four Gaussians: the same features
    const v3 = join(dir, "same-v3.spz");
    writeFileSync(v3, readFileSync(join(FIXTURES, "minimal-v3.spz")));
    assert.equal(encode([v3, "--model", MODEL]).status, 0);
    assert.deepEqual(Array.from(sidecarOf(path).halfFeatures), Array.from(sidecarOf(v3).halfFeatures));
    const broken = readFileSync(join(FIXTURES, "minimal-v4.spz"));
    broken.fill(0, 118, 140);
    const brokenPath = join(dir, "broken-v4.spz");
    writeFileSync(brokenPath, broken);
    const bad = encode([brokenPath, "--model", MODEL]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /MALFORMED_FILE: .*broken-v4\.spz: /);
});
