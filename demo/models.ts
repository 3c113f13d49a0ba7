// Which shipped models exist: models/manifest.json (docs/MODELS.md). The demo segments only when the manifest
// lists a VDVI model whose K matches the scene's features; until the factory ships them it says so.
export interface ManifestModel {
    file: string;
    kind: "vdvi" | "vdvi-rgb" | "encoder";
    k?: number;
    bytes: number;
    /** "fp32" or "fp16" (informative; the model's own metadata is authoritative). */
    precision?: string;
    description?: string;
}

export interface ShippedModels {
    /** Folder URL the manifest and models are in (ends with "/"). */
    base: string;
    manifestUrl: string;
    vdvi: ManifestModel[];
    /** The RGB-only fallback models (kind "vdvi-rgb"): they segment a scene while its features are being encoded. */
    fallback: ManifestModel[];
    encoder: ManifestModel[];
    /** Why there are none, when the manifest is missing or unreadable. */
    problem: string | null;
}

export async function readShippedModels(base: string): Promise<ShippedModels> {
    const manifestUrl = `${base}manifest.json`;
    const none = (problem: string): ShippedModels => ({ base, manifestUrl, vdvi: [], fallback: [], encoder: [], problem });
    const response = await fetch(manifestUrl).catch(() => null);
    if (!response) return none(`${manifestUrl} could not be fetched`);
    if (response.status === 404) return none(`${manifestUrl} does not exist yet`);
    if (!response.ok) return none(`${manifestUrl}: HTTP ${response.status}`);
    const json = (await response.json().catch(() => null)) as { format?: string; models?: ManifestModel[] } | null;
    if (!json || !Array.isArray(json.models)) return none(`${manifestUrl} is not a models manifest`);
    const models = json.models.filter((m) => m && typeof m.file === "string");
    return {
        base,
        manifestUrl,
        vdvi: models.filter((m) => m.kind === "vdvi"),
        fallback: models.filter((m) => m.kind === "vdvi-rgb"),
        encoder: models.filter((m) => m.kind === "encoder"),
        problem: null,
    };
}

/**
 * The VDVI model for K feature channels: the manifest entry with that `k` (or without a `k`, checked on load),
 * fp32 before fp16: fp16 needs the WebGPU feature shader-f16, which many adapters (SwiftShader among them) lack.
 */
export function vdviFor(models: ShippedModels, k: number): ManifestModel | null {
    const fp32First = [...models.vdvi].sort((a, b) => Number(a.precision === "fp16") - Number(b.precision === "fp16"));
    return fp32First.find((m) => m.k === k) ?? fp32First.find((m) => m.k === undefined) ?? null;
}
