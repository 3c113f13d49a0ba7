#!/usr/bin/env node
// The model work of a tiled encode (BENCHMARKS.md, "Curve-aligned tiles"): for each scene and core size, the tiles
// the plan makes and the Gaussians of their receptive fields summed over all model calls, as a multiple of the scene
// (1.00 = the whole-scene encode's work), and the largest call. The encoder is NOT run: encodeChannels gets a model
// stand-in that counts each call's rows and returns zero features, so 6 M Gaussians take seconds.
//
//     npm run build && node scripts/tile-work.mjs [--scenes a.ply,b.ply] [--tiles 20000,22000,40000]
//         [--field-gaussians 300000 | --field-gaussians 3x] [--lib OTHER/dist/node-encoder.js]
// --lib measures another build (e.g. an older commit in a `git worktree`) with the same scenes. SynthRooms test rooms:
//     cd factory && python3 -c "from rtgs2.synthrooms.generator import generate_room; from rtgs2.ply import write_ply; \
//         [write_ply(f'/tmp/room{s}.ply', generate_room(s).gaussians) for s in (6000, 6001, 6002, 6005)]"
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { plyChannels } from "./plyChannels.mjs";
import { parseScriptArgs } from "./scriptArgs.mjs";

const REPO = new URL("..", import.meta.url).pathname;
const values = parseScriptArgs({
    scenes: { type: "string", default: `${REPO}demo/scenes/showcase/showcase.ply` },
    tiles: { type: "string", default: "20000,22000,40000" },
    "field-gaussians": { type: "string", default: "none" },
    model: { type: "string", default: `${REPO}models/gaussian-encoder-k16.onnx` },
    lib: { type: "string", default: `${REPO}dist/node-encoder.js` },
}, import.meta.url);
const lib = await import(resolve(values.lib));
const modelBytes = new Uint8Array(readFileSync(values.model));
const info = lib.encoderInfoFromMetadata(lib.readOnnxModelHeader(modelBytes, values.model).metadata, values.model);


const fieldOption = values["field-gaussians"];
console.log(`Command: \`node scripts/tile-work.mjs --scenes ${values.scenes.split(",").map((s) => basename(s)).join(",")} --tiles ${values.tiles} --field-gaussians ${fieldOption}\` (library ${values.lib === `${REPO}dist/node-encoder.js` ? "dist/" : values.lib})\n`);
console.log("| scene | Gaussians | cores | field cap | tiles | largest call | model work (x scene) |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const path of values.scenes.split(",")) {
    const { channels, count } = await plyChannels(lib, path);
    for (const tileGaussians of values.tiles.split(",").map(Number)) {
        const fieldGaussians = fieldOption === "none" ? Infinity : fieldOption === "3x" ? 3 * tileGaussians : Number(fieldOption);
        let rows = 0;
        const countRows = async (feeds) => {
            const n = feeds.gaussian_voxel.dims[0];
            rows += n;
            return { data: new Float32Array(n * info.k), dims: [n, info.k] };
        };
        const result = await lib.encodeChannels(channels, count, info, countRows, { tileGaussians, fieldGaussians }, { storeTileFeatures: () => {} });
        console.log(`| ${basename(path)} | ${count} | ${tileGaussians} | ${Number.isFinite(fieldGaussians) ? fieldGaussians : "none"} | ${result.tiles} | ${result.largestTile} | ${(rows / count).toFixed(2)} |`);
    }
}
