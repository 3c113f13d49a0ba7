// A CPU reference of the feature splat pass: the same projection, falloff, cut-off, order and compositing as
// shaders/featureSplat.*.wgsl (which reuse Babylon 9.35's `gaussianSplatting` WGSL include), in float64.
// Tests compare the GPU pass to it; the factory's Python renderer (factory/rtgs2/render.py) implements the
// same maths, so this file is the written-down contract (ARCHITECTURE.md contract 5). Step by step:
//
// Inputs per splat (what Babylon's textures hold, see decodeSplatRows):
//   centre c (mesh-local), colour (r, g, b) and opacity o in [0, 1] (u8 / 255 in Babylon),
//   covariance Vrk = M M^T with M = R(q) * diag(2 s)  -- Babylon stores FOUR times the 3DGS covariance
//   R S^2 R^T (gaussianSplattingMeshBase._makeSplat scales by 2).
// Camera: view V, projection P, mesh world matrix Wm (Babylon Matrix.m order; column-vector maths below uses
//   the 4x4 matrix A with A[r][c] = m[4c + r], so that p' = A p), target size W x H pixels.
// 1. Projection: w = Wm c, v = V w (view space, camera looks down +z in Babylon's left-handed default),
//    p = P v (clip). Culled if p.z < 0 or |p.x| > 1.2 p.w or |p.y| > 1.2 p.w.
// 2. 2D covariance (EWA): focal f = (W P[0][0] / 2, H P[1][1] / 2) in pixels,
//    J = [[f.x / v.z, 0, -f.x v.x / v.z^2], [0, f.y / v.z, -f.y v.y / v.z^2]],
//    L = linear 3x3 part of V Wm, Sigma2 = J L Vrk L^T J^T (2x2), then the low-pass dilation: Sigma2 += 0.3 I
//    (Babylon's kernelSize; because of the 4x covariance and the quad mapping below, this equals a dilation of
//    0.3 / 4 = 0.075 px^2 on the true 3DGS covariance).
// 3. Axes: eigenvalues l1 >= l2 of Sigma2 (l2 < 0 culls), unit eigenvector d1 = normalize(Sigma2_01, l1 - Sigma2_00)
//    (an axis-aligned Sigma2 with Sigma2_01 = 0 and l1 = Sigma2_00 makes this 0/0: the shader's result is
//    undefined there, the reference skips the splat), d2 = (d1.y, -d1.x),
//    major = min(sqrt(2 l1), 1024) d1, minor = min(sqrt(2 l2), 1024) d2.
// 4. Quad: vertex (qx, qy) in {-2, 2}^2 goes to NDC centre + (qx major + qy minor) / (W, H). A pixel (px, py),
//    row py counted from the TOP, has its centre at NDC x = 2 (px + 0.5) / W - 1, y = 1 - 2 (py + 0.5) / H.
//    Its quad coordinates (qx, qy) solve ndc - centre = (qx major + qy minor) / (W, H) (major and minor are
//    orthogonal), and alpha = o exp(-(qx^2 + qy^2)) where qx^2 + qy^2 < 4, else 0 (the cut-off).
// 5. Order: back to front, by view depth v.z, farthest first (Babylon sorts by camera-forward depth in a worker,
//    in quantised buckets: splats at nearly equal depth may come in either order on the GPU).
// 6. Compositing: every channel x (r, g, b, depth z = v.z (sign-corrected for right-handed scenes), features)
//    starts at 0 and for each splat in order becomes x = x_i a_i + x (1 - a_i); alpha a = a_i + a (1 - a_i).
//    So X = sum_i x_i a_i prod_{j<i, nearer} (1 - a_j): premultiplied, NOT divided by alpha.
// The cut-off is a step of o * exp(-4) (up to 0.018) in alpha: a pixel whose centre lies within rounding of the
// cut-off circle may be in on one side and out on the other (the rasterizer snaps quad corners to its sub-pixel
// grid, 1/16 px on SwiftShader, Vulkan's minimum, which moves the interpolated q). `ambiguous` marks pixels where
// some splat has | |q| - 2 | < 4 * cutoffMarginPx / min(|major|, |minor|) (a pixel is half an axis unit, so
// that is twice cutoffMarginPx of corner movement); comparisons skip those pixels.
import { Matrix, Quaternion } from "@babylonjs/core/Maths/math.vector";
import { FromHalfFloat, ToHalfFloat } from "@babylonjs/core/Misc/halfFloat";

/** One splat as Babylon's textures hold it. */
export interface ReferenceSplat {
    /** Centre, mesh-local. */
    center: [number, number, number];
    /** Babylon's covariance (4x the 3DGS one): [xx, xy, xz, yy, yz, zz], mesh-local. */
    covariance: [number, number, number, number, number, number];
    /** Colour in [0, 1]. */
    color: [number, number, number];
    /** Opacity in [0, 1]. */
    opacity: number;
}

export interface ReferenceCamera {
    width: number;
    height: number;
    /** Babylon Matrix.m order (16 numbers). */
    viewMatrix: ArrayLike<number>;
    projectionMatrix: ArrayLike<number>;
    /** Mesh world matrix, Babylon Matrix.m order. Default identity. */
    worldMatrix?: ArrayLike<number>;
    /** Babylon's kernelSize (default 0.3). */
    kernelSize?: number;
    /** Right-handed scenes look down -z: depth is negated so it stays positive in front. Default false. */
    rightHanded?: boolean;
}

/** Same layout as FeatureFrame: rows top to bottom; rgb [3,H,W], alpha/depth [H,W], features [K,H,W]. */
export interface ReferenceImage {
    width: number;
    height: number;
    featureDimension: number;
    rgb: Float64Array;
    alpha: Float64Array;
    depth: Float64Array;
    features: Float64Array;
    /** [H, W]: 1 where a splat's cut-off passes within rasterization rounding of the pixel centre (see header). */
    ambiguous: Uint8Array;
}

const ROW_BYTES = 32;

/**
 * Decodes Babylon's 32-byte `.splat` rows (position 3 x f32, scale 3 x f32, rgba 4 x u8, rotation 4 x u8)
 * exactly as GaussianSplattingMeshBase._makeSplat does: quaternion (x, y, z, w) =
 * ((b1, b2, b3) - 127.5) / 127.5, w = -(b0 - 127.5) / 127.5, normalised; M = R(q) * diag(2 s); covariance M M^T
 * (rows of Babylon's row-major m); y negated when `flipY`.
 * With `quantizeLikeBabylon` (default true) the covariance also goes through Babylon's storage: divided by
 * its largest |entry| (kept as float32 in the centres texture), truncated to fp16 (Babylon's ToHalfFloat),
 * multiplied back; so the reference sees the same covariance as the shader, to fp32 rounding.
 */
export function decodeSplatRows(buffer: ArrayBuffer, flipY = false, quantizeLikeBabylon = true): ReferenceSplat[] {
    if (buffer.byteLength % ROW_BYTES !== 0) {
        throw new RangeError(`decodeSplatRows: ${buffer.byteLength} bytes is not a whole number of 32-byte splat rows`);
    }
    const f32 = new Float32Array(buffer);
    const u8 = new Uint8Array(buffer);
    const count = buffer.byteLength / ROW_BYTES;
    const splats: ReferenceSplat[] = [];
    const rotation = new Matrix();
    const scale = new Matrix();
    const product = new Matrix();
    for (let i = 0; i < count; i++) {
        const q = new Quaternion(
            (u8[ROW_BYTES * i + 29] - 127.5) / 127.5,
            (u8[ROW_BYTES * i + 30] - 127.5) / 127.5,
            (u8[ROW_BYTES * i + 31] - 127.5) / 127.5,
            -(u8[ROW_BYTES * i + 28] - 127.5) / 127.5
        );
        q.normalize();
        q.toRotationMatrix(rotation);
        Matrix.ScalingToRef(f32[8 * i + 3] * 2, f32[8 * i + 4] * 2, f32[8 * i + 5] * 2, scale);
        const m = rotation.multiplyToRef(scale, product).m;
        const covariance: ReferenceSplat["covariance"] = [
            m[0] * m[0] + m[1] * m[1] + m[2] * m[2],
            m[0] * m[4] + m[1] * m[5] + m[2] * m[6],
            m[0] * m[8] + m[1] * m[9] + m[2] * m[10],
            m[4] * m[4] + m[5] * m[5] + m[6] * m[6],
            m[4] * m[8] + m[5] * m[9] + m[6] * m[10],
            m[8] * m[8] + m[9] * m[9] + m[10] * m[10],
        ];
        if (quantizeLikeBabylon) {
            const factor = Math.fround(Math.max(-10000, ...covariance.map(Math.abs)));
            for (let k = 0; k < 6; k++) covariance[k] = Math.fround(FromHalfFloat(ToHalfFloat(covariance[k] / factor)) * factor);
        }
        splats.push({
            center: [f32[8 * i], f32[8 * i + 1] * (flipY ? -1 : 1), f32[8 * i + 2]],
            covariance,
            color: [u8[ROW_BYTES * i + 24] / 255, u8[ROW_BYTES * i + 25] / 255, u8[ROW_BYTES * i + 26] / 255],
            opacity: u8[ROW_BYTES * i + 27] / 255,
        });
    }
    return splats;
}

/** A * p for Babylon's m order (A[r][c] = m[4c + r]). */
function transform4(m: ArrayLike<number>, x: number, y: number, z: number, w: number): [number, number, number, number] {
    return [
        m[0] * x + m[4] * y + m[8] * z + m[12] * w,
        m[1] * x + m[5] * y + m[9] * z + m[13] * w,
        m[2] * x + m[6] * y + m[10] * z + m[14] * w,
        m[3] * x + m[7] * y + m[11] * z + m[15] * w,
    ];
}

/** Column-vector product A B of two matrices in Babylon's m order. */
function multiply(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
    const out = new Array<number>(16).fill(0);
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) out[4 * c + r] += a[4 * k + r] * b[4 * c + k];
    return out;
}

/** The projected splat: everything a pixel needs. */
export interface ProjectedSplat {
    index: number;
    /** View-space depth (sign-corrected). */
    depth: number;
    /** Centre in pixels (x right, y down from the top-left corner). */
    centerPx: [number, number];
    major: [number, number];
    minor: [number, number];
}

/** Steps 1-3 of the header for one splat; null when the shader culls it. */
export function projectSplat(splat: ReferenceSplat, index: number, camera: ReferenceCamera): ProjectedSplat | null {
    const W = camera.width;
    const H = camera.height;
    const P = camera.projectionMatrix;
    const world = camera.worldMatrix ?? Matrix.IdentityReadOnly.m;
    const modelView = multiply(camera.viewMatrix, world);
    const [wx, wy, wz] = transform4(world, splat.center[0], splat.center[1], splat.center[2], 1);
    const v = transform4(camera.viewMatrix, wx, wy, wz, 1);
    const p = transform4(P, v[0], v[1], v[2], v[3]);
    const bounds = 1.2 * p[3];
    if (p[2] < 0 || p[0] < -bounds || p[0] > bounds || p[1] < -bounds || p[1] > bounds) return null;
    const fx = (W * P[0]) / 2;
    const fy = (H * P[5]) / 2;
    // J (2x3) L (3x3): L[r][c] = modelView[4c + r].
    const J = [
        [fx / v[2], 0, -(fx * v[0]) / (v[2] * v[2])],
        [0, fy / v[2], -(fy * v[1]) / (v[2] * v[2])],
    ];
    const L = [0, 1, 2].map((r) => [0, 1, 2].map((c) => modelView[4 * c + r]));
    const T = J.map((row) => [0, 1, 2].map((c) => row[0] * L[0][c] + row[1] * L[1][c] + row[2] * L[2][c])); // 2x3 = J L
    const [c0, c1, c2, c3, c4, c5] = splat.covariance;
    const Vrk = [
        [c0, c1, c2],
        [c1, c3, c4],
        [c2, c4, c5],
    ];
    const TV = T.map((row) => [0, 1, 2].map((c) => row[0] * Vrk[0][c] + row[1] * Vrk[1][c] + row[2] * Vrk[2][c]));
    const s = (a: number, b: number) => TV[a][0] * T[b][0] + TV[a][1] * T[b][1] + TV[a][2] * T[b][2];
    const kernel = camera.kernelSize ?? 0.3;
    const a = s(0, 0) + kernel;
    const b = s(0, 1);
    const c = s(1, 1) + kernel;
    const mid = (a + c) / 2;
    const radius = Math.hypot((a - c) / 2, b);
    const l1 = mid + radius;
    const l2 = mid - radius;
    if (l2 < 0) return null;
    const dx = b;
    const dy = l1 - a;
    const len = Math.hypot(dx, dy);
    if (len === 0) return null; // 0/0 in the shader (see header, step 3)
    const d1: [number, number] = [dx / len, dy / len];
    const majorLen = Math.min(Math.sqrt(2 * l1), 1024);
    const minorLen = Math.min(Math.sqrt(2 * l2), 1024);
    const ndcX = p[0] / p[3];
    const ndcY = p[1] / p[3];
    return {
        index,
        depth: v[2] * (camera.rightHanded ? -1 : 1),
        centerPx: [((ndcX + 1) / 2) * W, ((1 - ndcY) / 2) * H],
        major: [majorLen * d1[0], majorLen * d1[1]],
        minor: [minorLen * d1[1], -minorLen * d1[0]],
    };
}

/**
 * Renders `splats` with per-splat `features` ([N x K], row per splat; may be empty when K = 0) like the GPU pass.
 */
export function renderReference(
    splats: readonly ReferenceSplat[],
    features: ArrayLike<number>,
    featureDimension: number,
    camera: ReferenceCamera,
    cutoffMarginPx = 1 / 16
): ReferenceImage {
    const K = featureDimension;
    if (features.length !== splats.length * K) {
        throw new RangeError(`renderReference: ${features.length} feature values for ${splats.length} splats x K=${K}`);
    }
    const W = camera.width;
    const H = camera.height;
    const N = W * H;
    const rgb = new Float64Array(3 * N);
    const alpha = new Float64Array(N);
    const depth = new Float64Array(N);
    const feat = new Float64Array(K * N);
    const ambiguous = new Uint8Array(N);
    const projected: ProjectedSplat[] = [];
    splats.forEach((splat, i) => {
        const p = projectSplat(splat, i, camera);
        if (p) projected.push(p);
    });
    // Back to front: farthest first; equal depths keep index order.
    projected.sort((x, y) => y.depth - x.depth || x.index - y.index);
    for (const p of projected) {
        const splat = splats[p.index];
        const [M0, M1] = p.major;
        const [m0, m1] = p.minor;
        const majorSq = M0 * M0 + M1 * M1;
        const minorSq = m0 * m0 + m1 * m1;
        // The quad reaches |q| = 2 along each axis: 2 * |axis| / 2 pixels (NDC offset axis/W spans axis/2 pixels).
        const reach = Math.sqrt(Math.max(majorSq, minorSq)) + 1;
        const qMargin = (4 * cutoffMarginPx) / Math.sqrt(Math.min(majorSq, minorSq));
        const x0 = Math.max(0, Math.floor(p.centerPx[0] - reach));
        const x1 = Math.min(W - 1, Math.ceil(p.centerPx[0] + reach));
        const y0 = Math.max(0, Math.floor(p.centerPx[1] - reach));
        const y1 = Math.min(H - 1, Math.ceil(p.centerPx[1] + reach));
        for (let py = y0; py <= y1; py++) {
            for (let px = x0; px <= x1; px++) {
                // ndc - centre, scaled by (W, H): u = qx major + qy minor. NDC y is up, pixel rows go down.
                const ux = 2 * (px + 0.5 - p.centerPx[0]);
                const uy = -2 * (py + 0.5 - p.centerPx[1]);
                const qx = (ux * M0 + uy * M1) / majorSq;
                const qy = (ux * m0 + uy * m1) / minorSq;
                const A = -(qx * qx + qy * qy);
                if (Math.abs(Math.sqrt(-A) - 2) < qMargin) ambiguous[py * W + px] = 1;
                if (A <= -4) continue;
                const a = Math.exp(A) * splat.opacity;
                const keep = 1 - a;
                const o = py * W + px;
                rgb[o] = splat.color[0] * a + rgb[o] * keep;
                rgb[N + o] = splat.color[1] * a + rgb[N + o] * keep;
                rgb[2 * N + o] = splat.color[2] * a + rgb[2 * N + o] * keep;
                alpha[o] = a + alpha[o] * keep;
                depth[o] = p.depth * a + depth[o] * keep;
                for (let k = 0; k < K; k++) feat[k * N + o] = features[p.index * K + k] * a + feat[k * N + o] * keep;
            }
        }
    }
    return { width: W, height: H, featureDimension: K, rgb, alpha, depth, features: feat, ambiguous };
}
