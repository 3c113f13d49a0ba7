// A small reader for the ZIP container of .sog files (PlayCanvas SOG "bundled" form: meta.json + webp images).
// Babylon's loader unzips .sog with fflate, which it otherwise fetches from a CDN at run time; this project
// makes no network requests, so the mesh unzips the archive itself (entries stored or deflated, read with the
// browser's DecompressionStream) and hands the loader the files. Layout: PKWARE APPNOTE 6.3.x, sections 4.3.7
// (local header), 4.3.12 (central directory header), 4.3.16 (end of central directory).
import { SemanticSplatError } from "../errors";
import { budgetExceeded, inflateCapped } from "./budgets";

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

/** One file entry of a ZIP archive's central directory (nothing inflated yet). */
export interface ZipEntry {
    readonly name: string;
    readonly method: number;
    readonly compressedSize: number;
    /** The size the archive declares for the inflated entry; reading stops as soon as the data passes it. */
    readonly uncompressedSize: number;
    /** Where the entry's (compressed) data starts in the archive. */
    readonly dataStart: number;
}

/**
 * Lists the file entries of a ZIP archive from its central directory, checking every offset and size against the
 * archive's length (nothing is inflated). Throws SemanticSplatError("MALFORMED_FILE") naming `fileName`.
 */
export function listZipEntries(bytes: Uint8Array, fileName: string): Map<string, ZipEntry> {
    const malformed = (problem: string) => new SemanticSplatError("MALFORMED_FILE", `not a readable ZIP archive: ${problem}`, fileName);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The end-of-central-directory record is the last 22 bytes, plus an optional comment of up to 65535 bytes.
    let end = -1;
    for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
        if (view.getUint32(p, true) === END_OF_CENTRAL_DIRECTORY_SIGNATURE) {
            end = p;
            break;
        }
    }
    if (end < 0) throw malformed("no end-of-central-directory record (truncated?)");
    const entryCount = view.getUint16(end + 10, true);
    const directorySize = view.getUint32(end + 12, true);
    const directoryOffset = view.getUint32(end + 16, true);
    if (directoryOffset + directorySize > end) throw malformed("central directory lies outside the file");
    const entries = new Map<string, ZipEntry>();
    const decoder = new TextDecoder();
    let p = directoryOffset;
    for (let e = 0; e < entryCount; e++) {
        if (p + 46 > end || view.getUint32(p, true) !== CENTRAL_HEADER_SIGNATURE) throw malformed(`central directory entry ${e} is damaged`);
        const flags = view.getUint16(p + 8, true);
        const method = view.getUint16(p + 10, true);
        const compressedSize = view.getUint32(p + 20, true);
        const uncompressedSize = view.getUint32(p + 24, true);
        const nameLength = view.getUint16(p + 28, true);
        const extraLength = view.getUint16(p + 30, true);
        const commentLength = view.getUint16(p + 32, true);
        const localOffset = view.getUint32(p + 42, true);
        if (p + 46 + nameLength > end) throw malformed(`central directory entry ${e} is damaged (its name runs past the directory)`);
        const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
        p += 46 + nameLength + extraLength + commentLength;
        if (name.endsWith("/")) continue; // a folder
        if (flags & 0x1) throw malformed(`entry "${name}" is encrypted`);
        if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localOffset === 0xffffffff) {
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", `entry "${name}" needs ZIP64, which .sog files do not use`, fileName);
        }
        if (localOffset + 30 > bytes.length || view.getUint32(localOffset, true) !== LOCAL_HEADER_SIGNATURE) {
            throw malformed(`entry "${name}" has no local header`);
        }
        const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
        if (dataStart + compressedSize > bytes.length) throw malformed(`entry "${name}" is truncated`);
        if (method !== METHOD_STORED && method !== METHOD_DEFLATE) {
            throw new SemanticSplatError("UNSUPPORTED_FORMAT", `entry "${name}" uses ZIP compression method ${method} (only stored and deflate are read)`, fileName);
        }
        if (method === METHOD_STORED && compressedSize !== uncompressedSize) {
            throw malformed(`stored entry "${name}" declares ${uncompressedSize} bytes but holds ${compressedSize}`);
        }
        if (entries.has(name)) throw malformed(`entry "${name}" appears twice`);
        entries.set(name, { name, method, compressedSize, uncompressedSize, dataStart });
    }
    return entries;
}

/**
 * Reads one entry: stored entries are copied, deflated ones inflated while checking the output against the
 * entry's declared size (stops as soon as it passes it) and against `maxBytes`.
 */
export async function readZipEntry(bytes: Uint8Array, entry: ZipEntry, fileName: string, maxBytes: number): Promise<Uint8Array> {
    if (entry.uncompressedSize > maxBytes) {
        throw budgetExceeded(fileName, "maxDecompressedBytes", maxBytes, `ZIP entry "${entry.name}" declares ${entry.uncompressedSize} bytes`);
    }
    const compressed = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
    let content: Uint8Array;
    if (entry.method === METHOD_STORED) {
        content = compressed.slice();
    } else {
        content = await inflateCapped(compressed, "deflate-raw", fileName, {
            limit: entry.uncompressedSize,
            budget: "maxDecompressedBytes",
            what: `ZIP entry "${entry.name}"`,
            limitIsDeclared: true,
            tooLong: () =>
                new SemanticSplatError("MALFORMED_FILE", `not a readable ZIP archive: entry "${entry.name}" inflates to more than the ${entry.uncompressedSize} bytes it declares`, fileName),
        });
    }
    if (content.length !== entry.uncompressedSize) {
        throw new SemanticSplatError("MALFORMED_FILE", `not a readable ZIP archive: entry "${entry.name}" inflates to ${content.length} bytes, expected ${entry.uncompressedSize}`, fileName);
    }
    return content;
}

/**
 * Reads every file entry of a ZIP archive (or those `wanted` names), refusing an archive whose declared sizes
 * together pass `maxBytes` before inflating anything. Throws SemanticSplatError naming `fileName`.
 */
export async function unzipArchive(bytes: Uint8Array, fileName: string, maxBytes = Number.MAX_SAFE_INTEGER, wanted?: Iterable<string>): Promise<Map<string, Uint8Array>> {
    const entries = listZipEntries(bytes, fileName);
    const names = wanted ? [...new Set(wanted)] : [...entries.keys()];
    let declared = 0;
    for (const name of names) declared += entries.get(name)?.uncompressedSize ?? 0;
    if (declared > maxBytes) throw budgetExceeded(fileName, "maxDecompressedBytes", maxBytes, `the ZIP entries declare ${declared} bytes`);
    const files = new Map<string, Uint8Array>();
    for (const name of names) {
        const entry = entries.get(name);
        if (entry) files.set(name, await readZipEntry(bytes, entry, fileName, maxBytes));
    }
    return files;
}

/**
 * Writes a ZIP archive with every entry stored (no compression). Used to bundle SOG files for tests and tools;
 * the CRC-32 is the standard reflected polynomial 0xEDB88320 (APPNOTE 4.4.7).
 */
export function zipStored(files: Map<string, Uint8Array>): Uint8Array {
    const encoder = new TextEncoder();
    const parts: Uint8Array[] = [];
    const central: Uint8Array[] = [];
    let offset = 0;
    for (const [name, content] of files) {
        const nameBytes = encoder.encode(name);
        const crc = crc32(content);
        const local = new Uint8Array(30 + nameBytes.length);
        const lv = new DataView(local.buffer);
        lv.setUint32(0, LOCAL_HEADER_SIGNATURE, true);
        lv.setUint16(4, 20, true);
        lv.setUint32(14, crc, true);
        lv.setUint32(18, content.length, true);
        lv.setUint32(22, content.length, true);
        lv.setUint16(26, nameBytes.length, true);
        local.set(nameBytes, 30);
        const header = new Uint8Array(46 + nameBytes.length);
        const hv = new DataView(header.buffer);
        hv.setUint32(0, CENTRAL_HEADER_SIGNATURE, true);
        hv.setUint16(4, 20, true);
        hv.setUint16(6, 20, true);
        hv.setUint32(16, crc, true);
        hv.setUint32(20, content.length, true);
        hv.setUint32(24, content.length, true);
        hv.setUint16(28, nameBytes.length, true);
        hv.setUint32(42, offset, true);
        header.set(nameBytes, 46);
        parts.push(local, content);
        central.push(header);
        offset += local.length + content.length;
    }
    const directorySize = central.reduce((n, c) => n + c.length, 0);
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true);
    ev.setUint16(8, files.size, true);
    ev.setUint16(10, files.size, true);
    ev.setUint32(12, directorySize, true);
    ev.setUint32(16, offset, true);
    const all = [...parts, ...central, end];
    const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0));
    let p = 0;
    for (const c of all) {
        out.set(c, p);
        p += c.length;
    }
    return out;
}

let crcTable: Uint32Array | null = null;
function crc32(data: Uint8Array): number {
    if (!crcTable) {
        crcTable = new Uint32Array(256);
        for (let n = 0; n < 256; n++) {
            let c = n;
            for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
            crcTable[n] = c >>> 0;
        }
    }
    let crc = 0xffffffff;
    for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
}
