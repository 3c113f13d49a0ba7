// The page of `node scripts/scale-browser-bench.mjs` (BENCHMARKS.md, "Large scenes in the browser"): a 1-6 M
// Gaussian scene in a real Chromium tab (WebGPU), in two separate browsers so that each phase's peak memory is its own:
//  - "encode": the scene loaded into a SemanticGaussianSplattingMesh, then encoded by the Gaussian encoder in the
//    inference worker (onnxruntime-web, wasm EP, 2 threads, tiled: src/encoder/tiling.ts) exactly as the mesh's
//    own encodeFeatures() does (encodeMeshFeatures, cache off). The Node side reads the tab's memory from /proc.
//  - "render": Babylon's colour pass against the feature pass (K = 16 and 32, random features), the readback of a
//    feature frame, label lifting of that frame (LabelLifter.accumulate, propagate) and the pick through lifted labels
//    (pickLiftedLabel), which are the per-Gaussian parts of the path; the feature texture's GPU size is computed
//    from the texture the mesh really allocated (its width, height, layers and format).
import { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticGaussianSplattingMesh } from "../src/mesh/semanticGaussianSplattingMesh";
import { encodeMeshFeatures } from "../src/encoder/encodeMesh";
import { FeatureSplatPass, type FeatureFrame } from "../src/rendering/featureSplatPass";
import { LabelLifter, liftingGaussiansOf, pickLiftedLabel } from "../src/lifting";
import { seededRandom } from "../test/support/seededRandom";
import { timed, type BenchScene } from "./benchScene";

interface Opened extends BenchScene {
    loadMs: number;
}

let current: Opened | null = null;

async function open(sceneUrl: string, width: number, height: number, doNotHandleContextLost: boolean, sourceInMemory: boolean): Promise<Opened> {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    document.body.appendChild(canvas);
    // Raised limits and every feature (what the demo and the pipeline ask for): K = 16 fits one pass.
    // doNotHandleContextLost: Babylon then keeps no CPU copy of each texture's upload data (its splat textures' among them).
    const engine = new WebGPUEngine(canvas, { antialias: false, adaptToDeviceRatio: false, setMaximumLimits: true, enableAllFeatures: true, doNotHandleContextLost });
    await engine.initAsync();
    const errors: string[] = [];
    engine._device.addEventListener("uncapturederror", (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
    const scene = new Scene(engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const start = performance.now();
    // sourceInMemory false (the bench's default): the PLY is kept as a Blob for saving, outside the tab's memory.
    const mesh = await SemanticGaussianSplattingMesh.LoadAsync(sceneUrl, scene, { paceRenderLoop: false, sourceInMemory });
    const loadMs = performance.now() - start;
    const camera = new FreeCamera("scaleCamera", Vector3.Zero(), scene);
    camera.minZ = 0.05;
    // One room of the grid seen from above its corner (copies sit side by side, scripts/make-big-scene.mjs): the view
    // a person walking through one room of a large capture has; every Gaussian is still sorted and drawn or culled.
    mesh.computeWorldMatrix(true);
    const box = mesh.getBoundingInfo().boundingBox;
    const min = box.minimumWorld;
    const max = box.maximumWorld;
    const side = Math.max(max.x - min.x, max.z - min.z);
    camera.position = new Vector3(min.x - 0.05 * side, max.y + 0.15 * side, min.z - 0.05 * side);
    camera.setTarget(new Vector3((min.x + max.x) / 2, min.y, (min.z + max.z) / 2));
    current = { canvas, engine, scene, mesh, camera, errors, loadMs };
    return current;
}

async function loadScene(request: { sceneUrl: string; width: number; height: number; doNotHandleContextLost?: boolean; sourceInMemory?: boolean }) {
    const o = await open(request.sceneUrl, request.width, request.height, request.doNotHandleContextLost ?? false, request.sourceInMemory ?? false);
    const { width, height } = o.mesh.splatTextureSize;
    return { gaussians: o.mesh.gaussianCount, loadMs: o.loadMs, splatTexture: { width, height }, maxTextureDimension2D: o.engine._device.limits.maxTextureDimension2D };
}

async function encode(request: { modelUrl: string; workerUrl: string; wasmUrl: string; threads: number; tileGaussians?: number }) {
    const o = current!;
    const start = performance.now();
    const stages: Record<string, number> = {};
    const progress: { ms: number; stage: string; tile?: number }[] = [];
    const epochMs = Date.now();
    const result = await encodeMeshFeatures(
        o.mesh,
        {
            modelUrl: request.modelUrl,
            cache: false,
            tileGaussians: request.tileGaussians,
            clientOptions: { workerUrl: request.workerUrl, wasmUrl: request.wasmUrl, numThreads: request.threads, callTimeoutMs: 0 },
            onProgress: (p) => {
                const at = performance.now() - start;
                stages[p.stage] = at;
                // where the encode was when (the Node side's sampler says) the tab's memory peaked
                progress.push({ ms: Math.round(at), stage: p.stage, tile: p.tile });
            },
        }
    );
    const totalMs = performance.now() - start;
    return { totalMs, epochMs, progress, k: result.k, tiles: result.tiles, largestTile: result.largestTile, timings: result.timings, featureTexture: textureInfo(o.mesh), errors: o.errors.slice() };
}

function textureInfo(mesh: SemanticGaussianSplattingMesh) {
    const t = mesh.featureTexture?.getInternalTexture();
    if (!t) return null;
    // RGBA32UI (TEXTUREFORMAT_RGBA_INTEGER + TEXTURETYPE_UNSIGNED_INTEGER): 16 bytes a texel, no mipmaps.
    return { width: t.width, height: t.height, layers: t.depth, format: "rgba32uint", bytes: t.width * t.height * t.depth * 16 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function render(request: { featureDimensions: number[]; frames: number; segWidth: number; segHeight: number; picks: number }) {
    const o = current!;
    const { engine, scene, mesh } = o;
    // the first sort, then a warm-up frame
    for (let i = 0; i < 2000 && !mesh.isReady(true); i++) {
        await timed(engine, () => scene.render());
        await new Promise((r) => setTimeout(r, 20));
    }
    if (!mesh.isReady(true)) throw new Error("the mesh never became ready (first sort)");
    await timed(engine, () => scene.render());
    const rnd = seededRandom(1);
    const rows: unknown[] = [];
    for (const K of request.featureDimensions) {
        const values = new Uint16Array(mesh.gaussianCount * K);
        // random fp16 values in [-1, 1): sign, exponent 0..14, any mantissa (setFeatures takes fp16 bits)
        for (let i = 0; i < values.length; i++) values[i] = ((rnd() < 0.5 ? 1 : 0) << 15) | (Math.floor(rnd() * 15) << 10) | Math.floor(rnd() * 1024);
        const setStart = performance.now();
        mesh.setFeatures(values, K);
        const setFeaturesMs = performance.now() - setStart;
        const texture = textureInfo(mesh);
        const pass = new FeatureSplatPass(scene, mesh, { width: request.segWidth, height: request.segHeight });
        let drew = false;
        for (let i = 0; i < 600 && !drew; i++) {
            await timed(engine, () => (drew = pass.renderPasses()));
            await new Promise((r) => setTimeout(r, 10));
        }
        if (!drew) throw new Error(`K=${K}: the feature pass never drew`);
        const colourMs: number[] = [];
        const featureMs: number[] = [];
        for (let i = 0; i < request.frames; i++) {
            colourMs.push(await timed(engine, () => scene.render()));
            featureMs.push(await timed(engine, () => pass.renderPasses()));
        }
        // readback of the frame the last renderPasses() drew (submitted): copy + unpack on this thread
        const readStart = performance.now();
        const frame: FeatureFrame = await pass.readbackAsync();
        const readbackMs = performance.now() - readStart;
        const row: Record<string, unknown> = { K, passes: pass.plans.length, attachmentFormat: pass.attachmentFormat, splatPrimitive: pass.splatPrimitive, texture, setFeaturesMs, colourMs, featureMs, colourMedianMs: median(colourMs), featureMedianMs: median(featureMs), readbackMs };
        if (K === request.featureDimensions[0]) Object.assign(row, lift(mesh, frame, request.picks));
        rows.push(row);
        pass.dispose();
    }
    return { gaussians: mesh.gaussianCount, rows, errors: o.errors.slice() };
}

/** Label lifting and the lifted pick on one real feature frame (labels: argmax of its first 21 channels). */
function lift(mesh: SemanticGaussianSplattingMesh, frame: FeatureFrame, picks: number) {
    const n = frame.width * frame.height;
    const classes = Math.min(21, frame.featureDimension);
    const labels = new Uint8Array(n).fill(255);
    for (let p = 0; p < n; p++) {
        if (frame.alpha[p] < 0.5) continue;
        let best = 0;
        for (let c = 1; c < classes; c++) if (frame.features[c * n + p] > frame.features[best * n + p]) best = c;
        labels[p] = best;
    }
    let t = performance.now();
    const gaussians = liftingGaussiansOf(mesh);
    const gaussiansMs = performance.now() - t;
    const lifter = new LabelLifter(mesh.gaussianCount, { classCount: 21 });
    t = performance.now();
    const stats = lifter.accumulate({ width: frame.width, height: frame.height, labels, alpha: frame.alpha, expectedDepth: frame.depth, viewMatrix: frame.viewMatrix, projectionMatrix: frame.projectionMatrix }, gaussians);
    const accumulateMs = performance.now() - t;
    const propagation = lifter.propagate(gaussians);
    const lifted = lifter.labels;
    const pickMs: number[] = [];
    const rnd = seededRandom(7);
    let hits = 0;
    for (let i = 0; i < picks; i++) {
        t = performance.now();
        const pick = pickLiftedLabel({ x: rnd() * frame.width, y: rnd() * frame.height, width: frame.width, height: frame.height, viewMatrix: frame.viewMatrix, projectionMatrix: frame.projectionMatrix }, gaussians, lifted, gaussians.radii);
        pickMs.push(performance.now() - t);
        if (pick.label !== 255) hits++;
    }
    return { liftingGaussiansMs: gaussiansMs, accumulateMs, voted: stats.voted, propagateMs: propagation.ms, propagateBuildMs: propagation.buildMs, propagated: propagation.propagated, pickMedianMs: median(pickMs), pickHits: hits, picks };
}

function close() {
    if (!current) return;
    current.mesh.dispose();
    current.scene.dispose();
    current.engine.dispose();
    current.canvas.remove();
    current = null;
}

const page = globalThis as unknown as Record<string, unknown>;
Object.assign(page, { scaleLoad: loadScene, scaleEncode: encode, scaleRender: render, scaleClose: close });
page.pageReady = true;
