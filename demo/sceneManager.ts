// Loading scenes into the page: a new SemanticGaussianSplattingMesh per load, swapped in only once it loaded and
// got its features, so a malformed file ends in an error message and the previous scene keeps rendering.
import type { Scene } from "@babylonjs/core/scene";
import { SemanticGaussianSplattingMesh } from "../src/mesh";
import type { ExecutionProviderChoice } from "../src/worker/protocol";
import { ProgressBar, fetchWithProgressBar } from "./ui";
import { STAND_IN_CHANNELS, STAND_IN_ENCODER_ID, standInFeatures } from "./standInFeatures";

/** Where a scene's per-Gaussian features came from: the file (`f_sem_*`), the shipped Gaussian encoder (run in the
 *  worker when the file has none), the stand-in raw channels (no encoder shipped, or it failed), or nowhere. */
export type FeatureSource = "file" | "encoder" | "stand-in" | "none";

/** The shipped Gaussian encoder (from models/manifest.json). */
export interface EncoderChoice {
    modelUrl: string;
    manifestUrl: string;
    executionProvider: ExecutionProviderChoice;
}

/** A start pose in Babylon's world frame (the showcase's JSON has one). */
export interface StartCamera {
    position: [number, number, number];
    target: [number, number, number];
    fov?: number;
}

export interface LoadedScene {
    mesh: SemanticGaussianSplattingMesh;
    /** File name or URL. */
    name: string;
    featureSource: FeatureSource;
    startCamera: StartCamera | null;
    /** Why the shipped encoder could not give the features (null when it did or was not needed). */
    encoderProblem: string | null;
}

export interface SceneRequest {
    /** A URL, or a file the user dropped or picked. */
    source: string | File;
    /** JSON next to the scene with a `camera` start pose (the SynthRooms showcase format). */
    infoUrl?: string;
}

/**
 * Loads a scene into a new mesh. Features (only when `wantFeatures`, i.e. on WebGPU pages): the file's own
 * (`f_sem_*`), else the shipped encoder's when there is one, else the stand-in raw channels (standInFeatures.ts).
 * Throws (with the file named) and leaves nothing on the scene when the load fails; an encoder failure only
 * falls back to the stand-in features (`encoderProblem` says why).
 */
export async function loadScene(
    scene: Scene,
    request: SceneRequest,
    wantFeatures: boolean,
    encoder: EncoderChoice | null,
    /** Called once the mesh is on the scene, before its features are computed (the encoder takes seconds). */
    onMeshLoaded?: (mesh: SemanticGaussianSplattingMesh, startCamera: StartCamera | null) => void
): Promise<LoadedScene> {
    const { source } = request;
    const name = typeof source === "string" ? source : source.name;
    const data = typeof source === "string" ? await fetchWithProgressBar(source, `loading ${shortName(name)}`) : await source.arrayBuffer();
    const bar = new ProgressBar(`preparing ${shortName(name)}`);
    let mesh: SemanticGaussianSplattingMesh | null = null;
    try {
        bar.step(0.2, "decoding the Gaussians");
        // SPZ v4 needs the @adobe/spz module: the demo build copies it to vendor/ (the library never downloads it).
        const spzLibraryUrl = new URL("./vendor/spz.js", import.meta.url).href; // next to the bundle (build/demo/)
        // A URL's folder is the rootUrl a SOG meta.json's images are fetched from.
        const rootUrl = typeof source === "string" ? new URL("./", new URL(source, location.href)).href : undefined;
        mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data, fileName: shortName(name) }, scene, { name: shortName(name), spzLibraryUrl, rootUrl });
        const startCamera = request.infoUrl ? await readStartCamera(request.infoUrl) : null;
        onMeshLoaded?.(mesh, startCamera);
        let featureSource: FeatureSource = mesh.featureDimension > 0 ? "file" : "none";
        let encoderProblem: string | null = null;
        if (featureSource === "none" && wantFeatures && encoder) {
            const encodeBar = new ProgressBar(`encoding ${shortName(name)} (Gaussian encoder, in the worker)`);
            try {
                await mesh.encodeFeatures({ ...encoder, onProgress: (p) => encodeBar.step(p.fraction, p.stage) });
                featureSource = "encoder";
            } catch (e) {
                encoderProblem = e instanceof Error ? e.message : String(e);
            } finally {
                encodeBar.done();
            }
        }
        if (featureSource === "none" && wantFeatures) {
            bar.step(0.7, "computing stand-in features (no Gaussian encoder)");
            await new Promise((r) => setTimeout(r, 0)); // let the bar paint
            mesh.setFeatures(standInFeatures(mesh), STAND_IN_CHANNELS.length, { encoderId: STAND_IN_ENCODER_ID, source: name });
            featureSource = "stand-in";
        }
        return { mesh, name, featureSource, startCamera, encoderProblem };
    } catch (e) {
        mesh?.dispose();
        throw e;
    } finally {
        bar.done();
    }
}

/** The `camera` of a scene info JSON, or null when the file has none (a missing file is not an error). */
async function readStartCamera(url: string): Promise<StartCamera | null> {
    const response = await fetch(url).catch(() => null);
    if (!response || !response.ok) return null;
    const info = (await response.json().catch(() => null)) as { camera?: StartCamera } | null;
    const camera = info?.camera;
    const isVec3 = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x));
    return camera && isVec3(camera.position) && isVec3(camera.target) ? camera : null;
}

export function shortName(name: string): string {
    return name.split("/").pop() || name;
}
