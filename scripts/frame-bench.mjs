#!/usr/bin/env node
// `node scripts/frame-bench.mjs [--copies 13] [--runs 7] [--warmup 3] [--no-browser]`: time of the scene-frame estimate
// (src/frame, docs/FRAME.md) for ~1 M Gaussians, in Node (wall and CPU time of the calling thread) and in a Web
// Worker in Chromium (wall time inside the worker). The input is the showcase room's splat rows (Babylon's own PLY
// conversion, demo/scenes/showcase/showcase.ply, 80,369 Gaussians) repeated --copies times. "first" is the first
// call in a fresh process / worker (what an encode pays: the code is not optimised yet), "warm" the median of
// --runs calls after --warmup more. Prints a markdown table (BENCHMARKS.md, "Scene frame"). Needs `npm run build`.
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
};
const COPIES = Number(option("copies", "13"));
const RUNS = Number(option("runs", "7"));
const WARMUP = Number(option("warmup", "3"));
const BROWSER = !args.includes("--no-browser");
const SCENE = "demo/scenes/showcase/showcase.ply";
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** As bench/frameBenchRows.ts. */
function repeatRows(rows, copies) {
    const out = new Uint8Array(rows.byteLength * copies);
    for (let c = 0; c < copies; c++) out.set(rows, c * rows.byteLength);
    const view = new DataView(out.buffer);
    for (let c = 1; c < copies; c++) {
        for (let o = c * rows.byteLength; o < (c + 1) * rows.byteLength; o += 32) view.setFloat32(o, view.getFloat32(o, true) + 1e-4 * c, true);
    }
    return out;
}

async function main() {
    const lib = await import(join(REPO, "dist/node-encoder.js"));
    const { SPLATFileLoader } = await import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");
    const bytes = readFileSync(join(REPO, SCENE));
    const parsed = await SPLATFileLoader._ConvertPLYToSplat(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const flipY = parsed.chirality === "RightHanded" ? 1 : -1;
    const worldMatrix = [1, 0, 0, 0, 0, flipY, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const rows = repeatRows(new Uint8Array(parsed.data), COPIES);
    const gaussians = rows.byteLength / 32;
    const wall = [], cpu = [];
    let description = "";
    for (let i = 0; i < RUNS + WARMUP + 1; i++) {
        const c0 = process.cpuUsage(), t0 = performance.now();
        const frame = lib.estimateSceneFrameFromSplatRows(rows, { worldMatrix });
        const t1 = performance.now(), c1 = process.cpuUsage(c0);
        description = lib.describeSceneFrame(frame);
        wall.push(t1 - t0);
        cpu.push((c1.user + c1.system) / 1000);
    }
    const warm = (xs) => xs.slice(WARMUP + 1);
    const table = [{ where: "Node (main thread)", firstWall: wall[0], firstCpu: cpu[0], wall: median(warm(wall)), cpu: median(warm(cpu)) }];
    if (BROWSER) {
        const pagePath = await bundlePage("bench/frameBenchPage.ts", "frame-bench");
        await bundlePage("bench/frameBenchWorker.ts", "frame-bench-worker");
        const { server, origin } = await serveRepo();
        const { page, close } = await openPage(origin, pagePath);
        try {
            const r = await page.evaluate((req) => globalThis.runFrameBench(req), { sceneUrl: "/" + SCENE, workerUrl: "/build/pages/frame-bench-worker.js", copies: COPIES, runs: RUNS + WARMUP + 1 });
            if (r.gaussians !== gaussians) throw new Error(`the page built ${r.gaussians} rows, Node ${gaussians}`);
            table.push({ where: "Chromium, Web Worker", firstWall: r.runs[0], firstCpu: NaN, wall: median(warm(r.runs)), cpu: NaN });
        } finally {
            await close();
            server.close();
        }
    }
    const chromium = (() => { try { return execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim(); } catch { return "Chromium"; } })();
    console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}, Node ${process.version}.`);
    console.log(`Command: \`node scripts/frame-bench.mjs ${args.join(" ")}\`; ${gaussians.toLocaleString("en")} Gaussians (${SCENE} x ${COPIES}); first call, then the median of ${RUNS} after ${WARMUP} more. Frame: ${description}.\n`);
    const ms = (v) => (Number.isFinite(v) ? v.toFixed(0) : "-");
    console.log("| where | Gaussians | first call wall ms | first call CPU ms | warm median wall ms | warm median CPU ms |");
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const t of table) console.log(`| ${t.where} | ${gaussians.toLocaleString("en")} | ${ms(t.firstWall)} | ${ms(t.firstCpu)} | ${ms(t.wall)} | ${ms(t.cpu)} |`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
