// URLs the page gives are resolved against the page (document.baseURI) before they reach the inference worker,
// whose own base is the worker script's URL: "models/manifest.json" from a page at /app/ must mean /app/models/...,
// not /build/models/... next to the worker (issue 15). Pure; safe where there is no document (worker, Node).

/** The page's base URL: `document.baseURI`, else `location.href`, else undefined (Node without a page). */
export function pageBaseUrl(): string | undefined {
    const g = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
    return g.document?.baseURI ?? g.location?.href;
}

/** `url` made absolute against `base` (default: the page); returned unchanged when it cannot be resolved. */
export function resolveUrl(url: string, base: string | undefined = pageBaseUrl()): string {
    try {
        return base ? new URL(url, base).href : new URL(url).href;
    } catch {
        return url;
    }
}

/** A folder URL resolved like `resolveUrl`, ending with "/". */
export function resolveFolderUrl(url: string, base?: string): string {
    const resolved = resolveUrl(url, base);
    return resolved.endsWith("/") ? resolved : `${resolved}/`;
}
