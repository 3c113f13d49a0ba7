// Semantic vertex properties of a PLY scene (ARCHITECTURE.md contract 1), see docs/FORMATS.md:
//   f_sem_0 .. f_sem_{K-1}  per-Gaussian feature channels, float / double / half (`half` or `float16`)
//   sem_label               class id per Gaussian, uchar (255 = none) or ushort (65535 = none)
//   sem_instance            instance id per Gaussian, ushort (65535 = none) or uint (0xFFFFFFFF = none)
//
// Normalisation: labels come back as Uint16Array with none = LABEL_NONE (65535) whatever the stored type, and
// instances as Uint32Array with none = INSTANCE_NONE (0xFFFFFFFF), so callers never branch on the file's types.

import { SemanticSplatError } from "../errors";
import { asBytes, parsePlyHeader, visitVertexProperties, type PlyHeader, type PlyProperty, type PlyScalarType } from "./ply";

/** A Gaussian without a class: the value of `labels[i]` returned by the reader. */
export const LABEL_NONE = 65535;
/** A Gaussian without an instance: the value of `instances[i]` returned by the reader. */
export const INSTANCE_NONE = 0xffffffff;
/** The most feature channels a scene may carry (the paper uses 32, the default design point is 16). */
export const MAX_FEATURE_DIM = 64;

const FEATURE_NAME = /^f_sem_(0|[1-9][0-9]*)$/;

/** Where the semantic properties of a PLY are, from its header alone (no data read). */
export interface SemanticPropertyLayout {
    /** f_sem_0 .. f_sem_{K-1}, in channel order (not necessarily header order). Empty when the file has none. */
    readonly features: readonly PlyProperty[];
    /** K, the number of feature channels (0 when the file has none). */
    readonly featureDim: number;
    readonly label: PlyProperty | null;
    readonly instance: PlyProperty | null;
}

/** The semantic attributes of a scene, in vertex (= Gaussian, = Babylon splat index) order. */
export interface SemanticAttributes {
    /** Number of Gaussians. */
    readonly count: number;
    /** K, feature channels per Gaussian (0 when the file has no f_sem_*). */
    readonly featureDim: number;
    /** `count * featureDim` floats, row-major (`features[i * K + c]`), or null when the file has no features. */
    readonly features: Float32Array | null;
    /** Stored type of f_sem_0 (float32, float64 or float16; channels may differ, all are read exactly), or null. */
    readonly featureType: PlyScalarType | null;
    /** Class id per Gaussian, none = {@link LABEL_NONE}; null when the file has no sem_label. */
    readonly labels: Uint16Array | null;
    /** Stored type of sem_label (uint8 or uint16), or null. */
    readonly labelType: PlyScalarType | null;
    /** Instance id per Gaussian, none = {@link INSTANCE_NONE}; null when the file has no sem_instance. */
    readonly instances: Uint32Array | null;
    /** Stored type of sem_instance (uint16 or uint32), or null. */
    readonly instanceType: PlyScalarType | null;
}

/**
 * Finds and checks the semantic properties in a parsed header: f_sem_* indices contiguous from 0, K in
 * 1..{@link MAX_FEATURE_DIM}, all f_sem_* of a float type, sem_label uchar/ushort, sem_instance ushort/uint.
 *
 * @throws SemanticSplatError MALFORMED_FILE (gap in f_sem indices, malformed f_sem name),
 *   UNSUPPORTED_FORMAT (wrong property type, K above the limit)
 */
export function findSemanticProperties(header: PlyHeader): SemanticPropertyLayout {
    const fileName = header.fileName;
    const byIndex = new Map<number, PlyProperty>();
    let label: PlyProperty | null = null;
    let instance: PlyProperty | null = null;
    for (const property of header.vertex.properties) {
        if (property.name.startsWith("f_sem_")) {
            const match = FEATURE_NAME.exec(property.name);
            if (!match) throw new SemanticSplatError("MALFORMED_FILE", `feature property '${property.name}' is not named f_sem_<index> (decimal, no leading zeros)`, fileName);
            if (property.type !== "float32" && property.type !== "float64" && property.type !== "float16") {
                throw new SemanticSplatError("UNSUPPORTED_FORMAT", `feature property '${property.name}' has type '${property.typeName}'; f_sem_* must be float, double or half`, fileName);
            }
            byIndex.set(Number(match[1]), property);
        } else if (property.name === "sem_label") {
            if (property.type !== "uint8" && property.type !== "uint16") {
                throw new SemanticSplatError("UNSUPPORTED_FORMAT", `'sem_label' has type '${property.typeName}'; it must be uchar or ushort`, fileName);
            }
            label = property;
        } else if (property.name === "sem_instance") {
            if (property.type !== "uint16" && property.type !== "uint32") {
                throw new SemanticSplatError("UNSUPPORTED_FORMAT", `'sem_instance' has type '${property.typeName}'; it must be ushort or uint`, fileName);
            }
            instance = property;
        }
    }
    const featureDim = byIndex.size;
    const features: PlyProperty[] = [];
    for (let c = 0; c < featureDim; c++) {
        const property = byIndex.get(c);
        if (!property) {
            const found = [...byIndex.keys()].sort((a, b) => a - b);
            throw new SemanticSplatError(
                "MALFORMED_FILE",
                `f_sem_* indices must be contiguous from 0: f_sem_${c} is missing (found ${found.map((i) => `f_sem_${i}`).join(", ")})`,
                fileName
            );
        }
        features.push(property);
    }
    if (featureDim > MAX_FEATURE_DIM) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `the file has ${featureDim} feature channels f_sem_*; at most ${MAX_FEATURE_DIM} are supported`, fileName);
    }
    return { features, featureDim, label, instance };
}

/**
 * Reads f_sem_*, sem_label and sem_instance of every vertex of a PLY scene in one pass over the vertex rows.
 * Features are checked: a NaN or infinite value fails with INVALID_FEATURES naming the vertex and channel.
 *
 * @param data the whole PLY file
 * @param fileName name or URL, for error messages
 * @param header the parsed header when the caller already has it (it is parsed otherwise)
 * @param firstVertex the file's index of vertex 0 of `data`, when it is one chunk of a larger file (for messages)
 * @throws SemanticSplatError from {@link parsePlyHeader} and {@link findSemanticProperties}, and
 *   INVALID_FEATURES for non-finite feature values
 */
export function readSemanticAttributes(data: ArrayBuffer | ArrayBufferView, fileName: string, header?: PlyHeader, firstVertex = 0): SemanticAttributes {
    const bytes = asBytes(data);
    const parsed = header ?? parsePlyHeader(bytes, fileName);
    const layout = findSemanticProperties(parsed);
    const count = parsed.vertexCount;
    const K = layout.featureDim;

    // One pass over the vertex rows for every semantic column: [f_sem_0 .. f_sem_{K-1}, sem_label?, sem_instance?].
    const names = layout.features.map((p) => p.name);
    const labelColumn = layout.label ? names.push("sem_label") - 1 : -1;
    const instanceColumn = layout.instance ? names.push("sem_instance") - 1 : -1;
    const width = names.length;
    const features = K > 0 ? new Float32Array(count * K) : null;
    const labels = layout.label ? new Uint16Array(count) : null;
    const instances = layout.instance ? new Uint32Array(count) : null;
    const labelNone = layout.label?.type === "uint8" ? 255 : 65535;
    const instanceNone = layout.instance?.type === "uint16" ? 65535 : INSTANCE_NONE;

    visitVertexProperties(bytes, parsed, names, (values, chunkFirst, rows) => {
        if (features) {
            for (let r = 0, i = 0, o = chunkFirst * K; r < rows; r++, i += width - K) {
                for (let c = 0; c < K; c++, i++, o++) {
                    const value = values[i];
                    if (value - value !== 0) {
                        // NaN - NaN and Inf - Inf are NaN; finite - itself is 0. (A double too large for float32
                        // becomes Inf when stored, so check the stored value too.)
                        throw new SemanticSplatError("INVALID_FEATURES", `vertex ${firstVertex + chunkFirst + r} has a non-finite feature f_sem_${c} = ${value}`, fileName);
                    }
                    features[o] = value;
                }
            }
        }
        if (labels) {
            for (let r = 0, i = labelColumn; r < rows; r++, i += width) {
                const label = values[i];
                labels[chunkFirst + r] = label === labelNone ? LABEL_NONE : label;
            }
        }
        if (instances) {
            for (let r = 0, i = instanceColumn; r < rows; r++, i += width) {
                const instance = values[i];
                instances[chunkFirst + r] = instance === instanceNone ? INSTANCE_NONE : instance;
            }
        }
    });
    if (features) {
        // float64 features beyond the float32 range became Inf when stored.
        const bad = findNonFinite(features);
        if (bad >= 0) throw new SemanticSplatError("INVALID_FEATURES", `vertex ${firstVertex + Math.floor(bad / K)} has a non-finite feature f_sem_${bad % K} = ${features[bad]}`, fileName);
    }

    return {
        count,
        featureDim: K,
        features,
        featureType: K > 0 ? layout.features[0].type : null,
        labels,
        labelType: layout.label?.type ?? null,
        instances,
        instanceType: layout.instance?.type ?? null,
    };
}

/** Index of the first NaN or infinite value, or -1. */
export function findNonFinite(values: Float32Array): number {
    for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
    }
    return -1;
}
