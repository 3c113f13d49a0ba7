// The pure part of `npm run bench:models` (scripts/model-latency.mjs): command-line parsing, choosing the model files
// (models/manifest.json or --model paths), and the benchmark's synthetic VDVI inputs. No onnxruntime, no browser,
// so test/bin/modelLatency.test.mjs can check it quickly.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

export const USAGE = `usage: node scripts/model-latency.mjs [--model <file.onnx>]... [--manifest models/manifest.json]
       [--runs 10] [--warmup 2] [--sizes 320x256,640x480] [--node-threads N] [--browser-threads N]
       [--only node|browser] [--no-encoder] [--encoder-runs 3]
Times the VDVI model(s) at each size in onnxruntime-node (CPU EP) and in the browser inference worker
(onnxruntime-web, wasm EP), and the encoder (scripts/encode-bench.mjs on the showcase room). Without --model it
benchmarks the manifest's vdvi entries (fp32 and fp16), its vdvi-rgb fallback and its encoder entry. --only limits the VDVI timing; the
encoder bench always runs both (skip it with --no-encoder). Every run's figure goes to build/model-latency/results.json.`;

/** A usage error: the script prints it with USAGE and exits 2. */
export class UsageError extends Error {
    constructor(message) {
        super(message);
        this.name = "UsageError";
    }
}

function positiveInteger(name, text) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
    return value;
}

/** "320x256,640x480" -> [{ width: 320, height: 256 }, ...]; VDVI needs multiples of 32 (its size_multiple). */
export function parseSizes(text) {
    const sizes = [];
    for (const part of text.split(",")) {
        const m = /^(\d+)x(\d+)$/.exec(part.trim());
        if (!m) throw new UsageError(`--sizes: "${part}" is not WIDTHxHEIGHT (e.g. 640x480)`);
        const width = Number(m[1]);
        const height = Number(m[2]);
        if (width < 32 || height < 32 || width % 32 || height % 32) {
            throw new UsageError(`--sizes: ${width}x${height} must be multiples of 32, at least 32 (the VDVI encoder-decoder's size_multiple)`);
        }
        sizes.push({ width, height });
    }
    return sizes;
}

/** Parses argv (without node and the script). Throws UsageError on anything it does not understand. */
export function parseArgs(argv) {
    const options = {
        models: [],
        manifest: "models/manifest.json",
        runs: 10,
        warmup: 2,
        sizes: parseSizes("320x256,640x480"),
        nodeThreads: null, // null: the script uses os.availableParallelism()
        browserThreads: null, // null: the worker's default (2 when cross-origin isolated, else 1)
        only: null,
        encoder: true,
        encoderRuns: 3,
        help: false,
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) throw new UsageError(`${arg} needs a value`);
            return argv[++i];
        };
        switch (arg) {
            case "--model": options.models.push(value()); break;
            case "--manifest": options.manifest = value(); break;
            case "--runs": options.runs = positiveInteger("runs", value()); break;
            case "--warmup": {
                const text = value();
                options.warmup = Number(text);
                if (!Number.isInteger(options.warmup) || options.warmup < 0) throw new UsageError(`--warmup must be a non-negative integer, got "${text}"`);
                break;
            }
            case "--sizes": options.sizes = parseSizes(value()); break;
            case "--node-threads": options.nodeThreads = positiveInteger("node-threads", value()); break;
            case "--browser-threads": options.browserThreads = positiveInteger("browser-threads", value()); break;
            case "--only": {
                const where = value();
                if (where !== "node" && where !== "browser") throw new UsageError(`--only must be node or browser, got "${where}"`);
                options.only = where;
                break;
            }
            case "--no-encoder": options.encoder = false; break;
            case "--encoder-runs": options.encoderRuns = positiveInteger("encoder-runs", value()); break;
            case "--help": case "-h": options.help = true; break;
            default: throw new UsageError(`unknown argument "${arg}"`);
        }
    }
    return options;
}

const PRECISION_ORDER = { fp32: 0, fp16: 1 };

/**
 * The models to time. With --model paths: those files, kind and precision from their ONNX metadata (`header` reads
 * it: (path) => { kind, precision, k }). Otherwise the manifest's entries: every "vdvi" entry (fp32 before fp16),
 * then every "vdvi-rgb" entry (the RGB-only fallback), and the first "encoder" entry (fp32 preferred), each checked against the manifest's size and SHA-256 so the
 * figures belong to the file the manifest describes. Returns [{ path, kind, precision, source }].
 */
export function selectModels(options, header, repo = process.cwd()) {
    if (options.models.length) {
        return options.models.map((file) => {
            const path = resolve(repo, file);
            if (!existsSync(path)) throw new UsageError(`--model ${file}: no such file`);
            const meta = header(path);
            if (meta.kind !== "vdvi" && meta.kind !== "vdvi-rgb" && meta.kind !== "encoder") {
                throw new UsageError(`--model ${file}: its metadata kind is "${meta.kind ?? "(none)"}", not vdvi, vdvi-rgb or encoder`);
            }
            return { path, kind: meta.kind, precision: meta.precision ?? "fp32", source: "--model" };
        });
    }
    const manifestPath = resolve(repo, options.manifest);
    if (!existsSync(manifestPath)) throw new UsageError(`${options.manifest}: no such manifest (pass --model <file.onnx>)`);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (manifest.format !== "semantic-splat-models/1" || !Array.isArray(manifest.models)) {
        throw new UsageError(`${options.manifest}: not a semantic-splat-models/1 manifest (docs/MODELS.md)`);
    }
    const folder = dirname(manifestPath);
    const entries = manifest.models;
    const vdvi = entries
        .filter((e) => e.kind === "vdvi")
        .sort((a, b) => (PRECISION_ORDER[a.precision ?? "fp32"] ?? 2) - (PRECISION_ORDER[b.precision ?? "fp32"] ?? 2));
    if (!vdvi.length) {
        throw new UsageError(`${options.manifest} lists no vdvi model (kinds: ${entries.map((e) => e.kind).join(", ") || "none"}); pass --model <vdvi.onnx>`);
    }
    const encoders = entries.filter((e) => e.kind === "encoder");
    const encoder = encoders.find((e) => (e.precision ?? "fp32") === "fp32") ?? encoders[0];
    const fallbacks = entries.filter((e) => e.kind === "vdvi-rgb");
    const segmenters = [...vdvi, ...fallbacks];
    const chosen = options.encoder && encoder ? [...segmenters, encoder] : segmenters;
    return chosen.map((entry) => {
        const path = join(folder, entry.file);
        if (!existsSync(path)) throw new UsageError(`${options.manifest} lists ${entry.file}, which is not in ${folder}`);
        const bytes = statSync(path).size;
        if (bytes !== entry.bytes) throw new UsageError(`${entry.file} has ${bytes} bytes, the manifest says ${entry.bytes}`);
        const sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
        if (sha256 !== entry.sha256) throw new UsageError(`${entry.file}: SHA-256 ${sha256} differs from the manifest's ${entry.sha256}`);
        return { path, kind: entry.kind, precision: entry.precision ?? "fp32", source: `${basename(folder)}/manifest.json` };
    });
}

/** mulberry32: a small seeded PRNG, so Node and the browser time the very same input bytes on every run. */
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/**
 * A frame shaped like what the feature splat pass hands the model (contract 3): a room-like picture of REGIONS
 * Voronoi cells, each with its own colour and its own unit-length K-vector, shaded and with noise, and a background
 * corner (no Gaussians: rgb 0, features 0). Planar [3,H,W] and [K,H,W] float32. A dense CNN's latency does not
 * depend on the values; non-constant inputs only make sure no constant-input shortcut (denormals, folding) skews it.
 */
export function syntheticFrame(width, height, k, seed = 1) {
    const random = prng(seed);
    const REGIONS = 24;
    const seeds = Array.from({ length: REGIONS }, () => ({
        x: random() * width,
        y: random() * height,
        rgb: [random(), random(), random()],
        feature: (() => {
            const v = Array.from({ length: k }, () => random() * 2 - 1);
            const norm = Math.hypot(...v) || 1;
            return v.map((x) => x / norm);
        })(),
    }));
    const pixels = width * height;
    const rgb = new Float32Array(3 * pixels);
    const features = new Float32Array(k * pixels);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const p = y * width + x;
            // the bottom-right corner past a diagonal is empty background
            if (x / width + y / height > 1.75) continue;
            let best = 0;
            let bestD = Infinity;
            for (let s = 0; s < REGIONS; s++) {
                const d = (seeds[s].x - x) ** 2 + (seeds[s].y - y) ** 2;
                if (d < bestD) {
                    bestD = d;
                    best = s;
                }
            }
            const region = seeds[best];
            const shade = 0.6 + 0.4 * (1 - y / height);
            for (let c = 0; c < 3; c++) rgb[c * pixels + p] = Math.min(1, Math.max(0, region.rgb[c] * shade + (random() - 0.5) * 0.05));
            for (let c = 0; c < k; c++) features[c * pixels + p] = region.feature[c] + (random() - 0.5) * 0.02;
        }
    }
    return { rgb, features };
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(values) {
    if (!values.length) throw new Error("median of nothing");
    const s = [...values].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
