// window.__demo: what the smoke test (test/demo/smoke.mjs) reads and drives. Page-side signals instead of sleeps:
// every wait here steps frames itself in ?test mode (FrameDriver.until).
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import type { Scene } from "@babylonjs/core/scene";
import type { FeatureViewPanel } from "./featureViewPanel";
import type { FrameDriver } from "./frameDriver";
import type { ShippedModels } from "./models";
import type { DemoState } from "./main";
import { element } from "./ui";

interface TestApiParts {
    engine: AbstractEngine;
    scene: Scene;
    driver: FrameDriver;
    state: DemoState;
    featureView: FeatureViewPanel | null;
    ready: Promise<void>;
    webgpu: boolean;
    models: ShippedModels;
    updateHud: () => void;
    /** Starts the encodes held back by ?holdEncode. */
    releaseEncode: () => void;
}

/** RGBA8 pixels that differ from the background colour (sum of absolute channel differences above 30). */
function litPixels(data: Uint8ClampedArray | Uint8Array, background: readonly number[]): { lit: number; total: number } {
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) {
        const difference = Math.abs(data[i] - background[0]) + Math.abs(data[i + 1] - background[1]) + Math.abs(data[i + 2] - background[2]);
        if (data[i + 3] > 0 && difference > 30) lit++;
    }
    return { lit, total: data.length / 4 };
}

export function installTestApi(parts: TestApiParts): void {
    const { engine, driver, state, featureView } = parts;
    const canvas = engine.getRenderingCanvas() as HTMLCanvasElement;
    const api = {
        ready: parts.ready,
        renderFrames: (n: number) => driver.renderFrames(n),
        /** Waits for the current scene's segmentation attempt: true once the first class map exists. */
        segmentationReady: () => driver.until(state.segmentationReady),
        lastLoad: () => driver.until(state.lastLoad),
        lastPick: () => driver.until(state.lastPick),
        /** Lets the Gaussian encoder start (?holdEncode holds it until then). */
        releaseEncode: () => parts.releaseEncode(),
        /** Waits until the current scene has its final features (encoded, or stand-ins when the encoder failed). */
        featuresReady: async () => {
            await driver.until(state.current?.featuresReady ?? Promise.resolve());
            return state.current?.featureSource ?? null;
        },
        /** Waits for the next (or the latest) class map made by the model of `kind`; returns its frame id. */
        segmentationBy: async (kind: "vdvi" | "vdvi-rgb") => {
            const seg = state.segmentation;
            if (!seg) return null;
            const result = await seg.waitForModel(kind);
            return { modelKind: result.modelKind, frameId: result.frameId };
        },
        /** Waits (stepping frames) until the feature view drew a picture of the current features. */
        featureViewDrawn: async () => {
            const before = featureView?.imagesDrawn ?? 0;
            if (!featureView) return 0;
            await driver.until(new Promise<void>((resolve) => {
                const check = () => (featureView.imagesDrawn > before ? resolve() : setTimeout(check, 20));
                check();
            }));
            return featureView.imagesDrawn;
        },
        state: () => {
            parts.updateHud();
            return {
                webgpu: parts.webgpu,
                scene: state.current?.name ?? null,
                gaussians: state.current?.mesh.gaussianCount ?? 0,
                featureSource: state.current?.featureSource ?? null,
                featureDimension: state.current?.mesh.featureDimension ?? 0,
                meshesInScene: parts.scene.meshes.length,
                segmentation: !!state.segmentation,
                /** The model that made the latest class map: "vdvi" (rgb + features) or "vdvi-rgb" (the RGB-only fallback). */
                modelKind: state.segmentation?.pipeline.stats.lastModelKind ?? null,
                overlay: state.segmentation?.pipeline.overlay.enabled ?? false,
                modelsProblem: parts.models.problem,
                featureImages: featureView?.imagesDrawn ?? 0,
                messages: Array.from(document.querySelectorAll("#messages .message"), (m) => ({ kind: m.className.replace("message", "").trim(), text: m.querySelector(".text")?.textContent ?? "" })),
                labels: Array.from(document.querySelectorAll(".label3d"), (l) => l.textContent ?? ""),
                legend: Array.from(document.querySelectorAll("#legend li"), (l) => l.textContent ?? ""),
                hud: element("hud").textContent ?? "",
            };
        },
        /** Lit pixels of the feature view picture. */
        featureViewPixels: () => {
            const c = featureView?.pictureCanvas;
            if (!c) return { lit: 0, total: 0 };
            return litPixels(c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data, [0, 0, 0]);
        },
        /** Renders a frame and counts lit pixels of the 3D canvas (WebGPU: read right after the frame). */
        canvasPixels: async () => {
            const clear = parts.scene.clearColor;
            const background = [clear.r, clear.g, clear.b].map((v) => Math.round(v * 255));
            const { data } = await driver.renderAndReadPixels();
            return litPixels(data, background);
        },
        /**
         * A point in canvas CSS pixels where the latest class map has a class, nearest the centre of the view, and
         * that class's name; null without a map.
         */
        coveredPoint: () => {
            const result = state.segmentation?.pipeline.latestResult;
            if (!result) return null;
            const { width: W, height: H, labels } = result;
            const none = state.segmentation!.pipeline.classes.none;
            let best = -1;
            let bestDistance = Infinity;
            for (let p = 0; p < W * H; p++) {
                if (labels[p] === none) continue;
                const d = (p % W - W / 2) ** 2 + (Math.floor(p / W) - H / 2) ** 2;
                if (d < bestDistance) [best, bestDistance] = [p, d];
            }
            if (best < 0) return null;
            const rect = canvas.getBoundingClientRect();
            return {
                x: rect.left + (((best % W) + 0.5) / W) * rect.width,
                y: rect.top + ((Math.floor(best / W) + 0.5) / H) * rect.height,
                className: state.segmentation!.pipeline.classes.nameOf(labels[best]),
            };
        },
        setOverlay: (on: boolean) => {
            const toggle = element<HTMLInputElement>("overlay-toggle");
            if (toggle.checked !== on) toggle.click();
            return state.segmentation?.pipeline.overlay.enabled ?? false;
        },
        meshNames: () => parts.scene.meshes.map((m) => `${m.name} (${m.getClassName()})`),
        /**
         * What entering (true) or leaving (false) a WebXR session does to the segmentation UI (the page's XR hook; no
         * session is started: there is no headset here), then two frames: the labels' billboard meshes and texts,
         * how many are shown, how many HTML labels are shown, and whether the overlay is on.
         */
        simulateXR: async (on: boolean) => {
            const seg = state.segmentation;
            seg?.setXR(on);
            await driver.renderFrames(2);
            const billboards = seg ? [...seg.pickLabels.billboards.labels, ...seg.regionLabels.billboards.labels] : [];
            return {
                billboards: billboards.map((l) => l.text),
                billboardsShown: billboards.filter((l) => l.mesh.isEnabled()).length,
                htmlShown: Array.from(document.querySelectorAll<HTMLElement>(".label3d")).filter((l) => !l.hidden).length,
                overlay: seg?.pipeline.overlay.enabled ?? false,
            };
        },
        /** PNG of the 3D canvas after a fresh frame, with the feature view (when shown) and the labels composited in. */
        screenshot: async (): Promise<string> => composite(await driver.renderAndReadPixels()),
    };
    /** The 3D canvas (read in the task that rendered it: a WebGPU canvas is blank once its frame was presented),
     *  with the feature view and the labels drawn over it where they are on the page. */
    const composite = (frame: { data: Uint8Array; width: number; height: number }): string => {
            const out = document.createElement("canvas");
            out.width = frame.width;
            out.height = frame.height;
            const context = out.getContext("2d")!;
            const image = new ImageData(new Uint8ClampedArray(frame.data), frame.width, frame.height);
            for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255; // the page shows the canvas opaque
            context.putImageData(image, 0, 0);
            const scale = canvas.width / canvas.getBoundingClientRect().width;
            const pip = featureView?.enabled ? featureView.pictureCanvas : null;
            if (pip && featureView!.imagesDrawn) {
                const rect = pip.getBoundingClientRect();
                context.fillStyle = "rgba(20, 22, 28, 0.9)";
                context.fillRect(rect.left * scale - 4, rect.top * scale - 4, rect.width * scale + 8, rect.height * scale + 8);
                context.drawImage(pip, rect.left * scale, rect.top * scale, rect.width * scale, rect.height * scale);
            }
            context.font = `${Math.round(12 * scale)}px sans-serif`;
            for (const label of Array.from(document.querySelectorAll<HTMLElement>(".label3d"))) {
                if (label.hidden) continue;
                const rect = label.getBoundingClientRect();
                context.fillStyle = "rgba(0, 0, 0, 0.78)";
                context.fillRect(rect.left * scale, rect.top * scale, rect.width * scale, rect.height * scale);
                context.fillStyle = "#fff";
                context.fillText(label.textContent ?? "", (rect.left + 6) * scale, (rect.top + rect.height - 5) * scale);
            }
            return out.toDataURL("image/png");
    };
    (window as unknown as { __demo: typeof api }).__demo = api;
}
