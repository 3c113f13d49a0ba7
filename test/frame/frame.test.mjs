// The scene-frame estimator in TypeScript (src/frame, through the Node build dist/node-encoder.js): agreement with
// the Python twin (factory/rtgs2/frame.py) on the shared vectors of test/fixtures/frame within the tolerance of
// docs/FRAME.md, degenerate scenes (typed error or the documented fallback, never NaN), Babylon splat rows with a
// world matrix (the loader's y flip), and the frame's record and description.
// Run by scripts/test-all.sh after the library build: node --test test/frame/frame.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const lib = await import(join(root, "dist/node-encoder.js"));
const spec = JSON.parse(readFileSync(join(root, "test/fixtures/frame/vectors.json"), "utf8"));
const raw = readFileSync(join(root, "test/fixtures/frame/gaussians.f32"));
const rows = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const W = spec.layout.length; // 11

function quatMul(a, b) {
    const [aw, ax, ay, az] = a, [bw, bx, by, bz] = b;
    return [aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw];
}

/** Shepperd's method, w >= 0 (as rtgs2.frame.matrix_to_quaternion). */
function matrixToQuat(r) {
    const m = (i, j) => r[3 * i + j];
    const tr = m(0, 0) + m(1, 1) + m(2, 2);
    let q;
    if (tr > 0) {
        const s = Math.sqrt(tr + 1) * 2;
        q = [0.25 * s, (m(2, 1) - m(1, 2)) / s, (m(0, 2) - m(2, 0)) / s, (m(1, 0) - m(0, 1)) / s];
    } else if (m(0, 0) > m(1, 1) && m(0, 0) > m(2, 2)) {
        const s = Math.sqrt(1 + m(0, 0) - m(1, 1) - m(2, 2)) * 2;
        q = [(m(2, 1) - m(1, 2)) / s, 0.25 * s, (m(0, 1) + m(1, 0)) / s, (m(0, 2) + m(2, 0)) / s];
    } else if (m(1, 1) > m(2, 2)) {
        const s = Math.sqrt(1 + m(1, 1) - m(0, 0) - m(2, 2)) * 2;
        q = [(m(0, 2) - m(2, 0)) / s, (m(0, 1) + m(1, 0)) / s, 0.25 * s, (m(1, 2) + m(2, 1)) / s];
    } else {
        const s = Math.sqrt(1 + m(2, 2) - m(0, 0) - m(1, 1)) * 2;
        q = [(m(1, 0) - m(0, 1)) / s, (m(0, 2) + m(2, 0)) / s, (m(1, 2) + m(2, 1)) / s, 0.25 * s];
    }
    const n = Math.hypot(...q);
    q = q.map((v) => v / n);
    return q[0] >= 0 ? q : q.map((v) => -v);
}

/** A case's input: the room moved by x -> s R x + t in float64, rounded to float32 (rtgs2.frame.transform_gaussians). */
function caseInput(c) {
    const n = c.count, r = c.rotation, s = c.scale, t = c.translation;
    const positions = new Float32Array(3 * n), logScales = new Float32Array(3 * n), quaternions = new Float32Array(4 * n), opacities = new Float32Array(n);
    const qr = matrixToQuat(r);
    for (let i = 0; i < n; i++) {
        const o = (c.rowOffset + i) * W;
        const p = [rows[o], rows[o + 1], rows[o + 2]];
        for (let j = 0; j < 3; j++) positions[3 * i + j] = (r[3 * j] * p[0] + r[3 * j + 1] * p[1] + r[3 * j + 2] * p[2]) * s + t[j];
        for (let j = 0; j < 3; j++) logScales[3 * i + j] = rows[o + 3 + j] + Math.log(s);
        const q = quatMul(qr, [rows[o + 6], rows[o + 7], rows[o + 8], rows[o + 9]]);
        for (let j = 0; j < 4; j++) quaternions[4 * i + j] = q[j];
        opacities[i] = rows[o + 10];
    }
    return { count: n, positions, logScales, quaternions, opacities };
}

const upOf = (rotation) => [rotation[3], rotation[4], rotation[5]];
const angleDeg = (a, b) => (Math.acos(Math.min(1, Math.max(-1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]))) * 180) / Math.PI;

test("agrees with the Python estimator on the shared vectors (docs/FRAME.md tolerance)", () => {
    const tol = spec.tolerance;
    assert.ok(spec.cases.length >= 10);
    for (const c of spec.cases) {
        const f = lib.estimateSceneFrame(caseInput(c));
        const e = c.expected;
        const label = `room ${c.room} ${c.kind}`;
        assert.equal(f.fallback, e.fallback, `${label}: fallback`);
        assert.ok(angleDeg(upOf(f.rotation), upOf(e.rotation)) <= tol.upDeg, `${label}: up differs by ${angleDeg(upOf(f.rotation), upOf(e.rotation))} deg`);
        assert.ok(angleDeg(f.rotation.slice(0, 3), e.rotation.slice(0, 3)) <= tol.upDeg, `${label}: x axis (yaw) differs`);
        assert.ok(Math.abs(f.metresPerUnit / e.metresPerUnit - 1) <= tol.scaleRel, `${label}: metres per unit ${f.metresPerUnit} vs ${e.metresPerUnit}`);
        assert.ok(Math.abs(f.floorHeight - e.floorHeight) <= tol.floorM, `${label}: floor ${f.floorHeight} vs ${e.floorHeight}`);
        assert.ok(Math.abs(f.confidence - e.confidence) <= tol.confidence, `${label}: confidence ${f.confidence} vs ${e.confidence}`);
        // and against the truth: the room's +Y is found within 3 degrees, the scale within 10 % (without a ceiling
        // the scale is a unit guess, a power of ten, and the confidence is capped)
        const truthUp = [c.rotation[1], c.rotation[4], c.rotation[7]];
        assert.ok(angleDeg(upOf(f.rotation), truthUp) < 3, `${label}: up error vs the truth`);
        if (c.ceiling === false) {
            assert.equal(f.evidence.scale, "unit guess: no ceiling", `${label}: no ceiling found`);
            assert.ok(f.evidence.perAxis.some((a) => a.openAxis), `${label}: the floor-only axis is scored as open`);
            // walls cut short as well: the open axis, the shortest, is up although a wall axis scores higher
            if (c.cutAboveMetres) assert.equal(f.evidence.shortOpenAxisUp, true, `${label}: the short open axis rule`);
            assert.ok(f.confidence <= lib.NO_CEILING_CONFIDENCE, `${label}: confidence ${f.confidence} without a ceiling`);
            assert.ok(Math.abs(Math.log10(f.metresPerUnit) - Math.round(Math.log10(f.metresPerUnit))) < 1e-9, `${label}: ${f.metresPerUnit} is not a power of ten`);
        } else {
            assert.equal(f.evidence.scale, undefined, `${label}: the ceiling was missed`);
            assert.ok(Math.abs(f.metresPerUnit * c.scale - 1) < 0.1, `${label}: scale error vs the truth ${f.metresPerUnit * c.scale}`);
        }
    }
});

function blob(n, seed = 1) {
    let s = seed;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const g = { count: n, positions: new Float64Array(3 * n), logScales: new Float64Array(3 * n).fill(-3), quaternions: new Float64Array(4 * n), opacities: new Float64Array(n).fill(0.8) };
    for (let i = 0; i < n; i++) {
        for (let j = 0; j < 3; j++) g.positions[3 * i + j] = rand() * 2 - 1;
        g.quaternions[4 * i] = 1;
    }
    return g;
}

function assertFallback(f, what) {
    assert.equal(f.fallback, true, `${what}: fallback`);
    assert.ok(f.confidence < lib.FALLBACK_CONFIDENCE, `${what}: confidence ${f.confidence}`);
    assert.deepEqual(f.rotation, [1, 0, 0, 0, 1, 0, 0, 0, 1], what);
    assert.equal(f.metresPerUnit, 1, what);
    assert.equal(f.floorHeight, 0, what);
    assert.equal(typeof f.evidence.fallbackReason, "string", what);
    assert.ok([...f.rotation, f.metresPerUnit, f.floorHeight, f.confidence].every(Number.isFinite), `${what}: NaN in the frame`);
}

test("round splats of a scanned room take the local-surfaces path in both twins", () => {
    const scanner = spec.cases.filter((c) => c.realism === "realistic");
    assert.ok(scanner.length >= 5, "the vectors hold a scanner room");
    for (const c of scanner) {
        const f = lib.estimateSceneFrame(caseInput(c));
        assert.equal(f.evidence.surfaces, "local", `room ${c.room} ${c.kind}: local surfaces`);
        assert.ok(f.evidence.localSurfaces >= 64 && f.evidence.flatFraction < 0.05, `room ${c.room} ${c.kind}: ${f.evidence.localSurfaces} cells, flat ${f.evidence.flatFraction}`);
        assert.equal(f.fallback, false);
    }
    // the clean rooms keep the flat Gaussians
    for (const c of spec.cases.filter((c) => !c.realism)) assert.equal(lib.estimateSceneFrame(caseInput(c)).evidence.surfaces, undefined);
});

test("degenerate scenes fall back to the documented frame, never NaN", () => {
    const one = blob(1);
    assertFallback(lib.estimateSceneFrame(one), "one Gaussian");
    assertFallback(lib.estimateSceneFrame(blob(5000)), "isotropic blobs");
    const plane = blob(5000);
    for (let i = 0; i < 5000; i++) {
        plane.positions[3 * i + 1] = 0;
        plane.logScales[3 * i + 1] = -8; // flat along y: every normal +Y
    }
    assertFallback(lib.estimateSceneFrame(plane), "a plane");
    const line = blob(5000);
    for (let i = 0; i < 5000; i++) line.positions[3 * i + 1] = line.positions[3 * i + 2] = 0;
    assertFallback(lib.estimateSceneFrame(line), "a line");
    const point = blob(5000);
    point.positions.fill(0);
    assertFallback(lib.estimateSceneFrame(point), "zero extent");
});

test("unusable input throws INVALID_ARGUMENT", () => {
    const nan = blob(100);
    nan.positions.fill(NaN);
    assert.throws(() => lib.estimateSceneFrame(nan), (e) => e.code === "INVALID_ARGUMENT" && /finite/.test(e.message));
    const short = blob(100);
    short.positions = short.positions.subarray(0, 200);
    assert.throws(() => lib.estimateSceneFrame(short), (e) => e.code === "INVALID_ARGUMENT");
    assert.throws(() => lib.estimateSceneFrameFromSplatRows(new Uint8Array(33)), (e) => e.code === "INVALID_ARGUMENT");
    assert.throws(() => lib.estimateSceneFrameFromSplatRows(new Uint8Array(0)), (e) => e.code === "INVALID_ARGUMENT");
});

test("NaN Gaussians among a room are ignored", () => {
    const input = caseInput(spec.cases[0]);
    for (let i = 0; i < input.count; i += 50) input.positions[3 * i] = NaN;
    for (let i = 1; i < input.count; i += 70) input.logScales[3 * i + 2] = Infinity;
    const f = lib.estimateSceneFrame(input);
    assert.equal(f.fallback, false);
    assert.ok(f.rotation[4] > 0.999, `up ${upOf(f.rotation)}`);
});

/** Babylon splat rows of a case (32 bytes: position, linear scale, rgba bytes, quaternion bytes) with the file's y
 *  flipped, as Babylon's PLY loader keeps them (mesh.scaling.y = -1 undoes it). */
function splatRows(input) {
    const out = new Uint8Array(input.count * 32);
    const view = new DataView(out.buffer);
    for (let i = 0; i < input.count; i++) {
        const s = 32 * i;
        const flip = [1, -1, 1];
        for (let j = 0; j < 3; j++) view.setFloat32(s + 4 * j, input.positions[3 * i + j] * flip[j], true);
        for (let j = 0; j < 3; j++) view.setFloat32(s + 12 + 4 * j, Math.exp(input.logScales[3 * i + j]), true);
        out[s + 24] = out[s + 25] = out[s + 26] = 128;
        out[s + 27] = Math.round(input.opacities[i] * 255);
        // reflect the rotation by diag(1, -1, 1): q -> (w, -x, y, -z) keeps the axes' directions mirrored
        let q = [input.quaternions[4 * i], -input.quaternions[4 * i + 1], input.quaternions[4 * i + 2], -input.quaternions[4 * i + 3]];
        const n = Math.hypot(...q);
        q = q.map((v) => v / n);
        for (let j = 0; j < 4; j++) out[s + 28 + j] = Math.round(q[j] * 127.5 + 127.5);
    }
    return out;
}

test("splat rows with the loader's y flip give the same frame as the flat arrays", () => {
    const flipY = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    for (const c of spec.cases.filter((c) => c.kind !== "identity")) {
        const input = caseInput(c);
        const a = lib.estimateSceneFrame(input);
        const b = lib.estimateSceneFrameFromSplatRows(splatRows(input), { worldMatrix: flipY });
        assert.equal(b.fallback, a.fallback, `${c.kind}`);
        assert.ok(angleDeg(upOf(a.rotation), upOf(b.rotation)) < 1, `${c.kind}: up ${upOf(a.rotation)} vs ${upOf(b.rotation)}`);
        assert.ok(Math.abs(b.metresPerUnit / a.metresPerUnit - 1) < 0.02, `${c.kind}: scale`);
        assert.ok(Math.abs(b.floorHeight - a.floorHeight) < 0.03, `${c.kind}: floor ${a.floorHeight} vs ${b.floorHeight}`);
    }
});

test("a frame's record round-trips through a PLY comment; the description names up, tilt, scale and floor", () => {
    const f = lib.estimateSceneFrame(caseInput(spec.cases.find((c) => c.kind === "z-up")));
    const comment = lib.SCENE_FRAME_COMMENT_PREFIX + lib.sceneFrameRecord(f);
    assert.match(comment, /^[\x20-\x7e]+$/);
    const back = lib.sceneFrameFromComments(["something else", comment]);
    for (let i = 0; i < 9; i++) assert.ok(Math.abs(back.rotation[i] - f.rotation[i]) < 1e-6);
    assert.ok(Math.abs(back.metresPerUnit / f.metresPerUnit - 1) < 1e-8);
    assert.equal(back.source, "auto");
    assert.equal(lib.sceneFrameFromComments(["nothing"]), null);
    assert.throws(() => lib.parseSceneFrameRecord('{"rotation":[1]}', "x.ply"), (e) => e.code === "MALFORMED_FILE" && /x\.ply/.test(e.message));
    const zUp = { rotation: lib.upAxisRotation("+z"), metresPerUnit: 0.01, floorHeight: -1.42, confidence: 0.93, fallback: false };
    assert.equal(lib.describeSceneFrame(zUp), "up +Z (tilt 0 deg), 1 unit = 0.01 m, floor -1.42, confidence 0.93");
    assert.match(lib.describeSceneFrame(f), /^up [+-][XYZ] \(tilt \d+ deg\), 1 unit = [\d.e+-]+ m, floor -?\d+\.\d\d, confidence \d\.\d\d$/);
    // a room without its ceiling: the line says the unit is a guess
    const noCeiling = lib.estimateSceneFrame(caseInput(spec.cases.find((c) => c.ceiling === false && c.kind === "z-up")));
    assert.match(lib.describeSceneFrame(noCeiling), /^up [+-][XYZ] \(tilt \d+ deg\), 1 unit = [\d.e+-]+ m, floor -?\d+\.\d\d, confidence 0\.50 \(unit guess: no ceiling\)$/);
});

test("explicit frames: fields checked, defaults for the rest", () => {
    const e = lib.explicitFrame({ upAxis: "+z" });
    assert.deepEqual(e.rotation, lib.upAxisRotation("+z"));
    assert.equal(e.metresPerUnit, 1);
    assert.equal(e.source, "explicit");
    assert.throws(() => lib.explicitFrame({ metresPerUnit: -1 }), (x) => x.code === "INVALID_ARGUMENT");
    assert.throws(() => lib.explicitFrame({ rotation: [1, 0, 0, 0, 1, 0, 0, 0, -1] }), (x) => x.code === "INVALID_ARGUMENT" && /reflection/.test(x.message));
});
