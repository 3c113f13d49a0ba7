// The worker's pure helpers, without a worker: the ONNX header reader, the contract checks, the manifest parser
// and the error encoding that carries codes across comlink.
import { SemanticSplatError, isSemanticError } from "../../src/errors";
import { checkModelMetadata, checkRgbOnlyInputsOutputs, checkSegmentInputs, checkVdviInputsOutputs, type ValueDescription } from "../../src/worker/modelContract";
import { checkChecksum, fetchWithProgress, fileNameOf, findManifestEntry, parseManifest, sha256Hex } from "../../src/worker/modelSource";
import { readOnnxModelHeader } from "../../src/worker/onnxProto";
import { decodeError, encodeError } from "../../src/worker/protocol";
import { CLASS_TABLE_VERSION, FIXTURES, FIXTURE_MANIFEST, FIXTURE_URL } from "./fixtureInputs";

function codeOf(fn: () => unknown): string {
    try {
        fn();
    } catch (e) {
        if (e instanceof SemanticSplatError) return e.code;
        return `not a SemanticSplatError: ${String(e)}`;
    }
    return "no error";
}

/** A hand-made ModelProto: ir_version 8, opset 17, one metadata entry and an empty graph. */
function tinyModelBytes(): Uint8Array {
    const text = (s: string) => [...new TextEncoder().encode(s)];
    const entry = [0x0a, 1, ...text("k"), 0x12, 1, ...text("8")]; // key = 1, value = 2
    return new Uint8Array([
        0x08, 8, // field 1 varint: ir_version 8
        0x3a, 0, // field 7 length-delimited: graph (empty)
        0x42, 2, 0x10, 17, // field 8: opset_import { version = 17 }
        0x72, entry.length, ...entry, // field 14: metadata_props
        0x28, 0xac, 0x02, // field 5 varint (model_version 300): skipped
    ]);
}

describe("ONNX header reader", () => {
    it("reads a hand-made ModelProto", () => {
        const header = readOnnxModelHeader(tinyModelBytes(), "tiny.onnx");
        expect(header.irVersion).toBe(8);
        expect(header.opsets).toEqual({ "": 17 });
        expect(header.metadata).toEqual({ k: "8" });
        expect(header.hasGraph).toBeTrue();
    });

    it("reads the fixture's metadata props as written by the factory script", async () => {
        const bytes = await (await fetch(FIXTURE_URL)).arrayBuffer();
        const header = readOnnxModelHeader(bytes, "vdvi-fixture.onnx");
        expect(header.opsets[""]).toBe(17);
        expect(header.metadata["k"]).toBe("8");
        expect(header.metadata["kind"]).toBe("vdvi");
        expect(header.metadata["class_table_version"]).toBe(CLASS_TABLE_VERSION);
        expect(header.metadata["size_multiple"]).toBe("32");
    });

    it("rejects empty, truncated and non-ONNX bytes with MODEL_INVALID", async () => {
        const bytes = new Uint8Array(await (await fetch(FIXTURE_URL)).arrayBuffer());
        expect(codeOf(() => readOnnxModelHeader(new Uint8Array(0), "empty.onnx"))).toBe("MODEL_INVALID");
        for (const cut of [1, 7, bytes.length >> 1, bytes.length - 1]) {
            expect(codeOf(() => readOnnxModelHeader(bytes.subarray(0, cut), "cut.onnx"))).withContext(`cut at ${cut}`).toBe("MODEL_INVALID");
        }
        expect(codeOf(() => readOnnxModelHeader(new TextEncoder().encode("<html>404</html>"), "page.onnx"))).toBe("MODEL_INVALID");
        expect(codeOf(() => readOnnxModelHeader(tinyModelBytes().subarray(0, 2), "nograph.onnx"))).toBe("MODEL_INVALID");
    });
});

describe("model contract checks", () => {
    const props = { kind: "vdvi", k: "8", num_classes: "21", class_table_version: CLASS_TABLE_VERSION, size_multiple: "32" };

    it("accepts a matching model and reports its numbers", () => {
        expect(checkModelMetadata("vdvi", props, { k: 8, classTableVersion: CLASS_TABLE_VERSION, numClasses: 21 }, "m.onnx")).toEqual({
            k: 8,
            classTableVersion: CLASS_TABLE_VERSION,
            numClasses: 21,
            sizeMultiple: 32,
        });
    });

    it("gives each mismatch its code", () => {
        expect(codeOf(() => checkModelMetadata("vdvi", props, { k: 16 }, "m.onnx"))).toBe("FEATURE_MISMATCH");
        expect(codeOf(() => checkModelMetadata("vdvi", props, { classTableVersion: "other/2" }, "m.onnx"))).toBe("CLASS_TABLE_MISMATCH");
        expect(codeOf(() => checkModelMetadata("vdvi", props, { numClasses: 20 }, "m.onnx"))).toBe("CLASS_TABLE_MISMATCH");
        expect(codeOf(() => checkModelMetadata("encoder", props, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
        expect(codeOf(() => checkModelMetadata("vdvi", { ...props, k: "eight" }, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
        expect(codeOf(() => checkModelMetadata("vdvi", { ...props, k: "0" }, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
        const { k: _k, ...noK } = props;
        expect(codeOf(() => checkModelMetadata("vdvi", noK, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
        const { class_table_version: _v, ...noVersion } = props;
        expect(codeOf(() => checkModelMetadata("vdvi", noVersion, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
    });

    const tensor = (name: string, type: string, shape: (number | string)[]): ValueDescription => ({ name, isTensor: true, type, shape });
    const goodInputs = [tensor("rgb", "float32", [1, 3, "H", "W"]), tensor("features", "float32", [1, 8, "H", "W"])];
    const goodOutputs = [tensor("labels", "uint8", [1, "H", "W"]), tensor("confidence", "float32", [1, "H", "W"])];

    it("checks contract 3 inputs and outputs", () => {
        expect(codeOf(() => checkVdviInputsOutputs(goodInputs, goodOutputs, 8, "m.onnx"))).toBe("no error");
        const int32Labels = [tensor("labels", "int32", [1, "H", "W"]), goodOutputs[1], tensor("logits", "float32", [1, 21, "H", "W"])];
        expect(codeOf(() => checkVdviInputsOutputs(goodInputs, int32Labels, 8, "m.onnx"))).toBe("no error");
        const bad: [ValueDescription[], ValueDescription[]][] = [
            [[tensor("image", "float32", [1, 3, "H", "W"]), goodInputs[1]], goodOutputs],
            [[goodInputs[0], tensor("features", "float32", [1, 4, "H", "W"])], goodOutputs],
            [[goodInputs[0], tensor("features", "float16", [1, 8, "H", "W"])], goodOutputs],
            [[tensor("rgb", "float32", [1, 3, 32]), goodInputs[1]], goodOutputs],
            [[...goodInputs, tensor("alpha", "float32", [1, 1, "H", "W"])], goodOutputs],
            [goodInputs, [goodOutputs[0]]],
            [goodInputs, [tensor("labels", "float32", [1, "H", "W"]), goodOutputs[1]]],
        ];
        for (const [inputs, outputs] of bad) {
            expect(codeOf(() => checkVdviInputsOutputs(inputs, outputs, 8, "m.onnx")))
                .withContext(JSON.stringify([inputs, outputs]))
                .toBe("MODEL_CONTRACT");
        }
    });

    it("checks the RGB-only fallback (kind vdvi-rgb): no K, a class table, exactly one input rgb", () => {
        const rgbProps = { kind: "vdvi-rgb", num_classes: "21", class_table_version: CLASS_TABLE_VERSION, size_multiple: "32" };
        // the caller's K is not the fallback's business: it reads no features
        expect(checkModelMetadata("vdvi-rgb", rgbProps, { k: 8, classTableVersion: CLASS_TABLE_VERSION, numClasses: 21 }, "r.onnx")).toEqual({
            k: 0,
            classTableVersion: CLASS_TABLE_VERSION,
            numClasses: 21,
            sizeMultiple: 32,
        });
        expect(codeOf(() => checkModelMetadata("vdvi", rgbProps, {}, "r.onnx"))).toBe("MODEL_CONTRACT");
        expect(codeOf(() => checkModelMetadata("vdvi-rgb", props, {}, "m.onnx"))).toBe("MODEL_CONTRACT");
        expect(codeOf(() => checkModelMetadata("vdvi-rgb", rgbProps, { classTableVersion: "other/2" }, "r.onnx"))).toBe("CLASS_TABLE_MISMATCH");
        const { class_table_version: _v, ...noVersion } = rgbProps;
        expect(codeOf(() => checkModelMetadata("vdvi-rgb", noVersion, {}, "r.onnx"))).toBe("MODEL_CONTRACT");

        expect(codeOf(() => checkRgbOnlyInputsOutputs([goodInputs[0]], goodOutputs, "r.onnx"))).toBe("no error");
        const bad: [ValueDescription[], ValueDescription[]][] = [
            [goodInputs, goodOutputs], // the full model's two inputs
            [[tensor("image", "float32", [1, 3, "H", "W"])], goodOutputs],
            [[tensor("rgb", "float32", [1, 4, "H", "W"])], goodOutputs],
            [[tensor("rgb", "float16", [1, 3, "H", "W"])], goodOutputs],
            [[goodInputs[0]], [goodOutputs[0]]],
            [[goodInputs[0]], [tensor("labels", "float32", [1, "H", "W"]), goodOutputs[1]]],
        ];
        for (const [inputs, outputs] of bad) {
            expect(codeOf(() => checkRgbOnlyInputsOutputs(inputs, outputs, "r.onnx")))
                .withContext(JSON.stringify([inputs, outputs]))
                .toBe("MODEL_CONTRACT");
        }
    });

    it("checks segment() sizes against the model", () => {
        expect(codeOf(() => checkSegmentInputs(3 * 64 * 32, 8 * 64 * 32, 64, 32, 8, 32))).toBe("no error");
        expect(codeOf(() => checkSegmentInputs(3 * 64 * 32, 8 * 64 * 32, 64, 32, 4, 32))).toBe("INVALID_ARGUMENT");
        expect(codeOf(() => checkSegmentInputs(3 * 40 * 32, 8 * 40 * 32, 40, 32, 8, 32))).toBe("INVALID_ARGUMENT");
        expect(codeOf(() => checkSegmentInputs(3 * 40 * 32, 8 * 40 * 32, 40, 32, 8, 1))).toBe("no error");
        expect(codeOf(() => checkSegmentInputs(0, 0, 0, 32, 8, 1))).toBe("INVALID_ARGUMENT");
        expect(codeOf(() => checkSegmentInputs(3 * 64 * 32 - 1, 8 * 64 * 32, 64, 32, 8, 32))).toBe("INVALID_ARGUMENT");
    });
});

describe("models manifest", () => {
    it("parses the fixture manifest and finds entries by file name and kind", async () => {
        const manifest = parseManifest(await (await fetch(FIXTURE_MANIFEST)).json(), FIXTURE_MANIFEST);
        const entry = findManifestEntry(manifest, "vdvi-fixture.onnx", "vdvi", FIXTURE_MANIFEST);
        expect(entry.k).toBe(8);
        expect(codeOf(() => findManifestEntry(manifest, "vdvi-fixture.onnx", "encoder", FIXTURE_MANIFEST))).toBe("MODEL_CONTRACT");
        expect(findManifestEntry(manifest, "vdvi-rgb-fixture.onnx", "vdvi-rgb", FIXTURE_MANIFEST).kind).toBe("vdvi-rgb");
        expect(codeOf(() => findManifestEntry(manifest, "vdvi-rgb-fixture.onnx", "vdvi", FIXTURE_MANIFEST))).toBe("MODEL_CONTRACT");
        expect(codeOf(() => findManifestEntry(manifest, "missing.onnx", "vdvi", FIXTURE_MANIFEST))).toBe("MODEL_INVALID");
        // The RGB-only fallback (kind "vdvi-rgb") is listed too, and is not a "vdvi" model.
        expect(manifest.models.find((m) => m.file === "vdvi-rgb-fixture.onnx")?.kind).toBe("vdvi-rgb");
        expect(codeOf(() => findManifestEntry(manifest, "vdvi-rgb-fixture.onnx", "vdvi", FIXTURE_MANIFEST))).toBe("MODEL_CONTRACT");
        const bytes = await (await fetch(`${FIXTURES}/${entry.file}`)).arrayBuffer();
        const digest = await sha256Hex(bytes);
        expect(codeOf(() => checkChecksum(digest, bytes.byteLength, { ...entry, source: "m" }, entry.file))).toBe("no error");
        expect(codeOf(() => checkChecksum(digest, bytes.byteLength - 1, { ...entry, source: "m" }, entry.file))).toBe("MODEL_INVALID");
        expect(codeOf(() => checkChecksum("f".repeat(64), bytes.byteLength, { ...entry, source: "m" }, entry.file))).toBe("MODEL_INVALID");
    });

    it("computes SHA-256 like everyone else (FIPS 180-2 test vector 'abc')", async () => {
        expect(await sha256Hex(new TextEncoder().encode("abc").buffer)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    });

    it("rejects malformed manifests, naming the field", () => {
        const good = { file: "a.onnx", kind: "vdvi", sha256: "a".repeat(64), bytes: 10 };
        expect(codeOf(() => parseManifest({ format: "semantic-splat-models/1", models: [good] }, "m.json"))).toBe("no error");
        for (const bad of [
            null,
            { format: "other/1", models: [] },
            { format: "semantic-splat-models/1" },
            { format: "semantic-splat-models/1", models: [{ ...good, sha256: "xyz" }] },
            { format: "semantic-splat-models/1", models: [{ ...good, kind: "decoder" }] },
            { format: "semantic-splat-models/1", models: [{ ...good, bytes: -1 }] },
        ]) {
            expect(codeOf(() => parseManifest(bad, "m.json"))).withContext(JSON.stringify(bad)).toBe("MODEL_INVALID");
        }
    });

    it("takes the manifest name from a URL's last path segment", () => {
        expect(fileNameOf("https://example.org/models/vdvi%2Dk16.onnx?v=2#x")).toBe("vdvi-k16.onnx");
        expect(fileNameOf("/base/test/fixtures/models/vdvi-fixture.onnx")).toBe("vdvi-fixture.onnx");
    });
});

describe("error encoding across the worker boundary", () => {
    it("keeps the code, message and file name through what comlink copies (name, message)", () => {
        const original = new SemanticSplatError("CLASS_TABLE_MISMATCH", "made for table x/1", "m.onnx");
        const encoded = encodeError(original, "INFERENCE_FAILED");
        // comlink rebuilds a thrown Error from its name and message only
        const crossed = Object.assign(new Error(encoded.message), { name: encoded.name });
        const decoded = decodeError(crossed, "WORKER_FAILED");
        expect(decoded).toBeInstanceOf(SemanticSplatError);
        expect(decoded.code).toBe("CLASS_TABLE_MISMATCH");
        expect(decoded.message).toBe(original.message);
        expect(decoded.fileName).toBe("m.onnx");
    });

    it("gives plain errors the fallback code and keeps their text", () => {
        const decoded = decodeError(encodeError(new TypeError("wasm trap"), "INFERENCE_FAILED"), "WORKER_FAILED");
        expect(isSemanticError(decoded, "INFERENCE_FAILED")).toBeTrue();
        expect(decoded.message).toContain("wasm trap");
        const foreign = decodeError(new Error("structured clone failed"), "WORKER_FAILED");
        expect(isSemanticError(foreign, "WORKER_FAILED")).toBeTrue();
    });
});

describe("model download budget", () => {
    const realFetch = globalThis.fetch;
    afterEach(() => {
        globalThis.fetch = realFetch;
    });

    /** A server that streams 1 MiB chunks for ever, without a Content-Length; counts the chunks it was asked for. */
    function endlessServer(): { pulled: () => number } {
        let pulled = 0;
        globalThis.fetch = async () =>
            new Response(
                new ReadableStream<Uint8Array>({
                    pull(controller) {
                        pulled++;
                        controller.enqueue(new Uint8Array(1024 * 1024));
                    },
                })
            );
        return { pulled: () => pulled };
    }

    it("stops as soon as the download passes the manifest's byte count (MODEL_INVALID), never reading on", async () => {
        const server = endlessServer();
        let caught: unknown;
        try {
            await fetchWithProgress("https://models.example/big.onnx", undefined, 2007);
        } catch (e) {
            caught = e;
        }
        expect(isSemanticError(caught, "MODEL_INVALID")).withContext(String(caught)).toBeTrue();
        expect((caught as Error).message).toMatch(/big\.onnx: the download passed the 2007 bytes the manifest gives/);
        expect(server.pulled()).toBeLessThan(4);
    });

    it("stops at maxModelBytes without a manifest (BUDGET_EXCEEDED), and refuses an announced size up front", async () => {
        const server = endlessServer();
        let caught: unknown;
        try {
            await fetchWithProgress("https://models.example/huge.onnx", undefined, undefined, 3 * 1024 * 1024);
        } catch (e) {
            caught = e;
        }
        expect(isSemanticError(caught, "BUDGET_EXCEEDED")).withContext(String(caught)).toBeTrue();
        expect((caught as Error).message).toMatch(/huge\.onnx: .*maxModelBytes budget of 3 MiB/);
        expect(server.pulled()).toBeLessThan(7);
        globalThis.fetch = async () => new Response(new Uint8Array(5000), { headers: { "Content-Length": "5000" } });
        let announced: unknown;
        try {
            await fetchWithProgress("https://models.example/five.onnx", undefined, 2007);
        } catch (e) {
            announced = e;
        }
        expect(isSemanticError(announced, "MODEL_INVALID")).withContext(String(announced)).toBeTrue();
    });
});
