// The validation policy for Gaussian values and labels (docs/FORMATS.md, "Budgets and validation policy").
//
// A Gaussian is invalid when a value the renderer uses is not finite or is degenerate:
// - a position coordinate that is not finite or beyond MAX_POSITION (its square, used in depth and projection
//   maths in float32, would overflow);
// - a scale that is not finite or beyond MAX_SCALE once linear (PLY stores log scales: exp(s) <= MAX_SCALE); the
//   covariance squares it, and float32 overflows at 3.4e38;
// - a rotation quaternion with a non-finite component or all components 0 (normalising it gives NaN);
// - a non-finite opacity or colour coefficient (f_dc_*, f_rest_*).
// Invalid Gaussians are refused (INVALID_GAUSSIANS naming the first one) unless the caller asks to drop them.
// Labels (sem_label) at or beyond the class table's size, other than "none", are refused (INVALID_LABELS) or
// mapped to none.
import { SemanticSplatError } from "../errors";

/** What to do with Gaussians holding non-finite or degenerate values. */
export type InvalidGaussianPolicy = "refuse" | "drop";
/** What to do with labels outside the class table. */
export type InvalidLabelPolicy = "refuse" | "none";

/** Largest linear scale accepted (its square stays finite in float32). */
export const MAX_SCALE = 1e18;
/** Largest log scale accepted (PLY `scale_*`): ln(MAX_SCALE). */
export const MAX_LOG_SCALE = Math.log(MAX_SCALE);
/** Largest position coordinate magnitude accepted. */
export const MAX_POSITION = 1e18;
/**
 * Classes in the package's class table (models/classes.json; a spec checks the two agree): the default
 * `classCount` of a load.
 */
export const DEFAULT_CLASS_COUNT = 21;

/** Options of the validation policy; every field is optional. */
export interface ValidationOptions {
    /** Refuse (default) or drop Gaussians with non-finite or degenerate values. */
    invalidGaussians?: InvalidGaussianPolicy;
    /** Refuse (default) labels outside the class table, or map them to none. */
    invalidLabels?: InvalidLabelPolicy;
    /** Classes in the class table: labels 0..classCount-1 are valid. Default {@link DEFAULT_CLASS_COUNT}. */
    classCount?: number;
}

export function resolveValidation(options: ValidationOptions | undefined): Required<ValidationOptions> {
    const invalidGaussians = options?.invalidGaussians ?? "refuse";
    const invalidLabels = options?.invalidLabels ?? "refuse";
    const classCount = options?.classCount ?? DEFAULT_CLASS_COUNT;
    if (invalidGaussians !== "refuse" && invalidGaussians !== "drop") {
        throw new SemanticSplatError("INVALID_ARGUMENT", `invalidGaussians must be "refuse" or "drop", got ${JSON.stringify(invalidGaussians)}`);
    }
    if (invalidLabels !== "refuse" && invalidLabels !== "none") {
        throw new SemanticSplatError("INVALID_ARGUMENT", `invalidLabels must be "refuse" or "none", got ${JSON.stringify(invalidLabels)}`);
    }
    if (!Number.isInteger(classCount) || classCount < 1 || classCount > 65535) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `classCount must be an integer in 1..65535, got ${String(classCount)}`);
    }
    return { invalidGaussians, invalidLabels, classCount };
}

/**
 * Collects invalid Gaussians while a reader walks them: refuses at the first one under "refuse", marks it in
 * a keep mask (allocated at the first invalid Gaussian) under "drop".
 */
export class GaussianValidator {
    private keepMask: Uint8Array | null = null;
    private droppedCount = 0;

    /** `firstIndex`: the file's index of Gaussian 0 here, when these are one chunk of a larger file (messages name
     *  the file's index; the keep mask stays local). */
    constructor(
        private readonly count: number,
        private readonly policy: InvalidGaussianPolicy,
        private readonly fileName: string,
        private readonly firstIndex = 0
    ) {}

    /** Records Gaussian `index` as invalid because of `why` (e.g. "scale_1 is Infinity"). */
    invalid(index: number, why: string): void {
        if (this.policy === "refuse") {
            throw new SemanticSplatError(
                "INVALID_GAUSSIANS",
                `Gaussian ${this.firstIndex + index} is invalid: ${why} (the first such Gaussian; load with invalidGaussians: "drop" to skip them)`,
                this.fileName
            );
        }
        if (!this.keepMask) this.keepMask = new Uint8Array(this.count).fill(1);
        if (this.keepMask[index]) {
            this.keepMask[index] = 0;
            this.droppedCount++;
        }
    }

    /** Gaussians dropped so far. */
    get dropped(): number {
        return this.droppedCount;
    }

    /** 1 for each kept Gaussian, or null when none was dropped. */
    get keep(): Uint8Array | null {
        return this.keepMask;
    }

    /** INVALID_GAUSSIANS when every Gaussian was dropped. */
    finish(): void {
        if (this.droppedCount === this.count) {
            throw new SemanticSplatError("INVALID_GAUSSIANS", `every one of the ${this.count} Gaussians is invalid (non-finite or degenerate values): nothing left to load`, this.fileName);
        }
    }
}

/** Describes a number for a message ("NaN", "Infinity", "1e+30"). */
export function describeValue(v: number): string {
    return Number.isNaN(v) ? "NaN" : String(v);
}

/**
 * Checks labels against the class table in place: values >= classCount other than `none` are refused or set to
 * `none`. Returns how many were mapped. `firstIndex`: the file's index of labels[0] (for messages).
 */
export function checkLabels(labels: Uint16Array, none: number, options: Required<ValidationOptions>, fileName: string, firstIndex = 0): number {
    let mapped = 0;
    for (let i = 0; i < labels.length; i++) {
        const label = labels[i];
        if (label === none || label < options.classCount) continue;
        if (options.invalidLabels === "refuse") {
            throw new SemanticSplatError(
                "INVALID_LABELS",
                `Gaussian ${firstIndex + i} has sem_label ${label}, outside the class table's ${options.classCount} classes (load with invalidLabels: "none" to map such labels to none)`,
                fileName
            );
        }
        labels[i] = none;
        mapped++;
    }
    return mapped;
}

/** Keeps the rows of `values` ([count x width]) whose `keep` entry is 1. */
export function keepRows<T extends Float32Array | Uint16Array | Uint8Array>(values: T, width: number, keep: Uint8Array, kept: number): T {
    const out = new (values.constructor as new (n: number) => T)(kept * width);
    let o = 0;
    for (let i = 0; i < keep.length; i++) {
        if (!keep[i]) continue;
        out.set(values.subarray(i * width, (i + 1) * width), o);
        o += width;
    }
    return out;
}
