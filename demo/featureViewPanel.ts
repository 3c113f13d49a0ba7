// The feature view: three principal components of the splatted per-Gaussian features (src/rendering/featureView),
// as a picture-in-picture or full-screen layer. It has its own FeatureSplatPass (at the segmentation resolution),
// created only while the view is shown, and refreshes whenever the camera moved since its last image.
import type { Scene } from "@babylonjs/core/scene";
import type { Observer } from "@babylonjs/core/Misc/observable";
import type { Nullable } from "@babylonjs/core/types";
import { FeatureSplatPass, type FeatureFrame } from "../src/rendering/featureSplatPass";
import { drawFeatureView } from "../src/rendering/featureView";
import type { SemanticGaussianSplattingMesh } from "../src/mesh";
import { element } from "./ui";

export class FeatureViewPanel {
    private pass: FeatureSplatPass | null = null;
    private mesh: SemanticGaussianSplattingMesh | null = null;
    private inFlight: Promise<FeatureFrame> | null = null;
    private lastView: Float32Array | null = null;
    private observer: Nullable<Observer<Scene>> = null;
    private _enabled = false;
    /** Images drawn so far (the smoke test waits on it). */
    imagesDrawn = 0;
    /** The newest image's size and K, for the HUD. */
    lastImage: { width: number; height: number; k: number; passes: number } | null = null;

    private readonly root = element("feature-view");
    private readonly canvas = element<HTMLCanvasElement>("feature-view-canvas");

    constructor(private readonly scene: Scene) {
        element("feature-view-size").onclick = () => this.root.classList.toggle("full");
        this.observer = scene.onAfterRenderObservable.add(() => this.maybeRequest());
    }

    get enabled(): boolean {
        return this._enabled;
    }

    set enabled(value: boolean) {
        this._enabled = value;
        this.root.hidden = !value;
        if (!value) this.releasePass();
        else this.lastView = null;
    }

    /** The canvas holding the current picture (for the screenshot composite). */
    get pictureCanvas(): HTMLCanvasElement {
        return this.canvas;
    }

    /** Shows the features of `mesh` (null: none). `sourceText` says where they came from. */
    setMesh(mesh: SemanticGaussianSplattingMesh | null, sourceText: string): void {
        this.releasePass();
        this.mesh = mesh && mesh.featureDimension > 0 ? mesh : null;
        this.lastView = null;
        element("feature-view-source").textContent = sourceText;
    }

    dispose(): void {
        this.releasePass();
        this.scene.onAfterRenderObservable.remove(this.observer);
    }

    private maybeRequest(): void {
        if (!this._enabled || !this.mesh || this.inFlight) return;
        const camera = this.scene.activeCamera;
        if (!camera) return;
        const view = Float32Array.from(camera.getViewMatrix().m);
        if (this.lastView && view.every((v, i) => v === this.lastView![i])) return;
        if (!this.pass) this.pass = new FeatureSplatPass(this.scene, this.mesh);
        const pass = this.pass;
        const request = pass.requestFrame();
        this.inFlight = request;
        request.then(
            (frame) => {
                if (this.pass !== pass) return; // the scene changed meanwhile
                this.lastView = view;
                drawFeatureView(frame, this.canvas);
                this.lastImage = { width: frame.width, height: frame.height, k: frame.featureDimension, passes: frame.passCount };
                this.imagesDrawn++;
            },
            (e) => {
                if (this.pass === pass) console.warn("feature view:", e);
            }
        ).finally(() => {
            if (this.inFlight === request) this.inFlight = null;
        });
    }

    private releasePass(): void {
        this.pass?.dispose();
        this.pass = null;
        this.inFlight = null;
    }
}
