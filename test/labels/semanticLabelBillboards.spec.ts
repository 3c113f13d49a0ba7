// SemanticLabelBillboards in Chromium with WebGPU: labels are meshes at their world anchors, drawn where the anchor
// projects (read back from the canvas), readable left to right, at a constant angular size (clamped), hidden behind
// the camera, and dispose() frees every mesh, material and texture (scene lists and live GPU textures).
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { SemanticLabelBillboards } from "../../src/labels/semanticLabelBillboards";
import { SemanticSplatError, isSemanticError } from "../../src/errors";
import { createTestEngine, expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";
import { installGpuCounter, liveGpuObjects } from "../mesh/gpuCounter";

const W = 320;
const H = 240;
// Green: the same in RGBA and BGRA readbacks.
const GREEN: [number, number, number] = [0, 255, 0];

interface Box {
    x0: number;
    x1: number;
    y0: number;
    y1: number;
    count: number;
}

/** Bounding box (render pixels, rows from the top) of the pixels that are not the black background. */
function litBox(pixels: Uint8Array): Box {
    const box = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity, count: 0 };
    for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
            const p = 4 * (y * W + x);
            if (pixels[p] + pixels[p + 1] + pixels[p + 2] > 15) {
                box.x0 = Math.min(box.x0, x);
                box.x1 = Math.max(box.x1, x);
                box.y0 = Math.min(box.y0, y);
                box.y1 = Math.max(box.y1, y);
                box.count++;
            }
        }
    }
    return box;
}

/** Mean x of the strongly green pixels (the class-colour bar). */
function greenPixelsMeanX(pixels: Uint8Array): number {
    let sum = 0;
    let n = 0;
    for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
            const p = 4 * (y * W + x);
            if (pixels[p + 1] > 150 && pixels[p] < 80 && pixels[p + 2] < 80) {
                sum += x;
                n++;
            }
        }
    }
    return n ? sum / n : NaN;
}

describe("SemanticLabelBillboards", () => {
    let t: TestEngine;
    let scene: Scene;
    let camera: FreeCamera;

    beforeAll(() => installGpuCounter());
    beforeEach(async () => {
        t = await createTestEngine({ width: W, height: H });
        scene = new Scene(t.engine);
        scene.clearColor = new Color4(0, 0, 0, 1);
        camera = new FreeCamera("camera", new Vector3(0, 0, -4), scene);
        camera.setTarget(Vector3.Zero());
        camera.minZ = 0.1;
    });
    afterEach(() => {
        expectNoWebGPUErrors(t);
        scene.dispose();
        t.dispose();
    });

    /** Renders until every label material is ready, then reads the canvas. */
    const render = async (): Promise<Uint8Array> => {
        await scene.whenReadyAsync();
        await stepFrames(scene, 1);
        return renderAndReadCanvas(scene);
    };
    const project = (p: Vector3) => Vector3.Project(p, Matrix.IdentityReadOnly, scene.getTransformMatrix(), camera.viewport.toGlobal(W, H));

    it("add / remove / clear with observables; the oldest goes past maxLabels; bad input throws INVALID_ARGUMENT", () => {
        const labels = new SemanticLabelBillboards(scene, { maxLabels: 2 });
        const added: string[] = [];
        const removed: string[] = [];
        labels.onLabelAddedObservable.add((l) => added.push(l.text));
        labels.onLabelRemovedObservable.add((l) => removed.push(l.text));
        const a = labels.add({ position: new Vector3(0, 0, 0), className: "sofa", confidence: 0.873, color: GREEN });
        labels.add({ position: new Vector3(1, 0, 0), className: "chair", color: [0, 255, 0] });
        labels.add({ position: new Vector3(2, 0, 0), className: "table", confidence: 0.5, color: [0, 0, 255], text: "custom" });
        expect(a.text).toBe("sofa 87%");
        expect(added).toEqual(["sofa 87%", "chair", "custom"]);
        expect(removed).toEqual(["sofa 87%"]);
        expect(labels.texts).toEqual(["chair", "custom"]);
        expect(labels.remove(a)).toBeFalse();
        expect(labels.remove(labels.labels[0])).toBeTrue();
        expect(labels.texts).toEqual(["custom"]);
        labels.clear();
        expect(labels.count).toBe(0);
        expect(removed).toEqual(["sofa 87%", "chair", "custom"]);
        const bad: [string, () => unknown][] = [
            ["NaN position", () => labels.add({ position: new Vector3(NaN, 0, 0), className: "x", color: GREEN })],
            ["empty class name", () => labels.add({ position: Vector3.Zero(), className: "", color: GREEN })],
            ["confidence > 1", () => labels.add({ position: Vector3.Zero(), className: "x", confidence: 1.5, color: GREEN })],
            ["colour out of range", () => labels.add({ position: Vector3.Zero(), className: "x", color: [300, 0, 0] })],
            ["negative angularHeight", () => new SemanticLabelBillboards(scene, { angularHeight: -1 })],
            ["maxHeight < minHeight", () => new SemanticLabelBillboards(scene, { minHeight: 2, maxHeight: 1 })],
        ];
        for (const [what, call] of bad) {
            let error: unknown = null;
            try {
                call();
            } catch (e) {
                error = e;
            }
            expect(error).withContext(what).toBeInstanceOf(SemanticSplatError);
            expect(isSemanticError(error, "INVALID_ARGUMENT")).withContext(`${what}: ${String(error)}`).toBeTrue();
        }
        labels.dispose();
    });

    it("dispose() frees every mesh, material and texture it made (scene lists and live GPU textures)", async () => {
        await stepFrames(scene, 2);
        void scene.defaultMaterial; // created lazily by Babylon; not the labels'
        const before = { meshes: scene.meshes.length, materials: scene.materials.length, textures: scene.textures.length, gpuTextures: liveGpuObjects().textures };
        const labels = new SemanticLabelBillboards(scene);
        for (let i = 0; i < 3; i++) labels.add({ position: new Vector3(i - 1, 0, 0), className: `class${i}`, confidence: 0.5, color: GREEN });
        await render();
        expect(scene.meshes.length).toBe(before.meshes + 3);
        expect(scene.materials.length).toBe(before.materials + 3);
        expect(scene.textures.length).toBe(before.textures + 3);
        expect(liveGpuObjects().textures).toBeGreaterThanOrEqual(before.gpuTextures + 3);
        labels.dispose();
        await stepFrames(scene, 1);
        expect(scene.meshes.length).toBe(before.meshes);
        expect(scene.materials.length).toBe(before.materials);
        expect(scene.textures.length).toBe(before.textures);
        expect(liveGpuObjects().textures).withContext("live GPU textures after dispose").toBe(before.gpuTextures);
        expect(() => labels.add({ position: Vector3.Zero(), className: "x", color: GREEN })).toThrowMatching((e) => isSemanticError(e, "DISPOSED"));
    });

    for (const rightHanded of [false, true]) {
        it(`is drawn just above its anchor's projection, reads left to right, and stays at the anchor as the camera moves (${rightHanded ? "right" : "left"}-handed scene)`, async () => {
            scene.useRightHandedSystem = rightHanded;
            // A camera made in the scene's handedness (a camera keeps view matrices cached from before a switch).
            camera.dispose();
            camera = new FreeCamera("camera", new Vector3(0, 0, -4), scene);
            camera.minZ = 0.1;
            scene.activeCamera = camera;
            const labels = new SemanticLabelBillboards(scene, { angularHeight: 0.2 });
            const anchor = new Vector3(0.3, -0.2, 0.5);
            const label = labels.add({ position: anchor, className: "sofa", confidence: 0.9, color: GREEN });
            for (const position of [new Vector3(0, 0, -4), new Vector3(1.5, 0.8, -3), new Vector3(-2, -0.5, -3.5), new Vector3(0.5, 0.3, 4)]) {
                camera.position.copyFrom(position);
                camera.setTarget(Vector3.Zero());
                const pixels = await render();
                expect(label.mesh.position.equalsWithEpsilon(anchor, 1e-9)).withContext(`mesh position from ${position}`).toBeTrue();
                expect(label.anchor.equals(anchor)).toBeTrue();
                const at = project(anchor);
                const box = litBox(pixels);
                expect(box.count).withContext(`label drawn from ${position}`).toBeGreaterThan(100);
                // The box is centred on the anchor horizontally and sits just above it (rows grow downwards).
                // (Within 5% of its width: the plane faces the camera's position, so seen off-axis its near half
                // looks a little larger.)
                expect(Math.abs((box.x0 + box.x1) / 2 - at.x)).withContext(`centre x from ${position}`).toBeLessThan(0.05 * (box.x1 - box.x0) + 2);
                expect(box.y1).withContext(`bottom above the anchor from ${position}`).toBeLessThanOrEqual(at.y + 1);
                expect(at.y - box.y1).withContext(`gap below the label from ${position}`).toBeLessThan(0.3 * (box.y1 - box.y0) + 2);
                // The class-colour bar is on the left: the texture is not mirrored.
                expect(greenPixelsMeanX(pixels)).withContext(`colour bar from ${position}`).toBeLessThan(box.x0 + 0.25 * (box.x1 - box.x0));
            }
            labels.dispose();
        });
    }

    it("keeps its angular size at any distance (same height on screen), within [minHeight, maxHeight]", async () => {
        const labels = new SemanticLabelBillboards(scene, { angularHeight: 0.2, minHeight: 0.05, maxHeight: 2 });
        const label = labels.add({ position: Vector3.Zero(), className: "chair", color: GREEN });
        const heights: number[] = [];
        for (const distance of [2, 4, 8]) {
            camera.position.set(0, 0, -distance);
            camera.setTarget(Vector3.Zero());
            const box = litBox(await render());
            heights.push(box.y1 - box.y0);
            expect(labels.heightOf(label)).toBeCloseTo(2 * distance * Math.tan(0.1), 6);
        }
        expect(heights[0]).toBeGreaterThan(20);
        for (const h of heights) expect(Math.abs(h - heights[0])).withContext(`screen heights ${heights}`).toBeLessThanOrEqual(2);
        camera.position.set(0, 0, -0.1);
        labels.update();
        expect(labels.heightOf(label)).withContext("clamped to minHeight near the camera").toBe(0.05);
        camera.position.set(0, 0, -50);
        labels.update();
        expect(labels.heightOf(label)).withContext("clamped to maxHeight far away").toBe(2);
        labels.dispose();
    });

    it("is hidden while its anchor is behind the camera, and shown again in front", async () => {
        const labels = new SemanticLabelBillboards(scene, { angularHeight: 0.2 });
        const label = labels.add({ position: Vector3.Zero(), className: "bed", color: GREEN });
        camera.setTarget(new Vector3(0, 0, -10)); // looking away
        const behind = litBox(await render());
        expect(label.mesh.isEnabled()).toBeFalse();
        expect(behind.count).toBe(0);
        camera.setTarget(Vector3.Zero());
        expect(litBox(await render()).count).toBeGreaterThan(100);
        expect(label.mesh.isEnabled()).toBeTrue();
        labels.enabled = false;
        expect(litBox(await render()).count).withContext("enabled = false hides every label").toBe(0);
        labels.dispose();
    });
});
