#!/usr/bin/env node
// `npm run bench:pipeline`: per-stage times of one segmentation tick of the SemanticSegmentationPipeline (fixture
// VDVI model, wasm EP in the inference worker) at 320x240 and 640x480 canvases, render frame rate with segmentation
// off and on (continuous) in the same page, and the main-thread time the pipeline adds per rendered frame. In
// Debian's Chromium with WebGPU (SwiftShader here) through playwright-core, frames stepped and awaited.
//
//     npm run bench:pipeline [-- --ticks 10] [--frames 30] [--grid 40] [--write]   (--write appends to BENCHMARKS.md)
import { appendFile, copyFile, mkdir } from "node:fs/promises";
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
// A 320x240 canvas segments at 320x256 (the default: long side 320, both sides multiples of 32, as VDVI needs);
// 640x480 is itself a multiple of 32.
const SIZES = [
    { canvasWidth: 320, canvasHeight: 240, width: 320, height: 256 },
    { canvasWidth: 640, canvasHeight: 480, width: 640, height: 480 },
];

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
    const adapter = await page.evaluate(async () => {
        const a = await navigator.gpu.requestAdapter();
        const info = a.info ?? {};
        return `${info.vendor ?? "?"} / ${info.architecture ?? "?"}`;
    });
    const results = [];
    try {
        for (const size of SIZES) {
            process.stderr.write(`canvas ${size.canvasWidth}x${size.canvasHeight}, segmentation ${size.width}x${size.height} ...\n`);
            const r = await page.evaluate((req) => globalThis.runPipelineBench(req), { ...size, gridSide: GRID, ticks: TICKS, frames: FRAMES, workerUrl });
            results.push({ size, r });
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
        "| canvas | segmentation | fps, segmentation off | fps, continuous on | ticks during the on frames | pipeline main-thread ms / frame (mean) | (max) |",
        "|---|---|---:|---:|---:|---:|---:|",
        ...results.map(({ size, r }) => `| ${size.canvasWidth}x${size.canvasHeight} | ${size.width}x${size.height} | ${r.fpsOff.toFixed(2)} | ${r.fpsOn.toFixed(2)} | ${r.ticksDuringOn} | ${r.mainThreadMsPerFrame.toFixed(2)} | ${r.mainThreadMsPerFrameMax.toFixed(2)} |`),
    ].join("\n");
    const report = [
        `Machine: ${machine()}; WebGPU adapter: ${adapter}; execution provider: ${first.executionProvider}; cross-origin isolated: ${first.crossOriginIsolated} (wasm threads ${first.crossOriginIsolated ? 2 : 1}).`,
        `Command: \`npm run bench:pipeline -- ${args.join(" ")}\` (model: test/fixtures/models/vdvi-fixture.onnx, K = 8; scene: ${first.gaussians} Gaussians in four one-hot-class planes; stage times: median of ${TICKS} on-demand ticks after one warm-up, ms; frame rates: ${FRAMES} stepped frames each, segmentation off then continuous on).`,
        "",
        stageTable,
        "",
        frameTable,
        "",
    ].join("\n");
    console.log(report);
    if (args.includes("--write")) await appendFile(join(REPO, "BENCHMARKS.md"), `\n### Pipeline run ${new Date().toISOString().slice(0, 16)}Z\n\n${report}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
