// Loading a scene into a SemanticGaussianSplattingMesh through Babylon's own splat loader.
//
// Babylon's loader (loaders 9.28) has three traits this module works around, so that a bad file ends in a
// clear SemanticSplatError instead of a hang, a stray mesh or a network request:
// - Several of its failure paths throw inside un-awaited promise chains (malformed PLY, SPZ and zip data),
//   so the load never settles. Every file is therefore checked here BEFORE the loader sees it, and the loader
//   call is raced against a timeout as a last resort.
// - It downloads helper libraries from a CDN (fflate for .sog zips, the @adobe/spz WASM module for SPZ by
//   default). Zips are unpacked here and handed over pre-unpacked; SPZ uses the built-in parser unless the
//   caller names a spz module URL.
// - A PLY without the Gaussian properties becomes a point cloud or a triangle mesh of its own instead of
//   loading into the given mesh: such files are refused.
import { ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import type { Scene } from "@babylonjs/core/scene";
import { RegisterSPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { isSemanticError, SemanticSplatError } from "../errors";
import { budgetExceeded, resolveBudgets } from "../formats/budgets";
import { checkSogImages, parseSogMeta, readSceneFile, sogImageNames, type SceneReadOptions } from "../formats/sceneFile";
import { featuresToFloat16, type FeatureArray } from "./featureLayout";
import type { SemanticGaussianSplattingMesh } from "./semanticGaussianSplattingMesh";
import { readSidecar } from "./semanticFiles";
import { sceneFrameFromComments, type SceneFrame } from "../frame/sceneFrame";

/** A scene to load: a URL, or bytes already in memory with the file name they came from. */
export type SceneSource = string | { data: ArrayBuffer | Uint8Array; fileName: string };

/**
 * Options of a load. Every field is optional. The budgets (`budgets`: maxFileBytes, maxDecompressedBytes,
 * maxGaussians) and the validation policy (`invalidGaussians`, `invalidLabels`, `classCount`) are those of
 * readSceneFile (docs/FORMATS.md, "Budgets and validation policy").
 */
export interface SemanticLoadOptions extends SceneReadOptions {
    /**
     * A feature sidecar (ARCHITECTURE.md contract 1) to read the per-Gaussian features from: a URL, or bytes with
     * a file name. Its Gaussian count must match the scene's, and its K the PLY's `f_sem_*` count when the PLY has
     * features too (the sidecar's values are then used). Default: none.
     */
    sidecar?: SceneSource;
    /**
     * Folder URL (ending in "/") that the webp images of a SOG `meta.json` given as bytes are fetched from. For a
     * `meta.json` loaded by URL, the URL's own folder is used. Default: none.
     */
    rootUrl?: string;
    /**
     * URL of the `@adobe/spz` ES module, needed only for SPZ v4 ("NGSP" v4) files; Babylon's built-in parser reads
     * v2 and v3. Default: none, because this library never downloads code on its own: v4 files are refused. Serve
     * your own copy (`npm install @adobe/spz`, then `node_modules/@adobe/spz/dist/spz.js`, one self-contained file
     * with its WebAssembly inside), as the demo does (build/demo/vendor/spz.js). v4 containers are checked before
     * the module sees them (stream table, zstd frames), since the module decodes a damaged file to nothing.
     */
    spzLibraryUrl?: string;
    /**
     * Milliseconds after which a load that Babylon's loader has not finished is abandoned with an error (a last
     * resort: every file is checked before the loader sees it, so a bad file fails at once). With
     * {@link SemanticGaussianSplattingMesh.LoadAsync} the mesh is then disposed. Default: 120000.
     */
    timeoutMs?: number;
}

/** What a load produced besides the splat data (which Babylon's loader wrote into the mesh). */
export interface LoadedScene {
    fileName: string;
    sourcePly: Uint8Array | null;
    /** sceneFrame: the frame the features were computed in, as the file recorded it (PLY comment, sidecar v2). */
    features: { values: FeatureArray; featureDimension: number; encoderId: string; source: string; sceneFrame: SceneFrame | null } | null;
    labels: Uint16Array | null;
    /** Gaussians dropped by the invalidGaussians: "drop" policy (0 otherwise). */
    droppedGaussians: number;
    /** Labels mapped to none by the invalidLabels: "none" policy (0 otherwise). */
    labelsMappedToNone: number;
}

const DEFAULT_TIMEOUT_MS = 120000;
/** An empty ZIP archive (just the end-of-central-directory record): "PK\x05\x06" and 18 zero bytes. */
const EMPTY_ZIP = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/**
 * Most Gaussians the device's per-splat textures hold. Babylon lays splat i at texel (i % width, floor(i / width))
 * with width = the engine's maxTextureSize (WebGPU: maxTextureDimension2D) and keeps one spare texel past the data
 * (gaussianSplattingMeshBase `_getTextureSize`), and the feature texture array uses the same size, so a scene needs
 * at most maxTextureSize rows: maxTextureSize^2 - 1 Gaussians (67,108,863 at WebGPU's default 8192). Past that,
 * Babylon's textures fail only as uncaptured WebGPU validation errors and the mesh draws nothing.
 */
export function splatTextureCapacity(maxTextureSize: number): number {
    return maxTextureSize * maxTextureSize - 1;
}

/** readSceneFile with the maxGaussians budget tightened to what the device's splat textures hold: a scene above that
 *  is refused from its header (GPU_LIMITS, naming the limit) before anything is decoded or allocated. */
async function readSceneFileWithinGpu(mesh: SemanticGaussianSplattingMesh, bytes: Uint8Array, fileName: string, options: SemanticLoadOptions, maxGaussians: number) {
    const maxTextureSize = mesh.getEngine().getCaps().maxTextureSize;
    const capacity = splatTextureCapacity(maxTextureSize);
    if (!(capacity < maxGaussians)) return readSceneFile(bytes, fileName, options);
    try {
        return await readSceneFile(bytes, fileName, { ...options, budgets: { ...options.budgets, maxGaussians: capacity } });
    } catch (e) {
        const budgetMessage = "more than the maxGaussians budget";
        if (isSemanticError(e) && e.code === "BUDGET_EXCEEDED" && e.message.includes(budgetMessage)) {
            // "<file>: the PLY declares N Gaussians: more than the maxGaussians budget of ..." -> "the PLY declares N Gaussians"
            const prefix = e.fileName ? `${e.fileName}: ` : "";
            const what = e.message.slice(e.message.startsWith(prefix) ? prefix.length : 0, e.message.indexOf(`: ${budgetMessage}`));
            throw new SemanticSplatError(
                "GPU_LIMITS",
                `${what}: more than this device's splat textures hold (${capacity} Gaussians: ${maxTextureSize} x ${maxTextureSize} texels at its maximum texture size ${maxTextureSize})`,
                fileName
            );
        }
        throw e;
    }
}

/** Reads `source`, checks it, and loads it into `mesh` through Babylon's splat loader. */
export async function loadSceneInto(mesh: SemanticGaussianSplattingMesh, source: SceneSource, options: SemanticLoadOptions): Promise<LoadedScene> {
    RegisterSPLATFileLoader();
    const budgets = resolveBudgets(options.budgets);
    const { bytes, fileName } = await readSource(source, "scene", budgets.maxFileBytes);
    const scene = await readSceneFileWithinGpu(mesh, bytes, fileName, options, budgets.maxGaussians);
    const expectedCount = scene.count;

    let loaderBytes: Uint8Array = scene.loaderBytes;
    const rootUrl = "";
    let loaderExtension: string = scene.loaderExtension;
    let fflate: { unzipSync: (data: Uint8Array) => Record<string, Uint8Array> } | undefined;
    switch (scene.format) {
        case "spz-raw":
            // An uncompressed SPZ stream: Babylon's built-in parser reads only the gzip form, so wrap it.
            loaderBytes = await gzip(loaderBytes);
            break;
        case "spz-v4":
            if (!options.spzLibraryUrl) {
                throw new SemanticSplatError(
                    "UNSUPPORTED_FORMAT",
                    "SPZ v4 needs the @adobe/spz WASM module: pass its URL as the spzLibraryUrl load option (v2 and v3 load without it)",
                    fileName
                );
            }
            break;
        case "sog": {
            const entries = Object.fromEntries(scene.sogFiles ?? []);
            fflate = { unzipSync: () => entries };
            break;
        }
        case "sog-meta": {
            const folder = options.rootUrl ?? (typeof source === "string" ? folderOf(source) : "");
            if (typeof source !== "string" && !options.rootUrl) {
                throw new SemanticSplatError("INVALID_ARGUMENT", "a SOG meta.json given as bytes needs the rootUrl option (where its webp images are)", fileName);
            }
            // The images are fetched here (within maxFileBytes together) and checked like a .sog archive's, then
            // handed to Babylon's loader as a pre-unpacked archive: it never fetches or decodes an unchecked file.
            const meta = parseSogMeta(bytes, fileName);
            const files = new Map<string, Uint8Array>([["meta.json", bytes]]);
            let total = bytes.length;
            for (const name of sogImageNames(meta)) {
                let image: Uint8Array;
                try {
                    image = (await readSource(folder + name, "SOG image", budgets.maxFileBytes - total)).bytes;
                } catch (error) {
                    const code = isSemanticError(error, "BUDGET_EXCEEDED") ? "BUDGET_EXCEEDED" : "MALFORMED_FILE";
                    throw new SemanticSplatError(code, `SOG image "${name}" named by meta.json could not be read: ${(error as Error).message}`, fileName, { cause: error });
                }
                total += image.length;
                files.set(name, image);
            }
            checkSogImages(files, meta, expectedCount, fileName);
            const entries = Object.fromEntries(files);
            fflate = { unzipSync: () => entries };
            loaderBytes = EMPTY_ZIP; // Babylon's loader takes the .sog path on the ZIP magic; the stub above unzips
            loaderExtension = ".sog";
            break;
        }
        default:
            break;
    }

    // Read the sidecar before touching the mesh, so a bad sidecar leaves the mesh as it was.
    let features: LoadedScene["features"] = null;
    if (scene.features) {
        features = { values: scene.features, featureDimension: scene.featureDimension, encoderId: "", source: fileName, sceneFrame: sceneFrameFromComments(scene.plyComments, fileName) };
    }
    if (options.sidecar) {
        const sidecar = await readSource(options.sidecar, "sidecar", budgets.maxFileBytes);
        const parsed = readSidecar(sidecar.bytes, sidecar.fileName, { count: expectedCount, featureDimension: features?.featureDimension });
        features = { values: parsed.features, featureDimension: parsed.featureDimension, encoderId: parsed.encoderId, source: sidecar.fileName, sceneFrame: parsed.sceneFrame };
    }

    // Check the feature values too (NaN, Inf, beyond fp16) before the mesh's splat data is replaced.
    if (features) featuresToFloat16(features.values, expectedCount, features.featureDimension, features.source);

    // Babylon's loader flips the mesh's y scale (scaling.y *= -1, twice for a right-handed PLY) as if the mesh were
    // new: a reload into a mesh an earlier load flipped would come out upside down. Start from the unflipped scale.
    mesh.scaling.y = Math.abs(mesh.scaling.y);
    await runBabylonLoader(mesh, loaderBytes, fileName, loaderExtension, rootUrl, fflate, options);

    const loadedCount = mesh.gaussianCount;
    // expectedCount > 0 here (checked above), so a loader that reads nothing is a damaged file, not an empty scene:
    // the spz module decodes a damaged v4 file to an empty cloud instead of failing.
    if (loadedCount !== expectedCount) {
        throw new SemanticSplatError("MALFORMED_FILE", `Babylon's loader read ${loadedCount} Gaussians but the file declares ${expectedCount}`, fileName);
    }
    return {
        fileName,
        sourcePly: scene.sourcePly,
        features,
        labels: scene.labels,
        droppedGaussians: scene.dropped,
        labelsMappedToNone: scene.labelsMapped,
    };
}

async function runBabylonLoader(
    mesh: SemanticGaussianSplattingMesh,
    bytes: Uint8Array,
    fileName: string,
    pluginExtension: string,
    rootUrl: string,
    fflate: unknown,
    options: SemanticLoadOptions
): Promise<void> {
    const scene = mesh.getScene();
    const meshesBefore = new Set(scene.meshes);
    const file = new File([bytes as BlobPart], baseName(fileName) || `scene${pluginExtension}`);
    const pluginOptions = {
        splat: {
            gaussianSplattingMesh: mesh,
            // Undefined (not absent) overrides the loader's default CDN URL: use the built-in SPZ parser.
            spzLibraryUrl: options.spzLibraryUrl,
            fflate,
        },
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new SemanticSplatError("MALFORMED_FILE", `Babylon's splat loader did not finish within ${timeoutMs} ms`, fileName)),
            timeoutMs
        );
    });
    let meshes: readonly unknown[] = [];
    try {
        const result = await Promise.race([ImportMeshAsync(file, scene, { rootUrl, pluginExtension, pluginOptions }), timeout]);
        meshes = result.meshes;
    } catch (error) {
        disposeStrayMeshes(scene, meshesBefore, mesh);
        if (error instanceof SemanticSplatError) throw error;
        const message = error instanceof Error ? [error.message, (error.cause as Error | undefined)?.message].filter(Boolean).join(": ") : String(error);
        throw new SemanticSplatError("MALFORMED_FILE", `Babylon's splat loader failed: ${message}`, fileName, { cause: error });
    } finally {
        clearTimeout(timer);
    }
    if (meshes.length !== 1 || meshes[0] !== mesh) {
        disposeStrayMeshes(scene, meshesBefore, mesh);
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", "not a Gaussian splat scene (Babylon read it as a point cloud or a triangle mesh)", fileName);
    }
}

/** Disposes meshes the loader added to the scene besides `keep` (a point cloud or mesh PLY, for instance). */
function disposeStrayMeshes(scene: Scene, before: Set<unknown>, keep: unknown): void {
    for (const m of scene.meshes.slice()) {
        if (m !== keep && !before.has(m)) m.dispose(false, true);
    }
}

/**
 * Reads a URL or passes bytes through; `what` names the role of the file in errors. A download is refused as
 * soon as its Content-Length, or the bytes received so far, pass `maxBytes`.
 */
export async function readSource(source: SceneSource, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ bytes: Uint8Array; fileName: string }> {
    if (typeof source === "string") {
        let response: Response;
        try {
            response = await fetch(source);
        } catch (error) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} file could not be fetched: ${(error as Error).message}`, source, { cause: error });
        }
        if (!response.ok) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} file could not be fetched: HTTP ${response.status}`, source);
        }
        return { bytes: await readBodyCapped(response, source, what, maxBytes), fileName: source };
    }
    if (!source || typeof source.fileName !== "string" || !source.fileName) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `a ${what} given as bytes needs a fileName`);
    }
    const { data } = source;
    let bytes: Uint8Array;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} data must be an ArrayBuffer or a Uint8Array`, source.fileName);
    if (bytes.length > maxBytes) throw budgetExceeded(source.fileName, "maxFileBytes", maxBytes, `the ${what} file has ${bytes.length} bytes`);
    return { bytes, fileName: source.fileName };
}

async function readBodyCapped(response: Response, url: string, what: string, maxBytes: number): Promise<Uint8Array> {
    const announced = Number(response.headers.get("Content-Length") ?? NaN);
    if (announced > maxBytes) {
        void response.body?.cancel().catch(() => {});
        throw budgetExceeded(url, "maxFileBytes", maxBytes, `the server announces a ${what} file of ${announced} bytes`);
    }
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            total += value.byteLength;
            if (total > maxBytes) throw budgetExceeded(url, "maxFileBytes", maxBytes, `the ${what} download passed ${maxBytes} bytes`);
            chunks.push(value);
        }
    } catch (error) {
        if (error instanceof SemanticSplatError) throw error;
        throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} download broke off after ${total} bytes: ${String(error)}`, url, { cause: error });
    } finally {
        reader.cancel().catch(() => {});
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
        out.set(c, offset);
        offset += c.byteLength;
    }
    return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
}

function baseName(path: string): string {
    return path.split(/[?#]/)[0].split("/").pop() ?? "";
}

function folderOf(url: string): string {
    const clean = url.split(/[?#]/)[0];
    return clean.slice(0, clean.lastIndexOf("/") + 1);
}
