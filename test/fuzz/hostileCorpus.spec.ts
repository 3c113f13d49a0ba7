// The hostile corpus (test/fuzz/hostileCorpus.mjs, generated at test time, seed 16) through the browser loader:
// every file is loaded into one existing mesh with mesh.loadAsync. A refused file must end in a typed
// SemanticSplatError naming it and leave the mesh exactly as it was; a loaded file must give finite splat data; files
// marked "load" load and "refuse" are refused; each settles within 30 s (a hang guard); no WebGPU validation error follows.
// Prints its counts.
import type { Scene } from "@babylonjs/core/scene";
import { RegisterSPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { isSemanticError } from "../../src/errors";
import { generateHostileCorpus } from "./hostileCorpus.mjs";

const SPZ_MODULE = "/base/node_modules/@adobe/spz/dist/spz.js";

describe("hostile corpus through the browser loader", () => {
    let t: TestEngine;
    let scene: Scene;
    beforeAll(() => RegisterSPLATFileLoader());
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    });

    it("every file: a typed error and the mesh unchanged, or finite data; as expected; within 30 s each", async () => {
        const v4 = new Uint8Array(await (await fetch("/assets/splats/fixtures/minimal-v4.spz")).arrayBuffer());
        const corpus = await generateHostileCorpus(16, { spzV4: v4 });
        expect(corpus.length).toBeGreaterThanOrEqual(300);
        const mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data: corpus[0].bytes, fileName: corpus[0].name }, scene);
        const problems: string[] = [];
        const byCode: Record<string, number> = {};
        let loaded = 0;
        for (const file of corpus) {
            const before = { count: mesh.gaussianCount, splats: mesh.splatsData, name: mesh.sourceFileName, features: mesh.featureValues, labels: mesh.labels };
            const started = performance.now();
            try {
                await mesh.loadAsync({ data: file.bytes, fileName: file.name }, { spzLibraryUrl: SPZ_MODULE, timeoutMs: 30000 });
                loaded++;
                if (file.expect === "refuse") problems.push(`${file.name}: loaded ${mesh.gaussianCount} Gaussians, expected a refusal`);
                const f32 = new Float32Array(mesh.splatsData!);
                if (f32.length !== mesh.gaussianCount * 8) problems.push(`${file.name}: ${f32.length / 8} rows for ${mesh.gaussianCount} Gaussians`);
                for (let i = 0; i < f32.length; i++) {
                    if (i % 8 < 6 && !Number.isFinite(f32[i])) {
                        problems.push(`${file.name}: loaded with a non-finite value in row ${i >> 3}`);
                        break;
                    }
                }
            } catch (error) {
                if (!isSemanticError(error)) problems.push(`${file.name}: untyped ${String(error)}`);
                else if (!error.message.startsWith(`${file.name}: `)) problems.push(`${file.name}: the message does not name the file: ${error.message}`);
                else byCode[error.code] = (byCode[error.code] ?? 0) + 1;
                if (file.expect === "load") problems.push(`${file.name}: refused, expected to load: ${String(error)}`);
                const after = { count: mesh.gaussianCount, splats: mesh.splatsData, name: mesh.sourceFileName, features: mesh.featureValues, labels: mesh.labels };
                for (const key of Object.keys(before) as (keyof typeof before)[]) {
                    if (after[key] !== before[key]) problems.push(`${file.name}: a failed load changed the mesh's ${key}`);
                }
            }
            const ms = performance.now() - started;
            if (ms > 30000) problems.push(`${file.name}: took ${ms.toFixed(0)} ms`);
        }
        console.log(`hostile corpus (browser loader): ${corpus.length} files, ${loaded} loaded, ${corpus.length - loaded} refused ${JSON.stringify(byCode)}`);
        expect(problems).toEqual([]);
        await stepFrames(scene, 3);
        expectNoWebGPUErrors(t);
        mesh.dispose();
    }, 600000);
});
