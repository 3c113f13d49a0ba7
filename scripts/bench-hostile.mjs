#!/usr/bin/env node
// Bombs and lying files through readSceneFile (the reading path of the browser loader and the encode command):
// time to the typed refusal and peak memory above the process's baseline. Each case runs in its own Node process
// (peak RSS from process.resourceUsage().maxRSS, so the figure is the true peak, not a sample); the bomb is built
// in that process before the baseline is taken, streamed through zlib so it never exists inflated.
// Usage: npm run build && node scripts/bench-hostile.mjs   (results go in BENCHMARKS.md, "Hostile files")
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import zlib from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Compresses `size` zeros after `prefix` without ever holding them: 1 MiB chunks through a zlib stream. */
async function compressedZeros(kind, prefix, size) {
    const stream = kind === "gzip" ? zlib.createGzip({ level: 9 }) : zlib.createDeflateRaw({ level: 9 });
    const out = [];
    stream.on("data", (c) => out.push(c));
    const done = new Promise((resolve) => stream.on("end", resolve));
    const zeros = Buffer.alloc(MiB);
    stream.write(prefix);
    for (let written = 0; written < size; written += MiB) {
        if (!stream.write(zeros)) await new Promise((r) => stream.once("drain", r));
    }
    stream.end();
    await done;
    return new Uint8Array(Buffer.concat(out));
}

function spzHeader(count) {
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    view.setUint32(0, 0x5053474e, true);
    view.setUint32(4, 3, true);
    view.setUint32(8, count, true);
    return header;
}

/** A ZIP with one deflated entry `name` whose central directory declares `declared` bytes. */
function zipOne(name, compressed, declared, extra = []) {
    const entries = [{ name, data: compressed, method: 8, size: declared }, ...extra];
    const enc = new TextEncoder();
    const parts = [];
    const central = [];
    let offset = 0;
    for (const e of entries) {
        const n = enc.encode(e.name);
        const local = new Uint8Array(30 + n.length);
        const lv = new DataView(local.buffer);
        lv.setUint32(0, 0x04034b50, true);
        lv.setUint16(8, e.method, true);
        lv.setUint32(18, e.data.length, true);
        lv.setUint32(22, e.size, true);
        lv.setUint16(26, n.length, true);
        local.set(n, 30);
        const c = new Uint8Array(46 + n.length);
        const cv = new DataView(c.buffer);
        cv.setUint32(0, 0x02014b50, true);
        cv.setUint16(10, e.method, true);
        cv.setUint32(20, e.data.length, true);
        cv.setUint32(24, e.size, true);
        cv.setUint16(28, n.length, true);
        cv.setUint32(42, offset, true);
        c.set(n, 46);
        parts.push(local, e.data);
        central.push(c);
        offset += local.length + e.data.length;
    }
    const size = central.reduce((s, c) => s + c.length, 0);
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, entries.length, true);
    ev.setUint16(10, entries.length, true);
    ev.setUint32(12, size, true);
    ev.setUint32(16, offset, true);
    return new Uint8Array(Buffer.concat([...parts, ...central, end]));
}

const CASES = {
    "gzip bomb: 1 GiB of zeros as .spz": async () => compressedZeros("gzip", new Uint8Array(0), GiB),
    "gzip bomb: valid SPZ header (1 Gaussian) + 1 GiB of zeros": async () => compressedZeros("gzip", spzHeader(1), GiB),
    "gzip bomb: SPZ header claiming 16 M Gaussians + 1 GiB of zeros": async () => compressedZeros("gzip", spzHeader(16 * MiB), GiB),
    "zip bomb: .sog meta.json entry declaring 100 bytes, inflating to 1 GiB": async () => zipOne("meta.json", await compressedZeros("deflate-raw", new Uint8Array(0), GiB), 100),
    "zip: .sog entry declaring 4 GiB - 1 (past the budget)": async () => zipOne("meta.json", new Uint8Array([3, 0]), 0xfffffffe),
    "ascii PLY: 397 bytes claiming 4294967295 vertices": async () => {
        const header = "ply\nformat ascii 1.0\nelement vertex 4294967295\n" + ["x", "y", "z", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "f_dc_0", "f_dc_1", "f_dc_2"].map((p) => `property float ${p}\n`).join("") + "end_header\n";
        return new TextEncoder().encode(header.padEnd(397, "0 "));
    },
    "SOG meta.json claiming 50 M Gaussians": async () => new TextEncoder().encode(JSON.stringify({ version: 2, count: 50_000_000, means: { mins: [0, 0, 0], maxs: [1, 1, 1], files: ["a.webp", "b.webp"] }, scales: { codebook: [], files: ["c.webp"] }, quats: { files: ["d.webp"] }, sh0: { codebook: [], files: ["e.webp"] } })),
};
const NAMES = { "ascii PLY: 397 bytes claiming 4294967295 vertices": "liar.ply", "SOG meta.json claiming 50 M Gaussians": "meta.json" };

async function runCase(name) {
    const lib = await import(join(root, "dist/node-encoder.js"));
    const bytes = await CASES[name]();
    const fileName = NAMES[name] ?? (name.includes(".sog") ? "bomb.sog" : "bomb.spz");
    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    const baselinePeak = process.resourceUsage().maxRSS * 1024;
    const started = performance.now();
    let outcome;
    try {
        const content = await lib.readSceneFile(bytes, fileName);
        outcome = `loaded ${content.count} Gaussians (NOT refused)`;
    } catch (e) {
        outcome = `${e.code ?? e.name}: ${e.message}`;
    }
    const ms = performance.now() - started;
    const peak = process.resourceUsage().maxRSS * 1024;
    const extra = Math.max(0, peak - Math.max(baseline, baselinePeak));
    process.stdout.write(JSON.stringify({ name, inputBytes: bytes.length, ms, extraPeakMiB: extra / MiB, outcome }) + "\n");
}

if (process.argv[2] === "--case") {
    await runCase(process.argv[3]);
} else {
    console.log(`| case | input | refused in | peak memory above baseline | outcome |\n|---|---|---|---|---|`);
    for (const name of Object.keys(CASES)) {
        const r = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--case", name], { encoding: "utf8", timeout: 300000 });
        if (r.status !== 0) {
            console.log(`| ${name} | | | | FAILED: ${r.stderr.trim().split("\n").pop()} |`);
            continue;
        }
        const j = JSON.parse(r.stdout.trim().split("\n").pop());
        const input = j.inputBytes >= MiB ? `${(j.inputBytes / MiB).toFixed(1)} MiB` : `${(j.inputBytes / 1024).toFixed(1)} KiB`;
        console.log(`| ${j.name} | ${input} | ${j.ms.toFixed(1)} ms | ${j.extraPeakMiB.toFixed(1)} MiB | ${j.outcome.replace(/\|/g, "/")} |`);
    }
}
