// The worker's adapter probe and the "auto" execution provider choice (src/worker/adapterProbe.ts), without a
// worker: a requestAdapter() that never answers must end in a result naming the timeout (issue 15's hang), software
// adapters must get wasm, hardware ones WebGPU, and the real page adapter (SwiftShader here) must read as software.
import { chooseExecutionProvider, describeAdapter, isSoftwareAdapter, probeWebGpuAdapter, type AdapterDescription } from "../../src/worker/adapterProbe";

const hardware: AdapterDescription = { vendor: "nvidia", architecture: "ampere", device: "", description: "NVIDIA RTX A2000", isFallbackAdapter: false };
const swiftshader: AdapterDescription = { vendor: "google", architecture: "swiftshader", device: "", description: "SwiftShader Device (Subzero)", isFallbackAdapter: false };
const gpuAnswering = (adapter: unknown) => ({ requestAdapter: () => Promise.resolve(adapter) }) as unknown as Pick<GPU, "requestAdapter">;

describe("WebGPU adapter probe", () => {
    it("gives up on a requestAdapter() that never answers, after the timeout, and says so", async () => {
        const never = { requestAdapter: () => new Promise<never>(() => {}) } as unknown as Pick<GPU, "requestAdapter">;
        const start = performance.now();
        const result = await probeWebGpuAdapter(never, 200);
        const waited = performance.now() - start;
        expect(result.adapter).toBeNull();
        expect(result.software).toBeFalse();
        expect(result.problem).toContain("did not answer within 200 ms");
        expect(waited).toBeGreaterThanOrEqual(190);
        expect(waited).toBeLessThan(5000);
    });

    it("reports a missing navigator.gpu, a null adapter and a rejection as problems, never throwing", async () => {
        expect((await probeWebGpuAdapter(undefined, 100)).problem).toContain("no navigator.gpu");
        expect((await probeWebGpuAdapter(gpuAnswering(null), 100)).problem).toContain("returned no adapter");
        const failing = { requestAdapter: () => Promise.reject(new Error("boom")) } as unknown as Pick<GPU, "requestAdapter">;
        expect((await probeWebGpuAdapter(failing, 100)).problem).toContain("failed: boom");
    });

    it("reads the adapter info and marks software adapters (SwiftShader, the fallback flag, llvmpipe)", async () => {
        const hw = await probeWebGpuAdapter(gpuAnswering({ info: { ...hardware } }), 100);
        expect(hw.adapter).toEqual(hardware);
        expect(hw.software).toBeFalse();
        expect(hw.problem).toBeNull();
        expect((await probeWebGpuAdapter(gpuAnswering({ info: { ...swiftshader } }), 100)).software).toBeTrue();
        // the older place of the flag, on the adapter itself
        expect((await probeWebGpuAdapter(gpuAnswering({ info: { vendor: "x" }, isFallbackAdapter: true }), 100)).software).toBeTrue();
        expect(isSoftwareAdapter({ ...hardware, vendor: "mesa", description: "llvmpipe (LLVM 15.0.6, 256 bits)" })).toBeTrue();
        expect(isSoftwareAdapter({ ...hardware, isFallbackAdapter: true })).toBeTrue();
        expect(describeAdapter(swiftshader)).toBe("google swiftshader (SwiftShader Device (Subzero))");
    });

    it("finds this browser's adapter, SwiftShader, to be a software one", async () => {
        const result = await probeWebGpuAdapter(navigator.gpu, 60000);
        expect(result.problem).toBeNull();
        expect(result.software).withContext(JSON.stringify(result.adapter)).toBeTrue();
    });
});

describe("execution provider choice", () => {
    const found = (adapter: AdapterDescription) => ({ webgpuAdapter: true, softwareAdapter: isSoftwareAdapter(adapter), adapter, adapterProblem: null });
    const missing = { webgpuAdapter: false, softwareAdapter: false, adapter: null, adapterProblem: "navigator.gpu.requestAdapter() did not answer within 10000 ms" };

    it("auto: WebGPU on a hardware adapter, wasm on a software one or without an adapter, with the reason", () => {
        expect(chooseExecutionProvider("auto", found(hardware))).toEqual({ executionProvider: "webgpu", reason: "auto: webgpu, a hardware adapter (nvidia ampere (NVIDIA RTX A2000))" });
        const soft = chooseExecutionProvider("auto", found(swiftshader));
        expect(soft.executionProvider).toBe("wasm");
        expect(soft.reason).toContain("software one (google swiftshader");
        const none = chooseExecutionProvider("auto", missing);
        expect(none.executionProvider).toBe("wasm");
        expect(none.reason).toContain("did not answer within 10000 ms");
    });

    it("a forced provider is kept; forced WebGPU without an adapter is refused with the probe's reason", () => {
        expect(chooseExecutionProvider("webgpu", found(swiftshader)).executionProvider).toBe("webgpu");
        expect(chooseExecutionProvider("wasm", found(hardware)).executionProvider).toBe("wasm");
        const refused = chooseExecutionProvider("webgpu", missing);
        expect(refused.executionProvider).toBeNull();
        expect(refused.reason).toContain("did not answer within 10000 ms");
    });
});
