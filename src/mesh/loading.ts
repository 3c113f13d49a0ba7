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
// - It takes a File (the bytes are wrapped, then read back whole into an ArrayBuffer of its own) and converts the
//   whole PLY at once: at 6 M Gaussians that was three copies of a 430 MB file in the tab besides the converted rows
//   (BENCHMARKS.md, "Large scenes in the browser"). A standard binary PLY is therefore read here in chunks
//   (openPlySceneChunks: readSceneFile's checks per run of rows) from a Blob or the caller's bytes, each chunk
//   converted by the loader's own PLY conversion, and the rows handed to the mesh with Babylon's updateData, as the
//   loader does; other formats and layouts go through the loader as before.
import { ImportMeshAsync } from "@babylonjs/core/Loading/sceneLoader";
import type { Scene } from "@babylonjs/core/scene";
import { RegisterSPLATFileLoader, SPLATFileLoader } from "@babylonjs/loaders/SPLAT/splatFileLoader.pure";
import { isSemanticError, SemanticSplatError } from "../errors";
import { budgetExceeded, resolveBudgets } from "../formats/budgets";
import { checkSogImages, parseSogMeta, readSceneFile, sogImageNames, type SceneReadOptions } from "../formats/sceneFile";
import { openPlySceneChunks, type ByteSource } from "../formats/plyChunks";
import { isPly } from "../formats/ply";
import { featuresToFloat16, type FeatureArray } from "./featureLayout";
import type { SemanticGaussianSplattingMesh } from "./semanticGaussianSplattingMesh";
import { readSidecar } from "./semanticFiles";
import { sceneFrameFromComments, type SceneFrame } from "../frame/sceneFrame";

/**
 * A scene to load: a URL, or a file's contents with the file name they came from: bytes already in memory, or a Blob
 * (a File from an `<input type="file">`, for instance: a binary PLY is then read from it in chunks, never whole).
 */
export type SceneSource = string | { data: ArrayBuffer | Uint8Array | Blob; fileName: string };

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
    /**
     * Where the mesh keeps the PLY it was loaded from, which {@link SemanticGaussianSplattingMesh.saveSemanticPly}
     * rewrites (only the semantic properties change). `true` (default): its bytes, in the tab's memory (a 6 M-Gaussian
     * PLY is about 430 MB). `false`: a Blob, which the browser keeps outside the tab's memory (Chromium moves large
     * blobs to disk); `saveSemanticPly()` then refuses and `saveSemanticPlyAsync()` reads the Blob back when saving.
     * Other formats keep nothing either way.
     */
    sourceInMemory?: boolean;
}

/** What a load produced besides the splat data (which Babylon's loader wrote into the mesh). */
export interface LoadedScene {
    fileName: string;
    sourcePly: Uint8Array | null;
    /** The PLY as a Blob instead of `sourcePly` (load option sourceInMemory: false), or null. */
    sourcePlyBlob: Blob | null;
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

/** A scene reader (readSceneFile, openPlySceneChunks) run with the maxGaussians budget tightened to what the device's
 *  splat textures hold: a scene above that is refused from its header (GPU_LIMITS, naming the limit) before anything
 *  is decoded or allocated. */
async function readWithinGpu<T>(mesh: SemanticGaussianSplattingMesh, fileName: string, options: SemanticLoadOptions, maxGaussians: number, read: (options: SceneReadOptions) => Promise<T>): Promise<T> {
    const maxTextureSize = mesh.getEngine().getCaps().maxTextureSize;
    const capacity = splatTextureCapacity(maxTextureSize);
    if (!(capacity < maxGaussians)) return read(options);
    try {
        return await read({ ...options, budgets: { ...options.budgets, maxGaussians: capacity } });
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

/** Reads `source`, checks it, and loads it into `mesh`: a binary PLY in chunks (loadPlyInChunks), any other file
 *  through Babylon's splat loader. */
export async function loadSceneInto(mesh: SemanticGaussianSplattingMesh, source: SceneSource, options: SemanticLoadOptions): Promise<LoadedScene> {
    RegisterSPLATFileLoader();
    const budgets = resolveBudgets(options.budgets);
    const file = await openSceneSource(source, budgets.maxFileBytes);
    const inChunks = await loadPlyInChunks(mesh, file, options, budgets.maxGaussians);
    if (inChunks) return inChunks;
    const fileName = file.fileName;
    const bytes = file.bytes ?? new Uint8Array(await file.blob!.arrayBuffer());
    const scene = await readWithinGpu(mesh, fileName, options, budgets.maxGaussians, (o) => readSceneFile(bytes, fileName, o));
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
    const features = await checkedFeatures(scene.features, scene.featureDimension, scene.plyComments, expectedCount, fileName, options, budgets.maxFileBytes);

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
    const kept = await keptSource(scene.sourcePly, options);
    return {
        fileName,
        ...kept,
        features,
        labels: scene.labels,
        droppedGaussians: scene.dropped,
        labelsMappedToNone: scene.labelsMapped,
    };
}

/**
 * The file's features (PLY f_sem_*, with the frame its comments record) or the sidecar's, which win; the values
 * checked (NaN, Inf, beyond fp16) before the mesh's splat data is replaced. The sidecar is read before the mesh is
 * touched, so a bad sidecar leaves the mesh as it was.
 */
async function checkedFeatures(
    values: Float32Array | null,
    featureDimension: number,
    plyComments: readonly string[],
    count: number,
    fileName: string,
    options: SemanticLoadOptions,
    maxFileBytes: number
): Promise<LoadedScene["features"]> {
    let features: LoadedScene["features"] = null;
    if (values) {
        features = { values, featureDimension, encoderId: "", source: fileName, sceneFrame: sceneFrameFromComments(plyComments, fileName) };
    }
    if (options.sidecar) {
        const sidecar = await readSource(options.sidecar, "sidecar", maxFileBytes);
        const parsed = readSidecar(sidecar.bytes, sidecar.fileName, { count, featureDimension: features?.featureDimension });
        features = { values: parsed.features, featureDimension: parsed.featureDimension, encoderId: parsed.encoderId, source: sidecar.fileName, sceneFrame: parsed.sceneFrame };
    }
    if (features) featuresToFloat16(features.values, count, features.featureDimension, features.source);
    return features;
}

/** The PLY the mesh keeps for saving (load option sourceInMemory): its bytes, or a Blob of them. */
async function keptSource(ply: Uint8Array | Blob | null, options: SemanticLoadOptions): Promise<Pick<LoadedScene, "sourcePly" | "sourcePlyBlob">> {
    if (!ply) return { sourcePly: null, sourcePlyBlob: null };
    if (options.sourceInMemory === false) return { sourcePly: null, sourcePlyBlob: ply instanceof Blob ? ply : new Blob([ply as BlobPart]) };
    return { sourcePly: ply instanceof Blob ? new Uint8Array(await ply.arrayBuffer()) : ply, sourcePlyBlob: null };
}

/** A scene file opened for reading: its bytes in memory, or a Blob (a File, or a download the browser keeps). */
interface OpenedSource {
    fileName: string;
    bytes: Uint8Array | null;
    blob: Blob | null;
}

/** Rows per chunk of a PLY read in chunks: about 19 MB of a standard 3DGS PLY without f_rest (DEFAULT_PLY_CHUNK_ROWS). */
const CHUNK_ROWS = 1 << 18;
/** The most bytes of a download held in the tab before they are handed to the download's Blob. */
const DOWNLOAD_BLOB_PART_BYTES = 32 * 1024 * 1024;

/**
 * A binary PLY loaded chunk by chunk (openPlySceneChunks, then the loader's own conversion of each chunk to 32-byte
 * rows and SH): the file is never held whole in the tab and no File round trip is made; the rows are given to the
 * mesh with Babylon's updateData and the y flip its loader applies. Returns null (nothing read but the header) for
 * any other file, for a layout openPlySceneChunks leaves to the whole-file reader, and under invalidGaussians: "drop"
 * (the whole-file reader makes the PLY of the kept Gaussians that saving rewrites).
 */
async function loadPlyInChunks(mesh: SemanticGaussianSplattingMesh, file: OpenedSource, options: SemanticLoadOptions, maxGaussians: number): Promise<LoadedScene | null> {
    if (options.invalidGaussians === "drop") return null;
    const { fileName } = file;
    const source = byteSourceOf(file);
    const magic = new Uint8Array(Math.min(5, source.size));
    await source.read(0, magic);
    if (!isPly(magic)) return null;
    const opened = await readWithinGpu(mesh, fileName, options, maxGaussians, (o) => openPlySceneChunks(source, fileName, o, CHUNK_ROWS));
    if (!opened) return null;
    const total = opened.vertexCount;
    const rows = new Uint8Array(total * 32);
    let sh: Uint8Array[] | null = null;
    let shDegree = 0;
    let features: Float32Array | null = null;
    let featureDimension = 0;
    let labels: Uint16Array | null = null;
    let count = 0;
    let labelsMapped = 0;
    const width = mesh.getEngine().getCaps().maxTextureSize;
    for await (const chunk of opened.chunks()) {
        labelsMapped += chunk.labelsMapped;
        const parsed = await convertPlyChunk(chunk.babylonBytes);
        if (parsed.mode !== 0) {
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", "not a Gaussian splat scene (Babylon read it as a point cloud or a triangle mesh)", fileName);
        }
        if (parsed.data.byteLength !== chunk.count * 32) {
            throw new SemanticSplatError("MALFORMED_FILE", `Babylon's PLY reader read ${parsed.data.byteLength / 32} Gaussians of vertices ${chunk.first}..${chunk.first + chunk.rows - 1}, expected ${chunk.count}`, fileName);
        }
        rows.set(new Uint8Array(parsed.data), count * 32);
        if (parsed.sh && parsed.sh.length > 0) {
            // Babylon's layout: 16 bytes per splat per SH texture, the splats in order, 128 (zero) past the last.
            sh ??= Array.from({ length: parsed.sh.length }, () => new Uint8Array(Math.ceil(total / width) * width * 16).fill(128));
            shDegree = parsed.shDegree ?? 0;
            for (let t = 0; t < sh.length; t++) sh[t].set(parsed.sh[t].subarray(0, chunk.count * 16), count * 16);
        }
        if (chunk.features) {
            featureDimension = chunk.featureDimension;
            features ??= new Float32Array(total * featureDimension);
            features.set(chunk.features, count * featureDimension);
        }
        if (chunk.labels) {
            labels ??= new Uint16Array(total);
            labels.set(chunk.labels, count);
        }
        count += chunk.count;
    }
    // Under invalidGaussians: "refuse" (the only policy here) every vertex is a Gaussian.
    if (count !== total) throw new SemanticSplatError("MALFORMED_FILE", `read ${count} Gaussians but the file declares ${total}`, fileName);
    if (count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the scene holds no Gaussians", fileName);
    const loadedFeatures = await checkedFeatures(features, featureDimension, opened.header.comments, count, fileName, options, resolveBudgets(options.budgets).maxFileBytes);

    // What Babylon's loader does with a converted PLY (splatFileLoader, Mode.Splat): updateData without a y flip,
    // then scaling.y *= -1 (from the unflipped scale, see loadSceneInto). A PLY read in chunks has no chirality,
    // up_axis or safe-orbit elements (openPlySceneChunks leaves files with other elements to the loader).
    mesh.scaling.y = Math.abs(mesh.scaling.y);
    try {
        mesh.updateData(rows.buffer, sh ?? undefined, { flipY: false }, undefined, shDegree);
    } catch (error) {
        if (error instanceof SemanticSplatError) throw error;
        throw new SemanticSplatError("MALFORMED_FILE", `Babylon could not take the splat data: ${error instanceof Error ? error.message : String(error)}`, fileName, { cause: error });
    }
    mesh.scaling.y *= -1;
    mesh.safeOrbitCameraLimits = null;
    mesh.computeWorldMatrix(true);
    const kept = await keptSource(file.blob ?? file.bytes, options);
    return { fileName, ...kept, features: loadedFeatures, labels, droppedGaussians: 0, labelsMappedToNone: labelsMapped };
}

/** The loader's PLY conversion (splatFileLoader's _ConvertPLYToSplat: 32-byte rows, SH, and the mode it reads). */
type ParsedPly = { mode: number; data: ArrayBuffer; sh?: Uint8Array[] | null; shDegree?: number };
function convertPlyChunk(bytes: Uint8Array): Promise<ParsedPly> {
    // It reads the ArrayBuffer from its start: a view is copied to a buffer of its own (a chunk's usually is one).
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
    return (SPLATFileLoader as unknown as { _ConvertPLYToSplat(data: ArrayBuffer): Promise<ParsedPly> })._ConvertPLYToSplat(buffer);
}

/** Random access to an opened scene's bytes. */
function byteSourceOf(file: OpenedSource): ByteSource {
    if (file.bytes) {
        const bytes = file.bytes;
        return { size: bytes.length, read: (position, into) => into.set(bytes.subarray(position, position + into.length)) };
    }
    const blob = file.blob!;
    return {
        size: blob.size,
        async read(position, into) {
            const part = new Uint8Array(await blob.slice(position, position + into.length).arrayBuffer());
            if (part.length !== into.length) throw new SemanticSplatError("MALFORMED_FILE", `the file ended at byte ${position + part.length} while reading it`, file.fileName);
            into.set(part);
        },
    };
}

/**
 * Opens the scene: a URL is downloaded into a Blob (within maxBytes, see downloadToBlob), a Blob is used as it is,
 * bytes are used where they are. Nothing is copied into the tab's memory here.
 */
async function openSceneSource(source: SceneSource, maxBytes: number): Promise<OpenedSource> {
    if (typeof source === "string") return { fileName: source, bytes: null, blob: await downloadToBlob(source, "scene", maxBytes) };
    if (source && typeof Blob !== "undefined" && source.data instanceof Blob) {
        if (typeof source.fileName !== "string" || !source.fileName) throw new SemanticSplatError("INVALID_ARGUMENT", "a scene given as bytes needs a fileName");
        if (source.data.size > maxBytes) throw budgetExceeded(source.fileName, "maxFileBytes", maxBytes, `the scene file has ${source.data.size} bytes`);
        return { fileName: source.fileName, bytes: null, blob: source.data };
    }
    const { bytes, fileName } = await readSource(source, "scene", maxBytes);
    return { fileName, bytes, blob: null };
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
 * Reads a URL or passes bytes through (a Blob is read into memory); `what` names the role of the file in errors. A
 * download is refused as soon as its Content-Length, or the bytes received so far, pass `maxBytes`.
 */
export async function readSource(source: SceneSource, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ bytes: Uint8Array; fileName: string }> {
    if (typeof source === "string") {
        const chunks: Uint8Array[] = [];
        const total = await readBodyCapped(await fetchChecked(source, what, maxBytes), source, what, maxBytes, (chunk) => chunks.push(chunk));
        const out = new Uint8Array(total);
        let offset = 0;
        for (const c of chunks) {
            out.set(c, offset);
            offset += c.byteLength;
        }
        return { bytes: out, fileName: source };
    }
    if (!source || typeof source.fileName !== "string" || !source.fileName) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `a ${what} given as bytes needs a fileName`);
    }
    const { data } = source;
    let bytes: Uint8Array;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (typeof Blob !== "undefined" && data instanceof Blob) {
        if (data.size > maxBytes) throw budgetExceeded(source.fileName, "maxFileBytes", maxBytes, `the ${what} file has ${data.size} bytes`);
        bytes = new Uint8Array(await data.arrayBuffer());
    } else throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} data must be an ArrayBuffer, a Uint8Array or a Blob`, source.fileName);
    if (bytes.length > maxBytes) throw budgetExceeded(source.fileName, "maxFileBytes", maxBytes, `the ${what} file has ${bytes.length} bytes`);
    return { bytes, fileName: source.fileName };
}

/**
 * Downloads a URL into a Blob, within `maxBytes` as readSource does: the bytes go into the Blob in parts of at most
 * DOWNLOAD_BLOB_PART_BYTES as they arrive, so the tab never holds the whole file (the browser keeps a Blob outside it:
 * Chromium in its browser process, large ones on disk).
 */
async function downloadToBlob(url: string, what: string, maxBytes: number): Promise<Blob> {
    const response = await fetchChecked(url, what, maxBytes);
    let blob = new Blob([]);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = () => {
        // A Blob made of a Blob and new parts references the older one: only the new bytes are copied.
        blob = new Blob([blob, ...(pending as BlobPart[])]);
        pending = [];
        pendingBytes = 0;
    };
    await readBodyCapped(response, url, what, maxBytes, (chunk) => {
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= DOWNLOAD_BLOB_PART_BYTES) flush();
    });
    flush();
    return blob;
}

async function fetchChecked(url: string, what: string, maxBytes: number): Promise<Response> {
    let response: Response;
    try {
        response = await fetch(url);
    } catch (error) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} file could not be fetched: ${(error as Error).message}`, url, { cause: error });
    }
    if (!response.ok) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} file could not be fetched: HTTP ${response.status}`, url);
    }
    const announced = Number(response.headers.get("Content-Length") ?? NaN);
    if (announced > maxBytes) {
        void response.body?.cancel().catch(() => {});
        throw budgetExceeded(url, "maxFileBytes", maxBytes, `the server announces a ${what} file of ${announced} bytes`);
    }
    return response;
}

/** Passes the body's chunks to `sink` as they arrive, refusing it once past `maxBytes`; returns its length. */
async function readBodyCapped(response: Response, url: string, what: string, maxBytes: number, sink: (chunk: Uint8Array) => void): Promise<number> {
    if (!response.body) {
        const whole = new Uint8Array(await response.arrayBuffer());
        if (whole.byteLength > maxBytes) throw budgetExceeded(url, "maxFileBytes", maxBytes, `the ${what} download passed ${maxBytes} bytes`);
        sink(whole);
        return whole.byteLength;
    }
    const reader = response.body.getReader();
    let total = 0;
    try {
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            total += value.byteLength;
            if (total > maxBytes) throw budgetExceeded(url, "maxFileBytes", maxBytes, `the ${what} download passed ${maxBytes} bytes`);
            sink(value);
        }
    } catch (error) {
        if (error instanceof SemanticSplatError) throw error;
        throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} download broke off after ${total} bytes: ${String(error)}`, url, { cause: error });
    } finally {
        reader.cancel().catch(() => {});
    }
    return total;
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
