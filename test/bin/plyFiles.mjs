// Small binary 3DGS PLY files for the encode command's tests (x y z, f_dc_0..2, opacity, scale_0..2, rot_0..3).
import { writeFileSync } from "node:fs";

const PROPERTIES = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];

/** A PLY with `count` Gaussians on a grid `spacing` metres apart; `tweak(i, row)` may change a row (14 floats). */
export function gaussianPly(count, { spacing = 0.07, tweak } = {}) {
    const header =
        `ply\nformat binary_little_endian 1.0\nelement vertex ${count}\n` +
        PROPERTIES.map((p) => `property float ${p}\n`).join("") +
        "end_header\n";
    const head = Buffer.from(header, "ascii");
    const body = Buffer.alloc(count * PROPERTIES.length * 4);
    const row = new Float32Array(PROPERTIES.length);
    for (let i = 0; i < count; i++) {
        // a 10 x 10 x n block: several voxels per level, deterministic colours and sizes
        row.set([(i % 10) * spacing, Math.floor(i / 100) * spacing, (Math.floor(i / 10) % 10) * spacing,
            ((i * 7) % 11) / 11 - 0.5, ((i * 3) % 5) / 5 - 0.5, ((i * 13) % 17) / 17 - 0.5,
            ((i * 5) % 9) - 4, -3.5 + (i % 3) * 0.2, -3.2, -4.0 + (i % 5) * 0.1, 1, 0, 0, 0]);
        tweak?.(i, row);
        for (let c = 0; c < row.length; c++) body.writeFloatLE(row[c], (i * PROPERTIES.length + c) * 4);
    }
    return Buffer.concat([head, body]);
}

export function writeGaussianPly(path, count, options) {
    writeFileSync(path, gaussianPly(count, options));
    return path;
}
