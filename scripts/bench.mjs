#!/usr/bin/env node
// `npm run bench`: in one Chromium page (WebGPU on whatever adapter the browser has; SwiftShader here), renders the
// playbot scene (../shared/assets/splats/playbot-lod0, 500k Gaussians, SOG) and one indoor scene (the SynthRooms
// showcase room when demo/scenes/showcase/showcase.ply exists, else test/golden/parity/scene.ply) at 320x240, and
// reports Babylon's own colour pass time and the feature pass time for K = 8, 16, 32 and their ratio, on a device
// with default limits and one with raised limits. Frames are stepped and awaited (engine.beginFrame, work,
// endFrame, queue.onSubmittedWorkDone), never timed through the rAF loop; each figure is the median of N frames.
//
//     npm run bench [-- --frames 5] [--only playbot|indoor] [--write]   (--write appends the table to BENCHMARKS.md)
import { existsSync } from "node:fs";
import { readFile, appendFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
};
const FRAMES = Number(option("frames", "5"));
const WIDTH = 320;
const HEIGHT = 240;
const KS = [8, 16, 32];
/** --only playbot | indoor: one scene (for quick runs); default both. */
const ONLY = option("only", "");

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function scenes() {
    const list = [{ name: "playbot-lod0 (SOG)", url: "/assets/splats/playbot-lod0/meta.json" }];
    const showcase = join(REPO, "demo/scenes/showcase/showcase.json");
    if (existsSync(showcase) && existsSync(join(REPO, "demo/scenes/showcase/showcase.ply"))) {
        const meta = JSON.parse(await readFile(showcase, "utf8"));
        const c = meta.camera;
        list.push({ name: "SynthRooms showcase room (PLY)", url: "/demo/scenes/showcase/showcase.ply", camera: c ? { position: c.position, target: c.target, fov: c.fov } : undefined });
    } else {
        list.push({ name: "parity room corner (PLY)", url: "/test/golden/parity/scene.ply", camera: { position: [0.25, 0.35, -0.4], target: [0, -0.05, 2.8], fov: 0.8 } });
    }
    return ONLY ? list.filter((s) => (ONLY === "playbot" ? s.url.includes("playbot") : !s.url.includes("playbot"))) : list;
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

async function main() {
    const pagePath = await bundlePage("bench/benchPage.ts", "bench");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    const adapter = await page.evaluate(async () => {
        const a = await navigator.gpu.requestAdapter();
        const info = a.info ?? {};
        return `${info.vendor ?? "?"} / ${info.architecture ?? "?"} ${info.description ?? ""}`.trim();
    });
    const rows = [];
    try {
        for (const scene of await scenes()) {
            for (const [raisedLimits, attachmentFormat] of [[false, "rgba16float"], [true, "rgba16float"], [true, "rgba32float"]]) {
                process.stderr.write(`${scene.name}, ${raisedLimits ? "raised" : "default"} limits, ${attachmentFormat} ...\n`);
                const r = await page.evaluate((req) => globalThis.runBench(req), {
                    sceneUrl: scene.url,
                    camera: scene.camera,
                    featureDimensions: KS,
                    raisedLimits,
                    width: WIDTH,
                    height: HEIGHT,
                    frames: FRAMES,
                    attachmentFormat,
                });
                for (const f of r.feature) {
                    const colour = median(f.colourMs);
                    const ms = median(f.ms);
                    const gpu = f.gpuMs ? { colour: median(f.colourGpuMs), feature: median(f.gpuMs) } : null;
                    rows.push({ scene: scene.name, gaussians: r.gaussians, limits: `${raisedLimits ? "raised" : "default"} (${r.maxColorAttachmentBytesPerSample} B/sample), ${attachmentFormat}, ${f.splatPrimitive}s`, K: f.K, passes: f.passes, colour, feature: ms, ratio: ms / colour, gpu });
                }
            }
        }
    } finally {
        await close();
        server.close();
    }
    const gpuCells = (r) => (r.gpu ? `${r.gpu.colour.toFixed(1)} | ${r.gpu.feature.toFixed(1)} | ${(r.gpu.feature / r.gpu.colour).toFixed(2)}` : "n/a | n/a | n/a");
    const table = [
        "| scene | Gaussians | device limits, target format, splat primitive | K | passes | colour pass ms | feature pass ms | feature / colour | colour GPU ms | feature GPU ms | GPU feature / colour |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map((r) => `| ${r.scene} | ${r.gaussians} | ${r.limits} | ${r.K} | ${r.passes} | ${r.colour.toFixed(1)} | ${r.feature.toFixed(1)} | ${r.ratio.toFixed(2)} | ${gpuCells(r)} |`),
    ].join("\n");
    const report = [
        `Machine: ${machine()}; WebGPU adapter: ${adapter}; GPU times (timestamp-query): ${rows.every((r) => r.gpu) ? "every row" : rows.some((r) => r.gpu) ? "some rows" : "none (the devices have no timestamp-query)"}.`,
        `Command: \`npm run bench -- ${args.join(" ")}\` (${WIDTH}x${HEIGHT} canvas and feature targets, median of ${FRAMES} stepped frames, colour and feature frames alternating; "ms" = CPU wall time from the frame's first command to queue.onSubmittedWorkDone(); "GPU ms" = between timestamps written before the frame's first and after its last render pass).`,
        "",
        table,
        "",
    ].join("\n");
    console.log(report);
    if (args.includes("--write")) await appendFile(join(REPO, "BENCHMARKS.md"), `\n### ${new Date().toISOString().slice(0, 16)}Z\n\n${report}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
