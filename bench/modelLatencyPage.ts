// The page of `npm run bench:models` (scripts/model-latency.mjs): times a VDVI model (the full one, kind "vdvi", or
// the RGB-only fallback, kind "vdvi-rgb", which reads no features) in the inference worker
// (InferenceClient, onnxruntime-web, wasm EP) on the input frames the script wrote (the same bytes Node times).
// Per run: the worker's session.run time (SegmentResult.timings.inferenceMs, comparable with Node's session.run)
// and the whole segment() call from the main thread (transfer to the worker, tensors, run, outputs back).
import { InferenceClient } from "../src/inference/InferenceClient";
import type { SegmentationModelKind } from "../src/worker/protocol";

export interface ModelLatencyRequest {
    modelUrl: string;
    sha256: string;
    /** "vdvi" (rgb + features) or "vdvi-rgb" (the RGB-only fallback: no features are fetched or sent). */
    kind: SegmentationModelKind;
    workerUrl: string;
    wasmUrl: string;
    /** undefined: the worker's default (2 when the page is cross-origin isolated, else 1). */
    numThreads?: number;
    k: number;
    frames: { width: number; height: number; rgbUrl: string; featuresUrl: string }[];
    warmup: number;
    runs: number;
}

export interface ModelLatencyResult {
    threads: number;
    crossOriginIsolated: boolean;
    executionProvider: string;
    sizes: { width: number; height: number; inferenceMs: number[]; callMs: number[] }[];
}

async function fetchFloats(url: string): Promise<Float32Array> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Float32Array(await response.arrayBuffer());
}

async function runBench(request: ModelLatencyRequest): Promise<ModelLatencyResult> {
    const client = new InferenceClient({
        workerUrl: request.workerUrl,
        wasmUrl: request.wasmUrl,
        numThreads: request.numThreads,
        callTimeoutMs: 0, // a loaded 2-core machine can be slow; this is a benchmark, not a frame loop
    });
    try {
        const init = await client.init();
        const info = await client.loadModel({ kind: request.kind, source: request.modelUrl, sha256: request.sha256, executionProvider: "wasm" });
        const sizes: ModelLatencyResult["sizes"] = [];
        for (const frame of request.frames) {
            const rgb = await fetchFloats(frame.rgbUrl);
            const features = request.kind === "vdvi-rgb" ? new Float32Array(0) : await fetchFloats(frame.featuresUrl);
            const inferenceMs: number[] = [];
            const callMs: number[] = [];
            for (let i = 0; i < request.warmup + request.runs; i++) {
                // segment() transfers (detaches) its inputs: hand it fresh copies, made outside the timed span
                const rgbCopy = rgb.slice();
                const featuresCopy = features.slice();
                const start = performance.now();
                const result = await client.segment(rgbCopy, featuresCopy, frame.width, frame.height, request.kind);
                const elapsed = performance.now() - start;
                if (result.labels.length !== frame.width * frame.height) throw new Error(`segment() returned ${result.labels.length} labels`);
                if (i < request.warmup) continue;
                inferenceMs.push(result.timings.inferenceMs);
                callMs.push(elapsed);
            }
            sizes.push({ width: frame.width, height: frame.height, inferenceMs, callMs });
        }
        return { threads: init.numThreads, crossOriginIsolated: init.crossOriginIsolated, executionProvider: info.executionProvider, sizes };
    } finally {
        client.dispose();
    }
}

(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
