// Hide / isolate / recolour by lifted class changes what Babylon renders (read back from the canvas), and picking
// through lifted labels on a real mesh with the camera's own matrices answers the class under the pixel.
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { LiftedLabelDisplay, liftingGaussiansOf, pickLiftedLabel } from "../../src/lifting";
import { createTestEngine, expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";
import { createTinySplatMesh, type TinyGaussian } from "../support/tinyScene";

const W = 160;
const H = 120;

/** Mean rgb of the canvas over a rectangle of fractions [x0, x1) x [y0, y1), rows from the top. */
function meanRgb(pixels: Uint8Array, x0: number, x1: number, y0: number, y1: number): [number, number, number] {
    const sum = [0, 0, 0];
    let count = 0;
    for (let y = Math.floor(y0 * H); y < Math.floor(y1 * H); y++) {
        for (let x = Math.floor(x0 * W); x < Math.floor(x1 * W); x++) {
            const p = 4 * (y * W + x);
            sum[0] += pixels[p];
            sum[1] += pixels[p + 1];
            sum[2] += pixels[p + 2];
            count++;
        }
    }
    return [sum[0] / count, sum[1] / count, sum[2] / count];
}

describe("LiftedLabelDisplay and lifted picking on a mesh", () => {
    let t: TestEngine;
    let scene: Scene;
    let camera: FreeCamera;

    beforeEach(async () => {
        t = await createTestEngine({ width: W, height: H });
        scene = new Scene(t.engine);
        scene.clearColor = new Color4(0, 0, 0, 1);
        camera = new FreeCamera("camera", new Vector3(0, 0, -3), scene);
        camera.setTarget(Vector3.Zero());
        camera.minZ = 0.05;
    });

    afterEach(() => {
        scene.dispose();
        t.dispose();
    });

    /** A red blob (class 2) on the left and a green one (class 5) on the right, each of 9 Gaussians. */
    function twoBlobs() {
        const gaussians: TinyGaussian[] = [];
        const lifted: number[] = [];
        for (const [cx, color, cls] of [[-0.7, [1, 0, 0], 2], [0.7, [0, 1, 0], 5]] as const) {
            for (let k = 0; k < 9; k++) {
                gaussians.push({ position: [cx + 0.15 * ((k % 3) - 1), 0.15 * (Math.floor(k / 3) - 1), 0], color: [...color] as [number, number, number], opacity: 1, scale: 0.15 });
                lifted.push(cls);
            }
        }
        const mesh = createTinySplatMesh(scene, gaussians);
        return { mesh, lifted: Uint8Array.from(lifted) };
    }

    async function settle(mesh: { isReady(complete?: boolean): boolean }) {
        for (let i = 0; i < 200 && !mesh.isReady(true); i++) {
            await stepFrames(scene, 1);
            await new Promise((r) => setTimeout(r, 10));
        }
        await stepFrames(scene, 2);
    }

    it("hide, isolate and recolour by class change what renders; restore puts it back", async () => {
        const { mesh, lifted } = twoBlobs();
        await settle(mesh);
        const display = new LiftedLabelDisplay(mesh);
        const before = await renderAndReadCanvas(scene);
        const left = () => meanRgb(before, 0.2, 0.35, 0.4, 0.6);
        expect(left()[0]).toBeGreaterThan(100); // red blob
        expect(meanRgb(before, 0.65, 0.8, 0.4, 0.6)[1]).toBeGreaterThan(100); // green blob

        display.hide(lifted, [2]);
        let pixels = await renderAndReadCanvas(scene);
        expect(meanRgb(pixels, 0.2, 0.35, 0.4, 0.6)[0]).withContext("hidden red").toBeLessThan(5);
        expect(meanRgb(pixels, 0.65, 0.8, 0.4, 0.6)[1]).withContext("green stays").toBeGreaterThan(100);

        display.isolate(lifted, [2]);
        pixels = await renderAndReadCanvas(scene);
        expect(meanRgb(pixels, 0.2, 0.35, 0.4, 0.6)[0]).withContext("isolated red").toBeGreaterThan(100);
        expect(meanRgb(pixels, 0.65, 0.8, 0.4, 0.6)[1]).withContext("green hidden").toBeLessThan(5);

        display.recolor(lifted, new Map([[5, [0, 0, 255] as const]]));
        pixels = await renderAndReadCanvas(scene);
        const right = meanRgb(pixels, 0.65, 0.8, 0.4, 0.6);
        expect(right[2]).withContext("recoloured blue").toBeGreaterThan(100);
        expect(right[1]).withContext("no green left").toBeLessThan(5);
        expect(meanRgb(pixels, 0.2, 0.35, 0.4, 0.6)[0]).withContext("red unchanged").toBeGreaterThan(100);

        display.restore();
        pixels = await renderAndReadCanvas(scene);
        const restored = meanRgb(pixels, 0.65, 0.8, 0.4, 0.6);
        const original = meanRgb(before, 0.65, 0.8, 0.4, 0.6);
        expect(Math.abs(restored[1] - original[1])).toBeLessThan(2);
        expect(restored[2]).toBeLessThan(5);
        expect(() => display.hide(new Uint8Array(3), [2])).toThrowError(/3 labels for 18 Gaussians/);
        expectNoWebGPUErrors(t);
    });

    it("picking through lifted labels with the camera's matrices answers the class under the pixel", async () => {
        const { mesh, lifted } = twoBlobs();
        await settle(mesh);
        const gaussians = liftingGaussiansOf(mesh);
        expect(gaussians.positions.length).toBe(18 * 3);
        expect(gaussians.positions[0]).toBeCloseTo(-0.85, 5);
        expect(gaussians.opacities[0]).toBeCloseTo(1, 5);
        const request = { width: W, height: H, viewMatrix: camera.getViewMatrix().m, projectionMatrix: camera.getProjectionMatrix().m };
        // Where the canvas shows red, the pick says class 2; where it shows green, class 5; black: none.
        const pixels = await renderAndReadCanvas(scene);
        const probes: [number, number][] = [[0.27, 0.5], [0.73, 0.5], [0.5, 0.1]];
        for (const [fx, fy] of probes) {
            const x = Math.floor(fx * W);
            const y = Math.floor(fy * H);
            const p = 4 * (y * W + x);
            const expected = pixels[p] > 100 ? 2 : pixels[p + 1] > 100 ? 5 : 255;
            const pick = pickLiftedLabel({ x: x + 0.5, y: y + 0.5, ...request }, gaussians, lifted, gaussians.radii);
            expect(pick.label).withContext(`pixel (${x}, ${y})`).toBe(expected);
            if (expected !== 255) expect(pick.depth).toBeCloseTo(3, 1);
        }
        expectNoWebGPUErrors(t);
    });
});
