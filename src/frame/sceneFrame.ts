// The scene frame (issue 13, docs/FRAME.md): the proper rotation, scale and floor that take a scene as some capture
// tool wrote it to the encoder's canonical frame (metres, +Y up, floor at y = 0), and how it is described, recorded
// and chosen (explicit options always win over the estimate). Pure TypeScript: no Babylon, no onnxruntime.
import { SemanticSplatError } from "../errors";

/** Which direction of the (world-transformed) scene is up: the six axis choices of an explicit frame. */
export type UpAxis = "+y" | "-y" | "+z" | "-z" | "+x" | "-x";

/** How a frame was chosen: estimated from the Gaussians, given by the caller, or the old defaults (`frame: "none"`). */
export type SceneFrameSource = "auto" | "explicit" | "none";

export interface SceneFrame {
    /** 3x3 proper rotation, row-major: canonical = rotation . scene (after the mesh's world matrix). */
    readonly rotation: readonly number[];
    /** Metres per scene unit. */
    readonly metresPerUnit: number;
    /** Height of the floor in metres after rotation and scale; the encoder input subtracts it from y. */
    readonly floorHeight: number;
    /** 0..1: how sure the estimate is (1 for an explicit frame, 0 for `frame: "none"`). */
    readonly confidence: number;
    /** True when the estimator fell back to the documented defaults (identity, 1 m, floor 0). */
    readonly fallback: boolean;
    readonly source: SceneFrameSource;
    /** What the estimate rests on (JSON); empty for explicit frames and frames read back from a file. */
    readonly evidence: Record<string, unknown>;
}

export const IDENTITY_ROTATION: readonly number[] = Object.freeze([1, 0, 0, 0, 1, 0, 0, 0, 1]);

/** The scene frame options shared by encodeScene, the worker, the mesh encoder and the command. */
export interface SceneFrameChoice {
    /**
     * "auto" (default): estimate the frame from the Gaussians (docs/FRAME.md). "none": the old defaults (+Y up,
     * 1 unit = 1 m, floor 0). Any explicit field below (rotation, upAxis, metresPerUnit, floorHeight) makes the
     * whole frame explicit: the estimate is not run and the fields not given take the defaults.
     */
    frame?: "auto" | "none";
    /** Explicit rotation, 9 numbers row-major, canonical = R . scene (wins over upAxis). */
    rotation?: ArrayLike<number>;
    /** Explicit up direction of the scene after the world matrix (one of the six axes). */
    upAxis?: UpAxis;
    /** Explicit metres per scene unit: 0.01 for a scene in centimetres. */
    metresPerUnit?: number;
    /** Explicit floor height in metres (after rotation and scale). */
    floorHeight?: number;
}

/** Rotation taking `up` to +Y (rows of a 3x3 matrix applied as p' = R p), a proper rotation (det +1). */
export function upAxisRotation(up: UpAxis): number[] {
    switch (up) {
        case "+y": return [1, 0, 0, 0, 1, 0, 0, 0, 1];
        case "-y": return [1, 0, 0, 0, -1, 0, 0, 0, -1]; // 180 degrees about x
        case "+z": return [1, 0, 0, 0, 0, 1, 0, -1, 0]; // -90 degrees about x: z -> y, y -> -z
        case "-z": return [1, 0, 0, 0, 0, -1, 0, 1, 0];
        case "+x": return [0, -1, 0, 1, 0, 0, 0, 0, 1]; // about z: x -> y
        case "-x": return [0, 1, 0, -1, 0, 0, 0, 0, 1];
        default: throw new SemanticSplatError("INVALID_ARGUMENT", `upAxis must be one of +y, -y, +z, -z, +x, -x, got "${String(up)}"`);
    }
}

/** Throws INVALID_ARGUMENT unless `r` is 9 finite numbers forming a proper rotation (orthonormal within 1e-3, det +1). */
export function checkRotation(r: ArrayLike<number>, what = "rotation"): number[] {
    const a = Array.from(r ?? []);
    if (a.length !== 9 || !a.every(Number.isFinite)) throw new SemanticSplatError("INVALID_ARGUMENT", `${what} must be 9 finite numbers (3x3 row-major), got ${a.length} values`);
    for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
            const dot = a[3 * i] * a[3 * j] + a[3 * i + 1] * a[3 * j + 1] + a[3 * i + 2] * a[3 * j + 2];
            if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-3) throw new SemanticSplatError("INVALID_ARGUMENT", `${what} is not orthonormal (row ${i} . row ${j} = ${dot.toFixed(4)})`);
        }
    }
    if (det3(a) < 0) throw new SemanticSplatError("INVALID_ARGUMENT", `${what} is a reflection (det -1), not a rotation`);
    return a;
}

export function det3(a: ArrayLike<number>): number {
    return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
}

/** True when the caller gave any explicit frame field. */
export function hasExplicitFrame(choice: SceneFrameChoice): boolean {
    return choice.rotation !== undefined || choice.upAxis !== undefined || choice.metresPerUnit !== undefined || choice.floorHeight !== undefined;
}

/** The frame of `frame: "none"`: the old defaults. */
export function noneFrame(): SceneFrame {
    return { rotation: [...IDENTITY_ROTATION], metresPerUnit: 1, floorHeight: 0, confidence: 0, fallback: false, source: "none", evidence: {} };
}

/** The explicit frame of `choice` (fields not given: +Y up, 1 m, floor 0). Throws INVALID_ARGUMENT on bad values. */
export function explicitFrame(choice: SceneFrameChoice): SceneFrame {
    const rotation = choice.rotation !== undefined ? checkRotation(choice.rotation) : upAxisRotation(choice.upAxis ?? "+y");
    const metresPerUnit = choice.metresPerUnit ?? 1;
    if (typeof metresPerUnit !== "number" || !(metresPerUnit > 0) || !Number.isFinite(metresPerUnit)) {
        throw new SemanticSplatError("INVALID_ARGUMENT", `metresPerUnit must be a positive number, got ${String(choice.metresPerUnit)}`);
    }
    const floorHeight = choice.floorHeight ?? 0;
    if (typeof floorHeight !== "number" || !Number.isFinite(floorHeight)) throw new SemanticSplatError("INVALID_ARGUMENT", `floorHeight must be a finite number, got ${String(choice.floorHeight)}`);
    return { rotation, metresPerUnit, floorHeight, confidence: 1, fallback: false, source: "explicit", evidence: {} };
}

/** Checks `frame` option values ("auto" | "none" | undefined). */
export function checkFrameMode(mode: unknown): "auto" | "none" {
    if (mode === undefined || mode === "auto") return "auto";
    if (mode === "none") return "none";
    throw new SemanticSplatError("INVALID_ARGUMENT", `frame must be "auto" or "none", got "${String(mode)}"`);
}

/** One line, as the command prints it and the demo shows it: "up +Z (tilt 3 deg), 1 unit = 0.01 m, floor -1.42, confidence 0.93". */
export function describeSceneFrame(frame: Pick<SceneFrame, "rotation" | "metresPerUnit" | "floorHeight" | "confidence" | "fallback"> & { source?: SceneFrameSource; evidence?: Record<string, unknown> }): string {
    const up = [frame.rotation[3], frame.rotation[4], frame.rotation[5]]; // the scene direction mapped to +Y
    let k = 0;
    for (let i = 1; i < 3; i++) if (Math.abs(up[i]) > Math.abs(up[k])) k = i;
    const axis = (up[k] >= 0 ? "+" : "-") + "XYZ"[k];
    const tilt = (Math.acos(Math.min(1, Math.abs(up[k]))) * 180) / Math.PI;
    const text = `up ${axis} (tilt ${tilt.toFixed(0)} deg), 1 unit = ${formatSig(frame.metresPerUnit, 3)} m, floor ${(Math.abs(frame.floorHeight) < 0.005 ? 0 : frame.floorHeight).toFixed(2)}, confidence ${frame.confidence.toFixed(2)}`;
    if (frame.source === "explicit") return `${text} (explicit)`;
    if (frame.source === "none") return `${text} (frame none)`;
    if (frame.fallback) return `${text} (fallback)`;
    // an estimate whose scale is not measured (no ceiling found: a power-of-ten unit guess, docs/FRAME.md)
    const scale = frame.evidence?.scale;
    return typeof scale === "string" ? `${text} (${scale})` : text;
}

/** Python's "%.Ng" for the numbers a frame shows (no exponent for 1e-4..1e6). */
function formatSig(v: number, digits: number): string {
    if (v === 0 || !Number.isFinite(v)) return String(v);
    const e = Math.floor(Math.log10(Math.abs(v)));
    if (e < -4 || e >= digits) return v.toPrecision(digits).replace(/\.?0+e/, "e");
    return String(Number(v.toPrecision(digits)));
}

/** Prefix of the PLY header comment that records the frame next to the features. */
export const SCENE_FRAME_COMMENT_PREFIX = "semantic_scene_frame ";

/** The compact JSON record saved with features (PLY comment, sidecar v2): no evidence. */
export function sceneFrameRecord(frame: SceneFrame): string {
    return JSON.stringify({
        rotation: frame.rotation.map((v) => Number(v.toFixed(7))),
        metresPerUnit: Number(frame.metresPerUnit.toPrecision(9)),
        floorHeight: Number(frame.floorHeight.toFixed(6)),
        confidence: Number(frame.confidence.toFixed(4)),
        fallback: frame.fallback,
        source: frame.source,
    });
}

/** Parses a record written by sceneFrameRecord; throws MALFORMED_FILE naming `fileName` when it is not one. */
export function parseSceneFrameRecord(text: string, fileName?: string): SceneFrame {
    let v: Record<string, unknown>;
    try {
        v = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
        throw new SemanticSplatError("MALFORMED_FILE", `the recorded scene frame is not JSON: ${text.slice(0, 80)}`, fileName, { cause });
    }
    const bad = (what: string) => new SemanticSplatError("MALFORMED_FILE", `the recorded scene frame has ${what}`, fileName);
    if (!v || typeof v !== "object") throw bad("no fields");
    const rotation = v.rotation;
    if (!Array.isArray(rotation) || rotation.length !== 9 || !rotation.every((x) => typeof x === "number" && Number.isFinite(x))) throw bad("no 3x3 rotation");
    if (typeof v.metresPerUnit !== "number" || !(v.metresPerUnit > 0) || !Number.isFinite(v.metresPerUnit)) throw bad(`metresPerUnit ${String(v.metresPerUnit)}`);
    if (typeof v.floorHeight !== "number" || !Number.isFinite(v.floorHeight)) throw bad(`floorHeight ${String(v.floorHeight)}`);
    const confidence = typeof v.confidence === "number" && Number.isFinite(v.confidence) ? Math.min(1, Math.max(0, v.confidence)) : 0;
    const source: SceneFrameSource = v.source === "explicit" || v.source === "none" ? v.source : "auto";
    return { rotation: rotation as number[], metresPerUnit: v.metresPerUnit, floorHeight: v.floorHeight, confidence, fallback: v.fallback === true, source, evidence: {} };
}

/** The frame recorded in PLY header comments (the last one wins), or null. */
export function sceneFrameFromComments(comments: readonly string[], fileName?: string): SceneFrame | null {
    for (let i = comments.length - 1; i >= 0; i--) {
        if (comments[i].startsWith(SCENE_FRAME_COMMENT_PREFIX)) return parseSceneFrameRecord(comments[i].slice(SCENE_FRAME_COMMENT_PREFIX.length), fileName);
    }
    return null;
}
