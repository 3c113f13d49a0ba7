// The browser's feature cache (docs/ENCODER.md, "Feature cache"): semcache entries (semcache.ts) by key in the
// Origin Private File System, or in IndexedDB where OPFS is missing (or `storage: "indexeddb"`), bounded in bytes
// (least recently used entries go first), clearable. Meshes use it through their `encoder.cache` option.
import { SemanticSplatError } from "../errors";

export type FeatureCacheStorage = "opfs" | "indexeddb";

export interface FeatureCacheOptions {
    /** The cache's name: its OPFS directory / IndexedDB database. Default "semantic-splat-features". */
    name?: string;
    /** Most bytes kept (entries are fp16 features: 32 bytes per Gaussian at K = 16). Default 1 GiB. */
    maxBytes?: number;
    /** Default: "opfs" where the browser offers it, else "indexeddb". */
    storage?: FeatureCacheStorage;
}

interface IndexEntry {
    bytes: number;
    usedAt: number;
}

/** What one storage does: entries by key, and the small index of sizes and use times. */
interface Backend {
    read(key: string): Promise<Uint8Array | null>;
    write(key: string, bytes: Uint8Array): Promise<void>;
    remove(key: string): Promise<void>;
    readIndex(): Promise<Record<string, IndexEntry>>;
    writeIndex(index: Record<string, IndexEntry>): Promise<void>;
    clear(): Promise<void>;
}

export const DEFAULT_FEATURE_CACHE_BYTES = 1 << 30;
const INDEX_NAME = "index.json";

function storageError(what: string, e: unknown): SemanticSplatError {
    return new SemanticSplatError("INVALID_ARGUMENT", `feature cache: ${what} failed (${e instanceof Error ? e.message : String(e)})`, undefined, { cause: e });
}

class OpfsBackend implements Backend {
    constructor(private readonly dir: Promise<FileSystemDirectoryHandle>) {}

    private async file(name: string, create: boolean): Promise<FileSystemFileHandle | null> {
        try {
            return await (await this.dir).getFileHandle(name, { create });
        } catch (e) {
            if (!create && e instanceof DOMException && e.name === "NotFoundError") return null;
            throw e;
        }
    }

    async read(key: string): Promise<Uint8Array | null> {
        const handle = await this.file(`${key}.semcache`, false);
        return handle ? new Uint8Array(await (await handle.getFile()).arrayBuffer()) : null;
    }

    async write(key: string, bytes: Uint8Array): Promise<void> {
        const handle = (await this.file(`${key}.semcache`, true))!;
        const writable = await handle.createWritable();
        await writable.write(bytes as Uint8Array<ArrayBuffer>);
        await writable.close();
    }

    async remove(key: string): Promise<void> {
        try {
            await (await this.dir).removeEntry(`${key}.semcache`);
        } catch (e) {
            if (!(e instanceof DOMException && e.name === "NotFoundError")) throw e;
        }
    }

    async readIndex(): Promise<Record<string, IndexEntry>> {
        const handle = await this.file(INDEX_NAME, false);
        if (!handle) return {};
        try {
            return JSON.parse(await (await handle.getFile()).text()) as Record<string, IndexEntry>;
        } catch {
            return {}; // a damaged index: entries are found again by key, sizes re-learnt as they are written
        }
    }

    async writeIndex(index: Record<string, IndexEntry>): Promise<void> {
        const handle = (await this.file(INDEX_NAME, true))!;
        const writable = await handle.createWritable();
        await writable.write(JSON.stringify(index));
        await writable.close();
    }

    async clear(): Promise<void> {
        const dir = await this.dir;
        const names: string[] = [];
        for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
        for (const name of names) await dir.removeEntry(name);
    }
}

function request<T>(r: IDBRequest<T>): Promise<T> {
    return new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
}

class IndexedDbBackend implements Backend {
    private readonly db: Promise<IDBDatabase>;

    constructor(name: string) {
        this.db = new Promise((resolve, reject) => {
            const open = indexedDB.open(name, 1);
            open.onupgradeneeded = () => {
                open.result.createObjectStore("entries");
                open.result.createObjectStore("meta");
            };
            open.onsuccess = () => resolve(open.result);
            open.onerror = () => reject(open.error);
        });
    }

    private async store(name: "entries" | "meta", mode: IDBTransactionMode): Promise<IDBObjectStore> {
        return (await this.db).transaction(name, mode).objectStore(name);
    }

    async read(key: string): Promise<Uint8Array | null> {
        const value = await request((await this.store("entries", "readonly")).get(key));
        return value instanceof ArrayBuffer ? new Uint8Array(value) : null;
    }

    async write(key: string, bytes: Uint8Array): Promise<void> {
        await request((await this.store("entries", "readwrite")).put(bytes.slice().buffer, key));
    }

    async remove(key: string): Promise<void> {
        await request((await this.store("entries", "readwrite")).delete(key));
    }

    async readIndex(): Promise<Record<string, IndexEntry>> {
        return ((await request((await this.store("meta", "readonly")).get(INDEX_NAME))) as Record<string, IndexEntry> | undefined) ?? {};
    }

    async writeIndex(index: Record<string, IndexEntry>): Promise<void> {
        await request((await this.store("meta", "readwrite")).put(index, INDEX_NAME));
    }

    async clear(): Promise<void> {
        await request((await this.store("entries", "readwrite")).clear());
        await request((await this.store("meta", "readwrite")).clear());
    }
}

function opfsAvailable(): boolean {
    return typeof navigator !== "undefined" && typeof navigator.storage?.getDirectory === "function" && typeof FileSystemFileHandle !== "undefined" && "createWritable" in FileSystemFileHandle.prototype;
}

/** A use time later than every use in the index: uses within one millisecond (Date.now's resolution) would
 *  otherwise tie, and the eviction order among them would be the index's key order, not the order of use. */
function nextUseTime(index: Record<string, { usedAt: number }>): number {
    let latest = -Infinity;
    for (const k of Object.keys(index)) latest = Math.max(latest, index[k].usedAt);
    return Math.max(Date.now(), latest + 1);
}

/** Computed encoder features by cache key (semcache.ts), bounded by `maxBytes`, least recently used evicted first. */
export class FeatureCache {
    readonly name: string;
    readonly maxBytes: number;
    readonly storage: FeatureCacheStorage;
    private readonly backend: Backend;
    /** Index updates run one after another (an entry's write and its index update belong together). */
    private queue: Promise<unknown> = Promise.resolve();

    constructor(options: FeatureCacheOptions = {}) {
        this.name = options.name ?? "semantic-splat-features";
        this.maxBytes = options.maxBytes ?? DEFAULT_FEATURE_CACHE_BYTES;
        if (!(this.maxBytes >= 0)) throw new SemanticSplatError("INVALID_ARGUMENT", `feature cache maxBytes must be >= 0, got ${String(options.maxBytes)}`);
        const storage = options.storage ?? (opfsAvailable() ? "opfs" : "indexeddb");
        if (storage === "opfs" && !opfsAvailable()) throw new SemanticSplatError("INVALID_ARGUMENT", "feature cache: this browser has no Origin Private File System with createWritable");
        if (storage === "indexeddb" && typeof indexedDB === "undefined") throw new SemanticSplatError("INVALID_ARGUMENT", "feature cache: this environment has no IndexedDB");
        if (storage !== "opfs" && storage !== "indexeddb") throw new SemanticSplatError("INVALID_ARGUMENT", `feature cache storage must be "opfs" or "indexeddb", got "${String(storage)}"`);
        this.storage = storage;
        this.backend =
            storage === "opfs"
                ? new OpfsBackend(navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(this.name, { create: true })))
                : new IndexedDbBackend(this.name);
    }

    private serial<T>(body: () => Promise<T>): Promise<T> {
        const run = this.queue.then(body);
        this.queue = run.catch(() => undefined);
        return run;
    }

    /** The entry's bytes, or null. Marks it used. */
    get(key: string): Promise<Uint8Array | null> {
        return this.serial(async () => {
            let bytes: Uint8Array | null;
            try {
                bytes = await this.backend.read(key);
            } catch (e) {
                throw storageError("reading an entry", e);
            }
            if (bytes) {
                const index = await this.backend.readIndex();
                index[key] = { bytes: bytes.byteLength, usedAt: nextUseTime(index) };
                await this.backend.writeIndex(index).catch(() => {}); // the use time is a hint only
            }
            return bytes;
        });
    }

    /** Stores an entry (semcache bytes), then evicts the least recently used entries over `maxBytes`. An entry
     *  larger than `maxBytes` is not stored (returns false). */
    put(key: string, bytes: Uint8Array): Promise<boolean> {
        return this.serial(async () => {
            if (bytes.byteLength > this.maxBytes) return false;
            try {
                const index = await this.backend.readIndex();
                await this.backend.write(key, bytes);
                index[key] = { bytes: bytes.byteLength, usedAt: nextUseTime(index) };
                const keys = Object.keys(index).sort((a, b) => index[a].usedAt - index[b].usedAt);
                let total = keys.reduce((sum, k) => sum + index[k].bytes, 0);
                for (const k of keys) {
                    if (total <= this.maxBytes) break;
                    if (k === key) continue;
                    await this.backend.remove(k);
                    total -= index[k].bytes;
                    delete index[k];
                }
                await this.backend.writeIndex(index);
                return true;
            } catch (e) {
                throw storageError("storing an entry", e);
            }
        });
    }

    /** Bytes and entries kept. */
    usage(): Promise<{ bytes: number; entries: number }> {
        return this.serial(async () => {
            const index = await this.backend.readIndex();
            const keys = Object.keys(index);
            return { bytes: keys.reduce((sum, k) => sum + index[k].bytes, 0), entries: keys.length };
        });
    }

    /** Removes one entry. */
    delete(key: string): Promise<void> {
        return this.serial(async () => {
            await this.backend.remove(key);
            const index = await this.backend.readIndex();
            delete index[key];
            await this.backend.writeIndex(index);
        });
    }

    /** Removes every entry. */
    clear(): Promise<void> {
        return this.serial(() => this.backend.clear());
    }
}
