// Small DOM helpers of the demo page: messages, progress bars, the HUD text. No framework.

export function element<T extends HTMLElement = HTMLElement>(id: string): T {
    const found = document.getElementById(id);
    if (!found) throw new Error(`demo page: element #${id} is missing from index.html`);
    return found as T;
}

export type MessageKind = "info" | "warning" | "error";

/** Shows a message at the bottom left; `key` replaces an earlier message with the same key. Returns the element. */
export function showMessage(text: string, kind: MessageKind = "info", key?: string): HTMLElement {
    const box = element("messages");
    if (key) box.querySelector(`[data-key="${key}"]`)?.remove();
    const div = document.createElement("div");
    div.className = `message ${kind}`;
    div.setAttribute("role", kind === "error" ? "alert" : "status");
    if (key) div.dataset.key = key;
    const close = document.createElement("button");
    close.className = "close";
    close.type = "button";
    close.textContent = "×";
    close.title = "dismiss";
    close.onclick = () => div.remove();
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    div.append(close, body);
    box.append(div);
    return div;
}

export function clearMessage(key: string): void {
    element("messages").querySelector(`[data-key="${key}"]`)?.remove();
}

/** A named progress bar in the centre panel; `done()` removes it (the panel hides when empty). */
export class ProgressBar {
    private readonly row: HTMLElement;
    private readonly fill: HTMLElement;
    private readonly caption: HTMLElement;

    constructor(private readonly title: string) {
        const panel = element("progress");
        this.row = document.createElement("div");
        this.caption = document.createElement("div");
        const bar = document.createElement("div");
        bar.className = "bar";
        this.fill = document.createElement("div");
        bar.append(this.fill);
        this.row.append(this.caption, bar);
        panel.append(this.row);
        panel.hidden = false;
        this.update(0, null);
    }

    /** `total` null: unknown size (the bar shows the bytes only). */
    update(loaded: number, total: number | null): void {
        const fraction = total ? Math.min(1, loaded / total) : 0;
        this.fill.style.width = `${(fraction * 100).toFixed(1)}%`;
        const mb = (n: number) => (n / 1048576).toFixed(1);
        this.caption.textContent = total ? `${this.title}: ${mb(loaded)} / ${mb(total)} MB` : `${this.title}: ${mb(loaded)} MB`;
    }

    /** A step without a byte count (0..1). */
    step(fraction: number, what: string): void {
        this.fill.style.width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`;
        this.caption.textContent = `${this.title}: ${what}`;
    }

    done(): void {
        this.row.remove();
        const panel = element("progress");
        if (!panel.childElementCount) panel.hidden = true;
    }
}

/** Fetches a URL into a Blob with a progress bar. Throws an Error naming the URL on HTTP errors. */
export async function fetchWithProgressBar(url: string, title: string): Promise<Blob> {
    const bar = new ProgressBar(title);
    try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        const total = Number(response.headers.get("Content-Length")) || null;
        if (!response.body) return await response.blob();
        const reader = response.body.getReader();
        // The bytes go into a Blob in parts as they arrive (the browser keeps a Blob outside the tab's memory, and the
        // mesh reads a PLY from it in chunks): a large scene is never held whole in the tab.
        let blob = new Blob([]);
        let pending: BlobPart[] = [];
        let pendingBytes = 0;
        let loaded = 0;
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            pending.push(value);
            pendingBytes += value.byteLength;
            loaded += value.byteLength;
            if (pendingBytes >= 32 * 1024 * 1024) {
                blob = new Blob([blob, ...pending]);
                pending = [];
                pendingBytes = 0;
            }
            bar.update(loaded, total);
        }
        return new Blob([blob, ...pending]);
    } finally {
        bar.done();
    }
}
