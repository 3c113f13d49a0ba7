"""Domain randomisation: make a SynthRooms room look more like a real capture (issue 14, docs/SYNTHROOMS.md,
"Realism").

`Realism` is a set of switches, each one kind of difference between SynthRooms and real captures, all off by
default (the default room is byte-for-byte today's: the benchmark's train/val/test splits and their figures do not
change). `apply_realism(room, realism)` runs the switched-on kinds on the generated room's Gaussians in a fixed
order, each with its own random stream (`default_rng([seed, 3, kind index])`), so that switching one kind on or
off never changes what another one draws. Each kind changes only what its name says (tested in
tests/test_synthrooms_realism.py):

| kind | changes | what real captures show |
| --- | --- | --- |
| `lighting` | colours | light colour (2700-6500 K-like tints), intensity, a second directional light and a warm point light with falloff |
| `shading` | colours | baked ambient occlusion: darker where other surfaces are near (corners, contact shadows under furniture) |
| `exposure` | colours | over- or under-exposed captures: gain and a gamma tone curve, clipped highlights |
| `colour_cast` | colours | white-balance errors: per-channel gains, plus a slow spatial drift of the cast |
| `noise` | colours | per-Gaussian colour noise (sensor noise baked into SH DC), luminance and chroma |
| `blur` | colours, splat sizes | trained-3DGS renders are soft: colours low-passed over neighbours, splats larger |
| `anisotropy` | splat shapes (scales, rotations) | trained 3DGS makes elongated, needle-like splats; random in-plane orientation |
| `scanner` | all geometry, count | splats made from an RGB-D scan's coloured surface points: 2-6 cm spacing, position noise, holes, near-isotropic splats with random orientation, high opacity |
| `floaters` | adds unlabelled Gaussians | semi-transparent floaters near the surfaces, as trained 3DGS leaves them |
| `background` | adds unlabelled Gaussians | large background splats outside the room (seen through windows and gaps) |
| `density` | count (a random subset) | captures are sparser or denser than SynthRooms' defaults |
| `clutter` | adds labelled Gaussians | small things on tables, desks, counters, shelves and floors (other furniture), posters on walls (picture) |

`Realism.all()` switches every kind on; `Realism.random(rng)` draws a mixed subset (each kind with its own
probability) for training data. Strengths are drawn per room inside each kind's range.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy.spatial import cKDTree

from ..classes import NONE, class_id
from ..gaussians import NO_INSTANCE, GaussianScene

REALISM_STREAM = 3  # default_rng([seed, 3, kind]): the generator uses streams 1 (layout) and 2 (Gaussians)
# Part of every realism room's benchmark fingerprint (benchmark.room_fingerprint): a change of what a kind draws
# bumps it, so that cached rooms of the old recipe are regenerated. 2 (2026-12-06): scanner splats sized by the
# points' spacing, floaters as trained 3DGS leaves them (fewer, smaller, closer to the surfaces).
REALISM_VERSION = 2


@dataclass(frozen=True)
class Realism:
    lighting: bool = False
    shading: bool = False
    exposure: bool = False
    colour_cast: bool = False
    noise: bool = False
    blur: bool = False
    anisotropy: bool = False
    scanner: bool = False
    floaters: bool = False
    background: bool = False
    density: bool = False
    clutter: bool = False

    @staticmethod
    def kinds() -> tuple[str, ...]:
        return tuple(f.name for f in fields(Realism))

    @staticmethod
    def all() -> "Realism":
        return Realism(**{k: True for k in Realism.kinds()})

    @staticmethod
    def only(*names: str) -> "Realism":
        unknown = set(names) - set(Realism.kinds())
        if unknown:
            raise ValueError(f"unknown realism kind(s) {sorted(unknown)}; kinds: {', '.join(Realism.kinds())}")
        return Realism(**{k: True for k in names})

    @staticmethod
    def parse(text: str | None) -> "Realism":
        """'none', 'all' or comma-separated kind names (command-line form)."""
        if text is None or text.strip() in ("", "none"):
            return Realism()
        if text.strip() == "all":
            return Realism.all()
        return Realism.only(*(t.strip() for t in text.split(",") if t.strip()))

    @staticmethod
    def random(rng: np.random.Generator) -> "Realism":
        """A random subset for training rooms: a fifth of the rooms clean, the others with appearance kinds often,
        the scanner's resampling a third of the time (it replaces the trained-3DGS look), clutter often."""
        p = {"lighting": 0.7, "shading": 0.6, "exposure": 0.5, "colour_cast": 0.5, "noise": 0.5, "blur": 0.5,
             "anisotropy": 0.4, "scanner": 0.35, "floaters": 0.4, "background": 0.4, "density": 0.4, "clutter": 0.6}
        draw = rng.uniform(size=len(Realism.kinds()))
        if rng.uniform() < 0.2:
            return Realism()  # a fifth of the rooms stay clean: the default look stays in the training data
        return Realism(**{k: bool(u < p[k]) for k, u in zip(Realism.kinds(), draw)})

    @staticmethod
    def realistic(seed: int) -> "Realism":
        """The recipe of the "realistic" test split: every appearance kind, clutter, floaters, background splats and
        a density change, with the geometry of a scanner reconstruction (even seeds) or of a trained 3DGS scene with
        elongated splats (odd seeds)."""
        kinds = ["lighting", "shading", "exposure", "colour_cast", "noise", "blur", "floaters", "background",
                 "density", "clutter", "scanner" if seed % 2 == 0 else "anisotropy"]
        return Realism.only(*kinds)

    def any(self) -> bool:
        return any(asdict(self).values())

    def names(self) -> list[str]:
        return [k for k, v in asdict(self).items() if v]

    def to_json(self) -> dict:
        return asdict(self)


# -- helpers ---------------------------------------------------------------------------------------------------

def _copy(scene: GaussianScene, **changes) -> GaussianScene:
    values = {f: getattr(scene, f) for f in ("positions", "colors", "opacities", "log_scales", "rotations",
                                               "labels", "instances", "features")}
    values.update(changes)
    return GaussianScene(**values, meta=dict(scene.meta))


def _append(scene: GaussianScene, extra: GaussianScene) -> GaussianScene:
    out = GaussianScene.concatenate([scene, extra])
    out.meta = dict(scene.meta)
    return out


def normals_of(scene: GaussianScene) -> np.ndarray:
    """Each Gaussian's shortest axis (its surface normal for the flat splats of a trained scene), in the scene frame."""
    r = scene.rotation_matrices()
    shortest = np.argmin(scene.log_scales, axis=1)
    return r[np.arange(len(scene)), :, shortest]


def _random_quaternions(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def _luminance(c: np.ndarray) -> np.ndarray:
    return c @ np.array([0.2126, 0.7152, 0.0722])


def _room_box(room) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = room.floor_polygon.min(axis=0), room.floor_polygon.max(axis=0)
    return np.array([lo[0], 0.0, lo[1]]), np.array([hi[0], room.height, hi[1]])


# Light colours from warm tungsten (~2700 K) to cool daylight (~6500 K), as linear RGB gains (normalised to green).
LIGHT_TINTS = np.array([(1.0, 0.80, 0.58), (1.0, 0.88, 0.74), (1.0, 0.95, 0.88), (1.0, 1.0, 1.0), (0.92, 0.97, 1.08)])


# -- appearance kinds: colours only ----------------------------------------------------------------------------

def _lighting(scene, room, rng):
    n = normals_of(scene)
    tint = LIGHT_TINTS[rng.integers(len(LIGHT_TINTS))] * rng.uniform(0.96, 1.04, 3)
    intensity = rng.uniform(0.65, 1.3)
    d = rng.normal(size=3)
    d[1] = abs(d[1]) + 0.3
    d /= np.linalg.norm(d)
    directional = 0.25 * rng.uniform(0.3, 1.0) * (np.abs(n @ d) - 0.5)
    lo, hi = _room_box(room)
    lamp = rng.uniform(lo + [0.3, 0.5, 0.3], hi - [0.3, 0.3, 0.3])
    dist = np.linalg.norm(scene.positions - lamp, axis=1)
    point = rng.uniform(0.1, 0.5) / (1.0 + (dist / 1.2) ** 2)
    lamp_colour = LIGHT_TINTS[int(rng.integers(2))]
    shade = intensity * (1.0 + directional)[:, None] * tint[None] + point[:, None] * lamp_colour[None]
    return _copy(scene, colors=np.clip(scene.colors * shade, 0.0, 1.0))


def _shading(scene, room, rng):
    """Baked ambient occlusion: a Gaussian is darkened by the share of its neighbours within `radius` that belong
    to other instances (another surface close by: a corner, furniture on the floor, a shelf's inside)."""
    radius = rng.uniform(0.12, 0.25)
    strength = rng.uniform(0.25, 0.55)
    labelled = scene.instances != NO_INSTANCE
    tree = cKDTree(scene.positions[labelled])
    sample = scene.positions
    counts = tree.query_ball_point(sample, r=radius, return_length=True)
    k = 12
    dist, idx = tree.query(sample, k=k, distance_upper_bound=radius)
    inst = np.where(np.isfinite(dist), scene.instances[labelled][np.minimum(idx, labelled.sum() - 1)], NO_INSTANCE)
    other = (inst != scene.instances[:, None]) & np.isfinite(dist)
    occlusion = other.sum(1) / np.maximum(1, np.minimum(counts, k))
    # contact shadow on the floor under furniture: darker towards the footprint's centre
    floor = scene.labels == class_id("floor")
    for f in room.furniture:
        if f.supported_by is not None or f.wall_mounted:
            continue
        p = scene.positions[floor][:, [0, 2]]
        c = 0.5 * (f.aabb_min[[0, 2]] + f.aabb_max[[0, 2]])
        half = 0.5 * (f.aabb_max[[0, 2]] - f.aabb_min[[0, 2]]) + 0.1
        inside = np.clip(1.0 - np.max(np.abs(p - c) / half, axis=1), 0.0, 1.0)
        occlusion[floor] = np.maximum(occlusion[floor], np.sqrt(inside))
    factor = 1.0 - strength * np.clip(occlusion, 0.0, 1.0)
    return _copy(scene, colors=np.clip(scene.colors * factor[:, None], 0.0, 1.0))


def _exposure(scene, room, rng):
    gain = np.exp(rng.uniform(np.log(0.55), np.log(1.7)))
    gamma = rng.uniform(0.8, 1.25)
    c = np.clip(scene.colors * gain, 0.0, 1.0) ** gamma
    return _copy(scene, colors=c)


def _colour_cast(scene, room, rng):
    gains = rng.uniform(0.82, 1.18, 3)
    gains /= gains.mean()
    lo, hi = _room_box(room)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    t = ((scene.positions - 0.5 * (lo + hi)) @ axis) / max(1e-3, float(np.linalg.norm(hi - lo)))
    drift = rng.uniform(-0.12, 0.12, 3)[None] * t[:, None]  # the cast changes slowly across the room
    return _copy(scene, colors=np.clip(scene.colors * (gains[None] + drift), 0.0, 1.0))


def _noise(scene, room, rng):
    sd = rng.uniform(0.02, 0.07)
    lum = rng.normal(0.0, sd, (len(scene), 1))
    chroma = rng.normal(0.0, 0.4 * sd, (len(scene), 3))
    return _copy(scene, colors=np.clip(scene.colors + lum + chroma, 0.0, 1.0))


def _blur(scene, room, rng):
    radius = rng.uniform(0.04, 0.12)
    grow = rng.uniform(1.15, 1.7)
    tree = cKDTree(scene.positions)
    dist, idx = tree.query(scene.positions, k=16, distance_upper_bound=radius)
    ok = np.isfinite(dist)
    w = np.where(ok, np.exp(-0.5 * (dist / (0.5 * radius)) ** 2), 0.0)
    colours = scene.colors[np.minimum(idx, len(scene) - 1)]
    blurred = (w[..., None] * colours).sum(1) / np.maximum(w.sum(1, keepdims=True), 1e-9)
    # splats grow in their own plane (the two long axes), as a blurry capture's larger, softer splats do
    ls = scene.log_scales.copy()
    longest2 = np.argsort(ls, axis=1)[:, 1:]
    rows = np.arange(len(scene))[:, None]
    ls[rows, longest2] += np.log(grow)
    return _copy(scene, colors=blurred, log_scales=ls)


# -- geometry kinds --------------------------------------------------------------------------------------------

def _anisotropy(scene, room, rng):
    """Elongated splats: the ratio of the two long axes spreads (log-normal sd 0.5-0.9, area kept), 5-10 % become
    needles; the in-plane orientation is redrawn (a rotation about each splat's shortest axis)."""
    n = len(scene)
    ls = scene.log_scales.copy()
    order = np.argsort(ls, axis=1)
    rows = np.arange(n)
    a, b = order[:, 2], order[:, 1]
    spread = rng.normal(0.0, rng.uniform(0.5, 0.9), n)
    needle = rng.uniform(size=n) < rng.uniform(0.05, 0.1)
    spread = np.where(needle, rng.uniform(1.0, 1.6, n), np.abs(spread))
    ls[rows, a] += 0.5 * spread
    ls[rows, b] -= 0.5 * spread
    # rotation about the shortest axis by a random angle: q' = q * q_axis(angle) in the local frame
    short = order[:, 0]
    angle = rng.uniform(0, 2 * np.pi, n)
    local = np.zeros((n, 3))
    local[rows, short] = 1.0
    qa = np.concatenate([np.cos(angle / 2)[:, None], np.sin(angle / 2)[:, None] * local], axis=1)
    q = _quat_multiply(scene.rotations.astype(np.float64), qa)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return _copy(scene, log_scales=ls, rotations=q / np.linalg.norm(q, axis=1, keepdims=True))


def _quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = p.T
    w2, x2, y2, z2 = q.T
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], 1)


def _scanner(scene, room, rng):
    """Splats as made from an RGB-D scan's fused, coloured surface points: the labelled surface Gaussians are
    resampled on a voxel grid of 2-6 cm (one point per voxel, the nearest to a random offset), moved by scan noise
    (sd 0.3-1.5 cm), holes cut (a few spherical regions the scanner never saw, 3-10 % of the points), and each
    point becomes a near-isotropic splat of 0.6-0.9 times the points' own spacing with a random orientation and a
    high opacity (covering the surface as a scan's fused splats do, blurrier than a clean room)."""
    surface = scene.labels != NONE
    s = scene.subset(surface)
    spacing = rng.uniform(0.02, 0.06)
    cells = np.floor((s.positions - s.positions.min(0) + rng.uniform(0, spacing, 3)) / spacing).astype(np.int64)
    order = rng.permutation(len(s))
    _, first = np.unique(cells[order], axis=0, return_index=True)
    keep = np.sort(order[first])
    s = s.subset(keep)
    n = len(s)
    noise_sd = rng.uniform(0.003, 0.015)
    pos = s.positions + rng.normal(0.0, noise_sd, (n, 3))
    # holes: spheres around random points, until the target share is removed
    target = rng.uniform(0.03, 0.10)
    hole = np.zeros(n, dtype=bool)
    tree = cKDTree(pos)
    while hole.mean() < target:
        centre = pos[rng.integers(n)]
        hole[tree.query_ball_point(centre, r=rng.uniform(0.08, 0.35))] = True
    pos, s = pos[~hole], s.subset(~hole)
    n = len(s)
    # sized by the points' own spacing (the mean distance to their 3 nearest neighbours), not the grid's: where the
    # source Gaussians are sparser than the grid, grid-sized splats (0.45-0.7 x the grid) left 29 % of the
    # realistic rooms' surface pixels see-through; a scan's fused splats cover it (REALISM_VERSION 2)
    neighbours, _ = cKDTree(pos).query(pos, k=4)
    local = np.maximum(neighbours[:, 1:].mean(axis=1), spacing)[:, None]
    sigma = local * rng.uniform(0.6, 0.9) * np.exp(rng.normal(0.0, 0.15, (n, 3)))
    opacity = np.clip(rng.uniform(0.85, 1.0, n), 0.0, 0.999)
    return GaussianScene(positions=pos, colors=s.colors, opacities=opacity, log_scales=np.log(sigma),
                         rotations=_random_quaternions(rng, n), labels=s.labels, instances=s.instances,
                         meta=dict(scene.meta))


def _floaters(scene, room, rng):
    """Semi-transparent blobs near the surfaces, coloured like the surface they hang over. Trained 3DGS fits its
    floaters to the training views, so they show in a small part of a walkthrough's pixels: 1-4 % more Gaussians,
    1-6 cm, opacity 0.02-0.5, 3-30 cm off the surfaces. REALISM_VERSION 1 drew 3-12 %, up to 12 cm and 60 cm off:
    a fog that changed 27 % of the pixels by more than 0.15 and that no trained scene shows."""
    n = len(scene)
    m = int(round(rng.uniform(0.01, 0.04) * n))
    lo, hi = _room_box(room)
    src = rng.integers(0, n, m)
    pos = scene.positions[src] + rng.normal(0.0, 1.0, (m, 3)) * rng.uniform(0.03, 0.3, (m, 1))
    pos = np.clip(pos, lo + 0.02, hi - 0.02)
    col = np.clip(scene.colors[src] * rng.uniform(0.6, 1.3, (m, 1)) + rng.normal(0, 0.08, (m, 3)), 0, 1)
    ls = np.log(rng.uniform(0.01, 0.06, (m, 1)) * np.exp(rng.normal(0, 0.5, (m, 3))))
    extra = GaussianScene(positions=pos, colors=col, opacities=rng.uniform(0.02, 0.5, m), log_scales=ls,
                          rotations=_random_quaternions(rng, m), labels=np.full(m, NONE),
                          instances=np.full(m, NO_INSTANCE))
    return _append(scene, extra)


def _background(scene, room, rng):
    """Large splats 0.5-8 m outside the room's walls (sky, greenery, buildings, the next room), unlabelled."""
    lo, hi = _room_box(room)
    m = int(rng.integers(150, 600))
    centre = 0.5 * (lo + hi)
    direction = rng.normal(size=(m, 3))
    direction[:, 1] *= 0.4
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    # from the centre out to the room's box, then beyond it
    t_box = np.min(np.where(np.abs(direction) > 1e-6, (np.where(direction > 0, hi, lo) - centre) / direction, np.inf), axis=1)
    pos = centre + direction * (t_box + rng.uniform(0.5, 8.0, m))[:, None]
    palette = np.array([(0.62, 0.75, 0.9), (0.85, 0.88, 0.92), (0.35, 0.5, 0.3), (0.5, 0.5, 0.48), (0.7, 0.62, 0.5)])
    col = np.clip(palette[rng.integers(len(palette), size=m)] + rng.normal(0, 0.06, (m, 3)), 0, 1)
    ls = np.log(rng.uniform(0.25, 1.5, (m, 1)) * np.exp(rng.normal(0, 0.4, (m, 3))))
    extra = GaussianScene(positions=pos, colors=col, opacities=rng.uniform(0.3, 0.95, m), log_scales=ls,
                          rotations=_random_quaternions(rng, m), labels=np.full(m, NONE),
                          instances=np.full(m, NO_INSTANCE))
    return _append(scene, extra)


def _density(scene, room, rng):
    keep = rng.uniform(size=len(scene)) < rng.uniform(0.45, 0.95)
    return scene.subset(keep)


# -- clutter ---------------------------------------------------------------------------------------------------

CLUTTER_SUPPORT_CLASSES = ("table", "desk", "counter", "cabinet", "bookshelf")


def _flat_gaussians(rng, points, normals, colours, spacing, label, instance) -> GaussianScene:
    """Flat, surface-aligned splats (as gaussianize makes them) for the clutter's surface samples."""
    from .gaussianize import quaternions_from_frames, tangent_frames

    n = len(points)
    t1, t2 = tangent_frames(normals, rng)
    sigma = 0.85 * spacing * np.exp(rng.normal(0.0, 0.2, n))
    ls = np.log(np.stack([sigma, sigma * np.exp(rng.normal(0, 0.2, n)), sigma * rng.uniform(0.05, 0.2, n)], 1))
    return GaussianScene(positions=points, colors=colours, opacities=rng.uniform(0.85, 1.0, n), log_scales=ls,
                         rotations=quaternions_from_frames(t1, t2, normals), labels=np.full(n, label),
                         instances=np.full(n, instance))


def _box_points(rng, lo, hi, spacing):
    """Points on the five visible faces of an axis-aligned box (no bottom), with outward normals."""
    pts, nrm = [], []
    size = hi - lo
    faces = [(1, +1), (0, -1), (0, +1), (2, -1), (2, +1)]
    for axis, sign in faces:
        u, v = [a for a in range(3) if a != axis]
        nu, nv = max(2, int(size[u] / spacing) + 1), max(2, int(size[v] / spacing) + 1)
        gu, gv = np.meshgrid((np.arange(nu) + rng.uniform(size=nu)) / nu, (np.arange(nv) + rng.uniform(size=nv)) / nv, indexing="ij")
        p = np.zeros((gu.size, 3))
        p[:, u] = lo[u] + gu.ravel() * size[u]
        p[:, v] = lo[v] + gv.ravel() * size[v]
        p[:, axis] = hi[axis] if sign > 0 else lo[axis]
        nn = np.zeros((gu.size, 3))
        nn[:, axis] = sign
        pts.append(p)
        nrm.append(nn)
    return np.concatenate(pts), np.concatenate(nrm)


def _clutter(scene, room, rng):
    """Small things: boxes, bottles and piles of books/papers on the tops of tables, desks, counters, cabinets and
    bookshelves, and on the floor (labelled other furniture, one new instance each); posters on walls (picture).
    A thing is placed only where no Gaussian of the room occupies its volume (so it never sinks into a lamp)."""
    tree = cKDTree(scene.positions)
    next_instance = int(max(room.instances) + 1) if room.instances else 0
    other, picture = class_id("other furniture"), class_id("picture")
    parts, added = [], {}
    supports = [f for f in room.furniture if room.instances.get(f.instance_id) in
                {class_id(c) for c in CLUTTER_SUPPORT_CLASSES} and f.supported_by is None]
    lo_room, hi_room = _room_box(room)

    def free(lo, hi):
        lo = lo + [0.0, 0.012, 0.0]  # the supporting surface's own Gaussians (noise up to 5 mm) do not count
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        near = tree.query_ball_point(centre, r=float(np.linalg.norm(half)) + 0.01)
        if not near:
            return True
        p = scene.positions[near]
        return not np.any(np.all(np.abs(p - centre) < half, axis=1))

    def add_object(lo, hi, colour):
        nonlocal next_instance
        spacing = 0.012
        p, nrm = _box_points(rng, lo, hi, spacing)
        c = np.clip(colour[None] * rng.uniform(0.9, 1.1, (len(p), 1)) + rng.normal(0, 0.02, (len(p), 3)), 0, 1)
        parts.append(_flat_gaussians(rng, p, nrm, c, spacing, other, next_instance))
        added[next_instance] = (other, "clutter")
        next_instance += 1

    for f in supports:
        top = f.aabb_max[1]
        if top > 2.0:
            continue
        for _ in range(int(rng.integers(0, 4))):
            size = rng.uniform([0.05, 0.03, 0.05], [0.3, 0.25, 0.3])
            if rng.uniform() < 0.4:  # a bottle / cup: narrow and taller
                size[[0, 2]] = rng.uniform(0.05, 0.1)
                size[1] = rng.uniform(0.08, 0.3)
            span = f.aabb_max[[0, 2]] - f.aabb_min[[0, 2]] - size[[0, 2]]
            if np.any(span <= 0.02):
                continue
            xz = f.aabb_min[[0, 2]] + rng.uniform(0, 1, 2) * span
            lo = np.array([xz[0], top + 0.002, xz[1]])
            hi = lo + size
            if hi[1] < room.height - 0.05 and free(lo, hi):
                add_object(lo, hi, rng.uniform(0.1, 0.95, 3))
    floor_items = int(rng.integers(1, 6))
    for _ in range(floor_items * 4):
        if floor_items <= 0:
            break
        size = rng.uniform([0.15, 0.05, 0.15], [0.6, 0.45, 0.5])
        xz = rng.uniform(lo_room[[0, 2]] + 0.05, hi_room[[0, 2]] - 0.05 - size[[0, 2]])
        from .room import points_in_polygon
        corners = np.array([[xz[0], xz[1]], [xz[0] + size[0], xz[1]], [xz[0], xz[1] + size[2]], [xz[0] + size[0], xz[1] + size[2]]])
        if not points_in_polygon(corners, room.floor_polygon).all():
            continue
        lo = np.array([xz[0], 0.003, xz[1]])
        hi = lo + size
        if free(lo, hi):
            add_object(lo, hi, rng.uniform(0.1, 0.9, 3))
            floor_items -= 1
    # posters: thin coloured rectangles on free wall space
    for _ in range(int(rng.integers(0, 3))):
        w = room.walls[int(rng.integers(len(room.walls)))]
        pw, ph = rng.uniform(0.2, 0.7), rng.uniform(0.25, 0.9)
        if w.length < pw + 0.3:
            continue
        s = rng.uniform(0.15, w.length - 0.15 - pw)
        y0 = rng.uniform(0.9, max(0.95, room.height - 0.3 - ph))
        a = w.start + w.direction * s + w.normal * 0.004
        b = a + w.direction * pw
        lo = np.array([min(a[0], b[0]), y0, min(a[1], b[1])]) - 0.003
        hi = np.array([max(a[0], b[0]), y0 + ph, max(a[1], b[1])]) + 0.003
        if not free(lo + [0, 0, 0], hi) or any(o.wall == w.index and o.s0 - 0.05 < s + pw and s < o.s1 + 0.05
                                              for o in list(room.doors) + list(room.windows)):
            continue
        spacing = 0.015
        nu, nv = max(2, int(pw / spacing)), max(2, int(ph / spacing))
        gu, gv = np.meshgrid((np.arange(nu) + rng.uniform(size=nu)) / nu, (np.arange(nv) + rng.uniform(size=nv)) / nv, indexing="ij")
        base = np.array([a[0], y0, a[1]])
        along = np.array([w.direction[0], 0.0, w.direction[1]])
        p = base + gu.ravel()[:, None] * pw * along + gv.ravel()[:, None] * ph * np.array([0.0, 1.0, 0.0])
        nrm = np.tile([w.normal[0], 0.0, w.normal[1]], (len(p), 1))
        blocks = rng.uniform(0.1, 0.95, (4, 4, 3))
        c = blocks[np.minimum((gu.ravel() * 4).astype(int), 3), np.minimum((gv.ravel() * 4).astype(int), 3)]
        parts.append(_flat_gaussians(rng, p, nrm, np.clip(c + rng.normal(0, 0.03, c.shape), 0, 1), spacing, picture, next_instance))
        added[next_instance] = (picture, "poster")
        next_instance += 1
    if not parts:
        return scene
    out = _append(scene, GaussianScene.concatenate(parts))
    out.meta["added_instances"] = {**scene.meta.get("added_instances", {}), **added}
    return out


# Order matters: geometry and clutter first (so appearance kinds colour what is there), appearance, then the
# unlabelled additions and the density subset last.
KIND_ORDER = ("clutter", "scanner", "anisotropy", "lighting", "shading", "colour_cast", "exposure", "blur", "noise",
              "floaters", "background", "density")
_KIND_FUNCTIONS = {"lighting": _lighting, "shading": _shading, "exposure": _exposure, "colour_cast": _colour_cast,
                   "noise": _noise, "blur": _blur, "anisotropy": _anisotropy, "scanner": _scanner,
                   "floaters": _floaters, "background": _background, "density": _density, "clutter": _clutter}
assert set(KIND_ORDER) == set(Realism.kinds()) == set(_KIND_FUNCTIONS)


def realism_for_seed(spec, seed: int) -> Realism:
    """A generator option -> the Realism of room `seed`: None (off), a Realism, a dict of switches, "random"
    (Realism.random from the seed's own stream), "realistic" (Realism.realistic) or a kinds string ("all",
    "lighting,noise")."""
    if spec is None:
        return Realism()
    if isinstance(spec, Realism):
        return spec
    if isinstance(spec, dict):
        return Realism(**spec)
    if spec == "random":
        return Realism.random(np.random.default_rng([seed, REALISM_STREAM, 100]))
    if spec == "realistic":
        return Realism.realistic(seed)
    if isinstance(spec, str):
        return Realism.parse(spec)
    raise ValueError(f"realism: expected None, a Realism, a dict, 'random', 'realistic' or kind names, got {spec!r}")


def apply_realism(room, realism: Realism, seed: int | None = None) -> GaussianScene:
    """The room's Gaussians with every switched-on kind applied (a new scene; the room is not changed). Instances
    the clutter adds are listed in the result's meta["added_instances"] ({id: (class id, name)})."""
    seed = room.seed if seed is None else int(seed)
    scene = room.gaussians
    for name in KIND_ORDER:
        if getattr(realism, name):
            rng = np.random.default_rng([seed, REALISM_STREAM, Realism.kinds().index(name)])
            scene = _KIND_FUNCTIONS[name](scene, room, rng)
    scene.meta = {**room.gaussians.meta, "added_instances": scene.meta.get("added_instances", {}),
                  "realism": realism.names()}
    return scene
