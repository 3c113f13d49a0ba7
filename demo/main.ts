// The demo page: a Gaussian-splat scene (by default the SynthRooms showcase room) with walk and orbit cameras, the
// feature view, and, when the shipped models exist (models/manifest.json), live segmentation with overlay, legend,
// click-to-label and the labels mode. URL options: ?test (frames rendered on demand, for the smoke test),
// ?scene=showcase|parity|<url>, ?models=<folder URL>, ?ep=wasm|webgpu|auto (where the models run), ?webgl (take
// the no-WebGPU path on purpose), ?holdEncode (test mode: the Gaussian encoder starts only when the smoke test calls
// __demo.releaseEncode(), so it can see the RGB-only fallback answer before the features are ready).
// A scene shows as soon as its Gaussians are loaded; one without features is encoded in the worker meanwhile and
// segmented with the RGB-only fallback model (models/manifest.json kind "vdvi-rgb") until its features are ready,
// then with the full model (the HUD says which model answered).
import { Scene } from "@babylonjs/core/scene";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { UniversalCamera } from "@babylonjs/core/Cameras/universalCamera";
import { ArcRotateCamera } from "@babylonjs/core/Cameras/arcRotateCamera";
import type { Camera } from "@babylonjs/core/Cameras/camera";
import { ClassTable } from "../src/classes";
import { describeSceneFrame } from "../src/frame/sceneFrame";
import type { SegmentationMode } from "../src/pipeline";
import type { ExecutionProviderChoice } from "../src/worker/protocol";
import { createEngine } from "./engineSetup";
import { FrameDriver } from "./frameDriver";
import { FeatureViewPanel } from "./featureViewPanel";
import { readShippedModels, vdviFor, type ShippedModels } from "./models";
import { loadScene, shortName, type LoadedScene, type SceneRequest } from "./sceneManager";
import { SegmentationUi } from "./segmentation";
import { clearMessage, element, showMessage } from "./ui";
import { offerXR } from "./xr";
import { installTestApi } from "./testApi";

const params = new URLSearchParams(location.search);
const BUILT_IN_SCENES: Record<string, SceneRequest> = {
    showcase: { source: "./scenes/showcase/showcase.ply", infoUrl: "./scenes/showcase/showcase.json" },
    parity: { source: "../test/golden/parity/scene.ply" },
};

export interface DemoState {
    current: LoadedScene | null;
    segmentation: SegmentationUi | null;
    /** Settles after each scene load attempt (true: loaded). */
    lastLoad: Promise<boolean>;
    /** Settles after each click's pick. */
    lastPick: Promise<{ className: string; confidence: number } | null>;
    /** Settles after the current scene's segmentation attempt: true once it segmented, false when it cannot. */
    segmentationReady: Promise<boolean>;
}

async function main(): Promise<void> {
    const canvas = element<HTMLCanvasElement>("render-canvas");
    const { engine, webgpu, noWebGPUReason } = await createEngine(canvas, params.has("webgl"));
    // ?ep=wasm|webgpu|auto; "auto" (the default) lets the worker choose: wasm on a software GPU (SwiftShader) or
    // without an adapter, WebGPU on a real GPU. The HUD shows the choice and why.
    const ep = (params.get("ep") ?? "auto") as ExecutionProviderChoice;
    const scene = new Scene(engine);
    scene.clearColor = new Color4(0.07, 0.07, 0.08, 1);

    const walk = new UniversalCamera("walk", new Vector3(0, 1.6, 3), scene);
    walk.keysUp.push(87); // W
    walk.keysDown.push(83); // S
    walk.keysLeft.push(65); // A
    walk.keysRight.push(68); // D
    walk.minZ = 0.05;
    walk.speed = 0.08;
    walk.angularSensibility = 3000;
    const orbit = new ArcRotateCamera("orbit", -Math.PI / 2, Math.PI / 3, 5, Vector3.Zero(), scene);
    orbit.minZ = 0.05;
    orbit.wheelDeltaPercentage = 0.02;
    scene.activeCamera = walk;
    walk.attachControl(true);

    const driver = new FrameDriver(engine, scene, params.has("test"));
    driver.start();
    window.addEventListener("resize", () => engine.resize());

    if (!webgpu) {
        showMessage(
            `WebGPU is not available (${noWebGPUReason}). What still works: the scene renders with WebGL2, the walk and orbit cameras, ` +
                "and loading your own .ply/.splat/.spz/.sog files. The feature view, segmentation, overlay and picking need WebGPU " +
                "(desktop Chrome or Edge 113+, or Chromium with WebGPU enabled).",
            "warning",
            "webgpu"
        );
        element("feature-view-toggle").setAttribute("disabled", "");
    }

    const classes = await ClassTable.load("../models/classes.json");
    // Absolute: the worker resolves model URLs against its own URL, not the page's.
    const models = await readShippedModels(new URL(params.get("models") ?? "../models/", location.href).href);
    const encoderEntry = models.encoder[0] ?? null;
    const encoder = encoderEntry ? { modelUrl: models.base + encoderEntry.file, manifestUrl: models.manifestUrl, executionProvider: ep } : null;
    const featureView = webgpu ? new FeatureViewPanel(scene) : null;
    // ?holdEncode (test mode only): encodes wait for __demo.releaseEncode()
    let releaseEncode = () => {};
    const encodeGate = params.has("test") && params.has("holdEncode") ? new Promise<void>((resolve) => (releaseEncode = resolve)) : null;
    if (featureView) featureView.enabled = true;

    const state: DemoState = {
        current: null,
        segmentation: null,
        lastLoad: Promise.resolve(false),
        lastPick: Promise.resolve(null),
        segmentationReady: Promise.resolve(false),
    };

    // ---- cameras ---------------------------------------------------------------------------------------------
    const setActiveCamera = (camera: Camera) => {
        const from = scene.activeCamera;
        if (from === camera) return;
        from?.detachControl();
        if (camera === orbit && from === walk) {
            const target = walk.getTarget();
            orbit.setTarget(target);
            orbit.setPosition(walk.position.clone());
        } else if (camera === walk && from === orbit) {
            walk.position.copyFrom(orbit.position);
            walk.setTarget(orbit.target.clone());
        }
        scene.activeCamera = camera;
        camera.attachControl(true);
        element("camera-toggle").textContent = `camera: ${camera === walk ? "walk" : "orbit"}`;
    };
    element("camera-toggle").onclick = () => setActiveCamera(scene.activeCamera === walk ? orbit : walk);

    const placeCameras = (loaded: Pick<LoadedScene, "mesh" | "startCamera">) => {
        const start = loaded.startCamera;
        if (start) {
            walk.position.set(...start.position);
            walk.setTarget(new Vector3(...start.target));
            if (start.fov) walk.fov = orbit.fov = start.fov;
            orbit.setTarget(new Vector3(...start.target));
            orbit.setPosition(new Vector3(...start.position));
            return;
        }
        const { minimumWorld, maximumWorld } = loaded.mesh.getBoundingInfo().boundingBox;
        const center = minimumWorld.add(maximumWorld).scale(0.5);
        const size = maximumWorld.subtract(minimumWorld).length() || 1;
        orbit.setTarget(center);
        orbit.radius = size * 0.9;
        walk.position = center.add(new Vector3(0, size * 0.15, -size * 0.7));
        walk.setTarget(center);
        walk.speed = Math.max(0.01, size * 0.01);
    };

    // ---- scenes ----------------------------------------------------------------------------------------------
    const describeFeatures = (loaded: LoadedScene) =>
        loaded.featureSource === "file"
            ? `(the file's features, K=${loaded.mesh.featureDimension})`
            : loaded.featureSource === "encoder"
              ? `(Gaussian encoder, K=${loaded.mesh.featureDimension})`
              : loaded.featureSource === "stand-in"
                ? "(stand-in: raw channels, no encoder)"
                : loaded.featureSource === "encoding"
                  ? "(the Gaussian encoder is computing them)"
                  : "";

    const showScene = async (request: SceneRequest): Promise<boolean> => {
        const name = shortName(typeof request.source === "string" ? request.source : request.source.name);
        let loaded: LoadedScene;
        // A SOG meta.json names its .webp images, which a file picker or a drop cannot hand the page with it.
        if (typeof request.source !== "string" && /\.json$/i.test(request.source.name)) {
            showMessage(
                `Could not load ${name}: a SOG meta.json refers to its .webp images by name, and a picked or dropped file comes without them. ` +
                    `Open the bundled .sog file instead, or the meta.json by URL (?scene=<url of meta.json>), whose folder holds the images.` +
                    `${state.current ? ` The previous scene (${shortName(state.current.name)}) stays.` : ""}`,
                "error",
                "load"
            );
            return false;
        }
        try {
            // The scene shows as soon as its Gaussians are loaded; features a file lacks are encoded meanwhile.
            loaded = await loadScene(scene, request, webgpu, encoder, encodeGate);
        } catch (e) {
            const what = e instanceof Error ? e.message : String(e);
            showMessage(`Could not load ${name}: ${what}${state.current ? ` The previous scene (${shortName(state.current.name)}) stays.` : ""}`, "error", "load");
            return false;
        }
        clearMessage("load");
        clearMessage("encoder");
        state.segmentation?.dispose();
        state.segmentation = null;
        state.current?.mesh.dispose(); // also cancels its encode, if one still runs
        state.current = loaded;
        featureView?.setMesh(loaded.mesh, describeFeatures(loaded));
        placeCameras(loaded);
        state.segmentationReady = startSegmentation(loaded);
        void loaded.featuresReady.then(() => {
            if (state.current !== loaded) return;
            featureView?.setMesh(loaded.mesh, describeFeatures(loaded));
            if (loaded.encoderProblem) {
                const rgb = state.segmentation?.pipeline.fallbackModel ? " Segmentation stays RGB-only (the fallback model)." : "";
                showMessage(`The Gaussian encoder failed on ${name}, so its features are stand-ins: ${loaded.encoderProblem}${rgb}`, "warning", "encoder");
            }
        });
        return true;
    };

    const startSegmentation = async (loaded: LoadedScene): Promise<boolean> => {
        if (!webgpu) return false; // the WebGPU message already says that segmentation needs it
        // While the encoder runs, the RGB-only fallback segments (when one is shipped); without one, wait for the features.
        const fallback = loaded.featureSource === "encoding" && models.vdvi.length ? (models.fallback[0] ?? null) : null;
        if (loaded.featureSource === "encoding" && !fallback) {
            await loaded.featuresReady;
            if (state.current !== loaded) return false;
        }
        const explain = fallback ? null : segmentationBlocker(loaded, models);
        if (explain) {
            showMessage(explain, "warning", "models");
            return false;
        }
        clearMessage("models");
        // The full model: for the features the scene has, or (encoding) for the K the shipped encoder gives.
        const model = vdviFor(models, fallback ? Number(models.encoder[0]?.k ?? 0) : loaded.mesh.featureDimension);
        if (!model) {
            showMessage(`No shipped VDVI model takes the encoder's K=${models.encoder[0]?.k} features (${models.vdvi.map((m) => `${m.file}: K=${m.k}`).join(", ")}).`, "warning", "models");
            return false;
        }
        try {
            const ui = await SegmentationUi.create(scene, classes, loaded.mesh, models, model, driver, ep, fallback);
            if (state.current !== loaded) {
                ui.dispose(); // another scene was loaded meanwhile
                return false;
            }
            state.segmentation = ui;
            if (xrActive()) ui.setXR(true);
            await ui.waitForFirstSegmentation();
            return true;
        } catch (e) {
            showMessage(`Segmentation is off: ${e instanceof Error ? e.message : String(e)}`, "error", "models");
            return false;
        }
    };

    const loadUserFile = (file: File) => {
        state.lastLoad = showScene({ source: file });
    };
    const fileInput = element<HTMLInputElement>("file-input");
    fileInput.onchange = () => {
        const file = fileInput.files?.[0];
        fileInput.value = "";
        if (file) loadUserFile(file);
    };
    const dropHint = element("drop-hint");
    window.addEventListener("dragover", (e) => {
        e.preventDefault();
        dropHint.hidden = false;
    });
    window.addEventListener("dragleave", () => (dropHint.hidden = true));
    window.addEventListener("drop", (e) => {
        e.preventDefault();
        dropHint.hidden = true;
        const file = e.dataTransfer?.files?.[0];
        if (file) loadUserFile(file);
    });

    // ---- toggles and picking ---------------------------------------------------------------------------------
    const featureToggle = element("feature-view-toggle");
    featureToggle.onclick = () => {
        if (!featureView) return;
        featureView.enabled = !featureView.enabled;
        featureToggle.setAttribute("aria-pressed", String(featureView.enabled));
    };
    const overlayToggle = element<HTMLInputElement>("overlay-toggle");
    const overlayOpacity = element<HTMLInputElement>("overlay-opacity");
    const applyOverlay = () => state.segmentation?.setOverlay(overlayToggle.checked, Number(overlayOpacity.value));
    overlayToggle.onchange = applyOverlay;
    overlayOpacity.oninput = applyOverlay;
    element<HTMLSelectElement>("segmentation-mode").onchange = (e) => state.segmentation?.setMode((e.target as HTMLSelectElement).value as SegmentationMode);
    const labelsToggle = element("labels-toggle");
    labelsToggle.onclick = () => {
        const on = labelsToggle.getAttribute("aria-pressed") !== "true";
        labelsToggle.setAttribute("aria-pressed", String(on));
        state.segmentation?.setLabelsMode(on);
    };

    let down: { x: number; y: number } | null = null;
    canvas.addEventListener("pointerdown", (e) => (down = { x: e.clientX, y: e.clientY }));
    canvas.addEventListener("pointerup", (e) => {
        if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 5) return; // a drag, not a click
        down = null;
        const rect = canvas.getBoundingClientRect();
        const x = e.clientX - rect.left;
        const y = e.clientY - rect.top;
        if (!state.segmentation) {
            showMessage("Click-to-label needs segmentation, which needs the shipped models (see the message above).", "info", "pick");
            state.lastPick = Promise.resolve(null);
            return;
        }
        state.lastPick = state.segmentation.pickAt(x, y).catch((err) => {
            showMessage(`Pick failed: ${err instanceof Error ? err.message : String(err)}`, "error", "pick");
            return null;
        });
    });

    // ---- HUD -------------------------------------------------------------------------------------------------
    const hud = element("hud");
    const updateHud = () => {
        const lines = [`render   ${driver.fps.toFixed(1)} fps  ${engine.getRenderWidth()}x${engine.getRenderHeight()}  ${webgpu ? "WebGPU" : "WebGL2"}`];
        const current = state.current;
        if (current) lines.push(`scene    ${shortName(current.name)}  ${current.mesh.gaussianCount.toLocaleString("en")} Gaussians`);
        if (current) {
            const p = current.encodeProgress;
            const progress = p ? `  ${Math.round(p.fraction * 100)}% ${p.stage}${p.tiles ? ` tile ${p.tile}/${p.tiles}` : ""}${p.secondsLeft !== undefined ? `, ~${Math.ceil(p.secondsLeft)} s left` : ""}` : "";
            lines.push(`features ${current.featureSource}${current.mesh.featureDimension ? `  K=${current.mesh.featureDimension}` : ""}${progress}`);
        }
        if (current) {
            // the scene frame the features were computed in (docs/FRAME.md): estimated by the encoder, or recorded in the file
            const frame = current.mesh.sceneFrame;
            const text = frame
                ? describeSceneFrame(frame)
                : current.featureSource === "file"
                  ? "not recorded with the file's features"
                  : current.featureSource === "encoding"
                    ? "being estimated (the encoder is running)"
                    : "none (features not from the encoder)";
            lines.push(`frame    ${text}`);
        }
        const image = featureView?.enabled ? featureView.lastImage : null;
        if (image) lines.push(`view     ${image.width}x${image.height} feature image, ${image.passes} pass${image.passes > 1 ? "es" : ""}`);
        const seg = state.segmentation;
        if (seg) {
            const p = seg.pipeline;
            const s = p.stats;
            const a = s.average;
            lines.push(`segment  ${p.model?.executionProvider ?? "loading"}  ${p.pass.width}x${p.pass.height}  ${p.mode}  ticks ${s.ticks}`);
            // which model made the map on screen: the full one, or the RGB-only fallback (features not ready)
            if (s.lastModelKind) lines.push(`  model ${s.lastModelKind === "vdvi" ? "vdvi (rgb + features)" : "vdvi-rgb (RGB-only fallback)"}  ticks vdvi ${s.ticksByModel.vdvi}, vdvi-rgb ${s.ticksByModel["vdvi-rgb"]}`);
            // The reason without its details in parentheses, e.g. "auto: wasm, the WebGPU adapter is a software one".
            if (p.model) lines.push(`  ep: ${p.model.executionProviderReason.split(" (")[0]}`);
            lines.push(`  pass ${a.featurePassMs.toFixed(1)}  readback ${a.readbackMs.toFixed(0)}  transfer ${a.transferMs.toFixed(0)} ms`);
            lines.push(`  infer ${a.inferenceMs.toFixed(0)}  post ${a.postprocessMs.toFixed(1)}  total ${a.totalMs.toFixed(0)} ms`);
            if (seg.lastLift) lines.push(`lifting  ${seg.lifter.viewCount} views, last voted ${seg.lastLift.voted.toLocaleString("en")} Gaussians in ${seg.lastLift.ms.toFixed(1)} ms`);
            if (seg.lastPropagation) {
                const p = seg.lastPropagation;
                lines.push(`propagated to ${p.propagated.toLocaleString("en")} unvoted Gaussians after ${p.views} views (${p.ms.toFixed(0)} ms in slices, longest ${p.longestSliceMs.toFixed(0)} ms)`);
            }
        } else {
            lines.push("segment  off (no model)");
        }
        hud.textContent = lines.join("\n");
    };
    setInterval(updateHud, 250);

    // ---- start -----------------------------------------------------------------------------------------------
    const requested = params.get("scene") ?? "showcase";
    let first = BUILT_IN_SCENES[requested] ?? { source: requested };
    if (requested === "showcase" && !(await fetch(first.source as string, { method: "HEAD" }).then((r) => r.ok, () => false))) {
        showMessage("The SynthRooms showcase room (demo/scenes/showcase/) is missing: showing the small parity test scene instead.", "warning", "scene");
        first = BUILT_IN_SCENES.parity;
    }
    state.lastLoad = showScene(first);
    const ready = (async () => {
        if (!(await state.lastLoad)) throw new Error("the first scene did not load");
        const mesh = state.current!.mesh;
        // Babylon draws a splat mesh only once its first depth sort came back from the sort worker.
        await driver.until(waitFor(() => mesh.isReady(true)));
        if (featureView && mesh.featureDimension) await driver.until(waitFor(() => featureView.imagesDrawn > 0));
        await driver.renderFrames(1);
        updateHud();
    })();
    installTestApi({ engine, scene, driver, state, featureView, ready, webgpu, models, updateHud, releaseEncode: () => releaseEncode() });
    // XR: labels as meshes while in a session (HTML is not in the XR frame); XR select labels what the ray hits.
    let inXR = false;
    await offerXR(scene, {
        onStateChange: (on) => {
            inXR = on;
            state.segmentation?.setXR(on);
        },
        onSelect: (ray) => {
            if (!state.segmentation) return;
            state.lastPick = state.segmentation.pickAlongRay(ray).catch((err) => {
                showMessage(`Pick failed: ${err instanceof Error ? err.message : String(err)}`, "error", "pick");
                return null;
            });
        },
    });
    xrActive = () => inXR;
}

/** Whether an XR session is on (set once offerXR ran). */
let xrActive: () => boolean = () => false;

/** Resolves once `condition()` holds (checked every 20 ms). */
function waitFor(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
        const check = () => (condition() ? resolve() : setTimeout(check, 20));
        check();
    });
}

/** Why the current scene cannot be segmented (a message that also says what still works), or null. */
function segmentationBlocker(loaded: LoadedScene, models: ShippedModels): string | null {
    const works = "What works now: the scene, the walk (WASD + mouse) and orbit cameras, the feature view, and loading your own files.";
    if (!models.vdvi.length) {
        return (
            `Segmentation needs the shipped models, and there are none yet (${models.problem ?? "models/manifest.json lists no VDVI model"}). ` +
            `${works} The overlay, legend, click-to-label and the labels mode switch on by themselves once the model factory ships them.`
        );
    }
    if (loaded.featureSource !== "file" && loaded.featureSource !== "encoder") {
        return (
            `${shortName(loaded.name)} has no per-Gaussian features and ${models.encoder.length ? "the Gaussian encoder failed on it" : "no Gaussian encoder is shipped to compute them"}: ` +
            `the feature view shows stand-in raw channels, not learned features, so it is not segmented. ${works}`
        );
    }
    if (!vdviFor(models, loaded.mesh.featureDimension)) {
        return `No shipped VDVI model takes K=${loaded.mesh.featureDimension} features (${models.vdvi.map((m) => `${m.file}: K=${m.k}`).join(", ")}). ${works}`;
    }
    return null;
}

main().catch((e) => {
    console.error(e);
    showMessage(`The demo failed to start: ${e instanceof Error ? e.message : String(e)}`, "error", "fatal");
    (window as unknown as { __demoFailed?: string }).__demoFailed = String(e);
});
