// Resource budgets for reading scene files and models (docs/FORMATS.md, "Budgets and validation policy").
// Every size is checked BEFORE the memory for it is allocated and, for streams (gzip, zip entries, downloads),
// while the bytes arrive, so a bomb stops within its budget plus one chunk.
import { SemanticSplatError } from "../errors";

/** Resource budgets; every field is optional and falls back to {@link DEFAULT_BUDGETS}. */
export interface SceneBudgets {
    /** Largest scene file accepted, in bytes. Default 2 GiB. */
    maxFileBytes?: number;
    /** Most bytes a compressed scene (.spz gzip, .sog zip entries together) may inflate to. Default 1 GiB. */
    maxDecompressedBytes?: number;
    /** Most Gaussians a scene may declare. Default 16 M (16 * 2^20). */
    maxGaussians?: number;
    /** Largest model download, in bytes (a manifest's own byte count is a tighter limit). Default 512 MiB. */
    maxModelBytes?: number;
}

export const DEFAULT_BUDGETS: Readonly<Required<SceneBudgets>> = Object.freeze({
    maxFileBytes: 2 * 1024 ** 3,
    maxDecompressedBytes: 1024 ** 3,
    maxGaussians: 16 * 1024 * 1024,
    maxModelBytes: 512 * 1024 ** 2,
});

/** The budgets with defaults filled in; INVALID_ARGUMENT for a value that is not a positive integer. */
export function resolveBudgets(budgets: SceneBudgets | undefined): Required<SceneBudgets> {
    const out = { ...DEFAULT_BUDGETS };
    if (!budgets) return out;
    for (const key of Object.keys(DEFAULT_BUDGETS) as (keyof SceneBudgets)[]) {
        const value = budgets[key];
        if (value === undefined) continue;
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `budget ${key} must be a positive integer, got ${String(value)}`);
        }
        out[key] = value;
    }
    return out;
}

/** A BUDGET_EXCEEDED error naming the file, the budget and what exceeded it. */
export function budgetExceeded(fileName: string, budget: keyof SceneBudgets, limit: number, what: string): SemanticSplatError {
    return new SemanticSplatError("BUDGET_EXCEEDED", `${what}: more than the ${budget} budget of ${formatBytesOrCount(budget, limit)}`, fileName);
}

function formatBytesOrCount(budget: keyof SceneBudgets, n: number): string {
    if (budget === "maxGaussians") return `${n} Gaussians`;
    if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
    if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
    return `${n} bytes`;
}

/**
 * Inflates `bytes` ("gzip" or "deflate-raw") with the platform's DecompressionStream (browsers, Node 18+), reading
 * the output chunk by chunk and stopping as soon as it passes `limit` bytes. `limitFor(prefix)`, when given, is
 * called once the first `prefixBytes` bytes are out and may return a tighter (exact) size from the stream's own
 * header, or throw; the stream then must not exceed it either.
 *
 * @returns the inflated bytes
 * @throws SemanticSplatError BUDGET_EXCEEDED (past `limit`, naming `budget`), MALFORMED_FILE (damaged stream),
 *   or what `limitFor` throws
 */
export async function inflateCapped(
    bytes: Uint8Array,
    format: "gzip" | "deflate-raw",
    fileName: string,
    cap: {
        limit: number;
        budget: keyof SceneBudgets;
        what: string;
        /** The error for output past a size the data itself declared (the header's, or `limit` when `limitIsDeclared`). */
        tooLong?: (limit: number) => SemanticSplatError;
        /** `limit` is a size the file declares (a ZIP entry's), not the budget itself. */
        limitIsDeclared?: boolean;
    },
    header?: { prefixBytes: number; limitFor: (prefix: Uint8Array) => number }
): Promise<Uint8Array> {
    let limit = cap.limit;
    let declared = cap.limitIsDeclared === true;
    const chunks: Uint8Array[] = [];
    let total = 0;
    /** Once the exact size is known, the output is written straight into one buffer of that size. */
    let exactOut: Uint8Array | null = null;
    let stream: DecompressionStream;
    try {
        stream = new DecompressionStream(format);
    } catch (error) {
        throw new SemanticSplatError("UNSUPPORTED_FORMAT", `this platform has no DecompressionStream for ${format} data`, fileName, { cause: error });
    }
    // The input goes in small slices, each written only when the output side asks for more: a decompressor may
    // inflate a whole input chunk before its output can be read (Chromium does), and deflate expands at most
    // 1032:1, so a slice of INPUT_SLICE bytes bounds what can pile up before the checks below stop the stream.
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    void (async () => {
        try {
            for (let offset = 0; offset < bytes.length; offset += INPUT_SLICE) {
                await writer.ready;
                await writer.write(bytes.subarray(offset, Math.min(bytes.length, offset + INPUT_SLICE)) as Uint8Array<ArrayBuffer>);
            }
            await writer.close();
        } catch {
            // the reader reports a damaged stream; a cancelled one needs no more input
        }
    })();
    const exceeded = () =>
        declared && cap.tooLong ? cap.tooLong(limit) : budgetExceeded(fileName, cap.budget, limit, `the ${cap.what} inflates to more than ${limit} bytes`);
    let headerChecked = header === undefined;
    try {
        for (;;) {
            let result: ReadableStreamReadResult<Uint8Array>;
            try {
                result = await reader.read();
            } catch (error) {
                throw new SemanticSplatError("MALFORMED_FILE", `the ${cap.what} is damaged or truncated (${format} data does not inflate after ${total} bytes)`, fileName, { cause: error });
            }
            if (result.done) break;
            const chunk = result.value;
            if (total + chunk.byteLength > limit) throw exceeded();
            if (exactOut) exactOut.set(chunk, total);
            else chunks.push(chunk);
            total += chunk.byteLength;
            if (!headerChecked && header && total >= header.prefixBytes) {
                headerChecked = true;
                const exact = header.limitFor(concat(chunks, total));
                if (exact <= limit) {
                    limit = exact;
                    declared = true;
                    if (total > limit) throw exceeded();
                    exactOut = new Uint8Array(exact);
                    exactOut.set(concat(chunks, total), 0);
                    chunks.length = 0;
                }
            }
        }
    } finally {
        reader.cancel().catch(() => {});
    }
    if (exactOut) return total === exactOut.length ? exactOut : exactOut.subarray(0, total);
    const out = concat(chunks, total);
    if (!headerChecked && header) header.limitFor(out); // shorter than the header: let the check say so
    return out;
}

/** Bytes of compressed input written to the decompressor at a time (at most about 4 MiB of output each). */
const INPUT_SLICE = 4096;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
        out.set(c, offset);
        offset += c.byteLength;
    }
    chunks.length = 0;
    if (total > 0) chunks.push(out);
    return out;
}
