// Checks a model against ARCHITECTURE.md contract 3 (VDVI) and the caller's expectations, from its ONNX metadata
// props and from the input/output metadata onnxruntime reports. Pure: tested without onnxruntime.
import { SemanticSplatError } from "../errors";
import type { ModelExpectations, ModelKind, ModelMetadataProps } from "./protocol";

/** The metadata keys the runtime reads (docs/MODELS.md). */
export const METADATA_KEYS = {
    kind: "kind",
    k: "k",
    numClasses: "num_classes",
    classTableVersion: "class_table_version",
    sizeMultiple: "size_multiple",
} as const;

export interface CheckedMetadata {
    k: number;
    classTableVersion: string | null;
    numClasses: number | null;
    sizeMultiple: number;
}

/** onnxruntime's description of one input or output (InferenceSession.inputMetadata / outputMetadata). */
export interface ValueDescription {
    name: string;
    isTensor: boolean;
    type?: string;
    shape?: ReadonlyArray<number | string>;
}

function positiveInt(props: ModelMetadataProps, key: string, fileName: string): number | null {
    const text = props[key];
    if (text === undefined) return null;
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
        throw new SemanticSplatError("MODEL_CONTRACT", `metadata "${key}" must be a positive integer, got "${text}"`, fileName);
    }
    return value;
}

/** Reads and checks the metadata props of a model of `kind` against the caller's expectations. */
export function checkModelMetadata(
    kind: ModelKind,
    props: ModelMetadataProps,
    expect: ModelExpectations,
    fileName: string
): CheckedMetadata {
    const declaredKind = props[METADATA_KEYS.kind];
    if (declaredKind !== undefined && declaredKind !== kind) {
        throw new SemanticSplatError("MODEL_CONTRACT", `metadata says kind "${declaredKind}", loaded as "${kind}"`, fileName);
    }
    // The RGB-only fallback reads no features: no K (0), whatever its metadata says.
    const rgbOnly = kind === "vdvi-rgb";
    const k = rgbOnly ? 0 : positiveInt(props, METADATA_KEYS.k, fileName);
    if (k === null) throw new SemanticSplatError("MODEL_CONTRACT", `metadata "${METADATA_KEYS.k}" (feature channels K) is missing`, fileName);
    const classTableVersion = props[METADATA_KEYS.classTableVersion] ?? null;
    if ((kind === "vdvi" || rgbOnly) && classTableVersion === null) {
        throw new SemanticSplatError("MODEL_CONTRACT", `metadata "${METADATA_KEYS.classTableVersion}" is missing`, fileName);
    }
    const numClasses = positiveInt(props, METADATA_KEYS.numClasses, fileName);
    const sizeMultiple = positiveInt(props, METADATA_KEYS.sizeMultiple, fileName) ?? 1;

    if (!rgbOnly && expect.k !== undefined && expect.k !== k) {
        throw new SemanticSplatError("FEATURE_MISMATCH", `model expects K = ${k} feature channels, the caller has K = ${expect.k}`, fileName);
    }
    if (expect.classTableVersion !== undefined && classTableVersion !== expect.classTableVersion) {
        throw new SemanticSplatError(
            "CLASS_TABLE_MISMATCH",
            `model was made for class table "${classTableVersion}", the loaded table is "${expect.classTableVersion}"`,
            fileName
        );
    }
    if (expect.numClasses !== undefined && numClasses !== null && numClasses !== expect.numClasses) {
        throw new SemanticSplatError(
            "CLASS_TABLE_MISMATCH",
            `model has ${numClasses} classes, the loaded class table has ${expect.numClasses}`,
            fileName
        );
    }
    return { k, classTableVersion, numClasses, sizeMultiple };
}

function describe(value: ValueDescription | undefined): string {
    if (!value) return "missing";
    return value.isTensor ? `${value.type} [${(value.shape ?? []).join(",")}]` : "not a tensor";
}

function dimIs(shape: ReadonlyArray<number | string> | undefined, axis: number, expected: number): boolean {
    const d = shape?.[axis];
    // symbolic or unknown dimensions are accepted; a fixed one must match
    return d === undefined || typeof d === "string" || d < 0 || d === expected;
}

/** Contract 3: inputs rgb float32 [1,3,H,W] and features float32 [1,K,H,W]; outputs labels uint8|int32 [1,H,W]
 *  and confidence float32 [1,H,W]. Extra outputs (e.g. logits) are allowed, extra inputs are not. */
export function checkVdviInputsOutputs(
    inputs: readonly ValueDescription[],
    outputs: readonly ValueDescription[],
    k: number,
    fileName: string
): void {
    const byName = (list: readonly ValueDescription[], name: string) => list.find((v) => v.name === name);
    const fail = (what: string): never => {
        throw new SemanticSplatError(
            "MODEL_CONTRACT",
            `${what} (contract 3: inputs rgb [1,3,H,W] + features [1,K,H,W], outputs labels + confidence [1,H,W]; ` +
                `model inputs: ${inputs.map((v) => `${v.name} ${describe(v)}`).join(", ")}; ` +
                `outputs: ${outputs.map((v) => `${v.name} ${describe(v)}`).join(", ")})`,
            fileName
        );
    };
    const rgb = byName(inputs, "rgb");
    const features = byName(inputs, "features");
    if (!rgb || !features) fail(`input "${!rgb ? "rgb" : "features"}" is missing`);
    if (inputs.length !== 2) fail(`expected exactly 2 inputs, found ${inputs.length}`);
    checkImageInput(rgb!, 3, fail);
    checkImageInput(features!, k, fail);
    checkSegmentationOutputs(outputs, fail);
}

/** The RGB-only fallback's contract ("vdvi-rgb/1", kind "vdvi-rgb"): contract 3 without the features input, i.e.
 *  exactly one input rgb float32 [1,3,H,W]; outputs labels uint8|int32 [1,H,W] and confidence float32 [1,H,W]. */
export function checkRgbOnlyInputsOutputs(inputs: readonly ValueDescription[], outputs: readonly ValueDescription[], fileName: string): void {
    const fail = (what: string): never => {
        throw new SemanticSplatError(
            "MODEL_CONTRACT",
            `${what} (RGB-only fallback "vdvi-rgb": one input rgb [1,3,H,W], outputs labels + confidence [1,H,W]; ` +
                `model inputs: ${inputs.map((v) => `${v.name} ${describe(v)}`).join(", ")}; ` +
                `outputs: ${outputs.map((v) => `${v.name} ${describe(v)}`).join(", ")})`,
            fileName
        );
    };
    const rgb = inputs.find((v) => v.name === "rgb");
    if (!rgb) fail(`input "rgb" is missing`);
    if (inputs.length !== 1) fail(`expected exactly 1 input, found ${inputs.length}`);
    checkImageInput(rgb!, 3, fail);
    checkSegmentationOutputs(outputs, fail);
}

function checkImageInput(value: ValueDescription, channels: number, fail: (what: string) => never): void {
    if (!value.isTensor) fail(`input "${value.name}" is not a tensor`);
    if (value.type !== undefined && value.type !== "float32") fail(`input "${value.name}" must be float32`);
    if (value.shape && value.shape.length > 0 && value.shape.length !== 4) fail(`input "${value.name}" must have rank 4`);
    if (!dimIs(value.shape, 0, 1)) fail(`input "${value.name}" must have batch 1`);
    if (!dimIs(value.shape, 1, channels)) fail(`input "${value.name}" must have ${channels} channels`);
}

function checkSegmentationOutputs(outputs: readonly ValueDescription[], fail: (what: string) => never): void {
    const labels = outputs.find((v) => v.name === "labels");
    const confidence = outputs.find((v) => v.name === "confidence");
    if (!labels || !confidence) fail(`output "${!labels ? "labels" : "confidence"}" is missing`);
    if (!labels!.isTensor || (labels!.type !== undefined && labels!.type !== "uint8" && labels!.type !== "int32")) {
        fail(`output "labels" must be a uint8 or int32 tensor`);
    }
    if (!confidence!.isTensor || (confidence!.type !== undefined && confidence!.type !== "float32")) {
        fail(`output "confidence" must be a float32 tensor`);
    }
    for (const value of [labels!, confidence!]) {
        if (value.shape && value.shape.length > 0 && value.shape.length !== 3) fail(`output "${value.name}" must have rank 3`);
    }
}

/** A segment() request's sizes against the loaded model: INVALID_ARGUMENT with the numbers when they disagree. */
export function checkSegmentInputs(
    rgbLength: number,
    featuresLength: number,
    width: number,
    height: number,
    k: number,
    sizeMultiple: number
): void {
    const fail = (what: string) => {
        throw new SemanticSplatError("INVALID_ARGUMENT", `segment(): ${what}`);
    };
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
        fail(`width and height must be positive integers, got ${width} x ${height}`);
    }
    if (width % sizeMultiple !== 0 || height % sizeMultiple !== 0) {
        fail(`the model needs width and height that are multiples of ${sizeMultiple}, got ${width} x ${height}`);
    }
    const pixels = width * height;
    if (rgbLength !== 3 * pixels) fail(`rgb has ${rgbLength} values, expected 3 x ${width} x ${height} = ${3 * pixels}`);
    if (featuresLength !== k * pixels) {
        fail(`features has ${featuresLength} values, expected K x ${width} x ${height} = ${k * pixels} (K = ${k})`);
    }
}
