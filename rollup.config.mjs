// Builds the library (dist/) and, with `--environment BUILD:test`, one browser bundle of every
// spec under test/ (build/test/specs.js) that karma serves to Debian's Chromium.
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
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

/** A virtual entry that imports every `*.spec.ts` under test/ (sorted, so runs are deterministic). */
function allSpecs(dir) {
    const specs = [];
    const walk = (d) => {
        for (const name of readdirSync(d).sort()) {
            const p = join(d, name);
            if (statSync(p).isDirectory()) walk(p);
            else if (name.endsWith(".spec.ts")) specs.push(resolve(p));
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

const library = {
    input: { index: "src/index.ts" },
    external: isExternal,
    output: { dir: "dist", format: "es", sourcemap: true, entryFileNames: "[name].js", chunkFileNames: "chunks/[name].js" },
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

export default process.env.BUILD === "test" ? tests : library;
