#!/usr/bin/env node
// Writes the renderer-parity goldens (ARCHITECTURE.md contract 5) into test/golden/parity/: the runtime's WebGPU
// feature pass (in Debian's Chromium, SwiftShader) renders test/golden/parity/scene.ply with the fixed camera of
// test/golden/parityRender.ts. The factory's reference renderer is tested against these files, and
// test/golden/parity.spec.ts re-renders and compares so that drift in the runtime is caught.
//
//     node scripts/make-parity-golden.mjs
//
// Files (little-endian, rows top to bottom, columns left to right):
//   camera.json   width, height, viewMatrix / projectionMatrix / meshWorldMatrix (16 numbers, Babylon Matrix.m
//                 order), position [x,y,z], fovY (rad), near, far
//   targets.json  width, height, K, classCount, rowOrder, labelAlphaThreshold, noneLabel, files
//   rgb.f32       [H, W, 3] float32: premultiplied composite over black (sum c_i a_i T_i)
//   alpha.f32     [H, W] float32: coverage alpha
//   depth.f32     [H, W] float32: expected view depth NOT divided by alpha (sum z_i a_i T_i)
//   features.f32  [H, W, K] float32: composited f_sem_* (not divided by alpha)
//   labels.u8     [H, W] uint8: argmax of the composited one-hot sem_label classes (ties: lowest id), 255 where
//                 alpha < 0.5 or no labelled Gaussian contributes
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO, bundlePage, fromBase64, openPage, serveRepo } from "../bench/harness.mjs";

const OUT = join(REPO, "test", "golden", "parity");

async function main() {
    const classes = JSON.parse(await readFile(join(REPO, "models", "classes.json"), "utf8"));
    const classCount = classes.classes.length;
    const pagePath = await bundlePage("test/golden/parityPage.ts", "parity");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    try {
        const r = await page.evaluate(([url, n]) => globalThis.runParity(url, n), ["/test/golden/parity/scene.ply", classCount]);
        const { width, height } = r.camera;
        const files = { rgb: "rgb.f32", alpha: "alpha.f32", depth: "depth.f32", features: "features.f32", labels: "labels.u8" };
        const expectedBytes = { rgb: 12 * width * height, alpha: 4 * width * height, depth: 4 * width * height, features: 4 * r.K * width * height, labels: width * height };
        for (const [key, file] of Object.entries(files)) {
            const bytes = fromBase64(r[key]);
            if (bytes.length !== expectedBytes[key]) throw new Error(`${file}: ${bytes.length} bytes, expected ${expectedBytes[key]}`);
            await writeFile(join(OUT, file), bytes);
        }
        await writeFile(join(OUT, "camera.json"), JSON.stringify(r.camera, null, 1) + "\n");
        const targets = {
            width,
            height,
            K: r.K,
            classCount: r.classCount,
            rowOrder: "top-to-bottom",
            layout: { rgb: "HxWx3", alpha: "HxW", depth: "HxW", features: "HxWxK", labels: "HxW" },
            dtype: { rgb: "float32le", alpha: "float32le", depth: "float32le", features: "float32le", labels: "uint8" },
            depth: "view-space z of each splat centre, composited like colour, NOT divided by alpha",
            labelAlphaThreshold: r.labelAlphaThreshold,
            noneLabel: 255,
            files,
            renderer: "runtime FeatureSplatPass (shaders/featureSplat.*.wgsl), Babylon.js 9.35 WebGPU, Chromium SwiftShader",
        };
        await writeFile(join(OUT, "targets.json"), JSON.stringify(targets, null, 1) + "\n");
        console.log(`wrote ${Object.values(files).join(", ")}, camera.json, targets.json to ${OUT} (${width}x${height}, K=${r.K})`);
    } finally {
        await close();
        server.close();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
