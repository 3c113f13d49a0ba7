// The harness itself: WebGPU renders in this Chromium, readback works, errors are caught.
import { Scene } from "@babylonjs/core/scene";
import { Color4 } from "@babylonjs/core/Maths/math.color";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, expectNoWebGPUErrors, renderAndReadCanvas, stepFrames, type TestEngine } from "../support/webgpu";

describe("browser test harness", () => {
    let t: TestEngine;
    afterEach(() => t?.dispose());

    it("clears a WebGPU canvas to a known colour and reads it back", async () => {
        t = await createTestEngine({ width: 64, height: 32 });
        expect(t.engine.isWebGPU).toBeTrue();
        const scene = new Scene(t.engine);
        scene.clearColor = new Color4(1, 0.5, 0, 1);
        new FreeCamera("camera", new Vector3(0, 0, -5), scene);
        await stepFrames(scene, 1);
        const pixels = await renderAndReadCanvas(scene);
        expect(pixels[0]).toBe(255);
        expect(Math.abs(pixels[1] - 128)).toBeLessThanOrEqual(1);
        expect(pixels[2]).toBe(0);
        expectNoWebGPUErrors(t);
        scene.dispose();
    });

    it("records uncaptured WebGPU validation errors", async () => {
        t = await createTestEngine();
        // A buffer usage that WebGPU rejects: MAP_READ may only be combined with COPY_DST.
        t.engine._device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.VERTEX });
        await t.engine._device.queue.onSubmittedWorkDone();
        await new Promise((r) => setTimeout(r, 50));
        expect(t.errors.length).toBe(1);
    });

    it("raises device limits when asked", async () => {
        t = await createTestEngine({ raisedLimits: true });
        expect(t.engine._device.limits.maxColorAttachmentBytesPerSample).toBeGreaterThan(32);
    });
});
