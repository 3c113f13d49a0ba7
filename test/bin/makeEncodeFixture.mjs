// Writes test/fixtures/encoder/parity-scene-features.f32: the encode command's (onnxruntime-node) features of
// test/golden/parity/scene.ply with the tiny encoder fixture, float32 [count x K]. The browser spec
// test/encoder/encodeScene.spec.ts demands the worker's encodeScene (onnxruntime-web) give the same within 1e-4,
// and test/bin/encode.test.mjs that the command still does. Run after changing the encoder fixture or the stages:
//   npm run build && node test/bin/makeEncodeFixture.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const dir = mkdtempSync(join(tmpdir(), "encode-fixture-"));
try {
    const out = join(dir, "scene.semantic.ply");
    execFileSync(process.execPath, [join(root, "bin/encode.mjs"), join(root, "test/golden/parity/scene.ply"), "--model", join(root, "test/fixtures/encoder/tiny-encoder.onnx"), "--out", out, "--quiet"], { stdio: "inherit" });
    const attributes = lib.readSemanticAttributes(readFileSync(out), out);
    const features = attributes.features instanceof Float32Array ? attributes.features : null;
    if (!features) throw new Error("the written PLY has no float32 f_sem_* features");
    const target = join(root, "test/fixtures/encoder/parity-scene-features.f32");
    writeFileSync(target, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    console.log(`wrote ${target}: ${attributes.count} x ${attributes.featureDim}`);
} finally {
    rmSync(dir, { recursive: true, force: true });
}
