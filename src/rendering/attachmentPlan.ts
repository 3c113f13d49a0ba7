// How the feature splat pass splits its outputs over render passes so that every pass fits the
// WebGPU device's limits. All passes draw the same mesh with the same sorted index buffer, so
// splitting changes nothing in the result, only the cost (each pass re-runs the vertex stage).
//
// Why 3 channels per attachment and not 4: exact back-to-front "over" compositing needs, on every
// attachment, out = src + dst * (1 - src.a) where src.a is the splat's coverage alpha. A WebGPU blend
// state reads the blend factor from the SAME attachment's alpha output (there is no dual-source
// blending on our devices), so every attachment must carry (a*c0, a*c1, a*c2, a) and holds 3 channels.

/** The attachment formats the pass can use, with their render-target byte cost and alignment (WebGPU spec, "Plain color formats"). */
export const ATTACHMENT_FORMATS = {
    /** Works on every WebGPU device (rgba16float is always blendable). */
    rgba16float: { bytes: 8, alignment: 2 },
    /** Needs the device feature "float32-blendable"; full float precision. */
    rgba32float: { bytes: 16, alignment: 4 },
} as const;
export type AttachmentFormat = keyof typeof ATTACHMENT_FORMATS;
/** Channels a blendable RGBA attachment can carry besides the alpha used for blending. */
export const CHANNELS_PER_ATTACHMENT = 3;
/** Babylon's WGSL processor declares at most 8 `fragDataN` outputs (webgpuShaderProcessorsWGSL). */
const BABYLON_MAX_FRAG_OUTPUTS = 8;

/**
 * The "stream" of composited channels besides rgb: channel 0 is view depth, channels 1..K are the K
 * features. Pass 0 also writes the rgb+alpha attachment first.
 */
export interface FeaturePassPlan {
    /** Index of this pass, 0 first. */
    index: number;
    /** Whether this pass writes the rgb+alpha attachment (only pass 0). */
    writesColor: boolean;
    /** First stream channel written by this pass (0 = depth, 1 + f = feature f). */
    firstChannel: number;
    /** Number of 3-channel attachments after the optional colour attachment. */
    channelAttachments: number;
    /** Total attachments of the pass (colour + channel attachments). */
    attachmentCount: number;
}

export interface DeviceLimitsForPlan {
    maxColorAttachments: number;
    maxColorAttachmentBytesPerSample: number;
}

/** Bytes per sample of `count` attachments, per the WebGPU spec's running-sum-with-alignment rule. */
export function bytesPerSample(count: number, format: AttachmentFormat = "rgba16float"): number {
    const { bytes, alignment } = ATTACHMENT_FORMATS[format];
    let total = 0;
    for (let i = 0; i < count; i++) total = Math.ceil(total / alignment) * alignment + bytes;
    return total;
}

/** The most attachments of `format` one pass can have under `limits`. */
export function maxAttachmentsPerPass(limits: DeviceLimitsForPlan, format: AttachmentFormat = "rgba16float"): number {
    let count = Math.min(limits.maxColorAttachments, BABYLON_MAX_FRAG_OUTPUTS);
    while (count > 0 && bytesPerSample(count, format) > limits.maxColorAttachmentBytesPerSample) count--;
    return count;
}

/**
 * Splits depth + K features (plus rgb+alpha in pass 0) into as few passes as `limits` allow. K = 0 is the colour-only
 * pass of the RGB-only fallback: rgb+alpha and one attachment with depth.
 * Throws when not even two attachments fit (WebGPU guarantees 8 attachments and 32 bytes, so this
 * only happens with a hand-made limits object).
 */
export function planFeaturePasses(featureDimension: number, limits: DeviceLimitsForPlan, format: AttachmentFormat = "rgba16float"): FeaturePassPlan[] {
    if (!Number.isInteger(featureDimension) || featureDimension < 0) {
        throw new RangeError(`planFeaturePasses: featureDimension must be a non-negative integer, got ${featureDimension}`);
    }
    const perPass = maxAttachmentsPerPass(limits, format);
    if (perPass < 2) {
        throw new RangeError(
            `planFeaturePasses: the device allows ${perPass} ${format} colour attachment(s) per pass ` +
                `(maxColorAttachments ${limits.maxColorAttachments}, maxColorAttachmentBytesPerSample ` +
                `${limits.maxColorAttachmentBytesPerSample}); the feature pass needs at least 2`
        );
    }
    const streamChannels = featureDimension + 1; // depth + features
    const channelAttachmentsNeeded = Math.ceil(streamChannels / CHANNELS_PER_ATTACHMENT);
    const plans: FeaturePassPlan[] = [];
    let done = 0;
    while (done < channelAttachmentsNeeded) {
        const writesColor = plans.length === 0;
        const room = perPass - (writesColor ? 1 : 0);
        const channelAttachments = Math.min(room, channelAttachmentsNeeded - done);
        plans.push({
            index: plans.length,
            writesColor,
            firstChannel: done * CHANNELS_PER_ATTACHMENT,
            channelAttachments,
            attachmentCount: channelAttachments + (writesColor ? 1 : 0),
        });
        done += channelAttachments;
    }
    return plans;
}
