// Benchmark of the scene formats on a 500k-Gaussian 3DGS PLY (62 standard float properties + K=16 float f_sem_*
// + uchar sem_label, 316 bytes a vertex, 158 MB). Not a spec: run it with the command in docs/FORMATS.md
// ("Benchmark"), which bundles this file with rollup and runs it in Node.
import { parsePlyHeader } from "../../../src/formats/ply";
import { readSemanticAttributes } from "../../../src/formats/semanticAttributes";
import { writeSemanticPly, writeSplatAsSemanticPly } from "../../../src/formats/plyWriter";
import { encodeFeatureSidecar, decodeFeatureSidecar } from "../../../src/formats/featureSidecar";
import { float32ArrayToHalf } from "../../../src/util/half";

// No @types/node in this project: reach Node's process through globalThis.
const nodeProcess = (globalThis as unknown as { process: { env: Record<string, string | undefined>; version: string; cpuUsage(): { user: number; system: number } } }).process;
const COUNT = Number(nodeProcess.env.BENCH_COUNT ?? 500_000);
const K = 16;
const REPEATS = 5;

function makeScene(): Uint8Array {
    const names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"];
    for (let i = 0; i < 45; i++) names.push(`f_rest_${i}`);
    names.push("opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3");
    for (let c = 0; c < K; c++) names.push(`f_sem_${c}`);
    const header = ["ply", "format binary_little_endian 1.0", `element vertex ${COUNT}`, ...names.map((n) => `property float ${n}`), "property uchar sem_label", "end_header", ""].join("\n");
    const head = new TextEncoder().encode(header);
    const row = names.length * 4 + 1;
    const out = new Uint8Array(head.length + COUNT * row);
    out.set(head, 0);
    const view = new DataView(out.buffer);
    let seed = 1;
    for (let v = 0, at = head.length; v < COUNT; v++) {
        for (let p = 0; p < names.length; p++, at += 4) {
            seed = (seed * 1664525 + 1013904223) >>> 0;
            view.setFloat32(at, seed / 4294967296 - 0.5, true);
        }
        view.setUint8(at++, v % 21);
    }
    return out;
}

function time<T>(label: string, fn: () => T): T {
    let result: T | undefined;
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
        const cpuStart = nodeProcess.cpuUsage();
        const started = performance.now();
        result = fn();
        wall.push(performance.now() - started);
        const cpuEnd = nodeProcess.cpuUsage();
        cpu.push((cpuEnd.user - cpuStart.user + cpuEnd.system - cpuStart.system) / 1000);
    }
    // CPU time is reported beside wall time: on a shared machine wall time includes waiting for a core.
    wall.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)].toFixed(1).padStart(8);
    console.log(`${label.padEnd(52)} wall median ${median(wall)} ms   cpu median ${median(cpu)} ms`);
    return result as T;
}

const scene = makeScene();
console.log(`scene: ${COUNT} Gaussians, ${(scene.length / 1e6).toFixed(1)} MB, K=${K}; node ${nodeProcess.version}; ${REPEATS} runs each`);
time("parsePlyHeader", () => parsePlyHeader(scene, "bench.ply"));
const attributes = time("readSemanticAttributes (f_sem_* K=16 + sem_label)", () => readSemanticAttributes(scene, "bench.ply"));
time("writeSemanticPly (replace features and labels)", () => writeSemanticPly(scene, "bench.ply", { features: attributes.features, featureDim: K, labels: attributes.labels }));
const half = float32ArrayToHalf(attributes.features!);
const sidecar = time("encodeFeatureSidecar (from fp16)", () => encodeFeatureSidecar({ features: half, count: COUNT, featureDim: K, encoderId: "bench" }));
time("decodeFeatureSidecar", () => decodeFeatureSidecar(sidecar, "bench.semf", { count: COUNT, featureDim: K }));
const splats = new Uint8Array(COUNT * 32);
for (let i = 0; i < splats.length; i++) splats[i] = (i * 2654435761) >>> 24;
const f = new Float32Array(splats.buffer);
for (let v = 0; v < COUNT; v++) f.set([v * 1e-3, 1, 2, 0.01, 0.02, 0.03], v * 8);
time("writeSplatAsSemanticPly (K=16 + labels)", () => writeSplatAsSemanticPly(splats, "bench.splat", { features: attributes.features, featureDim: K, labels: attributes.labels }));
