// The features of a tiled encode spilled to a file in the Origin Private File System (docs/ENCODER.md, "Large
// scenes: tiles"), so that the inference worker never holds the scene's (N x K) array beside its onnxruntime heap,
// the channels and the tile structures: the worker appends each tile's core rows as the tile finishes
// (FeatureSpillWriter, a synchronous access handle: dedicated workers only), and the page reads them back into one
// array once the worker has ended (readFeatureSpill), when the worker's memory is gone. At 6 M Gaussians and K = 16
// that is 193 MB less at the tab's peak. The Node command does the same with a temporary file (bin/encode.mjs).
// No Babylon, no onnxruntime.
import { SemanticSplatError } from "../errors";

/** The OPFS directory of spill files. */
export const FEATURE_SPILL_DIRECTORY = "semantic-splat-spill";
/** Spill files older than this are left-overs of a tab that closed mid-encode: the next spill removes them. */
const STALE_SPILL_MS = 60 * 60 * 1000;
/** Block header: rows, then K (two uint32). Each block: header, `rows` int32 Gaussian indices, `rows x K` fp16. */
const BLOCK_HEADER_BYTES = 8;

/** Where a spilled encode left its features: read them with readFeatureSpill. */
export interface FeatureSpill {
    directory: string;
    file: string;
    /** Gaussians of the scene and features per Gaussian (fp16). */
    count: number;
    k: number;
}

interface SyncAccessHandle {
    write(buffer: ArrayBufferView, options: { at: number }): number;
    flush(): void;
    close(): void;
}
type SpillFileHandle = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncAccessHandle> };

/** Whether this context can write spill files: OPFS with synchronous access handles (a dedicated worker). */
export function featureSpillSupported(): boolean {
    return (
        typeof navigator !== "undefined" &&
        typeof navigator.storage?.getDirectory === "function" &&
        typeof FileSystemFileHandle !== "undefined" &&
        "createSyncAccessHandle" in FileSystemFileHandle.prototype
    );
}

async function spillDirectory(create: boolean): Promise<FileSystemDirectoryHandle> {
    return (await navigator.storage.getDirectory()).getDirectoryHandle(FEATURE_SPILL_DIRECTORY, { create });
}

/** Appends tile blocks to a new spill file. One writer per encode; `finish()` or `discard()` ends it. */
export class FeatureSpillWriter {
    private offset = 0;
    private rows = 0;
    private closed = false;

    private constructor(
        private readonly directory: FileSystemDirectoryHandle,
        private readonly file: string,
        private readonly access: SyncAccessHandle,
        private readonly count: number,
        private readonly k: number
    ) {}

    /** A new spill file for `count` Gaussians of `k` fp16 features; removes stale files of earlier tabs first. */
    static async open(count: number, k: number): Promise<FeatureSpillWriter> {
        const directory = await spillDirectory(true);
        await removeStaleSpills(directory);
        const file = `encode-${Date.now()}-${Math.random().toString(36).slice(2, 10)}.spill`;
        const handle = (await directory.getFileHandle(file, { create: true })) as SpillFileHandle;
        return new FeatureSpillWriter(directory, file, await handle.createSyncAccessHandle(), count, k);
    }

    /** Appends one tile's rows: `features` row j (fp16 bits) belongs to scene Gaussian `gaussians[j]`. */
    write(gaussians: Int32Array, features: Uint16Array): void {
        if (this.closed) throw new SemanticSplatError("INVALID_ARGUMENT", "the feature spill is already closed");
        if (features.length !== gaussians.length * this.k) {
            throw new SemanticSplatError("FEATURE_MISMATCH", `a spilled tile has ${features.length} values for ${gaussians.length} Gaussians x K=${this.k}`);
        }
        this.put(new Uint32Array([gaussians.length, this.k]));
        this.put(gaussians);
        this.put(features);
        this.rows += gaussians.length;
    }

    private put(data: ArrayBufferView): void {
        const written = this.access.write(data, { at: this.offset });
        if (written !== data.byteLength) throw new SemanticSplatError("INFERENCE_FAILED", `the feature spill file took ${written} of ${data.byteLength} bytes (storage full?)`);
        this.offset += written;
    }

    /** Closes the file once every Gaussian has its row; returns where it is. */
    finish(): FeatureSpill {
        if (this.rows !== this.count) {
            throw new SemanticSplatError("FEATURE_MISMATCH", `the feature spill holds ${this.rows} rows for ${this.count} Gaussians`);
        }
        this.access.flush();
        this.close();
        return { directory: FEATURE_SPILL_DIRECTORY, file: this.file, count: this.count, k: this.k };
    }

    /** Closes and removes the file (a failed or cancelled encode, or one encoded whole). Never throws. */
    async discard(): Promise<void> {
        this.close();
        try {
            await this.directory.removeEntry(this.file);
        } catch {
            // already gone: nothing to free
        }
    }

    private close(): void {
        if (this.closed) return;
        this.closed = true;
        this.access.close();
    }
}

async function removeStaleSpills(directory: FileSystemDirectoryHandle): Promise<void> {
    const now = Date.now();
    for await (const [name, handle] of (directory as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind !== "file") continue;
        try {
            const file = await (handle as FileSystemFileHandle).getFile();
            if (now - file.lastModified > STALE_SPILL_MS) await directory.removeEntry(name);
        } catch {
            // in use by another tab's encode, or gone: leave it
        }
    }
}

/**
 * The spilled features as one (count x K) fp16 array in Gaussian order; the file is removed afterwards, whether the
 * read succeeds or not. Read block by block, so the page never holds the file's bytes beside the result. Call it
 * after the worker that wrote the file has ended, or its memory is still held while this array is made.
 * Rejects with MALFORMED_FILE when the file is not a complete spill of `spill.count` Gaussians.
 */
export async function readFeatureSpill(spill: FeatureSpill): Promise<Uint16Array> {
    const directory = await spillDirectory(false);
    try {
        const file = await (await directory.getFileHandle(spill.file)).getFile();
        const { count, k } = spill;
        const features = new Uint16Array(count * k);
        const seen = new Uint8Array(count);
        let filled = 0;
        const bad = (why: string) => new SemanticSplatError("MALFORMED_FILE", `feature spill ${spill.file}: ${why}`);
        for (let offset = 0; offset < file.size; ) {
            if (offset + BLOCK_HEADER_BYTES > file.size) throw bad("a block header is cut off");
            const [rows, blockK] = new Uint32Array(await file.slice(offset, offset + BLOCK_HEADER_BYTES).arrayBuffer());
            if (blockK !== k || rows === 0 || rows > count) throw bad(`a block of ${rows} rows x K=${blockK} (expected K=${k}, at most ${count} rows)`);
            const end = offset + BLOCK_HEADER_BYTES + rows * 4 + rows * k * 2;
            if (end > file.size) throw bad("a block is cut off");
            const block = await file.slice(offset + BLOCK_HEADER_BYTES, end).arrayBuffer();
            const gaussians = new Int32Array(block, 0, rows);
            const values = new Uint16Array(block, rows * 4, rows * k);
            for (let j = 0; j < rows; j++) {
                const g = gaussians[j];
                if (!(g >= 0 && g < count) || seen[g]) throw bad(`Gaussian ${g} is out of range or repeated`);
                seen[g] = 1;
                features.set(values.subarray(j * k, (j + 1) * k), g * k);
            }
            filled += rows;
            offset = end;
        }
        if (filled !== count) throw bad(`${filled} of ${count} Gaussians have features`);
        return features;
    } finally {
        await removeFeatureSpill(spill);
    }
}

/** Removes a spill file (readFeatureSpill does it itself). Never throws. */
export async function removeFeatureSpill(spill: FeatureSpill): Promise<void> {
    try {
        await (await spillDirectory(false)).removeEntry(spill.file);
    } catch {
        // already gone
    }
}
