// The feature image as it leaves the GPU (`RawFeatureFrame`: the render targets' RGBA texels, attachment by
// attachment) and as the model and the pipeline use it (`FeatureFrame`: planar rgb / alpha / depth / features), and
// the unpacking from one to the other. No Babylon here: the inference worker imports this module, so that the
// segmentation pipeline can transfer the raw buffers and unpack them off the main thread (issue 3: at most 2 ms of
// main-thread work per frame; the unpacking alone took several ms a tick at 320x256, BENCHMARKS.md).
import { SemanticSplatError } from "../errors";
import { halfArrayToFloat32 } from "../util/half";
import { CHANNELS_PER_ATTACHMENT, type AttachmentFormat, type FeaturePassPlan } from "./attachmentPlan";

/**
 * One feature image, read back from the GPU. Every array is row-major with rows TOP TO BOTTOM (row 0 is the
 * top of the image, WebGPU's texture convention; no Y flip is needed to show it), columns left to right.
 * All channels are premultiplied composites over a zero background: divide by `alpha` to get per-pixel
 * averages (where alpha > 0). The buffers are plain ArrayBuffers, transferable to a worker.
 */
export interface FeatureFrame {
    width: number;
    height: number;
    /** K. */
    featureDimension: number;
    /** [3, H, W] planar (the VDVI model's `rgb` input layout): sum_i c_i a_i T_i, DC colour in [0, 1]. */
    rgb: Float32Array;
    /** [H, W]: coverage alpha, sum_i a_i T_i = 1 - prod_i (1 - a_i). */
    alpha: Float32Array;
    /**
     * [H, W]: expected depth NOT divided by alpha, sum_i z_i a_i T_i, with z_i the view-space depth of splat i's
     * centre (positive in front of the camera, scene units). Depth of a pixel = depth / alpha.
     */
    depth: Float32Array;
    /** [K, H, W] planar (the model's `features` input layout): sum_i f_i a_i T_i, not divided by alpha. */
    features: Float32Array;
    /** View matrix used for this frame (Babylon Matrix.m order). */
    viewMatrix: Float32Array;
    /** Projection matrix used for this frame (Babylon Matrix.m order). */
    projectionMatrix: Float32Array;
    /** Number of GPU passes the image took (1 when the device limits allow all attachments at once). */
    passCount: number;
}

/** One pass's attachments as read back. */
export interface RawFeaturePass {
    /** What the pass wrote (attachment 0 is rgb + alpha when `plan.writesColor`, then the channel attachments). */
    plan: FeaturePassPlan;
    /**
     * One array per attachment: width x height RGBA texels, interleaved, rows BOTTOM TO TOP (Babylon's WebGPU render
     * targets hold the image flipped so that they sample like WebGL ones). Uint16Array of fp16 bits for
     * "rgba16float", Float32Array for "rgba32float". Each array may be a view of a larger buffer.
     */
    attachments: (Uint16Array | Float32Array)[];
}

/**
 * The feature image as the GPU left it, before unpacking: what `FeatureSplatPass.readbackRawAsync()` returns, and
 * what the pipeline transfers to the worker. `unpackFeatureFrame` turns it into a `FeatureFrame`.
 */
export interface RawFeatureFrame {
    width: number;
    height: number;
    /** K. */
    featureDimension: number;
    attachmentFormat: AttachmentFormat;
    passes: RawFeaturePass[];
    /** View matrix used for this frame (Babylon Matrix.m order). */
    viewMatrix: Float32Array;
    /** Projection matrix used for this frame (Babylon Matrix.m order). */
    projectionMatrix: Float32Array;
}

/**
 * Throws INVALID_ARGUMENT unless `raw` is a complete feature image: sizes, attachment counts and array types agree,
 * and the passes' channels cover depth and the K features exactly once. The worker checks what it receives.
 */
export function checkRawFeatureFrame(raw: RawFeatureFrame): void {
    const fail = (why: string): never => {
        throw new SemanticSplatError("INVALID_ARGUMENT", `raw feature frame: ${why}`);
    };
    if (!raw || typeof raw !== "object") fail("not an object");
    const { width, height, featureDimension: K, attachmentFormat, passes } = raw;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) fail(`bad size ${width}x${height}`);
    // K = 0: a colour-only frame (rgb, alpha, depth), the RGB-only fallback's input
    if (!Number.isInteger(K) || K < 0) fail(`bad featureDimension ${K}`);
    if (attachmentFormat !== "rgba16float" && attachmentFormat !== "rgba32float") fail(`unknown attachment format ${String(attachmentFormat)}`);
    if (!Array.isArray(passes) || passes.length === 0) fail("no passes");
    if (!(raw.viewMatrix instanceof Float32Array) || raw.viewMatrix.length !== 16) fail("viewMatrix must be a Float32Array of 16");
    if (!(raw.projectionMatrix instanceof Float32Array) || raw.projectionMatrix.length !== 16) fail("projectionMatrix must be a Float32Array of 16");
    const ArrayType = attachmentFormat === "rgba16float" ? Uint16Array : Float32Array;
    const values = 4 * width * height;
    let colorPasses = 0;
    let nextChannel = 0;
    for (const { plan, attachments } of passes) {
        if (!plan || !Array.isArray(attachments)) fail("a pass without plan or attachments");
        if (plan.writesColor) colorPasses++;
        if (plan.firstChannel !== nextChannel) fail(`pass ${plan.index} starts at channel ${plan.firstChannel}, expected ${nextChannel}`);
        nextChannel += CHANNELS_PER_ATTACHMENT * plan.channelAttachments;
        const expected = (plan.writesColor ? 1 : 0) + plan.channelAttachments;
        if (attachments.length !== expected) fail(`pass ${plan.index} has ${attachments.length} attachments, its plan ${expected}`);
        for (const a of attachments) {
            if (!(a instanceof ArrayType)) fail(`${attachmentFormat} attachments must be ${ArrayType.name}s`);
            if (a.length !== values) fail(`an attachment has ${a.length} values, ${width}x${height} RGBA needs ${values}`);
        }
    }
    if (colorPasses !== 1) fail(`${colorPasses} passes write the colour attachment, expected 1`);
    if (nextChannel < K + 1) fail(`the passes cover ${nextChannel} channels, depth + K = ${K + 1} needed`);
}

/**
 * De-interleaves a raw feature image into planar arrays, flipping rows to top-to-bottom and converting fp16 to
 * float32 (exactly: every half is a float32). The result's arrays are new; `raw` is not modified. Its matrices are
 * copied.
 */
export function unpackFeatureFrame(raw: RawFeatureFrame): FeatureFrame {
    checkRawFeatureFrame(raw);
    const { width: W, height: H, featureDimension: K } = raw;
    const N = W * H;
    const rgb = new Float32Array(3 * N);
    const alpha = new Float32Array(N);
    const depth = new Float32Array(N);
    const features = new Float32Array(K * N);
    for (const { plan, attachments } of raw.passes) {
        let a = 0;
        if (plan.writesColor) {
            deinterleave(attachments[a++], W, H, [rgb.subarray(0, N), rgb.subarray(N, 2 * N), rgb.subarray(2 * N, 3 * N), alpha]);
        }
        for (let s = 0; s < plan.channelAttachments; s++, a++) {
            // Stream channel c: 0 = depth, 1 + f = feature f; past K the attachment carries padding.
            const outputs: (Float32Array | null)[] = [null, null, null, null];
            for (let k = 0; k < CHANNELS_PER_ATTACHMENT; k++) {
                const channel = plan.firstChannel + CHANNELS_PER_ATTACHMENT * s + k;
                if (channel <= K) outputs[k] = channel === 0 ? depth : features.subarray((channel - 1) * N, channel * N);
            }
            deinterleave(attachments[a], W, H, outputs);
        }
    }
    return {
        width: W,
        height: H,
        featureDimension: K,
        rgb,
        alpha,
        depth,
        features,
        viewMatrix: raw.viewMatrix.slice(),
        projectionMatrix: raw.projectionMatrix.slice(),
        passCount: raw.passes.length,
    };
}

/** The distinct ArrayBuffers behind a raw frame's attachments (a transfer list; matrices are left out). */
export function rawFeatureFrameBuffers(raw: RawFeatureFrame): ArrayBuffer[] {
    const buffers = new Set<ArrayBuffer>();
    for (const pass of raw.passes) for (const a of pass.attachments) if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
    return [...buffers];
}

/** Writes component c of every texel of `rgba` (rows bottom to top) into `outputs[c]` (rows top to bottom). */
function deinterleave(rgba: Uint16Array | Float32Array, W: number, H: number, outputs: (Float32Array | null)[]): void {
    const texels = rgba instanceof Uint16Array ? halfArrayToFloat32(rgba) : rgba;
    const [o0, o1, o2, o3] = outputs;
    for (let y = 0; y < H; y++) {
        const source = 4 * (H - 1 - y) * W;
        const target = y * W;
        for (let x = 0; x < W; x++) {
            const s = source + 4 * x;
            const t = target + x;
            if (o0) o0[t] = texels[s];
            if (o1) o1[t] = texels[s + 1];
            if (o2) o2[t] = texels[s + 2];
            if (o3) o3[t] = texels[s + 3];
        }
    }
}
