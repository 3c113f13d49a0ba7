// Babylon 9's streamed LOD scenes (lod-meta.json) are refused with UNSUPPORTED_FORMAT naming the file and what to
// load instead, by the one reading path of the mesh loader and the command (readSceneFile); a plain SOG meta.json
// with a "filenames" field of its own is not mistaken for one.
import { readSceneFile } from "../../src/formats/sceneFile";
import { isSemanticError } from "../../src/errors";

const text = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("streamed LOD scenes (lod-meta.json)", () => {
    const lodMeta = {
        lodLevels: 3,
        filenames: ["0_0/meta.json", "0_1/meta.json", "1_0/meta.json"],
        environment: "env/meta.json",
        tree: { bound: { min: [0, 0, 0], max: [1, 1, 1] }, children: [{ bound: { min: [0, 0, 0], max: [1, 1, 1] }, lods: { 0: { file: 0, offset: 0, count: 100 } } }] },
    };

    it("are refused with UNSUPPORTED_FORMAT that names the file, the reason and what to load instead", async () => {
        let error: unknown = null;
        try {
            await readSceneFile(text(lodMeta), "https://example.org/city/lod-meta.json");
        } catch (e) {
            error = e;
        }
        expect(isSemanticError(error, "UNSUPPORTED_FORMAT")).withContext(String(error)).toBeTrue();
        const message = String((error as Error).message);
        expect(message).toContain("lod-meta.json");
        expect(message).toContain("streamed LOD scene");
        expect(message).toContain('"0_0/meta.json"');
    });

    it("a SOG meta.json is still read as one (its errors stay MALFORMED_FILE)", async () => {
        let error: unknown = null;
        try {
            await readSceneFile(text({ version: 2, count: 10, means: { files: ["a.webp"] } }), "meta.json");
        } catch (e) {
            error = e;
        }
        expect(isSemanticError(error, "MALFORMED_FILE")).withContext(String(error)).toBeTrue();
    });
});
