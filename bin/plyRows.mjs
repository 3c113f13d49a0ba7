// The encode command's chunked PLY reading (bin/encode.mjs, --sidecar): the file checked chunk by chunk by the
// library's reader and each chunk converted to Babylon's 32-byte rows by Babylon's own PLY conversion, in worker
// threads (bin/plyConvertWorker.mjs) for a large file. Tested by test/bin/plyChunks.test.mjs.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Worker } from "node:worker_threads";

/** An ArrayBuffer holding exactly the view's bytes: the view's own buffer when it spans all of it (a large file read
 *  by readFileSync has its own; no copy: a 6 M-Gaussian PLY is 430 MB), else a copy (Node's small Buffers share a
 *  pool). Nothing here writes to these bytes. */
export function ownBuffer(buffer) {
    if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) return buffer.buffer;
    return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
}

/** Checks Babylon's PLY conversion (`parsed`: mode Gaussian splat); returns its rows and the y flip its loader gives
 *  the mesh (-1, or 1 for a right-handed PLY). */
export function checkConvertedPly(parsed, fileName) {
    if (parsed.mode !== 0) {
        throw Object.assign(new Error(`${fileName}: not a Gaussian Splatting PLY (Babylon reads it as a ${parsed.mode === 1 ? "point cloud" : "mesh"})`), { code: "UNSUPPORTED_FORMAT" });
    }
    return { rows: parsed.data, flipY: parsed.chirality === "RightHanded" ? 1 : -1 };
}

/** Chunks of at least this many are converted in worker threads (below it, starting them costs more than it saves:
 *  each imports Babylon's loader, about 0.2 s). */
const POOLED_CONVERSION_CHUNKS = 3;

/**
 * Babylon's conversion of PLY chunks, `size` at a time in worker threads (bin/plyConvertWorker.mjs), or in this
 * thread when `size` is 0: convert(buffer) -> Promise<{ rows, flipY }> (the buffer is handed over), close(). A worker
 * that fails fails the conversions it held with a message that says so.
 */
function plyConverter(SPLATFileLoader, size, fileName) {
    if (size === 0) {
        return { convert: async (buffer) => checkConvertedPly(await SPLATFileLoader._ConvertPLYToSplat(buffer), fileName), close: async () => {} };
    }
    let nextId = 1, turn = 0;
    const pending = new Map();
    const workers = [];
    for (let i = 0; i < size; i++) {
        const worker = new Worker(new URL("./plyConvertWorker.mjs", import.meta.url));
        const failAll = (message) => {
            for (const [id, call] of pending) if (call.worker === worker) {
                pending.delete(id);
                call.reject(Object.assign(new Error(`${fileName}: ${message}`), { code: "WORKER_FAILED" }));
            }
        };
        worker.on("message", ({ id, rows, mode, chirality, error }) => {
            const call = pending.get(id);
            if (!call) return;
            pending.delete(id);
            if (error !== undefined) call.reject(Object.assign(new Error(`${fileName}: Babylon's PLY conversion failed: ${error}`), { code: "MALFORMED_FILE" }));
            else {
                try {
                    call.resolve(checkConvertedPly({ data: rows, mode, chirality }, fileName));
                } catch (e) {
                    call.reject(e);
                }
            }
        });
        worker.on("error", (e) => failAll(`the PLY conversion's worker thread ${i} failed: ${e?.message ?? e}`));
        worker.on("exit", (exitCode) => failAll(`the PLY conversion's worker thread ${i} exited (code ${exitCode})`));
        workers.push(worker);
    }
    return {
        convert(buffer) {
            const worker = workers[turn++ % size];
            const id = nextId++;
            return new Promise((resolve, reject) => {
                pending.set(id, { worker, resolve, reject });
                worker.postMessage({ id, bytes: buffer }, [buffer]);
            });
        },
        async close() {
            await Promise.all(workers.map((w) => w.terminate()));
        },
    };
}

/**
 * A PLY scene read and checked chunk by chunk (lib.openPlySceneChunks: readSceneFile's checks on each run of
 * vertex rows), each chunk turned into Babylon's 32-byte rows by Babylon's own PLY conversion (per vertex, so the
 * rows equal a whole-file conversion's): the file is never held whole. A file of POOLED_CONVERSION_CHUNKS chunks or
 * more has its chunks converted in `threads` - 1 worker threads while this thread reads and checks the next ones
 * (at most 2 chunks per converting thread in flight). Returns null for a file that is not a PLY, or whose layout
 * needs the whole-file reader; else the scene fields the command uses, with `rows` and `flipY`.
 */
export async function readPlyRowsInChunks(path, readOptions, lib, SPLATFileLoader, { threads = 1, rowsPerChunk = lib.DEFAULT_PLY_CHUNK_ROWS } = {}) {
    let fd;
    try {
        fd = openSync(path, "r");
    } catch (e) {
        throw Object.assign(new Error(`${path}: cannot read the scene file (${e.code ?? e.message})`), { code: "INVALID_ARGUMENT" });
    }
    let converter = null;
    const inFlight = new Set();
    try {
        const source = {
            size: fstatSync(fd).size,
            read(position, into) {
                for (let done = 0; done < into.length; ) {
                    const n = readSync(fd, into, done, into.length - done, position + done);
                    if (n === 0) throw Object.assign(new Error(`${path}: the file ended at byte ${position + done} while reading it`), { code: "MALFORMED_FILE" });
                    done += n;
                }
            },
        };
        const magic = new Uint8Array(Math.min(5, source.size));
        source.read(0, magic);
        if (!lib.isPly(magic)) return null;
        const opened = await lib.openPlySceneChunks(source, path, readOptions, rowsPerChunk);
        if (!opened) return null;
        // this thread reads and checks on one core, the others convert
        const converters = opened.vertexCount >= POOLED_CONVERSION_CHUNKS * rowsPerChunk ? Math.max(0, threads - 1) : 0;
        converter = plyConverter(SPLATFileLoader, converters, path);
        let rows = new Uint8Array(opened.vertexCount * 32);
        let count = 0, dropped = 0, labelsMapped = 0, flipY = null;
        let failure = null;
        for await (const chunk of opened.chunks()) {
            dropped += chunk.dropped;
            labelsMapped += chunk.labelsMapped;
            if (chunk.count === 0) continue;
            const at = count, expected = chunk.count, first = chunk.first, last = chunk.first + chunk.rows - 1;
            count += chunk.count;
            const conversion = converter
                .convert(ownBuffer(chunk.babylonBytes))
                .then((converted) => {
                    if (converted.rows.byteLength !== expected * 32) {
                        throw Object.assign(new Error(`${path}: Babylon's parser read ${converted.rows.byteLength / 32} Gaussians of vertices ${first}..${last}, expected ${expected}`), { code: "MALFORMED_FILE" });
                    }
                    flipY ??= converted.flipY;
                    rows.set(new Uint8Array(converted.rows), at * 32);
                })
                .catch((e) => {
                    failure ??= e;
                })
                .finally(() => inFlight.delete(conversion));
            inFlight.add(conversion);
            while (inFlight.size >= 2 * Math.max(1, converters)) await Promise.race(inFlight);
            if (failure) throw failure;
        }
        await Promise.all(inFlight);
        if (failure) throw failure;
        if (count < opened.vertexCount) rows = rows.slice(0, count * 32);
        return { format: "ply", count, rows: rows.buffer, flipY, dropped, labelsMapped, sourcePly: null };
    } finally {
        await Promise.allSettled([...inFlight]);
        await converter?.close();
        closeSync(fd);
    }
}
