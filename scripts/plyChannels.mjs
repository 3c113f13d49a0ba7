// A PLY scene's 10 encoder input channels in the frame Babylon's loader gives the mesh (y flipped; a right-handed
// PLY flipped back), as bin/encode.mjs computes them but without its frame estimate: for the benchmark scripts.
import { readFileSync } from "node:fs";

const { SPLATFileLoader } = await import("@babylonjs/loaders/SPLAT/splatFileLoader.pure.js");

/** `lib`: the library build (dist/node-encoder.js, or another build's). Returns { channels, count }. */
export async function plyChannels(lib, path) {
    const bytes = readFileSync(path);
    const parsed = await SPLATFileLoader._ConvertPLYToSplat(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const flipY = parsed.chirality === "RightHanded" ? 1 : -1;
    return lib.splatRowsToChannels(parsed.data, { worldMatrix: [1, 0, 0, 0, 0, flipY, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] });
}
