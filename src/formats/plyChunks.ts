// A PLY scene read chunk by chunk (docs/FORMATS.md, "Reading a large PLY in chunks"): the same checks as
// readSceneFile's PLY path (budgets, the header, the validation policy, labels, Babylon's readability), applied to
// consecutive runs of vertex rows, so that a caller never holds the whole file: a 6 M-Gaussian PLY is 430 MB, and the
// copy transcoded for Babylon's reader (when the file has a property type Babylon misreads) another 340 MB. Each
// chunk comes as a small PLY of its own (the file's header with the chunk's vertex count) that Babylon's PLY reader
// converts to exactly the rows it gives for those vertices in the whole file (its conversion is per vertex).
// Pure TypeScript: the caller supplies the bytes (Node: fs.readSync; a browser could use File.slice).
import { SemanticSplatError } from "../errors";
import { budgetExceeded, resolveBudgets } from "./budgets";
import { parsePlyHeader, type PlyHeader } from "./ply";
import { readPlyScene } from "./scenePly";
import { resolveValidation } from "./validation";
import type { SceneReadOptions } from "./sceneFile";

/** Random access to a file's bytes. */
export interface ByteSource {
    /** The file's size in bytes. */
    readonly size: number;
    /** Fills `into` with the bytes from `position` (the source must hold them). */
    read(position: number, into: Uint8Array): void | Promise<void>;
}

/** One checked chunk of a PLY scene. */
export interface PlySceneChunk {
    /** The file's index of the chunk's first vertex. */
    first: number;
    /** Vertices of the file in this chunk. */
    rows: number;
    /** Gaussians kept (rows minus the ones dropped under invalidGaussians: "drop"). */
    count: number;
    /** A PLY of the kept Gaussians that Babylon's PLY reader reads (the file's header with this chunk's count, or a
     *  transcoded copy, as readSceneFile's loaderBytes). */
    babylonBytes: Uint8Array;
    dropped: number;
    labelsMapped: number;
    /** The kept Gaussians' f_sem_* values, [count x featureDimension], or null (as readSceneFile's `features`). */
    features: Float32Array | null;
    featureDimension: number;
    /** The kept Gaussians' sem_label values (none = 65535), or null. */
    labels: Uint16Array | null;
}

/** A PLY scene opened for chunked reading. */
export interface ChunkedPlyScene {
    header: PlyHeader;
    /** Vertices the file declares (the Gaussians before any are dropped). */
    vertexCount: number;
    /** The checked chunks in file order; after the last, INVALID_GAUSSIANS when every Gaussian was dropped. */
    chunks(): AsyncGenerator<PlySceneChunk>;
}

/** Vertex rows per chunk by default (about 19 MB of a standard 3DGS PLY without f_rest). */
export const DEFAULT_PLY_CHUNK_ROWS = 1 << 18;
/** Bytes read to find the header (MAX_PLY_HEADER_BYTES in ply.ts is the most accepted; real ones are a few KiB). */
const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * Opens a PLY scene for chunked reading, or returns null when its layout needs the whole-file reader
 * (readSceneFile): ASCII or big-endian data, an element other than `vertex` with rows, a compressed (chunked) PLY,
 * a header longer than the probe, or a vertex line the chunk header cannot rewrite.
 * @throws SemanticSplatError BUDGET_EXCEEDED (maxFileBytes, maxGaussians), MALFORMED_FILE (a bad header, data
 *   shorter than the declared vertices), UNSUPPORTED_FORMAT / EMPTY_SCENE (parsePlyHeader's), INVALID_ARGUMENT
 *   (bad options)
 */
export async function openPlySceneChunks(source: ByteSource, fileName: string, options: SceneReadOptions = {}, rowsPerChunk = DEFAULT_PLY_CHUNK_ROWS): Promise<ChunkedPlyScene | null> {
    const budgets = resolveBudgets(options.budgets);
    const validation = resolveValidation(options);
    if (!Number.isInteger(rowsPerChunk) || rowsPerChunk < 1) throw new SemanticSplatError("INVALID_ARGUMENT", `rowsPerChunk must be a positive integer, got ${String(rowsPerChunk)}`);
    if (source.size > budgets.maxFileBytes) throw budgetExceeded(fileName, "maxFileBytes", budgets.maxFileBytes, `the file has ${source.size} bytes`);
    const probe = new Uint8Array(Math.min(source.size, HEADER_PROBE_BYTES));
    await source.read(0, probe);
    let header: PlyHeader;
    try {
        header = parsePlyHeader(probe, fileName, { complete: false });
    } catch (e) {
        // a header longer than the probe: the whole-file reader parses it (and refuses it when it is bad)
        if (probe.length < source.size && e instanceof SemanticSplatError && e.code === "MALFORMED_FILE" && /end_header/.test(e.message)) return null;
        throw e;
    }
    if (header.encoding !== "binary_little_endian" || header.vertexElementIndex !== 0) return null;
    if (header.elements.some((e, i) => i !== 0 && e.count > 0)) return null;
    if (header.vertexDataOffset === null) return null;
    if (header.vertexCount > budgets.maxGaussians) {
        throw budgetExceeded(fileName, "maxGaussians", budgets.maxGaussians, `the PLY declares ${header.vertexCount} Gaussians`);
    }
    const stride = header.vertexRowByteSize;
    const dataStart = header.vertexDataOffset;
    const needed = dataStart + header.vertexCount * stride;
    if (needed > source.size) {
        throw new SemanticSplatError("MALFORMED_FILE", `truncated vertex data: ${header.vertexCount} vertices of ${stride} bytes from byte ${dataStart} need ${needed} bytes, the file has ${source.size}`, fileName);
    }
    // the chunk header: the file's own, with the chunk's vertex count
    let headerText = "";
    for (let i = 0; i < header.headerByteLength; i++) headerText += String.fromCharCode(probe[i]); // bytes as they are
    const vertexLine = /^(element[ \t]+vertex[ \t]+)\d+/m;
    if (!vertexLine.test(headerText)) return null;
    const chunkHeader = (rows: number) => latin1Bytes(headerText.replace(vertexLine, `$1${rows}`));
    const count = header.vertexCount;

    async function* chunks(): AsyncGenerator<PlySceneChunk> {
        let dropped = 0;
        for (let first = 0; first < count; first += rowsPerChunk) {
            const rows = Math.min(rowsPerChunk, count - first);
            const head = chunkHeader(rows);
            const bytes = new Uint8Array(head.length + rows * stride);
            bytes.set(head, 0);
            await source.read(dataStart + first * stride, bytes.subarray(head.length));
            const ply = readPlyScene(bytes, fileName, budgets, validation, { firstGaussian: first });
            dropped += ply.dropped;
            yield {
                first,
                rows,
                count: ply.count,
                babylonBytes: ply.babylonBytes,
                dropped: ply.dropped,
                labelsMapped: ply.labelsMapped,
                features: ply.features,
                featureDimension: ply.featureDimension,
                labels: ply.labels,
            };
        }
        if (dropped === count) {
            throw new SemanticSplatError("INVALID_GAUSSIANS", `every one of the ${count} Gaussians is invalid (non-finite or degenerate values): nothing left to load`, fileName);
        }
    }
    return { header, vertexCount: count, chunks };
}

function latin1Bytes(text: string): Uint8Array {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
}
