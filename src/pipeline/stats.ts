// Rolling averages of the pipeline's stage times and of the main-thread time it adds per rendered frame.
import type { SegmentationModelKind } from "../worker/protocol";

/** Times of one segmentation tick, milliseconds. */
export interface SegmentationStageTimes {
    /** Main-thread time to record the feature pass's draws into the frame (GPU time is not measurable here). */
    featurePassMs: number;
    /** From the end of the frame that drew the pass to the raw render-target texels in main-thread memory: GPU
     *  finish, buffer mapping, and copying the mapped buffers out (that last part is main-thread work,
     *  `readbackCopyMs`). The unpacking into planar arrays happens in the worker (in `inferenceMs`). */
    readbackMs: number;
    /** Main thread: issuing the readback's GPU copies, then copying the mapped buffers into transferable arrays
     *  (part of `readbackMs`). */
    readbackCopyMs: number;
    /** The round trip to the worker minus the worker's own time: postMessage both ways, queueing. */
    transferMs: number;
    /** Main thread: posting the raw frame to the worker (its buffers are transferred, not copied; part of `transferMs`). */
    postMs: number;
    /** Time inside the worker: unpacking the raw frame, input tensors, onnxruntime's run, reading the outputs, the
     *  coverage mask. */
    inferenceMs: number;
    /** Main-thread work after the answer: the result object, the cached map, the overlay texture. */
    postprocessMs: number;
    /** All the main-thread work of this tick that the pipeline can time: featurePassMs + readbackCopyMs + postMs +
     *  postprocessMs (not comlink's handling of the answer message, see BENCHMARKS.md). */
    mainThreadMs: number;
    /** From the start of the feature pass's draws to the result being delivered. */
    totalMs: number;
}

export const STAGE_NAMES = ["featurePassMs", "readbackMs", "readbackCopyMs", "transferMs", "postMs", "inferenceMs", "postprocessMs", "mainThreadMs", "totalMs"] as const;

/** A fixed-size window of numbers and their mean. */
export class RollingAverage {
    private readonly values: number[] = [];
    private sum = 0;
    constructor(readonly window: number) {}
    push(value: number): void {
        this.values.push(value);
        this.sum += value;
        if (this.values.length > this.window) this.sum -= this.values.shift()!;
    }
    get count(): number {
        return this.values.length;
    }
    /** Mean of the window; 0 when empty. */
    get mean(): number {
        return this.values.length ? this.sum / this.values.length : 0;
    }
    /** Largest value in the window; 0 when empty. */
    get max(): number {
        return this.values.length ? Math.max(...this.values) : 0;
    }
}

export interface SegmentationStats {
    /** Ticks that delivered a result since creation. */
    ticks: number;
    /** Ticks that failed (their error went to onErrorObservable) since creation. */
    failures: number;
    /** Rendered frames seen since creation. */
    frames: number;
    /** The last tick's stage times, or null before the first. */
    last: SegmentationStageTimes | null;
    /** Which model made the last result: "vdvi" (rgb + features) or "vdvi-rgb" (the RGB-only fallback, used while
     *  the scene's features are not ready); null before the first. */
    lastModelKind: SegmentationModelKind | null;
    /** Ticks per model since creation. */
    ticksByModel: Record<SegmentationModelKind, number>;
    /** Means over the last `statsWindow` ticks. */
    average: SegmentationStageTimes;
    /** Mean main-thread time the pipeline added per rendered frame over the last `statsWindow` frames: its frame
     *  hooks (the feature pass's draws included), the readback copy, posting to the worker, its result handling. */
    mainThreadMsPerFrame: number;
    /** The largest such per-frame time in that window. */
    mainThreadMsPerFrameMax: number;
}

/** Collects stage times and per-frame main-thread time. */
export class StatsCollector {
    private readonly stages: Record<(typeof STAGE_NAMES)[number], RollingAverage>;
    private readonly perFrame: RollingAverage;
    private last: SegmentationStageTimes | null = null;
    private lastModelKind: SegmentationModelKind | null = null;
    private readonly ticksByModel: Record<SegmentationModelKind, number> = { vdvi: 0, "vdvi-rgb": 0 };
    private ticks = 0;
    private failures = 0;
    private frames = 0;
    /** Main-thread time accumulated since the last frame ended. */
    private frameWork = 0;

    constructor(window: number) {
        this.stages = Object.fromEntries(STAGE_NAMES.map((n) => [n, new RollingAverage(window)])) as StatsCollector["stages"];
        this.perFrame = new RollingAverage(window);
    }

    addTick(times: SegmentationStageTimes, modelKind: SegmentationModelKind = "vdvi"): void {
        this.last = times;
        this.lastModelKind = modelKind;
        this.ticksByModel[modelKind]++;
        this.ticks++;
        for (const name of STAGE_NAMES) this.stages[name].push(times[name]);
    }

    addFailure(): void {
        this.failures++;
    }

    /** Adds main-thread work done by the pipeline (counted into the frame that is being rendered or comes next). */
    addMainThreadWork(ms: number): void {
        this.frameWork += ms;
    }

    /** Closes the current frame's main-thread account. */
    endFrame(): void {
        this.frames++;
        this.perFrame.push(this.frameWork);
        this.frameWork = 0;
    }

    snapshot(): SegmentationStats {
        const average = Object.fromEntries(STAGE_NAMES.map((n) => [n, this.stages[n].mean])) as unknown as SegmentationStageTimes;
        return {
            ticks: this.ticks,
            failures: this.failures,
            frames: this.frames,
            last: this.last ? { ...this.last } : null,
            lastModelKind: this.lastModelKind,
            ticksByModel: { ...this.ticksByModel },
            average,
            mainThreadMsPerFrame: this.perFrame.mean,
            mainThreadMsPerFrameMax: this.perFrame.max,
        };
    }
}
