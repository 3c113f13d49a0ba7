// What the inference worker learns about WebGPU when it starts, and which execution provider "auto" picks from it.
// Pure functions (no onnxruntime, no Babylon): the worker calls them, and specs test them without a worker.
//
// Two things this module guards against (issue 15):
// - `navigator.gpu.requestAdapter()` in a worker can stay unanswered while the page floods the GPU process with
//   frames (an unpaced render loop on SwiftShader): the probe gives up after `timeoutMs`, records why, and the
//   worker falls back to the wasm EP instead of hanging its init.
// - onnxruntime's WebGPU EP on a software adapter (SwiftShader, a fallback adapter) is far slower than its wasm EP
//   (the first segmentation of the showcase room took about 100 s against about 3 s with wasm, issue 15), so "auto" picks wasm there.
import type { ExecutionProviderChoice } from "./protocol";

/** What the worker's adapter says about itself (`GPUAdapter.info`), in plain strings. */
export interface AdapterDescription {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    /** `GPUAdapterInfo.isFallbackAdapter` (or the older `GPUAdapter.isFallbackAdapter`): a software implementation. */
    isFallbackAdapter: boolean;
}

export interface AdapterProbeResult {
    /** The adapter found, or null (no navigator.gpu, no adapter, an error, or no answer in time). */
    adapter: AdapterDescription | null;
    /** True when the adapter is a software one (fallback flag, SwiftShader, llvmpipe/lavapipe, WARP). */
    software: boolean;
    /** Why there is no adapter (null when there is one). */
    problem: string | null;
}

/** Default time the worker waits for `requestAdapter()` before it runs models on wasm instead. */
export const DEFAULT_ADAPTER_TIMEOUT_MS = 10000;

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** True when the adapter is a CPU emulation of a GPU. */
export function isSoftwareAdapter(adapter: AdapterDescription): boolean {
    return adapter.isFallbackAdapter || SOFTWARE_ADAPTER.test(`${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`);
}

/** A short human text of an adapter, such as "google swiftshader (SwiftShader Device (Subzero))". */
export function describeAdapter(adapter: AdapterDescription): string {
    const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(" ") || "unnamed adapter";
    const details = [adapter.description || adapter.device, adapter.isFallbackAdapter ? "fallback adapter" : ""].filter(Boolean).join(", ");
    return details ? `${name} (${details})` : name;
}

type AdapterLike = { info?: Partial<Record<keyof AdapterDescription, unknown>>; isFallbackAdapter?: boolean };

function describe(adapter: AdapterLike): AdapterDescription {
    const info = adapter.info ?? {};
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    return {
        vendor: text(info.vendor),
        architecture: text(info.architecture),
        device: text(info.device),
        description: text(info.description),
        isFallbackAdapter: info.isFallbackAdapter === true || adapter.isFallbackAdapter === true,
    };
}

/**
 * Asks `gpu` for an adapter, waiting at most `timeoutMs` (0: no limit). Never rejects and never hangs longer than
 * the limit: every failure is a result with `adapter: null` and the reason in `problem`.
 */
export async function probeWebGpuAdapter(gpu: Pick<GPU, "requestAdapter"> | undefined | null, timeoutMs: number = DEFAULT_ADAPTER_TIMEOUT_MS): Promise<AdapterProbeResult> {
    const none = (problem: string): AdapterProbeResult => ({ adapter: null, software: false, problem });
    if (!gpu) return none("this context has no navigator.gpu");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = Symbol("timeout");
    try {
        const request = gpu.requestAdapter() as Promise<AdapterLike | null>;
        const waits: Promise<AdapterLike | null | typeof timedOut>[] = [request];
        if (timeoutMs > 0) waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve(timedOut), timeoutMs))));
        const adapter = await Promise.race(waits);
        if (adapter === timedOut) {
            request.catch(() => {}); // a late failure has no one to tell
            return none(`navigator.gpu.requestAdapter() did not answer within ${timeoutMs} ms (the GPU process is busy, e.g. with an unpaced render loop)`);
        }
        if (!adapter) return none("navigator.gpu.requestAdapter() returned no adapter");
        const description = describe(adapter);
        return { adapter: description, software: isSoftwareAdapter(description), problem: null };
    } catch (e) {
        return none(`navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
        clearTimeout(timer);
    }
}

/** The execution provider for a model load, and why, from the caller's choice and what the worker found. */
export function chooseExecutionProvider(
    choice: ExecutionProviderChoice,
    probe: { webgpuAdapter: boolean; softwareAdapter: boolean; adapter: AdapterDescription | null; adapterProblem: string | null }
): { executionProvider: "webgpu" | "wasm"; reason: string } | { executionProvider: null; reason: string } {
    if (choice === "wasm") return { executionProvider: "wasm", reason: 'executionProvider "wasm" was asked for' };
    if (choice === "webgpu") {
        if (!probe.webgpuAdapter) return { executionProvider: null, reason: `executionProvider "webgpu" was forced, but the worker has no WebGPU adapter: ${probe.adapterProblem ?? "none found"}` };
        return { executionProvider: "webgpu", reason: `executionProvider "webgpu" was asked for (adapter: ${describeAdapter(probe.adapter!)})` };
    }
    if (!probe.webgpuAdapter) return { executionProvider: "wasm", reason: `auto: wasm, the worker has no WebGPU adapter (${probe.adapterProblem ?? "none found"})` };
    if (probe.softwareAdapter) return { executionProvider: "wasm", reason: `auto: wasm, the WebGPU adapter is a software one (${describeAdapter(probe.adapter!)}), where wasm is much faster` };
    return { executionProvider: "webgpu", reason: `auto: webgpu, a hardware adapter (${describeAdapter(probe.adapter!)})` };
}
