#!/usr/bin/env node
// `node scripts/encode-bench.mjs --model <encoder.onnx>`: encode time of the Gaussian encoder for the SynthRooms
// showcase room (demo/scenes/showcase/showcase.ply) and the 500k-Gaussian playbot scene (SOG), in the browser
// (Chromium, inference worker, onnxruntime-web wasm EP) and in Node (the same stages with onnxruntime-node, on the
// splat rows Babylon decoded in the page, so SOG works too). Each figure is the median of --runs encodes after one
// warm-up encode. Prints a markdown table (BENCHMARKS.md, "Gaussian encoder").
//
//     npm run build && node scripts/encode-bench.mjs --model build/encoder-bench/gaussian-encoder-k16-untrained.onnx [--runs 3] [--only playbot|showcase]
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative } from "node:path";
import { execFileSync } from "node:child_process";
import { REPO, bundlePage, fromBase64, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
};
const MODEL = option("model", "");
const RUNS = Number(option("runs", "3"));
const ONLY = option("only", "");
if (!MODEL || !existsSync(MODEL)) {
    console.error(`encode-bench: --model <encoder.onnx> is required (got "${MODEL}")`);
    process.exit(2);
}
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function scenes() {
    const list = [];
    if (existsSync(join(REPO, "demo/scenes/showcase/showcase.ply"))) list.push({ name: "SynthRooms showcase room (PLY)", url: "/demo/scenes/showcase/showcase.ply" });
    list.push({ name: "playbot-lod0 (SOG)", url: "/assets/splats/playbot-lod0/meta.json" });
    return ONLY ? list.filter((s) => (ONLY === "playbot" ? s.url.includes("playbot") : !s.url.includes("playbot"))) : list;
}

async function nodeEncode(lib, ort, session, info, rows, worldMatrix) {
    const result = await lib.encodeSplatRows(rows, info, async (feeds) => {
        const ortFeeds = {};
        for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
        const outputs = await session.run(ortFeeds, ["features"]);
        return { data: outputs.features.data, dims: outputs.features.dims };
    }, { worldMatrix, outputPrecision: "float16" });
    const t = result.timings;
    return { totalMs: t.channelsMs + t.serializeMs + t.inferenceMs + t.outputMs, ...t };
}

async function main() {
    const lib = await import(join(REPO, "dist/node-encoder.js"));
    const ort = await import("onnxruntime-node");
    const modelBytes = readFileSync(MODEL);
    const info = lib.encoderInfoFromMetadata(lib.readOnnxModelHeader(new Uint8Array(modelBytes), MODEL).metadata, MODEL);
    const session = await ort.InferenceSession.create(new Uint8Array(modelBytes));

    const pagePath = await bundlePage("bench/encodeBenchPage.ts", "encode-bench");
    await bundlePage("src/worker/worker.ts", "encode-bench-worker");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    const rows = [];
    try {
        for (const scene of scenes()) {
            process.stderr.write(`${scene.name}: browser ...\n`);
            const browser = await page.evaluate((req) => globalThis.runBench(req), {
                sceneUrl: scene.url,
                modelUrl: "/" + relative(REPO, MODEL),
                workerUrl: "/build/pages/encode-bench-worker.js",
                wasmUrl: "/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm",
                runs: RUNS + 1,
            });
            // the same splat rows and world matrix in Node
            const exported = await page.evaluate(async (url) => globalThis.exportRows(url), scene.url);
            const splats = fromBase64(exported.rows);
            process.stderr.write(`${scene.name}: node ...\n`);
            const nodeRuns = [];
            for (let i = 0; i < RUNS + 1; i++) nodeRuns.push(await nodeEncode(lib, ort, session, info, splats, exported.worldMatrix));
            for (const [where, runs, threads] of [["browser (worker, wasm EP)", browser.runs.slice(1), `${browser.threads} wasm threads`], ["Node (onnxruntime-node, CPU EP)", nodeRuns.slice(1), "ORT default threads"]]) {
                rows.push({ scene: scene.name, gaussians: browser.gaussians, where, threads, total: median(runs.map((r) => r.totalMs)), serialize: median(runs.map((r) => r.serializeMs)), model: median(runs.map((r) => r.inferenceMs)) });
            }
        }
    } finally {
        await close();
        server.close();
        await session.release();
    }
    const chromium = (() => { try { return execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim(); } catch { return "Chromium"; } })();
    console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}, Node ${process.version}.`);
    console.log(`Model: ${relative(REPO, MODEL)} (${(statSync(MODEL).size / 1e6).toFixed(2)} MB, K=${info.k}, patch ${info.serialization.patchSize}).`);
    console.log(`Command: \`node scripts/encode-bench.mjs ${args.join(" ")}\` (median of ${RUNS} encodes after one warm-up; total = splat rows -> features).\n`);
    console.log("| scene | Gaussians | where | threads | total s | serialization s | model s |");
    console.log("|---|---:|---|---|---:|---:|---:|");
    for (const r of rows) console.log(`| ${r.scene} | ${r.gaussians} | ${r.where} | ${r.threads} | ${(r.total / 1000).toFixed(2)} | ${(r.serialize / 1000).toFixed(2)} | ${(r.model / 1000).toFixed(2)} |`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
