#!/usr/bin/env node
// Large scenes in the browser (BENCHMARKS.md, "Large scenes in the browser"): copies of the showcase room side by side
// (scripts/make-big-scene.mjs: 12 ~ 1 M, 37 ~ 3 M, 75 ~ 6 M Gaussians) in headless Chromium with WebGPU
// (SwiftShader here: ../shared/ENVIRONMENT.md), page bench/scaleBrowserPage.ts. Two phases per scene, each in a fresh
// browser so that each peak is its own:
//  - encode (--encode-copies): load the scene into a SemanticGaussianSplattingMesh, then encode it in the inference
//    worker (onnxruntime-web wasm EP, --threads, tiled, cache off). Memory: the tab's renderer process (the page
//    and its dedicated workers, wasm heaps included, live there) from /proc/<pid>/status: VmHWM (peak resident set)
//    after the load, then reset (/proc/<pid>/clear_refs "5") and read again after the encode; the GPU process too
//    (SwiftShader keeps the textures in its memory).
//  - render (--render-copies): Babylon's colour pass and the feature pass (K = 16 and 32 random features), median of
//    --frames stepped frames each, alternating; the readback of one feature frame; label lifting of that frame and
//    --picks lifted picks; the feature texture as the mesh allocated it (width x height x layers x 16 B, RGBA32UI).
// Prints markdown tables. The scenes are written to --dir and deleted afterwards (unless --keep); never commit them.
//
//     node scripts/scale-browser-bench.mjs [--copies 12,37,75] [--encode-copies 12,37,75] [--render-copies 37,75]
//         [--frames 2] [--threads 2] [--picks 20] [--dir /tmp/scale-browser-bench] [--model models/gaussian-encoder-k16.onnx]
//         [--tile-gaussians 100000] [--feature-dimensions 16,32] [--do-not-handle-context-lost] [--source-in-memory] [--keep]
// --do-not-handle-context-lost: Babylon's engine option of that name (it then keeps no CPU copy of its textures' data).
// --source-in-memory: load with sourceInMemory: true (the PLY's bytes kept in the tab for saving); by default the bench
//   loads with sourceInMemory: false (a Blob, which Chromium keeps in its browser process: its RSS is reported too).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, relative } from "node:path";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";
import { parseScriptArgs } from "./scriptArgs.mjs";

const values = parseScriptArgs({
    copies: { type: "string", default: "12,37,75" },
    "encode-copies": { type: "string" },
    "render-copies": { type: "string", default: "37,75" },
    frames: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    picks: { type: "string", default: "20" },
    dir: { type: "string", default: "/tmp/scale-browser-bench" },
    model: { type: "string", default: join(REPO, "models/gaussian-encoder-k16.onnx") },
    "feature-dimensions": { type: "string", default: "16,32" },
    "tile-gaussians": { type: "string" },
    "do-not-handle-context-lost": { type: "boolean", default: false },
    "source-in-memory": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
}, import.meta.url);
const list = (s) => (s ? s.split(",").filter(Boolean).map(Number) : []);
const COPIES = list(values.copies);
const ENCODE = values["encode-copies"] === undefined ? COPIES : list(values["encode-copies"]);
const RENDER = list(values["render-copies"]);
const FRAMES = Number(values.frames);
const gb = (bytes) => (bytes / 1e9).toFixed(2);

// ---- the tab's memory, from /proc ----------------------------------------------------------------------------
function children(pid) {
    const out = [];
    for (const name of readdirSync("/proc")) {
        if (!/^\d+$/.test(name)) continue;
        try {
            const stat = readFileSync(`/proc/${name}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            if (ppid === pid) out.push(Number(name));
        } catch {
            // gone
        }
    }
    return out;
}
function descendants(pid) {
    const all = [];
    const stack = [pid];
    while (stack.length) {
        const p = stack.pop();
        for (const c of children(p)) {
            all.push(c);
            stack.push(c);
        }
    }
    return all;
}
/** The renderer and GPU processes (pids) of the Chromium under `rootPid`, found by their --type= switch. */
function chromiumProcesses(rootPid) {
    const found = { renderer: [], gpu: [], browser: [] };
    for (const pid of descendants(rootPid)) {
        let cmd = "";
        try {
            cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        } catch {
            continue;
        }
        if (cmd.includes("--type=renderer")) found.renderer.push(pid);
        else if (cmd.includes("--type=gpu-process")) found.gpu.push(pid);
        else if (!cmd.includes("--type=") && /chrom/i.test(cmd.split("\0")[0])) found.browser.push(pid); // holds the Blobs
    }
    return found;
}
function status(pid) {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(text.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
    return { hwm: kb("VmHWM"), rss: kb("VmRSS") };
}
/** Peak (VmHWM) and current RSS of the largest process of a kind, in bytes. */
function memory(pids) {
    let best = { hwm: 0, rss: 0 };
    for (const pid of pids) {
        try {
            const s = status(pid);
            if (s.hwm > best.hwm) best = s;
        } catch {
            // gone
        }
    }
    return best;
}
function resetPeak(pids) {
    for (const pid of pids) {
        try {
            writeFileSync(`/proc/${pid}/clear_refs`, "5");
        } catch (e) {
            throw new Error(`cannot reset the peak RSS of process ${pid} (/proc/${pid}/clear_refs): ${e.message}`);
        }
    }
}
/** Samples the largest RSS of `pids` every 250 ms while `work` runs (a cross-check of VmHWM), and when it peaked;
 * `samples`: every [epoch ms, RSS] read (rssByStage attributes them to the encode's stages). */
async function sampled(pids, work) {
    let max = 0;
    let maxAt = 0;
    const samples = [];
    const timer = setInterval(() => {
        const rss = memory(pids).rss;
        samples.push([Date.now(), rss]);
        if (rss > max) [max, maxAt] = [rss, Date.now()];
    }, 250);
    try {
        return { result: await work(), sampledMax: max, sampledMaxAt: maxAt, samples };
    } finally {
        clearInterval(timer);
    }
}

/** The encode's last progress event at or before `ms` after its start (null before the first). */
function progressAt(encode, ms) {
    let last = null;
    for (const p of encode.progress ?? []) if (p.ms <= ms) last = p;
    return last;
}

/** The encode's stage (and tile) at epoch time `at`, from the page's progress events. */
function stageAt(encode, at) {
    const ms = at - encode.epochMs;
    const last = progressAt(encode, ms);
    const where = last ? (last.tile !== undefined ? `${last.stage} tile ${last.tile + 1}/${encode.tiles}` : last.stage) : "start";
    return `${(ms / 1000).toFixed(0)} s, ${last?.stage === "done" ? "setting the features" : where}`;
}

/** The largest sampled tab RSS (GB) during each stage of the encode, in order ("inference" spans the tiles; "setting
 * the features": after the encode's "done" event), as "stage a.bc" items: where the encode's memory comes from. */
function rssByStage(encode, samples) {
    const out = [];
    for (const [at, rss] of samples) {
        const last = progressAt(encode, at - encode.epochMs);
        const stage = !last ? "start" : last.stage === "done" ? "setting the features" : last.tile !== undefined ? "inference" : last.stage;
        const entry = out.find((e) => e.stage === stage);
        if (entry) entry.max = Math.max(entry.max, rss);
        else out.push({ stage, max: rss });
    }
    return out.map((e) => `${e.stage} ${(e.max / 1e9).toFixed(2)}`).join(", ");
}

// ---- scenes -------------------------------------------------------------------------------------------------
mkdirSync(values.dir, { recursive: true });
const served = join(REPO, "build", "scale-browser-scenes");
mkdirSync(join(REPO, "build"), { recursive: true });
rmSync(served, { force: true }); // a link from an earlier run, maybe to another --dir
symlinkSync(values.dir, served);
function sceneFor(copies) {
    const file = join(values.dir, `rooms-${copies}.ply`);
    if (!existsSync(file)) execFileSync(process.execPath, [join(REPO, "scripts/make-big-scene.mjs"), "--copies", String(copies), "--out", file], { stdio: ["ignore", "ignore", "inherit"] });
    return { file, url: `/build/scale-browser-scenes/rooms-${copies}.ply` };
}

async function withBrowser(origin, pagePath, work) {
    const opened = await openPage(origin, pagePath);
    try {
        // playwright starts Chromium as a child of this process, one browser at a time
        const procs = chromiumProcesses(process.pid);
        // Chromium keeps a spare renderer or two besides the tab's: memory() reports the largest, which is the tab's.
        if (!procs.renderer.length || !procs.gpu.length) throw new Error(`no renderer or GPU process found under ${process.pid}`);
        return await work(opened.page, procs);
    } finally {
        await opened.close();
    }
}

async function main() {
    const pagePath = await bundlePage("bench/scaleBrowserPage.ts", "scale-browser");
    await bundlePage("src/worker/worker.ts", "scale-browser-worker");
    const { server, origin } = await serveRepo();
    const encodeRows = [];
    const renderRows = [];
    const loads = [];
    try {
        for (const copies of COPIES) {
            const scene = sceneFor(copies);
            if (ENCODE.includes(copies)) {
                process.stderr.write(`${copies} rooms: encode in the browser ...\n`);
                const row = await withBrowser(origin, pagePath, async (page, procs) => {
                    const load = await page.evaluate((req) => globalThis.scaleLoad(req), { sceneUrl: scene.url, width: 320, height: 240, doNotHandleContextLost: values["do-not-handle-context-lost"], sourceInMemory: values["source-in-memory"] });
                    const afterLoad = { renderer: memory(procs.renderer), gpu: memory(procs.gpu), browser: memory(procs.browser) };
                    resetPeak([...procs.renderer, ...procs.gpu]);
                    const started = Date.now();
                    const { result, sampledMax, sampledMaxAt, samples } = await sampled(procs.renderer, () =>
                        page.evaluate((req) => globalThis.scaleEncode(req), {
                            modelUrl: "/" + relative(REPO, values.model),
                            workerUrl: "/build/pages/scale-browser-worker.js",
                            wasmUrl: "/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm",
                            threads: Number(values.threads),
                            tileGaussians: values["tile-gaussians"] ? Number(values["tile-gaussians"]) : undefined,
                        })
                    );
                    const afterEncode = { renderer: memory(procs.renderer), gpu: memory(procs.gpu), browser: memory(procs.browser) };
                    if (result.errors.length) throw new Error(`uncaptured WebGPU errors: ${result.errors.join("; ")}`);
                    const { progress, ...encode } = result;
                    return { copies, load, afterLoad, encode, afterEncode, sampledMax, sampledPeak: stageAt(result, sampledMaxAt), rssByStage: rssByStage(result, samples), wallS: (Date.now() - started) / 1000, load1: loadavg()[0] };
                });
                encodeRows.push(row);
                process.stderr.write(`${JSON.stringify(row)}\n`);
            }
            if (RENDER.includes(copies)) {
                process.stderr.write(`${copies} rooms: render path ...\n`);
                const row = await withBrowser(origin, pagePath, async (page, procs) => {
                    const load = await page.evaluate((req) => globalThis.scaleLoad(req), { sceneUrl: scene.url, width: 640, height: 480, doNotHandleContextLost: values["do-not-handle-context-lost"], sourceInMemory: values["source-in-memory"] });
                    const afterLoad = { renderer: memory(procs.renderer), gpu: memory(procs.gpu) };
                    const result = await page.evaluate((req) => globalThis.scaleRender(req), {
                        featureDimensions: list(values["feature-dimensions"]),
                        frames: FRAMES,
                        segWidth: 320,
                        segHeight: 256,
                        picks: Number(values.picks),
                    });
                    const afterRender = { renderer: memory(procs.renderer), gpu: memory(procs.gpu) };
                    if (result.errors.length) throw new Error(`uncaptured WebGPU errors: ${result.errors.join("; ")}`);
                    return { copies, load, afterLoad, result, afterRender, load1: loadavg()[0] };
                });
                renderRows.push(row);
                process.stderr.write(`${JSON.stringify(row)}\n`);
            }
            if (!values.keep) rmSync(scene.file, { force: true });
        }
    } finally {
        server.close();
    }

    const chromium = (() => {
        try {
            return execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim();
        } catch {
            return "Chromium";
        }
    })();
    console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium} (WebGPU adapter: SwiftShader, a CPU rasteriser), Node ${process.version}; load average (1 min) at the end of each run in the rows.`);
    console.log(`Command: \`node scripts/scale-browser-bench.mjs ${process.argv.slice(2).join(" ")}\`\n`);
    if (encodeRows.length) {
        console.log("Encode in the tab (inference worker, onnxruntime-web wasm EP, tiled, feature cache off):\n");
        console.log("| scene | Gaussians | load s | tab peak after load | encode s | us / Gaussian | tiles (largest) | model s | tab peak during encode | sampled peak at | tab RSS after | GPU process peak | browser process RSS after | load avg |");
        console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
        for (const r of encodeRows) {
            const e = r.encode;
            console.log(
                `| ${r.copies} rooms | ${r.load.gaussians.toLocaleString("en")} | ${(r.load.loadMs / 1000).toFixed(1)} | ${gb(r.afterLoad.renderer.hwm)} GB | ${(e.totalMs / 1000).toFixed(1)} | ${((e.totalMs * 1000) / r.load.gaussians).toFixed(1)} | ${e.tiles} (${e.largestTile.toLocaleString("en")}) | ${(e.timings.inferenceMs / 1000).toFixed(1)} | ${gb(r.afterEncode.renderer.hwm)} GB | ${r.sampledPeak} | ${gb(r.afterEncode.renderer.rss)} GB | ${gb(Math.max(r.afterLoad.gpu.hwm, r.afterEncode.gpu.hwm))} GB | ${gb(r.afterEncode.browser.rss)} GB | ${r.load1.toFixed(1)} |`
            );
        }
        console.log("");
        for (const r of encodeRows) console.log(`Largest sampled tab RSS (GB) by stage, ${r.copies} rooms: ${r.rssByStage}`);
        console.log("");
    }
    if (renderRows.length) {
        console.log(`Render path (canvas 640x480, feature targets 320x256, median of ${FRAMES} stepped frames each, colour and feature frames alternating):\n`);
        console.log("| scene | Gaussians | K | feature texture (allocated) | GPU bytes | passes | colour pass s | feature pass s | feature / colour | readback ms | setFeatures s | GPU process peak | load avg |");
        console.log("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (const r of renderRows) {
            for (const k of r.result.rows) {
                const t = k.texture;
                console.log(
                    `| ${r.copies} rooms | ${r.result.gaussians.toLocaleString("en")} | ${k.K} | ${t.width} x ${t.height} x ${t.layers} layers, ${t.format} | ${(t.bytes / 2 ** 20).toFixed(0)} MiB | ${k.passes} | ${(k.colourMedianMs / 1000).toFixed(2)} | ${(k.featureMedianMs / 1000).toFixed(2)} | ${(k.featureMedianMs / k.colourMedianMs).toFixed(2)} | ${k.readbackMs.toFixed(0)} | ${(k.setFeaturesMs / 1000).toFixed(2)} | ${gb(r.afterRender.gpu.hwm)} GB | ${r.load1.toFixed(1)} |`
                );
            }
        }
        console.log("\nLabel lifting and lifted picking on one feature frame (K = first of --feature-dimensions; labels = argmax of its channels):\n");
        console.log("| scene | Gaussians | liftingGaussiansOf ms | accumulate ms | voted | propagate s (build s) | pick median ms |");
        console.log("|---|---:|---:|---:|---:|---:|---:|");
        for (const r of renderRows) {
            const k = r.result.rows[0];
            console.log(`| ${r.copies} rooms | ${r.result.gaussians.toLocaleString("en")} | ${k.liftingGaussiansMs.toFixed(0)} | ${k.accumulateMs.toFixed(0)} | ${k.voted.toLocaleString("en")} | ${(k.propagateMs / 1000).toFixed(2)} (${(k.propagateBuildMs / 1000).toFixed(2)}) | ${k.pickMedianMs.toFixed(1)} |`);
        }
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
