// The one-call API (SemanticSplatting.CreateAsync) and the SceneLoader plugin, as an app uses them: Babylon's real
// render loop running, relative URLs given by the page, the parity scene (K = 8 features in its PLY) and the fixture
// VDVI model from its manifest. Issue 15: one call from a URL to a first class pick; scene.pick agrees.
import { ArcRotateCamera } from "@babylonjs/core/Cameras/arcRotateCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Scene } from "@babylonjs/core/scene";
import { AppendSceneAsync, ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import "@babylonjs/core/Loading/loadingScreen"; // AppendSceneAsync shows Babylon's loading screen, as with any loader
import { createTestEngine, type TestEngine } from "../support/webgpu";
import { SemanticSplatError, isSemanticError } from "../../src/errors";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { SemanticSplatting, resolveSemanticAssets, type SemanticSplattingOptions, type SemanticSplattingStage } from "../../src/api/semanticSplatting";
import { RegisterSemanticSplattingLoader } from "../../src/api/loaderPlugin";

const SCENE = "base/test/golden/parity/scene.ply"; // relative to the page (karma's context.html at the root)
/** The test build's layout: worker and wasm in build/test/, the fixture models with their manifest, the real class table. */
const ASSETS: SemanticSplattingOptions = {
    workerUrl: "base/build/test/worker.js",
    wasmUrl: "base/build/test/ort-wasm-simd-threaded.asyncify.wasm",
    modelsUrl: "base/test/fixtures/models/",
    classesUrl: "base/models/classes.json",
    clientOptions: { numThreads: 1 },
};

function expectCode(error: unknown, code: SemanticSplatError["code"]): void {
    expect(isSemanticError(error, code)).withContext(String(error)).toBeTrue();
}

describe("SemanticSplatting.CreateAsync (one call)", () => {
    let t: TestEngine;
    let scene: Scene;
    let camera: ArcRotateCamera;
    const made: SemanticSplatting[] = [];

    beforeAll(async () => {
        t = await createTestEngine({ width: 320, height: 256 });
        scene = new Scene(t.engine);
        camera = new ArcRotateCamera("camera", -Math.PI / 2, Math.PI / 2.5, 4, Vector3.Zero(), scene);
        camera.minZ = 0.05;
        t.engine.runRenderLoop(() => scene.render()); // before anything semantic exists, as apps do
    });
    afterEach(() => {
        for (const s of made.splice(0)) s.dispose();
    });
    afterAll(() => {
        t?.engine.stopRenderLoop();
        scene?.dispose();
        t?.dispose();
    });

    it("resolves asset URLs against the page, single overrides winning over assetsUrl", () => {
        const base = document.baseURI;
        const assets = resolveSemanticAssets({ assetsUrl: "vendor/semantic", modelsUrl: "my-models" });
        expect(assets.workerUrl).toBe(new URL("vendor/semantic/dist/worker.js", base).href);
        expect(assets.wasmUrl).toBe(new URL("vendor/semantic/dist/ort-wasm-simd-threaded.asyncify.wasm", base).href);
        expect(assets.modelsUrl).toBe(new URL("my-models/", base).href);
        expect(assets.classesUrl).toBe(new URL("my-models/classes.json", base).href);
    });

    it("loads the mesh, then features, model and segmentation in the background; picks agree with scene.pick; one dispose frees it", async () => {
        const stages: SemanticSplattingStage[] = [];
        const semantic = await SemanticSplatting.CreateAsync(scene, SCENE, { ...ASSETS, onProgress: (p) => stages.push(p.stage) });
        made.push(semantic);
        // the mesh is on the scene at once
        expect(semantic.mesh).toBeInstanceOf(SemanticGaussianSplattingMesh);
        expect(scene.meshes).toContain(semantic.mesh);
        expect(semantic.mesh.featureDimension).toBe(8);
        const { minimumWorld, maximumWorld } = semantic.mesh.getBoundingInfo().boundingBox;
        camera.setTarget(minimumWorld.add(maximumWorld).scale(0.5));
        camera.radius = maximumWorld.subtract(minimumWorld).length() * 0.9;

        const first = await semantic.whenReadyAsync();
        expect(stages[0]).toBe("mesh");
        expect(stages).toContain("model");
        expect(stages[stages.length - 1]).toBe("ready");
        expect(semantic.classes!.version).toBe("scannet20+ceiling/1");
        expect(semantic.model!.executionProvider).toBe("wasm"); // "auto" on SwiftShader
        expect(semantic.model!.executionProviderReason).toContain("software");
        expect(semantic.overlay!.enabled).toBeTrue(); // on by default
        expect(semantic.lifter!.viewCount).toBeGreaterThanOrEqual(1);
        expect(semantic.stats!.ticks).toBeGreaterThanOrEqual(1);
        const covered = Array.from(first.labels).filter((l) => l !== semantic.classes!.none).length;
        expect(covered).toBeGreaterThan(first.labels.length / 10);

        // a class at the canvas centre, the same through scene.pick (the pipeline hooks it)
        const rect = t.canvas.getBoundingClientRect();
        const pick = await semantic.pickAsync(rect.width / 2, rect.height / 2);
        expect(pick.empty).withContext(String(pick.empty)).toBeNull();
        expect(pick.className).not.toBe("none");
        const engine = t.engine;
        const scenePick = scene.pick(engine.getRenderWidth() / 2, engine.getRenderHeight() / 2);
        expect(scenePick.semantic?.className).toBe(pick.className);
        expect(scenePick.pickedMesh).toBe(semantic.mesh);

        const client = semantic.client;
        semantic.dispose();
        expect(semantic.mesh.isDisposed()).toBeTrue();
        expect(scene.meshes).not.toContain(semantic.mesh);
        expect(client.isDisposed).toBeTrue();
        expectCode(await semantic.pickAsync(1, 1).catch((e) => e), "DISPOSED");
        expect(t.engine.maxFramesInFlight).toBe(0); // nothing paces the loop any more
    }, 240000);

    it("a scene that does not load rejects with an error naming the URL, leaving nothing behind", async () => {
        const before = scene.meshes.length;
        const error = await SemanticSplatting.CreateAsync(scene, "base/test/fixtures/no-such-scene.ply", ASSETS).catch((e) => e);
        expect(error).toBeInstanceOf(SemanticSplatError);
        expect(String(error)).toContain(new URL("base/test/fixtures/no-such-scene.ply", document.baseURI).href);
        expect(scene.meshes.length).toBe(before);
    }, 60000);

    it("a models folder without a manifest: whenReadyAsync and onErrorObservable get MODEL_NOT_FOUND naming the manifest URL", async () => {
        const semantic = await SemanticSplatting.CreateAsync(scene, SCENE, { ...ASSETS, modelsUrl: "base/test/fixtures/no-models/" });
        made.push(semantic);
        const seen: SemanticSplatError[] = [];
        semantic.onErrorObservable.add((e) => seen.push(e));
        const error = await semantic.whenReadyAsync().catch((e) => e);
        expectCode(error, "MODEL_NOT_FOUND");
        expect(String(error)).toContain(new URL("base/test/fixtures/no-models/manifest.json", document.baseURI).href);
        expect(semantic.error).toBe(error);
        expect(scene.meshes).toContain(semantic.mesh); // the scene still shows it
    }, 60000);
});

describe("the SceneLoader plugin (RegisterSemanticSplattingLoader)", () => {
    let t: TestEngine;
    let scene: Scene;

    beforeAll(async () => {
        t = await createTestEngine({ width: 64, height: 64 });
        scene = new Scene(t.engine);
        RegisterSemanticSplattingLoader();
        RegisterSemanticSplattingLoader(); // twice is fine
    });
    afterAll(() => {
        scene?.dispose();
        t?.dispose();
    });

    it("ImportMeshAsync and AppendSceneAsync with pluginExtension '.semantic' yield semantic meshes with the file's features", async () => {
        const { meshes } = await ImportMeshAsync("/base/test/golden/parity/scene.ply", scene, { pluginExtension: ".semantic" });
        expect(meshes.length).toBe(1);
        const mesh = meshes[0] as SemanticGaussianSplattingMesh;
        expect(mesh).toBeInstanceOf(SemanticGaussianSplattingMesh);
        expect(mesh.featureDimension).toBe(8);
        expect(mesh.gaussianCount).toBeGreaterThan(0);
        const before = scene.meshes.length;
        await AppendSceneAsync("/base/test/golden/parity/scene.ply", scene, { pluginExtension: ".semantic", pluginOptions: { semanticSplatting: { name: "appended" } } });
        expect(scene.meshes.length).toBe(before + 1);
        const appended = scene.meshes[scene.meshes.length - 1];
        expect(appended).toBeInstanceOf(SemanticGaussianSplattingMesh);
        expect(appended.name).toBe("appended");
        mesh.dispose();
        appended.dispose();
    }, 60000);

    it("a file the plugin cannot read fails with the SemanticSplatError inside Babylon's load error, and adds nothing", async () => {
        const before = scene.meshes.length;
        const bytes = new TextEncoder().encode("ply\nformat ascii 1.0\nelement vertex 1\nend_header\n");
        const error = await ImportMeshAsync(bytes, scene, { pluginExtension: ".semantic" }).catch((e) => e);
        expect(String(error)).toContain("the vertex element has no 'x' property");
        expect((error as { innerError?: unknown }).innerError).toBeInstanceOf(SemanticSplatError);
        expect(scene.meshes.length).toBe(before);
        const missing = await ImportMeshAsync("/base/test/fixtures/no-such-scene.ply", scene, { pluginExtension: ".semantic" }).catch((e) => e);
        expect(String(missing)).toContain("no-such-scene.ply"); // the URL tried
        expect(scene.meshes.length).toBe(before);
    }, 60000);
});
