// Feature sidecar: layout, round trip, name convention, shape checks against a scene.
import {
    encodeFeatureSidecar,
    decodeFeatureSidecar,
    featureSidecarFileName,
    checkFeatureShape,
    FEATURE_SIDECAR_VERSION,
} from "../../src/formats/featureSidecar";
import { float32ToHalfBits, halfArrayToFloat32 } from "../../src/util/half";
import { seededRandom, expectSemanticError } from "./plyBuilder";

describe("feature sidecar", () => {
    it("writes the documented layout: magic, version, count, K, encoder id, padding, fp16 data", () => {
        const features = new Float32Array([0, 1, -2, 0.5, 0.25, -0.125]);
        const bytes = encodeFeatureSidecar({ features, count: 3, featureDim: 2, encoderId: "enc-é" }); // 6 UTF-8 bytes
        const view = new DataView(bytes.buffer);
        expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("SEMF");
        expect(view.getUint32(4, true)).toBe(1); // no scene frame given: version 1, as before issue 13
        expect(view.getUint32(8, true)).toBe(3);
        expect(view.getUint32(12, true)).toBe(2);
        expect(view.getUint32(16, true)).toBe(6);
        expect(new TextDecoder().decode(bytes.subarray(20, 26))).toBe("enc-é");
        expect(Array.from(bytes.subarray(26, 28))).toEqual([0, 0]); // padding to 28
        expect(bytes.length).toBe(28 + 6 * 2);
        for (let i = 0; i < 6; i++) expect(view.getUint16(28 + 2 * i, true)).toBe(float32ToHalfBits(features[i]));
    });

    it("version 2 records the scene frame after the encoder id; both versions decode", () => {
        const sceneFrame = { rotation: [1, 0, 0, 0, 0, 1, 0, -1, 0], metresPerUnit: 0.01, floorHeight: -1.42, confidence: 0.93, fallback: false, source: "auto" as const, evidence: { big: "not saved" } };
        const features = new Float32Array([0.5, -0.5, 1, 2]);
        const v2 = encodeFeatureSidecar({ features, count: 2, featureDim: 2, encoderId: "enc", sceneFrame });
        const view = new DataView(v2.buffer);
        expect(view.getUint32(4, true)).toBe(FEATURE_SIDECAR_VERSION);
        expect(FEATURE_SIDECAR_VERSION).toBe(2);
        const recordLength = view.getUint32(24, true); // after 20 + "enc" padded to 24
        const record = JSON.parse(new TextDecoder().decode(v2.subarray(28, 28 + recordLength)));
        expect(record.metresPerUnit).toBe(0.01);
        expect(record.evidence).toBeUndefined();
        const dataOffset = (28 + recordLength + 3) & ~3;
        expect(v2.length).toBe(dataOffset + 8);
        const decoded = decodeFeatureSidecar(v2, "room.splat.semf", { count: 2, featureDim: 2 });
        expect(decoded.version).toBe(2);
        expect(decoded.sceneFrame?.rotation).toEqual(sceneFrame.rotation);
        expect(decoded.sceneFrame?.floorHeight).toBe(-1.42);
        expect(decoded.sceneFrame?.source).toBe("auto");
        expect(Array.from(halfArrayToFloat32(decoded.halfFeatures))).toEqual([0.5, -0.5, 1, 2]);
        const v1 = decodeFeatureSidecar(encodeFeatureSidecar({ features, count: 2, featureDim: 2, encoderId: "enc" }), "old.semf");
        expect(v1.version).toBe(1);
        expect(v1.sceneFrame).toBeNull();
        expect(Array.from(v1.halfFeatures)).toEqual(Array.from(decoded.halfFeatures));
        // a broken record is a MALFORMED_FILE naming the file
        const broken = v2.slice();
        broken[28] = "[".charCodeAt(0);
        expectSemanticError(() => decodeFeatureSidecar(broken, "bad-frame.semf"), "MALFORMED_FILE", "bad-frame.semf", /scene frame/);
    });

    it("round-trips float features (rounded to fp16) and fp16 bits exactly, with any encoder id length", () => {
        const random = seededRandom(3);
        for (const [count, K, id] of [[1, 1, ""], [100, 16, "rtgs2-encoder-k16@0.3"], [7, 64, "x".repeat(255)], [33, 3, "abc"]] as const) {
            const features = new Float32Array(count * K).map(() => random() * 2 - 1);
            const encoded = encodeFeatureSidecar({ features, count, featureDim: K, encoderId: id });
            const decoded = decodeFeatureSidecar(encoded, "scene.splat.semf", { count, featureDim: K });
            expect(decoded.count).toBe(count);
            expect(decoded.featureDim).toBe(K);
            expect(decoded.encoderId).toBe(id);
            expect(Array.from(decoded.halfFeatures)).toEqual(Array.from(features, (v) => float32ToHalfBits(v)));
            // encoding the decoded halves again is byte-identical
            const again = encodeFeatureSidecar({ features: decoded.halfFeatures, count, featureDim: K, encoderId: id });
            expect(Array.from(again)).toEqual(Array.from(encoded));
            // and float values of the halves round-trip too
            const floats = halfArrayToFloat32(decoded.halfFeatures);
            expect(Array.from(encodeFeatureSidecar({ features: floats, count, featureDim: K, encoderId: id }))).toEqual(Array.from(encoded));
        }
    });

    it("decodes from a view at an odd byte offset", () => {
        const encoded = encodeFeatureSidecar({ features: new Float32Array([0.5, -0.5, 1, 2]), count: 2, featureDim: 2, encoderId: "e" });
        const holder = new Uint8Array(encoded.length + 3);
        holder.set(encoded, 3);
        const decoded = decodeFeatureSidecar(holder.subarray(3), "offset.semf");
        expect(Array.from(halfArrayToFloat32(decoded.halfFeatures))).toEqual([0.5, -0.5, 1, 2]);
    });

    it("names sidecars after the scene file, keeping URL queries at the end", () => {
        expect(featureSidecarFileName("room.splat")).toBe("room.splat.semf");
        expect(featureSidecarFileName("https://x.org/a/room.spz?v=2#top")).toBe("https://x.org/a/room.spz.semf?v=2#top");
        expect(featureSidecarFileName("/assets/meta.json")).toBe("/assets/meta.json.semf");
    });

    it("checks count and K against the scene", () => {
        expect(() => checkFeatureShape({ count: 5, featureDim: 16 }, { count: 5, featureDim: 16 }, "a.semf")).not.toThrow();
        expect(() => checkFeatureShape({ count: 5, featureDim: 16 }, {}, "a.semf")).not.toThrow();
        expectSemanticError(() => checkFeatureShape({ count: 5, featureDim: 16 }, { count: 6 }, "a.semf"), "FEATURE_MISMATCH", "a.semf", /5 Gaussians, the scene has 6/);
        expectSemanticError(() => checkFeatureShape({ count: 5, featureDim: 16 }, { featureDim: 32 }, "a.semf"), "FEATURE_MISMATCH", "a.semf", /K=16.*K=32/);
    });

    it("refuses to encode what it could not decode", () => {
        expectSemanticError(() => encodeFeatureSidecar({ features: new Float32Array([1, 70000]), count: 1, featureDim: 2, encoderId: "e" }, "big.semf"), "INVALID_FEATURES", "big.semf", /channel 1 is 70000/);
        expectSemanticError(() => encodeFeatureSidecar({ features: new Float32Array([NaN]), count: 1, featureDim: 1, encoderId: "e" }, "nan.semf"), "INVALID_FEATURES", "nan.semf", /Gaussian 0 channel 0 is NaN/);
        expectSemanticError(() => encodeFeatureSidecar({ features: new Float32Array(4), count: 2, featureDim: 3, encoderId: "e" }, "len.semf"), "FEATURE_MISMATCH", "len.semf", /4 values/);
        expectSemanticError(() => encodeFeatureSidecar({ features: new Float32Array(65), count: 1, featureDim: 65, encoderId: "e" }, "k.semf"), "INVALID_ARGUMENT", "k.semf", /1\.\.64/);
        expectSemanticError(() => encodeFeatureSidecar({ features: new Float32Array(1), count: 1, featureDim: 1, encoderId: "é".repeat(128) }, "id.semf"), "INVALID_ARGUMENT", "id.semf", /256 UTF-8 bytes/);
    });
});
