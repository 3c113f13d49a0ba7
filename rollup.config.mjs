// Builds the library (dist/) and, with `--environment BUILD:test`, one browser bundle of every
// spec under test/ (build/test/specs.js) that karma serves to Debian's Chromium; with `--environment BUILD:demo`
// the demo (build/demo/, served by scripts/demo-server.mjs).
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import nodeResolve from "@rollup/plugin-node-resolve";
import typescript from "@rollup/plugin-typescript";

/** Imports `.wgsl` files as strings, so shaders live in shaders/ as real WGSL files. */
function wgsl() {
    return {
        name: "wgsl",
        transform(code, id) {
            if (!id.endsWith(".wgsl")) return null;
            return { code: `export default ${JSON.stringify(code)};`, map: { mappings: "" } };
        },
    };
}

/** A virtual entry that imports every `*.spec.ts` under test/ (sorted, so runs are deterministic). `SPECS` (a
 *  comma-separated list of path fragments, e.g. `SPECS=test/encoder,ply.spec`) keeps only the specs whose path
 *  contains one of them: for a quick run of one area while working; CI runs them all. */
function allSpecs(dir) {
    const only = (process.env.SPECS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    const specs = [];
    const walk = (d) => {
        for (const name of readdirSync(d).sort()) {
            const p = join(d, name);
            if (statSync(p).isDirectory()) walk(p);
            else if (name.endsWith(".spec.ts") && (only.length === 0 || only.some((o) => p.includes(o)))) specs.push(resolve(p));
        }
    };
    walk(dir);
    const id = "\0all-specs";
    return {
        name: "all-specs",
        resolveId: (source) => (source === "all-specs" ? id : null),
        load: (source) => (source === id ? specs.map((s) => `import ${JSON.stringify(s)};`).join("\n") : null),
    };
}

const isExternal = (id) => /^(@babylonjs\/|onnxruntime-web|comlink)/.test(id);

const fullySpecified = (id) => (/^@babylonjs\/[^/]+\/.+/.test(id) && !id.endsWith(".js") ? `${id}.js` : id);

const libraryMain = {
    // node-encoder.js: what bin/encode.mjs (the Node encode command) imports; no Babylon, no onnxruntime-web.
    // Babylon and comlink stay imports (Babylon is a peer dependency: the app's one copy is used).
    input: { index: "src/index.ts", "node-encoder": "src/encoder/node.ts" },
    external: isExternal,
    // Deep Babylon imports get their ".js": the package is "type": "module", so webpack 5 resolves its imports as fully
    // specified and rejects "@babylonjs/core/Materials/standardMaterial" (scripts/test-examples.mjs, docs/BUNDLERS.md).
    output: { dir: "dist", format: "es", sourcemap: true, entryFileNames: "[name].js", chunkFileNames: "chunks/[name].js", paths: fullySpecified },
    plugins: [wgsl(), typescript({ tsconfig: "tsconfig.json" })],
};

const tests = {
    input: "all-specs",
    output: { file: "build/test/specs.js", format: "es", sourcemap: true, inlineDynamicImports: true },
    plugins: [allSpecs("test"), wgsl(), nodeResolve({ browser: true }), typescript({ tsconfig: "tsconfig.test.json", sourceMap: true })],
    onwarn(warning, warn) {
        if (warning.code === "CIRCULAR_DEPENDENCY" || warning.code === "THIS_IS_UNDEFINED") return; // Babylon's own
        warn(warning);
    },
};

/** A rollup plugin that copies a file into the build when the copy is missing or older. */
function copyFile(from, to, name) {
    return {
        name,
        writeBundle() {
            if (existsSync(to) && statSync(to).size === statSync(from).size && statSync(to).mtimeMs >= statSync(from).mtimeMs) return;
            mkdirSync(dirname(to), { recursive: true });
            copyFileSync(from, to);
        },
    };
}

/** Copies onnxruntime-web's asyncify .wasm (what `onnxruntime-web/webgpu` loads) next to the bundled worker, where
 *  onnxruntime's default lookup (relative to its own module, i.e. the worker) finds it. */
function copyOrtWasm(toDir) {
    const name = "ort-wasm-simd-threaded.asyncify.wasm";
    return copyFile(resolve("node_modules/onnxruntime-web/dist", name), resolve(toDir, name), "copy-ort-wasm");
}

/** The inference worker for the specs: build/test/worker.js, next to specs.js, so the client's default URL finds it. */
const testWorker = {
    input: "src/worker/worker.ts",
    output: { file: "build/test/worker.js", format: "es", sourcemap: true, inlineDynamicImports: true },
    plugins: [
        nodeResolve({ browser: true }),
        typescript({ tsconfig: "tsconfig.test.json", sourceMap: true, include: ["src/**/*.ts"] }),
        copyOrtWasm("build/test"),
    ],
};

/** The bundled demo (`--environment BUILD:demo`): build/demo/main.js (page, with the library inlined) and
 *  build/demo/worker.js next to it (the client's default worker URL), with onnxruntime's .wasm beside the worker. */
const demo = [
    {
        input: "demo/main.ts",
        output: { file: "build/demo/main.js", format: "es", sourcemap: true, inlineDynamicImports: true },
        plugins: [wgsl(), nodeResolve({ browser: true }), typescript({ tsconfig: "demo/tsconfig.json", sourceMap: true })],
        onwarn: tests.onwarn,
    },
    {
        input: "src/worker/worker.ts",
        output: { file: "build/demo/worker.js", format: "es", sourcemap: true, inlineDynamicImports: true },
        plugins: [
            nodeResolve({ browser: true }),
            typescript({ tsconfig: "demo/tsconfig.json", sourceMap: true }),
            copyOrtWasm("build/demo"),
            // The @adobe/spz module (devDependency) for dropped SPZ v4 files: the page names this copy as spzLibraryUrl.
            copyFile(resolve("node_modules/@adobe/spz/dist/spz.js"), resolve("build/demo/vendor/spz.js"), "copy-spz"),
        ],
    },
];

/** The inference worker of the package, PRE-BUNDLED: dist/worker.js holds comlink and onnxruntime-web, so no bundler
 *  has to find, emit or resolve it (issue 15: rollup and esbuild emitted no worker from the package). onnxruntime's
 *  .wasm is copied beside it, where its default lookup (relative to the worker script) finds it. The client's
 *  default worker URL is new URL("./worker.js", import.meta.url); apps that bundle the library pass `workerUrl` /
 *  `assetsUrl` (docs/BUNDLERS.md). */
const libraryWorker = {
    input: "src/worker/worker.ts",
    output: { file: "dist/worker.js", format: "es", sourcemap: true, inlineDynamicImports: true },
    plugins: [
        nodeResolve({ browser: true }),
        // declarations come from the main build; this one only bundles
        typescript({ tsconfig: "tsconfig.json", declaration: false, declarationDir: undefined, outDir: "dist", sourceMap: true }),
        copyOrtWasm("dist"),
    ],
};

const builds = { test: [tests, testWorker], demo };
export default builds[process.env.BUILD] ?? [libraryMain, libraryWorker];
