// The names of the feature spill files in the Origin Private File System now (src/encoder/featureSpill.ts): specs
// check that an encode leaves none behind.
import { FEATURE_SPILL_DIRECTORY } from "../../src/encoder/featureSpill";

export async function spillFiles(): Promise<string[]> {
    const directory = await (await navigator.storage.getDirectory()).getDirectoryHandle(FEATURE_SPILL_DIRECTORY, { create: true });
    const names: string[] = [];
    for await (const name of (directory as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names;
}
