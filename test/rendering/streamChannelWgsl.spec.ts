// The per-pass channel code of the feature pass's vertex stage (streamChannelWgsl): which texture layers a pass
// loads and which swizzle feeds each channel varying. The GPU specs check the rendered result; this one pins the
// mapping itself, including passes that start mid-layer and the zero padding past K.
import { streamChannelWgsl } from "../../src/rendering/featureSplatPass";
import { planFeaturePasses } from "../../src/rendering/attachmentPlan";

describe("feature pass channel code (streamChannelWgsl)", () => {
    it("K = 16 in one pass: depth then features 0..15 from layers 0..3, the last slot padded with 0", () => {
        const [plan] = planFeaturePasses(16, { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 128 }, "rgba32float");
        const { layerLoads, channelVaryings } = streamChannelWgsl(plan, 16);
        expect(layerLoads.split("\n").map((l) => l.trim())).toEqual([0, 1, 2, 3].map((l) => `let layer${l}: vec4f = textureLoad(featureTexture, uv, ${l}, 0);`));
        expect(channelVaryings.split("\n").map((l) => l.trim())).toEqual([
            "vertexOutputs.vChannels0 = vec3f(depth, layer0.x, layer0.y);",
            "vertexOutputs.vChannels1 = vec3f(layer0.z, layer0.w, layer1.x);",
            "vertexOutputs.vChannels2 = vec3f(layer1.y, layer1.z, layer1.w);",
            "vertexOutputs.vChannels3 = vec3f(layer2.x, layer2.y, layer2.z);",
            "vertexOutputs.vChannels4 = vec3f(layer2.w, layer3.x, layer3.y);",
            "vertexOutputs.vChannels5 = vec3f(layer3.z, layer3.w, 0.0);",
        ]);
    });

    it("a later pass of a split plan loads only its own layers and starts at its first channel", () => {
        // Default limits, rgba16float: 4 attachments per pass, so pass 0 = colour + channels 0..8, pass 1 = channels 9..14.
        const plans = planFeaturePasses(13, { maxColorAttachments: 8, maxColorAttachmentBytesPerSample: 32 }, "rgba16float");
        expect(plans.length).toBe(2);
        expect(plans[1].firstChannel).toBe(9);
        const { layerLoads, channelVaryings } = streamChannelWgsl(plans[1], 13);
        // Channels 9..13 are features 8..12 (layers 2 and 3); channel 14 pads.
        expect(layerLoads.split("\n").map((l) => l.trim())).toEqual([2, 3].map((l) => `let layer${l}: vec4f = textureLoad(featureTexture, uv, ${l}, 0);`));
        expect(channelVaryings.split("\n").map((l) => l.trim())).toEqual([
            "vertexOutputs.vChannels0 = vec3f(layer2.x, layer2.y, layer2.z);",
            "vertexOutputs.vChannels1 = vec3f(layer2.w, layer3.x, 0.0);",
        ]);
        expect(channelVaryings).not.toContain("depth");
    });
});
