// Inputs and expected answers for the VDVI fixture (factory/scripts/make_fixture_models.py, test/fixtures/models/).
import { InferenceClient, type InferenceClientOptions } from "../../src/inference/InferenceClient";
import type { LoadModelRequest } from "../../src/worker/protocol";

export const FIXTURES = "/base/test/fixtures/models";
export const FIXTURE_URL = `${FIXTURES}/vdvi-fixture.onnx`;
export const FIXTURE_MANIFEST = `${FIXTURES}/manifest.json`;
export const CLASS_TABLE_VERSION = "scannet20+ceiling/1";
export const K = 8;
/** FEATURE_CLASS in make_fixture_models.py: one-hot channel k is labelled as this class id. */
export const FEATURE_CLASS = [0, 1, 4, 5, 6, 8, 14, 20];

/** The RGB-only fallback fixture (kind "vdvi-rgb"): a pixel gets RGB_CLASS[its dominant colour channel]. */
export const RGB_FIXTURE_URL = `${FIXTURES}/vdvi-rgb-fixture.onnx`;
/** RGB_CLASS in make_fixture_models.py (red, green, blue): none of them is in FEATURE_CLASS. */
export const RGB_CLASS = [2, 9, 13];
export const RGB_FIXTURE_REQUEST: LoadModelRequest = {
    kind: "vdvi-rgb",
    source: RGB_FIXTURE_URL,
    manifestUrl: FIXTURE_MANIFEST,
    expect: { classTableVersion: CLASS_TABLE_VERSION, numClasses: 21 },
    executionProvider: "wasm",
};

/** The fallback fixture's class for a colour: RGB_CLASS of its largest channel. */
export function dominantColourClass(colour: readonly number[]): number {
    let best = 0;
    for (let j = 1; j < 3; j++) if (colour[j] > colour[best]) best = j;
    return RGB_CLASS[best];
}

export const FIXTURE_REQUEST: LoadModelRequest = {
    kind: "vdvi",
    source: FIXTURE_URL,
    manifestUrl: FIXTURE_MANIFEST,
    expect: { k: K, classTableVersion: CLASS_TABLE_VERSION, numClasses: 21 },
    executionProvider: "wasm",
};

export interface FixtureFrame {
    rgb: Float32Array;
    features: Float32Array;
    width: number;
    height: number;
    expectedLabels: Uint8Array;
}

/** A frame of one-hot feature stripes (every channel appears) over an rgb pattern that uses 0 and 1. */
export function fixtureFrame(width: number, height: number): FixtureFrame {
    const pixels = width * height;
    const rgb = new Float32Array(3 * pixels);
    const features = new Float32Array(K * pixels);
    const expectedLabels = new Uint8Array(pixels);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const p = y * width + x;
            const channel = (Math.floor(x / 8) + Math.floor(y / 16)) % K;
            features[channel * pixels + p] = 1;
            expectedLabels[p] = FEATURE_CLASS[channel];
            rgb[p] = y % 2;
            rgb[pixels + p] = x % 3 === 0 ? 0 : 1;
            rgb[2 * pixels + p] = (x + y) % 2;
        }
    }
    return { rgb, features, width, height, expectedLabels };
}

/** The error a promise rejects with (fails the spec if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    throw new Error("expected a rejection, but the promise resolved");
}

/** A client on the test build's worker (build/test/worker.js, the default URL next to specs.js). */
export function newClient(options: InferenceClientOptions = {}): InferenceClient {
    return new InferenceClient(options);
}

/** Runs the fixture on a 32x32 frame and checks every label: the "works again afterwards" check of the fault specs. */
export async function expectSegmentWorks(client: InferenceClient): Promise<void> {
    const frame = fixtureFrame(32, 32);
    const result = await client.segment(frame.rgb, frame.features, frame.width, frame.height);
    expect(result.labels).toEqual(frame.expectedLabels);
}
