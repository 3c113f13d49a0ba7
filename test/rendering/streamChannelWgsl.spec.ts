// The per-pass channel code of the feature pass's vertex stage (streamChannelWgsl): which texture layers a pass
// loads (RGBA32UI texels of fp16 pairs, 8 features per layer), which 32-bit words it unpacks and which half feeds
// each channel varying. The GPU specs check the rendered result; this one pins the mapping itself, including
// passes that start mid-layer and the zero padding past K.
import { streamChannelWgsl } from "../../src/rendering/featureSplatPass";
import { planFeaturePasses } from "../../src/rendering/attachmentPlan";

describe("feature pass channel code (streamChannelWgsl)", () => {
    it("K = 16 in one pass: depth then features 0..15 from layers 0..1 (words 0..7), the last slot padded with 0", () => {
        const [plan] = planFeaturePasses(16, { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 128 }, "rgba32float");
        const { layerLoads, channelVaryings } = streamChannelWgsl(plan, 16);
        expect(layerLoads.split("\n").map((l) => l.trim())).toEqual([
            "let layer0: vec4<u32> = textureLoad(featureTexture, uv, 0, 0);",
            "let layer1: vec4<u32> = textureLoad(featureTexture, uv, 1, 0);",
            ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `let pair${p}: vec2f = unpack2x16float(layer${p >> 2}.${"xyzw"[p & 3]});`),
        ]);
        expect(channelVaryings.split("\n").map((l) => l.trim())).toEqual([
            "vertexOutputs.vChannels0 = vec3f(depth, pair0.x, pair0.y);",
            "vertexOutputs.vChannels1 = vec3f(pair1.x, pair1.y, pair2.x);",
            "vertexOutputs.vChannels2 = vec3f(pair2.y, pair3.x, pair3.y);",
            "vertexOutputs.vChannels3 = vec3f(pair4.x, pair4.y, pair5.x);",
            "vertexOutputs.vChannels4 = vec3f(pair5.y, pair6.x, pair6.y);",
            "vertexOutputs.vChannels5 = vec3f(pair7.x, pair7.y, 0.0);",
        ]);
    });

    it("a later pass of a split plan loads only its own layers and starts at its first channel", () => {
        // Default limits, rgba16float: 4 attachments per pass, so pass 0 = colour + channels 0..8, pass 1 = channels 9..14.
        const plans = planFeaturePasses(13, { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 }, "rgba16float");
        expect(plans.length).toBe(2);
        expect(plans[1].firstChannel).toBe(9);
        const { layerLoads, channelVaryings } = streamChannelWgsl(plans[1], 13);
        // Channels 9..13 are features 8..12 (words 4..6, all in layer 1); channel 14 pads.
        expect(layerLoads.split("\n").map((l) => l.trim())).toEqual([
            "let layer1: vec4<u32> = textureLoad(featureTexture, uv, 1, 0);",
            "let pair4: vec2f = unpack2x16float(layer1.x);",
            "let pair5: vec2f = unpack2x16float(layer1.y);",
            "let pair6: vec2f = unpack2x16float(layer1.z);",
        ]);
        expect(channelVaryings.split("\n").map((l) => l.trim())).toEqual([
            "vertexOutputs.vChannels0 = vec3f(pair4.x, pair4.y, pair5.x);",
            "vertexOutputs.vChannels1 = vec3f(pair5.y, pair6.x, 0.0);",
        ]);
        expect(channelVaryings).not.toContain("depth");
    });
});
