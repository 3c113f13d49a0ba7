// unpackFeatureFrame (src/rendering/featureFrame.ts), the de-interleaving that runs in the inference worker, on
// synthetic raw frames: every channel lands in its plane, rows are flipped, fp16 is converted exactly, padding
// channels past K are dropped, and malformed frames are refused. Real rendered frames: test/worker/workerUnpack.spec.ts.
import { checkRawFeatureFrame, rawFeatureFrameBuffers, unpackFeatureFrame, type RawFeatureFrame } from "../../src/rendering/featureFrame";
import { planFeaturePasses, type AttachmentFormat, type DeviceLimitsForPlan } from "../../src/rendering/attachmentPlan";
import { float32ToHalfBits, halfBitsToFloat32 } from "../../src/util/half";
import { SemanticSplatError } from "../../src/errors";

/**
 * A raw frame whose texel values encode where they belong: attachment value = code(channel, x, y) for stream
 * channel c (colour components use channels -4..-1), exactly representable in fp16 (small integers and halves).
 */
function syntheticFrame(W: number, H: number, K: number, format: AttachmentFormat, limits: DeviceLimitsForPlan): RawFeatureFrame {
    const plans = planFeaturePasses(K, limits, format);
    const value = (channel: number, x: number, y: number) => ((channel + 5) * 7 + x * 3 + y * 5) % 1000 + 0.5; // y counted from the top
    const passes = plans.map((plan) => {
        const attachments: (Uint16Array | Float32Array)[] = [];
        const fill = (component: (k: number) => number) => {
            const texels = new Float32Array(4 * W * H);
            for (let row = 0; row < H; row++) {
                const y = H - 1 - row; // stored bottom row first
                for (let x = 0; x < W; x++) for (let k = 0; k < 4; k++) texels[4 * (row * W + x) + k] = value(component(k), x, y);
            }
            attachments.push(format === "rgba16float" ? Uint16Array.from(texels, float32ToHalfBits) : texels);
        };
        if (plan.writesColor) fill((k) => k - 4); // r, g, b, alpha = channels -4..-1
        for (let s = 0; s < plan.channelAttachments; s++) fill((k) => (k < 3 ? plan.firstChannel + 3 * s + k : -100)); // component 3: blending alpha
        return { plan, attachments };
    });
    return { width: W, height: H, featureDimension: K, attachmentFormat: format, passes, viewMatrix: new Float32Array(16).fill(2), projectionMatrix: new Float32Array(16).fill(3) };
}

describe("unpackFeatureFrame", () => {
    const cases: { format: AttachmentFormat; K: number; limits: DeviceLimitsForPlan; W: number; H: number }[] = [
        { format: "rgba32float", K: 8, limits: { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 128 }, W: 7, H: 5 },
        { format: "rgba16float", K: 8, limits: { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 }, W: 6, H: 3 },
        { format: "rgba16float", K: 13, limits: { maxColorAttachments: 2, maxColorAttachmentBytesPerSample: 32 }, W: 5, H: 4 },
        { format: "rgba32float", K: 4, limits: { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 }, W: 3, H: 2 },
        // the colour-only frame of the RGB-only fallback: rgb, alpha and depth, no features
        { format: "rgba16float", K: 0, limits: { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 }, W: 4, H: 3 },
    ];
    for (const c of cases) {
        it(`puts every texel in its plane, rows top first (${c.format}, K=${c.K}, ${c.W}x${c.H}, max ${c.limits.maxColorAttachments} attachments)`, () => {
            const raw = syntheticFrame(c.W, c.H, c.K, c.format, c.limits);
            const f = unpackFeatureFrame(raw);
            const N = c.W * c.H;
            const expectValue = (channel: number, x: number, y: number) => {
                const v = ((channel + 5) * 7 + x * 3 + y * 5) % 1000 + 0.5;
                return c.format === "rgba16float" ? halfBitsToFloat32(float32ToHalfBits(v)) : v;
            };
            let mismatches = 0;
            for (let y = 0; y < c.H; y++) {
                for (let x = 0; x < c.W; x++) {
                    const p = y * c.W + x;
                    for (let k = 0; k < 3; k++) if (f.rgb[k * N + p] !== expectValue(k - 4, x, y)) mismatches++;
                    if (f.alpha[p] !== expectValue(-1, x, y)) mismatches++;
                    if (f.depth[p] !== expectValue(0, x, y)) mismatches++;
                    for (let k = 0; k < c.K; k++) if (f.features[k * N + p] !== expectValue(k + 1, x, y)) mismatches++;
                }
            }
            expect(mismatches).toBe(0);
            expect([f.width, f.height, f.featureDimension, f.passCount]).toEqual([c.W, c.H, c.K, raw.passes.length]);
            expect(f.features.length).toBe(c.K * N);
            expect(Array.from(f.viewMatrix)).toEqual(new Array(16).fill(2));
            expect(f.viewMatrix).not.toBe(raw.viewMatrix);
            expect(rawFeatureFrameBuffers(raw).length).toBe(raw.passes.reduce((n, p) => n + p.attachments.length, 0));
        });
    }

    it("refuses malformed raw frames with INVALID_ARGUMENT", () => {
        const good = () => syntheticFrame(4, 2, 8, "rgba16float", { maxColorAttachments: 2, maxColorAttachmentBytesPerSample: 32 });
        const broken: [string, (r: RawFeatureFrame) => RawFeatureFrame][] = [
            ["short attachment", (r) => ({ ...r, passes: [{ ...r.passes[0], attachments: [r.passes[0].attachments[0].subarray(1), ...r.passes[0].attachments.slice(1)] }, ...r.passes.slice(1)] })],
            ["wrong array type", (r) => ({ ...r, attachmentFormat: "rgba32float" })],
            ["missing pass", (r) => ({ ...r, passes: r.passes.slice(0, -1) })],
            ["missing attachment", (r) => ({ ...r, passes: [{ ...r.passes[0], attachments: r.passes[0].attachments.slice(1) }, ...r.passes.slice(1)] })],
            ["bad K", (r) => ({ ...r, featureDimension: -1 })],
            ["K past the channels", (r) => ({ ...r, featureDimension: 9 })],
            ["bad size", (r) => ({ ...r, width: 3 })],
            ["bad matrix", (r) => ({ ...r, viewMatrix: new Float32Array(4) })],
        ];
        expect(() => checkRawFeatureFrame(good())).not.toThrow();
        for (const [what, breakIt] of broken) {
            let error: unknown = null;
            try {
                unpackFeatureFrame(breakIt(good()));
            } catch (e) {
                error = e;
            }
            expect(error).withContext(what).toBeInstanceOf(SemanticSplatError);
            expect((error as SemanticSplatError).code).withContext(what).toBe("INVALID_ARGUMENT");
        }
    });
});
