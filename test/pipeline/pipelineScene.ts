// The pipeline specs' scene: four flat "objects" (planes of Gaussians, one per image quadrant, each at its own
// depth) whose Gaussians carry one-hot class features (K = 8), seen by a camera at z = -4. Each quadrant reaches
// past the view so the canvas corners are covered; a cross-shaped gap between them is empty (label none).
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import type { TestEngine } from "../support/webgpu";
import { stepFrames } from "../support/webgpu";
import { createTinySplatMesh, type TinyGaussian } from "../support/tinyScene";
import type { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { ClassTable } from "../../src/classes";
import { FEATURE_CLASS, K } from "../worker/fixtureInputs";

export interface QuadrantObject {
    name: string;
    /** One-hot feature channel of its Gaussians. */
    channel: number;
    /** The class the fixture model gives that channel (FEATURE_CLASS). */
    classId: number;
    /** The plane's depth (world z). */
    z: number;
    /** A point on the object near the middle of its visible part: the "centre" the specs pick at. */
    centre: Vector3;
    /** Sign of x and y of the quadrant. */
    sx: number;
    sy: number;
}

const GAP = 0.2; // half-width of the empty cross between the quadrants
const REACH = 3.4; // how far the planes reach: beyond the view at every depth used
const SPACING = 0.1;

export const OBJECTS: QuadrantObject[] = [
    { name: "top-left", channel: 2, sx: -1, sy: 1, z: 0 },
    { name: "top-right", channel: 3, sx: 1, sy: 1, z: 0.3 },
    { name: "bottom-left", channel: 5, sx: -1, sy: -1, z: 0.6 },
    { name: "bottom-right", channel: 7, sx: 1, sy: -1, z: -0.3 },
].map((o) => ({ ...o, classId: FEATURE_CLASS[o.channel], centre: new Vector3(o.sx * 1.0, o.sy * 0.75, o.z) }));

/** An object's colour (blue-dominated for channels 2 and 3, red for 5 and 7: the fallback fixture tells them apart). */
export function objectColour(o: QuadrantObject): [number, number, number] {
    return [0.2 + 0.1 * o.channel, 0.5, 0.9 - 0.1 * o.channel];
}

export function quadrantGaussians(): TinyGaussian[] {
    const gaussians: TinyGaussian[] = [];
    for (const o of OBJECTS) {
        const features = Array.from({ length: K }, (_, k) => (k === o.channel ? 1 : 0));
        for (let a = GAP; a <= REACH; a += SPACING) {
            for (let b = GAP; b <= REACH * 0.8; b += SPACING) {
                gaussians.push({
                    position: [o.sx * a, o.sy * b, o.z],
                    color: objectColour(o),
                    opacity: 1,
                    scale: [0.07, 0.07, 0.004], // flat: the plane's surface is at z
                    features,
                });
            }
        }
    }
    return gaussians;
}

/** Diagonal of the scene's bounding box (the "extent" the 2% tolerance refers to). */
export function sceneExtent(gaussians: TinyGaussian[]): number {
    const min = [Infinity, Infinity, Infinity];
    const max = [-Infinity, -Infinity, -Infinity];
    for (const g of gaussians) for (let i = 0; i < 3; i++) {
        min[i] = Math.min(min[i], g.position[i]);
        max[i] = Math.max(max[i], g.position[i]);
    }
    return Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
}

export interface PipelineScene {
    scene: Scene;
    camera: FreeCamera;
    mesh: SemanticGaussianSplattingMesh;
    gaussians: TinyGaussian[];
}

export function createQuadrantScene(t: TestEngine): PipelineScene {
    const scene = new Scene(t.engine);
    scene.clearColor = new Color4(0, 0, 0, 1);
    const camera = new FreeCamera("camera", new Vector3(0, 0, -4), scene);
    camera.setTarget(new Vector3(0, 0, 0));
    camera.minZ = 0.1;
    const gaussians = quadrantGaussians();
    const mesh = createTinySplatMesh(scene, gaussians, "quadrants");
    return { scene, camera, mesh, gaussians };
}

/** Where a world point appears, in canvas CSS pixels (the canvas's CSS box may differ from its render size). */
export function projectToCss(s: PipelineScene, point: Vector3, canvas: HTMLCanvasElement): { x: number; y: number } {
    const rect = canvas.getBoundingClientRect();
    const engine = s.scene.getEngine();
    const render = Vector3.Project(point, Matrix.Identity(), s.scene.getTransformMatrix(), s.camera.viewport.toGlobal(engine.getRenderWidth(), engine.getRenderHeight()));
    return { x: (render.x * rect.width) / engine.getRenderWidth(), y: (render.y * rect.height) / engine.getRenderHeight() };
}

/** The point where the camera ray through a CSS position meets the plane z = `z` (the true surface there). */
export function surfaceAt(s: PipelineScene, cssX: number, cssY: number, z: number, canvas: HTMLCanvasElement): Vector3 {
    const rect = canvas.getBoundingClientRect();
    const engine = s.scene.getEngine();
    const ray = s.scene.createPickingRay((cssX * engine.getRenderWidth()) / rect.width, (cssY * engine.getRenderHeight()) / rect.height, Matrix.Identity(), s.camera);
    const t = (z - ray.origin.z) / ray.direction.z;
    return ray.origin.add(ray.direction.scale(t));
}

export async function loadClassTable(): Promise<ClassTable> {
    return ClassTable.load("/base/models/classes.json");
}

/** Steps frames (yielding to the event loop between them) until `promise` settles; returns the frames stepped. */
export async function stepUntilSettled(scene: Scene, promise: Promise<unknown>, maxFrames = 2000): Promise<number> {
    let settled = false;
    promise.then(
        () => (settled = true),
        () => (settled = true)
    );
    let frames = 0;
    while (!settled) {
        if (frames >= maxFrames) throw new Error(`still unsettled after ${maxFrames} frames`);
        await stepFrames(scene, 1);
        frames++;
        await new Promise((r) => setTimeout(r, 1));
    }
    return frames;
}
