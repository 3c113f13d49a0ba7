#!/usr/bin/env node
// semantic-splat-encode: encodes a Gaussian Splatting scene file with the Gaussian encoder (onnxruntime-node) and
// writes its per-Gaussian features, as PLY f_sem_* properties or as a feature sidecar (docs/ENCODER.md, "The encode
// command"). The same stages as the browser's encodeScene (dist/node-encoder.js). The scene is read and checked by
// readSceneFile, the reading path the browser's loader uses (budgets, validation policy, typed errors), and
// Babylon's own parsers turn the checked bytes into 32-byte splat rows, so both see the same Gaussians in the
// same frame.
import { readFileSync, renameSync, statSync, existsSync, rmSync, openSync, readSync, writeSync, closeSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { openEncoderSession } from "./encoderSession.mjs";
import { checkConvertedPly, ownBuffer, readPlyRowsInChunks } from "./plyRows.mjs";

/** glibc malloc settings the command runs under (docs/ENCODER.md, "Memory"). Without them glibc keeps the freed
 *  buffers of onnxruntime's calls (it runs without its own arena) in its heaps, about 0.4 GB at 6 M Gaussians; with
 *  them buffers of 2 MiB and more are unmapped when freed (mmap_threshold), as transparent huge pages where the
 *  kernel allows them (hugetlb=1: 512 times fewer page faults than 4 KiB pages, which is what made a low threshold
 *  cost time), and two arenas serve all threads (arena_max). BENCHMARKS.md, "Large scenes in Node". */
const MALLOC_TUNABLES = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=2097152:glibc.malloc.arena_max=2";
/** Set in the re-run command's environment: says it runs under MALLOC_TUNABLES (and must not run itself again). */
const MALLOC_MARK = "SEMANTIC_SPLAT_ENCODE_MALLOC";
/** Variables through which a user sets glibc's malloc: any of them set, the command keeps them as they are. */
const USER_MALLOC_VARIABLES = ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"];

// the issue's bound for a Node encode (issue 17): the tiles are planned to fit it (--memory-budget)
const DEFAULT_MEMORY_BUDGET_GB = 1.5;
const DEFAULT_CLASS_COUNT = 21; // the package's models/classes.json (the library checks the same number)

const USAGE = `usage: semantic-splat-encode <scene.ply|scene.splat|scene.spz> --model <encoder.onnx> [options]

Encodes every Gaussian of the scene with the Gaussian encoder and writes K features per Gaussian.

options:
  --model <file>        the encoder ONNX model (required)
  --out <file>          output file (default: <scene>.semantic.ply for a PLY, <scene>.semf for a sidecar)
  --sidecar             write a feature sidecar (fp16) instead of a PLY (the only output for .splat)
  --frame <auto|none>   the scene frame (docs/FRAME.md): auto (default) estimates up, scale and floor from the
                        Gaussians; none keeps +Y up, 1 unit = 1 m. Any of the three options below makes the frame
                        explicit (they always win; the ones not given keep +y, 1, 0)
  --up <axis>           the scene's up axis after Babylon's loader flip: +y, -y, +z, -z, +x, -x
  --metres-per-unit <m> scene units in metres (0.01 for centimetres)
  --floor=<m>           floor height in metres after rotation and scale (the encoder input subtracts it;
                        write --floor=-1.4 for a negative height)
  --threads <n>         onnxruntime intra-op threads in all (default: onnxruntime's choice, or the machine's cores
                        shared among --concurrent-calls)
  --concurrent-calls <n>
                        tiled encodes: model calls run at once, each in its own worker thread and onnxruntime
                        session with threads / n intra-op threads, while the next tile is prepared (default 2 when
                        there are 2 threads or more, else 1; 1 runs the calls in this thread). Same features; each
                        call in flight takes its share of --memory-budget
  --invalid-gaussians <refuse|drop>
                        Gaussians with non-finite or degenerate values: refuse the file (default) or drop them
  --invalid-labels <refuse|none>
                        sem_label values outside the class table: refuse the file (default) or map them to none
  --class-count <n>     classes in the class table (default ${DEFAULT_CLASS_COUNT})
  --max-file-bytes <n>  budget: largest scene file (default 2 GiB); also --max-decompressed-bytes <n> (1 GiB),
                        --max-gaussians <n> (16777216) and --max-model-bytes <n> (512 MiB)
  --memory-budget <GB>  peak memory the encode plans for (default ${DEFAULT_MEMORY_BUDGET_GB}): the largest tiles that fit it
                        (larger cores do less halo work: faster), or the whole scene in one call when that fits;
                        the plan follows a memory model fitted to measured runs (docs/ENCODER.md). Give it or
                        --tile-gaussians / --field-gaussians, not both
  --tile-gaussians <n>  most Gaussians per tile core instead (a scene of at most twice this is encoded whole);
                        "whole" never tiles (memory then grows with the scene). Larger cores are faster and take
                        more memory (BENCHMARKS.md, "Large scenes in Node"; 2 cores, 3 M Gaussians: the default
                        budget's 19 tiles, two at once, in 15 s / 1.2 GiB)
  --field-gaussians <n> most Gaussians in one model call, a tile's core and its receptive field (default 3 times
                        --tile-gaussians): a tile whose field holds more is halved; the largest call sets the
                        peak memory (about 0.6 KB per Gaussian, times --concurrent-calls: each call in flight
                        holds its own tile)
  --halo <m>            clip each tile's receptive field to <m> metres around its core (faster, not exact;
                        default: the whole field, the same features as a whole-scene encode)
  --cache               read the features from <scene>.semcache when it was written for this scene, model and
                        options, else encode and write it (fp16; docs/ENCODER.md, "Feature cache")
  --clear-cache         delete <scene>.semcache first
  --quiet               no progress bar
  --system-malloc       keep glibc's default malloc settings: by default the command runs itself again with
                        GLIBC_TUNABLES=${MALLOC_TUNABLES} (docs/ENCODER.md, "Memory"),
                        unless GLIBC_TUNABLES or a MALLOC_* variable is already set (yours win)
  -h, --help            this text

exit status: 0 written, 1 the scene or model was refused (the message names the file and the problem), 2 usage.`;

class UsageError extends Error {}

const BUDGET_FLAGS = { "max-file-bytes": "maxFileBytes", "max-decompressed-bytes": "maxDecompressedBytes", "max-gaussians": "maxGaussians", "max-model-bytes": "maxModelBytes" };

function fail(error) {
    const code = error && typeof error.code === "string" ? `${error.code}: ` : "";
    process.stderr.write(`\nsemantic-splat-encode: ${code}${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
}

function parseCommandLine(argv) {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            options: {
                model: { type: "string" },
                out: { type: "string" },
                sidecar: { type: "boolean", default: false },
                frame: { type: "string", default: "auto" },
                up: { type: "string" },
                "metres-per-unit": { type: "string" },
                floor: { type: "string" },
                threads: { type: "string" },
                "concurrent-calls": { type: "string" },
                "tile-gaussians": { type: "string" },
                "memory-budget": { type: "string" },
                "field-gaussians": { type: "string" },
                halo: { type: "string" },
                cache: { type: "boolean", default: false },
                "clear-cache": { type: "boolean", default: false },
                quiet: { type: "boolean", default: false },
                "system-malloc": { type: "boolean", default: false },
                "invalid-gaussians": { type: "string", default: "refuse" },
                "invalid-labels": { type: "string", default: "refuse" },
                "class-count": { type: "string" },
                ...Object.fromEntries(Object.keys(BUDGET_FLAGS).map((flag) => [flag, { type: "string" }])),
                help: { type: "boolean", short: "h", default: false },
            },
        });
    } catch (e) {
        throw new UsageError(e.message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    if (positionals.length !== 1) throw new UsageError(`expected one scene file, got ${positionals.length}`);
    if (!values.model) throw new UsageError("--model <encoder.onnx> is required");
    if (!["auto", "none"].includes(values.frame)) throw new UsageError(`--frame must be auto or none, got "${values.frame}"`);
    let metresPerUnit;
    if (values["metres-per-unit"] !== undefined) {
        metresPerUnit = Number(values["metres-per-unit"]);
        if (!(metresPerUnit > 0) || !Number.isFinite(metresPerUnit)) throw new UsageError(`--metres-per-unit must be a positive number, got "${values["metres-per-unit"]}"`);
    }
    if (values.up !== undefined && !["+y", "-y", "+z", "-z", "+x", "-x"].includes(values.up)) throw new UsageError(`--up must be one of +y, -y, +z, -z, +x, -x, got "${values.up}"`);
    let floorHeight;
    if (values.floor !== undefined) {
        floorHeight = Number(values.floor);
        if (values.floor.trim() === "" || !Number.isFinite(floorHeight)) throw new UsageError(`--floor must be a number of metres, got "${values.floor}"`);
    }
    let threads;
    if (values.threads !== undefined) {
        threads = Number(values.threads);
        if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, got "${values.threads}"`);
    }
    let concurrentCalls;
    if (values["concurrent-calls"] !== undefined) {
        concurrentCalls = Number(values["concurrent-calls"]);
        if (!Number.isInteger(concurrentCalls) || concurrentCalls < 1) throw new UsageError(`--concurrent-calls must be a positive integer, got "${values["concurrent-calls"]}"`);
    }
    if (!["refuse", "drop"].includes(values["invalid-gaussians"])) throw new UsageError(`--invalid-gaussians must be refuse or drop, got "${values["invalid-gaussians"]}"`);
    if (!["refuse", "none"].includes(values["invalid-labels"])) throw new UsageError(`--invalid-labels must be refuse or none, got "${values["invalid-labels"]}"`);
    const positiveInteger = (flag) => {
        const n = Number(values[flag]);
        if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got "${values[flag]}"`);
        return n;
    };
    const budgets = {};
    for (const [flag, key] of Object.entries(BUDGET_FLAGS)) if (values[flag] !== undefined) budgets[key] = positiveInteger(flag);
    const read = {
        budgets,
        invalidGaussians: values["invalid-gaussians"],
        invalidLabels: values["invalid-labels"],
        classCount: values["class-count"] !== undefined ? positiveInteger("class-count") : undefined,
    };
    let tileGaussians;
    if (values["tile-gaussians"] !== undefined) {
        tileGaussians = values["tile-gaussians"] === "whole" ? Infinity : Number(values["tile-gaussians"]);
        if (tileGaussians !== Infinity && (!Number.isInteger(tileGaussians) || tileGaussians < 1000)) {
            throw new UsageError(`--tile-gaussians must be an integer >= 1000 or "whole", got "${values["tile-gaussians"]}"`);
        }
    }
    let fieldGaussians;
    if (values["field-gaussians"] !== undefined) {
        fieldGaussians = Number(values["field-gaussians"]);
        if (!Number.isInteger(fieldGaussians) || fieldGaussians < 1000) throw new UsageError(`--field-gaussians must be an integer >= 1000, got "${values["field-gaussians"]}"`);
    }
    let memoryBudgetBytes = DEFAULT_MEMORY_BUDGET_GB * 1e9;
    if (values["memory-budget"] !== undefined) {
        const gb = Number(values["memory-budget"]);
        if (!(gb > 0) || !Number.isFinite(gb)) throw new UsageError(`--memory-budget must be a positive number of GB, got "${values["memory-budget"]}"`);
        if (tileGaussians !== undefined || fieldGaussians !== undefined) throw new UsageError("--memory-budget plans the tiles: give it or --tile-gaussians / --field-gaussians, not both");
        memoryBudgetBytes = gb * 1e9;
    }
    let haloMetres;
    if (values.halo !== undefined) {
        haloMetres = Number(values.halo);
        if (!(haloMetres >= 0) || !Number.isFinite(haloMetres)) throw new UsageError(`--halo must be a number of metres >= 0, got "${values.halo}"`);
    }
    return { scene: positionals[0], model: values.model, out: values.out, sidecar: values.sidecar, frame: values.frame, up: values.up, metresPerUnit, floorHeight, threads, concurrentCalls, tileGaussians, fieldGaussians, memoryBudgetBytes, haloMetres, cache: values.cache, clearCache: values["clear-cache"], quiet: values.quiet, systemMalloc: values["system-malloc"], read };
}

/** A one-line progress bar on stderr (redrawn in place on a terminal; one line per stage otherwise). */
function progressBar(quiet) {
    const isTty = process.stderr.isTTY === true;
    const started = performance.now();
    let last = { stage: "start", fraction: 0 };
    let timer = null;
    const draw = () => {
        const width = 30;
        const filled = Math.round(last.fraction * width);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const tiles = last.tiles ? ` tile ${last.tile}/${last.tiles}${last.secondsLeft !== undefined ? `, ~${last.secondsLeft.toFixed(0)} s left` : ""}` : "";
        const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(last.fraction * 100).toFixed(0).padStart(3)}% ${last.stage}${tiles} ${seconds}s`;
        process.stderr.write(isTty ? `\r${line.padEnd(70)}` : `${line}\n`);
    };
    return {
        update(progress) {
            if (quiet) return;
            last = progress;
            draw();
            // a model call gives no intermediate fractions: keep the elapsed time moving on a terminal
            if (isTty && progress.stage === "inference" && !timer) timer = setInterval(draw, 250);
            if (progress.stage !== "inference" && timer) {
                clearInterval(timer);
                timer = null;
            }
        },
        end() {
            if (timer) clearInterval(timer);
            if (!quiet && isTty) process.stderr.write("\n");
        },
    };
}

/** Imports a dependency with a message saying how to get it when it is missing. */
async function importOrExplain(specifier, why) {
    try {
        return await import(specifier);
    } catch (e) {
        if (e && (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND")) {
            const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
            throw new Error(`${why} needs the package "${name}": npm install ${name} (${e.message.split("\n")[0]})`);
        }
        throw e;
    }
}

/** Reads a file, refusing one larger than `maxBytes` (BUDGET_EXCEEDED, named `budget`) before reading it. */
function readFile(path, what, maxBytes, budget) {
    let size;
    try {
        size = statSync(path).size;
    } catch (e) {
        throw Object.assign(new Error(`${path}: cannot read the ${what} (${e.code ?? e.message})`), { code: "INVALID_ARGUMENT" });
    }
    if (maxBytes !== undefined && size > maxBytes) {
        throw Object.assign(new Error(`${path}: the ${what} has ${size} bytes: more than the ${budget} budget of ${maxBytes} bytes`), { code: "BUDGET_EXCEEDED" });
    }
    try {
        return readFileSync(path);
    } catch (e) {
        throw Object.assign(new Error(`${path}: cannot read the ${what} (${e.code ?? e.message})`), { code: "INVALID_ARGUMENT" });
    }
}

/** A scene object for Babylon's SPZ parser, which asks the engine's maximum texture size only to lay out SH. */
const HEADLESS_SCENE = { getEngine: () => ({ getCaps: () => ({ maxTextureSize: 4096 }) }) };

/**
 * glibc reads its malloc tunables only when a process starts, so the command runs itself again with them (once; the
 * child's environment carries MALLOC_MARK) and exits as it did. Returns the malloc setting this process runs
 * under, for the summary: "tuned", or why not ("--system-malloc", "your ...", "not glibc").
 */
function mallocSetting(args) {
    if (process.env[MALLOC_MARK] === "tuned") return "tuned";
    if (args.systemMalloc) return "glibc defaults (--system-malloc)";
    const own = USER_MALLOC_VARIABLES.filter((name) => process.env[name] !== undefined);
    if (own.length > 0) return `yours (${own.map((name) => `${name}=${process.env[name]}`).join(" ")})`;
    if (process.platform !== "linux" || !process.report) return "the system's (not glibc)";
    process.report.excludeNetwork = true; // the report only for the C library's name: no network look-ups
    if (!process.report.getReport().header.glibcVersionRuntime) return "the system's (not glibc)";
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
        stdio: "inherit",
        env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES, [MALLOC_MARK]: "tuned" },
    });
    if (child.error) fail(new Error(`could not run the command again with its malloc settings (${child.error.message}): run it with --system-malloc`));
    if (child.signal) process.kill(process.pid, child.signal);
    process.exit(child.status ?? 1);
}

/** The output file: --out, else <scene>.semf for a sidecar, <scene>.semantic.ply for a PLY. */
function outputPath(args, lib) {
    if (args.out) return args.out;
    return args.sidecar ? lib.featureSidecarFileName(args.scene) : args.scene.replace(/(\.ply)?$/i, ".semantic.ply");
}

/** Writes all of `bytes` at `position`. */
function writeAt(fd, bytes, position) {
    for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

/** Reads `into.byteLength` bytes at `position` into `into`. */
function readAt(fd, into, position, path) {
    for (let done = 0; done < into.byteLength; ) {
        const n = readSync(fd, into, done, into.byteLength - done, position + done);
        if (n === 0) throw new Error(`${path}: the file ended at byte ${position + done}`);
        done += n;
    }
}

/** The bytes of a typed array (a view, no copy). */
function bytesOf(array) {
    return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * The encoder's model calls in `size` worker threads (bin/encodeWorker.mjs), each with its own session (the same
 * options and arena rule: openEncoderSession), so that `size` tiles run at once while this thread prepares the next:
 * on 2 cores two calls of one thread each do a call's work in 0.85-0.87 of the time one call on both threads takes
 * (onnxruntime's operators do not all split over threads), and the tile preparation no longer waits for the model
 * (BENCHMARKS.md, "Large scenes in Node"). encodeChannels keeps at most `size` calls in flight. Each worker opens
 * its session first, so a model onnxruntime refuses is reported before any tile is prepared. A worker that fails
 * (its thread throws or exits) fails the calls it held with a message that says so.
 */
async function workerModel(modelBytes, sessionOptions, size, modelPath) {
    let nextId = 1;
    const workers = [];
    const idle = [];
    const fail = (message, code) => Object.assign(new Error(`${modelPath}: ${message}`), { code });
    for (let i = 0; i < size; i++) {
        const worker = new Worker(new URL("./encodeWorker.mjs", import.meta.url), { workerData: { modelBytes: new Uint8Array(modelBytes), sessionOptions, modelPath } });
        const pending = new Map();
        const failAll = (error) => {
            for (const { reject } of pending.values()) reject(error);
            pending.clear();
        };
        worker.on("message", ({ id, data, dims, error, code }) => {
            const call = pending.get(id);
            if (!call) return;
            pending.delete(id);
            // a model onnxruntime refuses: the session's own message (it names the file)
            if (error !== undefined) call.reject(code === "MODEL_INVALID" ? Object.assign(new Error(error), { code }) : fail(`the encoder failed in worker thread ${i}: ${error}`, code ?? "MODEL_RUN_FAILED"));
            else call.resolve({ data, dims });
        });
        worker.on("error", (e) => failAll(fail(`the encoder's worker thread ${i} failed: ${e?.message ?? e}`, "WORKER_FAILED")));
        let exited = false;
        worker.on("exit", (exitCode) => {
            exited = true;
            failAll(fail(`the encoder's worker thread ${i} exited (code ${exitCode}) during a model call`, "WORKER_FAILED"));
        });
        const send = (feeds) =>
            new Promise((resolve, reject) => {
                if (exited) {
                    reject(fail(`the encoder's worker thread ${i} has exited`, "WORKER_FAILED"));
                    return;
                }
                const id = nextId++;
                pending.set(id, { resolve, reject });
                if (feeds === null || feeds === "close") {
                    worker.postMessage({ id, feeds });
                    return;
                }
                // the feeds' buffers move to the worker (encodeChannels drops them after the call)
                const buffers = [...new Set(Object.values(feeds).map((t) => t.data.buffer))];
                worker.postMessage({ id, feeds }, buffers);
            });
        workers.push({ worker, send });
    }
    // every worker's session opened, or every attempt ended before any worker is stopped: a thread stopped in the
    // middle of onnxruntime's native work aborts the whole process
    const opened = await Promise.allSettled(workers.map((w) => w.send(null)));
    const failed = opened.find((o) => o.status === "rejected");
    if (failed) {
        await Promise.all(workers.map((w) => w.worker.terminate()));
        throw failed.reason;
    }
    idle.push(...workers);
    const waiting = [];
    return {
        async run(feeds) {
            const w = idle.pop() ?? (await new Promise((resolve) => waiting.push(resolve)));
            try {
                return await w.send(feeds);
            } finally {
                const next = waiting.shift();
                if (next) next(w);
                else idle.push(w);
            }
        },
        async close() {
            // each worker releases its session first (no call is in flight: encodeChannels waits for them all)
            await Promise.allSettled(workers.map((w) => w.send("close")));
            await Promise.all(workers.map((w) => w.worker.terminate()));
        },
    };
}

/**
 * A tiled encode's features spilled to `path` while it runs (encodeChannels' storeTileFeatures: each tile's core
 * Gaussians, then their rows, in this machine's byte order) and gathered into one (count x K) array afterwards.
 * At 6 M Gaussians x K = 16 the fp16 array is 193 MB that the encode's peak (inside the largest tile's model call)
 * no longer holds. close() deletes the file.
 */
function featureSpill(path) {
    let fd = null;
    let position = 0;
    const tiles = [];
    return {
        store(gaussians, features) {
            fd ??= openSync(path, "w+");
            writeAt(fd, bytesOf(gaussians), position);
            writeAt(fd, bytesOf(features), position + gaussians.byteLength);
            position += gaussians.byteLength + features.byteLength;
            tiles.push(gaussians.length);
        },
        gather(count, k, Type) {
            const features = new Type(count * k);
            let at = 0;
            for (const n of tiles) {
                const gaussians = new Int32Array(n);
                readAt(fd, bytesOf(gaussians), at, path);
                const rows = new Type(n * k);
                readAt(fd, bytesOf(rows), at + gaussians.byteLength, path);
                at += gaussians.byteLength + rows.byteLength;
                for (let r = 0; r < n; r++) {
                    const to = gaussians[r] * k;
                    for (let c = 0; c < k; c++) features[to + c] = rows[r * k + c];
                }
            }
            return features;
        },
        close() {
            if (fd !== null) closeSync(fd);
            fd = null;
            rmSync(path, { force: true });
        },
    };
}

/** Writes `header` then `body` to `path` through a temporary name (`<path>.part`, renamed when complete), so a
 *  failed write never leaves half a file under the final name. */
function writeParts(path, { header, body }) {
    const temporary = `${path}.part`;
    const fd = openSync(temporary, "w");
    try {
        for (const part of [header, body]) {
            for (let done = 0; done < part.byteLength; ) done += writeSync(fd, part, done, part.byteLength - done);
        }
    } finally {
        closeSync(fd);
    }
    renameSync(temporary, path);
}

async function main() {
    const args = parseCommandLine(process.argv.slice(2));
    const malloc = mallocSetting(args);
    const lib = await import(new URL("../dist/node-encoder.js", import.meta.url).href).catch((e) => {
        throw new Error(`the package's dist/ is missing (run "npm run build" in a checkout): ${e.message.split("\n")[0]}`);
    });
    const ort = await importOrExplain("onnxruntime-node", "semantic-splat-encode");
    const { SPLATFileLoader } = await importOrExplain("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js", "reading scene files");
    const budgets = lib.resolveBudgets(args.read.budgets);

    // 1. the checked reading path (the browser loader's), then Babylon's own conversion to 32-byte rows, and the
    //    frame its loader gives the mesh (scaling.y = -1, and back for a right-handed PLY), so the features match
    //    what the browser computes for the same file.
    //    A PLY encoded to a sidecar is read in chunks (readPlyRowsInChunks): the file is never held whole.
    let sceneBytes = null;
    let scene = args.sidecar ? await readPlyRowsInChunks(args.scene, args.read, lib, SPLATFileLoader, { threads: args.threads ?? availableParallelism() }) : null;
    if (!scene) {
        sceneBytes = readFile(args.scene, "scene file", budgets.maxFileBytes, "maxFileBytes");
        scene = await lib.readSceneFile(new Uint8Array(ownBuffer(sceneBytes)), args.scene, args.read);
    }
    let rows;
    let flipY = -1;
    if (scene.rows) {
        rows = scene.rows;
        flipY = scene.flipY;
        scene.rows = null;
    } else if (scene.format === "ply") {
        ({ rows, flipY } = checkConvertedPly(await SPLATFileLoader._ConvertPLYToSplat(ownBuffer(scene.loaderBytes)), args.scene));
    } else if (scene.format === "splat") {
        rows = ownBuffer(scene.loaderBytes);
    } else if (scene.format === "spz" || scene.format === "spz-raw") {
        const { ParseSpz } = await importOrExplain("@babylonjs/loaders/SPLAT/spz.js", "reading SPZ files");
        rows = (await ParseSpz(ownBuffer(scene.spzStream), HEADLESS_SCENE)).data;
    } else if (scene.format === "spz-v4") {
        // the @adobe/spz WASM module the browser loader uses (spzLibraryUrl), then Babylon's own conversion
        const spzModule = await importOrExplain("@adobe/spz", "reading SPZ v4 files");
        const spz = await spzModule.default();
        let cloud;
        try {
            cloud = spz.loadSpzFromBuffer(new Uint8Array(scene.loaderBytes), { to: spz.CoordinateSystem.RUB });
        } catch (e) {
            throw Object.assign(new Error(`${args.scene}: the @adobe/spz module could not decode the file: ${e?.message ?? e}`), { code: "MALFORMED_FILE" });
        }
        if (!cloud || cloud.numPoints !== scene.count) {
            throw Object.assign(new Error(`${args.scene}: the @adobe/spz module decoded ${cloud?.numPoints ?? 0} Gaussians but the file declares ${scene.count} (damaged data)`), { code: "MALFORMED_FILE" });
        }
        const { ConvertSpzToSplatAsync } = await importOrExplain("@babylonjs/loaders/SPLAT/spz.js", "reading SPZ files");
        rows = (await ConvertSpzToSplatAsync(cloud, HEADLESS_SCENE)).data;
    } else {
        const hint = "SOG stores Gaussians in webp images, which Node cannot decode without a browser";
        throw Object.assign(
            new Error(`${args.scene}: the file is valid but the command cannot encode ${scene.format} (${hint}): load it in the browser with SemanticGaussianSplattingMesh and save the features with saveFeatureSidecar()`),
            { code: "UNSUPPORTED_FORMAT" }
        );
    }
    if (rows.byteLength !== scene.count * 32) {
        throw Object.assign(new Error(`${args.scene}: Babylon's parser read ${rows.byteLength / 32} Gaussians but the file declares ${scene.count}`), { code: "MALFORMED_FILE" });
    }
    if (scene.dropped > 0) process.stderr.write(`${args.scene}: dropped ${scene.dropped} invalid Gaussians (--invalid-gaussians drop)\n`);
    if (scene.labelsMapped > 0) process.stderr.write(`${args.scene}: mapped ${scene.labelsMapped} labels outside the class table to none (--invalid-labels none)\n`);
    const isPly = scene.format === "ply";
    if (!isPly && !args.sidecar && args.out?.toLowerCase().endsWith(".ply") !== true) args.sidecar = true; // other formats keep their file: sidecar
    if (!isPly && !args.sidecar) throw new UsageError("only a PLY scene can be written as a PLY: use --sidecar");
    const worldMatrix = [1, 0, 0, 0, 0, flipY, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const frameChoice = { frame: args.frame, upAxis: args.up, metresPerUnit: args.metresPerUnit, floorHeight: args.floorHeight };

    // 2. the model and its metadata (onnxruntime-node does not expose metadata props: read from the bytes)
    const modelBytes = readFile(args.model, "encoder model", budgets.maxModelBytes, "maxModelBytes");
    const header = lib.readOnnxModelHeader(new Uint8Array(modelBytes), args.model);
    const info = lib.encoderInfoFromMetadata(header.metadata, args.model);

    // 3. the feature cache beside the scene: its entry when it was written for these rows, model and options
    const cachePath = lib.semcacheFileName(args.scene);
    if (args.clearCache) rmSync(cachePath, { force: true });
    let cacheKey = null;
    let cached = null;
    const cacheStarted = performance.now();
    if (args.cache) {
        const modelSha256 = createHash("sha256").update(modelBytes).digest("hex");
        cacheKey = await lib.featureCacheKey({ rows, worldMatrix, encoderId: info.encoderId, encoderVersion: info.encoderVersion, modelSha256, frame: frameChoice, haloMetres: args.haloMetres });
        if (existsSync(cachePath)) {
            try {
                cached = lib.decodeSemcache(readFileSync(cachePath), cacheKey, cachePath, { count: rows.byteLength / 32 });
            } catch (e) {
                process.stderr.write(`ignoring the damaged cache ${cachePath} (${e.message}): encoding again\n`);
            }
        }
    }

    let result;
    let model = null;
    let frame;
    let timings;
    if (cached) {
        // reopened: no encode (fp16 features; a PLY gets them widened back to float32)
        rows = null;
        result = { features: args.sidecar ? cached.halfFeatures : lib.halfArrayToFloat32(cached.halfFeatures), count: cached.count, k: cached.featureDim, encoderId: cached.encoderId, tiles: 0 };
        frame = cached.sceneFrame ?? lib.noneFrame();
        timings = { frameMs: 0, channelsMs: 0, serializeMs: 0, inferenceMs: 0, outputMs: performance.now() - cacheStarted };
        process.stderr.write(`features from the cache ${cachePath}\n`);
    } else {
        // the frame and the encoder's 10 channels; then the rows (and, for a sidecar, the file) are dropped: memory
        // stays bounded by the per-Gaussian channels and features plus one tile (docs/ENCODER.md, "Large scenes: tiles")
        let input;
        try {
            input = lib.sceneChannels(rows, { worldMatrix, ...frameChoice });
        } catch (e) {
            if (e && typeof e.code === "string" && !e.message.startsWith(args.scene)) e.message = `${args.scene}: ${e.message}`;
            throw e;
        }
        rows = null;
        sceneBytes = null;
        if (args.sidecar) scene = null;

        // the model calls: in this thread, or (--concurrent-calls) in worker threads, each with its own session
        const totalThreads = args.threads ?? availableParallelism();
        const calls = args.concurrentCalls ?? (totalThreads >= 2 ? 2 : 1);
        const sessionThreads = calls > 1 ? Math.max(1, Math.floor(totalThreads / calls)) : args.threads;
        const sessionOptions = { enableCpuMemArena: true, enableMemPattern: false, ...(sessionThreads ? { intraOpNumThreads: sessionThreads } : {}) };
        model = calls > 1 ? await workerModel(modelBytes, sessionOptions, calls, args.model) : await openEncoderSession(ort, modelBytes, sessionOptions, args.model);

        // 4. encode; a tiled encode spills each tile's features to a file beside the output and they are gathered
        //    after it, when the channels and the tile structures are gone (no (count x K) array during the encode)
        // the tiles: as asked, or the largest that fit the memory budget (the whole scene when one call fits)
        let tiling = { tileGaussians: args.tileGaussians, fieldGaussians: args.fieldGaussians };
        if (args.tileGaussians === undefined && args.fieldGaussians === undefined) {
            // a semantic PLY is written from the scene file's bytes, which stay held during the encode
            const held = args.sidecar ? 0 : statSync(args.scene).size;
            const planned = lib.tilingForMemoryBudget(input.count, Math.max(1, args.memoryBudgetBytes - held), lib.NODE_MEMORY_MODEL, calls);
            tiling = { tileGaussians: planned.tileGaussians, fieldGaussians: planned.fieldGaussians };
            if (!planned.fits) {
                process.stderr.write(`warning: ${input.count} Gaussians need more than the ${(args.memoryBudgetBytes / 1e9).toFixed(2)} GB memory budget even in the smallest tiles (${planned.tileGaussians}): encoding with those\n`);
            }
        }
        const bar = progressBar(args.quiet);
        const spill = featureSpill(`${outputPath(args, lib)}.tiles.part`);
        try {
            result = await lib.encodeChannels(
                input.channels,
                input.count,
                info,
                model.run,
                { outputPrecision: args.sidecar ? "float16" : "float32", ...tiling, haloMetres: args.haloMetres, concurrentCalls: calls },
                { onProgress: (p) => bar.update(p), storeTileFeatures: spill.store }
            );
            bar.end();
            frame = input.frame;
            timings = { ...result.timings, frameMs: input.frameMs, channelsMs: input.channelsMs };
            input = null; // the channels are not needed for writing
            const gatherStarted = performance.now();
            if (!result.features) result.features = spill.gather(result.count, result.k, args.sidecar ? Uint16Array : Float32Array);
            timings.outputMs += performance.now() - gatherStarted;
        } catch (e) {
            bar.end();
            if (e && typeof e.code === "string" && !e.message.startsWith(args.scene)) e.message = `${args.scene}: ${e.message}`;
            throw e;
        } finally {
            spill.close();
            await model.close();
            model = null;
        }
        if (args.cache) {
            // header, then the fp16 features' own bytes: no copy of the features to write them
            writeParts(cachePath, lib.encodeSemcacheParts(cacheKey, { features: result.features, count: result.count, featureDim: result.k, encoderId: result.encoderId, sceneFrame: frame }, cachePath));
        }
    }

    // 4. write (to a temporary name first, so a failed write never leaves half a file under the final name)
    const out = outputPath(args, lib);
    if (args.sidecar) {
        // the sidecar's header, then the fp16 features' own bytes (a little-endian machine): no second copy
        writeParts(out, lib.encodeFeatureSidecarParts({ features: result.features, count: result.count, featureDim: result.k, encoderId: result.encoderId, sceneFrame: frame }, out));
    } else {
        const bytes = lib.writeSemanticPly(scene.sourcePly, basename(args.scene), {
            features: result.features,
            featureDim: result.k,
            // the frame the features were computed in: a saved scene does not need it estimated again
            comments: [`f_sem_* by ${result.encoderId} (${basename(args.model)})`, lib.SCENE_FRAME_COMMENT_PREFIX + lib.sceneFrameRecord(frame)],
        });
        writeParts(out, { header: bytes, body: new Uint8Array(0) });
    }
    const t = timings;
    const total = t.channelsMs + t.serializeMs + t.inferenceMs + t.outputMs;
    process.stderr.write(
        `${args.quiet ? "" : "\n"}frame (${frame.source}): ${lib.describeSceneFrame(frame)}\n` +
            `wrote ${out}: ${result.count} Gaussians x K=${result.k} (${result.encoderId}${result.tiles > 1 ? `, ${result.tiles} tiles, largest call ${result.largestTile}` : ""}); ` +
            (cached
                ? `no encode: read from the cache in ${(t.outputMs / 1000).toFixed(2)} s (key and file included)\n`
                : `encode ${((total + t.frameMs) / 1000).toFixed(2)} s (frame ${t.frameMs.toFixed(0)} ms, channels ${t.channelsMs.toFixed(0)} ms, serialization ${t.serializeMs.toFixed(0)} ms, model ${t.inferenceMs.toFixed(0)} ms)\n`) +
            `memory: peak RSS ${((process.resourceUsage().maxRSS * 1024) / 1e9).toFixed(2)} GB; malloc: ${malloc === "tuned" ? `GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : malloc}\n`
    );
}

main().catch(fail);
