// The ~1 M-Gaussian input of the frame benchmark: a scene's 32-byte splat rows repeated `copies` times, each copy
// shifted by 0.1 mm in x (so no two rows are identical). Shared by the Node side (scripts/frame-bench.mjs, through
// its own copy of these few lines) and the page.
export function repeatRows(rows: Uint8Array, copies: number): Uint8Array {
    const out = new Uint8Array(rows.byteLength * copies);
    for (let c = 0; c < copies; c++) out.set(rows, c * rows.byteLength);
    const view = new DataView(out.buffer);
    for (let c = 1; c < copies; c++) {
        for (let o = c * rows.byteLength; o < (c + 1) * rows.byteLength; o += 32) view.setFloat32(o, view.getFloat32(o, true) + 1e-4 * c, true);
    }
    return out;
}
