// Browser side of `node scripts/profile-feature-pass.mjs` (issue 2): where the feature pass spends its time next to
// Babylon's colour pass. Each variant is the feature pass with its registered WGSL text patched (regex replacements)
// or its blend mode changed, compiled as a new effect (a unique define); its frames alternate with colour frames,
// stepped and awaited like `npm run bench`. The variants are measurements only (several change the result on
// purpose); none of them is used by the library.
import { ShaderStore } from "@babylonjs/core/Engines/shaderStore";
import type { ShaderMaterial } from "@babylonjs/core/Materials/shaderMaterial";
import { FeatureSplatPass, type SplatPrimitive } from "../src/rendering/featureSplatPass";
import { openBenchScene, timed, type BenchCameraPose, type BenchScene } from "./benchScene";

export interface ProfileVariant {
    name: string;
    K: number;
    /** [regex source, replacement] pairs applied to the pass's registered vertex / fragment WGSL. */
    vertex?: [string, string][];
    fragment?: [string, string][];
    /** Babylon alpha mode for the pass's material (default: the pass's own). */
    alphaMode?: number;
    /** The pass's splat primitive (default: the pass's own; FeatureSplatPassOptions.splatPrimitive). */
    splatPrimitive?: SplatPrimitive;
    /** Read the image back once and report the mean of the depth channel (fragment-counting variants). */
    meanDepth?: boolean;
}

export interface ProfileSetup {
    sceneUrl: string;
    camera?: BenchCameraPose;
    width: number;
    height: number;
    /** [regex source, replacement] pairs for Babylon's own splat vertex shader (before anything compiles). */
    colourVertex?: [string, string][];
}

function patch(text: string, pairs: [string, string][] | undefined): string {
    for (const [pattern, replacement] of pairs ?? []) {
        const re = new RegExp(pattern, "g");
        if (!re.test(text)) throw new Error(`profile patch: /${pattern}/ matches nothing`);
        text = text.replace(re, replacement);
    }
    return text;
}

let state: BenchScene | undefined;
let variantCount = 0;

async function setupProfile(req: ProfileSetup): Promise<{ gaussians: number }> {
    if (req.colourVertex) {
        ShaderStore.ShadersStoreWGSL["gaussianSplattingVertexShader"] = patch(ShaderStore.ShadersStoreWGSL["gaussianSplattingVertexShader"], req.colourVertex);
    }
    state = await openBenchScene({ ...req, raisedLimits: true, cameraName: "profileCamera" });
    return { gaussians: state.mesh.gaussianCount };
}

async function runVariant(v: ProfileVariant, frames: number): Promise<{ name: string; K: number; ms: number[]; colourMs: number[]; meanDepth?: number }> {
    const { engine, scene, mesh, errors } = state!;
    if (mesh.featureDimension !== v.K) {
        const values = new Float32Array(mesh.gaussianCount * v.K);
        for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 12.9898) * 0.5;
        mesh.setFeatures(values, v.K);
    }
    const pass = new FeatureSplatPass(scene, mesh, { width: 320, height: 240, attachmentFormat: "rgba32float", splatPrimitive: v.splatPrimitive });
    // The pass registered its shaders in its constructor and compiles them on first use: patch the text now, and
    // give every variant its own define so that Babylon compiles a new effect instead of reusing a cached one.
    const names = Object.keys(ShaderStore.ShadersStoreWGSL).filter((n) => n.startsWith("semanticFeatureSplat_") && n.endsWith(`_k${v.K}VertexShader`));
    const saved = new Map<string, string>();
    for (const n of names) {
        const fragment = n.replace(/VertexShader$/, "FragmentShader");
        saved.set(n, ShaderStore.ShadersStoreWGSL[n]).set(fragment, ShaderStore.ShadersStoreWGSL[fragment]);
        ShaderStore.ShadersStoreWGSL[n] = patch(saved.get(n)!, v.vertex);
        ShaderStore.ShadersStoreWGSL[fragment] = patch(saved.get(fragment)!, v.fragment);
    }
    const materials = (pass as unknown as { _passes: { material: ShaderMaterial }[] })._passes.map((p) => p.material);
    const id = ++variantCount;
    for (const m of materials) {
        m.options.defines.push(`#define PROFILE_VARIANT_${id}`);
        if (v.alphaMode !== undefined) m.alphaMode = v.alphaMode;
    }
    try {
        let drew = false;
        for (let i = 0; i < 600 && !drew; i++) {
            await timed(engine, () => (drew = pass.renderPasses()));
            await new Promise((r) => setTimeout(r, 10));
        }
        if (!drew) throw new Error(`${v.name}: the pass never drew`);
    } finally {
        for (const [n, text] of saved) ShaderStore.ShadersStoreWGSL[n] = text;
    }
    await timed(engine, () => pass.renderPasses());
    let meanDepth: number | undefined;
    if (v.meanDepth) {
        const frame = await pass.readbackAsync();
        meanDepth = frame.depth.reduce((s, x) => s + x, 0) / frame.depth.length;
    }
    const ms: number[] = [];
    const colourMs: number[] = [];
    for (let i = 0; i < frames; i++) {
        colourMs.push(await timed(engine, () => scene.render()));
        ms.push(await timed(engine, () => pass.renderPasses()));
    }
    pass.dispose();
    if (errors.length) throw new Error(`${v.name}: uncaptured WebGPU errors: ${errors.splice(0).join("; ")}`);
    return { name: v.name, K: v.K, ms, colourMs, meanDepth };
}

const page = globalThis as unknown as { setupProfile: typeof setupProfile; runVariant: typeof runVariant; pageReady: boolean };
page.setupProfile = setupProfile;
page.runVariant = runVariant;
page.pageReady = true;
