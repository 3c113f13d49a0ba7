#!/usr/bin/env node
// Where the feature pass spends its time next to Babylon's colour pass (issue 2), on the indoor scene `npm run bench`
// uses (the SynthRooms showcase room, else the parity room corner), 320x240, K = 16, rgba32float targets on a
// raised-limits device. Each variant is the pass with its WGSL patched or its blend changed (bench/featurePassProfilePage.ts);
// its frames alternate with colour frames; variants run round-robin `--rounds` times and all their frames are pooled.
// Several variants change the image on purpose: they measure a cost, they are not candidates.
//
//     node scripts/profile-feature-pass.mjs [--frames 7] [--rounds 3] [--only name,name] [--colour-vertex-only]
//
// --colour-vertex-only clips every splat in Babylon's own colour shader too, so the "colour" column is then the
// colour pass's vertex stage plus its fixed frame cost.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO, bundlePage, openPage, serveRepo } from "../bench/harness.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
};
const FRAMES = Number(option("frames", "7"));
const ROUNDS = Number(option("rounds", "3"));
const ONLY = option("only", "");

// Clip every splat after all the vertex work: z < 0 is outside WebGPU's clip volume. The clipped position still
// depends on the projected one, so that the shader compiler cannot drop the projection as dead code.
const CLIP = "vertexOutputs.position = vec4f(vertexOutputs.position.xy, -1.0 - abs(vertexOutputs.position.z), 1.0);";
const CLIP_ALL = ["\\}\\s*$", `    ${CLIP}\n}\n`];
const NO_FEATURE_VERTEX = [
    ["let layer\\d+: vec4<u32> = textureLoad\\([^;]*\\);", ""],
    ["let pair\\d+: vec2f = unpack2x16float\\([^;]*\\);", ""],
    ["(vertexOutputs\\.vChannels\\d+ = )vec3f\\([^;]*\\);", "$1vec3f(0.0);"],
];
const NO_FEATURE_FRAGMENT = [["vec4f\\(fragmentInputs\\.vChannels\\d+, a\\)", "vec4f(0.0, 0.0, 0.0, a)"]];
// Counting: every kept fragment adds 1 to the depth channel (additive blending, alpha 1).
const COUNT_FRAGMENT = [
    ["let a: f32 = exp\\(A\\) \\* fragmentInputs\\.vColor\\.a;", "let a: f32 = 1.0;"],
    ["vec4f\\(fragmentInputs\\.vChannels0, a\\)", "vec4f(1.0, 1.0, 1.0, a)"],
];
// Measures what the vertex stage would cost if the splat's projection (clip centre, axes, colour) came from three
// texels written by an earlier pass: three loads and the corner arithmetic instead of readSplat + gaussianSplatting.
const PRECOMPUTED_PROJECTION = [
    "var splat: Splat[\\s\\S]*?(?=#if CHANNEL_ATTACHMENTS > 0\\n    // View depth)",
    `let pi: i32 = i32(splatIndex + 0.5);
    let puv = vec2<i32>(pi % 1024, pi / 1024);
    let t0 = textureLoad(centersTexture, puv, 0);
    let t1 = textureLoad(colorsTexture, puv, 0);
    let t2 = textureLoad(covariancesATexture, puv, 0);
    let worldPos = vec4f(t0.xyz, 1.0);
    vertexOutputs.vPosition = vertexInputs.position.xy;
    vertexOutputs.vColor = t2;
    vertexOutputs.position = vec4f(t0.xy + vertexInputs.position.x * t1.xy + vertexInputs.position.y * t1.zw, t0.z, t0.w);
`,
];
const ALPHA_DISABLE = 0; // Constants.ALPHA_DISABLE
const ALPHA_ONEONE = 6; // Constants.ALPHA_ONEONE

const VARIANTS = [
    { name: "shipped pass", K: 16 },
    { name: "quads (Babylon's geometry)", K: 16, splatPrimitive: "quad" },
    { name: "vertex stage only (all clipped)", K: 16, vertex: [CLIP_ALL] },
    { name: "vertex stage only (quads)", K: 16, splatPrimitive: "quad", vertex: [CLIP_ALL] },
    { name: "vertex only with projection from 3 texels (quads)", K: 16, splatPrimitive: "quad", vertex: [PRECOMPUTED_PROJECTION, CLIP_ALL] },
    { name: "no feature data (no loads; channels 0)", K: 16, vertex: NO_FEATURE_VERTEX, fragment: NO_FEATURE_FRAGMENT },
    { name: "no feature data + vertex only", K: 16, vertex: [...NO_FEATURE_VERTEX, CLIP_ALL], fragment: NO_FEATURE_FRAGMENT },
    { name: "blending off", K: 16, alphaMode: ALPHA_DISABLE },
    { name: "count kept fragments", K: 16, alphaMode: ALPHA_ONEONE, fragment: COUNT_FRAGMENT, meanDepth: true },
    { name: "count rasterized fragments (quads)", K: 16, splatPrimitive: "quad", alphaMode: ALPHA_ONEONE, fragment: [["let A: f32", "var A: f32"], ["discard;", "A = 0.0;"], ...COUNT_FRAGMENT], meanDepth: true },
    { name: "count rasterized fragments", K: 16, alphaMode: ALPHA_ONEONE, fragment: [["let A: f32", "var A: f32"], ["discard;", "A = 0.0;"], ...COUNT_FRAGMENT], meanDepth: true },
    ...[2, 5, 8, 11, 14].map((K) => ({ name: `K = ${K} (${1 + Math.ceil((K + 1) / 3)} attachments)`, K })),
].filter((v) => !ONLY || ONLY.split(",").includes(v.name));

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function indoorScene() {
    const showcase = join(REPO, "demo/scenes/showcase/showcase.json");
    if (existsSync(showcase) && existsSync(join(REPO, "demo/scenes/showcase/showcase.ply"))) {
        const c = JSON.parse(await readFile(showcase, "utf8")).camera;
        return { name: "SynthRooms showcase room", url: "/demo/scenes/showcase/showcase.ply", camera: c ? { position: c.position, target: c.target, fov: c.fov } : undefined };
    }
    return { name: "parity room corner", url: "/test/golden/parity/scene.ply", camera: { position: [0.25, 0.35, -0.4], target: [0, -0.05, 2.8], fov: 0.8 } };
}

async function main() {
    const scene = await indoorScene();
    const pagePath = await bundlePage("bench/featurePassProfilePage.ts", "featurePassProfile");
    const { server, origin } = await serveRepo();
    const { page, close } = await openPage(origin, pagePath);
    const pooled = new Map(VARIANTS.map((v) => [v.name, { ms: [], colourMs: [], meanDepth: undefined }]));
    try {
        const colourVertex = args.includes("--colour-vertex-only") ? [["#define CUSTOM_VERTEX_MAIN_END", `${CLIP}\n#define CUSTOM_VERTEX_MAIN_END`]] : undefined;
        const { gaussians } = await page.evaluate((r) => globalThis.setupProfile(r), { sceneUrl: scene.url, camera: scene.camera, width: 320, height: 240, colourVertex });
        console.log(`${scene.name}, ${gaussians} Gaussians, 320x240, rgba32float, raised limits; ${ROUNDS} rounds x ${FRAMES} frames per variant${colourVertex ? "; colour pass: every splat clipped" : ""}`);
        for (let round = 0; round < ROUNDS; round++) {
            for (const v of VARIANTS) {
                process.stderr.write(`round ${round + 1}: ${v.name}\n`);
                const r = await page.evaluate(([variant, frames]) => globalThis.runVariant(variant, frames), [v, FRAMES]);
                const p = pooled.get(v.name);
                p.ms.push(...r.ms);
                p.colourMs.push(...r.colourMs);
                if (r.meanDepth !== undefined) p.meanDepth = r.meanDepth;
            }
        }
    } finally {
        await close();
        server.close();
    }
    console.log("| variant | K | feature ms median (min) | colour ms median (min) | ratio of medians | fragments per pixel |");
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const v of VARIANTS) {
        const p = pooled.get(v.name);
        const f = median(p.ms);
        const c = median(p.colourMs);
        console.log(`| ${v.name} | ${v.K} | ${f.toFixed(1)} (${Math.min(...p.ms).toFixed(1)}) | ${c.toFixed(1)} (${Math.min(...p.colourMs).toFixed(1)}) | ${(f / c).toFixed(2)} | ${p.meanDepth?.toFixed(1) ?? ""} |`);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
