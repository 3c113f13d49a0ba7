// Freeing large typed arrays now instead of at the next garbage collection. A worker that has finished with half a
// gigabyte of arrays keeps them resident until V8 happens to collect them, or until the browser has torn the worker
// down after terminate(), which takes seconds at that size; meanwhile the page allocates the scene's features, and
// both count at the tab's peak (BENCHMARKS.md, "Large scenes in the browser").

type Detachable = ArrayBuffer & { transfer?: (newLength?: number) => ArrayBuffer; readonly detached?: boolean };

/**
 * Detaches each buffer, or the ArrayBuffer of each array, with `ArrayBuffer.prototype.transfer(0)` (ES2024: the contents move to a new
 * empty buffer, so the old memory is freed at once). Every view of those buffers then reads as empty. Shared memory,
 * buffers already detached and engines without `transfer` (Node 20) are left to the garbage collector. Only for
 * arrays the caller owns entirely: never one that a caller of the caller may still read.
 */
export function releaseBuffers(...arrays: Array<ArrayBufferView | ArrayBufferLike | null | undefined>): void {
    for (const array of arrays) {
        const buffer = (array && ArrayBuffer.isView(array) ? array.buffer : array) as Detachable | null | undefined;
        if (!buffer || typeof buffer.transfer !== "function" || buffer.detached) continue;
        if (typeof SharedArrayBuffer !== "undefined" && (buffer as ArrayBufferLike) instanceof SharedArrayBuffer) continue;
        buffer.transfer(0);
    }
}
