"""What Babylon.js 9.35 holds on the GPU for a 3DGS PLY, and the order its sort worker draws splats in.

The runtime renders scenes that Babylon loaded from the PLY files rtgs2.ply writes; its splat textures hold
quantised values, and the reference renderer (rtgs2.render) must see the same numbers to match it
(ARCHITECTURE.md contract 5). Traced from node_modules/@babylonjs/core (9.35):

- Loader (SPLATFileLoader + GaussianSplattingMeshBase._GetSplat): every PLY vertex becomes a 32-byte `.splat`
  row: position float32 (file frame, +Y down), scale float32 = exp(scale_i), colour uint8
  = Uint8Clamp((0.5 + SH_C0 f_dc) * 255), opacity uint8 = Uint8Clamp(sigmoid(opacity) * 255), rotation uint8
  = Uint8Clamp(q * 127.5 + 127.5) of the normalised (w, x, y, z). The mesh gets scaling.y = -1, so its world
  matrix is diag(1, -1, 1) and the file frame stays the mesh-local frame on the GPU.
- _makeSplat: quaternion (x, y, z, w) = ((b1, b2, b3) - 127.5) / 127.5, w = -(b0 - 127.5) / 127.5 (the sign flip
  turns Babylon's row-vector rotation matrix into the usual one), normalised; M = R diag(2 s) in float32;
  covariance M M^T, i.e. FOUR times the 3DGS covariance; divided by its largest |entry| `factor` and truncated
  to fp16 (Babylon's ToHalfFloat truncates, it does not round); `factor` is kept as float32 in the centres
  texture's w, and the shader multiplies back (readSplat: covA * center.w) in float32.
- Sort worker (gaussianSplattingSortWorker.js, counting sort, the default): depth = camera forward . (world *
  centre - camera position) over ALL splats, bucketed into 2^bits + 1 buckets between the min and max depth
  (bits = clamp(round(log2(N / 4)), 10, 20)), key = floor((max - depth) * scale); drawn in increasing key (far
  to near), and within one bucket in DEcreasing source index.
- Features (the runtime's feature texture, contract 1) are fp16, rounded to nearest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gaussians import GaussianScene
from .ply import SH_C0

# The mesh world matrix Babylon's PLY loader gives a 3DGS file (scaling.y = -1): file frame -> scene frame.
PLY_MESH_WORLD = np.diag([1.0, -1.0, 1.0, 1.0])
_REFLECT_Y = np.array([1, -1, 1], dtype=np.float32)
_REFLECT_Q = np.array([1, -1, 1, -1], dtype=np.float32)


def _half_tables() -> tuple[np.ndarray, np.ndarray]:
    """Babylon's float32 -> float16 base/shift tables (Misc/halfFloat.js, after van der Zijp's fast conversion)."""
    base = np.zeros(512, dtype=np.uint32)
    shift = np.zeros(512, dtype=np.uint32)
    for i in range(256):
        e = i - 127
        if e < -24:
            base[i], base[i | 0x100], shift[i], shift[i | 0x100] = 0x0000, 0x8000, 24, 24
        elif e < -14:
            base[i] = 0x0400 >> (-e - 14)
            base[i | 0x100] = (0x0400 >> (-e - 14)) | 0x8000
            shift[i] = shift[i | 0x100] = -e - 1
        elif e <= 15:
            base[i] = (e + 15) << 10
            base[i | 0x100] = ((e + 15) << 10) | 0x8000
            shift[i] = shift[i | 0x100] = 13
        elif e < 128:
            base[i], base[i | 0x100], shift[i], shift[i | 0x100] = 0x7C00, 0xFC00, 24, 24
        else:
            base[i], base[i | 0x100], shift[i], shift[i | 0x100] = 0x7C00, 0xFC00, 13, 13
    return base, shift


_HALF_BASE, _HALF_SHIFT = _half_tables()


def babylon_to_half_float(values: np.ndarray) -> np.ndarray:
    """float32 values as Babylon's ToHalfFloat stores them (truncated toward zero), decoded back to float32."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    e = (bits >> 23) & 0x1FF
    half = _HALF_BASE[e] + ((bits & 0x007FFFFF) >> _HALF_SHIFT[e])
    return half.astype(np.uint16).view(np.float16).astype(np.float32)


def uint8_clamp(values: np.ndarray) -> np.ndarray:
    """JavaScript's Uint8ClampedArray store: round half to even, clamp to 0..255, NaN -> 0."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def features_as_fp16(features: np.ndarray, source: str = "features") -> np.ndarray:
    """Per-Gaussian features as the runtime's fp16 feature texture holds them (round to nearest)."""
    f = np.asarray(features, dtype=np.float32)
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{source}: NaN or Inf in the per-Gaussian features")
    if np.abs(f).max(initial=0.0) > 65504.0:
        raise ValueError(f"{source}: values outside the fp16 range +-65504")
    return f.astype(np.float16).astype(np.float32)


@dataclass
class BabylonSplats:
    """Per-splat data as Babylon's textures hold it, in the mesh-local (file) frame."""
    centers: np.ndarray  # (N, 3) float32, file frame (+Y down)
    covariances: np.ndarray  # (N, 6) float32: xx xy xz yy yz zz, already times center.w (4x the 3DGS covariance)
    rgba: np.ndarray  # (N, 4) uint8
    world: np.ndarray  # (4, 4) float64 mesh world matrix, column-vector convention

    @property
    def colors(self) -> np.ndarray:
        return self.rgba[:, :3].astype(np.float32) / np.float32(255.0)

    @property
    def opacities(self) -> np.ndarray:
        return self.rgba[:, 3].astype(np.float32) / np.float32(255.0)


def babylon_splats(scene: GaussianScene) -> BabylonSplats:
    """What Babylon holds after loading the PLY that rtgs2.ply writes for `scene` (see the module docstring)."""
    n = len(scene)
    if n == 0:
        raise ValueError("babylon_splats: the scene has no Gaussians")
    # The PLY file's float32 properties, as rtgs2.ply writes them.
    position = scene.positions * _REFLECT_Y
    f_dc = (scene.colors - np.float32(0.5)) / np.float32(SH_C0)
    o = np.clip(scene.opacities.astype(np.float64), 1e-7, 1 - 1e-7)
    opacity_logit = np.log(o / (1 - o)).astype(np.float32)
    log_scale = scene.log_scales
    q_file = scene.rotations * _REFLECT_Q  # (w, x, y, z)

    # PLY -> .splat row (_GetSplat).
    rgba = np.empty((n, 4), dtype=np.uint8)
    rgba[:, :3] = uint8_clamp((0.5 + SH_C0 * f_dc.astype(np.float64)) * 255)
    rgba[:, 3] = uint8_clamp((1.0 / (1.0 + np.exp(-opacity_logit.astype(np.float64)))) * 255)
    scale = np.exp(log_scale.astype(np.float64)).astype(np.float32)
    q = q_file.astype(np.float64)
    length = np.sqrt((q * q).sum(1, keepdims=True))
    q = np.where((length == 0) | (length == 1), q, q * (1.0 / np.where(length == 0, 1, length)))
    rot_bytes = uint8_clamp(q * 127.5 + 127.5)  # (w, x, y, z) bytes

    # .splat row -> textures (_makeSplat).
    qd = (rot_bytes.astype(np.float64) - 127.5) / 127.5
    x, y, z, w = qd[:, 1], qd[:, 2], qd[:, 3], -qd[:, 0]
    length = np.sqrt(x * x + y * y + z * z + w * w)
    inv = np.where((length == 0) | (length == 1), 1.0, 1.0 / np.where(length == 0, 1, length))
    x, y, z, w = x * inv, y * inv, z * inv, w * inv
    xx, yy, zz, xy, zw, zx, yw, yz, xw = x * x, y * y, z * z, x * y, z * w, z * x, y * w, y * z, x * w
    # Matrix.FromQuaternionToRef, row-major m (Float32Array).
    rot = np.stack([
        np.stack([1 - 2 * (yy + zz), 2 * (xy + zw), 2 * (zx - yw)], 1),
        np.stack([2 * (xy - zw), 1 - 2 * (zz + xx), 2 * (yz + xw)], 1),
        np.stack([2 * (zx + yw), 2 * (yz - xw), 1 - 2 * (yy + xx)], 1),
    ], 1).astype(np.float32)
    s2 = (scale.astype(np.float64) * 2).astype(np.float32)
    m = (rot.astype(np.float64) * s2.astype(np.float64)[:, None, :]).astype(np.float32).astype(np.float64)
    r0, r1, r2 = m[:, 0], m[:, 1], m[:, 2]
    cov = np.stack([(r0 * r0).sum(1), (r0 * r1).sum(1), (r0 * r2).sum(1), (r1 * r1).sum(1), (r1 * r2).sum(1),
                    (r2 * r2).sum(1)], 1)
    factor = np.maximum(np.abs(cov).max(1), -10000.0)
    safe = np.where(factor == 0, 1.0, factor)
    stored = babylon_to_half_float((cov / safe[:, None]).astype(np.float32))
    covariances = stored * factor.astype(np.float32)[:, None]  # readSplat: covA * center.w, float32
    return BabylonSplats(position.astype(np.float32), covariances.astype(np.float32), rgba, PLY_MESH_WORLD.copy())


def babylon_sort_order(centers: np.ndarray, world: np.ndarray, world_to_view: np.ndarray,
                       camera_position: np.ndarray | None = None) -> np.ndarray:
    """Source indices in the order Babylon's sort worker draws them (far to near), for all splats.

    `world` and `world_to_view` are column-vector 4x4 matrices; the camera forward direction is the view matrix's
    third row (Babylon's view.m[2], m[6], m[10]), the camera position defaults to the view matrix's eye.
    """
    n = len(centers)
    view = np.asarray(world_to_view, dtype=np.float64)
    forward = view[2, :3].astype(np.float32).astype(np.float64)
    if camera_position is None:
        camera_position = -view[:3, :3].T @ view[:3, 3]
    wm = np.asarray(world, dtype=np.float32).astype(np.float64)
    a, b, c = forward @ wm[:3, 0], forward @ wm[:3, 1], forward @ wm[:3, 2]
    d = forward @ wm[:3, 3] - forward @ np.asarray(camera_position, dtype=np.float64)
    p = np.asarray(centers, dtype=np.float32).astype(np.float64)
    depth = a * p[:, 0] + b * p[:, 1] + c * p[:, 2] + d
    max_depth, min_depth = depth.max(), depth.min()
    bits = max(10, min(20, int(np.floor(np.log2(max(1, n) / 4) + 0.5))))
    bucket_count = 2 ** bits + 1
    depth32 = depth.astype(np.float32).astype(np.float64)
    if not (max_depth - min_depth > 1e-12):
        key = np.zeros(n, dtype=np.int64)
    else:
        scale = (bucket_count - 1) / (max_depth - min_depth)
        # `>>> 0` truncates toward zero; float32 rounding can put a depth a hair past max_depth (key -0 -> 0).
        key = np.clip(np.trunc((max_depth - depth32) * scale), 0, bucket_count - 1).astype(np.int64)
    index = np.arange(n)
    return np.lexsort((-index, key))  # key ascending (far first), then source index descending
