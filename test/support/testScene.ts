// The set-up most browser specs share: a fresh small WebGPU engine, a scene and a camera before each spec of the
// calling describe(), all disposed after it (so one spec's GPU resources or errors never reach the next).
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, type TestEngine, type TestEngineOptions } from "./webgpu";

export interface TestSceneOptions extends TestEngineOptions {
    /** Where the FreeCamera "camera" stands, looking down +Z (default (0, 0, -3)). */
    cameraPosition?: Vector3;
}

/** Registers the hooks; `onScene` gets each spec's scene and engine (default canvas 64 x 48). */
export function useTestScene(onScene: (scene: Scene, t: TestEngine) => void, options: TestSceneOptions = {}): void {
    let t: TestEngine | undefined;
    let scene: Scene | undefined;
    beforeEach(async () => {
        t = await createTestEngine({ width: 64, height: 48, ...options });
        scene = new Scene(t.engine);
        new FreeCamera("camera", options.cameraPosition?.clone() ?? new Vector3(0, 0, -3), scene);
        onScene(scene, t);
    });
    afterEach(() => {
        scene?.dispose();
        t?.dispose();
        scene = t = undefined;
    });
}
