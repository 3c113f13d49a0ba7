// pickClassMapAlongRay: a ray that does not start at the map's camera (a WebXR controller) meets the class map's
// surface where the map's depth says it is. A synthetic map: the map camera at z = -4 looking down +z (left-handed);
// the left half of the image is a plane at z = 0 (class 3), the right half a plane at z = 2 (class 5), the top
// eighth of the rows uncovered.
import { Matrix, Vector3 } from "@babylonjs/core/Maths/math.vector";
import { AbstractMesh } from "@babylonjs/core/Meshes/abstractMesh";
import { pickClassMapAlongRay } from "../../src/pipeline/rayPicking";
import type { ClassMapForPicking } from "../../src/pipeline/picking";
import { isSemanticError } from "../../src/errors";

const W = 64;
const H = 48;
const NONE = 255;

function syntheticMap(): ClassMapForPicking {
    const view = Matrix.LookAtLH(new Vector3(0, 0, -4), Vector3.Zero(), Vector3.Up());
    const projection = Matrix.PerspectiveFovLH(0.9, W / H, 0.1, 100, true);
    const labels = new Uint8Array(W * H);
    const confidence = new Float32Array(W * H);
    const alpha = new Float32Array(W * H);
    const expectedDepth = new Float32Array(W * H);
    for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
            const p = y * W + x;
            if (y < H / 8) {
                labels[p] = NONE;
                continue;
            }
            const left = x < W / 2;
            labels[p] = left ? 3 : 5;
            confidence[p] = left ? 0.9 : 0.7;
            alpha[p] = 0.8;
            // Expected depth is NOT divided by alpha (the feature pass's convention): depth * alpha.
            expectedDepth[p] = (left ? 4 : 6) * 0.8;
        }
    }
    return { frameId: 7, width: W, height: H, labels, confidence, alpha, expectedDepth, viewMatrix: Float32Array.from(view.m), projectionMatrix: Float32Array.from(projection.m) };
}

describe("pickClassMapAlongRay", () => {
    const map = syntheticMap();
    const mesh = {} as AbstractMesh;
    const name = (id: number) => `class${id}`;
    const controller = new Vector3(0.5, -0.3, -3);

    it("finds where a ray from another origin meets each surface, with that surface's class", () => {
        for (const [target, classId] of [
            [new Vector3(-1, 0.2, 0), 3],
            [new Vector3(-0.4, -0.8, 0), 3],
            [new Vector3(1.2, 0.1, 2), 5],
        ] as const) {
            const pick = pickClassMapAlongRay(map, controller, target.subtract(controller), NONE, name, mesh, false);
            expect(pick.empty).withContext(`${target}`).toBeNull();
            expect(pick.classId).withContext(`${target}`).toBe(classId);
            expect(pick.className).toBe(`class${classId}`);
            expect(pick.confidence).toBeCloseTo(classId === 3 ? 0.9 : 0.7, 6);
            expect(pick.frameId).toBe(7);
            expect(Vector3.Distance(pick.pickedPoint!, target)).withContext(`picked ${pick.pickedPoint} for ${target}`).toBeLessThan(0.01);
        }
    });

    it("answers uncovered for a ray into the uncovered rows, outside for one that never enters the view", () => {
        const up = pickClassMapAlongRay(map, new Vector3(0, 0, -3.5), new Vector3(0, 3, 4), NONE, name, mesh, false, { maxDistance: 10 });
        expect(up.empty).toBe("uncovered");
        expect(up.pickedPoint).toBeNull();
        const back = pickClassMapAlongRay(map, new Vector3(0, 0, -5), new Vector3(0, 0, -1), NONE, name, mesh, false);
        expect(back.empty).toBe("outside");
    });

    it("a ray starting behind a surface does not hit it from the back; bad rays throw INVALID_ARGUMENT", () => {
        const inside = pickClassMapAlongRay(map, new Vector3(-1, 0, 1), new Vector3(0, 0, 1), NONE, name, mesh, false, { maxDistance: 20 });
        expect(inside.empty).toBe("uncovered");
        expect(() => pickClassMapAlongRay(map, controller, Vector3.Zero(), NONE, name, mesh, false)).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT"));
        expect(() => pickClassMapAlongRay(map, controller, Vector3.Forward(), NONE, name, mesh, false, { maxDistance: 0 })).toThrowMatching((e) => isSemanticError(e, "INVALID_ARGUMENT"));
    });
});
