#!/usr/bin/env node
// `npm run bench:pipeline`: per-stage times of one segmentation tick of the SemanticSegmentationPipeline (fixture
// VDVI model, wasm EP in the inference worker) at 320x240 and 640x480 canvases, render frame rate with segmentation
// off and on (continuous) in the same page, and the main-thread time the pipeline adds per rendered frame. In
// Debian's Chromium with WebGPU (SwiftShader here) through playwright-core, frames stepped and awaited.
//
//     npm run bench:pipeline [-- --ticks 10] [--frames 30] [--grid 40] [--overlay on|off] [--sizes 320,640]
//                            [--model fixture|shipped] [--verbose] [--write]
//     --model shipped: the fp32 VDVI model of models/manifest.json (the default is the K = 8 test fixture)
//     (--write appends to BENCHMARKS.md)
//
// Main-thread time is measured three ways (see BENCHMARKS.md): the pipeline's own account
// (`stats.mainThreadMsPerFrame` and each tick's `timings.mainThread`), the page's probes around the work it can see
// from outside (mapped readback copies, main-thread unpacking), and Chrome's own task time of the page's main
// thread (CDP Performance.getMetrics TaskDuration), continuous segmentation on minus off, per frame.
import { appendFile, copyFile, mkdir } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { rollup } from "rollup";
import nodeResolve from "@rollup/plugin-node-resolve";
import typescript from "@rollup/plugin-typescript";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
};
const TICKS = Number(option("ticks", "10"));
const FRAMES = Number(option("frames", "30"));
const GRID = Number(option("grid", "40"));
const OVERLAY = option("overlay", "on") !== "off";
const SIZE_FILTER = option("sizes", "320,640").split(",").map(Number);
const MODEL = modelChoice(option("model", "fixture"));

/** The VDVI model the pipeline runs: the K = 8 test fixture, or the shipped fp32 model (its K from the manifest). */
function modelChoice(name) {
    if (name === "fixture") {
        return { source: "/test/fixtures/models/vdvi-fixture.onnx", manifestUrl: "/test/fixtures/models/manifest.json", k: 8, label: "test/fixtures/models/vdvi-fixture.onnx, K = 8" };
    }
    if (name !== "shipped") throw new Error(`--model ${name}: expected fixture or shipped`);
    const manifestPath = join(REPO, "models", "manifest.json");
    if (!existsSync(manifestPath)) throw new Error(`--model shipped: ${manifestPath} does not exist`);
    const entry = JSON.parse(readFileSync(manifestPath, "utf8")).models.find((m) => m.kind === "vdvi" && m.precision !== "fp16");
    if (!entry) throw new Error(`--model shipped: ${manifestPath} lists no fp32 VDVI model`);
    return { source: `/models/${entry.file}`, manifestUrl: "/models/manifest.json", k: entry.k, label: `models/${entry.file}, K = ${entry.k}` };
}
// A 320x240 canvas segments at 320x256 (the default: long side 320, both sides multiples of 32, as VDVI needs);
// 640x480 is itself a multiple of 32.
const SIZES = [
    { canvasWidth: 320, canvasHeight: 240, width: 320, height: 256 },
    { canvasWidth: 640, canvasHeight: 480, width: 640, height: 480 },
].filter((s) => SIZE_FILTER.includes(s.canvasWidth));

/** The inference worker for the bench page: build/pages/pipeline-worker.js, onnxruntime's wasm beside it. */
async function buildWorker() {
    const outDir = join(REPO, "build", "pages");
    await mkdir(outDir, { recursive: true });
    const bundle = await rollup({
        input: join(REPO, "src/worker/worker.ts"),
        plugins: [
            nodeResolve({ browser: true }),
            typescript({
                tsconfig: false,
                compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2022", "DOM", "DOM.Iterable", "WebWorker"], types: ["@webgpu/types"], strict: true, skipLibCheck: true, isolatedModules: true, sourceMap: false },
                include: ["src/**/*.ts"],
                filterRoot: REPO,
                outputToFilesystem: false,
            }),
        ],
    });
    await bundle.write({ file: join(outDir, "pipeline-worker.js"), format: "es", inlineDynamicImports: true });
    await bundle.close();
    const wasm = "ort-wasm-simd-threaded.asyncify.wasm";
    await copyFile(join(REPO, "node_modules/onnxruntime-web/dist", wasm), join(outDir, wasm));
    return "/build/pages/pipeline-worker.js";
}

function machine() {
    let chromium = "";
    try {
        chromium = execFileSync(process.env.CHROME_BIN || "/usr/bin/chromium", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        chromium = "unknown Chromium";
    }
    return `${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}`;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const STAGES = ["featurePassMs", "readbackMs", "transferMs", "inferenceMs", "postprocessMs", "totalMs"];

async function main() {
    const workerUrl = await buildWorker();
    const pagePath = await bundlePage("bench/pipelinePage.ts", "pipeline");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.exposeFunction("cdpTaskSeconds", async () => {
        const { metrics } = await cdp.send("Performance.getMetrics");
        return metrics.find((m) => m.name === "TaskDuration").value;
    });
    const adapter = await page.evaluate(async () => {
        const a = await navigator.gpu.requestAdapter();
        const info = a.info ?? {};
        return `${info.vendor ?? "?"} / ${info.architecture ?? "?"}`;
    });
    const results = [];
    try {
        for (const size of SIZES) {
            process.stderr.write(`canvas ${size.canvasWidth}x${size.canvasHeight}, segmentation ${size.width}x${size.height} ...\n`);
            const r = await page.evaluate((req) => globalThis.runPipelineBench(req), { ...size, gridSide: GRID, ticks: TICKS, frames: FRAMES, workerUrl, overlay: OVERLAY, model: MODEL });
            results.push({ size, r });
            if (args.includes("--verbose")) {
                const keys = ["featurePassMs", "readbackCopyMs", "postMs", "postprocessMs", "mainThreadMs"];
                for (const t of r.onTimings) process.stderr.write(`tick: ${keys.map((k) => `${k} ${t[k]?.toFixed(2)}`).join(", ")}\n`);
            }
        }
    } finally {
        await close();
        server.close();
    }
    const first = results[0].r;
    const stageTable = [
        "| canvas | segmentation | feature pass | readback | transfer | inference (worker) | post-process | total |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        ...results.map(({ size, r }) => `| ${size.canvasWidth}x${size.canvasHeight} | ${size.width}x${size.height} | ${STAGES.map((s) => median(r.stages.map((t) => t[s])).toFixed(1)).join(" | ")} |`),
    ].join("\n");
    const frameTable = [
        "| canvas | segmentation | fps, segmentation off | fps, continuous on | ticks during the on frames |",
        "|---|---|---:|---:|---:|",
        ...results.map(({ size, r }) => `| ${size.canvasWidth}x${size.canvasHeight} | ${size.width}x${size.height} | ${r.fpsOff.toFixed(2)} | ${r.fpsOn.toFixed(2)} | ${r.ticksDuringOn} |`),
    ].join("\n");
    // Main-thread work per tick (means over the ticks that finished during the continuous frames) and per frame.
    const perTick = ({ r }) => {
        const ticks = Math.max(1, r.onTimings.length);
        const m = (f) => mean(r.onTimings.map(f));
        // Fields that older versions of the pipeline did not report are left out ("-").
        const part = (name) => (r.onTimings.length && r.onTimings.every((t) => typeof t[name] === "number") ? m((t) => t[name]) : null);
        return {
            ticks: r.onTimings.length,
            draws: m((t) => t.featurePassMs),
            // The pipeline's own figure (issuing the GPU copies + copying the mapped buffers) when it reports one; for
            // older versions the probe's (the mapped copies, with Babylon's half-float conversion when it did one).
            mappedCopy: part("readbackCopyMs") ?? r.probe.mappedCopyMs / ticks,
            mainUnpack: r.probe.mainUnpackMs / ticks,
            post: part("postMs"),
            result: m((t) => t.postprocessMs),
            own: part("mainThreadMs"),
            ownMedian: r.onTimings.length && r.onTimings.every((t) => typeof t.mainThreadMs === "number") ? median(r.onTimings.map((t) => t.mainThreadMs)) : null,
        };
    };
    const fmt = (v) => (v === null ? "-" : v.toFixed(2));
    const tickTable = [
        "| canvas | ticks | draws recorded | readback: GPU copies issued + mapped buffers copied | readback: unpacking on the main thread | posting to the worker | result (mask, object, overlay) | sum of parts | pipeline's own account, mean (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...results.map((x) => {
            const t = perTick(x);
            const sum = t.draws + t.mappedCopy + t.mainUnpack + (t.post ?? 0) + t.result;
            return `| ${x.size.canvasWidth}x${x.size.canvasHeight} | ${t.ticks} | ${fmt(t.draws)} | ${fmt(t.mappedCopy)} | ${fmt(t.mainUnpack)} | ${fmt(t.post)} | ${fmt(t.result)} | ${fmt(sum)} | ${fmt(t.own)} (${fmt(t.ownMedian)}) |`;
        }),
    ].join("\n");
    const perFrameTable = [
        "| canvas | sum of the per-tick parts x ticks / frames | pipeline's own account, mean (max) | Chrome main-thread task time / frame: off, on, on - off |",
        "|---|---:|---:|---:|",
        ...results.map((x) => {
            const t = perTick(x);
            const r = x.r;
            const sum = ((t.draws + t.mappedCopy + t.mainUnpack + (t.post ?? 0) + t.result) * r.ticksDuringOn) / FRAMES;
            return `| ${x.size.canvasWidth}x${x.size.canvasHeight} | ${sum.toFixed(2)} | ${r.mainThreadMsPerFrame.toFixed(2)} (${r.mainThreadMsPerFrameMax.toFixed(2)}) | ${r.taskMsPerFrameOff.toFixed(1)}, ${r.taskMsPerFrameOn.toFixed(1)}, ${(r.taskMsPerFrameOn - r.taskMsPerFrameOff).toFixed(1)} |`;
        }),
    ].join("\n");
    const report = [
        `Machine: ${machine()}; WebGPU adapter: ${adapter}; execution provider: ${first.executionProvider}; cross-origin isolated: ${first.crossOriginIsolated} (wasm threads ${first.crossOriginIsolated ? 2 : 1}).`,
        `Command: \`npm run bench:pipeline -- ${args.join(" ")}\` (model: ${MODEL.label}; scene: ${first.gaussians} Gaussians in four one-hot-class planes; overlay ${OVERLAY ? "on" : "off"}; stage times: median of ${TICKS} on-demand ticks after one warm-up, ms; frame rates and main-thread times: ${FRAMES} stepped frames each, segmentation off then continuous on).`,
        "",
        stageTable,
        "",
        frameTable,
        "",
        "Main-thread ms per tick (continuous frames):",
        "",
        tickTable,
        "",
        "Main-thread ms per rendered frame (continuous frames):",
        "",
        perFrameTable,
        "",
    ].join("\n");
    console.log(report);
    if (args.includes("--write")) await appendFile(join(REPO, "BENCHMARKS.md"), `\n### Pipeline run ${new Date().toISOString().slice(0, 16)}Z\n\n${report}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
