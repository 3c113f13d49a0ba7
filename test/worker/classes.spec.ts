// The class table loader (src/classes.ts) on the shipped models/classes.json and on broken tables.
import { ClassTable } from "../../src/classes";
import { SemanticSplatError } from "../../src/errors";

function errorOf(fn: () => unknown): SemanticSplatError {
    try {
        fn();
    } catch (e) {
        if (e instanceof SemanticSplatError) return e;
        throw e;
    }
    throw new Error("expected a SemanticSplatError");
}

const validTable = () => ({
    version: "t/1",
    none: 255,
    classes: [
        { id: 0, name: "wall", nyu40: 1, color: [174, 199, 232] },
        { id: 1, name: "floor", nyu40: 2, color: [152, 223, 138] },
        { id: 2, name: "chair", color: [0, 0, 255] },
    ],
});

describe("class table", () => {
    it("loads models/classes.json: 21 classes, ScanNet-20 plus ceiling, none = 255", async () => {
        const table = await ClassTable.load("/base/models/classes.json");
        expect(table.version).toBe("scannet20+ceiling/1");
        expect(table.count).toBe(21);
        expect(table.none).toBe(255);
        expect(table.byId(0)?.name).toBe("wall");
        expect(table.byId(20)?.name).toBe("ceiling");
        expect(table.idOf("other furniture")).toBe(19);
        expect(table.named("shower curtain")?.id).toBe(15);
        expect(table.nameOf(255)).toBe("none");
        expect(table.nameOf(21)).toBeNull();
        expect(table.byId(-1)).toBeNull();
        expect(table.byId(1.5)).toBeNull();
    });

    it("gives colours as RGBA floats per id", () => {
        const table = ClassTable.fromJSON(validTable());
        const colors = table.colorsFloat32();
        expect(colors.length).toBe(12);
        expect(Array.from(colors.subarray(4, 8))).toEqual([152 / 255, 223 / 255, 138 / 255, 1].map(Math.fround));
        expect(table.byId(2)?.nyu40).toBeNull();
    });

    it("names unknown classes in its error", () => {
        const error = errorOf(() => ClassTable.fromJSON(validTable()).idOf("sofa"));
        expect(error.code).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain("wall, floor, chair");
    });

    it("rejects malformed tables with MALFORMED_FILE naming the problem", () => {
        const cases: [string, (t: ReturnType<typeof validTable>) => unknown][] = [
            ["version", (t) => ({ ...t, version: "" })],
            ["classes", (t) => ({ ...t, classes: [] })],
            ["classes[1].id must be 1", (t) => ({ ...t, classes: [t.classes[0], { ...t.classes[1], id: 2 }, t.classes[2]] })],
            ["used twice", (t) => ({ ...t, classes: [t.classes[0], { ...t.classes[1], name: "wall" }, t.classes[2]] })],
            ["classes[2].color", (t) => ({ ...t, classes: [t.classes[0], t.classes[1], { ...t.classes[2], color: [0, 0, 256] }] })],
            ["classes[0].color", (t) => ({ ...t, classes: [{ ...t.classes[0], color: [1, 2] }, t.classes[1], t.classes[2]] })],
            ["collides", (t) => ({ ...t, none: 2 })],
            ["not a class", (t) => ({ ...t, classes: [t.classes[0], t.classes[1], { ...t.classes[2], name: "none" }] })],
            ["not a JSON object", () => [1, 2]],
        ];
        for (const [expected, make] of cases) {
            const error = errorOf(() => ClassTable.fromJSON(make(validTable()), "bad.json"));
            expect(error.code).withContext(expected).toBe("MALFORMED_FILE");
            expect(error.message).withContext(expected).toContain(expected);
            expect(error.fileName).toBe("bad.json");
        }
    });

    it("reports a missing table file as MODEL_NOT_FOUND", async () => {
        await expectAsync(ClassTable.load("/base/models/no-such-classes.json")).toBeRejectedWith(
            jasmine.objectContaining({ code: "MODEL_NOT_FOUND" })
        );
    });
});
