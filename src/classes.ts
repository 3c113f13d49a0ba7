// The class table (ARCHITECTURE.md contract 4, models/classes.json): loaded and validated once, then looked up by
// id or name. `none` (no Gaussian at a pixel) is not a class; label maps use the table's `none` value for it.
import { SemanticSplatError } from "./errors";

export interface SemanticClass {
    /** The network's output index, 0..N-1. */
    id: number;
    name: string;
    /** NYU40 id, which maps real datasets (ScanNet, Replica via NYU40) onto the table; null when absent. */
    nyu40: number | null;
    /** Display colour, 0..255 per channel. */
    color: readonly [number, number, number];
}

export class ClassTable {
    private readonly byName = new Map<string, SemanticClass>();

    private constructor(
        /** The table's version string; models carry it in their metadata and must match. */
        readonly version: string,
        /** The label value that means "no class" (255 in contract 4). */
        readonly none: number,
        readonly classes: readonly SemanticClass[]
    ) {
        for (const c of classes) this.byName.set(c.name, c);
    }

    get count(): number {
        return this.classes.length;
    }

    /** The class with this id, or null for `none` and out-of-range ids. */
    byId(id: number): SemanticClass | null {
        return Number.isInteger(id) && id >= 0 && id < this.classes.length ? this.classes[id] : null;
    }

    /** The class with this exact name, or null. */
    named(name: string): SemanticClass | null {
        return this.byName.get(name) ?? null;
    }

    /** The id of a class name; INVALID_ARGUMENT naming the known classes when there is none. */
    idOf(name: string): number {
        const c = this.byName.get(name);
        if (!c) throw new SemanticSplatError("INVALID_ARGUMENT", `unknown class "${name}" (known: ${this.classes.map((k) => k.name).join(", ")})`);
        return c.id;
    }

    /** The name for a label value: the class name, "none" for the none value, null for anything else. */
    nameOf(label: number): string | null {
        if (label === this.none) return "none";
        return this.byId(label)?.name ?? null;
    }

    /**
     * Colours as RGBA floats in [0,1], one row of 4 per class id (alpha 1), for overlay uniforms and textures.
     * A fresh array each call.
     */
    colorsFloat32(): Float32Array {
        const out = new Float32Array(this.classes.length * 4);
        this.classes.forEach((c, i) => {
            out.set([c.color[0] / 255, c.color[1] / 255, c.color[2] / 255, 1], i * 4);
        });
        return out;
    }

    /** Validates a parsed classes.json; `source` (file name or URL) names it in errors. */
    static fromJSON(json: unknown, source = "classes.json"): ClassTable {
        const fail = (what: string): never => {
            throw new SemanticSplatError("MALFORMED_FILE", `class table: ${what}`, source);
        };
        if (typeof json !== "object" || json === null || Array.isArray(json)) fail("not a JSON object");
        const table = json as { version?: unknown; none?: unknown; classes?: unknown };
        if (typeof table.version !== "string" || table.version.trim() === "") fail(`"version" must be a non-empty string`);
        const none = table.none ?? 255;
        if (!Number.isInteger(none) || (none as number) < 0 || (none as number) > 255) fail(`"none" must be an integer in 0..255`);
        if (!Array.isArray(table.classes) || table.classes.length === 0) fail(`"classes" must be a non-empty array`);
        const rawClasses = table.classes as unknown[];
        // Labels travel as bytes, and `none` must not collide with a class id.
        if (rawClasses.length > 255) fail(`${rawClasses.length} classes do not fit 8-bit labels (at most 255)`);
        const names = new Set<string>();
        const classes: SemanticClass[] = rawClasses.map((raw, i): SemanticClass => {
            const where = `classes[${i}]`;
            if (typeof raw !== "object" || raw === null) fail(`${where} is not an object`);
            const c = raw as { id?: unknown; name?: unknown; nyu40?: unknown; color?: unknown };
            if (c.id !== i) fail(`${where}.id must be ${i} (ids are 0..N-1, in order), got ${JSON.stringify(c.id)}`);
            if (typeof c.name !== "string" || c.name.trim() === "") fail(`${where}.name must be a non-empty string`);
            const name = c.name as string;
            if (name === "none") fail(`${where}: "none" is not a class`);
            if (names.has(name)) fail(`${where}.name "${name}" is used twice`);
            names.add(name);
            if (c.nyu40 !== undefined && c.nyu40 !== null && (!Number.isInteger(c.nyu40) || (c.nyu40 as number) < 0)) {
                fail(`${where}.nyu40 must be a non-negative integer`);
            }
            const color = c.color;
            if (!Array.isArray(color) || color.length !== 3 || !color.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
                fail(`${where}.color must be [r, g, b] with integers in 0..255, got ${JSON.stringify(color)}`);
            }
            const rgb = color as number[];
            return { id: i, name, nyu40: (c.nyu40 as number | undefined) ?? null, color: [rgb[0], rgb[1], rgb[2]] };
        });
        if ((none as number) < classes.length) fail(`"none" (${String(none)}) collides with a class id`);
        return new ClassTable(table.version as string, none as number, classes);
    }

    /** Fetches and validates a class table (for example the package's models/classes.json). */
    static async load(url: string): Promise<ClassTable> {
        let response: Response;
        try {
            response = await fetch(url);
        } catch (e) {
            throw new SemanticSplatError("MODEL_NOT_FOUND", `class table: fetch failed: ${String(e)}`, url);
        }
        if (!response.ok) throw new SemanticSplatError("MODEL_NOT_FOUND", `class table: HTTP ${response.status}`, url);
        let json: unknown;
        try {
            json = await response.json();
        } catch (e) {
            throw new SemanticSplatError("MALFORMED_FILE", `class table is not valid JSON: ${String(e)}`, url);
        }
        return ClassTable.fromJSON(json, url);
    }
}
