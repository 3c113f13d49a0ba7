// Errors of the runtime. Every error carries a stable `code` (tests and callers branch on it, and it survives
// the worker boundary, where comlink keeps only name, message and stack: see ../shared/ENVIRONMENT.md).

export type SemanticErrorCode =
    // files and scene data
    | "MALFORMED_FILE" // a scene or sidecar file that cannot be parsed
    | "UNSUPPORTED_FORMAT" // a file type or property type we do not read
    | "EMPTY_SCENE" // a scene with zero Gaussians
    | "FEATURE_MISMATCH" // counts or K disagree (file vs sidecar, features vs splats, model vs mesh)
    | "INVALID_FEATURES" // NaN/Inf or otherwise unusable per-Gaussian features
    | "INVALID_ARGUMENT" // a caller passed something out of range
    | "INVALID_GAUSSIANS" // non-finite or degenerate Gaussian values (positions, scales, rotations, opacity, colour)
    | "INVALID_LABELS" // per-Gaussian labels outside the class table
    | "BUDGET_EXCEEDED" // a file, its decompressed data, its Gaussians or a model exceed a resource budget
    // GPU
    | "NO_WEBGPU" // the engine is not a WebGPUEngine or the browser offers no adapter
    | "GPU_LIMITS" // the device cannot provide what a pass needs
    // models and the worker
    | "MODEL_NOT_FOUND" // fetching a model failed (404, network)
    | "MODEL_INVALID" // corrupt or truncated model, checksum mismatch
    | "MODEL_CONTRACT" // inputs/outputs/metadata disagree with ARCHITECTURE.md contract 3 / 2
    | "CLASS_TABLE_MISMATCH" // the model's class table version differs from the loaded table
    | "WORKER_FAILED" // the worker script failed to load or died
    | "WORKER_TIMEOUT" // initialisation did not finish in time
    | "INFERENCE_FAILED" // onnxruntime raised during a run
    | "CANCELLED" // the caller cancelled or disposed while work was in flight
    | "DISPOSED"; // the object was used after dispose()

export class SemanticSplatError extends Error {
    override readonly name = "SemanticSplatError";
    constructor(
        readonly code: SemanticErrorCode,
        message: string,
        /** The file (name or URL) the error is about, when there is one. */
        readonly fileName?: string,
        options?: { cause?: unknown }
    ) {
        super(fileName ? `${fileName}: ${message}` : message, options);
    }

    /** A plain object that crosses postMessage/comlink intact. */
    toJSON(): { name: string; code: SemanticErrorCode; message: string; fileName?: string } {
        return { name: this.name, code: this.code, message: this.message, fileName: this.fileName };
    }
}

/** True when `e` is a SemanticSplatError with the given code. */
export function isSemanticError(e: unknown, code?: SemanticErrorCode): e is SemanticSplatError {
    return e instanceof SemanticSplatError && (code === undefined || e.code === code);
}
