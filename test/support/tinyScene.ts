/**
 * Tiny in-memory splat scenes for browser specs: N Gaussians with exactly the positions, colours, opacities,
 * scales, rotations and features a test chooses, loaded into a {@link SemanticGaussianSplattingMesh} without
 * any file or Y flip (world position = the position given).
 *
 * Usage:
 * ```ts
 * const t = await createTestEngine();
 * const scene = new Scene(t.engine);
 * const mesh = createTinySplatMesh(scene, [
 *     { position: [0, 0, 0], color: [1, 0, 0], opacity: 0.8, scale: 0.2, features: [1, 0, 0, 0.5] },
 *     { position: [0.3, 0, 0.5], color: [0, 1, 0], features: [0, 1, 0, 0.5] },
 * ]);
 * // mesh.featureDimension === 4, mesh.featureTexture holds the fp16 features
 * const layer0 = await readFeatureTextureLayer(mesh, 0); // Uint16Array of fp16 bits, 8 per texel
 * ```
 * `encodeSplatRows` gives the same Gaussians as `.splat` bytes (Babylon's 32-byte rows), to go through the
 * loader instead (note Babylon's loader then flips Y with `scaling.y = -1`, as it does for every .splat file).
 */
import type { Scene } from "@babylonjs/core/scene";
import type { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import type { BaseTexture } from "@babylonjs/core/Materials/Textures/baseTexture";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";

export interface TinyGaussian {
    /** Centre, world units. */
    position: [number, number, number];
    /** Base colour, each channel in [0, 1] (stored as u8, as in a .splat row). */
    color: [number, number, number];
    /** Opacity in [0, 1] (stored as u8). Default 1. */
    opacity?: number;
    /** Per-axis scale as stored in a .splat row (linear, not log), or one number for all axes. Default 0.1. */
    scale?: number | [number, number, number];
    /** Rotation quaternion (w, x, y, z), stored as u8 like a .splat row. Default identity. */
    rotation?: [number, number, number, number];
    /** This Gaussian's features; every Gaussian of a scene must have the same number. Default none. */
    features?: number[];
}

const ROW_BYTES = 32;

const toByte = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));
const quatByte = (v: number) => Math.max(0, Math.min(255, Math.round(v * 128 + 128)));

/** The Gaussians as a `.splat` file: Babylon's 32-byte rows (position, scale 3xf32; rgba, rotation 4xu8). */
export function encodeSplatRows(gaussians: readonly TinyGaussian[]): ArrayBuffer {
    const buffer = new ArrayBuffer(gaussians.length * ROW_BYTES);
    const f32 = new Float32Array(buffer);
    const u8 = new Uint8Array(buffer);
    gaussians.forEach((g, i) => {
        const scale = typeof g.scale === "number" ? [g.scale, g.scale, g.scale] : (g.scale ?? [0.1, 0.1, 0.1]);
        f32.set([...g.position, ...scale], i * 8);
        u8.set([toByte(g.color[0]), toByte(g.color[1]), toByte(g.color[2]), toByte(g.opacity ?? 1)], i * ROW_BYTES + 24);
        const [w, x, y, z] = g.rotation ?? [1, 0, 0, 0];
        u8.set([quatByte(w), quatByte(x), quatByte(y), quatByte(z)], i * ROW_BYTES + 28);
    });
    return buffer;
}

/** The features of `gaussians` as one [N x K] Float32Array, or null when none has features. */
export function tinyFeatures(gaussians: readonly TinyGaussian[]): { data: Float32Array; featureDimension: number } | null {
    if (!gaussians.some((g) => g.features && g.features.length > 0)) return null;
    const featureDimension = gaussians[0].features?.length ?? 0;
    const data = new Float32Array(gaussians.length * featureDimension);
    gaussians.forEach((g, i) => {
        if (g.features?.length !== featureDimension) throw new Error(`tiny scene: Gaussian ${i} has ${g.features?.length ?? 0} features, expected ${featureDimension}`);
        data.set(g.features, i * featureDimension);
    });
    return { data, featureDimension };
}

/**
 * A SemanticGaussianSplattingMesh holding exactly `gaussians` (no Y flip, identity world matrix), with their
 * features set when they have some.
 */
export function createTinySplatMesh(scene: Scene, gaussians: readonly TinyGaussian[], name = "tinySplats"): SemanticGaussianSplattingMesh {
    const mesh = new SemanticGaussianSplattingMesh(name, scene);
    mesh.updateData(encodeSplatRows(gaussians), undefined, { flipY: false });
    const features = tinyFeatures(gaussians);
    if (features) mesh.setFeatures(features.data, features.featureDimension);
    return mesh;
}

/**
 * Reads one layer of the mesh's feature texture (RGBA32UI texels of fp16 pairs) back from the GPU as fp16 bit
 * patterns: `width * height * 8` values in row order, texel of Gaussian i at [8i .. 8i+7] (the low half of each
 * 32-bit component first, as a little-endian Uint16Array view gives them).
 */
export async function readFeatureTextureLayer(mesh: SemanticGaussianSplattingMesh, layer: number): Promise<Uint16Array> {
    const texture = mesh.featureTexture;
    if (!texture) throw new Error("the mesh has no feature texture");
    const bytes = await readTextureBytes(texture, 16, layer);
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** Reads one layer of a texture back from the GPU: `width * height * texelBytes` bytes in row order. */
export async function readTextureBytes(texture: BaseTexture, texelBytes: number, layer = 0): Promise<Uint8Array> {
    const internal = texture.getInternalTexture();
    const gpuTexture = (internal?._hardwareTexture as { underlyingResource?: GPUTexture } | null)?.underlyingResource;
    if (!internal || !gpuTexture) throw new Error(`texture ${texture.name} has no GPU texture`);
    const device = (texture.getScene()!.getEngine() as WebGPUEngine)._device;
    const width = internal.width;
    const height = internal.height;
    const bytesPerRow = Math.ceil((width * texelBytes) / 256) * 256; // WebGPU copies need 256-byte aligned rows
    const buffer = device.createBuffer({ size: bytesPerRow * height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture: gpuTexture, origin: { x: 0, y: 0, z: layer } }, { buffer, bytesPerRow }, { width, height, depthOrArrayLayers: 1 });
    device.queue.submit([encoder.finish()]);
    await buffer.mapAsync(GPUMapMode.READ);
    const mapped = new Uint8Array(buffer.getMappedRange());
    const out = new Uint8Array(width * height * texelBytes);
    for (let row = 0; row < height; row++) out.set(mapped.subarray(row * bytesPerRow, row * bytesPerRow + width * texelBytes), row * width * texelBytes);
    buffer.unmap();
    buffer.destroy();
    return out;
}
