#!/usr/bin/env node
// Writes a large Gaussian Splatting scene for the scale benchmarks (BENCHMARKS.md, "Large scenes"): copies of a
// room PLY (default the SynthRooms showcase room, 80,369 Gaussians) side by side on a square grid in the horizontal
// plane, 0.5 m apart, as one binary PLY with the room's own properties. 12 copies ~ 1 M Gaussians, 37 ~ 3 M, 75 ~ 6 M.
//
//     node scripts/make-big-scene.mjs --copies 37 --out /tmp/rooms-3m.ply [--room demo/scenes/showcase/showcase.ply]
import { openSync, readFileSync, writeSync, closeSync, renameSync } from "node:fs";
import { parseScriptArgs } from "./scriptArgs.mjs";

const REPO = new URL("..", import.meta.url).pathname;
const values = parseScriptArgs({
    copies: { type: "string", default: "12" },
    out: { type: "string" },
    room: { type: "string", default: `${REPO}demo/scenes/showcase/showcase.ply` },
    gap: { type: "string", default: "0.5" },
}, import.meta.url);
const copies = Number(values.copies);
if (!Number.isInteger(copies) || copies < 1 || !values.out) {
    console.error("usage: node scripts/make-big-scene.mjs --copies N --out scene.ply [--room room.ply] [--gap 0.5]");
    process.exit(2);
}
const gap = Number(values.gap);

const bytes = readFileSync(values.room);
const headerEnd = bytes.indexOf("end_header\n");
if (headerEnd < 0) throw new Error(`${values.room}: not a PLY file (no end_header)`);
const headerText = bytes.subarray(0, headerEnd).toString("latin1");
const lines = headerText.split("\n");
if (!lines.includes("format binary_little_endian 1.0")) throw new Error(`${values.room}: only binary little-endian PLY files are read`);
const SIZES = { char: 1, uchar: 1, int8: 1, uint8: 1, short: 2, ushort: 2, int16: 2, uint16: 2, int: 4, uint: 4, int32: 4, uint32: 4, float: 4, float32: 4, double: 8, float64: 8 };
let count = -1, stride = 0;
const offsets = {};
let inVertex = false;
for (const line of lines) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === "element") {
        inVertex = parts[1] === "vertex";
        if (inVertex) count = Number(parts[2]);
        else if (count >= 0 && Number(parts[2]) > 0) throw new Error(`${values.room}: elements after "vertex" are not supported`);
    } else if (parts[0] === "property" && inVertex) {
        if (parts[1] === "list") throw new Error(`${values.room}: list properties are not supported`);
        offsets[parts[2]] = { offset: stride, type: parts[1] };
        stride += SIZES[parts[1]];
    }
}
for (const axis of ["x", "y", "z"]) if (offsets[axis]?.type !== "float") throw new Error(`${values.room}: property ${axis} must be a float`);
const body = bytes.subarray(headerEnd + "end_header\n".length, headerEnd + "end_header\n".length + count * stride);
const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
let minX = Infinity, maxX = -Infinity, minZ = Infinity, maxZ = -Infinity;
for (let i = 0; i < count; i++) {
    const x = view.getFloat32(i * stride + offsets.x.offset, true), z = view.getFloat32(i * stride + offsets.z.offset, true);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minZ = Math.min(minZ, z); maxZ = Math.max(maxZ, z);
}
const side = Math.ceil(Math.sqrt(copies));
const stepX = maxX - minX + gap, stepZ = maxZ - minZ + gap;

const header = headerText.replace(/element vertex \d+/, `element vertex ${count * copies}`)
    .replace(/\ncomment /, `\ncomment ${copies} copies of ${values.room.split("/").pop()} on a ${side} x ${side} grid (scripts/make-big-scene.mjs)\ncomment `) + "end_header\n";
const temporary = `${values.out}.part`;
const fd = openSync(temporary, "w");
writeSync(fd, Buffer.from(header, "latin1"));
const copy = Buffer.alloc(body.byteLength);
const out = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
for (let c = 0; c < copies; c++) {
    body.copy(copy);
    const dx = (c % side) * stepX, dz = Math.floor(c / side) * stepZ;
    for (let i = 0; i < count; i++) {
        out.setFloat32(i * stride + offsets.x.offset, view.getFloat32(i * stride + offsets.x.offset, true) + dx, true);
        out.setFloat32(i * stride + offsets.z.offset, view.getFloat32(i * stride + offsets.z.offset, true) + dz, true);
    }
    writeSync(fd, copy);
}
closeSync(fd);
renameSync(temporary, values.out);
console.log(`wrote ${values.out}: ${copies} copies x ${count} = ${count * copies} Gaussians`);
