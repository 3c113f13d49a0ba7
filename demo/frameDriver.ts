// Who renders frames. For people: Babylon's render loop (requestAnimationFrame). In `?test` mode: frames are
// rendered on demand and each one waits for the GPU queue, because on SwiftShader requestAnimationFrame is not
// throttled by the GPU and the render loop builds a backlog of frames that takes minutes to drain
// (../shared/ENVIRONMENT.md). Page code that needs frames to happen (a feature image, a segmentation) awaits
// `until(promise)`: in test mode it steps frames until the promise settles; otherwise the render loop runs anyway.
import type { AbstractEngine } from "@babylonjs/core/Engines/abstractEngine";
import type { Scene } from "@babylonjs/core/scene";

export class FrameDriver {
    /** Frames rendered by the driver (both modes). */
    framesRendered = 0;
    private stepping: Promise<void> = Promise.resolve();
    private lastFrameEnd = 0;
    /** Rolling mean of frame-to-frame time in on-demand mode (ms); the engine's fps is meaningless there. */
    private stepMs = 0;

    constructor(
        private readonly engine: AbstractEngine,
        private readonly scene: Scene,
        readonly onDemand: boolean
    ) {}

    start(): void {
        if (this.onDemand) return;
        this.engine.runRenderLoop(() => {
            if (this.scene.activeCamera) {
                this.scene.render();
                this.framesRendered++;
            }
        });
    }

    /** Frames per second: Babylon's measure with the render loop, the stepped frames' rate in test mode. */
    get fps(): number {
        if (!this.onDemand) return this.engine.getFps();
        return this.stepMs > 0 ? 1000 / this.stepMs : 0;
    }

    /** Renders `count` frames now (test mode), each after the GPU finished the previous one; in render-loop mode
     *  it waits for `count` frames of the loop. */
    renderFrames(count = 1): Promise<void> {
        if (!this.onDemand) {
            return new Promise((resolve) => {
                let left = count;
                const observer = this.scene.onAfterRenderObservable.add(() => {
                    if (--left <= 0) {
                        this.scene.onAfterRenderObservable.remove(observer);
                        resolve();
                    }
                });
            });
        }
        // Serialise: two callers never interleave half-finished frames.
        const done = this.stepping.then(async () => {
            for (let i = 0; i < count; i++) await this.stepOnce();
        });
        this.stepping = done.catch(() => undefined); // one failed frame must not block later ones
        return done;
    }

    /**
     * Renders one frame and reads the canvas's pixels inside it (RGBA8, rows top to bottom): a WebGPU canvas's
     * texture is gone once the frame is presented, so the read is recorded before endFrame. With the render loop
     * running, the frame is the loop's next one.
     */
    renderAndReadPixels(): Promise<{ data: Uint8Array; width: number; height: number }> {
        const width = this.engine.getRenderWidth();
        const height = this.engine.getRenderHeight();
        let read!: Promise<ArrayBufferView>;
        const inFrame = () => {
            read = this.engine.readPixels(0, 0, width, height);
        };
        let rendered: Promise<void>;
        if (!this.onDemand) {
            rendered = new Promise((resolve) => this.scene.onAfterRenderObservable.addOnce(() => (inFrame(), resolve())));
        } else {
            rendered = this.stepping.then(() => this.stepOnce(inFrame));
            this.stepping = rendered.catch(() => undefined);
        }
        return rendered.then(async () => {
            const view = await read;
            let data = new Uint8Array(view.buffer, view.byteOffset, width * height * 4).slice();
            // WebGL reads rows bottom to top; WebGPU top to bottom.
            if (!(this.engine as { isWebGPU?: boolean }).isWebGPU) {
                const flipped = new Uint8Array(data.length);
                for (let y = 0; y < height; y++) flipped.set(data.subarray(y * width * 4, (y + 1) * width * 4), (height - 1 - y) * width * 4);
                data = flipped;
            }
            return { data, width, height };
        });
    }

    /** Resolves with `promise`; in test mode renders frames until it settles (at most `maxFrames`). */
    async until<T>(promise: Promise<T>, maxFrames = 2000): Promise<T> {
        if (!this.onDemand) return promise;
        let settled = false;
        const tracked = promise.finally(() => (settled = true));
        for (let i = 0; i < maxFrames && !settled; i++) {
            await this.renderFrames(1);
            // Let readbacks and worker answers land before deciding whether another frame is needed.
            await new Promise((r) => setTimeout(r, 0));
        }
        return tracked;
    }

    private async stepOnce(inFrame?: () => void): Promise<void> {
        const engine = this.engine as AbstractEngine & { _device?: GPUDevice };
        if (this.scene.activeCamera) {
            engine.beginFrame();
            this.scene.render();
            inFrame?.();
            engine.endFrame();
            this.framesRendered++;
        }
        if (engine._device) await engine._device.queue.onSubmittedWorkDone();
        else await new Promise((r) => setTimeout(r, 0));
        const now = performance.now();
        if (this.lastFrameEnd) this.stepMs = this.stepMs ? 0.8 * this.stepMs + 0.2 * (now - this.lastFrameEnd) : now - this.lastFrameEnd;
        this.lastFrameEnd = now;
    }
}
