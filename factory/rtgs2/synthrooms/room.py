"""The Room: what the generator returns, and the room's shell (floor polygon, walls with openings, floor,
ceiling, doors and windows).

Frame: the scene frame (rtgs2.gaussians): metres, +Y up, floor at y = 0, ceiling at y = `height`; the floor
polygon lies in the (x, z) plane, its bounding box centred on the origin. Walls stand on the polygon's edges; a
wall point at distance `s` from edge i's first vertex is `floor_polygon[i] + s * wall.direction`, and
`wall.normal` points into the room.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..gaussians import GaussianScene


@dataclass
class Furniture:
    """One labelled object standing in (or hanging on the walls of) the room."""
    name: str  # e.g. "dining chair", "painted wooden cabinet 02"
    class_id: int
    instance_id: int
    aabb_min: np.ndarray  # (3,) scene frame, metres
    aabb_max: np.ndarray  # (3,)
    model: str  # the builder that made it ("chair", "polyhaven", ...)
    source: str = "procedural"  # or "polyhaven:<model name>" (CC0)
    supported_by: int | None = None  # instance id of the object it stands on / in (tea set on a table)
    wall_mounted: bool = False  # hangs on a wall (pictures, upper cabinets): its footprint is not floor space


@dataclass
class Wall:
    index: int
    start: np.ndarray  # (2,) (x, z) first vertex
    end: np.ndarray  # (2,)
    direction: np.ndarray  # (2,) unit, start -> end
    normal: np.ndarray  # (2,) unit, into the room
    length: float
    instance_id: int = -1


@dataclass
class Opening:
    """A door or a window cut into wall `wall`: [s0, s1] along the wall, [bottom, top] in height."""
    kind: str  # "door" or "window"
    wall: int
    s0: float
    s1: float
    bottom: float
    top: float
    instance_id: int = -1
    class_id: int = -1
    aabb_min: np.ndarray | None = None
    aabb_max: np.ndarray | None = None


@dataclass
class Room:
    seed: int
    room_type: str  # "bedroom", "living room", "kitchen", "bathroom", "office"
    floor_polygon: np.ndarray  # (M, 2) (x, z) vertices in order; rectangle (M = 4) or L-shape (M = 6)
    height: float  # ceiling height (floor at y = 0)
    walls: list[Wall]
    doors: list[Opening]
    windows: list[Opening]
    furniture: list[Furniture]
    instances: dict[int, int]  # instance id -> class id, for every instance id used by a Gaussian
    instance_names: dict[int, str]
    gaussians: GaussianScene
    meta: dict = field(default_factory=dict)

    @property
    def l_shaped(self) -> bool:
        return len(self.floor_polygon) == 6

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The room's 3D bounding box (min, max)."""
        lo, hi = self.floor_polygon.min(axis=0), self.floor_polygon.max(axis=0)
        return np.array([lo[0], 0.0, lo[1]]), np.array([hi[0], self.height, hi[1]])


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(P,) bool, even-odd rule; points (P, 2) and polygon (M, 2) as (x, z)."""
    px, pz = points[:, 0:1], points[:, 1:2]
    ax, az = polygon[None, :, 0], polygon[None, :, 1]
    bx, bz = np.roll(polygon[:, 0], -1)[None], np.roll(polygon[:, 1], -1)[None]
    crosses = (az > pz) != (bz > pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = ax + (pz - az) * (bx - ax) / (bz - az)
    return (crosses & (px < x_at)).sum(axis=1) % 2 == 1


def distance_to_edges(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    a, b = polygon[None], np.roll(polygon, -1, axis=0)[None]
    p = points[:, None, :]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)


def make_floor_polygon(rng: np.random.Generator, width: float, depth: float, l_shaped: bool) -> np.ndarray:
    """A width x depth rectangle, or an L: the same rectangle with one corner rectangle cut away (35-55 % of
    each side), vertices counter-clockwise in the (x, z) plane (positive signed area), bounding box centred on the
    origin."""
    x0, x1, z0, z1 = -0.5 * width, 0.5 * width, -0.5 * depth, 0.5 * depth
    if not l_shaped:
        return np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]])
    cw, cd = width * rng.uniform(0.35, 0.55), depth * rng.uniform(0.35, 0.55)
    corner = int(rng.integers(4))
    # Cut the corner at (x1, z1) and rotate the vertex list for the other corners (by mirroring coordinates).
    poly = np.array([[x0, z0], [x1, z0], [x1, z1 - cd], [x1 - cw, z1 - cd], [x1 - cw, z1], [x0, z1]])
    if corner in (1, 3):
        poly[:, 0] = -poly[:, 0]
    if corner in (2, 3):
        poly[:, 1] = -poly[:, 1]
    if corner in (1, 2):  # one mirror reverses the orientation
        poly = poly[::-1]
    return np.round(poly, 6)


MORE_SHAPES = ("T", "Z", "U")


def make_shaped_polygon(rng: np.random.Generator, width: float, depth: float, shape: str) -> np.ndarray:
    """More room shapes (issue 14, generator option `shapes`), axis-aligned, counter-clockwise in (x, z), bounding
    box width x depth centred on the origin: "T" (two corners of one side cut away, a middle part of at least 1.2 m
    left), "Z" (two opposite corners cut away), "U" (a bite out of the middle of one side). Mirrored and turned at
    random."""
    x0, x1, z0, z1 = -0.5 * width, 0.5 * width, -0.5 * depth, 0.5 * depth
    if shape == "T":
        cw = width * rng.uniform(0.2, 0.32)
        cw2 = min(width * rng.uniform(0.2, 0.32), width - cw - 1.2)
        cd = depth * rng.uniform(0.3, 0.5)
        poly = [[x0, z0], [x1, z0], [x1, z1 - cd], [x1 - cw, z1 - cd], [x1 - cw, z1], [x0 + cw2, z1],
                [x0 + cw2, z1 - cd], [x0, z1 - cd]]
    elif shape == "Z":
        cw, cd = width * rng.uniform(0.3, 0.45), depth * rng.uniform(0.3, 0.45)
        cw2, cd2 = width * rng.uniform(0.3, 0.45), depth * rng.uniform(0.3, 0.45)
        poly = [[x0 + cw2, z0], [x1, z0], [x1, z1 - cd], [x1 - cw, z1 - cd], [x1 - cw, z1], [x0, z1],
                [x0, z0 + cd2], [x0 + cw2, z0 + cd2]]
    elif shape == "U":
        bw, bd = width * rng.uniform(0.25, 0.4), depth * rng.uniform(0.25, 0.45)
        c = rng.uniform(x0 + 1.0 + 0.5 * bw, x1 - 1.0 - 0.5 * bw) if width - bw > 2.0 else 0.0
        poly = [[x0, z0], [x1, z0], [x1, z1], [c + 0.5 * bw, z1], [c + 0.5 * bw, z1 - bd], [c - 0.5 * bw, z1 - bd],
                [c - 0.5 * bw, z1], [x0, z1]]
    else:
        raise ValueError(f"unknown room shape {shape!r} ({', '.join(MORE_SHAPES)})")
    poly = np.array(poly)
    mirrors = 0
    if rng.uniform() < 0.5:
        poly[:, 0] = -poly[:, 0]
        mirrors += 1
    if rng.uniform() < 0.5:
        poly[:, 1] = -poly[:, 1]
        mirrors += 1
    if mirrors % 2:
        poly = poly[::-1]
    return np.round(poly, 6)


def make_walls(polygon: np.ndarray) -> list[Wall]:
    walls = []
    for i in range(len(polygon)):
        a, b = polygon[i], polygon[(i + 1) % len(polygon)]
        d = b - a
        length = float(np.linalg.norm(d))
        d = d / length
        n = np.array([-d[1], d[0]])
        mid = 0.5 * (a + b)
        if not points_in_polygon((mid + 0.01 * n)[None], polygon)[0]:
            n = -n
        walls.append(Wall(i, a.copy(), b.copy(), d, n, length))
    return walls
