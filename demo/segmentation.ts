// The segmentation side of the page, on top of the runtime's SemanticSegmentationPipeline (src/pipeline): model
// loading with progress, the overlay toggle and opacity, the legend (click a class to hide it from the overlay),
// the mode, click -> class label at the picked 3D point, and the "labels" mode.
import type { Scene } from "@babylonjs/core/scene";
import { SemanticSegmentationPipeline, type SegmentationMode, type SegmentationResult } from "../src/pipeline";
import type { ClassTable } from "../src/classes";
import type { SemanticGaussianSplattingMesh } from "../src/mesh";
import type { ExecutionProviderChoice } from "../src/worker/protocol";
import { pickClassMapAlongRay } from "../src/pipeline/rayPicking";
import type { Ray } from "@babylonjs/core/Culling/ray";
import { LabelLifter, liftingGaussiansOf, type LiftingGaussians } from "../src/lifting";
import { AnchoredLabels } from "./labels3d";
import type { FrameDriver } from "./frameDriver";
import type { ManifestModel, ShippedModels } from "./models";
import { ProgressBar, element, showMessage } from "./ui";

export class SegmentationUi {
    readonly pipeline: SemanticSegmentationPipeline;
    /** Labels the user placed by clicking. */
    readonly pickLabels: AnchoredLabels;
    /** Labels of the "labels" mode (one per region of the class map). */
    readonly regionLabels: AnchoredLabels;
    private labelsMode = false;
    private firstResult: Promise<SegmentationResult>;
    /** Per-Gaussian label lifting (src/lifting): every class map votes for the classes of the Gaussians it sees. */
    readonly lifter: LabelLifter;
    private readonly liftingGaussians: LiftingGaussians;
    /** The overlay's state before entering XR (null outside XR), restored on leaving. */
    private overlayBeforeXR: boolean | null = null;
    /** Gaussians that got a vote from the latest view, and the time the vote took (ms), for the HUD. */
    lastLift: { voted: number; ms: number } | null = null;
    /** The last propagation of lifted labels to unvoted Gaussians (LabelLifter.propagateAsync), for the HUD. */
    lastPropagation: { propagated: number; views: number; ms: number; longestSliceMs: number } | null = null;
    private propagating = false;

    private constructor(
        private readonly scene: Scene,
        private readonly classes: ClassTable,
        mesh: SemanticGaussianSplattingMesh,
        private readonly driver: FrameDriver
    ) {
        const opacity = Number(element<HTMLInputElement>("overlay-opacity").value);
        const overlayOn = element<HTMLInputElement>("overlay-toggle").checked;
        const mode = element<HTMLSelectElement>("segmentation-mode").value as SegmentationMode;
        this.pipeline = new SemanticSegmentationPipeline(scene, { mesh, classes, mode, overlay: { enabled: overlayOn, opacity } });
        this.pickLabels = new AnchoredLabels(scene, 8);
        this.regionLabels = new AnchoredLabels(scene, 24);
        this.firstResult = new Promise((resolve) => {
            const o = this.pipeline.onSegmentationObservable.add((r) => {
                this.pipeline.onSegmentationObservable.remove(o);
                resolve(r);
            });
        });
        this.lifter = new LabelLifter(mesh.gaussianCount, { classCount: classes.count, none: classes.none, minAlpha: this.pipeline.alphaThreshold });
        this.liftingGaussians = liftingGaussiansOf(mesh);
        this.pipeline.onSegmentationObservable.add((r) => {
            const start = performance.now();
            const stats = this.lifter.accumulate(r, this.liftingGaussians);
            this.lastLift = { voted: stats.voted, ms: performance.now() - start };
            // Every 8 views, give the Gaussians no view has voted for their neighbours' class, in slices of 4 ms
            // between frames (about 180 ms in one go for the showcase room: BENCHMARKS.md, "Label lifting").
            if (!this.propagating && stats.views % 8 === 0) {
                this.propagating = true;
                const views = stats.views;
                this.lifter
                    .propagateAsync(this.liftingGaussians, { sliceMs: 4 })
                    .then((p) => (this.lastPropagation = { propagated: p.propagated, views, ms: p.ms, longestSliceMs: p.longestSliceMs }))
                    .catch((e) => showMessage(`Label propagation failed: ${e instanceof Error ? e.message : String(e)}`, "warning", "propagation-error"))
                    .finally(() => (this.propagating = false));
            }
            this.renderLegend();
            if (this.labelsMode) this.placeRegionLabels(r);
        });
        this.pipeline.onErrorObservable.add((e) => showMessage(`Segmentation failed (it keeps trying): ${e.message}`, "warning", "segmentation-error"));
    }

    /**
     * Creates the pipeline for `mesh` and loads the VDVI model with a progress bar. With `fallback` (the RGB-only model,
     * for a mesh whose features are still being encoded) both load at once and this resolves when the fallback is
     * loaded: the pipeline segments from RGB until the mesh has the full model's features, then switches by itself
     * (a failure of the full model then only leaves a warning). Throws when no model loads (the caller shows the
     * message; the scene keeps rendering).
     */
    static async create(
        scene: Scene,
        classes: ClassTable,
        mesh: SemanticGaussianSplattingMesh,
        models: ShippedModels,
        model: ManifestModel,
        driver: FrameDriver,
        executionProvider: ExecutionProviderChoice,
        fallback: ManifestModel | null = null
    ): Promise<SegmentationUi> {
        const ui = new SegmentationUi(scene, classes, mesh, driver);
        const source = (m: ManifestModel) => ({ source: models.base + m.file, manifestUrl: models.manifestUrl, executionProvider });
        const bar = new ProgressBar(`loading the segmentation model ${model.file}`);
        const full = ui.pipeline.loadModelAsync(source(model), (p) => bar.update(p.loaded, p.total ?? model.bytes)).finally(() => bar.done());
        try {
            if (fallback) {
                const fallbackBar = new ProgressBar(`loading the RGB-only model ${fallback.file} (used until the features are ready)`);
                const loadedFallback = await ui.pipeline
                    .loadFallbackModelAsync(source(fallback), (p) => fallbackBar.update(p.loaded, p.total ?? fallback.bytes))
                    .then(() => true, (e) => (showMessage(`The RGB-only model failed to load, so segmentation waits for the features: ${e instanceof Error ? e.message : String(e)}`, "warning", "fallback-model"), false))
                    .finally(() => fallbackBar.done());
                if (loadedFallback) {
                    full.catch((e) => ui.pipeline.isDisposed || showMessage(`Segmentation stays RGB-only: the full model failed to load: ${e instanceof Error ? e.message : String(e)}`, "warning", "models"));
                } else {
                    await full;
                }
            } else {
                await full;
            }
        } catch (e) {
            ui.dispose();
            throw e;
        }
        ui.enableControls(true);
        return ui;
    }

    /** Resolves with the first segmentation made by the model of `kind` from now on (frames are stepped in test mode). */
    waitForModel(kind: "vdvi" | "vdvi-rgb"): Promise<SegmentationResult> {
        const latest = this.pipeline.latestResult;
        if (latest && latest.modelKind === kind) return Promise.resolve(latest);
        return this.driver.until(
            new Promise((resolve) => {
                const o = this.pipeline.onSegmentationObservable.add((r) => {
                    if (r.modelKind !== kind) return;
                    this.pipeline.onSegmentationObservable.remove(o);
                    resolve(r);
                });
            })
        );
    }

    /** Resolves with the first segmentation (frames are stepped in test mode). */
    waitForFirstSegmentation(): Promise<SegmentationResult> {
        return this.driver.until(this.firstResult);
    }

    setOverlay(enabled: boolean, opacity: number): void {
        this.pipeline.overlay.enabled = enabled;
        this.pipeline.overlay.opacity = opacity;
    }

    setMode(mode: SegmentationMode): void {
        this.pipeline.mode = mode;
    }

    /** Click/tap at canvas CSS pixels: the class and confidence as a label at the picked point. */
    async pickAt(x: number, y: number): Promise<{ className: string; confidence: number } | null> {
        const refresh = this.pipeline.mode === "demand" || !this.pipeline.latestResult;
        const pick = await this.driver.until(this.pipeline.pickSemanticAsync(x, y, { refresh }));
        if (pick.empty || !pick.pickedPoint) {
            const why = { "no-map": "no segmentation yet", outside: "outside the view", uncovered: "no Gaussian there" }[pick.empty ?? "uncovered"];
            showMessage(`Nothing to label at that point: ${why}.`, "info", "pick");
            return null;
        }
        const color = this.classes.byId(pick.classId)?.color ?? [255, 255, 255];
        this.pickLabels.add(pick.pickedPoint, `${pick.className} ${(pick.confidence * 100).toFixed(0)}%${pick.stale ? " (older view)" : ""}`, color);
        return { className: pick.className, confidence: pick.confidence };
    }

    /**
     * XR select (a controller's pointer ray, or a screen tap in AR): the class where the ray meets the latest class
     * map's surface, as a label there. The map is the head's view (one per frame, from the WebXRCamera's pose between
     * the eyes), so a ray from a hand is searched against that view's depth (src/pipeline/rayPicking.ts).
     */
    async pickAlongRay(ray: Ray): Promise<{ className: string; confidence: number } | null> {
        const map = this.pipeline.latestResult ?? (await this.driver.until(this.pipeline.segmentAsync()));
        const pick = pickClassMapAlongRay(map, ray.origin, ray.direction, this.classes.none, (id) => this.classes.nameOf(id) ?? "none", this.pipeline.mesh, this.pipeline.isStale(map), {
            maxDistance: ray.length > 0 && Number.isFinite(ray.length) ? ray.length : 100,
        });
        if (pick.empty || !pick.pickedPoint) return null;
        const color = this.classes.byId(pick.classId)?.color ?? [255, 255, 255];
        this.pickLabels.add(pick.pickedPoint, `${pick.className} ${(pick.confidence * 100).toFixed(0)}%`, color);
        return { className: pick.className, confidence: pick.confidence };
    }

    /**
     * Entering / leaving WebXR: labels become meshes (HTML is not in the XR frame), and the overlay is switched off:
     * it is a flat class-colour image of the head's view drawn over each eye's picture, so it would sit in the wrong
     * place in both eyes (they see from 3.2 cm left and right of it, with their own projections).
     */
    setXR(on: boolean): void {
        this.pickLabels.xr = on;
        this.regionLabels.xr = on;
        if (on && this.overlayBeforeXR === null) {
            this.overlayBeforeXR = this.pipeline.overlay.enabled;
            this.pipeline.overlay.enabled = false;
        } else if (!on && this.overlayBeforeXR !== null) {
            this.pipeline.overlay.enabled = this.overlayBeforeXR;
            this.overlayBeforeXR = null;
        }
    }

    setLabelsMode(on: boolean): void {
        this.labelsMode = on;
        this.regionLabels.clear();
        const latest = this.pipeline.latestResult;
        if (on && latest) this.placeRegionLabels(latest);
    }

    dispose(): void {
        this.pickLabels.dispose();
        this.regionLabels.dispose();
        this.pipeline.dispose();
        this.enableControls(false);
        element("legend").replaceChildren();
    }

    private enableControls(on: boolean): void {
        for (const id of ["overlay-toggle", "overlay-opacity", "segmentation-mode", "labels-toggle"]) element<HTMLInputElement>(id).disabled = !on;
        element("labels-toggle").title = on
            ? "one label per visible object: a connected region of one class in the current class map (the per-Gaussian label lifting runs besides; the HUD shows it)"
            : "one label per visible object: needs the shipped models";
    }

    private renderLegend(): void {
        const list = element("legend");
        const items = this.pipeline.overlay.legend().map((entry) => {
            const li = document.createElement("li");
            li.className = entry.shown ? "" : "hidden-class";
            li.title = `${(entry.fraction * 100).toFixed(1)}% of the covered pixels; click to ${entry.shown ? "hide" : "show"} it in the overlay`;
            const swatch = document.createElement("span");
            swatch.className = "swatch";
            swatch.style.background = `rgb(${entry.color.join(",")})`;
            li.append(swatch, entry.name);
            li.onclick = () => this.toggleClass(entry.id);
            return li;
        });
        list.replaceChildren(...items);
    }

    private toggleClass(id: number): void {
        const overlay = this.pipeline.overlay;
        const all = this.classes.classes.map((c) => c.id);
        const shown = new Set(overlay.classFilter ?? all);
        if (shown.has(id)) shown.delete(id);
        else shown.add(id);
        overlay.classFilter = shown.size === all.length ? null : shown;
        this.renderLegend();
    }

    /** One label per connected region (4-neighbours) of one class covering at least 0.5% of the map, at the region's
     *  pixel nearest its centroid, unprojected through the map's own depth. */
    private placeRegionLabels(result: SegmentationResult): void {
        this.regionLabels.clear();
        const { width: W, height: H, labels } = result;
        const none = this.classes.none;
        const region = new Int32Array(W * H).fill(-1);
        const stack: number[] = [];
        const minPixels = Math.max(16, Math.round(0.005 * W * H));
        const engine = this.scene.getEngine();
        let regions = 0;
        for (let start = 0; start < W * H; start++) {
            if (region[start] !== -1 || labels[start] === none) continue;
            const cls = labels[start];
            const pixels: number[] = [];
            region[start] = regions;
            stack.push(start);
            while (stack.length) {
                const p = stack.pop()!;
                pixels.push(p);
                const x = p % W;
                const y = (p - x) / W;
                const next = [x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1, y < H - 1 ? p + W : -1];
                for (const q of next) {
                    if (q >= 0 && region[q] === -1 && labels[q] === cls) {
                        region[q] = regions;
                        stack.push(q);
                    }
                }
            }
            regions++;
            if (pixels.length < minPixels) continue;
            let cx = 0;
            let cy = 0;
            for (const p of pixels) {
                cx += p % W;
                cy += Math.floor(p / W);
            }
            cx /= pixels.length;
            cy /= pixels.length;
            let best = pixels[0];
            let bestDistance = Infinity;
            for (const p of pixels) {
                const d = (p % W - cx) ** 2 + (Math.floor(p / W) - cy) ** 2;
                if (d < bestDistance) [best, bestDistance] = [p, d];
            }
            const renderX = ((best % W) + 0.5) * (engine.getRenderWidth() / W);
            const renderY = (Math.floor(best / W) + 0.5) * (engine.getRenderHeight() / H);
            const pick = this.pipeline.pickAtRenderPixel(renderX, renderY);
            if (pick.empty || !pick.pickedPoint) continue;
            this.regionLabels.add(pick.pickedPoint, pick.className, this.classes.byId(pick.classId)?.color ?? [255, 255, 255]);
        }
    }
}
