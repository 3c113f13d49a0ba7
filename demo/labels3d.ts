// Labels anchored at 3D points, two ways. On the page: HTML elements moved every frame to the projection of their
// point, hidden when the point is behind the camera or off screen (crisp text at the monitor's resolution, the
// page's fonts, and what the smoke test reads). In WebXR: the same labels as SemanticLabelBillboards meshes (src/
// labels), because HTML over the canvas is not part of the XR frame. Every label exists both ways; `xr` picks which
// is shown.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import type { Observer } from "@babylonjs/core/Misc/observable";
import type { Scene } from "@babylonjs/core/scene";
import { SemanticLabelBillboards } from "../src/labels/semanticLabelBillboards";
import { element } from "./ui";

interface Anchored {
    point: Vector3;
    div: HTMLDivElement;
}

export class AnchoredLabels {
    private readonly labels: Anchored[] = [];
    private readonly layer = element("labels-layer");
    /** The same labels as meshes, shown in XR. */
    readonly billboards: SemanticLabelBillboards;
    private inXR = false;
    private readonly placeObserver: Observer<Scene>;

    constructor(
        private readonly scene: Scene,
        /** How many labels stay (the oldest go first). */
        private readonly maxLabels: number
    ) {
        this.placeObserver = scene.onAfterRenderObservable.add(() => this.place());
        this.billboards = new SemanticLabelBillboards(scene, { maxLabels });
        this.billboards.enabled = false;
    }

    /** In XR the meshes show and the HTML labels hide; outside XR the other way round. */
    set xr(on: boolean) {
        this.inXR = on;
        this.billboards.enabled = on;
        for (const l of this.labels) l.div.hidden = on;
        if (!on) this.place();
    }
    get xr(): boolean {
        return this.inXR;
    }

    get count(): number {
        return this.labels.length;
    }

    /** The labels' texts, oldest first (the smoke test reads them). */
    get texts(): string[] {
        return this.labels.map((l) => l.div.textContent ?? "");
    }

    add(point: Vector3, text: string, color: readonly [number, number, number]): HTMLDivElement {
        const div = document.createElement("div");
        div.className = "label3d";
        div.textContent = text;
        div.style.setProperty("--class-color", `rgb(${color[0]}, ${color[1]}, ${color[2]})`);
        this.layer.append(div);
        this.labels.push({ point: point.clone(), div });
        while (this.labels.length > this.maxLabels) this.labels.shift()!.div.remove();
        this.billboards.add({ position: point, className: text, color, text });
        div.hidden = this.inXR;
        this.place();
        return div;
    }

    clear(): void {
        for (const l of this.labels.splice(0)) l.div.remove();
        this.billboards.clear();
    }

    dispose(): void {
        this.clear();
        this.scene.onAfterRenderObservable.remove(this.placeObserver);
        this.billboards.dispose();
    }

    private place(): void {
        if (this.inXR) return;
        const camera = this.scene.activeCamera;
        if (!camera || !this.labels.length) return;
        const engine = this.scene.getEngine();
        const width = engine.getRenderWidth();
        const height = engine.getRenderHeight();
        const canvas = engine.getRenderingCanvas();
        const rect = canvas?.getBoundingClientRect();
        const cssPerPixelX = rect ? rect.width / width : 1;
        const cssPerPixelY = rect ? rect.height / height : 1;
        const viewport = camera.viewport.toGlobal(width, height);
        const transform = this.scene.getTransformMatrix();
        const view = camera.getViewMatrix();
        for (const { point, div } of this.labels) {
            const inView = Vector3.TransformCoordinates(point, view);
            const screen = Vector3.Project(point, Matrix.IdentityReadOnly, transform, viewport);
            // Babylon's view space looks down +z (left-handed); behind the camera the projection mirrors.
            const visible = inView.z > (camera.minZ || 0) && screen.x >= 0 && screen.x <= width && screen.y >= 0 && screen.y <= height;
            div.hidden = !visible;
            if (visible) {
                div.style.left = `${(rect?.left ?? 0) + screen.x * cssPerPixelX}px`;
                div.style.top = `${(rect?.top ?? 0) + screen.y * cssPerPixelY}px`;
            }
        }
    }
}
