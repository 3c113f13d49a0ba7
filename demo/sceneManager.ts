// Loading scenes into the page: a new SemanticGaussianSplattingMesh per load, swapped in as soon as its Gaussians are
// loaded (a malformed file ends in an error message and the previous scene keeps rendering). A scene without features
// gets them from the shipped Gaussian encoder in the background: the scene renders at once and segmentation starts
// with the RGB-only fallback model meanwhile (main.ts), switching to the full model once `featuresReady` settles.
import type { Scene } from "@babylonjs/core/scene";
import { SemanticGaussianSplattingMesh } from "../src/mesh";
import type { ExecutionProviderChoice } from "../src/worker/protocol";
import type { EncodeProgress } from "../src/encoder/encodeScene";
import { ProgressBar, fetchWithProgressBar } from "./ui";
import { STAND_IN_CHANNELS, STAND_IN_ENCODER_ID, standInFeatures } from "./standInFeatures";

/** Where a scene's per-Gaussian features came from: the file (`f_sem_*`), the shipped Gaussian encoder (run in the
 *  worker when the file has none; "encoding" while it runs), the stand-in raw channels (no encoder shipped, or it
 *  failed), or nowhere. */
export type FeatureSource = "file" | "encoding" | "encoder" | "stand-in" | "none";

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
    /** Changes from "encoding" to "encoder" (or "stand-in" when the encoder failed) when `featuresReady` settles. */
    featureSource: FeatureSource;
    startCamera: StartCamera | null;
    /** Why the shipped encoder could not give the features (null when it did or was not needed). */
    encoderProblem: string | null;
    /** The encoder's latest progress while `featureSource` is "encoding" (for the HUD). */
    encodeProgress: EncodeProgress | null;
    /** Resolves once the scene has its final features (at once when no encode runs); never rejects. */
    featuresReady: Promise<void>;
}

export interface SceneRequest {
    /** A URL, or a file the user dropped or picked. */
    source: string | File;
    /** JSON next to the scene with a `camera` start pose (the SynthRooms showcase format). */
    infoUrl?: string;
}

/**
 * Loads a scene into a new mesh and resolves as soon as its Gaussians are loaded. Features (only when
 * `wantFeatures`, i.e. on WebGPU pages): the file's own (`f_sem_*`), else the shipped encoder's when there is one,
 * computed in the worker AFTER this resolves (`featureSource` "encoding" until `featuresReady`), else the stand-in
 * raw channels (standInFeatures.ts). Throws (with the file named) and leaves nothing on the scene when the load
 * fails; an encoder failure only falls back to the stand-in features (`encoderProblem` says why). `encodeGate`
 * (the smoke test's ?holdEncode) delays the start of the encode until it resolves.
 */
export async function loadScene(
    scene: Scene,
    request: SceneRequest,
    wantFeatures: boolean,
    encoder: EncoderChoice | null,
    encodeGate: Promise<void> | null = null
): Promise<LoadedScene> {
    const { source } = request;
    const name = typeof source === "string" ? source : source.name;
    // a Blob either way (a download, or the user's File): the mesh reads a PLY from it in chunks
    const data: Blob = typeof source === "string" ? await fetchWithProgressBar(source, `loading ${shortName(name)}`) : source;
    const bar = new ProgressBar(`preparing ${shortName(name)}`);
    let mesh: SemanticGaussianSplattingMesh | null = null;
    try {
        bar.step(0.2, "decoding the Gaussians");
        // SPZ v4 needs the @adobe/spz module: the demo build copies it to vendor/ (the library never downloads it).
        const spzLibraryUrl = new URL("./vendor/spz.js", import.meta.url).href; // next to the bundle (build/demo/)
        // A URL's folder is the rootUrl a SOG meta.json's images are fetched from.
        const rootUrl = typeof source === "string" ? new URL("./", new URL(source, location.href)).href : undefined;
        // sourceInMemory: false: the demo never saves the scene, so the mesh keeps the PLY as a Blob (outside the tab's
        // memory) rather than the downloaded bytes (docs/RUNTIME.md, "Large PLY files and memory").
        mesh = await SemanticGaussianSplattingMesh.LoadAsync({ data, fileName: shortName(name) }, scene, { name: shortName(name), spzLibraryUrl, rootUrl, sourceInMemory: false });
        const startCamera = request.infoUrl ? await readStartCamera(request.infoUrl) : null;
        const loaded: LoadedScene = {
            mesh,
            name,
            featureSource: mesh.featureDimension > 0 ? "file" : "none",
            startCamera,
            encoderProblem: null,
            encodeProgress: null,
            featuresReady: Promise.resolve(),
        };
        const standIn = () => {
            loaded.mesh.setFeatures(standInFeatures(loaded.mesh), STAND_IN_CHANNELS.length, { encoderId: STAND_IN_ENCODER_ID, source: name });
            loaded.featureSource = "stand-in";
        };
        if (loaded.featureSource === "none" && wantFeatures && encoder) {
            loaded.featureSource = "encoding";
            loaded.featuresReady = encodeInBackground(loaded, encoder, encodeGate, standIn);
        } else if (loaded.featureSource === "none" && wantFeatures) {
            bar.step(0.7, "computing stand-in features (no Gaussian encoder)");
            await new Promise((r) => setTimeout(r, 0)); // let the bar paint
            standIn();
        }
        return loaded;
    } catch (e) {
        mesh?.dispose();
        throw e;
    } finally {
        bar.done();
    }
}

/** Encodes the scene's Gaussians in the worker while the scene renders; on failure the stand-in features. */
async function encodeInBackground(loaded: LoadedScene, encoder: EncoderChoice, gate: Promise<void> | null, standIn: () => void): Promise<void> {
    const label = shortName(loaded.name);
    await gate;
    if (loaded.mesh.isDisposed()) return; // another scene replaced it meanwhile
    const encodeBar = new ProgressBar(`encoding ${label} (Gaussian encoder, in the worker; the scene is segmented from RGB meanwhile)`);
    try {
        await loaded.mesh.encodeFeatures({
            ...encoder,
            onProgress: (p) => {
                loaded.encodeProgress = p;
                encodeBar.step(p.fraction, p.stage);
            },
        });
        loaded.featureSource = "encoder";
    } catch (e) {
        if (loaded.mesh.isDisposed()) return;
        loaded.encoderProblem = e instanceof Error ? e.message : String(e);
        standIn();
    } finally {
        loaded.encodeProgress = null;
        encodeBar.done();
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
