// Labels anchored at 3D points: HTML elements moved every frame to the projection of their point, hidden when the
// point is behind the camera or off screen.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import type { Scene } from "@babylonjs/core/scene";
import { element } from "./ui";

interface Anchored {
    point: Vector3;
    div: HTMLDivElement;
}

export class AnchoredLabels {
    private readonly labels: Anchored[] = [];
    private readonly layer = element("labels-layer");

    constructor(
        private readonly scene: Scene,
        /** How many labels stay (the oldest go first). */
        private readonly maxLabels: number
    ) {
        scene.onAfterRenderObservable.add(() => this.place());
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
        this.place();
        return div;
    }

    clear(): void {
        for (const l of this.labels.splice(0)) l.div.remove();
    }

    private place(): void {
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
