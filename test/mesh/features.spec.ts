// Per-Gaussian features of SemanticGaussianSplattingMesh: validation, fp16 storage, and the texture array
// layout the feature splat pass reads (texel of Gaussian i at (i % width, floor(i / width)), layer l = channels
// 4l..4l+3, same size as Babylon's splat textures).
import type { Scene } from "@babylonjs/core/scene";
import { Vector3 } from "@babylonjs/core/Maths/math.vector";
import { expectNoWebGPUErrors, stepFrames, type TestEngine } from "../support/webgpu";
import { useTestScene } from "../support/testScene";
import { createTinySplatMesh, encodeSplatRows, readFeatureTextureLayer, readTextureBytes, type TinyGaussian } from "../support/tinyScene";
import { SemanticGaussianSplattingMesh } from "../../src/mesh/semanticGaussianSplattingMesh";
import { halfBitsToFloat32, float32ToHalfBits } from "../../src/util/half";
import { isSemanticError } from "../../src/errors";
import { FEATURE_CHANNELS_PER_LAYER, packFeatureLayer, packFeatureRows } from "../../src/mesh/featureLayout";

/** Chromium's own binary16 conversion, an independent reference for ours. */
const NativeFloat16Array = (globalThis as unknown as { Float16Array?: { new (values: number[]): { buffer: ArrayBuffer } } }).Float16Array;
function nativeHalfBits(values: number[]): Uint16Array {
    if (!NativeFloat16Array) throw new Error("this browser has no Float16Array");
    return new Uint16Array(new NativeFloat16Array(values).buffer);
}

function tinyGaussians(count: number, featureDimension: number): TinyGaussian[] {
    return Array.from({ length: count }, (_, i) => ({
        position: [(i % 5) * 0.1 - 0.2, Math.floor(i / 5) * 0.1, 0] as [number, number, number],
        color: [((i * 37) % 256) / 255, ((i * 91) % 256) / 255, 0.5] as [number, number, number],
        opacity: 0.9,
        scale: 0.05,
        features: Array.from({ length: featureDimension }, (_, c) => Math.sin(i * 1.3 + c * 0.7) * (c + 1)),
    }));
}

async function expectThrowsCode(fn: () => unknown, code: string, messagePart: string): Promise<void> {
    let caught: unknown;
    try {
        await fn();
    } catch (e) {
        caught = e;
    }
    expect(isSemanticError(caught)).withContext(`expected a SemanticSplatError, got ${String(caught)}`).toBeTrue();
    if (isSemanticError(caught)) {
        expect(caught.code).toBe(code as typeof caught.code);
        expect(caught.message).toContain(messagePart);
    }
}

describe("fp16 conversion used for the feature texture (src/util/half)", () => {
    it("matches Chromium's Float16Array bit for bit, rounding and edge cases included", () => {
        const values = [0, -0, 1, -1, 0.1, 1 / 3, 65504, 65519, 65520, 1e-5, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, -123.456, 2049, 2051, Infinity, -Infinity];
        for (let i = 0; i < 2000; i++) values.push((Math.random() - 0.5) * 10 ** (Math.random() * 12 - 7));
        const ours = values.map(float32ToHalfBits);
        // Float16Array rounds from float64; we round from float32 (the features' type), so compare on fp32 values.
        expect(ours).toEqual(Array.from(nativeHalfBits(values.map(Math.fround))));
        for (const bits of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0xfbff, 0x8001]) {
            expect(float32ToHalfBits(halfBitsToFloat32(bits))).toBe(bits);
        }
    });
});

describe("feature texture layout in bands of rows (src/mesh/featureLayout)", () => {
    it("bands of any height, laid end to end, are the layer; rows past the last Gaussian are zero", () => {
        const width = 7, height = 5, count = 31, k = 12; // the last row half full, the second layer half used
        const half = Uint16Array.from({ length: count * k }, (_, i) => 1 + (i % 60000));
        for (const layer of [0, 1]) {
            const whole = packFeatureLayer(half, count, k, width, height, layer);
            for (const bandRows of [1, 2, 3, 5]) {
                const bands: number[] = [];
                const out = new Uint16Array(width * bandRows * FEATURE_CHANNELS_PER_LAYER).fill(9); // reused: zeroed each time
                for (let y = 0; y < height; y += bandRows) {
                    const rows = Math.min(bandRows, height - y);
                    bands.push(...packFeatureRows(half, count, k, width, layer, y, rows, out.subarray(0, width * rows * FEATURE_CHANNELS_PER_LAYER)));
                }
                expect(bands).withContext(`layer ${layer}, bands of ${bandRows}`).toEqual(Array.from(whole));
            }
        }
        // Gaussian 30 (row 4, column 2), channel 9 is layer 1, channel 1 of its texel
        expect(packFeatureRows(half, count, k, width, 1, 4, 1)[2 * FEATURE_CHANNELS_PER_LAYER + 1]).toBe(half[30 * k + 9]);
        expect(() => packFeatureRows(half, count, k, width, 0, 0, 2, new Uint16Array(3))).toThrowError(/hold 112 values, not 3/);
    });
});

describe("SemanticGaussianSplattingMesh features", () => {
    let t: TestEngine;
    let scene: Scene;
    useTestScene((s, engine) => {
        scene = s;
        t = engine;
    }, { cameraPosition: new Vector3(0, 0.1, -2) });

    it("keeps Babylon's class name and stays a GaussianSplattingMesh", () => {
        const mesh = new SemanticGaussianSplattingMesh("m", scene);
        expect(mesh.getClassName()).toBe("GaussianSplattingMesh");
        expect(mesh.featureDimension).toBe(0);
        expect(mesh.featureTexture).toBeNull();
        mesh.dispose();
    });

    for (const featureDimension of [3, 4, 6, 16, 32]) {
        it(`stores K=${featureDimension} features as fp16 at the right texels and layers`, async () => {
            const gaussians = tinyGaussians(23, featureDimension);
            const mesh = createTinySplatMesh(scene, gaussians);
            expect(mesh.featureDimension).toBe(featureDimension);
            // fp16 pairs in RGBA32UI texels: 8 channels per layer.
            expect(mesh.featureLayerCount).toBe(Math.ceil(featureDimension / 8));
            const texture = mesh.featureTexture!;
            expect(texture).not.toBeNull();
            // Same width/height as Babylon's own per-splat textures.
            const splatSize = mesh.centersTexture!.getSize();
            expect(texture.getSize()).toEqual(splatSize);
            expect(texture.depth).toBe(mesh.featureLayerCount);
            const width = splatSize.width;
            for (let layer = 0; layer < mesh.featureLayerCount; layer++) {
                const texels = await readFeatureTextureLayer(mesh, layer);
                expect(texels.length).toBe(width * splatSize.height * 8);
                for (let i = 0; i < gaussians.length; i++) {
                    const texel = ((Math.floor(i / width) * width) + (i % width)) * 8;
                    const expected = [0, 1, 2, 3, 4, 5, 6, 7].map((c) => {
                        const channel = layer * 8 + c;
                        return channel < featureDimension ? nativeHalfBits([Math.fround(gaussians[i].features![channel])])[0] : 0;
                    });
                    expect(Array.from(texels.subarray(texel, texel + 8))).withContext(`Gaussian ${i} layer ${layer}`).toEqual(expected);
                }
                // Texels past the last Gaussian stay zero.
                expect(texels.subarray(gaussians.length * 8).every((v) => v === 0)).toBeTrue();
            }
            await stepFrames(scene, 1);
            expectNoWebGPUErrors(t);
            mesh.dispose();
        });
    }

    it("puts Gaussians past the first texture row at (i % width, floor(i / width))", async () => {
        const mesh = new SemanticGaussianSplattingMesh("rows", scene);
        const width = t.engine.getCaps().maxTextureSize; // Babylon's splat textures are this wide on WebGPU
        const count = width * 2 + 5;
        mesh.updateData(encodeSplatRows(Array.from({ length: count }, (_, i) => ({ position: [i * 1e-4, 0, 0], color: [1, 1, 1] }))), undefined, { flipY: false });
        const features = new Float32Array(count * 2);
        for (let i = 0; i < count; i++) {
            features[i * 2] = i % 2048; // exact in fp16
            features[i * 2 + 1] = -Math.floor(i / 2048);
        }
        mesh.setFeatures(features, 2);
        expect(mesh.splatTextureSize).toEqual({ width, height: 3 });
        expect(mesh.featureTexture!.getSize()).toEqual(mesh.centersTexture!.getSize());
        const texels = await readFeatureTextureLayer(mesh, 0);
        for (const i of [0, width - 1, width, width + 7, 2 * width, count - 1]) {
            const texel = (Math.floor(i / width) * width + (i % width)) * 8;
            expect(halfBitsToFloat32(texels[texel])).withContext(`Gaussian ${i}`).toBe(i % 2048);
            expect(halfBitsToFloat32(texels[texel + 1])).withContext(`Gaussian ${i}`).toBe(-Math.floor(i / 2048));
        }
        expect(texels.subarray(count * 8).every((v) => v === 0)).toBeTrue();
        mesh.dispose();
    });

    it("keeps one copy of fp16 features and no upload copy in the texture; a restored context gets them re-uploaded (issue 17)", async () => {
        const gaussians = tinyGaussians(7, 0);
        const mesh = createTinySplatMesh(scene, gaussians);
        const bits = new Uint16Array(7 * 3);
        for (let i = 0; i < bits.length; i++) bits[i] = float32ToHalfBits(i * 0.25 - 2);
        mesh.setFeatures(bits, 3);
        // one copy: the values as given and the texture's fp16 bits are the same array, a copy of the caller's
        expect(mesh.featureValues).toBe(mesh.featureHalfBits);
        expect(mesh.featureHalfBits).not.toBe(bits);
        bits[0] = float32ToHalfBits(99);
        expect(halfBitsToFloat32(mesh.featureHalfBits![0])).toBe(-2);
        // Babylon's context-loss copy of the padded upload array is dropped (the mesh re-uploads from its own)
        const internal = mesh.featureTexture!.getInternalTexture()!;
        expect(internal._bufferView).toBeNull();
        // what a restored context does to the texture: Babylon recreates it empty; the mesh fills it again
        const { width, height } = mesh.splatTextureSize;
        mesh.featureTexture!.update(new Uint32Array(width * height * 4));
        expect(halfBitsToFloat32((await readFeatureTextureLayer(mesh, 0))[8])).toBe(0);
        t.engine.onContextRestoredObservable.notifyObservers(t.engine);
        const texels = await readFeatureTextureLayer(mesh, 0);
        for (let i = 0; i < 7; i++) for (let c = 0; c < 3; c++) expect(halfBitsToFloat32(texels[i * 8 + c])).withContext(`Gaussian ${i} channel ${c}`).toBe((i * 3 + c) * 0.25 - 2);
        expect(internal._bufferView).toBeNull();
        mesh.dispose();
        expect(t.engine.onContextRestoredObservable.hasObservers()).toBeFalse();
    });

    it("copy: false keeps the caller's array itself (fp16 or fp32), still checked; the default keeps a copy", async () => {
        const mesh = createTinySplatMesh(scene, tinyGaussians(4, 0));
        const bits = new Uint16Array(4 * 2).map((_, i) => float32ToHalfBits(i * 0.5));
        mesh.setFeatures(bits, 2, { copy: false });
        expect(mesh.featureHalfBits).toBe(bits);
        expect(mesh.featureValues).toBe(bits);
        const values = new Float32Array(4 * 2).map((_, i) => i * 0.25);
        mesh.setFeatures(values, 2, { copy: false });
        expect(mesh.featureValues).toBe(values);
        mesh.setFeatures(values, 2);
        expect(mesh.featureValues).not.toBe(values);
        const bad = bits.slice();
        bad[3] = 0x7c00; // +Inf
        let caught: unknown = null;
        try {
            mesh.setFeatures(bad, 2, { copy: false });
        } catch (e) {
            caught = e;
        }
        expect(isSemanticError(caught, "INVALID_FEATURES")).withContext(String(caught)).toBeTrue();
        expect(mesh.featureValues).not.toBe(bad);
        mesh.dispose();
    });

    it("drops Babylon's upload copies of its covariance and colour textures; a restored context gets them rebuilt from the rows (issue 17)", async () => {
        const mesh = createTinySplatMesh(scene, tinyGaussians(9, 0));
        await stepFrames(scene, 2);
        const textures = [
            { texture: mesh.covariancesATexture!, texelBytes: 8 }, // rgba16float
            { texture: mesh.colorsTexture!, texelBytes: 4 }, // rgba8
        ];
        const before = await Promise.all(textures.map((x) => readTextureBytes(x.texture, x.texelBytes)));
        for (const texture of [mesh.covariancesATexture, mesh.covariancesBTexture, mesh.colorsTexture]) expect(texture!.getInternalTexture()!._bufferView).toBeNull();
        // what a restored context leaves: Babylon recreates the textures empty (no upload array to fill them from)
        const device = t.engine._device;
        for (const { texture, texelBytes } of textures) {
            const internal = texture.getInternalTexture()!;
            const gpuTexture = (internal._hardwareTexture as unknown as { underlyingResource: GPUTexture }).underlyingResource;
            device.queue.writeTexture({ texture: gpuTexture }, new Uint8Array(internal.width * internal.height * texelBytes), { bytesPerRow: internal.width * texelBytes }, { width: internal.width, height: internal.height });
        }
        expect((await readTextureBytes(mesh.colorsTexture!, 4)).every((v) => v === 0)).toBeTrue();
        t.engine.onContextRestoredObservable.notifyObservers(t.engine);
        // the upload waits for the sort worker's next answer (Babylon's delayed texture update): render until it lands
        for (let frame = 0; frame < 50 && (await readTextureBytes(mesh.colorsTexture!, 4)).every((v) => v === 0); frame++) {
            await stepFrames(scene, 1);
            await new Promise((r) => setTimeout(r, 20));
        }
        const after = await Promise.all(textures.map((x) => readTextureBytes(x.texture, x.texelBytes)));
        for (let i = 0; i < textures.length; i++) expect(Array.from(after[i])).withContext(textures[i].texture.name).toEqual(Array.from(before[i]));
        for (const texture of [mesh.covariancesATexture, mesh.covariancesBTexture, mesh.colorsTexture]) expect(texture!.getInternalTexture()!._bufferView).toBeNull();
        expect(mesh.gaussianCount).toBe(9);
        expectNoWebGPUErrors(t);
        mesh.dispose();
        expect(t.engine.onContextRestoredObservable.hasObservers()).toBeFalse();
    });

    it("takes fp16 bit patterns as given and keeps values un-normalised", async () => {
        const gaussians = tinyGaussians(5, 0);
        const mesh = createTinySplatMesh(scene, gaussians);
        const bits = new Uint16Array(5 * 2);
        for (let i = 0; i < bits.length; i++) bits[i] = float32ToHalfBits(i * 3.5 - 7);
        mesh.setFeatures(bits, 2);
        expect(Array.from(mesh.featureHalfBits!)).toEqual(Array.from(bits));
        const texels = await readFeatureTextureLayer(mesh, 0);
        for (let i = 0; i < 5; i++) {
            expect(halfBitsToFloat32(texels[i * 8])).toBe(i * 7 - 7);
            expect(halfBitsToFloat32(texels[i * 8 + 1])).toBe(i * 7 + 3.5 - 7);
            expect(texels[i * 8 + 2]).toBe(0);
        }
        mesh.dispose();
    });

    it("refuses bad features with a clear SemanticSplatError and keeps the old ones", async () => {
        const mesh = createTinySplatMesh(scene, tinyGaussians(4, 2));
        const before = mesh.featureTexture;
        await expectThrowsCode(() => mesh.setFeatures(new Float32Array(7), 2), "FEATURE_MISMATCH", "4 Gaussians");
        await expectThrowsCode(() => mesh.setFeatures(new Float32Array(8), 0), "INVALID_ARGUMENT", "positive integer");
        await expectThrowsCode(() => mesh.setFeatures(new Float32Array(8), 2.5), "INVALID_ARGUMENT", "positive integer");
        const withNaN = new Float32Array(8);
        withNaN[5] = NaN;
        await expectThrowsCode(() => mesh.setFeatures(withNaN, 2), "INVALID_FEATURES", "feature 1 of Gaussian 2 is NaN");
        const withInf = new Float32Array(8);
        withInf[0] = -Infinity;
        await expectThrowsCode(() => mesh.setFeatures(withInf, 2), "INVALID_FEATURES", "-Infinity");
        const tooLarge = new Float32Array(8);
        tooLarge[3] = 70000;
        await expectThrowsCode(() => mesh.setFeatures(tooLarge, 2), "INVALID_FEATURES", "fp16 range");
        const halfNaN = new Uint16Array(8);
        halfNaN[2] = 0x7e00;
        await expectThrowsCode(() => mesh.setFeatures(halfNaN, 2), "INVALID_FEATURES", "Gaussian 1");
        await expectThrowsCode(() => mesh.setFeatures(new Float64Array(8) as unknown as Float32Array, 2), "INVALID_ARGUMENT", "Float32Array");
        expect(mesh.featureTexture).toBe(before);
        expect(mesh.featureDimension).toBe(2);
        const empty = new SemanticGaussianSplattingMesh("empty", scene);
        await expectThrowsCode(() => empty.setFeatures(new Float32Array(4), 4), "EMPTY_SCENE", "load a scene");
        empty.dispose();
        mesh.dispose();
    });

    it("rebuilds the feature texture when the splat data changes, and drops features that no longer fit", async () => {
        const gaussians = tinyGaussians(6, 4);
        const mesh = createTinySplatMesh(scene, gaussians);
        let notified = 0;
        mesh.onFeaturesChangedObservable.add(() => notified++);
        // Same count, same texture size: features and their texture kept.
        const texture = mesh.featureTexture;
        mesh.updateData(encodeSplatRows(gaussians.map((g) => ({ ...g, position: [g.position[0], g.position[1], 0.5] }))), undefined, { flipY: false });
        expect(notified).toBe(0);
        expect(mesh.featureDimension).toBe(4);
        expect(mesh.featureTexture).toBe(texture);
        const texels = await readFeatureTextureLayer(mesh, 0);
        expect(texels[8 * 5 + 3]).toBe(float32ToHalfBits(gaussians[5].features![3]));
        // Different count: the features belonged to the old scene.
        mesh.updateData(encodeSplatRows(tinyGaussians(9, 0)), undefined, { flipY: false });
        expect(notified).toBe(1);
        expect(mesh.featureDimension).toBe(0);
        expect(mesh.featureTexture).toBeNull();
        await stepFrames(scene, 1);
        expectNoWebGPUErrors(t);
        mesh.dispose();
    });

    it("labels must match the Gaussian count", async () => {
        const mesh = createTinySplatMesh(scene, tinyGaussians(3, 1));
        mesh.setLabels(new Uint8Array([1, 2, 255]));
        expect(Array.from(mesh.labels!)).toEqual([1, 2, 65535]); // stored as Uint16Array, none = 65535
        expect(mesh.labels).toBeInstanceOf(Uint16Array);
        await expectThrowsCode(() => mesh.setLabels(new Uint8Array(4)), "FEATURE_MISMATCH", "4 labels for 3");
        mesh.dispose();
    });

    it("dispose frees the feature texture and refuses further use", async () => {
        const texturesBefore = scene.textures.length;
        const mesh = createTinySplatMesh(scene, tinyGaussians(3, 8));
        const texture = mesh.featureTexture!;
        expect(scene.textures).toContain(texture);
        mesh.dispose();
        expect(scene.textures).not.toContain(texture);
        expect(texture.getInternalTexture()).toBeNull();
        expect(scene.textures.length).toBe(texturesBefore);
        await expectThrowsCode(() => mesh.setFeatures(new Float32Array(3), 1), "DISPOSED", "disposed");
    });
});
