#!/usr/bin/env node
// Tiled against whole-scene encoder features (docs/ENCODER.md, "Large scenes: tiles"; BENCHMARKS.md, "Tiled
// encoding"): each scene is encoded once whole and once per (tile size, halo) pair with the same model through
// onnxruntime-node, and the per-Gaussian cosine between the two is summarised (mean, 1st percentile, worst, share
// below 0.99), with the tiled run's time.
//
//     npm run build && node scripts/tiling-accuracy.mjs [--model models/gaussian-encoder-k16.onnx]
//         [--scenes a.ply,b.ply] [--tiles 20000,40000] [--halos 0,0.5,1,2] [--threads 2]
// Default scene: the SynthRooms showcase room. More SynthRooms rooms (PLY), e.g. the test split's first rooms:
//     cd factory && python3 -c "from rtgs2.synthrooms.generator import generate_room; from rtgs2.ply import write_ply; \
//         [write_ply(f'/tmp/room{s}.ply', generate_room(s).gaussians) for s in (6000, 6001, 6002, 6005)]"
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { plyChannels } from "./plyChannels.mjs";
import { cpus } from "node:os";
import { parseScriptArgs } from "./scriptArgs.mjs";

const REPO = new URL("..", import.meta.url).pathname;
const values = parseScriptArgs({
    model: { type: "string", default: `${REPO}models/gaussian-encoder-k16.onnx` },
    scenes: { type: "string", default: `${REPO}demo/scenes/showcase/showcase.ply` },
    tiles: { type: "string", default: "20000,40000" },
    halos: { type: "string", default: "0,0.5,1,2" },
    threads: { type: "string", default: "2" },
}, import.meta.url);

const lib = await import(`${REPO}dist/node-encoder.js`);
const ort = await import("onnxruntime-node");
const modelBytes = readFileSync(values.model);
const info = lib.encoderInfoFromMetadata(lib.readOnnxModelHeader(new Uint8Array(modelBytes), values.model).metadata, values.model);
const session = await ort.InferenceSession.create(new Uint8Array(modelBytes), { intraOpNumThreads: Number(values.threads) });
const runModel = async (feeds) => {
    const ortFeeds = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const outputs = await session.run(ortFeeds, ["features"]);
    return { data: outputs.features.data, dims: outputs.features.dims };
};


function compare(a, b, count, k) {
    const cos = new Float64Array(count);
    for (let i = 0; i < count; i++) {
        let dot = 0, na = 0, nb = 0;
        for (let c = 0; c < k; c++) {
            const x = a[i * k + c], y = b[i * k + c];
            dot += x * y; na += x * x; nb += y * y;
        }
        cos[i] = dot / Math.sqrt(na * nb);
    }
    const sorted = Float64Array.from(cos).sort();
    let sum = 0, below = 0;
    for (const c of cos) { sum += c; if (c < 0.99) below++; }
    return { mean: sum / count, p1: sorted[Math.floor(count * 0.01)], worst: sorted[0], below: below / count };
}

const tiles = values.tiles.split(",").map(Number);
const halos = values.halos.split(",").map(Number);
console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}, onnxruntime-node ${values.threads} threads.`);
console.log(`Model: ${basename(values.model)} (K=${info.k}). Command: \`node scripts/tiling-accuracy.mjs ${process.argv.slice(2).join(" ")}\`\n`);
console.log("| scene | Gaussians | tile core | halo m | tiles | mean cos | 1st pct | worst | < 0.99 | tiled s | whole s |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const scene of values.scenes.split(",")) {
    const { channels, count } = await plyChannels(lib, scene);
    const t0 = performance.now();
    const whole = await lib.encodeChannels(channels, count, info, runModel, { tileGaussians: Infinity });
    const wholeS = (performance.now() - t0) / 1000;
    for (const tile of tiles) {
        for (const halo of halos) {
            const t1 = performance.now();
            const tiled = await lib.encodeChannels(channels, count, info, runModel, { tileGaussians: tile, haloMetres: halo });
            const s = (performance.now() - t1) / 1000;
            const r = compare(whole.features, tiled.features, count, info.k);
            console.log(`| ${basename(scene)} | ${count} | ${tile} | ${halo} | ${tiled.tiles} (${tiled.largestTile}) | ${r.mean.toFixed(5)} | ${r.p1.toFixed(4)} | ${r.worst.toFixed(4)} | ${(100 * r.below).toFixed(2)} % | ${s.toFixed(2)} | ${wholeS.toFixed(2)} |`);
        }
    }
}
await session.release();
