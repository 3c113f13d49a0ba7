// The feature cache's entries (docs/ENCODER.md, "Feature cache"): computed encoder features keyed by what made them,
// so reopening a scene does not encode it again. One format for the browser's cache (FeatureCache, OPFS or
// IndexedDB) and the encode command's `.semcache` file beside the scene:
//
//   "SEMC" | u32 version (1) | 32 bytes key (SHA-256) | a feature sidecar (.semf v1/v2: fp16 features, the encoder
//   id and the scene frame)
//
// The key is the SHA-256 of a text naming the encoder (id, version, the model file's SHA-256), the frame choice, the
// tiling halo (only a finite one changes features) and the SHA-256 of the scene's 32-byte splat rows with the world
// matrix. Any change to any of them is a different key: a stale entry is a miss, never wrong features.
// Pure TypeScript on WebCrypto (crypto.subtle: browsers, workers and Node 20).
import { SemanticSplatError } from "../errors";
import { decodeFeatureSidecar, encodeFeatureSidecar, encodeFeatureSidecarParts, type FeatureSidecar, type FeatureSidecarInput } from "../formats/featureSidecar";
import type { SceneFrameChoice } from "../frame/sceneFrame";

export const SEMCACHE_MAGIC = "SEMC";
export const SEMCACHE_VERSION = 1;
const HEADER_BYTES = 4 + 4 + 32;
/** Bytes before an entry's sidecar: entry.subarray(SEMCACHE_HEADER_BYTES) is the feature sidecar itself. */
export const SEMCACHE_HEADER_BYTES = HEADER_BYTES;

/** What decides an encode's features: the cache key's parts. */
export interface FeatureCacheKeyInput {
    /** Babylon's 32-byte splat rows of the scene. */
    rows: ArrayBuffer | ArrayBufferView;
    /** The mesh's world matrix (16 numbers), default identity. */
    worldMatrix?: ArrayLike<number>;
    /** The encoder's id and version (optional: the model's SHA-256 already names it). */
    encoderId?: string;
    encoderVersion?: number;
    /** SHA-256 (hex) of the encoder model file. */
    modelSha256: string;
    /** The frame choice (SceneFrameChoice) of the encode. */
    frame?: SceneFrameChoice;
    /** A finite tiling halo clips the receptive field and changes the features; the default does not. */
    haloMetres?: number;
}

function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
    return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function hex(buffer: ArrayBuffer): string {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(data: Uint8Array): Promise<ArrayBuffer> {
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) throw new SemanticSplatError("INVALID_ARGUMENT", "the feature cache needs WebCrypto (crypto.subtle: a secure context or Node 20)");
    // digest() copies views of shared memory badly in some engines: hand it a plain, exactly sized view
    return subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
}

/** The cache key (64 hex digits) of an encode. */
export async function featureCacheKey(input: FeatureCacheKeyInput): Promise<string> {
    const rowsHash = hex(await sha256(bytesOf(input.rows)));
    const frame = input.frame ?? {};
    const text = JSON.stringify({
        format: `semcache-key-${SEMCACHE_VERSION}`,
        encoderId: input.encoderId ?? null,
        encoderVersion: input.encoderVersion ?? null,
        modelSha256: input.modelSha256.toLowerCase(),
        worldMatrix: input.worldMatrix ? Array.from(input.worldMatrix) : null,
        frame: {
            frame: frame.frame ?? "auto",
            rotation: frame.rotation !== undefined ? Array.from(frame.rotation) : null,
            upAxis: frame.upAxis ?? null,
            metresPerUnit: frame.metresPerUnit ?? null,
            floorHeight: frame.floorHeight ?? null,
        },
        haloMetres: input.haloMetres !== undefined && Number.isFinite(input.haloMetres) ? input.haloMetres : null,
        rows: rowsHash,
    });
    return hex(await sha256(new TextEncoder().encode(text)));
}

function keyBytes(key: string): Uint8Array {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new SemanticSplatError("INVALID_ARGUMENT", `a feature cache key is 64 lowercase hex digits, got "${key}"`);
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(key.slice(2 * i, 2 * i + 2), 16);
    return out;
}

/** A cache entry's bytes: the key and the features as a sidecar. */
export function encodeSemcache(key: string, features: FeatureSidecarInput, fileName = "feature cache entry"): Uint8Array {
    const keyed = keyBytes(key);
    const out = encodeFeatureSidecar(features, fileName, HEADER_BYTES); // the sidecar after room for the header: no copy
    writeSemcacheHeader(out, keyed);
    return out;
}

function writeSemcacheHeader(out: Uint8Array, keyed: Uint8Array): void {
    for (let i = 0; i < 4; i++) out[i] = SEMCACHE_MAGIC.charCodeAt(i);
    new DataView(out.buffer, out.byteOffset).setUint32(4, SEMCACHE_VERSION, true);
    out.set(keyed, 8);
}

/** A cache entry as two byte runs to write one after the other (encodeFeatureSidecarParts: fp16 features are the
 *  body without a copy); header + body equal encodeSemcache's bytes. */
export function encodeSemcacheParts(key: string, features: FeatureSidecarInput, fileName = "feature cache entry"): { header: Uint8Array; body: Uint8Array } {
    const keyed = keyBytes(key);
    const parts = encodeFeatureSidecarParts(features, fileName, HEADER_BYTES);
    writeSemcacheHeader(parts.header, keyed);
    return parts;
}

/** The key an entry was written for (null when the bytes are not a cache entry of this version). */
export function semcacheKey(data: ArrayBuffer | ArrayBufferView): string | null {
    const bytes = bytesOf(data);
    if (bytes.byteLength < HEADER_BYTES || String.fromCharCode(...bytes.subarray(0, 4)) !== SEMCACHE_MAGIC) return null;
    if (new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true) !== SEMCACHE_VERSION) return null;
    return Array.from(bytes.subarray(8, HEADER_BYTES), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The features of an entry when it was written for `key`; null for another key, another format version or bytes
 * that are not a cache entry (a miss: the caller encodes again). A damaged entry with the right key throws
 * MALFORMED_FILE (decodeFeatureSidecar's errors, naming `fileName`).
 */
export function decodeSemcache(data: ArrayBuffer | ArrayBufferView, key: string, fileName = "feature cache entry", expected: { count?: number } = {}): FeatureSidecar | null {
    if (semcacheKey(data) !== key) return null;
    const bytes = bytesOf(data);
    return decodeFeatureSidecar(bytes.subarray(HEADER_BYTES), fileName, expected);
}

/** The encode command's cache file beside a scene: `<scene>.semcache`. */
export function semcacheFileName(sceneFile: string): string {
    return `${sceneFile}.semcache`;
}
