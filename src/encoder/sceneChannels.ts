// Babylon's splat rows -> the encoder's input frame (ARCHITECTURE.md contract 2): 10 float32 channels per Gaussian
// [x, y, z, r, g, b, opacity, log_sx, log_sy, log_sz], metres, +Y up. Pure TypeScript (no Babylon, no onnxruntime):
// the worker and the Node command run the same conversion, so both encoders see identical inputs.
//
// Babylon keeps a loaded scene as 32-byte rows (GaussianSplattingMesh.splatsData): position float32 x3 (mesh-local),
// scale float32 x3 (linear, exp of the file's log-scale), colour uint8 x4 (r, g, b = (0.5 + SH_C0 * f_dc) * 255,
// a = sigmoid(opacity) * 255) and the rotation quaternion as uint8 x4. Its PLY/.splat/.spz/SOG loaders flip the
// file's Y (mesh.scaling.y = -1), so the mesh's WORLD matrix is what turns file coordinates into the +Y-up scene
// frame; it must be applied here.
import { SemanticSplatError } from "../errors";
import { INPUT_CHANNELS } from "./serialization";
import { estimateSceneFrameFromSplatRows } from "../frame/estimateSceneFrame";
import { checkFrameMode, explicitFrame, hasExplicitFrame, noneFrame, type SceneFrame, type SceneFrameChoice } from "../frame/sceneFrame";

/** Bytes per Babylon splat row. */
export const SPLAT_ROW_BYTES = 32;

export type { UpAxis } from "../frame/sceneFrame";

export interface SceneFrameOptions extends SceneFrameChoice {
    /** Babylon's world matrix of the mesh (Matrix.m order, row vectors: world = [x y z 1] * M). Default: identity. */
    worldMatrix?: ArrayLike<number>;
}

/** The 3DGS log-scale floor for a zero scale (log of the smallest normal float32), as in formats/plyWriter. */
const MIN_LOG_SCALE = Math.log(1.1754943508222875e-38);

/**
 * The frame the encoder input uses (docs/FRAME.md): explicit fields when the caller gives any (they always win),
 * the old defaults for `frame: "none"`, otherwise the estimate from the Gaussians (`frame: "auto"`, the default;
 * its documented fallback is the old defaults too).
 */
export function resolveSceneFrame(rows: ArrayBuffer | ArrayBufferView, options: SceneFrameOptions = {}): SceneFrame {
    const mode = checkFrameMode(options.frame);
    if (hasExplicitFrame(options)) return explicitFrame(options);
    if (mode === "none") return noneFrame();
    return estimateSceneFrameFromSplatRows(rows, { worldMatrix: options.worldMatrix });
}

/**
 * Converts `count` Babylon splat rows to the encoder's 10 input channels (contract 2).
 * The frame comes from resolveSceneFrame (or `frame` when the caller resolved it already). Positions: world
 * matrix, then the frame's rotation, then metres, then minus the floor height from y. Log-scales: the Gaussian's own axes, shifted by
 * log of the transform's uniform scale (cube root of |det|: the PLY loader's y flip changes nothing) and of the
 * units. Colour and opacity: Babylon's bytes / 255 (Babylon clamps rgb to [0, 1] when it loads, as contract 2 asks).
 * Non-finite values are kept: serializeScene names the first bad Gaussian (INVALID_ARGUMENT).
 */
export function splatRowsToChannels(
    rows: ArrayBuffer | ArrayBufferView,
    options: SceneFrameOptions = {},
    what = "splat data",
    frame?: SceneFrame
): { channels: Float32Array; count: number; frame: SceneFrame } {
    const bytes = rows instanceof ArrayBuffer ? new Uint8Array(rows) : new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    if (bytes.byteLength % SPLAT_ROW_BYTES !== 0) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `${what}: ${bytes.byteLength} bytes is not a whole number of ${SPLAT_ROW_BYTES}-byte splat rows`);
    }
    const count = bytes.byteLength / SPLAT_ROW_BYTES;
    const m = options.worldMatrix ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    if (m.length !== 16 || !Array.from(m).every(Number.isFinite)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `${what}: worldMatrix must be 16 finite numbers`);
    }
    const resolved = frame ?? (count > 0 ? resolveSceneFrame(rows, options) : hasExplicitFrame(options) ? explicitFrame(options) : noneFrame());
    const metres = resolved.metresPerUnit;
    const r = resolved.rotation;
    const floor = resolved.floorHeight;
    // Linear part A (row-vector convention: world_j = sum_i p_i m[4i + j]) composed with R, times metres.
    const t = new Float64Array(12);
    for (let j = 0; j < 3; j++) {
        for (let i = 0; i < 4; i++) {
            let s = 0;
            for (let k = 0; k < 3; k++) s += m[4 * i + k] * r[3 * j + k];
            t[4 * j + i] = s * metres; // output axis j, input i (i = 3: translation)
        }
    }
    t[7] -= floor; // y: height above the floor
    const det =
        m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
    if (det === 0) throw new SemanticSplatError("INVALID_ARGUMENT", `${what}: the world matrix is singular (a zero scaling?)`);
    const logScaleShift = Math.log(Math.cbrt(Math.abs(det)) * metres);

    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const channels = new Float32Array(count * INPUT_CHANNELS);
    for (let g = 0, s = 0, o = 0; g < count; g++, s += SPLAT_ROW_BYTES, o += INPUT_CHANNELS) {
        const x = view.getFloat32(s, true), y = view.getFloat32(s + 4, true), z = view.getFloat32(s + 8, true);
        for (let j = 0; j < 3; j++) channels[o + j] = t[4 * j] * x + t[4 * j + 1] * y + t[4 * j + 2] * z + t[4 * j + 3];
        channels[o + 3] = bytes[s + 24] / 255;
        channels[o + 4] = bytes[s + 25] / 255;
        channels[o + 5] = bytes[s + 26] / 255;
        channels[o + 6] = bytes[s + 27] / 255;
        for (let k = 0; k < 3; k++) {
            const scale = view.getFloat32(s + 12 + 4 * k, true);
            channels[o + 7 + k] = (scale > 0 ? Math.log(scale) : scale === 0 ? MIN_LOG_SCALE : NaN) + logScaleShift;
        }
    }
    return { channels, count, frame: resolved };
}
