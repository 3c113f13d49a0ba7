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
import { SemanticSplatError } from "../errors";
import { unzipArchive } from "./zip";
import { featuresToFloat16, type FeatureArray } from "./featureLayout";
import type { SemanticGaussianSplattingMesh } from "./semanticGaussianSplattingMesh";
import { readPlySemantics, readSidecar, type SemanticPlyContent } from "./semanticFiles";
import { sceneFrameFromComments, type SceneFrame } from "../frame/sceneFrame";

/** A scene to load: a URL, or bytes already in memory with the file name they came from. */
export type SceneSource = string | { data: ArrayBuffer | Uint8Array; fileName: string };

/** Options of a load. Every field is optional. */
export interface SemanticLoadOptions {
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
}

type SceneFormat = "ply" | "splat" | "spz" | "spz-raw" | "spz-v4" | "sog" | "sog-meta";

const SPLAT_ROW_BYTES = 32; // Babylon's .splat row: position 3xf32, scale 3xf32, rgba 4xu8, rotation 4xu8
const SPZ_MAGIC = 0x5053474e; // "NGSP"
const DEFAULT_TIMEOUT_MS = 120000;

/** Reads `source`, checks it, and loads it into `mesh` through Babylon's splat loader. */
export async function loadSceneInto(mesh: SemanticGaussianSplattingMesh, source: SceneSource, options: SemanticLoadOptions): Promise<LoadedScene> {
    RegisterSPLATFileLoader();
    const { bytes, fileName } = await readSource(source, "scene");
    const format = detectFormat(bytes, fileName);

    let expectedCount: number;
    let loaderBytes: Uint8Array = bytes;
    let pluginExtension: string;
    let rootUrl = "";
    let fflate: { unzipSync: (data: Uint8Array) => Record<string, Uint8Array> } | undefined;
    let ply: SemanticPlyContent | null = null;
    switch (format) {
        case "ply":
            ply = readPlySemantics(bytes, fileName);
            expectedCount = ply.count;
            loaderBytes = ply.babylonBytes;
            pluginExtension = ".ply";
            break;
        case "splat":
            expectedCount = checkSplat(bytes, fileName);
            pluginExtension = ".splat";
            break;
        case "spz":
            expectedCount = checkSpz(await gunzip(bytes, fileName), fileName);
            pluginExtension = ".spz";
            break;
        case "spz-raw":
            // An uncompressed SPZ stream: Babylon's built-in parser reads only the gzip form, so wrap it.
            expectedCount = checkSpz(bytes, fileName);
            loaderBytes = await gzip(bytes);
            pluginExtension = ".spz";
            break;
        case "spz-v4":
            if (!options.spzLibraryUrl) {
                throw new SemanticSplatError(
                    "UNSUPPORTED_FORMAT",
                    "SPZ v4 needs the @adobe/spz WASM module: pass its URL as the spzLibraryUrl load option (v2 and v3 load without it)",
                    fileName
                );
            }
            expectedCount = checkSpzV4(bytes, fileName);
            pluginExtension = ".spz";
            break;
        case "sog": {
            const files = await unzipArchive(bytes, fileName);
            expectedCount = checkSogMeta(files.get("meta.json"), fileName, files);
            const entries = Object.fromEntries(files);
            fflate = { unzipSync: () => entries };
            pluginExtension = ".sog";
            break;
        }
        case "sog-meta":
            expectedCount = checkSogMeta(bytes, fileName, null);
            rootUrl = options.rootUrl ?? (typeof source === "string" ? folderOf(source) : "");
            if (typeof source !== "string" && !options.rootUrl) {
                throw new SemanticSplatError("INVALID_ARGUMENT", "a SOG meta.json given as bytes needs the rootUrl option (where its webp images are)", fileName);
            }
            pluginExtension = ".json";
            break;
    }
    if (expectedCount === 0) throw new SemanticSplatError("EMPTY_SCENE", "the scene holds no Gaussians", fileName);

    // Read the sidecar before touching the mesh, so a bad sidecar leaves the mesh as it was.
    let features: LoadedScene["features"] = null;
    if (ply?.features) {
        features = { values: ply.features, featureDimension: ply.featureDimension, encoderId: "", source: fileName, sceneFrame: sceneFrameFromComments(ply.header.comments, fileName) };
    }
    if (options.sidecar) {
        const sidecar = await readSource(options.sidecar, "sidecar");
        const parsed = readSidecar(sidecar.bytes, sidecar.fileName, { count: expectedCount, featureDimension: features?.featureDimension });
        features = { values: parsed.features, featureDimension: parsed.featureDimension, encoderId: parsed.encoderId, source: sidecar.fileName, sceneFrame: parsed.sceneFrame };
    }

    // Check the feature values too (NaN, Inf, beyond fp16) before the mesh's splat data is replaced.
    if (features) featuresToFloat16(features.values, expectedCount, features.featureDimension, features.source);

    await runBabylonLoader(mesh, loaderBytes, fileName, pluginExtension, rootUrl, fflate, options);

    const loadedCount = mesh.gaussianCount;
    // expectedCount > 0 here (checked above), so a loader that reads nothing is a damaged file, not an empty scene:
    // the spz module decodes a damaged v4 file to an empty cloud instead of failing.
    if (loadedCount !== expectedCount) {
        throw new SemanticSplatError("MALFORMED_FILE", `Babylon's loader read ${loadedCount} Gaussians but the file declares ${expectedCount}`, fileName);
    }
    return { fileName, sourcePly: format === "ply" ? bytes : null, features, labels: ply?.labels ?? null };
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

/** Reads a URL or passes bytes through; `what` names the role of the file in errors. */
export async function readSource(source: SceneSource, what: string): Promise<{ bytes: Uint8Array; fileName: string }> {
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
        return { bytes: new Uint8Array(await response.arrayBuffer()), fileName: source };
    }
    if (!source || typeof source.fileName !== "string" || !source.fileName) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `a ${what} given as bytes needs a fileName`);
    }
    const { data } = source;
    if (data instanceof Uint8Array) return { bytes: data, fileName: source.fileName };
    if (data instanceof ArrayBuffer) return { bytes: new Uint8Array(data), fileName: source.fileName };
    throw new SemanticSplatError("INVALID_ARGUMENT", `the ${what} data must be an ArrayBuffer or a Uint8Array`, source.fileName);
}

/** Picks the format from the magic bytes, then from the file name's extension. */
export function detectFormat(bytes: Uint8Array, fileName: string): SceneFormat {
    const lower = fileName.toLowerCase().split(/[?#]/)[0];
    const startsWith = (text: string) => text.split("").every((c, i) => bytes[i] === c.charCodeAt(0));
    if (bytes.length === 0) throw new SemanticSplatError("EMPTY_SCENE", "the file is empty", fileName);
    if (startsWith("ply\n") || startsWith("ply\r\n")) return "ply";
    if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return "sog";
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "spz";
    if (startsWith("NGSP") && bytes.length >= 8) {
        const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
        return version >= 4 ? "spz-v4" : "spz-raw";
    }
    if (lower.endsWith(".json")) return "sog-meta";
    if (lower.endsWith(".splat")) return "splat";
    if (lower.endsWith(".ply")) throw new SemanticSplatError("MALFORMED_FILE", 'a .ply file must start with "ply"', fileName);
    if (lower.endsWith(".spz")) throw new SemanticSplatError("MALFORMED_FILE", "not an SPZ file (neither gzip nor an NGSP header)", fileName);
    if (lower.endsWith(".sog")) throw new SemanticSplatError("MALFORMED_FILE", "a .sog file must be a ZIP archive", fileName);
    throw new SemanticSplatError("UNSUPPORTED_FORMAT", "unknown scene format (reads .ply, .splat, .spz, .sog and SOG meta.json)", fileName);
}

function checkSplat(bytes: Uint8Array, fileName: string): number {
    if (bytes.length % SPLAT_ROW_BYTES !== 0) {
        throw new SemanticSplatError("MALFORMED_FILE", `a .splat file is a whole number of ${SPLAT_ROW_BYTES}-byte rows; this one has ${bytes.length} bytes (truncated?)`, fileName);
    }
    return bytes.length / SPLAT_ROW_BYTES;
}

/**
 * Checks an uncompressed SPZ v2/v3 stream: 16-byte header (magic, version, count, SH degree, fractional bits,
 * flags, reserved) and the size of its attribute blocks (Niantic spz format: positions 3x24-bit fixed point,
 * alpha u8, colour 3xu8, scale 3xu8, rotation 3xu8 (v2) or 4xu8 (v3), SH coefficients 3xu8 each).
 */
function checkSpz(stream: Uint8Array, fileName: string): number {
    if (stream.length < 16) throw new SemanticSplatError("MALFORMED_FILE", "SPZ header is truncated", fileName);
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    if (view.getUint32(0, true) !== SPZ_MAGIC) throw new SemanticSplatError("MALFORMED_FILE", "SPZ stream lacks the NGSP magic", fileName);
    const version = view.getUint32(4, true);
    const count = view.getUint32(8, true);
    const shDegree = stream[12];
    if (version !== 2 && version !== 3) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `SPZ version ${version} (the built-in parser reads 2 and 3)`, fileName);
    }
    if (shDegree > 3) throw new SemanticSplatError("MALFORMED_FILE", `SPZ SH degree ${shDegree} (at most 3)`, fileName);
    if (stream[15] !== 0) throw new SemanticSplatError("MALFORMED_FILE", "SPZ header's reserved byte is not 0", fileName);
    const shCoefficients = [0, 3, 8, 15][shDegree];
    const bytesPerGaussian = 9 + 1 + 3 + 3 + (version === 3 ? 4 : 3) + shCoefficients * 3;
    const needed = 16 + count * bytesPerGaussian;
    if (stream.length < needed) {
        throw new SemanticSplatError("MALFORMED_FILE", `SPZ declares ${count} Gaussians (${needed} bytes) but holds ${stream.length} bytes (truncated?)`, fileName);
    }
    return count;
}

/** zstd frame magic (RFC 8878), little-endian. */
const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Checks the container of an SPZ v4 ("NGSP" version 4) file before the @adobe/spz module decodes it, since that
 * module turns a damaged file into an empty cloud instead of failing. Layout (as read from the v4 fixture and the
 * module's own log: numStreams, tocByteOffset): a 32-byte header (magic, version, count, SH degree, fractional
 * bits, flags, stream count, table offset), a table of (compressed, uncompressed) u64 byte sizes per attribute
 * stream (positions, alpha, colour, scale, rotation, then SH), and the streams, each one zstd frame.
 */
function checkSpzV4(bytes: Uint8Array, fileName: string): number {
    if (bytes.length < 32) throw new SemanticSplatError("MALFORMED_FILE", "SPZ v4 header is truncated", fileName);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(8, true);
    const shDegree = bytes[12];
    const streams = bytes[15];
    const tableOffset = view.getUint32(16, true);
    if (shDegree > 3) throw new SemanticSplatError("MALFORMED_FILE", `SPZ SH degree ${shDegree} (at most 3)`, fileName);
    if (streams < 5) throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 declares ${streams} attribute streams (at least 5)`, fileName);
    const tableEnd = tableOffset + 16 * streams;
    if (tableOffset < 32 || tableEnd > bytes.length) {
        throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream table (${streams} entries at byte ${tableOffset}) lies outside the file's ${bytes.length} bytes (truncated?)`, fileName);
    }
    let offset = tableEnd;
    for (let i = 0; i < streams; i++) {
        const size = Number(view.getBigUint64(tableOffset + 16 * i, true));
        const rawSize = Number(view.getBigUint64(tableOffset + 16 * i + 8, true));
        if (offset + size > bytes.length) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream ${i} (${size} bytes at byte ${offset}) runs past the end of the file's ${bytes.length} bytes (truncated?)`, fileName);
        }
        if (size < 4 || view.getUint32(offset, true) !== ZSTD_MAGIC) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream ${i} at byte ${offset} is not a zstd frame`, fileName);
        }
        if (count > 0 && rawSize % count !== 0) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream ${i} decodes to ${rawSize} bytes, not a whole number per Gaussian (${count})`, fileName);
        }
        offset += size;
    }
    return count;
}

/** Checks a SOG meta.json (and, for a zip, that every image it names is in the archive); returns the count. */
function checkSogMeta(bytes: Uint8Array | undefined, fileName: string, files: Map<string, Uint8Array> | null): number {
    if (!bytes) throw new SemanticSplatError("MALFORMED_FILE", "the SOG archive has no meta.json", fileName);
    let meta: Record<string, unknown>;
    try {
        meta = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
        throw new SemanticSplatError("MALFORMED_FILE", `SOG meta.json is not valid JSON: ${(error as Error).message}`, fileName, { cause: error });
    }
    if (!meta || typeof meta !== "object") throw new SemanticSplatError("MALFORMED_FILE", "SOG meta.json is not an object", fileName);
    for (const key of ["means", "scales", "quats", "sh0"]) {
        const part = meta[key] as { files?: unknown } | undefined;
        if (!part || !Array.isArray(part.files) || part.files.some((f) => typeof f !== "string")) {
            throw new SemanticSplatError("MALFORMED_FILE", `SOG meta.json lacks "${key}.files"`, fileName);
        }
        if (files) {
            const missing = (part.files as string[]).find((f) => !files.has(f));
            if (missing) throw new SemanticSplatError("MALFORMED_FILE", `the SOG archive lacks "${missing}" named by meta.json`, fileName);
        }
    }
    const means = meta.means as { shape?: unknown };
    const count = typeof meta.count === "number" ? meta.count : Array.isArray(means.shape) ? Number(means.shape[0]) : NaN;
    if (!Number.isInteger(count) || count < 0) throw new SemanticSplatError("MALFORMED_FILE", "SOG meta.json has no valid Gaussian count", fileName);
    return count;
}

async function gunzip(bytes: Uint8Array, fileName: string): Promise<Uint8Array> {
    try {
        const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
        return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (error) {
        throw new SemanticSplatError("MALFORMED_FILE", "the gzip stream of this SPZ file is damaged or truncated", fileName, { cause: error });
    }
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
