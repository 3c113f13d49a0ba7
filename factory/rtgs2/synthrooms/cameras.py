"""Camera walkthroughs inside a SynthRooms room, and view pairs for the encoder's contrastive training.

A walkthrough is a smooth path through the room's free floor space (inside the floor polygon, away from the
walls, outside every furniture footprint), with the eye at 1.2-1.8 m and the view turning smoothly between
look-at targets picked at furniture and walls. Everything is deterministic by seed.

View pairs: RT-GS2 trains its Gaussian encoder PointContrast-style on two views of a scene whose visible-Gaussian
sets overlap by 30-80 % IoU (METHOD.md, stage 1). Visibility here is cheap and approximate: Gaussian centres are
projected into a low-resolution depth buffer, and a Gaussian counts as visible when its depth is within a tolerance
of the nearest depth in its cell.

Room interface used here (rtgs2.synthrooms generator's Room): `floor_polygon` (M, 2) vertices (x, z) in order,
`height` (ceiling height, metres), `furniture` (objects with `aabb_min`, `aabb_max`: (3,) scene-frame corners),
`gaussians` (GaussianScene). The scene frame is Babylon's: metres, +Y up, floor at y = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter

from ..camera import Camera

# Placement rules (metres). The wall margin also keeps the camera out of doors, windows, pictures and curtains,
# which sit on the walls.
EYE_HEIGHT_RANGE = (1.2, 1.8)
WALL_MARGIN = 0.45
FURNITURE_MARGIN = 0.30
CEILING_MARGIN = 0.25
FREE_GRID_CELL = 0.05
DEFAULT_FOV_Y = float(np.deg2rad(60.0))
PITCH_RANGE = (np.deg2rad(-40.0), np.deg2rad(15.0))  # radians, positive looks up
MIN_TARGET_DISTANCE = 0.8  # horizontal distance from a control point to its look-at target

# Visible-set z-buffer: coarse cells and a depth tolerance (relative + absolute) that lets a whole surface patch
# through while rejecting what lies behind it.
VISIBILITY_GRID = (120, 90)
VISIBILITY_DEPTH_TOLERANCE = (0.03, 0.05)
OCCLUDER_MIN_OPACITY = 0.5
OCCLUDER_MAX_RADIUS = 6  # cells
PAIR_IOU_RANGE = (0.3, 0.8)  # METHOD.md stage 1 (RT-GS2's reference code)


class CameraPlacementError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------------------------
# Floor geometry
# ---------------------------------------------------------------------------------------------------------------

def _check_polygon(polygon) -> np.ndarray:
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
        raise CameraPlacementError(f"floor_polygon must be (M >= 3, 2) vertices (x, z), got shape {poly.shape}")
    return poly


def points_in_polygon(points: np.ndarray, polygon) -> np.ndarray:
    """(P,) bool: even-odd rule, points (P, 2) as (x, z)."""
    poly = _check_polygon(polygon)
    px, pz = points[:, 0:1], points[:, 1:2]
    ax, az = poly[:, 0][None], poly[:, 1][None]
    bx, bz = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    crosses = (az > pz) != (bz > pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = ax + (pz - az) * (bx - ax) / (bz - az)
    return (crosses & (px < x_at)).sum(axis=1) % 2 == 1


def distance_to_polygon_edges(points: np.ndarray, polygon) -> np.ndarray:
    """(P,) distance from each point (x, z) to the nearest edge of the polygon."""
    poly = _check_polygon(polygon)
    a, b = poly[None], np.roll(poly, -1, axis=0)[None]
    p = points[:, None, :]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.linalg.norm(p - closest, axis=-1).min(axis=1)


def furniture_footprints(room) -> np.ndarray:
    """(F, 4) floor footprints [x_min, z_min, x_max, z_max] of the room's furniture AABBs."""
    rows = [[f.aabb_min[0], f.aabb_min[2], f.aabb_max[0], f.aabb_max[2]] for f in room.furniture]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def is_free(points: np.ndarray, room, wall_margin: float = WALL_MARGIN,
            furniture_margin: float = FURNITURE_MARGIN) -> np.ndarray:
    """(P,) bool: floor points (x, z) inside the polygon, `wall_margin` from every wall, and outside every
    furniture footprint grown by `furniture_margin` (footprints are used whatever the eye height, so the camera
    is never above or inside furniture)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    ok = points_in_polygon(points, room.floor_polygon)
    ok &= distance_to_polygon_edges(points, room.floor_polygon) >= wall_margin
    boxes = furniture_footprints(room)
    if len(boxes):
        grown = boxes + np.array([-1, -1, 1, 1]) * furniture_margin
        inside = ((points[:, None, 0] > grown[None, :, 0]) & (points[:, None, 0] < grown[None, :, 2])
                  & (points[:, None, 1] > grown[None, :, 1]) & (points[:, None, 1] < grown[None, :, 3]))
        ok &= ~inside.any(axis=1)
    return ok


@dataclass
class FreeSpace:
    """The free floor cells of a room on a regular grid (cell centres), for fast path checks."""
    origin: np.ndarray  # (2,) (x, z) of cell (0, 0)'s centre
    cell: float
    mask: np.ndarray  # (nx, nz) bool

    @staticmethod
    def of(room, cell: float = FREE_GRID_CELL, wall_margin: float = WALL_MARGIN,
           furniture_margin: float = FURNITURE_MARGIN) -> "FreeSpace":
        poly = _check_polygon(room.floor_polygon)
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        xs = np.arange(lo[0] + 0.5 * cell, hi[0], cell)
        zs = np.arange(lo[1] + 0.5 * cell, hi[1], cell)
        gx, gz = np.meshgrid(xs, zs, indexing="ij")
        pts = np.stack([gx.ravel(), gz.ravel()], axis=1)
        mask = is_free(pts, room, wall_margin, furniture_margin).reshape(gx.shape)
        return FreeSpace(np.array([xs[0], zs[0]]), cell, mask)

    def cells(self) -> np.ndarray:
        """(C, 2) centres (x, z) of the free cells, in a fixed order."""
        ij = np.argwhere(self.mask)
        return self.origin + ij * self.cell

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(P,) bool: the grid cell holding each point is free (a cell is free when its centre is; paths are
        checked against this AND re-checked exactly with `is_free`)."""
        ij = np.round((np.asarray(points).reshape(-1, 2) - self.origin) / self.cell).astype(np.int64)
        ok = (ij >= 0).all(axis=1) & (ij[:, 0] < self.mask.shape[0]) & (ij[:, 1] < self.mask.shape[1])
        out = np.zeros(len(ij), dtype=bool)
        out[ok] = self.mask[ij[ok, 0], ij[ok, 1]]
        return out


# ---------------------------------------------------------------------------------------------------------------
# Walkthroughs
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class ViewPose:
    eye: np.ndarray  # (3,) scene frame
    target: np.ndarray  # (3,) a point the camera looks at
    fov_y: float  # radians, vertical (Babylon's fov)

    def camera(self, width: int, height: int) -> Camera:
        return Camera.look_at(self.eye, self.target, width, height, self.fov_y)

    def to_json(self) -> dict:
        return {"eye": [float(v) for v in self.eye], "target": [float(v) for v in self.target],
                "fov_y": float(self.fov_y)}

    @staticmethod
    def from_json(d: dict) -> "ViewPose":
        return ViewPose(np.asarray(d["eye"], dtype=np.float64), np.asarray(d["target"], dtype=np.float64),
                        float(d["fov_y"]))


def _segment_is_free(free: FreeSpace, room, a: np.ndarray, b: np.ndarray) -> bool:
    n = max(2, int(np.ceil(np.linalg.norm(b - a) / (0.5 * free.cell))) + 1)
    pts = a[None] + np.linspace(0.0, 1.0, n)[:, None] * (b - a)[None]
    return bool(free.contains(pts).all() and is_free(pts, room).all())


def _control_points(free: FreeSpace, room, count: int, rng: np.random.Generator) -> np.ndarray:
    """A tour of `count` free floor points, each reachable from the previous one in a straight free line,
    spreading out over the room (each step prefers points far from the tour so far)."""
    cells = free.cells()
    if len(cells) == 0:
        raise CameraPlacementError("the room has no free floor space for a camera (walls/furniture fill it)")
    tour = [cells[rng.integers(len(cells))]]
    for _ in range(count - 1):
        current = tour[-1]
        dist = np.linalg.norm(cells - current, axis=1)
        spread = np.min(np.linalg.norm(cells[:, None] - np.array(tour)[None], axis=2), axis=1)
        for lo, hi in ((1.0, 3.0), (0.4, 6.0), (0.1, np.inf)):
            candidates = np.flatnonzero((dist >= lo) & (dist <= hi))
            if len(candidates) == 0:
                continue
            # Prefer far-from-tour points, with noise so that different seeds give different tours.
            score = spread[candidates] + rng.uniform(0.0, 1.0, len(candidates))
            order = candidates[np.argsort(-score, kind="stable")]
            nxt = next((cells[i] for i in order[:400] if _segment_is_free(free, room, current, cells[i])), None)
            if nxt is not None:
                tour.append(nxt)
                break
        else:
            tour.append(current)  # nowhere to go: a pause on the spot (the path just turns the view)
    return np.array(tour)


def _catmull_rom(p0, p1, p2, p3, t: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom segment from p1 to p2 at parameters t in [0, 1]; points of any dimension."""
    t = t[:, None]
    return 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)


def _smooth_path(free: FreeSpace, room, ctrl: np.ndarray, samples_per_segment: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Dense path through the control points (x, z, extra...). Each segment is a Catmull-Rom spline when it stays
    in free space, otherwise the straight segment (free by construction). Returns (points, segment parameter s)
    where s runs from 0 to len(ctrl) - 1 along the path."""
    padded = np.concatenate([ctrl[:1], ctrl, ctrl[-1:]])
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)
    pieces, params = [], []
    for k in range(len(ctrl) - 1):
        seg = _catmull_rom(padded[k], padded[k + 1], padded[k + 2], padded[k + 3], t)
        if not (free.contains(seg[:, :2]).all() and is_free(seg[:, :2], room).all()):
            seg = ctrl[k][None] + t[:, None] * (ctrl[k + 1] - ctrl[k])[None]
        pieces.append(seg)
        params.append(k + t)
    pieces.append(ctrl[-1:])
    params.append(np.array([len(ctrl) - 1.0]))
    return np.concatenate(pieces), np.concatenate(params)


def _look_targets(room, ctrl_xz: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A look-at target per control point: mostly a furniture AABB centre, sometimes a point on a wall, always at
    least MIN_TARGET_DISTANCE away horizontally."""
    poly = _check_polygon(room.floor_polygon)
    centres = np.array([0.5 * (np.asarray(f.aabb_min) + np.asarray(f.aabb_max)) for f in room.furniture]).reshape(-1, 3)
    targets = []
    for p in ctrl_xz:
        choice = None
        if len(centres) and rng.uniform() < 0.7:
            far = np.flatnonzero(np.linalg.norm(centres[:, [0, 2]] - p, axis=1) >= MIN_TARGET_DISTANCE)
            if len(far):
                choice = centres[far[rng.integers(len(far))]].copy()
        if choice is None:
            for _ in range(32):
                k = rng.integers(len(poly))
                a, b = poly[k], poly[(k + 1) % len(poly)]
                w = a + rng.uniform(0.1, 0.9) * (b - a)
                if np.linalg.norm(w - p) >= MIN_TARGET_DISTANCE:
                    choice = np.array([w[0], rng.uniform(0.8, min(2.0, room.height - 0.2)), w[1]])
                    break
        if choice is None:  # a tiny room: look along +x at eye level
            choice = np.array([p[0] + MIN_TARGET_DISTANCE, 1.5, p[1]])
        targets.append(choice)
    return np.array(targets)


def walkthrough(room, n_views: int, seed: int, fov_y: float = DEFAULT_FOV_Y) -> list[ViewPose]:
    """`n_views` camera poses along one smooth path through the room, deterministic by seed."""
    if n_views < 1:
        raise CameraPlacementError(f"n_views must be >= 1, got {n_views}")
    rng = np.random.default_rng([seed, 0x5CA3])
    eye_hi = min(EYE_HEIGHT_RANGE[1], float(room.height) - CEILING_MARGIN)
    if eye_hi < EYE_HEIGHT_RANGE[0]:
        raise CameraPlacementError(f"room height {room.height} m leaves no room for an eye at >= {EYE_HEIGHT_RANGE[0]} m")
    free = FreeSpace.of(room)
    n_ctrl = max(3, int(np.ceil(n_views / 3)) + 1)
    ctrl_xz = _control_points(free, room, n_ctrl, rng)
    # Control heights keep 5 cm inside the range so the spline's small overshoots stay in it.
    h_lo = EYE_HEIGHT_RANGE[0] + 0.05
    heights = rng.uniform(h_lo, max(h_lo, eye_hi - 0.05), n_ctrl)
    targets = _look_targets(room, ctrl_xz, rng)

    path, s = _smooth_path(free, room, np.concatenate([ctrl_xz, heights[:, None]], axis=1))
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1))])
    if arc[-1] < 1e-9:
        picks = np.zeros(n_views, dtype=np.int64)
    else:
        picks = np.searchsorted(arc, np.linspace(0.0, arc[-1], n_views), side="left").clip(0, len(path) - 1)

    # The view direction at each control point (yaw about +y, pitch), interpolated along the path; yaw is
    # unwrapped so it turns the short way. Direction interpolation (rather than target interpolation) never
    # swings the look-at point through the eye.
    ctrl_eye = np.concatenate([ctrl_xz[:, :1], heights[:, None], ctrl_xz[:, 1:]], axis=1)
    d = targets - ctrl_eye
    yaw = np.unwrap(np.arctan2(d[:, 0], d[:, 2]))
    pitch = np.clip(np.arctan2(d[:, 1], np.linalg.norm(d[:, [0, 2]], axis=1)), *PITCH_RANGE)
    dist = np.linalg.norm(d, axis=1)
    knots = np.arange(n_ctrl, dtype=np.float64)

    poses = []
    for i in picks:
        x, z, h = path[i]
        h = float(np.clip(h, EYE_HEIGHT_RANGE[0], eye_hi))
        y_ = np.interp(s[i], knots, yaw)
        p_ = np.interp(s[i], knots, pitch)
        r_ = np.interp(s[i], knots, dist)
        direction = np.array([np.sin(y_) * np.cos(p_), np.sin(p_), np.cos(y_) * np.cos(p_)])
        eye = np.array([x, h, z])
        poses.append(ViewPose(eye, eye + r_ * direction, fov_y))
    return poses


# ---------------------------------------------------------------------------------------------------------------
# Visible sets and view pairs
# ---------------------------------------------------------------------------------------------------------------

def visible_gaussians(positions: np.ndarray, camera: Camera, sizes: np.ndarray | None = None,
                      opacities: np.ndarray | None = None, grid: tuple[int, int] = VISIBILITY_GRID,
                      depth_tolerance: tuple[float, float] = VISIBILITY_DEPTH_TOLERANCE) -> np.ndarray:
    """(N,) bool: Gaussians whose centre is in the view and not behind the nearest surface of its cell in a
    `grid` (columns, rows) depth buffer; tolerance = relative * depth + absolute.

    `sizes` (N,) (largest standard deviation, metres) lets a Gaussian occlude the cells its 1-sigma footprint
    covers, not only its centre's, so sparse surfaces still hide what is behind them; only Gaussians with
    opacity >= OCCLUDER_MIN_OPACITY occlude (when `opacities` is given)."""
    u, v, z = camera.project(positions)
    gw, gh = grid
    inside = (z > camera.near) & (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    idx = np.flatnonzero(inside)
    col = np.minimum((u[idx] * gw / camera.width).astype(np.int64), gw - 1)
    row = np.minimum((v[idx] * gh / camera.height).astype(np.int64), gh - 1)
    cell = row * gw + col
    occluder = np.ones(len(idx), dtype=bool)
    if opacities is not None:
        occluder = np.asarray(opacities)[idx] >= OCCLUDER_MIN_OPACITY
    if sizes is None:
        radius = np.zeros(len(idx), dtype=np.int64)
    else:
        cells_per_metre = camera.fx * gw / camera.width / z[idx]
        radius = np.minimum(np.asarray(sizes, dtype=np.float64)[idx] * cells_per_metre, OCCLUDER_MAX_RADIUS)
        radius = np.floor(radius).astype(np.int64)
    nearest = np.full((gh, gw), np.inf)
    for r in np.unique(radius[occluder]):
        pick = occluder & (radius == r)
        layer = np.full(gh * gw, np.inf)
        np.minimum.at(layer, cell[pick], z[idx][pick])
        layer = layer.reshape(gh, gw)
        if r > 0:
            layer = minimum_filter(layer, size=2 * int(r) + 1, mode="constant", cval=np.inf)
        nearest = np.minimum(nearest, layer)
    nearest = nearest.ravel()
    rel, absolute = depth_tolerance
    front = z[idx] <= nearest[cell] * (1.0 + rel) + absolute
    visible = np.zeros(len(positions), dtype=bool)
    visible[idx[front]] = True
    return visible


def scene_visible_gaussians(scene, camera: Camera, grid: tuple[int, int] = VISIBILITY_GRID) -> np.ndarray:
    """visible_gaussians for a GaussianScene (sizes from its scales, occluders from its opacities)."""
    return visible_gaussians(scene.positions, camera, np.exp(scene.log_scales.max(axis=1)), scene.opacities, grid)


def iou_matrix(visible: np.ndarray) -> np.ndarray:
    """(V, V) IoU of the visible sets (V, N) bool."""
    vis = visible.astype(np.float32)
    inter = vis @ vis.T
    sizes = vis.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou.astype(np.float32)


def select_pairs(iou: np.ndarray, iou_range: tuple[float, float] = PAIR_IOU_RANGE) -> tuple[np.ndarray, np.ndarray]:
    """All view pairs (i < j) whose IoU lies in `iou_range`: ((P, 2) int32, (P,) float32), sorted by (i, j)."""
    i, j = np.triu_indices(len(iou), k=1)
    keep = (iou[i, j] >= iou_range[0]) & (iou[i, j] <= iou_range[1])
    return np.stack([i[keep], j[keep]], axis=1).astype(np.int32), iou[i, j][keep].astype(np.float32)
