// Issue 13's acceptance test with the shipped encoder: a Z-up, centimetre copy of the SynthRooms showcase room
// (demo/scenes/showcase/showcase.ply, 80,369 Gaussians), encoded by the command with default options, gives the same
// features as the canonical file: cosine >= 0.95 per Gaussian on average. The copy is made here in file space
// (the file is +Y down; Babylon's loader flips y, so the copy's scene is s R applied to the room's scene).
// Run by scripts/test-all.sh after the library build: node --test test/frame/showcaseFrame.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const SHOWCASE = join(root, "demo/scenes/showcase/showcase.ply");
const MODEL = join(root, "models/gaussian-encoder-k16.onnx");
const dir = mkdtempSync(join(tmpdir(), "showcase-frame-"));
process.on("exit", () => process.env.KEEP || rmSync(dir, { recursive: true, force: true }));

function quatMul(a, b) {
    const [aw, ax, ay, az] = a, [bw, bx, by, bz] = b;
    return [aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw];
}

/** The file moved by p -> s R_f p (positions), log-scales + ln s, rotations R_f q: a binary little-endian PLY. */
function transformedCopy(bytes, rf, qf, s) {
    const header = lib.parsePlyHeader(bytes, "showcase.ply");
    assert.equal(header.encoding, "binary_little_endian");
    const out = new Uint8Array(bytes);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const at = (name) => {
        const p = header.vertex.properties.find((q) => q.name === name);
        assert.ok(p && p.typeName === "float", `${name} is a float property`);
        return p.offset;
    };
    const [x, y, z] = ["x", "y", "z"].map(at);
    const scales = ["scale_0", "scale_1", "scale_2"].map(at);
    const rots = ["rot_0", "rot_1", "rot_2", "rot_3"].map(at);
    const stride = header.vertexRowByteSize;
    for (let i = 0; i < header.vertexCount; i++) {
        const o = header.vertexDataOffset + i * stride;
        const p = [view.getFloat32(o + x, true), view.getFloat32(o + y, true), view.getFloat32(o + z, true)];
        [x, y, z].forEach((off, j) => view.setFloat32(o + off, s * (rf[3 * j] * p[0] + rf[3 * j + 1] * p[1] + rf[3 * j + 2] * p[2]), true));
        for (const off of scales) view.setFloat32(o + off, view.getFloat32(o + off, true) + Math.log(s), true);
        const q = quatMul(qf, rots.map((off) => view.getFloat32(o + off, true)));
        rots.forEach((off, j) => view.setFloat32(o + off, q[j], true));
    }
    return out;
}

test("a Z-up centimetre copy of the showcase room, encoded with default options, has the canonical file's features", { skip: !existsSync(SHOWCASE) || !existsSync(MODEL) }, () => {
    // scene (after the loader's y flip) Z-up: R = +Y -> +Z; in file space R_f = F R F with F = diag(1, -1, 1):
    // R = [[1,0,0],[0,0,-1],[0,1,0]] -> R_f = [[1,0,0],[0,0,1],[0,-1,0]], a -90 degree turn about x: q = (cos 45, -sin 45, 0, 0)
    const rf = [1, 0, 0, 0, 0, 1, 0, -1, 0];
    const qf = [Math.SQRT1_2, -Math.SQRT1_2, 0, 0];
    const copy = join(dir, "showcase-zup-cm.ply");
    writeFileSync(copy, transformedCopy(readFileSync(SHOWCASE), rf, qf, 100));
    const run = (scene, out) => {
        const r = spawnSync(process.execPath, [join(root, "bin/encode.mjs"), scene, "--model", MODEL, "--out", out, "--quiet"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return r.stderr;
    };
    const logA = run(SHOWCASE, join(dir, "a.ply"));
    const logB = run(copy, join(dir, "b.ply"));
    assert.match(logA, /frame \(auto\): up \+Y \(tilt 0 deg\)/);
    assert.match(logB, /frame \(auto\): up \+Z \(tilt 0 deg\), 1 unit = 0\.00976 m/);
    const read = (f) => lib.readSemanticAttributes(readFileSync(f), f);
    const a = read(join(dir, "a.ply")), b = read(join(dir, "b.ply"));
    assert.equal(a.count, 80369);
    assert.equal(b.count, a.count);
    const k = a.featureDim;
    let sum = 0;
    for (let i = 0; i < a.count; i++) {
        let dot = 0, na = 0, nb = 0;
        for (let c = 0; c < k; c++) {
            const u = a.features[i * k + c], v = b.features[i * k + c];
            dot += u * v; na += u * u; nb += v * v;
        }
        sum += dot / Math.sqrt(na * nb);
    }
    const mean = sum / a.count;
    console.log(`showcase: mean cosine ${mean.toFixed(4)} between the canonical and the Z-up centimetre copy's features`);
    assert.ok(mean >= 0.95, `mean cosine ${mean}`);
});
