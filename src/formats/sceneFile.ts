// The one checked reading path for scene files (docs/FORMATS.md, "Reading scene files"): the browser loader
// (src/mesh/loading.ts), the encode command (bin/encode.mjs) and tools all call readSceneFile, which detects the
// format, checks the resource budgets before allocating and while inflating, checks every count and size field
// against the data, and applies the validation policy to the Gaussians' values and labels. What it returns is
// what Babylon's loader is then given (so it only ever sees data that was checked) and the semantic attributes.
// Pure TypeScript, no Babylon imports: it runs in browsers, workers and Node 18+.
import { SemanticSplatError } from "../errors";
import { budgetExceeded, inflateCapped, resolveBudgets, type SceneBudgets } from "./budgets";
import { readPlyScene } from "./scenePly";
import { describeValue, GaussianValidator, keepRows, MAX_LOG_SCALE, MAX_POSITION, MAX_SCALE, resolveValidation, type ValidationOptions } from "./validation";
import { listZipEntries, readZipEntry, type ZipEntry } from "./zip";

/** The scene formats readSceneFile tells apart. */
export type SceneFormat = "ply" | "splat" | "spz" | "spz-raw" | "spz-v4" | "sog" | "sog-meta";

/** Options of {@link readSceneFile}: budgets and the validation policy; every field is optional. */
export interface SceneReadOptions extends ValidationOptions {
    /** Resource budgets (defaults in DEFAULT_BUDGETS). */
    budgets?: SceneBudgets;
}

/** A checked scene file. */
export interface SceneFileContent {
    format: SceneFormat;
    fileName: string;
    /** Gaussians that will be loaded (after any dropped by the policy). */
    count: number;
    /** The bytes to give Babylon's splat loader, and the extension that picks its parser. */
    loaderBytes: Uint8Array;
    loaderExtension: ".ply" | ".splat" | ".spz" | ".sog" | ".json";
    /** For .sog: the archive's files that meta.json names (inflated, checked), for the loader. */
    sogFiles: Map<string, Uint8Array> | null;
    /** For SPZ v2/v3: the inflated NGSP stream (checked). */
    spzStream: Uint8Array | null;
    /** PLY f_sem_* values, [count x K], or null. */
    features: Float32Array | null;
    featureDimension: number;
    /** PLY sem_label per Gaussian (none = 65535), or null. */
    labels: Uint16Array | null;
    /** For a PLY: its header's `comment` lines (in order); empty for other formats. */
    plyComments: readonly string[];
    /** For a PLY: the PLY the Gaussians come from (the file, or a transcoded copy after dropping). */
    sourcePly: Uint8Array | null;
    /** Gaussians dropped under invalidGaussians: "drop". */
    dropped: number;
    /** Labels mapped to none under invalidLabels: "none". */
    labelsMapped: number;
}

const SPLAT_ROW_BYTES = 32; // Babylon's .splat row: position 3xf32, scale 3xf32, rgba 4xu8, rotation 4xu8
const SPZ_MAGIC = 0x5053474e; // "NGSP"
/** zstd frame magic (RFC 8878), little-endian. */
const ZSTD_MAGIC = 0xfd2fb528;
/** Largest SOG meta.json read (real ones are a few KiB). */
const MAX_SOG_META_BYTES = 16 * 1024 * 1024;

/**
 * Reads and checks a scene file of any supported format.
 * @param bytes the whole file
 * @param fileName its name or URL (picks the format when the magic bytes do not, and names it in errors)
 * @throws SemanticSplatError: MALFORMED_FILE, UNSUPPORTED_FORMAT, EMPTY_SCENE, BUDGET_EXCEEDED,
 *   INVALID_GAUSSIANS, INVALID_LABELS, INVALID_ARGUMENT (bad options); each names the file and the problem
 */
export async function readSceneFile(bytes: Uint8Array, fileName: string, options: SceneReadOptions = {}): Promise<SceneFileContent> {
    const budgets = resolveBudgets(options.budgets);
    const validation = resolveValidation(options);
    if (bytes.length > budgets.maxFileBytes) throw budgetExceeded(fileName, "maxFileBytes", budgets.maxFileBytes, `the file has ${bytes.length} bytes`);
    const format = detectFormat(bytes, fileName);
    const base = { format, fileName, sogFiles: null, spzStream: null, features: null, featureDimension: 0, labels: null, plyComments: [] as readonly string[], sourcePly: null, dropped: 0, labelsMapped: 0 };
    let content: SceneFileContent;
    switch (format) {
        case "ply": {
            const ply = readPlyScene(bytes, fileName, budgets, validation);
            content = {
                ...base,
                count: ply.count,
                loaderBytes: ply.babylonBytes,
                loaderExtension: ".ply",
                features: ply.features,
                featureDimension: ply.featureDimension,
                labels: ply.labels,
                plyComments: ply.header.comments,
                sourcePly: ply.sourcePly,
                dropped: ply.dropped,
                labelsMapped: ply.labelsMapped,
            };
            break;
        }
        case "splat": {
            const splat = readSplatRows(bytes, fileName, budgets, validation.invalidGaussians);
            content = { ...base, count: splat.count, loaderBytes: splat.rows, loaderExtension: ".splat", dropped: splat.dropped };
            break;
        }
        case "spz": {
            const stream = await inflateCapped(
                bytes,
                "gzip",
                fileName,
                { limit: budgets.maxDecompressedBytes, budget: "maxDecompressedBytes", what: "gzip stream of this SPZ file", tooLong: (n) => spzTooLong(fileName, n) },
                { prefixBytes: 16, limitFor: (prefix) => spzStreamBytes(prefix, fileName, budgets) }
            );
            const count = checkSpz(stream, fileName, budgets);
            content = { ...base, count, loaderBytes: bytes, loaderExtension: ".spz", spzStream: stream };
            break;
        }
        case "spz-raw": {
            const count = checkSpz(bytes, fileName, budgets);
            // Babylon's built-in parser reads only the gzip form: the mesh loader wraps it.
            content = { ...base, count, loaderBytes: bytes, loaderExtension: ".spz", spzStream: bytes };
            break;
        }
        case "spz-v4":
            content = { ...base, count: checkSpzV4(bytes, fileName, budgets), loaderBytes: bytes, loaderExtension: ".spz" };
            break;
        case "sog": {
            const sog = await readSogArchive(bytes, fileName, budgets);
            content = { ...base, count: sog.count, loaderBytes: bytes, loaderExtension: ".sog", sogFiles: sog.files };
            break;
        }
        case "sog-meta":
            content = { ...base, count: checkSogMeta(bytes, fileName, budgets, null), loaderBytes: bytes, loaderExtension: ".json" };
            break;
    }
    if (content.count === 0) throw new SemanticSplatError("EMPTY_SCENE", "the scene holds no Gaussians", fileName);
    return content;
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

// ---------------------------------------------------------------------------------------------------------------
// .splat: 32-byte rows.

function readSplatRows(bytes: Uint8Array, fileName: string, budgets: Required<SceneBudgets>, policy: "refuse" | "drop"): { rows: Uint8Array; count: number; dropped: number } {
    if (bytes.length % SPLAT_ROW_BYTES !== 0) {
        throw new SemanticSplatError("MALFORMED_FILE", `a .splat file is a whole number of ${SPLAT_ROW_BYTES}-byte rows; this one has ${bytes.length} bytes (truncated?)`, fileName);
    }
    const count = bytes.length / SPLAT_ROW_BYTES;
    if (count > budgets.maxGaussians) throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `the .splat file holds ${count} Gaussians`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const validator = new GaussianValidator(count, policy, fileName);
    const axes = ["x", "y", "z"];
    for (let i = 0; i < count; i++) {
        const row = i * SPLAT_ROW_BYTES;
        let why: string | null = null;
        for (let j = 0; j < 3 && !why; j++) {
            const v = view.getFloat32(row + 4 * j, true);
            if (!(Math.abs(v) <= MAX_POSITION)) why = `position ${axes[j]} is ${describeValue(v)}`;
        }
        for (let j = 0; j < 3 && !why; j++) {
            const v = view.getFloat32(row + 12 + 4 * j, true);
            if (!(Math.abs(v) <= MAX_SCALE)) why = `scale ${j} is ${describeValue(v)} (at most ${MAX_SCALE})`;
        }
        if (!why && bytes[row + 28] === 128 && bytes[row + 29] === 128 && bytes[row + 30] === 128 && bytes[row + 31] === 128) {
            why = "rotation quaternion is zero (all four bytes 128)";
        }
        if (why) validator.invalid(i, why);
    }
    validator.finish();
    const keep = validator.keep;
    if (!keep) return { rows: bytes, count, dropped: 0 };
    const kept = count - validator.dropped;
    return { rows: keepRows(bytes, SPLAT_ROW_BYTES, keep, kept), count: kept, dropped: validator.dropped };
}

// ---------------------------------------------------------------------------------------------------------------
// SPZ (Niantic): a 16-byte header (magic, version, count, SH degree, fractional bits, flags, reserved) and the
// attribute blocks: positions 3x24-bit fixed point, alpha u8, colour 3xu8, scale 3xu8, rotation 3xu8 (v2) or
// 4xu8 (v3), SH coefficients 3xu8 each. Every value is a fixed-point byte, so it is always finite: the checks are
// structural.

/** Checks an SPZ stream's header and returns the exact byte length its declared count needs. */
function spzStreamBytes(stream: Uint8Array, fileName: string, budgets: Required<SceneBudgets>): number {
    if (stream.length < 16) throw new SemanticSplatError("MALFORMED_FILE", "SPZ header is truncated", fileName);
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    if (view.getUint32(0, true) !== SPZ_MAGIC) throw new SemanticSplatError("MALFORMED_FILE", "SPZ stream lacks the NGSP magic", fileName);
    const version = view.getUint32(4, true);
    const count = view.getUint32(8, true);
    const shDegree = stream[12];
    if (version !== 2 && version !== 3) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `SPZ version ${version} inside gzip (the built-in parser reads 2 and 3; v4 files are not gzipped)`, fileName);
    }
    if (shDegree > 3) throw new SemanticSplatError("MALFORMED_FILE", `SPZ SH degree ${shDegree} (at most 3)`, fileName);
    if (stream[15] !== 0) throw new SemanticSplatError("MALFORMED_FILE", "SPZ header's reserved byte is not 0", fileName);
    if (count > budgets.maxGaussians) throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `the SPZ header declares ${count} Gaussians`);
    const shCoefficients = [0, 3, 8, 15][shDegree];
    const bytesPerGaussian = 9 + 1 + 3 + 3 + (version === 3 ? 4 : 3) + shCoefficients * 3;
    return 16 + count * bytesPerGaussian;
}

function spzTooLong(fileName: string, needed: number): SemanticSplatError {
    return new SemanticSplatError("MALFORMED_FILE", `the SPZ stream holds more than the ${needed} bytes its header's count and SH degree need (the count lies, or data was appended)`, fileName);
}

/** Checks a whole uncompressed SPZ v2/v3 stream: its length must be exactly what the header declares. */
function checkSpz(stream: Uint8Array, fileName: string, budgets: Required<SceneBudgets>): number {
    const needed = spzStreamBytes(stream, fileName, budgets);
    const count = new DataView(stream.buffer, stream.byteOffset, stream.byteLength).getUint32(8, true);
    if (stream.length < needed) {
        throw new SemanticSplatError("MALFORMED_FILE", `SPZ declares ${count} Gaussians (${needed} bytes) but holds ${stream.length} bytes (truncated?)`, fileName);
    }
    if (stream.length > needed) throw spzTooLong(fileName, needed);
    return count;
}

/**
 * Checks the container of an SPZ v4 ("NGSP" version 4) file before the @adobe/spz module decodes it, since that
 * module turns a damaged file into an empty cloud instead of failing. Layout (as read from the v4 fixture and the
 * module's own log: numStreams, tocByteOffset): a 32-byte header (magic, version, count, SH degree, fractional
 * bits, flags, stream count, table offset), a table of (compressed, uncompressed) u64 byte sizes per attribute
 * stream (positions 9, alpha 1, colour 3, scale 3, rotation 4 bytes per Gaussian, then SH 3 per coefficient),
 * and the streams, each one zstd frame.
 */
function checkSpzV4(bytes: Uint8Array, fileName: string, budgets: Required<SceneBudgets>): number {
    if (bytes.length < 32) throw new SemanticSplatError("MALFORMED_FILE", "SPZ v4 header is truncated", fileName);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(4, true);
    if (version !== 4) throw new SemanticSplatError("UNSUPPORTED_FORMAT", `SPZ version ${version} (reads 2, 3 and 4)`, fileName);
    const count = view.getUint32(8, true);
    const shDegree = bytes[12];
    const streams = bytes[15];
    const tableOffset = view.getUint32(16, true);
    if (shDegree > 3) throw new SemanticSplatError("MALFORMED_FILE", `SPZ SH degree ${shDegree} (at most 3)`, fileName);
    if (count > budgets.maxGaussians) throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `the SPZ header declares ${count} Gaussians`);
    if (streams < 5) throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 declares ${streams} attribute streams (at least 5)`, fileName);
    if (shDegree === 0 && streams !== 5) throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 declares ${streams} attribute streams for SH degree 0 (expected 5)`, fileName);
    const tableEnd = tableOffset + 16 * streams;
    if (tableOffset < 32 || tableEnd > bytes.length) {
        throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream table (${streams} entries at byte ${tableOffset}) lies outside the file's ${bytes.length} bytes (truncated?)`, fileName);
    }
    const perGaussian = [9, 1, 3, 3, 4];
    const names = ["positions", "alpha", "colour", "scale", "rotation"];
    let offset = tableEnd;
    let shRaw = 0;
    let totalRaw = 0;
    for (let i = 0; i < streams; i++) {
        const size = Number(view.getBigUint64(tableOffset + 16 * i, true));
        const rawSize = Number(view.getBigUint64(tableOffset + 16 * i + 8, true));
        if (offset + size > bytes.length) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream ${i} (${size} bytes at byte ${offset}) runs past the end of the file's ${bytes.length} bytes (truncated?)`, fileName);
        }
        if (size < 4 || view.getUint32(offset, true) !== ZSTD_MAGIC) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 stream ${i} at byte ${offset} is not a zstd frame`, fileName);
        }
        if (i < 5 && rawSize !== count * perGaussian[i]) {
            throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 ${names[i]} stream decodes to ${rawSize} bytes; ${count} Gaussians need ${count * perGaussian[i]} (the count or the size lies)`, fileName);
        }
        if (i >= 5) shRaw += rawSize;
        totalRaw += rawSize;
        offset += size;
    }
    const shNeeded = count * [0, 3, 8, 15][shDegree] * 3;
    if (shRaw !== shNeeded) {
        throw new SemanticSplatError("MALFORMED_FILE", `SPZ v4 SH streams decode to ${shRaw} bytes; ${count} Gaussians of SH degree ${shDegree} need ${shNeeded}`, fileName);
    }
    if (totalRaw > budgets.maxDecompressedBytes) {
        throw budgetExceeded(fileName, "maxDecompressedBytes", budgets.maxDecompressedBytes, `the SPZ v4 streams declare ${totalRaw} bytes`);
    }
    return count;
}

// ---------------------------------------------------------------------------------------------------------------
// SOG (PlayCanvas): meta.json + webp images, bundled in a ZIP (.sog) or beside the meta.json.

async function readSogArchive(bytes: Uint8Array, fileName: string, budgets: Required<SceneBudgets>): Promise<{ count: number; files: Map<string, Uint8Array> }> {
    const entries = listZipEntries(bytes, fileName);
    const metaEntry = entries.get("meta.json");
    if (!metaEntry) throw new SemanticSplatError("MALFORMED_FILE", "the SOG archive has no meta.json", fileName);
    const metaBytes = await readZipEntry(bytes, metaEntry, fileName, Math.min(MAX_SOG_META_BYTES, budgets.maxDecompressedBytes));
    const meta = parseSogMeta(metaBytes, fileName);
    const count = checkSogMeta(metaBytes, fileName, budgets, meta);
    const referenced = sogImageNames(meta);
    // Only the images meta.json names are read (an unreferenced entry is never inflated), and their declared
    // sizes together must fit the budget before any is inflated.
    let declared = metaEntry.uncompressedSize;
    const wanted: ZipEntry[] = [];
    for (const name of referenced) {
        const entry = entries.get(name);
        if (!entry) throw new SemanticSplatError("MALFORMED_FILE", `the SOG archive lacks "${name}" named by meta.json`, fileName);
        declared += entry.uncompressedSize;
        wanted.push(entry);
    }
    if (declared > budgets.maxDecompressedBytes) {
        throw budgetExceeded(fileName, "maxDecompressedBytes", budgets.maxDecompressedBytes, `the SOG entries meta.json names declare ${declared} bytes`);
    }
    const files = new Map<string, Uint8Array>([["meta.json", metaBytes]]);
    for (const entry of wanted) files.set(entry.name, await readZipEntry(bytes, entry, fileName, budgets.maxDecompressedBytes));
    checkSogImages(files, meta, count, fileName);
    return { count, files };
}

/**
 * Checks the images a SOG meta.json names (from a .sog archive, or fetched beside a meta.json): each present, a
 * webp (a PNG or anything else is refused), and the per-Gaussian ones large enough for `count` Gaussians.
 */
export function checkSogImages(files: ReadonlyMap<string, Uint8Array>, meta: Record<string, unknown>, count: number, fileName: string): void {
    for (const name of sogImageNames(meta)) {
        const image = files.get(name);
        if (!image) throw new SemanticSplatError("MALFORMED_FILE", `the SOG scene lacks "${name}" named by meta.json`, fileName);
        checkSogImage(image, name, meta, count, fileName);
    }
}

type SogMeta = Record<string, unknown>;

export function parseSogMeta(bytes: Uint8Array, fileName: string): SogMeta {
    let meta: unknown;
    try {
        meta = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
        throw new SemanticSplatError("MALFORMED_FILE", `SOG meta.json is not valid JSON: ${(error as Error).message}`, fileName, { cause: error });
    }
    if (!meta || typeof meta !== "object" || Array.isArray(meta)) throw new SemanticSplatError("MALFORMED_FILE", "SOG meta.json is not an object", fileName);
    return meta as SogMeta;
}

/**
 * Babylon 9's streamed LOD scenes (`lod-meta.json`: `lodLevels`, `filenames`, an octree `tree`; loaded by
 * @babylonjs/loaders' GaussianSplattingStream) hold no fixed set of Gaussians: pieces of several LOD levels stream in
 * and out as the camera moves, while per-Gaussian features and labels need one Gaussian order for the whole scene.
 * They are refused with UNSUPPORTED_FORMAT naming what to load instead (docs/FORMATS.md, docs/ENCODER.md).
 */
function refuseStreamedLod(meta: SogMeta, fileName: string): void {
    if (!("lodLevels" in meta || "tree" in meta || ("filenames" in meta && !("means" in meta)))) return;
    const names = Array.isArray(meta.filenames) ? (meta.filenames as unknown[]).filter((n): n is string => typeof n === "string") : [];
    const finest = names.length ? ` (its files are SOG meta.json scenes, e.g. "${names[0]}")` : "";
    throw new SemanticSplatError(
        "UNSUPPORTED_FORMAT",
        `a streamed LOD scene (lod-meta.json, Babylon 9's GaussianSplattingStream) cannot be segmented: its Gaussians stream in ` +
            `and out by level of detail as the camera moves, and per-Gaussian features need one fixed set of Gaussians. Load one ` +
            `level of detail as a SOG scene instead${finest}, or the scene as .ply / .spz / .sog`,
        fileName
    );
}

/** The image files a SOG meta.json names (means, scales, quats, sh0, shN), once each. */
export function sogImageNames(meta: SogMeta): string[] {
    const names: string[] = [];
    for (const key of ["means", "scales", "quats", "sh0", "shN"]) {
        const part = meta[key] as { files?: unknown } | undefined;
        if (part && Array.isArray(part.files)) names.push(...(part.files as string[]));
    }
    return [...new Set(names)];
}

/**
 * Checks a SOG meta.json: the parts and their files, the Gaussian count against the budget, and every number
 * the decoder turns into Gaussian values (means/scales/sh0 bounds or codebooks) for being finite and in range,
 * so no Gaussian can decode to NaN or Infinity. Returns the count.
 */
export function checkSogMeta(bytes: Uint8Array, fileName: string, budgets: Required<SceneBudgets>, parsed: SogMeta | null): number {
    const meta = parsed ?? parseSogMeta(bytes, fileName);
    refuseStreamedLod(meta, fileName);
    const fail = (what: string) => new SemanticSplatError("MALFORMED_FILE", `SOG meta.json: ${what}`, fileName);
    for (const key of ["means", "scales", "quats", "sh0"]) {
        const part = meta[key] as { files?: unknown } | undefined;
        if (!part || typeof part !== "object" || !Array.isArray(part.files) || part.files.length === 0 || part.files.some((f) => typeof f !== "string")) {
            throw fail(`lacks "${key}.files"`);
        }
    }
    const means = meta.means as { shape?: unknown; mins?: unknown; maxs?: unknown; files: string[] };
    const count = meta.count !== undefined ? meta.count : Array.isArray(means.shape) ? means.shape[0] : undefined;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) throw fail(`has no valid Gaussian count (got ${JSON.stringify(count)})`);
    if (count > budgets.maxGaussians) throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `SOG meta.json declares ${count} Gaussians`);
    if (means.files.length !== 2) throw fail(`"means.files" must name 2 images (low and high bytes), got ${means.files.length}`);
    // Positions are stored log-transformed: sign(v) * (exp(|v|) - 1) must stay within MAX_POSITION.
    const maxLogPosition = Math.log(MAX_POSITION);
    checkNumbers(means.mins, 3, "means.mins", -maxLogPosition, maxLogPosition, fail);
    checkNumbers(means.maxs, 3, "means.maxs", -maxLogPosition, maxLogPosition, fail);
    const version = meta.version;
    const scales = meta.scales as Record<string, unknown>;
    const sh0 = meta.sh0 as Record<string, unknown>;
    if (version === 2) {
        checkNumbers(scales.codebook, 256, "scales.codebook", -Infinity, MAX_LOG_SCALE, fail);
        checkNumbers(sh0.codebook, 256, "sh0.codebook", -Infinity, Infinity, fail);
    } else {
        checkNumbers(scales.mins, 3, "scales.mins", -Infinity, MAX_LOG_SCALE, fail);
        checkNumbers(scales.maxs, 3, "scales.maxs", -Infinity, MAX_LOG_SCALE, fail);
        checkNumbers(sh0.mins, 4, "sh0.mins", -Infinity, Infinity, fail);
        checkNumbers(sh0.maxs, 4, "sh0.maxs", -Infinity, Infinity, fail);
    }
    const shN = meta.shN as Record<string, unknown> | undefined;
    if (shN !== undefined) {
        if (!shN || typeof shN !== "object" || !Array.isArray(shN.files) || shN.files.length !== 2 || shN.files.some((f) => typeof f !== "string")) {
            throw fail(`"shN.files" must name 2 images (centroids and labels)`);
        }
        if (shN.bands !== undefined && (typeof shN.bands !== "number" || ![1, 2, 3].includes(shN.bands))) throw fail(`"shN.bands" must be 1, 2 or 3, got ${JSON.stringify(shN.bands)}`);
        if (shN.bands === undefined && !(Array.isArray(shN.shape) && [9, 24, 45].includes(shN.shape[1] as number))) throw fail(`"shN" needs "bands" (1..3) or a "shape" of 9, 24 or 45 coefficients`);
        if (version === 2) checkNumbers(shN.codebook, 256, "shN.codebook", -Infinity, Infinity, fail);
        else {
            checkNumbers([shN.mins], 1, "shN.mins", -Infinity, Infinity, fail);
            checkNumbers([shN.maxs], 1, "shN.maxs", -Infinity, Infinity, fail);
        }
    }
    return count;
}

function checkNumbers(value: unknown, length: number, what: string, min: number, max: number, fail: (what: string) => SemanticSplatError): void {
    if (!Array.isArray(value)) throw fail(`"${what}" must be an array of ${length} numbers`);
    if (value.length !== length) throw fail(`"${what}" has ${value.length} entries, expected ${length}`);
    for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (typeof v !== "number" || !Number.isFinite(v)) throw fail(`"${what}"[${i}] is ${JSON.stringify(v)}, not a finite number`);
        if (v < min || v > max) throw fail(`"${what}"[${i}] is ${v}, outside ${min}..${max} (the decoded values would overflow)`);
    }
}

/** A webp image of the SOG archive: the RIFF/WEBP magic, and (for the per-Gaussian images) room for every Gaussian. */
function checkSogImage(image: Uint8Array, name: string, meta: SogMeta, count: number, fileName: string): void {
    const size = webpSize(image);
    if (!size) {
        const png = image[0] === 0x89 && image[1] === 0x50 && image[2] === 0x4e && image[3] === 0x47;
        throw new SemanticSplatError("MALFORMED_FILE", `SOG image "${name}" is not a webp image${png ? " (it is a PNG)" : ""}`, fileName);
    }
    const perGaussian = ["means", "scales", "quats", "sh0"].some((k) => ((meta[k] as { files: string[] }).files ?? []).includes(name));
    const shLabels = ((meta.shN as { files?: string[] } | undefined)?.files ?? [])[1] === name;
    if ((perGaussian || shLabels) && size.width * size.height < count) {
        throw new SemanticSplatError("MALFORMED_FILE", `SOG image "${name}" is ${size.width}x${size.height}, too small for ${count} Gaussians (the count lies?)`, fileName);
    }
}

/** Width and height from a webp's first chunk (VP8L lossless, VP8 lossy, VP8X extended), or null when not webp. */
export function webpSize(b: Uint8Array): { width: number; height: number } | null {
    const tag = (at: number, text: string) => text.split("").every((c, i) => b[at + i] === c.charCodeAt(0));
    if (b.length < 30 || !tag(0, "RIFF") || !tag(8, "WEBP")) return null;
    if (tag(12, "VP8L")) {
        if (b[20] !== 0x2f) return null;
        const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
        return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (tag(12, "VP8 ")) {
        if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
        return { width: (b[26] | (b[27] << 8)) & 0x3fff, height: (b[28] | (b[29] << 8)) & 0x3fff };
    }
    if (tag(12, "VP8X")) {
        return { width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)) };
    }
    return null;
}
