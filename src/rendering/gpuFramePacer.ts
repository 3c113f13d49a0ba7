// Paces Babylon's render loop by the GPU: a frame starts only once the GPU has finished the frames before it.
//
// Why (issue 15): on a GPU that does not throttle requestAnimationFrame (SwiftShader, a CPU emulation), an unpaced
// `engine.runRenderLoop` submits a frame at every animation frame although each takes the GPU process ~0.4 s; the
// backlog grows without bound and everything else that needs the GPU process waits behind it. The inference
// worker's `navigator.gpu.requestAdapter()` then never answered: its init timed out after 30 s, or 240 s, and the
// demo said "Segmentation is off". With the pacer the GPU process has at most `maxFramesInFlight` frames queued, so
// the worker's requests get through. A backlog queued BEFORE the pacer was acquired still has to drain: hence the
// mesh acquires it when it is created, before it draws anything. On a real GPU (default limit 2, double buffering),
// whose frames finish within the display's refresh, it changes nothing.
//
// How: Babylon's WebGPUEngine has `maxFramesInFlight` (0: no limit); a frame over the limit is not started, and the
// loop asks again at the next animation frame. The pacer sets it while anyone holds the pacer of an engine
// (`GpuFramePacer.Acquire`, reference-counted: every SemanticGaussianSplattingMesh and segmentation pipeline holds it
// while it lives, so the loop is paced from the first frame that draws a semantic mesh) and
// restores the engine's own value when the last holder releases it. An app that set its own limit keeps it.
// WebGL engines are left alone (`active` false): GL drivers block the loop by themselves.
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import { SemanticSplatError } from "../errors";
import { isSoftwareAdapter } from "../worker/adapterProbe";

/** What the pacer needs of an engine: WebGPUEngine's frame limit (and its adapter, for the default). */
type PaceableEngine = AbstractEngine & { maxFramesInFlight?: number; _adapter?: { info?: Record<string, unknown>; isFallbackAdapter?: boolean } };

export interface GpuFramePacerOptions {
    /** Frames the GPU may have in flight when a frame starts, that frame included. Default: 1 on a software adapter
     *  (SwiftShader: a frame starts once the GPU has finished the previous one), 2 on a hardware GPU (the usual
     *  double buffering: the CPU records a frame while the GPU draws the last). Applied only when the engine has no
     *  limit of its own; the first holder's value counts. */
    maxFramesInFlight?: number;
}

/** The default limit for `engine`: 1 on a software adapter, 2 otherwise. */
export function defaultMaxFramesInFlight(engine: AbstractEngine): number {
    const adapter = (engine as PaceableEngine)._adapter;
    const info = adapter?.info ?? {};
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    const software = isSoftwareAdapter({
        vendor: text(info.vendor),
        architecture: text(info.architecture),
        device: text(info.device),
        description: text(info.description),
        isFallbackAdapter: info.isFallbackAdapter === true || adapter?.isFallbackAdapter === true,
    });
    return software ? 1 : 2;
}

const pacers = new WeakMap<AbstractEngine, GpuFramePacer>();

export class GpuFramePacer {
    private holders = 0;
    /** The engine's limit before the pacer set one (restored on release), or null when the pacer did not set it. */
    private previous: number | null = null;
    private applied = 0;

    private constructor(readonly engine: AbstractEngine) {}

    /**
     * The pacer of `engine`, held once more: the loop is paced from now on. Call `release()` once per `Acquire`.
     * Any engine is accepted; engines without a frame limit (WebGL) are simply not paced.
     */
    static Acquire(engine: AbstractEngine, options: GpuFramePacerOptions = {}): GpuFramePacer {
        const limit = options.maxFramesInFlight ?? defaultMaxFramesInFlight(engine);
        if (!Number.isInteger(limit) || limit < 1) throw new SemanticSplatError("INVALID_ARGUMENT", `GpuFramePacer: maxFramesInFlight must be a positive integer, got ${limit}`);
        let pacer = pacers.get(engine);
        if (!pacer) {
            pacer = new GpuFramePacer(engine);
            pacers.set(engine, pacer);
        }
        pacer.hold(limit);
        return pacer;
    }

    /** True when the engine's render loop is paced by this pacer (a WebGPU engine whose limit the pacer set). */
    get active(): boolean {
        return this.previous !== null && this.holders > 0;
    }

    /** How many holders the pacer has. */
    get holderCount(): number {
        return this.holders;
    }

    /** Lets go of one hold; the last one restores the engine's own limit. Extra calls do nothing. */
    release(): void {
        if (this.holders === 0) return;
        this.holders--;
        if (this.holders > 0) return;
        const engine = this.engine as PaceableEngine;
        if (this.previous !== null && engine.maxFramesInFlight === this.applied) engine.maxFramesInFlight = this.previous;
        this.previous = null;
        pacers.delete(this.engine);
    }

    private hold(maxFramesInFlight: number): void {
        this.holders++;
        if (this.holders > 1) return;
        const engine = this.engine as PaceableEngine;
        // Only WebGPU engines have the limit; and an app's own limit wins.
        if (typeof engine.maxFramesInFlight !== "number" || engine.maxFramesInFlight > 0) return;
        this.previous = engine.maxFramesInFlight;
        this.applied = maxFramesInFlight;
        engine.maxFramesInFlight = maxFramesInFlight;
    }
}
