// Stand-in per-Gaussian features for a scene that has none when no Gaussian encoder is shipped (or it failed): the
// encoder's own 10 input channels (ARCHITECTURE.md contract 2: position, colour, opacity, log scales), each
// standardised over the scene. They carry no learned semantics (they are the "raw channels" baseline of issue 5's
// probe), but they let the feature pass and the feature view run on any scene, so a person can see the feature
// image pipeline work. The page says which source the features came from.
import type { SemanticGaussianSplattingMesh } from "../src/mesh";

export const STAND_IN_CHANNELS = ["x", "y", "z", "r", "g", "b", "opacity", "log_sx", "log_sy", "log_sz"] as const;
export const STAND_IN_ENCODER_ID = "stand-in:raw-channels";

/** Babylon's 32-byte splat rows: float32 position (0..11), float32 scale (12..23), rgba8 (24..27), rotation8. */
const ROW_BYTES = 32;

/** [count x 10] standardised channels from the mesh's splat data (kept in RAM, the mesh's default). */
export function standInFeatures(mesh: SemanticGaussianSplattingMesh): Float32Array {
    const data = mesh.splatsData;
    if (!data) throw new Error(`${mesh.name}: the splat data was not kept in RAM, so no stand-in features can be made`);
    const buffer = ArrayBuffer.isView(data) ? data.buffer : data;
    const offset = ArrayBuffer.isView(data) ? data.byteOffset : 0;
    const count = Math.floor(data.byteLength / ROW_BYTES);
    const f32 = new Float32Array(buffer, offset, count * 8);
    const u8 = new Uint8Array(buffer, offset, count * ROW_BYTES);
    const K = STAND_IN_CHANNELS.length;
    const out = new Float32Array(count * K);
    for (let i = 0; i < count; i++) {
        const o = i * K;
        out[o] = f32[8 * i];
        out[o + 1] = f32[8 * i + 1];
        out[o + 2] = f32[8 * i + 2];
        out[o + 3] = u8[ROW_BYTES * i + 24] / 255;
        out[o + 4] = u8[ROW_BYTES * i + 25] / 255;
        out[o + 5] = u8[ROW_BYTES * i + 26] / 255;
        out[o + 6] = u8[ROW_BYTES * i + 27] / 255;
        for (let a = 0; a < 3; a++) out[o + 7 + a] = Math.log(Math.max(f32[8 * i + 3 + a], 1e-8));
    }
    // Standardise each channel (mean 0, unit variance), clamped to +-8 so a far outlier cannot leave fp16 range.
    for (let k = 0; k < K; k++) {
        let sum = 0;
        let sumSq = 0;
        for (let i = 0; i < count; i++) {
            const v = out[i * K + k];
            sum += v;
            sumSq += v * v;
        }
        const mean = sum / count;
        const std = Math.sqrt(Math.max(sumSq / count - mean * mean, 0)) || 1;
        for (let i = 0; i < count; i++) out[i * K + k] = Math.max(-8, Math.min(8, (out[i * K + k] - mean) / std));
    }
    return out;
}
