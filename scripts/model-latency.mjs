#!/usr/bin/env node
// `npm run bench:models`: latency of the shipped models for the model card (docs/VDVI.md, issue 6).
// VDVI: one segmentation of a synthetic room-like frame (rgb [1,3,H,W], features [1,K,H,W], K from the model's
// metadata `k`; the RGB-only fallback, kind "vdvi-rgb", gets the rgb alone) at each --sizes entry, in onnxruntime-node (CPU EP) and in the browser inference worker
// (InferenceClient -> src/worker/worker.ts, onnxruntime-web, wasm EP), median and min of --runs after --warmup runs.
// Encoder: scripts/encode-bench.mjs on the SynthRooms showcase room (it is once per scene, not per frame).
// Prints markdown (BENCHMARKS.md, "VDVI model latency") with the machine, the command, the date and the load.
//
//     npm run bench:models                        # models/manifest.json: vdvi fp32 + fp16, the vdvi-rgb fallback, the encoder
//     npm run bench:models -- --model a.onnx --model b-fp16.onnx --no-encoder [--runs 10] [--sizes 320x256,640x480]
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join, relative } from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";
import { USAGE, UsageError, median, parseArgs, selectModels, syntheticFrame } from "./model-latency-options.mjs";

const NODE_ENCODER = join(REPO, "dist/node-encoder.js");

function versionOf(pkg) {
    try {
        return JSON.parse(readFileSync(join(REPO, "node_modules", pkg, "package.json"), "utf8")).version;
    } catch {
        return "?";
    }
}

/** The model's metadata props (kind, k, precision, ...), read by the runtime's own ONNX header reader. */
async function metadataReader() {
    if (!existsSync(NODE_ENCODER)) throw new UsageError("dist/node-encoder.js is missing: run `npm run build` first (npm run bench:models does)");
    const lib = await import(NODE_ENCODER);
    return (path) => lib.readOnnxModelHeader(new Uint8Array(readFileSync(path)), path).metadata;
}

/** Writes each size's frame as raw float32 files under build/model-latency/ (the page fetches them). */
function writeFrames(sizes, k) {
    const dir = join(REPO, "build", "model-latency");
    mkdirSync(dir, { recursive: true });
    return sizes.map(({ width, height }) => {
        const { rgb, features } = syntheticFrame(width, height, k);
        const base = `frame-${width}x${height}-k${k}`;
        writeFileSync(join(dir, `${base}.rgb.f32`), new Uint8Array(rgb.buffer));
        writeFileSync(join(dir, `${base}.features.f32`), new Uint8Array(features.buffer));
        return { width, height, rgb, features, rgbUrl: `/build/model-latency/${base}.rgb.f32`, featuresUrl: `/build/model-latency/${base}.features.f32` };
    });
}

async function timeNode(ort, path, kind, frames, options, threads) {
    // intraOpNumThreads is set explicitly (ORT's default is the number of physical cores) so the table can say it.
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ["cpu"] });
    try {
        const out = [];
        for (const frame of frames) {
            const runs = [];
            for (let i = 0; i < options.warmup + options.runs; i++) {
                const start = performance.now();
                const feeds = { rgb: new ort.Tensor("float32", frame.rgb, [1, 3, frame.height, frame.width]) };
                if (kind !== "vdvi-rgb") {
                    feeds.features = new ort.Tensor("float32", frame.features, [1, frame.features.length / (frame.width * frame.height), frame.height, frame.width]);
                }
                const outputs = await session.run(feeds, ["labels", "confidence"]);
                const elapsed = performance.now() - start;
                if (outputs.labels.size !== frame.width * frame.height) throw new Error(`${path}: ${outputs.labels.size} labels for ${frame.width}x${frame.height}`);
                if (i >= options.warmup) runs.push(elapsed);
            }
            out.push({ width: frame.width, height: frame.height, runMs: runs });
        }
        return out;
    } finally {
        await session.release();
    }
}

/** scripts/encode-bench.mjs on the showcase room; returns its markdown table lines. */
function encoderBench(path, runs) {
    return new Promise((resolve, reject) => {
        const args = [join(REPO, "scripts/encode-bench.mjs"), "--model", relative(REPO, path), "--runs", String(runs), "--only", "showcase"];
        const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve({ command: `node scripts/encode-bench.mjs --model ${relative(REPO, path)} --runs ${runs} --only showcase`, stdout }) : reject(new Error(`encode-bench exited with ${code}`))));
    });
}

const ms = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

async function main() {
    const argv = process.argv.slice(2);
    let options;
    let models;
    let meta;
    try {
        options = parseArgs(argv);
        if (options.help) {
            console.log(USAGE);
            return;
        }
        meta = await metadataReader();
        models = selectModels(options, (path) => meta(path), process.cwd());
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`model-latency: ${e.message}\n${USAGE}`);
            process.exit(2);
        }
        throw e;
    }
    const nodeThreads = options.nodeThreads ?? availableParallelism();
    const started = new Date();
    const loadBefore = loadavg();
    const ort = await import("onnxruntime-node");
    const rows = [];
    const vdviModels = models.filter((m) => m.kind === "vdvi" || m.kind === "vdvi-rgb");

    let page = null;
    let server = null;
    let close = async () => {};
    if (options.only !== "node" && vdviModels.length) {
        const pagePath = await bundlePage("bench/modelLatencyPage.ts", "model-latency");
        await bundlePage("src/worker/worker.ts", "model-latency-worker");
        const served = await serveRepo();
        server = served.server;
        ({ page, close } = await openPage(served.origin, pagePath));
    }
    try {
        for (const model of vdviModels) {
            const metadata = meta(model.path);
            const rgbOnly = model.kind === "vdvi-rgb";
            // the fallback reads no features: its frames carry K = 0 (rgb only)
            const k = rgbOnly ? 0 : Number(metadata.k);
            if (!rgbOnly && (!Number.isInteger(k) || k < 1)) throw new Error(`${model.path}: metadata k is "${metadata.k}", not a positive integer`);
            const frames = writeFrames(options.sizes, k);
            const name = relative(REPO, model.path);
            const precision = metadata.precision ?? model.precision;
            if (options.only !== "browser") {
                process.stderr.write(`${name}: onnxruntime-node ...\n`);
                for (const r of await timeNode(ort, model.path, model.kind, frames, options, nodeThreads)) {
                    rows.push({ name, precision, k, ...r, where: `Node, onnxruntime-node ${versionOf("onnxruntime-node")}, CPU EP`, threads: `${nodeThreads} intra-op`, callMs: null });
                }
            }
            if (page) {
                process.stderr.write(`${name}: browser worker (wasm EP) ...\n`);
                const result = await page.evaluate((request) => globalThis.runBench(request), {
                    modelUrl: "/" + relative(REPO, model.path),
                    sha256: createHash("sha256").update(readFileSync(model.path)).digest("hex"),
                    kind: model.kind,
                    workerUrl: "/build/pages/model-latency-worker.js",
                    wasmUrl: "/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm",
                    numThreads: options.browserThreads ?? undefined,
                    k,
                    frames: frames.map(({ width, height, rgbUrl, featuresUrl }) => ({ width, height, rgbUrl, featuresUrl })),
                    warmup: options.warmup,
                    runs: options.runs,
                });
                if (result.executionProvider !== "wasm") throw new Error(`the worker used ${result.executionProvider}, not wasm`);
                for (const s of result.sizes) {
                    rows.push({
                        name, precision, k, width: s.width, height: s.height, runMs: s.inferenceMs, callMs: s.callMs,
                        where: `browser worker, onnxruntime-web ${versionOf("onnxruntime-web")}, wasm EP`,
                        threads: `${result.threads} wasm${result.crossOriginIsolated ? " (cross-origin isolated)" : ""}`,
                    });
                }
            }
        }
    } finally {
        await close();
        server?.close();
    }

    const encoder = models.find((m) => m.kind === "encoder");
    const encoderResult = encoder && options.encoder ? await encoderBench(encoder.path, options.encoderRuns) : null;
    const loadAfter = loadavg();

    const chromium = (() => {
        try {
            return execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        } catch {
            return "Chromium";
        }
    })();
    // Every run's figure, for a look at the spread behind the medians (build/ is not committed).
    const resultsFile = join(REPO, "build", "model-latency", "results.json");
    mkdirSync(join(REPO, "build", "model-latency"), { recursive: true });
    writeFileSync(resultsFile, JSON.stringify({ date: started.toISOString(), argv, loadBefore, loadAfter, rows }, null, 1));
    const load = (l) => l.map((x) => x.toFixed(1)).join(" / ");
    console.log(`Date: ${started.toISOString().slice(0, 16)}Z. Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}, Node ${process.version}.`);
    console.log(`Load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after, on ${cpus().length} cores: other jobs share the CPU, so these are upper bounds.`);
    console.log(`Command: \`node scripts/model-latency.mjs ${argv.join(" ")}\`${argv.length ? "" : " (npm run bench:models)"}; models from ${[...new Set(models.map((m) => m.source))].join(", ")}.`);
    console.log(`VDVI: median and min of ${options.runs} runs after ${options.warmup} warm-up runs; "run" = session.run (Node; in the worker: SegmentResult.timings.inferenceMs), "call" = the whole InferenceClient.segment() from the main thread (transfers, tensors, outputs). Every run: ${relative(REPO, resultsFile)}.\n`);
    if (rows.length) {
        console.log("| model | precision | K | size | where | threads | run median ms | run min ms | call median ms |");
        console.log("|---|---|---:|---|---|---|---:|---:|---:|");
        for (const r of rows) {
            const size = statSync(join(REPO, r.name)).size;
            console.log(`| ${r.name} (${(size / 1e6).toFixed(2)} MB) | ${r.precision} | ${r.k} | ${r.width}x${r.height} | ${r.where} | ${r.threads} | ${ms(median(r.runMs))} | ${ms(Math.min(...r.runMs))} | ${r.callMs ? ms(median(r.callMs)) : "-"} |`);
        }
    }
    if (encoderResult) {
        console.log(`\nEncoder (once per scene): \`${encoderResult.command}\`\n`);
        console.log(encoderResult.stdout.trim());
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
