// The published package's shape (issue 15, "assets that find themselves"), checked on the library build (`npm run
// build`): dist/worker.js is pre-bundled (comlink and onnxruntime inside, nothing left to resolve, so no bundler
// has to emit it), onnxruntime's wasm sits beside it where its default lookup finds it, dist/index.js keeps Babylon
// as an import (a peer dependency: the app's one copy), and `npm pack` ships all of it with the models.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const REPO = new URL("../..", import.meta.url).pathname;
const dist = (name) => join(REPO, "dist", name);

test("dist/worker.js is self-contained: no import or export of another module", () => {
    const code = readFileSync(dist("worker.js"), "utf8");
    assert.doesNotMatch(code, /^\s*import\s[^(]/m, "an import statement is left in dist/worker.js");
    assert.doesNotMatch(code, /^\s*export\s.*\sfrom\s/m, "a re-export is left in dist/worker.js");
    assert.match(code, /Comlink\.proxy/, "comlink is not inside the worker bundle");
    assert.match(code, /ort-wasm-simd-threaded/, "onnxruntime is not inside the worker bundle");
});

test("onnxruntime's wasm is beside the worker, the same bytes as onnxruntime-web's", () => {
    const ours = dist("ort-wasm-simd-threaded.asyncify.wasm");
    assert.ok(existsSync(ours), "dist/ort-wasm-simd-threaded.asyncify.wasm is missing");
    const theirs = join(REPO, "node_modules", "onnxruntime-web", "dist", "ort-wasm-simd-threaded.asyncify.wasm");
    assert.equal(statSync(ours).size, statSync(theirs).size);
    assert.deepEqual(readFileSync(ours).subarray(0, 4), Buffer.from([0x00, 0x61, 0x73, 0x6d]), "not a wasm binary");
});

test("dist/index.js imports Babylon (a peer dependency) instead of bundling it", () => {
    const code = readFileSync(dist("index.js"), "utf8");
    assert.match(code, /from '@babylonjs\/core\//);
    assert.doesNotMatch(code, /class WebGPUEngine\b/, "Babylon's engine is bundled into dist/index.js");
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
    assert.ok(pkg.peerDependencies["@babylonjs/core"], "@babylonjs/core must be a peer dependency");
    assert.ok(!pkg.dependencies?.["@babylonjs/core"], "@babylonjs/core must not be a dependency");
});

test("npm pack ships the worker, the wasm, the models and their manifest", () => {
    const [{ files }] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    const paths = new Set(files.map((f) => f.path));
    for (const path of ["dist/index.js", "dist/worker.js", "dist/ort-wasm-simd-threaded.asyncify.wasm", "models/manifest.json", "models/classes.json"]) {
        assert.ok(paths.has(path), `${path} is not in the package`);
    }
});
