// releaseBuffers (src/util/releaseBuffers.ts): frees owned arrays at once by detaching their buffers.
import { releaseBuffers } from "../../src/util/releaseBuffers";

describe("releaseBuffers", () => {
    it("detaches the buffers of owned arrays (every view reads as empty), once, and skips shared memory and nulls", () => {
        const a = new Float32Array(1000).fill(1);
        const view = new Uint8Array(a.buffer, 8, 16);
        const b = new ArrayBuffer(64);
        releaseBuffers(a, b, null, undefined);
        expect(a.length).toBe(0);
        expect(view.length).toBe(0);
        expect(b.byteLength).toBe(0);
        expect((a.buffer as ArrayBuffer & { detached: boolean }).detached).toBeTrue();
        releaseBuffers(a, view); // already detached: nothing to do, no error
        if (typeof SharedArrayBuffer !== "undefined" && crossOriginIsolated) {
            const shared = new Int32Array(new SharedArrayBuffer(64));
            releaseBuffers(shared);
            expect(shared.length).toBe(16);
        }
    });
});
