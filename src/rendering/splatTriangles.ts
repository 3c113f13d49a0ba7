// One triangle per splat, clipped to a hexagon, instead of Babylon's quad: the feature pass's "triangle" primitive.
//
// Babylon draws each splat as a quad (4 vertices, 2 triangles) around the cut-off circle |p| < 2 of its falloff,
// and every vertex runs the whole EWA projection. An equilateral triangle around the same circle (inradius 2) needs
// 3 vertices: a quarter less vertex work. Unclipped it rasterizes 30 % more area than the quad (all of it outside
// the circle, discarded), which on SwiftShader costs what the vertex saves; three WebGPU clip distances, planes
// tangent to the circle at the triangle's corners, cut it to a hexagon (area 6 tan(30 deg) r^2 = 13.9 for r = 2,
// against the quad's 16 and the circle's 12.6). The maths is the same: the same fragments inside the circle get the
// same falloff coordinate, interpolated from other corners. The rasterizer snaps vertices to its sub-pixel grid, so
// neither primitive is exact; both match the CPU reference to a few 1e-3 (test/rendering/splatTriangles.spec.ts).
// BENCHMARKS.md (issue 2) has the timings.
//
// How:
// - Babylon renders the per-camera splat mesh with the main mesh's sub-mesh (indices 0 .. 6B of its batch
//   geometry, B splats per instance; `_drawColorPass`). The triangles are appended to that geometry's index buffer
//   (the first triangle of each quad: corners 0, 1, 2), and a pass whose material is marked here draws those 3B
//   indices instead (SemanticGaussianSplattingMesh._drawColorPass). The colour pass and every other pass still draw
//   indices 0 .. 6B.
// - The vertex shader (SPLAT_TRIANGLES in shaders/featureSplat.vertex.wgsl) moves the quad corners (-2,-2), (2,-2),
//   (2,2) to the triangle's (-2 sqrt 3, -2), (2 sqrt 3, -2), (0, 4) and writes `vertexOutputs.clipDistances`.
// - Babylon 9.35 builds the vertex output struct itself and offers no way to add a builtin to it or an `enable`
//   directive before it, so `useClipDistances` wraps the engine's last WGSL step (`_getWGSLShader`) to add both to
//   vertex shaders that define SPLAT_TRIANGLES, and to nothing else.
import type { Material } from "@babylonjs/core/Materials/material";
import type { WebGPUEngine } from "@babylonjs/core/Engines/webgpuEngine";
import type { Mesh } from "@babylonjs/core/Meshes/mesh";
import type { SubMesh } from "@babylonjs/core/Meshes/subMesh";

/** Number of clip distances the triangle primitive writes (one per corner of the triangle). */
export const SPLAT_TRIANGLE_CLIP_DISTANCES = 3;

const triangleMaterials = new WeakSet<Material>();

/** Marks a splat material as drawing one triangle per splat (its vertex shader defines SPLAT_TRIANGLES). */
export function markSplatTriangleMaterial(material: Material): void {
    triangleMaterials.add(material);
}

/** Whether `material` draws one triangle per splat. */
export function drawsSplatTriangles(material: Material | null | undefined): boolean {
    return !!material && triangleMaterials.has(material);
}

/**
 * Draws the per-camera splat mesh `cameraMesh` as triangles: makes sure its geometry carries the triangle indices
 * after the quads' (once per geometry), points `quadSubMesh` (the main mesh's sub-mesh over the quads) at them for
 * the duration of `draw`, and restores it.
 */
export function withSplatTriangles<T>(cameraMesh: Mesh, quadSubMesh: SubMesh, draw: () => T): T {
    const { indexStart, indexCount } = quadSubMesh;
    ensureTriangleIndices(cameraMesh, indexStart, indexCount);
    quadSubMesh.indexStart = indexStart + indexCount;
    quadSubMesh.indexCount = indexCount / 2;
    try {
        return draw();
    } finally {
        quadSubMesh.indexStart = indexStart;
        quadSubMesh.indexCount = indexCount;
    }
}

/**
 * Appends, once, the first triangle of each quad (6 indices per quad from `start`) to the mesh's index buffer.
 * When the buffer holds more than the quads (triangles appended for an earlier, larger scene that Babylon's
 * per-camera mesh kept after a reload with fewer Gaussians), it is cut back to the quads first.
 */
function ensureTriangleIndices(mesh: Mesh, start: number, quadIndexCount: number): void {
    const geometry = mesh.geometry;
    const total = geometry?.getTotalIndices() ?? 0;
    const quadEnd = start + quadIndexCount;
    if (total === quadEnd + quadIndexCount / 2) return;
    if (!geometry || total < quadEnd || quadIndexCount % 6 !== 0) {
        throw new Error(`splat triangles: mesh "${mesh.name}" has ${total} indices, not Babylon's splat quads over ${start}..${quadEnd}`);
    }
    const quads = geometry.getIndices(false)!;
    // A plain array, like Babylon's own: the engine picks 16-bit indices for it, as it did for the quads.
    const indices = Array.prototype.slice.call(quads, 0, quadEnd) as number[];
    for (let q = 0; q < quadIndexCount / 6; q++) {
        for (let c = 0; c < 3; c++) indices.push(quads[start + 6 * q + c]);
    }
    // Keep the sub-meshes Babylon made (dontForceSubMeshRecreation): they still cover the quads. The old index
    // buffer is released at the end of the frame (Babylon defers buffer destruction), after the draws using it.
    geometry.setIndices(indices, null, false, true);
}

/** The marker of shaders that want clip distances: the SPLAT_TRIANGLES define (Babylon passes defines beside the code). */
const CLIP_DISTANCE_SHADER = /^\s*(\/\/)?#define SPLAT_TRIANGLES\b/m;
const POSITION_OUTPUT = /@builtin\(position\)( @invariant)? position : vec4<f32>,/;

/** The WGSL of a finished Babylon vertex shader with the clip_distances builtin added to its output struct. */
export function addClipDistances(vertexCode: string): string {
    if (!POSITION_OUTPUT.test(vertexCode)) {
        throw new Error("splat triangles: the vertex shader has no Babylon output struct to add clip_distances to (Babylon version mismatch?)");
    }
    const member = `@builtin(clip_distances) clipDistances : array<f32, ${SPLAT_TRIANGLE_CLIP_DISTANCES}>,`;
    return `enable clip_distances;\n${vertexCode.replace(POSITION_OUTPUT, (position) => `${position}\n  ${member}`)}`;
}

const enginesWithClipDistances = new WeakSet<object>();

/**
 * Lets the engine's vertex shaders that define SPLAT_TRIANGLES write clip distances (see the top of this file).
 * Returns false, and changes nothing, when the device lacks the WebGPU feature "clip-distances" or the engine is not
 * the Babylon version this was written for.
 */
export function useClipDistances(engine: WebGPUEngine): boolean {
    if (!engine._device?.features.has("clip-distances")) return false;
    if (enginesWithClipDistances.has(engine)) return true;
    const internals = engine as unknown as { _getWGSLShader?: (source: string, type: string, defines: string) => string };
    const finish = internals._getWGSLShader;
    if (typeof finish !== "function") return false;
    internals._getWGSLShader = (source, type, defines) =>
        finish.call(engine, type === "vertex" && CLIP_DISTANCE_SHADER.test(`${defines ?? ""}\n${source}`) ? addClipDistances(source) : source, type, defines);
    enginesWithClipDistances.add(engine);
    return true;
}
