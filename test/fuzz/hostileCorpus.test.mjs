// The hostile corpus (test/fuzz/hostileCorpus.mjs, generated at test time, seed 16) through the encode command's
// reader in Node: readSceneFile, then Babylon's own parsers as bin/encode.mjs runs them. Every file ends in a
// typed SemanticSplatError naming it, or in finite 32-byte rows; files marked "load" load, "refuse" are refused;
// each within 20 s (a hang guard). A sample goes through the real command (exit status 1 with "CODE: file:", or 0). Prints counts.
// Run by scripts/test-all.sh after the library build: node --test test/fuzz/hostileCorpus.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { generateHostileCorpus } from "./hostileCorpus.mjs";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const { SPLATFileLoader } = await import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");
const { ParseSpz } = await import("@babylonjs/loaders/SPLAT/spz.js");
const MODEL = join(root, "test/fixtures/encoder/tiny-encoder.onnx");
const HEADLESS_SCENE = { getEngine: () => ({ getCaps: () => ({ maxTextureSize: 4096 }) }) };
const corpus = await generateHostileCorpus(16, { spzV4: new Uint8Array(readFileSync(join(root, "../shared/assets/splats/fixtures/minimal-v4.spz"))) });
const own = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);

/** The rows bin/encode.mjs would encode, or null for formats it refuses after the checks (SPZ v4, SOG). */
async function rowsOf(content) {
    if (content.format === "ply") return (await SPLATFileLoader._ConvertPLYToSplat(own(content.loaderBytes))).data;
    if (content.format === "splat") return own(content.loaderBytes);
    if (content.format === "spz" || content.format === "spz-raw") return (await ParseSpz(own(content.spzStream), HEADLESS_SCENE)).data;
    return null;
}

test(`the hostile corpus (${corpus.length} files) through the command's reader: typed errors or finite rows, as expected`, async () => {
    assert.ok(corpus.length >= 300, `only ${corpus.length} files`);
    const counts = { loaded: 0, refused: 0 };
    const byCode = {};
    const problems = [];
    for (const file of corpus) {
        const started = performance.now();
        try {
            const content = await lib.readSceneFile(file.bytes, file.name);
            const rows = await rowsOf(content);
            if (rows) {
                assert.equal(rows.byteLength, content.count * 32, `${file.name}: rows for ${content.count} Gaussians`);
                const f32 = new Float32Array(rows);
                for (let i = 0; i < f32.length; i++) {
                    if (i % 8 < 6 && !Number.isFinite(f32[i])) {
                        problems.push(`${file.name}: loaded with a non-finite value (row ${i >> 3})`);
                        break;
                    }
                }
            }
            counts.loaded++;
            if (file.expect === "refuse") problems.push(`${file.name}: loaded ${content.count} Gaussians, expected a refusal`);
        } catch (error) {
            counts.refused++;
            if (!(error instanceof lib.SemanticSplatError)) problems.push(`${file.name}: untyped ${error?.name}: ${error?.message}`);
            else if (!error.message.startsWith(`${file.name}: `)) problems.push(`${file.name}: the message does not name the file: ${error.message}`);
            else byCode[error.code] = (byCode[error.code] ?? 0) + 1;
            if (file.expect === "load") problems.push(`${file.name}: refused, expected to load: ${error.message}`);
        }
        const ms = performance.now() - started;
        if (ms > 20000) problems.push(`${file.name}: took ${ms.toFixed(0)} ms`);
    }
    console.log(`hostile corpus (node, command reader): ${corpus.length} files, ${counts.loaded} loaded, ${counts.refused} refused ${JSON.stringify(byCode)}`);
    assert.deepEqual(problems, []);
});

test("a sample of the corpus through the real command: exit 1 with CODE: file:, or 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "hostile-corpus-"));
    try {
        const sample = corpus.filter((_, i) => i % 25 === 0).concat(corpus.filter((f) => f.category === "spz-bomb"));
        for (const file of sample) {
            const path = join(dir, file.name);
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, file.bytes);
            const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), path, "--model", MODEL, "--quiet", "--sidecar", "--frame", "none"], { encoding: "utf8", timeout: 60000 });
            assert.ok(r.status === 0 || r.status === 1, `${file.name}: exit ${r.status}: ${r.stderr}`);
            if (r.status === 1) assert.match(r.stderr, new RegExp(`[A-Z_]+: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `), `${file.name}: ${r.stderr}`);
            if (file.expect === "refuse") assert.equal(r.status, 1, `${file.name} was encoded`);
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
