// The encode command (bin/encode.mjs, onnxruntime-node) end to end: it encodes small scenes with the tiny encoder
// fixture and the written PLY / sidecar read back with the right count and K; bad scenes end in a clear error
// (SemanticSplatError code, the file named) and exit status 1; usage errors exit 2.
// Run by scripts/test-all.sh after the library build: node --test test/bin/encode.test.mjs (needs dist/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGaussianPly } from "./plyFiles.mjs";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const { SPLATFileLoader } = await import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");
const MODEL = join(root, "test/fixtures/encoder/tiny-encoder.onnx");
const K = 16;
const dir = mkdtempSync(join(tmpdir(), "encode-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

function encode(args) {
    const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), ...args], { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function expectUnitRows(features, count, k) {
    for (let i = 0; i < count; i++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += features[i * k + c] ** 2;
        assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-3, `row ${i} has length ${Math.sqrt(s)}`);
    }
}

test("a PLY scene gets float32 f_sem_* beside its own properties: count and K read back, rows unit length", () => {
    const scene = writeGaussianPly(join(dir, "room.ply"), 500);
    const r = encode([scene, "--model", MODEL]);
    assert.equal(r.status, 0, r.stderr);
    const out = join(dir, "room.semantic.ply");
    assert.match(r.stderr, /wrote .*room\.semantic\.ply: 500 Gaussians x K=16/);
    assert.match(r.stderr, /100% done/); // the progress bar reached the end
    const written = readFileSync(out);
    const attributes = lib.readSemanticAttributes(written, out);
    assert.equal(attributes.count, 500);
    assert.equal(attributes.featureDim, K);
    assert.equal(attributes.featureType, "float32");
    expectUnitRows(attributes.features, 500, K);
    const names = lib.parsePlyHeader(written, out).elements[0].properties.map((p) => p.name);
    assert.deepEqual(names.slice(0, 3), ["x", "y", "z"]);
    assert.equal(names.filter((n) => n.startsWith("f_sem_")).length, K);
});

test("--sidecar writes <scene>.semf (fp16) with the same features", () => {
    const scene = writeGaussianPly(join(dir, "side.ply"), 300);
    const ply = encode([scene, "--model", MODEL, "--quiet", "--out", join(dir, "side.out.ply")]);
    assert.equal(ply.status, 0, ply.stderr);
    const r = encode([scene, "--model", MODEL, "--sidecar", "--quiet"]);
    assert.equal(r.status, 0, r.stderr);
    const sidecarPath = join(dir, "side.ply.semf");
    const sidecar = lib.decodeFeatureSidecar(readFileSync(sidecarPath), sidecarPath, { count: 300, featureDim: K });
    assert.equal(sidecar.count, 300);
    assert.equal(sidecar.featureDim, K);
    assert.equal(sidecar.encoderId, "rtgs2-gaussian-encoder");
    const fromPly = lib.readSemanticAttributes(readFileSync(join(dir, "side.out.ply")), "side.out.ply").features;
    const half = lib.halfArrayToFloat32(sidecar.halfFeatures);
    for (let i = 0; i < fromPly.length; i++) assert.ok(Math.abs(half[i] - fromPly[i]) < 1e-3, `value ${i}: ${half[i]} vs ${fromPly[i]}`);
});

test("a .splat scene (Babylon's 32-byte rows) gets a sidecar, equal to the same scene as PLY", async () => {
    const plyPath = writeGaussianPly(join(dir, "same.ply"), 400);
    const bytes = readFileSync(plyPath);
    const rows = await SPLATFileLoader._ConvertPLYToSplat(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const splatPath = join(dir, "same.splat");
    writeFileSync(splatPath, new Uint8Array(rows.data));
    assert.equal(encode([plyPath, "--model", MODEL, "--sidecar", "--quiet"]).status, 0);
    const r = encode([splatPath, "--model", MODEL, "--quiet"]);
    assert.equal(r.status, 0, r.stderr);
    const a = lib.decodeFeatureSidecar(readFileSync(plyPath + ".semf"), "ply");
    const b = lib.decodeFeatureSidecar(readFileSync(splatPath + ".semf"), "splat");
    assert.equal(b.count, 400);
    assert.deepEqual(Array.from(b.halfFeatures), Array.from(a.halfFeatures));
});

test("the golden parity scene still encodes to the committed features (the browser spec's expected output)", () => {
    const out = join(dir, "parity.ply");
    const r = encode([join(root, "test/golden/parity/scene.ply"), "--model", MODEL, "--out", out, "--quiet"]);
    assert.equal(r.status, 0, r.stderr);
    const features = lib.readSemanticAttributes(readFileSync(out), out).features;
    const expected = new Float32Array(readFileSync(join(root, "test/fixtures/encoder/parity-scene-features.f32")).buffer.slice(0));
    assert.equal(features.length, expected.length);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(features[i] - expected[i]));
    assert.ok(worst < 1e-5, `max abs difference ${worst}`);
});

test("a NaN position: INVALID_GAUSSIANS naming the file and the Gaussian, exit 1, nothing written; --invalid-gaussians drop encodes the rest", () => {
    const scene = writeGaussianPly(join(dir, "nan.ply"), 50, { tweak: (i, row) => { if (i === 7) row[1] = NaN; } });
    const r = encode([scene, "--model", MODEL, "--quiet"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /INVALID_GAUSSIANS: .*nan\.ply: Gaussian 7 is invalid: position y is NaN/);
    assert.equal(existsSync(join(dir, "nan.semantic.ply")), false);
    const dropped = encode([scene, "--model", MODEL, "--quiet", "--invalid-gaussians", "drop"]);
    assert.equal(dropped.status, 0, dropped.stderr);
    assert.match(dropped.stderr, /dropped 1 invalid Gaussians/);
    assert.equal(lib.readSemanticAttributes(readFileSync(join(dir, "nan.semantic.ply")), "nan").count, 49);
});

test("zero Gaussians: EMPTY_SCENE, exit 1", () => {
    const scene = writeGaussianPly(join(dir, "empty.ply"), 0);
    const r = encode([scene, "--model", MODEL, "--quiet"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /EMPTY_SCENE: .*empty\.ply: the PLY declares 0 vertices/);
});

test("an extent that overflows the 16-bit voxel codes: INVALID_ARGUMENT with the units hint; --metres-per-unit fixes it", () => {
    // 10 Gaussians 500 units apart: 4500 m = 90000 voxels of 5 cm on x
    const scene = writeGaussianPly(join(dir, "huge.ply"), 10, { spacing: 500 });
    const r = encode([scene, "--model", MODEL, "--quiet"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /INVALID_ARGUMENT: .*huge\.ply: the scene spans .* more than the 65536 that 16-bit codes hold \(check the scene's units/);
    const cm = encode([scene, "--model", MODEL, "--quiet", "--metres-per-unit", "0.01"]);
    assert.equal(cm.status, 0, cm.stderr);
});

test("usage and format errors: missing --model exits 2, a damaged .spz is MALFORMED_FILE, a bad model as MODEL_*", () => {
    const scene = writeGaussianPly(join(dir, "u.ply"), 20);
    const noModel = encode([scene]);
    assert.equal(noModel.status, 2);
    assert.match(noModel.stderr, /--model <encoder\.onnx> is required/);
    const spz = join(dir, "x.spz");
    writeFileSync(spz, Buffer.from([0x1f, 0x8b, 0, 0]));
    const r = encode([spz, "--model", MODEL]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /MALFORMED_FILE: .*x\.spz: the gzip stream of this SPZ file is damaged or truncated/);
    const notAModel = join(dir, "bad.onnx");
    writeFileSync(notAModel, "not a model");
    const bad = encode([scene, "--model", notAModel]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /MODEL_/);
    assert.match(bad.stderr, /bad\.onnx/);
});

test("the command runs itself again under glibc's malloc tunables; --system-malloc and your own GLIBC_TUNABLES / MALLOC_* keep glibc as it is", () => {
    const scene = writeGaussianPly(join(dir, "malloc.ply"), 200);
    const run = (extra, env = {}) => {
        const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), scene, "--model", MODEL, "--sidecar", "--quiet", "--out", join(dir, "malloc.semf"), ...extra], {
            encoding: "utf8",
            env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "GLIBC_TUNABLES" && !name.startsWith("MALLOC_"))), ...env },
        });
        assert.equal(r.status, 0, r.stderr);
        return r.stderr.match(/^memory: peak RSS [\d.]+ GB; malloc: (.*)$/m)?.[1];
    };
    const glibc = process.platform === "linux" && Boolean(process.report.getReport().header.glibcVersionRuntime);
    const tuned = run([]);
    if (glibc) {
        // printed from the encoding process's own environment: it ran under the tunables
        assert.match(tuned, /^GLIBC_TUNABLES=glibc\.malloc\.\S*mmap_threshold=\d+\S*arena_max=2/, tuned);
    } else {
        assert.equal(tuned, "the system's (not glibc)");
    }
    assert.equal(run(["--system-malloc"]), "glibc defaults (--system-malloc)");
    assert.equal(run([], { MALLOC_ARENA_MAX: "4" }), "yours (MALLOC_ARENA_MAX=4)");
    assert.equal(run([], { GLIBC_TUNABLES: "glibc.malloc.arena_max=3" }), "yours (GLIBC_TUNABLES=glibc.malloc.arena_max=3)");
    // the re-run's exit status and message come through once
    const missing = encode([join(dir, "missing.ply"), "--model", MODEL]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr.match(/cannot read the scene file/g)?.length, 1, missing.stderr);
});

test("a sidecar and a cache entry as header + body (the fp16 features' own bytes, no copy) equal the one-buffer encodings", () => {
    const count = 300, k = K;
    const features = new Uint16Array(count * k);
    for (let i = 0; i < features.length; i++) features[i] = 0x3c00 ^ ((i * 2654435761) >>> 22); // finite halves
    const frame = lib.noneFrame();
    const input = { features, count, featureDim: k, encoderId: "test-encoder", sceneFrame: frame };
    const joined = ({ header, body }) => Buffer.concat([header, body]);
    const parts = lib.encodeFeatureSidecarParts(input, "x.semf");
    assert.equal(parts.body.buffer, features.buffer, "the body is the features' own bytes");
    assert.deepEqual(joined(parts), Buffer.from(lib.encodeFeatureSidecar(input, "x.semf")));
    const asFloat = { ...input, features: lib.halfArrayToFloat32(features) };
    assert.deepEqual(joined(lib.encodeFeatureSidecarParts(asFloat, "x.semf")), Buffer.from(lib.encodeFeatureSidecar(input, "x.semf")));
    const key = "ab".repeat(32);
    assert.deepEqual(joined(lib.encodeSemcacheParts(key, input, "x.semcache")), Buffer.from(lib.encodeSemcache(key, input, "x.semcache")));
    const bad = features.slice();
    bad[17] = 0x7c00; // +Inf
    assert.throws(() => lib.encodeFeatureSidecarParts({ ...input, features: bad }, "x.semf"), (e) => e.code === "INVALID_FEATURES" && /Gaussian 1 channel 1/.test(e.message));
});
