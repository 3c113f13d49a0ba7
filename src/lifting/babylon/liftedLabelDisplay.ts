// The Babylon-facing part of label lifting: Gaussians of a mesh as LiftingGaussians, and hide / isolate / recolour
// by lifted class.
//
// How it changes what renders (the least invasive way in Babylon 9.35): GaussianSplattingMesh keeps each splat's
// rgba8 colour in its colours texture (a RawTexture, texel i % width, floor(i / width), the same bytes as bytes
// 24..27 of the `.splat` rows in `splatsData`). We rewrite that texture with `RawTexture.update`: a hidden Gaussian
// gets alpha 0 (it still goes through the sort but adds nothing), a recoloured one gets its class colour. No
// shader, no material and no sort change; `restore()` writes the original bytes back. Everything that reads the
// colours texture sees it, the feature splat pass included (an isolated class is then also what segmentation sees).
// Spherical harmonics (degree >= 1) are left alone and still add their view-dependent tint to recoloured splats.
// Needs the splat data kept in RAM (`keepInRam`, the SemanticGaussianSplattingMesh default).

import type { GaussianSplattingMesh } from "@babylonjs/core/Meshes/GaussianSplatting/gaussianSplattingMesh";
import type { RawTexture } from "@babylonjs/core/Materials/Textures/rawTexture";
import { SemanticSplatError } from "../../errors";
import type { LiftingGaussians } from "../labelLifter";

const ROW_BYTES = 32;

function splatRows(mesh: GaussianSplattingMesh, what: string): ArrayBuffer {
    const data = mesh.splatsData;
    if (!data) throw new SemanticSplatError("INVALID_ARGUMENT", `${what}: the mesh's splat data is not kept in RAM (construct it with keepInRam: true)`, mesh.name);
    return data;
}

/**
 * World-space centres, opacities and footprint radii of a mesh's Gaussians, in splat order, for LabelLifter and
 * pickLiftedLabel. Uses the mesh's current world matrix. The radius is the mean of the three scales (world units), an
 * isotropic stand-in for the footprint: the largest scale overstates flat and thin splats' footprints across their
 * narrow side, so nearer objects absorbed picks at their edges (on the showcase room 79 % of 300 random picks agreed
 * with the ground-truth label map with the largest scale and a 2 px minimum, 92 % with this radius and 0.5 px:
 * BENCHMARKS.md, "Label lifting").
 */
export function liftingGaussiansOf(mesh: GaussianSplattingMesh): LiftingGaussians & { radii: Float32Array } {
    const data = splatRows(mesh, "liftingGaussiansOf");
    const count = Math.floor(data.byteLength / ROW_BYTES);
    const f = new Float32Array(data, 0, count * 8);
    const u = new Uint8Array(data, 0, count * ROW_BYTES);
    const m = mesh.computeWorldMatrix(true).m;
    const positions = new Float32Array(count * 3);
    const opacities = new Float32Array(count);
    const radii = new Float32Array(count);
    const scale = Math.cbrt(Math.abs(mesh.computeWorldMatrix(true).determinant())) || 1;
    for (let i = 0; i < count; i++) {
        const x = f[8 * i];
        const y = f[8 * i + 1];
        const z = f[8 * i + 2];
        positions[3 * i] = x * m[0] + y * m[4] + z * m[8] + m[12];
        positions[3 * i + 1] = x * m[1] + y * m[5] + z * m[9] + m[13];
        positions[3 * i + 2] = x * m[2] + y * m[6] + z * m[10] + m[14];
        radii[i] = ((f[8 * i + 3] + f[8 * i + 4] + f[8 * i + 5]) / 3) * scale;
        opacities[i] = u[ROW_BYTES * i + 27] / 255;
    }
    return { positions, opacities, radii };
}

/** What a class looks like: shown as is, hidden, or drawn in a flat colour (0..255 rgb). */
export type ClassAppearance = "show" | "hide" | { color: readonly [number, number, number] };

/** Hide, isolate or recolour a mesh's Gaussians by their lifted class. */
export class LiftedLabelDisplay {
    private readonly _original: Uint8Array;
    private readonly _count: number;

    constructor(readonly mesh: GaussianSplattingMesh) {
        const data = splatRows(mesh, "LiftedLabelDisplay");
        this._count = Math.floor(data.byteLength / ROW_BYTES);
        const rows = new Uint8Array(data, 0, this._count * ROW_BYTES);
        this._original = new Uint8Array(this._count * 4);
        for (let i = 0; i < this._count; i++) this._original.set(rows.subarray(ROW_BYTES * i + 24, ROW_BYTES * i + 28), 4 * i);
    }

    private _texture(): RawTexture {
        const texture = this.mesh.colorsTexture as RawTexture | null;
        if (!texture || typeof (texture as RawTexture).update !== "function") {
            throw new SemanticSplatError("INVALID_ARGUMENT", "LiftedLabelDisplay: the mesh has no CPU-updatable colours texture (not loaded yet, or a SOG/atlas mesh)", this.mesh.name);
        }
        return texture;
    }

    /**
     * Applies an appearance per class to the Gaussians with lifted `labels` ([N], 255 = none). `appearance(label)`
     * is called once per class id 0..255 (none included).
     */
    apply(labels: Uint8Array, appearance: (label: number) => ClassAppearance): void {
        if (labels.length !== this._count) {
            throw new SemanticSplatError("INVALID_ARGUMENT", `LiftedLabelDisplay.apply: ${labels.length} labels for ${this._count} Gaussians`, this.mesh.name);
        }
        const texture = this._texture();
        const size = texture.getSize();
        const out = new Uint8Array(size.width * size.height * 4);
        out.set(this._original);
        const table: ClassAppearance[] = [];
        for (let c = 0; c < 256; c++) table.push(appearance(c));
        for (let i = 0; i < this._count; i++) {
            const look = table[labels[i]];
            if (look === "show") continue;
            if (look === "hide") out[4 * i + 3] = 0;
            else {
                out[4 * i] = look.color[0];
                out[4 * i + 1] = look.color[1];
                out[4 * i + 2] = look.color[2];
            }
        }
        texture.update(out);
    }

    /** Hides the Gaussians of the given classes. */
    hide(labels: Uint8Array, classes: Iterable<number>): void {
        const hidden = new Set(classes);
        this.apply(labels, (c) => (hidden.has(c) ? "hide" : "show"));
    }

    /** Shows only the Gaussians of the given classes. */
    isolate(labels: Uint8Array, classes: Iterable<number>): void {
        const kept = new Set(classes);
        this.apply(labels, (c) => (kept.has(c) ? "show" : "hide"));
    }

    /** Draws the Gaussians of each class in `colors` (class id -> rgb 0..255); others as they are. */
    recolor(labels: Uint8Array, colors: ReadonlyMap<number, readonly [number, number, number]>): void {
        this.apply(labels, (c) => {
            const color = colors.get(c);
            return color ? { color } : "show";
        });
    }

    /** Puts the original colours back. */
    restore(): void {
        const texture = this._texture();
        const size = texture.getSize();
        const out = new Uint8Array(size.width * size.height * 4);
        out.set(this._original);
        texture.update(out);
    }
}
