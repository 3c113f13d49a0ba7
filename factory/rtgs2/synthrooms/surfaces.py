"""Surface samples: the dense candidate points every room surface is drawn from before it becomes Gaussians.

Each primitive (rectangle, box, frustum, disc, ellipsoid, folded panel, triangle mesh) emits candidate points on
its surface at a candidate spacing of `CANDIDATE_FACTOR * spacing` (jittered grid on flat faces, area-weighted
random samples elsewhere), with the outward normal and the material's colour at each point. `spacing` is the
point spacing the surface asks for near the camera paths; rtgs2.synthrooms.gaussianize thins the candidates to the
final, distance-dependent spacing and turns the survivors into Gaussians.

Coordinates are the scene frame's axes (metres, +Y up); object builders work in an object-local frame (origin at
the footprint centre on the floor, front facing +Z) and `Samples.transformed` places them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANDIDATE_FACTOR = 0.7  # candidates are this much denser (in spacing) than the finest requested spacing


@dataclass
class Samples:
    positions: np.ndarray  # (N, 3) float64
    normals: np.ndarray  # (N, 3) float64, unit, pointing out of the surface (towards where it is seen from)
    colors: np.ndarray  # (N, 3) float64 albedo in [0, 1]
    spacing: np.ndarray  # (N,) float64 requested point spacing near the camera paths, metres

    def __len__(self) -> int:
        return len(self.positions)

    @staticmethod
    def empty() -> "Samples":
        return Samples(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))

    @staticmethod
    def concatenate(parts: list["Samples"]) -> "Samples":
        parts = [p for p in parts if len(p)]
        if not parts:
            return Samples.empty()
        return Samples(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                         ("positions", "normals", "colors", "spacing")))

    def transformed(self, yaw: float, translation) -> "Samples":
        """Rotated about +Y by `yaw` radians (see rotation_y), then translated."""
        r = rotation_y(yaw)
        return Samples(self.positions @ r.T + np.asarray(translation, dtype=np.float64)[None], self.normals @ r.T,
                       self.colors, self.spacing)

    def subset(self, mask: np.ndarray) -> "Samples":
        return Samples(self.positions[mask], self.normals[mask], self.colors[mask], self.spacing[mask])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.positions.min(axis=0), self.positions.max(axis=0)


def rotation_y(yaw: float) -> np.ndarray:
    """Rotation about +Y mapping local +Z to (sin yaw, 0, cos yaw): yaw is the heading of the object's front."""
    c, s = np.cos(yaw), np.sin(yaw)
    # Exact zeros for multiples of 90 degrees, so that footprints of wall-aligned objects stay exact.
    c, s = (0.0 if abs(c) < 1e-12 else c), (0.0 if abs(s) < 1e-12 else s)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def rectangle(rng: np.random.Generator, center, normal, u_dir, half_u: float, half_v: float, material,
              spacing: float, uv_offset=(0.0, 0.0), holes=()) -> Samples:
    """A flat rectangle centred at `center`, spanning +-half_u along u_dir and +-half_v along normal x u_dir.
    The material sees metric uv = (a, b) + uv_offset. `holes`: (a0, a1, b0, b1) ranges left empty (openings)."""
    n, u = _unit(normal), _unit(u_dir)
    v = np.cross(n, u)
    c = CANDIDATE_FACTOR * spacing
    nu, nv = max(1, int(np.ceil(2 * half_u / c))), max(1, int(np.ceil(2 * half_v / c)))
    gu, gv = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    a = (gu.ravel() + rng.uniform(size=gu.size)) / nu * 2 * half_u - half_u
    b = (gv.ravel() + rng.uniform(size=gv.size)) / nv * 2 * half_v - half_v
    keep = np.ones(len(a), dtype=bool)
    for a0, a1, b0, b1 in holes:
        keep &= ~((a > a0) & (a < a1) & (b > b0) & (b < b1))
    a, b = a[keep], b[keep]
    pos = np.asarray(center, dtype=np.float64)[None] + a[:, None] * u[None] + b[:, None] * v[None]
    uv = np.stack([a + uv_offset[0], b + uv_offset[1]], 1)
    return Samples(pos, np.tile(n, (len(a), 1)), material(uv), np.full(len(a), spacing))


def box(rng: np.random.Generator, center, size, material, spacing: float, skip: tuple[str, ...] = ("-y",)) -> Samples:
    """The faces of an axis-aligned box (`size` = full extents), except those named in `skip` ('+x', '-y', ...);
    the bottom is skipped by default (it rests on something)."""
    cx, cy, cz = (float(v) for v in center)
    hx, hy, hz = (0.5 * float(v) for v in size)
    faces = {
        "+x": ((cx + hx, cy, cz), (1, 0, 0), (0, 0, -1), hz, hy, (-cz, cy)),
        "-x": ((cx - hx, cy, cz), (-1, 0, 0), (0, 0, 1), hz, hy, (cz, cy)),
        "+z": ((cx, cy, cz + hz), (0, 0, 1), (1, 0, 0), hx, hy, (cx, cy)),
        "-z": ((cx, cy, cz - hz), (0, 0, -1), (-1, 0, 0), hx, hy, (-cx, cy)),
        "+y": ((cx, cy + hy, cz), (0, 1, 0), (1, 0, 0), hx, hz, (cx, -cz)),
        "-y": ((cx, cy - hy, cz), (0, -1, 0), (1, 0, 0), hx, hz, (cx, cz)),
    }
    parts = []
    for name in ("+x", "-x", "+z", "-z", "+y", "-y"):  # fixed order: determinism
        if name in skip:
            continue
        c, n, u, a, b, off = faces[name]  # on vertical faces v points up: wood grain runs horizontally
        parts.append(rectangle(rng, c, n, u, a, b, material, spacing, off))
    return Samples.concatenate(parts)


def frustum(rng: np.random.Generator, base_center, r_bottom: float, r_top: float, height: float, material,
            spacing: float, top: bool = True, bottom: bool = False, inward: bool = False) -> Samples:
    """The side of a vertical truncated cone (a cylinder when radii are equal), with optional caps."""
    c = CANDIDATE_FACTOR * spacing
    slant = float(np.hypot(height, r_bottom - r_top))
    circumference = np.pi * (r_bottom + r_top)
    na, nh = max(3, int(np.ceil(circumference / c))), max(1, int(np.ceil(slant / c)))
    ga, gh = np.meshgrid(np.arange(na), np.arange(nh), indexing="ij")
    theta = (ga.ravel() + rng.uniform(size=ga.size)) / na * 2 * np.pi
    t = (gh.ravel() + rng.uniform(size=gh.size)) / nh
    r = r_bottom + (r_top - r_bottom) * t
    base = np.asarray(base_center, dtype=np.float64)
    pos = np.stack([base[0] + r * np.cos(theta), base[1] + t * height, base[2] + r * np.sin(theta)], 1)
    nrm = np.stack([height * np.cos(theta), np.full_like(t, r_bottom - r_top), height * np.sin(theta)], 1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    if inward:
        nrm = -nrm
    uv = np.stack([theta * 0.5 * (r_bottom + r_top), t * slant], 1)
    parts = [Samples(pos, nrm, material(uv), np.full(len(t), spacing))]
    if top and r_top > 0:
        parts.append(disc(rng, base + [0, height, 0], r_top, (0, 1, 0), material, spacing))
    if bottom and r_bottom > 0:
        parts.append(disc(rng, base, r_bottom, (0, -1, 0), material, spacing))
    return Samples.concatenate(parts)


def disc(rng: np.random.Generator, center, radius: float, normal, material, spacing: float) -> Samples:
    """A flat disc facing +Y or -Y."""
    c = CANDIDATE_FACTOR * spacing
    n = max(1, int(round(np.pi * radius * radius / (c * c))))
    r = radius * np.sqrt((np.arange(n) + rng.uniform(size=n)) / n)  # stratified in radius
    theta = rng.uniform(0, 2 * np.pi, n)
    center = np.asarray(center, dtype=np.float64)
    pos = np.stack([center[0] + r * np.cos(theta), np.full(n, center[1]), center[2] + r * np.sin(theta)], 1)
    uv = pos[:, [0, 2]].copy()
    return Samples(pos, np.tile(_unit(normal), (n, 1)), material(uv), np.full(n, spacing))


def ellipsoid(rng: np.random.Generator, center, radii, material, spacing: float, min_y: float | None = None) -> Samples:
    """An ellipsoid's surface (optionally only the part above local height `min_y` relative to the centre)."""
    a, b, cc = (float(v) for v in radii)
    p = 1.6075  # Knud Thomsen's approximation of an ellipsoid's surface area
    area = 4 * np.pi * (((a * b) ** p + (a * cc) ** p + (b * cc) ** p) / 3) ** (1 / p)
    n = max(4, int(round(area / (CANDIDATE_FACTOR * spacing) ** 2)))
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    if min_y is not None:
        d = d[d[:, 1] * b >= min_y]
    radii = np.array([a, b, cc])
    pos = np.asarray(center, dtype=np.float64)[None] + d * radii[None]
    nrm = d / radii[None]
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    uv = np.stack([np.arctan2(d[:, 2], d[:, 0]) * max(a, cc), d[:, 1] * b], 1)
    return Samples(pos, nrm, material(uv), np.full(len(d), spacing))


def folded_panel(rng: np.random.Generator, center, normal, u_dir, half_u: float, half_v: float, fold_width: float,
                 fold_depth: float, material, spacing: float) -> Samples:
    """A hanging cloth (curtain): a rectangle displaced along its normal by a sine of period `fold_width` across
    u, with normals tilted accordingly. Both sides are emitted (curtains are seen from the front and the edges)."""
    flat = rectangle(rng, (0, 0, 0), (0, 0, 1), (1, 0, 0), half_u, half_v, material, spacing)
    a = flat.positions[:, 0]
    k = 2 * np.pi / fold_width
    disp = 0.5 * fold_depth * np.sin(k * a)
    slope = 0.5 * fold_depth * k * np.cos(k * a)
    local_n = np.stack([-slope, np.zeros_like(a), np.ones_like(a)], 1)
    local_n /= np.linalg.norm(local_n, axis=1, keepdims=True)
    local_p = np.stack([a, flat.positions[:, 1], disp], 1)
    n, u = _unit(normal), _unit(u_dir)
    v = np.cross(n, u)
    basis = np.stack([u, v, n], 1)  # columns: local x, y, z -> scene
    pos = np.asarray(center, dtype=np.float64)[None] + local_p @ basis.T
    nrm = local_n @ basis.T
    # Shade the folds: the valleys are darker (ambient occlusion of cloth).
    shade = (0.8 + 0.2 * np.sin(k * a))[:, None]
    return Samples(pos, nrm, flat.colors * shade, flat.spacing)


def triangle_mesh(rng: np.random.Generator, vertices: np.ndarray, normals: np.ndarray, uvs: np.ndarray,
                  triangles: np.ndarray, texture, spacing: float) -> Samples:
    """Area-weighted samples on a textured triangle mesh; `texture.sample(uv)` gives colours."""
    v0, v1, v2 = (vertices[triangles[:, k]] for k in range(3))
    areas = 0.5 * np.linalg.norm(np.cross(v1 - v0, v2 - v0), axis=1)
    expected = areas / (CANDIDATE_FACTOR * spacing) ** 2
    counts = np.floor(expected + rng.uniform(size=len(expected))).astype(np.int64)
    tri = np.repeat(np.arange(len(triangles)), counts)
    r1, r2 = rng.uniform(size=len(tri)), rng.uniform(size=len(tri))
    s = np.sqrt(r1)
    w0, w1, w2 = 1 - s, s * (1 - r2), s * r2
    t = triangles[tri]
    bary = lambda a: w0[:, None] * a[t[:, 0]] + w1[:, None] * a[t[:, 1]] + w2[:, None] * a[t[:, 2]]  # noqa: E731
    pos = bary(vertices)
    nrm = bary(normals)
    length = np.linalg.norm(nrm, axis=1, keepdims=True)
    face_n = np.cross(v1 - v0, v2 - v0)[tri]
    face_n /= np.maximum(np.linalg.norm(face_n, axis=1, keepdims=True), 1e-12)
    nrm = np.where(length > 1e-6, nrm / np.maximum(length, 1e-12), face_n)
    return Samples(pos, nrm, texture.sample(bary(uvs)), np.full(len(tri), spacing))
