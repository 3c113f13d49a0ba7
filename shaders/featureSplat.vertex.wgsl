// Feature splat pass, vertex stage (babylon-semantic-splatting).
// Same projection as Babylon's own splat shaders (gaussianSplattingDepth.vertex): it reuses the
// `gaussianSplatting` include (readSplat, getSplatIndex, gaussianSplatting(): EWA projection with the
// `kernelSize` 0.3 dilation and the same culling), and the mesh's sorted `splatIndex` instance buffer.
// Besides colour it forwards up to 8 groups of 3 "stream" channels: channel 0 is view depth,
// channel 1 + f is feature f read from the per-splat feature texture array (RGBA32UI of fp16 pairs:
// layer l holds features 8l..8l+7, unpack2x16float(texel[w]) = (8l + 2w, 8l + 2w + 1); texel of splat i at
// (i % width, i / width)).
#include<sceneUboDeclaration>
#include<meshUboDeclaration>

attribute splatIndex0: vec4f;
attribute splatIndex1: vec4f;
attribute splatIndex2: vec4f;
attribute splatIndex3: vec4f;
attribute position: vec3f;

uniform invViewport: vec2f;
uniform dataTextureSize: vec2f;
uniform focal: vec2f;
uniform kernelSize: f32;
uniform minPixelSize: f32;
uniform eyePosition: vec3f;
uniform alpha: f32;
// +1 for left-handed scenes, -1 for right-handed ones: depth is positive in front of the camera.
uniform depthSign: f32;

var covariancesATexture: texture_2d<f32>;
var covariancesBTexture: texture_2d<f32>;
var centersTexture: texture_2d<f32>;
var colorsTexture: texture_2d<f32>;
#ifdef USE_SOG
var sogQuatsTexture: texture_2d<f32>;
uniform sogMeansMin: vec3f;
uniform sogMeansMax: vec3f;
#ifdef USE_SOG_V2
var sogCodebookTexture: texture_2d<f32>;
#else
uniform sogScalesMin: vec3f;
uniform sogScalesMax: vec3f;
uniform sogSh0Min: vec4f;
uniform sogSh0Max: vec4f;
uniform sogShnMin: f32;
uniform sogShnMax: f32;
#endif
#endif
#ifdef READ_FEATURES
var featureTexture: texture_2d_array<u32>;
#endif

varying vPosition: vec2f;
// Colour and channels are constant over a splat: flat, so the rasterizer does not interpolate them.
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

#include<gaussianSplatting>

@vertex
fn main(input : VertexInputs) -> FragmentInputs {
    let splatIndex: f32 = getSplatIndex(i32(vertexInputs.position.z + 0.5), vertexInputs.splatIndex0, vertexInputs.splatIndex1, vertexInputs.splatIndex2, vertexInputs.splatIndex3);
    var splat: Splat = readSplat(splatIndex, uniforms.dataTextureSize);
    var covA: vec3f = splat.covA.xyz;
    var covB: vec3f = vec3f(splat.covA.w, splat.covB.xy);
    let splatWorld: mat4x4f = mesh.world;
    let worldPos: vec4f = splatWorld * vec4f(splat.center.xyz, 1.0);

#ifdef SPLAT_TRIANGLES
    // One triangle per splat, clipped to a hexagon (src/rendering/splatTriangles.ts): the corners (-2,-2), (2,-2),
    // (2,2) of Babylon's first triangle become the equilateral triangle (-2 sqrt 3, -2), (2 sqrt 3, -2), (0, 4) around
    // the same cut-off circle |p| < 2 (inradius 2); affine, so the falloff coordinate is unchanged. The clip
    // distances cut its corners along the circle's tangents dot(p, u) = 2, u the unit vectors to the corners.
    let corner: vec2f = vec2f(vertexInputs.position.x * 1.7320508 - (vertexInputs.position.y + 2.0) * 0.8660254, vertexInputs.position.y * 1.5 + 1.0);
    vertexOutputs.clipDistances[0] = 2.0 - dot(corner, vec2f(-0.8660254, -0.5));
    vertexOutputs.clipDistances[1] = 2.0 - dot(corner, vec2f(0.8660254, -0.5));
    vertexOutputs.clipDistances[2] = 2.0 - corner.y;
#else
    let corner: vec2f = vertexInputs.position.xy;
#endif
    vertexOutputs.vPosition = corner;
    // DC colour only (no view-dependent SH): the factory's reference renderer does the same.
    vertexOutputs.vColor = vec4f(splat.color.xyz, splat.color.w * uniforms.alpha);
    vertexOutputs.position = gaussianSplatting(corner, worldPos.xyz, vec2f(1.0, 1.0), covA, covB, splatWorld, scene.view, scene.projection, uniforms.focal, uniforms.invViewport, uniforms.kernelSize, uniforms.minPixelSize);

#if CHANNEL_ATTACHMENTS > 0
    // View depth of the centre: the z row of the view matrix only (the same products as (scene.view * worldPos).z).
    let depth: f32 = dot(vec4f(scene.view[0].z, scene.view[1].z, scene.view[2].z, scene.view[3].z), worldPos) * uniforms.depthSign;
#ifdef READ_FEATURES
    // The feature texture's own width: with SOG textures (useSogTextures) Babylon's data textures have the SOG
    // images' size, not the mesh's usual splat-texture size that the feature texture follows.
    let featureWidth: i32 = i32(textureDimensions(featureTexture).x);
    let index: i32 = i32(splatIndex + 0.5);
    let uv = vec2<i32>(index % featureWidth, index / featureWidth);
#endif
    // Per pass, FeatureSplatPass substitutes the two placeholder lines below (streamChannelWgsl): the first becomes
    // the loads of the texture layers this pass needs into `layerN` (N = layer index) and the unpacking of the
    // 32-bit words it needs into `pairP` (features 2P and 2P + 1), the second fills
    // vChannels0..vChannels(CHANNEL_ATTACHMENTS - 1) with constant swizzles of `depth` and the pairs (0.0 past
    // feature K - 1), e.g. `vertexOutputs.vChannels0 = vec3f(depth, pair0.x, pair0.y);`. Straight-line code:
    // the earlier array of layers indexed through a helper function cost about 4 % of the whole pass on the
    // indoor room on SwiftShader (BENCHMARKS.md, issue 2).
    FEATURE_LAYER_LOADS
    CHANNEL_VARYINGS
#endif
}
