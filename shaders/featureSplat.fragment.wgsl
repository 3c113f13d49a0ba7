// Feature splat pass, fragment stage (babylon-semantic-splatting).
// Babylon's splat falloff (gaussianSplattingFragmentDeclaration): alpha = exp(-|vPosition|^2) * opacity,
// cut off where |vPosition|^2 >= 4 (discarded: a quad whose four pixels are all discarded skips the blending
// of every attachment on SwiftShader). Every attachment gets (channels, a), NOT premultiplied: the pass blends
// with ALPHA_LAYER_ACCUMULATE, rgb = src.rgb * src.a + dst.rgb * (1 - src.a), alpha = src.a + dst.a * (1 - src.a),
// over a (0,0,0,0) clear, back to front, so each channel ends as sum_i c_i a_i prod_{j<i} (1 - a_j)
// (RT-GS2 Eq. 3), premultiplied in the target. The blend stage does the a * c product, the same fp32 product the
// shader did before (on SwiftShader the images were bit-identical to premultiplied output blended with
// ALPHA_PREMULTIPLIED_PORTERDUFF; BENCHMARKS.md, issue 2), and the shader saves one multiply per channel:
// SwiftShader multiplies by the blend factor even when it is ONE.
varying vPosition: vec2f;
flat varying vColor: vec4f;
#if CHANNEL_ATTACHMENTS > 0
flat varying vChannels0: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 1
flat varying vChannels1: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 2
flat varying vChannels2: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 3
flat varying vChannels3: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 4
flat varying vChannels4: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 5
flat varying vChannels5: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 6
flat varying vChannels6: vec3f;
#endif
#if CHANNEL_ATTACHMENTS > 7
flat varying vChannels7: vec3f;
#endif

@fragment
fn main(input: FragmentInputs) -> FragmentOutputs {
    let A: f32 = -dot(fragmentInputs.vPosition, fragmentInputs.vPosition);
    if (A <= -4.0) {
        discard;
    }
    let a: f32 = exp(A) * fragmentInputs.vColor.a;
#ifdef WRITE_COLOR
    fragmentOutputs.fragData0 = vec4f(fragmentInputs.vColor.rgb, a);
#if CHANNEL_ATTACHMENTS > 0
    fragmentOutputs.fragData1 = vec4f(fragmentInputs.vChannels0, a);
#endif
#if CHANNEL_ATTACHMENTS > 1
    fragmentOutputs.fragData2 = vec4f(fragmentInputs.vChannels1, a);
#endif
#if CHANNEL_ATTACHMENTS > 2
    fragmentOutputs.fragData3 = vec4f(fragmentInputs.vChannels2, a);
#endif
#if CHANNEL_ATTACHMENTS > 3
    fragmentOutputs.fragData4 = vec4f(fragmentInputs.vChannels3, a);
#endif
#if CHANNEL_ATTACHMENTS > 4
    fragmentOutputs.fragData5 = vec4f(fragmentInputs.vChannels4, a);
#endif
#if CHANNEL_ATTACHMENTS > 5
    fragmentOutputs.fragData6 = vec4f(fragmentInputs.vChannels5, a);
#endif
#if CHANNEL_ATTACHMENTS > 6
    fragmentOutputs.fragData7 = vec4f(fragmentInputs.vChannels6, a);
#endif
#else
#if CHANNEL_ATTACHMENTS > 0
    fragmentOutputs.fragData0 = vec4f(fragmentInputs.vChannels0, a);
#endif
#if CHANNEL_ATTACHMENTS > 1
    fragmentOutputs.fragData1 = vec4f(fragmentInputs.vChannels1, a);
#endif
#if CHANNEL_ATTACHMENTS > 2
    fragmentOutputs.fragData2 = vec4f(fragmentInputs.vChannels2, a);
#endif
#if CHANNEL_ATTACHMENTS > 3
    fragmentOutputs.fragData3 = vec4f(fragmentInputs.vChannels3, a);
#endif
#if CHANNEL_ATTACHMENTS > 4
    fragmentOutputs.fragData4 = vec4f(fragmentInputs.vChannels4, a);
#endif
#if CHANNEL_ATTACHMENTS > 5
    fragmentOutputs.fragData5 = vec4f(fragmentInputs.vChannels5, a);
#endif
#if CHANNEL_ATTACHMENTS > 6
    fragmentOutputs.fragData6 = vec4f(fragmentInputs.vChannels6, a);
#endif
#if CHANNEL_ATTACHMENTS > 7
    fragmentOutputs.fragData7 = vec4f(fragmentInputs.vChannels7, a);
#endif
#endif
}
