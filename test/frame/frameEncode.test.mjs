// The scene frame through the encode command (bin/encode.mjs, onnxruntime-node, the tiny encoder fixture): a Z-up,
// centimetre copy of a room encoded with default options gets the same frame up to its own rotation and scale and
// the same features as the canonical file; explicit --up / --metres-per-unit / --floor always win; --frame none
// keeps the old defaults; the frame is printed, recorded in the PLY comment and the sidecar, and equals the frame
// the worker computes for the same file (the golden test/fixtures/frame/room-zup-cm.frame.json, which
// test/frame/frameWorker.spec.ts checks in the browser).
// Run by scripts/test-all.sh after the library build: node --test test/frame/frameEncode.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const MODEL = join(root, "test/fixtures/encoder/tiny-encoder.onnx");
const CANONICAL = join(root, "test/fixtures/frame/room-canonical.ply");
const ZUP_CM = join(root, "test/fixtures/frame/room-zup-cm.ply");
const GOLDEN = JSON.parse(readFileSync(join(root, "test/fixtures/frame/room-zup-cm.frame.json"), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "frame-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

function encode(args) {
    const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), ...args, "--model", MODEL, "--quiet"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
}

function readEncoded(file) {
    const bytes = readFileSync(file);
    const header = lib.parsePlyHeader(bytes, file);
    const semantics = lib.readSemanticAttributes(bytes, file, header);
    return { frame: lib.sceneFrameFromComments(header.comments, file), features: semantics.features, k: semantics.featureDim, count: semantics.count };
}

const close = (a, b, tol) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

test("a Z-up centimetre copy encoded with default options: the frame is found, printed, recorded, and the features match the canonical file's", () => {
    const outA = join(dir, "canonical.ply"), outB = join(dir, "zup.ply");
    const logA = encode([CANONICAL, "--out", outA]);
    const logB = encode([ZUP_CM, "--out", outB]);
    assert.match(logA, /frame \(auto\): up \+Y \(tilt 0 deg\), 1 unit = [\d.]+ m, floor -?[\d.]+, confidence [\d.]+/);
    assert.match(logB, /frame \(auto\): up \+Z \(tilt 0 deg\), 1 unit = 0\.0\d+ m/);
    const a = readEncoded(outA), b = readEncoded(outB);
    assert.equal(a.frame.source, "auto");
    assert.equal(a.frame.fallback, false);
    assert.equal(b.frame.fallback, false);
    // the copy is the room x100 (centimetres): its metres per unit is 1/100 of the canonical one's (within 2 %)
    assert.ok(Math.abs(b.frame.metresPerUnit * 100 / a.frame.metresPerUnit - 1) < 0.02, `${b.frame.metresPerUnit} vs ${a.frame.metresPerUnit}`);
    // same K and count, and per Gaussian the same features: cosine >= 0.95 on average (issue 13)
    assert.equal(a.count, b.count);
    let sum = 0;
    for (let i = 0; i < a.count; i++) {
        let dot = 0, na = 0, nb = 0;
        for (let c = 0; c < a.k; c++) {
            const x = a.features[i * a.k + c], y = b.features[i * a.k + c];
            dot += x * y; na += x * x; nb += y * y;
        }
        sum += dot / Math.sqrt(na * nb);
    }
    const meanCosine = sum / a.count;
    assert.ok(meanCosine >= 0.95, `mean cosine ${meanCosine}`);
    // the command's frame is the golden frame the worker must give too (frameWorker.spec.ts)
    assert.ok(close(b.frame.rotation, GOLDEN.rotation, 1e-5), `rotation ${b.frame.rotation} vs golden ${GOLDEN.rotation}`);
    assert.ok(Math.abs(b.frame.metresPerUnit / GOLDEN.metresPerUnit - 1) < 1e-6);
    assert.ok(Math.abs(b.frame.floorHeight - GOLDEN.floorHeight) < 1e-5);
    assert.ok(Math.abs(b.frame.confidence - GOLDEN.confidence) < 1e-3);
});

test("explicit --up / --metres-per-unit / --floor always win over auto; --frame none keeps the old defaults", () => {
    const out = join(dir, "explicit.ply");
    const log = encode([ZUP_CM, "--out", out, "--frame", "auto", "--up", "+z", "--metres-per-unit", "0.01", "--floor=-0.5"]);
    assert.match(log, /frame \(explicit\): up \+Z \(tilt 0 deg\), 1 unit = 0\.01 m, floor -0\.50, confidence 1\.00 \(explicit\)/);
    const e = readEncoded(out).frame;
    assert.equal(e.source, "explicit");
    assert.deepEqual(e.rotation, lib.upAxisRotation("+z"));
    assert.equal(e.metresPerUnit, 0.01);
    assert.equal(e.floorHeight, -0.5);
    const onlyScale = readEncoded((encode([ZUP_CM, "--out", join(dir, "scale.ply"), "--metres-per-unit", "0.01"]), join(dir, "scale.ply"))).frame;
    assert.equal(onlyScale.source, "explicit");
    assert.deepEqual(onlyScale.rotation, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const none = join(dir, "none.semf");
    const logNone = encode([ZUP_CM, "--out", none, "--sidecar", "--frame", "none"]);
    assert.match(logNone, /frame \(none\): up \+Y \(tilt 0 deg\), 1 unit = 1 m, floor 0\.00/);
    const sidecar = lib.decodeFeatureSidecar(readFileSync(none), none);
    assert.equal(sidecar.version, 2);
    assert.equal(sidecar.sceneFrame.source, "none");
    const bad = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), ZUP_CM, "--model", MODEL, "--frame", "sideways"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--frame must be auto or none/);
    const badFloor = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), ZUP_CM, "--model", MODEL, "--floor", "low"], { encoding: "utf8" });
    assert.equal(badFloor.status, 2);
});

test("the sidecar records the estimated frame (version 2)", () => {
    const out = join(dir, "auto.semf");
    encode([ZUP_CM, "--out", out, "--sidecar"]);
    const sidecar = lib.decodeFeatureSidecar(readFileSync(out), out);
    assert.equal(sidecar.version, 2);
    assert.ok(close(sidecar.sceneFrame.rotation, GOLDEN.rotation, 1e-5));
});
