// One feature image per frame for a two-eye rig, drawn from the rig parent's (centre) pose, never one per eye.
//
// How Babylon 9.35 renders a camera with rig cameras (scene.pure.js): scene.render() -> _processSubCameras(parent)
// -> _renderForCamera(eye) for each rig camera (onBeforeCameraRender / onAfterCameraRender fire per eye), then sets
// the active camera back to the parent and updates the transform matrix; scene.onAfterRenderObservable fires ONCE
// per render(), after every eye. The feature pass and the pipeline draw from onAfterRenderObservable, so they draw
// once per frame with the parent's view. In WebXR the active camera is the WebXRCamera, a RIG_MODE_CUSTOM camera
// whose own pose is the viewer (head) pose and whose rig cameras are the eyes (XR/webXRCamera.js
// _updateFromXRSession). Its frame is simulated here with a fake session manager feeding a two-view viewer pose,
// so the real WebXRCamera code runs without a headset; a StereoscopicFreeCamera covers Babylon's built-in rigs.
import { Scene } from "@babylonjs/core/scene";
import type { Camera } from "@babylonjs/core/Cameras/camera";
import { StereoscopicFreeCamera } from "@babylonjs/core/Cameras/Stereoscopic/stereoscopicFreeCamera";
import { WebXRCamera } from "@babylonjs/core/XR/webXRCamera";
import type { WebXRSessionManager } from "@babylonjs/core/XR/webXRSessionManager";
import type { Viewport } from "@babylonjs/core/Maths/math.viewport";
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { Observable } from "@babylonjs/core/Misc/observable";
import { FeatureSplatPass, type FeatureFrame } from "../../src/rendering/featureSplatPass";
import { matricesDiffer } from "../../src/pipeline/picking";
import { SemanticSegmentationPipeline } from "../../src/pipeline/segmentationPipeline";
import { InferenceClient } from "../../src/inference/InferenceClient";
import { createTestEngine, expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { createTinySplatMesh } from "../support/tinyScene";
import { tinyGaussians } from "../rendering/fixtures";
import { FIXTURE_MANIFEST, FIXTURE_URL } from "../worker/fixtureInputs";
import { createQuadrantScene, loadClassTable } from "../pipeline/pipelineScene";

/** A WebXR session manager with just what WebXRCamera reads, and a viewer pose with two eyes 6.4 cm apart. */
function fakeXRSession(head: Vector3) {
    const projection = Float32Array.from(Matrix.PerspectiveFovRH(1.6, 0.9, 0.1, 100, false).m); // WebXR: RH, depth -1..1
    const view = (eye: "left" | "right", dx: number) => ({
        eye,
        transform: { position: { x: head.x + dx, y: head.y, z: head.z }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        projectionMatrix: projection,
    });
    const pose = {
        emulatedPosition: false,
        transform: { position: { x: head.x, y: head.y, z: head.z }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        views: [view("left", -0.032), view("right", 0.032)],
    };
    const frame = { getViewerPose: () => pose };
    return {
        onXRSessionInit: new Observable<unknown>(),
        onWorldScaleFactorChangedObservable: new Observable<unknown>(),
        onXRFrameObservable: new Observable<unknown>(),
        currentFrame: frame,
        referenceSpace: { getOffsetReferenceSpace: () => ({}) },
        baseReferenceSpace: {},
        worldScalingFactor: 1,
        getRenderTargetTextureForView: () => null,
        trySetViewportForView: (viewport: Viewport, v: { eye: string }) => {
            viewport.x = v.eye === "left" ? 0 : 0.5;
            viewport.y = 0;
            viewport.width = 0.5;
            viewport.height = 1;
            return true;
        },
        updateRenderState: () => {},
        resetReferenceSpace: () => {},
        /** One XR frame: what the session manager does before the scene renders. */
        frame(): void {
            this.onXRFrameObservable.notifyObservers(frame);
        },
    };
}

interface RigCounters {
    /** Per rendered frame: the cameras the scene rendered (eyes), and the splat mesh's draws inside the feature
     *  pass's first target (a GaussianSplattingMesh notifies onAfterRenderObservable only when it drew). */
    frames: { eyes: string[]; passDraws: number }[];
}

/** Counts, frame by frame, which cameras the scene rendered and how often the pass drew the splat mesh. */
function countPerFrame(scene: Scene, pass: FeatureSplatPass): RigCounters {
    const counters: RigCounters = { frames: [] };
    let eyes: string[] = [];
    let passDraws = 0;
    let inPass = false;
    scene.onAfterCameraRenderObservable.add((camera: Camera) => eyes.push(camera.name));
    pass.targets[0].onBeforeRenderObservable.add(() => (inPass = true));
    pass.targets[0].onAfterRenderObservable.add(() => (inPass = false));
    pass.mesh.onAfterRenderObservable.add(() => {
        if (inPass) passDraws++;
    });
    scene.getEngine().onEndFrameObservable.add(() => {
        counters.frames.push({ eyes, passDraws });
        eyes = [];
        passDraws = 0;
    });
    return counters;
}

describe("feature pass and pipeline with a two-eye rig (XR)", () => {
    let t: TestEngine;

    beforeEach(async () => {
        t = await createTestEngine({ width: 320, height: 256 });
    });
    afterEach(() => {
        expectNoWebGPUErrors(t);
        t.dispose();
    });

    /** Steps frames (calling `beforeFrame` before each) until `promise` settles. */
    const stepUntil = async <T>(scene: Scene, promise: Promise<T>, beforeFrame: () => void = () => {}, maxFrames = 600): Promise<T> => {
        let settled = false;
        promise.then(
            () => (settled = true),
            () => (settled = true)
        );
        for (let i = 0; i < maxFrames && !settled; i++) {
            beforeFrame();
            await stepFrames(scene, 1);
            await new Promise((r) => setTimeout(r, 2));
        }
        return promise;
    };

    const expectOnePassPerFrameFromCentre = (counters: RigCounters, frame: FeatureFrame, centre: Camera) => {
        expect(counters.frames.length).toBeGreaterThan(0);
        for (const [i, f] of counters.frames.entries()) {
            expect(f.eyes.length).withContext(`frame ${i}: eye renders ${f.eyes.join(", ")}`).toBe(2);
            expect(f.passDraws).withContext(`frame ${i}: feature pass draws`).toBeLessThanOrEqual(1);
        }
        expect(counters.frames.filter((f) => f.passDraws === 1).length).withContext("frames with a feature pass draw").toBe(1);
        const rig = centre.rigCameras;
        expect(rig.length).toBe(2);
        expect(matricesDiffer(frame.viewMatrix, centre.getViewMatrix().m)).withContext("the frame's view is the centre camera's").toBeFalse();
        for (const eye of rig) expect(matricesDiffer(frame.viewMatrix, eye.getViewMatrix().m)).withContext(`not ${eye.name}'s view`).toBeTrue();
        let covered = 0;
        for (const a of frame.alpha) if (a > 0.05) covered++;
        expect(covered).withContext("the centre view drew the splats").toBeGreaterThan(50);
    };

    it("StereoscopicFreeCamera (side by side): the scene renders both eyes, the pass draws once per frame with the centre view", async () => {
        const scene = new Scene(t.engine);
        scene.clearColor = new Color4(0, 0, 0, 1);
        const camera = new StereoscopicFreeCamera("stereo", new Vector3(0, 0, -4), 0.0637, true, scene);
        camera.setTarget(Vector3.Zero());
        camera.minZ = 0.1;
        scene.activeCamera = camera;
        const mesh = createTinySplatMesh(scene, tinyGaussians(48, 4, 3));
        const pass = new FeatureSplatPass(scene, mesh, { width: 64, height: 64 });
        for (let i = 0; i < 300 && !mesh.isReady(true); i++) {
            await stepFrames(scene, 1);
            await new Promise((r) => setTimeout(r, 5));
        }
        const counters = countPerFrame(scene, pass);
        const frame = await stepUntil(scene, pass.requestFrame());
        expectOnePassPerFrameFromCentre(counters, frame, camera);
        pass.dispose();
        scene.dispose();
    });

    it("WebXRCamera fed a simulated two-view viewer pose: once per frame, from the head pose between the eyes", async () => {
        const scene = new Scene(t.engine);
        scene.clearColor = new Color4(0, 0, 0, 1);
        const head = new Vector3(0.1, 0.05, 4); // WebXR (right-handed) metres: Babylon (left-handed) flips z to -4
        const session = fakeXRSession(head);
        const camera = new WebXRCamera("xr", scene, session as unknown as WebXRSessionManager);
        scene.activeCamera = camera;
        const mesh = createTinySplatMesh(scene, tinyGaussians(48, 4, 3));
        const pass = new FeatureSplatPass(scene, mesh, { width: 64, height: 64 });
        const xrFrame = () => session.frame();
        xrFrame();
        expect(camera.rigCameras.length).withContext("one rig camera per XR view").toBe(2);
        expect(camera.position.equalsWithEpsilon(new Vector3(0.1, 0.05, -4), 1e-6)).withContext(`head position ${camera.position}`).toBeTrue();
        for (let i = 0; i < 300 && !mesh.isReady(true); i++) {
            xrFrame();
            await stepFrames(scene, 1);
            await new Promise((r) => setTimeout(r, 5));
        }
        const counters = countPerFrame(scene, pass);
        const frame = await stepUntil(scene, pass.requestFrame(), xrFrame);
        expectOnePassPerFrameFromCentre(counters, frame, camera);
        // The frame's camera sits at the head, halfway between the eyes.
        const framePosition = Matrix.FromArray(Array.from(frame.viewMatrix)).invert().getTranslation();
        const [left, right] = camera.rigCameras.map((c) => c.globalPosition);
        expect(framePosition.equalsWithEpsilon(left.add(right).scale(0.5), 1e-4)).withContext(`frame camera at ${framePosition}, eyes ${left} ${right}`).toBeTrue();
        pass.dispose();
        camera.dispose();
        scene.dispose();
    });

    it("the segmentation pipeline in a rig: one tick draws once, from the centre; its result's view is the centre camera's", async () => {
        const s = createQuadrantScene(t);
        const stereo = new StereoscopicFreeCamera("stereo", new Vector3(0, 0, -4), 0.0637, true, s.scene);
        stereo.setTarget(Vector3.Zero());
        stereo.minZ = 0.1;
        s.scene.activeCamera = stereo;
        const classes = await loadClassTable();
        const client = new InferenceClient({ numThreads: 1 });
        const pipeline = new SemanticSegmentationPipeline(s.scene, {
            mesh: s.mesh,
            classes,
            client,
            mode: "demand",
            model: { source: FIXTURE_URL, manifestUrl: FIXTURE_MANIFEST, executionProvider: "wasm" },
        });
        try {
            await pipeline.loadModelAsync();
            for (let i = 0; i < 300 && !s.mesh.isReady(true); i++) {
                await stepFrames(s.scene, 1);
                await new Promise((r) => setTimeout(r, 5));
            }
            const counters = countPerFrame(s.scene, pipeline.pass);
            // Two requests in the same frame: answered by one tick (one draw), not one per request or per eye.
            const [a, b] = await stepUntil(s.scene, Promise.all([pipeline.segmentAsync(), pipeline.segmentAsync()]));
            expect(a).toBe(b);
            expect(counters.frames.reduce((n, f) => n + f.passDraws, 0)).withContext("pass draws for the tick").toBe(1);
            for (const f of counters.frames) expect(f.eyes.length).toBe(2);
            expect(matricesDiffer(a.viewMatrix, stereo.getViewMatrix().m)).withContext("the map's view is the centre camera's").toBeFalse();
            for (const eye of stereo.rigCameras) expect(matricesDiffer(a.viewMatrix, eye.getViewMatrix().m)).toBeTrue();
            expect(pipeline.stats.ticks).toBe(1);
            expect(Array.from(a.labels).some((l) => l !== classes.none)).withContext("the centre view was segmented").toBeTrue();
        } finally {
            pipeline.dispose();
            client.dispose();
            s.scene.dispose();
        }
    }, 120000);
});
