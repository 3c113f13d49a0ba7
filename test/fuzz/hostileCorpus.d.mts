// Types of hostileCorpus.mjs (plain JavaScript, shared by the browser spec and the Node test).
export interface HostileFile {
    category: string;
    expect: "load" | "refuse" | "either";
    name: string;
    bytes: Uint8Array;
}
export function seededRandom(seed: number): () => number;
export function generateHostileCorpus(seed?: number, fixtures?: { spzV4?: Uint8Array }): Promise<HostileFile[]>;
