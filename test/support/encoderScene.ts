// The set-up shared by specs that encode scenes in the inference worker: one encoder client per spec group, and a
// fresh small engine and scene with a camera per spec, all disposed afterwards.
import type { Scene } from "@babylonjs/core/scene";
import { useTestScene } from "./testScene";
import { InferenceClient } from "../../src/inference/InferenceClient";

/**
 * Registers the hooks in the calling describe(): `onClient` gets the group's client (encoder `modelUrl` loaded,
 * wasm, one thread) before the first spec, `onScene` a new 32x32 scene before each spec.
 */
export function useEncoderScene(modelUrl: string, onClient: (client: InferenceClient) => void, onScene: (scene: Scene) => void): void {
    let client: InferenceClient;
    beforeAll(async () => {
        client = new InferenceClient({ numThreads: 1 });
        onClient(client);
        await client.loadModel({ kind: "encoder", source: modelUrl, executionProvider: "wasm" });
    });
    afterAll(() => client.dispose());
    useTestScene(onScene, { width: 32, height: 32 });
}
