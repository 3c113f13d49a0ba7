// The set-up shared by specs that encode scenes in the inference worker: one encoder client per spec group, and a
// fresh small engine and scene with a camera per spec, all disposed afterwards.
import { Scene } from "@babylonjs/core/scene";
import { FreeCamera } from "@babylonjs/core/Cameras/freeCamera";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { createTestEngine, type TestEngine } from "./webgpu";
import { InferenceClient } from "../../src/inference/InferenceClient";

/**
 * Registers the hooks in the calling describe(): `onClient` gets the group's client (encoder `modelUrl` loaded,
 * wasm, one thread) before the first spec, `onScene` a new 32x32 scene before each spec.
 */
export function useEncoderScene(modelUrl: string, onClient: (client: InferenceClient) => void, onScene: (scene: Scene) => void): void {
    let client: InferenceClient;
    let t: TestEngine;
    let scene: Scene;
    beforeAll(async () => {
        client = new InferenceClient({ numThreads: 1 });
        onClient(client);
        await client.loadModel({ kind: "encoder", source: modelUrl, executionProvider: "wasm" });
    });
    afterAll(() => client.dispose());
    beforeEach(async () => {
        t = await createTestEngine({ width: 32, height: 32 });
        scene = new Scene(t.engine);
        new FreeCamera("camera", new Vector3(0, 0, -3), scene);
        onScene(scene);
    });
    afterEach(() => {
        scene.dispose();
        t.dispose();
    });
}
