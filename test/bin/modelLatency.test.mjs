// The pure logic of `npm run bench:models` (scripts/model-latency-options.mjs): argument parsing, which model files
// a manifest yields (and its refusals), and the synthetic VDVI input frame. No timing is asserted here: the figures
// come from the benchmark itself (BENCHMARKS.md, "VDVI model latency").
// Run by scripts/test-all.sh: node --test test/bin/modelLatency.test.mjs (needs no build).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError, median, parseArgs, parseSizes, selectModels, syntheticFrame } from "../../scripts/model-latency-options.mjs";

const dir = mkdtempSync(join(tmpdir(), "model-latency-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** Writes `files` ({ name: bytes }) into dir/sub and a manifest listing `entries` (sha256, bytes filled in unless given). */
function writeManifest(sub, files, entries) {
    const folder = join(dir, sub);
    mkdirSync(folder, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(folder, name), bytes);
    const models = entries.map((e) => {
        const bytes = files[e.file];
        return {
            sha256: bytes ? createHash("sha256").update(bytes).digest("hex") : "0".repeat(64),
            bytes: bytes ? bytes.length : 1,
            ...e,
        };
    });
    writeFileSync(join(folder, "manifest.json"), JSON.stringify({ format: "semantic-splat-models/1", models }));
    return join(folder, "manifest.json");
}

test("parseArgs: defaults are the issue's sizes, 10 runs after 2 warm-ups, the manifest, with the encoder", () => {
    const o = parseArgs([]);
    assert.deepEqual(o.sizes, [{ width: 320, height: 256 }, { width: 640, height: 480 }]);
    assert.equal(o.runs, 10);
    assert.equal(o.warmup, 2);
    assert.equal(o.manifest, "models/manifest.json");
    assert.deepEqual(o.models, []);
    assert.equal(o.encoder, true);
    assert.equal(o.nodeThreads, null);
    assert.equal(o.browserThreads, null);
});

test("parseArgs: repeated --model, sizes, threads, --only, --no-encoder", () => {
    const o = parseArgs(["--model", "a.onnx", "--model", "b.onnx", "--runs", "5", "--warmup", "0", "--sizes", "64x32", "--node-threads", "1", "--browser-threads", "2", "--only", "node", "--no-encoder"]);
    assert.deepEqual(o.models, ["a.onnx", "b.onnx"]);
    assert.equal(o.runs, 5);
    assert.equal(o.warmup, 0);
    assert.deepEqual(o.sizes, [{ width: 64, height: 32 }]);
    assert.equal(o.nodeThreads, 1);
    assert.equal(o.browserThreads, 2);
    assert.equal(o.only, "node");
    assert.equal(o.encoder, false);
});

test("parseArgs / parseSizes refuse what they cannot use, naming it", () => {
    const refuses = (argv, pattern) => assert.throws(() => parseArgs(argv), (e) => e instanceof UsageError && pattern.test(e.message));
    refuses(["--runs", "0"], /--runs must be a positive integer, got "0"/);
    refuses(["--runs", "2.5"], /--runs/);
    refuses(["--warmup", "-1"], /--warmup/);
    refuses(["--model"], /--model needs a value/);
    refuses(["--model", "--runs"], /--model needs a value/);
    refuses(["--only", "gpu"], /--only must be node or browser/);
    refuses(["--frobnicate"], /unknown argument "--frobnicate"/);
    refuses(["--sizes", "640x470"], /multiples of 32/);
    refuses(["--sizes", "640*480"], /not WIDTHxHEIGHT/);
    assert.deepEqual(parseSizes("32x32, 96x64"), [{ width: 32, height: 32 }, { width: 96, height: 64 }]);
});

test("selectModels (manifest): every vdvi entry, fp32 before fp16, then the vdvi-rgb fallback, then the fp32 encoder; checked against the manifest", () => {
    const files = { "v16.onnx": Buffer.from("fp16 model"), "v32.onnx": Buffer.from("fp32 model"), "e16.onnx": Buffer.from("enc16"), "e32.onnx": Buffer.from("enc32"), "rgb.onnx": Buffer.from("fallback") };
    const manifest = writeManifest("ok", files, [
        { file: "rgb.onnx", kind: "vdvi-rgb", precision: "fp32" },
        { file: "e16.onnx", kind: "encoder", precision: "fp16" },
        { file: "v16.onnx", kind: "vdvi", precision: "fp16" },
        { file: "e32.onnx", kind: "encoder", precision: "fp32" },
        { file: "v32.onnx", kind: "vdvi" }, // no precision: fp32 (docs/MODELS.md: optional)
    ]);
    const noHeader = () => assert.fail("the manifest path must not read model headers");
    const chosen = selectModels(parseArgs(["--manifest", manifest]), noHeader, dir);
    assert.deepEqual(chosen.map((m) => [m.path.slice(dir.length + 1), m.kind, m.precision]), [
        ["ok/v32.onnx", "vdvi", "fp32"],
        ["ok/v16.onnx", "vdvi", "fp16"],
        ["ok/rgb.onnx", "vdvi-rgb", "fp32"],
        ["ok/e32.onnx", "encoder", "fp32"],
    ]);
    const noEncoder = selectModels(parseArgs(["--manifest", manifest, "--no-encoder"]), noHeader, dir);
    assert.deepEqual(noEncoder.map((m) => m.kind), ["vdvi", "vdvi", "vdvi-rgb"]);
});

test("selectModels (manifest): no vdvi entry, a missing file, a wrong digest or size are usage errors", () => {
    const enc = { "e.onnx": Buffer.from("enc") };
    const onlyEncoder = writeManifest("enc", enc, [{ file: "e.onnx", kind: "encoder" }]);
    assert.throws(() => selectModels(parseArgs(["--manifest", onlyEncoder]), () => ({}), dir), /lists no vdvi model \(kinds: encoder\); pass --model/);

    const missing = writeManifest("missing", {}, [{ file: "gone.onnx", kind: "vdvi" }]);
    assert.throws(() => selectModels(parseArgs(["--manifest", missing]), () => ({}), dir), /lists gone\.onnx, which is not in/);

    const bytes = { "v.onnx": Buffer.from("vdvi bytes") };
    const badDigest = writeManifest("digest", bytes, [{ file: "v.onnx", kind: "vdvi", sha256: "f".repeat(64) }]);
    assert.throws(() => selectModels(parseArgs(["--manifest", badDigest]), () => ({}), dir), /v\.onnx: SHA-256 [0-9a-f]{64} differs from the manifest's f{64}/);

    const badSize = writeManifest("size", bytes, [{ file: "v.onnx", kind: "vdvi", bytes: 3 }]);
    assert.throws(() => selectModels(parseArgs(["--manifest", badSize]), () => ({}), dir), /v\.onnx has 10 bytes, the manifest says 3/);

    writeFileSync(join(dir, "notamanifest.json"), JSON.stringify({ models: [] }));
    assert.throws(() => selectModels(parseArgs(["--manifest", "notamanifest.json"]), () => ({}), dir), /not a semantic-splat-models\/1 manifest/);
    assert.throws(() => selectModels(parseArgs(["--manifest", "nowhere.json"]), () => ({}), dir), /no such manifest/);
});

test("selectModels (--model): kind and precision from the model's metadata; other kinds and missing files refused", () => {
    writeFileSync(join(dir, "a.onnx"), "a");
    writeFileSync(join(dir, "b.onnx"), "b");
    writeFileSync(join(dir, "c.onnx"), "c");
    writeFileSync(join(dir, "d.onnx"), "d");
    const metadata = { "a.onnx": { kind: "vdvi", precision: "fp16" }, "b.onnx": { kind: "encoder" }, "c.onnx": { kind: "detector" }, "d.onnx": { kind: "vdvi-rgb" } };
    const header = (path) => metadata[path.slice(dir.length + 1)];
    const chosen = selectModels(parseArgs(["--model", "a.onnx", "--model", join(dir, "b.onnx"), "--model", "d.onnx"]), header, dir);
    assert.deepEqual(chosen.map((m) => [m.path, m.kind, m.precision]), [[join(dir, "a.onnx"), "vdvi", "fp16"], [join(dir, "b.onnx"), "encoder", "fp32"], [join(dir, "d.onnx"), "vdvi-rgb", "fp32"]]);
    assert.throws(() => selectModels(parseArgs(["--model", "c.onnx"]), header, dir), /metadata kind is "detector", not vdvi, vdvi-rgb or encoder/);
    assert.throws(() => selectModels(parseArgs(["--model", "zzz.onnx"]), header, dir), /--model zzz\.onnx: no such file/);
});

test("syntheticFrame: planar [3,H,W] / [K,H,W], deterministic, non-constant, empty background, unit-length features", () => {
    const width = 64;
    const height = 32;
    const k = 16;
    const { rgb, features } = syntheticFrame(width, height, k);
    assert.equal(rgb.length, 3 * width * height);
    assert.equal(features.length, k * width * height);
    const again = syntheticFrame(width, height, k);
    assert.deepEqual(again.rgb, rgb);
    assert.deepEqual(again.features, features);
    assert.notDeepEqual(syntheticFrame(width, height, k, 2).rgb, rgb);

    const pixels = width * height;
    // the bottom-right corner is background: rgb 0 and features 0
    const corner = pixels - 1;
    for (let c = 0; c < 3; c++) assert.equal(rgb[c * pixels + corner], 0);
    for (let c = 0; c < k; c++) assert.equal(features[c * pixels + corner], 0);
    // the top-left pixel is covered: rgb in [0,1], a feature vector of length ~1 (splatted unit features)
    let norm = 0;
    for (let c = 0; c < k; c++) norm += features[c * pixels] ** 2;
    assert.ok(Math.abs(Math.sqrt(norm) - 1) < 0.05, `feature length ${Math.sqrt(norm)}`);
    assert.ok(rgb.every((v) => v >= 0 && v <= 1));
    // non-constant: many distinct values in every channel
    assert.ok(new Set(rgb.subarray(0, pixels)).size > pixels / 2);
    assert.ok(new Set(features.subarray(5 * pixels, 6 * pixels)).size > pixels / 2);
});

test("median: odd and even counts, unsorted input untouched", () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.throws(() => median([]));
});
