#!/usr/bin/env node
// Large scenes in Node (BENCHMARKS.md, "Large scenes"): copies of the showcase room side by side
// (scripts/make-big-scene.mjs) encoded by the command (bin/encode.mjs; tiles planned for its 1.5 GB memory budget by
// default, --tile-gaussians for fixed cores; fp16 sidecar), each run in
// its own process under /usr/bin/time for the peak RSS; then the same scene reopened with --cache (the second run
// reads <scene>.semcache: no encode). Prints a markdown table: wall time, time per Gaussian, peak RSS.
//
//     npm run build && node scripts/scale-bench.mjs [--copies 12,37,75] [--threads 2] [--dir /tmp/scale-bench]
//         [--model models/gaussian-encoder-k16.onnx] [--tile-gaussians 100000] [--keep]
//         [--encode-args "--system-malloc --field-gaussians 1000000"]   (more options of the command, for comparisons)
// On a shared machine compare CPU seconds (user + sys of the command and the process it runs: it runs itself again
// under glibc's malloc tunables) of runs made back to back, rather than wall times.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { parseScriptArgs } from "./scriptArgs.mjs";

const REPO = new URL("..", import.meta.url).pathname;
const values = parseScriptArgs({
    copies: { type: "string", default: "12,37,75" },
    threads: { type: "string", default: "2" },
    dir: { type: "string", default: "/tmp/scale-bench" },
    model: { type: "string", default: join(REPO, "models/gaussian-encoder-k16.onnx") },
    "tile-gaussians": { type: "string" },
    keep: { type: "boolean", default: false },
    "encode-args": { type: "string", default: "" },
}, import.meta.url);
if (!existsSync("/usr/bin/time")) {
    console.error("scale-bench: needs /usr/bin/time (GNU time) for the peak RSS: apt-get install time");
    process.exit(2);
}
mkdirSync(values.dir, { recursive: true });

/** Runs the encode command under GNU time; returns wall seconds, CPU seconds (user + sys), peak RSS (bytes: GNU time's
 *  maximum over the command and the process it waited for, i.e. the encoding process) and the command's stderr. */
function timed(args) {
    const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", process.execPath, join(REPO, "bin/encode.mjs"), ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
    const m = r.stderr.match(/TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/);
    if (r.status !== 0 || !m) throw new Error(`encode failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return { seconds: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rss: Number(m[4]) * 1024, stderr: r.stderr };
}

const rows = [];
const loadBefore = loadavg();
const startedAt = new Date().toISOString().slice(0, 16);
for (const copies of values.copies.split(",").map(Number)) {
    const scene = join(values.dir, `rooms-${copies}.ply`);
    if (!existsSync(scene)) execFileSync(process.execPath, [join(REPO, "scripts/make-big-scene.mjs"), "--copies", String(copies), "--out", scene], { stdio: "inherit" });
    rmSync(`${scene}.semcache`, { force: true });
    const common = [scene, "--model", values.model, "--sidecar", "--out", join(values.dir, `rooms-${copies}.semf`), "--threads", values.threads, "--quiet"];
    if (values["tile-gaussians"]) common.push("--tile-gaussians", values["tile-gaussians"]);
    common.push(...values["encode-args"].split(/\s+/).filter(Boolean));
    process.stderr.write(`${copies} rooms: encode ...\n`);
    const encode = timed([...common, "--cache"]);
    const count = Number(encode.stderr.match(/: (\d+) Gaussians x K/)[1]);
    const tiles = encode.stderr.match(/, (\d+) tiles[,)]/)?.[1] ?? "1";
    const model = Number(encode.stderr.match(/model (\d+) ms/)[1]) / 1000;
    const serialization = Number(encode.stderr.match(/serialization (\d+) ms/)[1]) / 1000;
    process.stderr.write(`${copies} rooms: reopen ...\n`);
    const reopen = timed([...common, "--cache"]);
    if (!/features from the cache/.test(reopen.stderr)) throw new Error(`the second run did not read the cache: ${reopen.stderr}`);
    const cacheRead = Number(reopen.stderr.match(/read from the cache in ([\d.]+) s/)[1]);
    rows.push({ copies, count, tiles, encode, model, serialization, reopen, cacheRead });
    if (!values.keep) rmSync(scene, { force: true });
    rmSync(`${scene}.semcache`, { force: true });
}

const gb = (b) => (b / 1e9).toFixed(2);
console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; onnxruntime-node ${values.threads} threads.`);
const load = (l) => l.map((v) => v.toFixed(1)).join(" / ");
console.log(`Run ${startedAt}Z to ${new Date().toISOString().slice(11, 16)}Z; load average (1 / 5 / 15 min) ${load(loadBefore)} at the start, ${load(loadavg())} at the end (the machine is shared).`);
console.log(`Command: \`node scripts/scale-bench.mjs ${process.argv.slice(2).join(" ")}\` (each figure one run of \`bin/encode.mjs --sidecar --cache\` under /usr/bin/time).\n`);
console.log("| scene | Gaussians | tiles | encode wall s | us / Gaussian | encode CPU s | serialization s | model s | peak RSS | reopen wall s | cache read s | reopen peak RSS |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
    console.log(
        `| ${r.copies} rooms | ${r.count.toLocaleString("en")} | ${r.tiles} | ${r.encode.seconds.toFixed(1)} | ${((r.encode.seconds * 1e6) / r.count).toFixed(1)} | ${r.encode.cpu.toFixed(1)} | ${r.serialization.toFixed(1)} | ${r.model.toFixed(1)} | ${gb(r.encode.rss)} GB | ${r.reopen.seconds.toFixed(2)} | ${r.cacheRead.toFixed(2)} | ${gb(r.reopen.rss)} GB |`
    );
}
