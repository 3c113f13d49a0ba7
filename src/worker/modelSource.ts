// Getting a model's bytes (fetch with byte progress, or a buffer), and checking them against the models manifest
// (docs/MODELS.md). Runs in the worker, but uses only fetch and crypto.subtle, so specs can call it directly.
import { SemanticSplatError } from "../errors";
import { budgetExceeded } from "../formats/budgets";
import type { LoadProgress, ModelKind } from "./protocol";

export const MANIFEST_FORMAT = "semantic-splat-models/1";

/** What a manifest entry may be: the kinds the worker loads (with "vdvi-rgb", the RGB-only fallback of issue 14). */
export type ManifestModelKind = ModelKind;
const MANIFEST_KINDS: readonly ManifestModelKind[] = ["vdvi", "vdvi-rgb", "encoder"];

export interface ManifestEntry {
    file: string;
    kind: ManifestModelKind;
    sha256: string;
    bytes: number;
    k?: number;
    classTableVersion?: string;
    opset?: number;
    description?: string;
}

export interface ModelsManifest {
    format: string;
    models: ManifestEntry[];
}

/**
 * Fetches `url` into one ArrayBuffer, reporting bytes as they arrive. 404 or a network error: MODEL_NOT_FOUND.
 * `expectedBytes` (from the manifest) stands in for the total when the server sends no Content-Length, and the
 * download stops as soon as it passes it (MODEL_INVALID) or `maxBytes` (BUDGET_EXCEEDED): a server that streams
 * more than the manifest says is never read to the end.
 */
export async function fetchWithProgress(url: string, onProgress?: (p: LoadProgress) => void, expectedBytes?: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<ArrayBuffer> {
    let response: Response;
    try {
        response = await fetch(url);
    } catch (e) {
        throw new SemanticSplatError("MODEL_NOT_FOUND", `fetch failed: ${e instanceof Error ? e.message : String(e)}`, url);
    }
    if (!response.ok) throw new SemanticSplatError("MODEL_NOT_FOUND", `HTTP ${response.status} ${response.statusText}`.trim(), url);
    const lengthHeader = response.headers.get("Content-Length");
    // Content-Length is the encoded size; with content-encoding it is not the byte count we receive.
    const announced = lengthHeader !== null && !response.headers.get("Content-Encoding") ? Number(lengthHeader) : null;
    const total = announced ?? expectedBytes ?? null;
    const tooMuch = (bytes: number): SemanticSplatError | null => {
        if (bytes > maxBytes) return budgetExceeded(url, "maxModelBytes", maxBytes, `the model download has ${bytes} bytes or more`);
        if (expectedBytes !== undefined && bytes > expectedBytes) {
            return new SemanticSplatError("MODEL_INVALID", `the download passed the ${expectedBytes} bytes the manifest gives (${bytes} bytes so far: wrong or tampered file)`, url);
        }
        return null;
    };
    const refusedUpFront = announced !== null ? tooMuch(announced) : null;
    if (refusedUpFront) {
        void response.body?.cancel().catch(() => {});
        throw refusedUpFront;
    }
    if (!response.body) {
        const buffer = await response.arrayBuffer();
        onProgress?.({ loaded: buffer.byteLength, total: buffer.byteLength });
        return buffer;
    }
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    const reader = response.body.getReader();
    try {
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            loaded += value.byteLength;
            const refused = tooMuch(loaded);
            if (refused) {
                void reader.cancel().catch(() => {});
                throw refused;
            }
            chunks.push(value);
            onProgress?.({ loaded, total });
        }
    } catch (e) {
        if (e instanceof SemanticSplatError) throw e;
        throw new SemanticSplatError("MODEL_NOT_FOUND", `download interrupted after ${loaded} bytes: ${String(e)}`, url);
    }
    if (announced !== null && loaded !== announced) {
        throw new SemanticSplatError("MODEL_INVALID", `received ${loaded} bytes, the server announced ${announced}`, url);
    }
    const bytes = new Uint8Array(loaded);
    let offset = 0;
    for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
    }
    if (loaded === 0) onProgress?.({ loaded: 0, total });
    return bytes.buffer;
}

export async function sha256Hex(buffer: ArrayBuffer): Promise<string> {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses and checks a manifest's shape; `source` names it in errors. */
export function parseManifest(json: unknown, source: string): ModelsManifest {
    const fail = (what: string): never => {
        throw new SemanticSplatError("MODEL_INVALID", `models manifest: ${what}`, source);
    };
    if (typeof json !== "object" || json === null) fail("not a JSON object");
    const manifest = json as Partial<ModelsManifest>;
    if (manifest.format !== MANIFEST_FORMAT) fail(`"format" must be "${MANIFEST_FORMAT}", got ${JSON.stringify(manifest.format)}`);
    if (!Array.isArray(manifest.models)) fail(`"models" must be an array`);
    manifest.models!.forEach((entry, i) => {
        if (typeof entry?.file !== "string" || entry.file === "") fail(`models[${i}].file must be a non-empty string`);
        if (!MANIFEST_KINDS.includes(entry.kind)) fail(`models[${i}].kind must be one of ${MANIFEST_KINDS.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(entry.kind)}`);
        if (typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256)) fail(`models[${i}].sha256 must be 64 lowercase hex digits`);
        if (!Number.isSafeInteger(entry.bytes) || entry.bytes <= 0) fail(`models[${i}].bytes must be a positive integer`);
    });
    return manifest as ModelsManifest;
}

export async function fetchManifest(url: string): Promise<ModelsManifest> {
    let response: Response;
    try {
        response = await fetch(url);
    } catch (e) {
        throw new SemanticSplatError("MODEL_NOT_FOUND", `models manifest: fetch failed: ${String(e)}`, url);
    }
    if (!response.ok) throw new SemanticSplatError("MODEL_NOT_FOUND", `models manifest: HTTP ${response.status}`, url);
    let json: unknown;
    try {
        json = await response.json();
    } catch (e) {
        throw new SemanticSplatError("MODEL_INVALID", `models manifest is not valid JSON: ${String(e)}`, url);
    }
    return parseManifest(json, url);
}

/** The last path segment of a URL (the manifest's `file` for a model fetched from it). */
export function fileNameOf(url: string): string {
    const path = url.split(/[?#]/)[0];
    return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
}

/** Compares the model's digest with what the manifest or caller expects: MODEL_INVALID when they differ. */
export function checkChecksum(actualSha256: string, bytes: number, expected: { sha256: string; bytes?: number; source: string }, fileName: string): void {
    if (expected.bytes !== undefined && expected.bytes !== bytes) {
        throw new SemanticSplatError("MODEL_INVALID", `size ${bytes} bytes differs from ${expected.bytes} in ${expected.source} (truncated or wrong file)`, fileName);
    }
    if (actualSha256 !== expected.sha256.toLowerCase()) {
        throw new SemanticSplatError("MODEL_INVALID", `SHA-256 ${actualSha256} differs from ${expected.sha256} in ${expected.source}`, fileName);
    }
}

/** The manifest entry for `name` and `kind`, or MODEL_INVALID naming what is missing. */
export function findManifestEntry(manifest: ModelsManifest, name: string, kind: ModelKind, manifestUrl: string): ManifestEntry {
    const entry = manifest.models.find((m) => m.file === name);
    if (!entry) {
        throw new SemanticSplatError("MODEL_INVALID", `"${name}" is not listed in the models manifest (${manifest.models.map((m) => m.file).join(", ")})`, manifestUrl);
    }
    if (entry.kind !== kind) {
        throw new SemanticSplatError("MODEL_CONTRACT", `"${name}" is a "${entry.kind}" model in the manifest, loaded as "${kind}"`, manifestUrl);
    }
    return entry;
}
