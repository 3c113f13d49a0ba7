"""Scene-frame estimation (issue 13): up direction, floor height and metres per unit from the Gaussians alone.

Real captures come in any rotation and scale; the encoder reads metres with +Y up. `estimate_scene_frame` finds
the proper rotation taking the scene to that canonical frame, the scale and the floor, from the cues an indoor
room gives:

1. Manhattan frame. Flat Gaussians (smallest scale at most 1/3 of the middle one) lie on surfaces; their normal
   is the local axis of the smallest scale. The direction most normals agree with (within 5 degrees, weighted by
   opacity and by sqrt(area) relative to the median) is the first axis; the best one perpendicular to it the
   second; their cross product the third.
   Where fewer than 5 % of the Gaussians are flat (round splats of scanned surface points), planar cells of the
   sample stand in for them (`local_surfaces`).
2. Up axis. Each of the three axes has two extreme planes (the lowest and the highest plateau of aligned normals).
   In a room the up axis is the one whose *contents* (everything not on the bounding planes) sit on one side:
   furniture stands on the floor, the space under the ceiling is empty. Along walls, furniture backs onto both
   walls. The floor is the crowded side, so up points from it to the ceiling. With local surfaces: the axis of the
   smallest floor-to-ceiling gap whose Gaussians sit low (`_local_up_scores`).
3. Scale: the floor-to-ceiling distance in scene units against a prior ceiling height of CEILING_PRIOR_M metres.
4. Yaw: the Manhattan axes are mapped onto X and Z; of the four choices the one closest to the input (largest
   trace) is kept.

Fallback (documented in docs/FRAME.md): when the scene does not look like a room (too few Gaussians, no flat
surfaces, no pair of extreme floor/ceiling planes, an ambiguous up axis) the estimate keeps the old defaults:
identity rotation (+Y up), 1 unit = 1 m, floor 0, `fallback=True`, confidence below FALLBACK_CONFIDENCE. Input
without a single finite Gaussian raises `SceneFrameError`. The function never returns a NaN frame.

Determinism: a fixed-stride subsample (offset from `seed`), no other randomness; the TypeScript twin
(src/frame/estimateSceneFrame.ts) runs the same steps on the same subsample and agrees within the tolerance in
docs/FRAME.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# SynthRooms draws ceiling heights uniformly from 2.5-3.0 m (rtgs2/synthrooms/generator.py); real rooms are mostly
# 2.4-3.0 m (2.4 m is the common residential minimum, e.g. the US IRC R305.1 7 ft 6 in = 2.29 m, the German
# DIN 18065/LBO 2.4 m; older and commercial rooms up to ~3.2 m). 2.75 m is the middle of the SynthRooms range and
# within 10 % of every height from 2.5 to 3.05 m.
CEILING_PRIOR_M = 2.75
MAX_SAMPLES = 50_000  # Gaussians looked at (fixed-stride subsample): the cost does not grow with the scene
RANGE_SAMPLES = 8_192  # heights the robust 0.5-99.5 % range is taken from (fixed stride of the sample)
MAX_CANDIDATES = 128  # candidate directions scored when searching for a dominant normal
MAX_SCORED = 2_048  # normals the candidates are scored against (fixed stride); the refinement uses all
MIN_GAUSSIANS = 64  # fewer finite Gaussians than this: fallback
FLAT_RATIO = 3.0
FLAT_LOG_RATIO = float(np.log(FLAT_RATIO))  # flat: middle scale >= 3x the smallest
# Local surfaces (splats of scanned surface points are round: no flat Gaussians to read normals from): used when
# fewer than this share of the sampled Gaussians is flat. Clean SynthRooms rooms and trained 3DGS scenes are far
# above it, so their estimates do not change; the realism switch "surface points" gives 0.3-0.4 %.
LOCAL_SURFACES_BELOW = 0.05
LOCAL_FINE_CELLS = 64  # the finest local-surface grid (cells along the longest robust extent), where density is measured
LOCAL_COARSE_CELLS = 8  # the coarsest
LOCAL_TARGET_POINTS = 12  # sampled Gaussians a surface cell should hold on average
LOCAL_MIN_POINTS = 5  # sampled Gaussians a cell needs before its covariance is trusted
LOCAL_GAP_POWER = 4  # the up axis of local surfaces: (smallest gap / gap) ** 4 (rooms are lower than wide and deep)
LOCAL_FULL_ASYMMETRY = 0.2  # contents asymmetry (low half against high half) x gap factor that gives full strength
# Local surfaces: extreme planes as the outermost peaks of aligned surface weight (splats outside the room, such as
# background seen through windows, stretch the robust range beyond the walls, so bands at its ends miss them).
PEAK_BINS = 256  # histogram bins over the robust range widened by PEAK_MARGIN on each side
PEAK_MARGIN = 0.1  # fraction of the robust range added on each side of it
PEAK_FRACTION = 0.05  # a plane: a bin whose 3-bin sum holds at least this share of the strongest one's
PEAK_REFINE_BINS = 2.5  # the plane's weighted median is taken within this many bins of the peak bin's centre
INLIER_COS = float(np.cos(np.radians(5.0)))  # a normal agrees with a direction within 5 degrees
ALIGNED_COS = float(np.cos(np.radians(10.0)))  # a normal belongs to an axis within 10 degrees
PERP_SIN = float(np.sin(np.radians(10.0)))  # a candidate second axis is within 10 degrees of perpendicular
PLANE_BAND = 0.04  # extreme plane search band, fraction of the extent
PLANE_BINS = 1024  # histogram bins over [end - band, end + band] for an extreme plane's weighted median
# Flat Gaussians: an axis whose plane at one end holds less than this share of the surface weight, and at the other
# at least three times it, is a floor without a ceiling (_open_axis_scores).
OPEN_PLANE_SHARE = 0.02
# The only open axis, at most this fraction of both other axes' extents, is the up axis even when a wall axis scores
# higher (_short_open_axis): chosen on dev seeds 9000-9059 among 0.8, 0.85 and 0.9.
OPEN_UP_GAP_RATIO = 0.9
LONGEST_UP_MARGIN = 0.6  # the score margin an up axis longer than both others needs for full confidence
FALLBACK_CONFIDENCE = 0.35  # below this the fallback frame is returned (the estimate stays in evidence)
# An estimate within this angle of an axis-aligned rotation (a signed permutation) is snapped to it: exporters write
# axis-aligned frames (Z-up, Y-down, centimetres) exactly, and the estimate's residual (a fraction of a degree, more
# with Babylon's 8-bit quaternions) would otherwise turn the room by that much, which moves Gaussians across the
# encoder's 5 cm voxels (measured: mean feature cosine 0.92 instead of 1.0 between a room and its Z-up copy).
# Genuine tilts are beyond it (the benchmark's tilts are 2-20 degrees).
SNAP_DEG = 1.0
# No ceiling (RGB-D scans of rooms often have none, or walls scanned only part of the way up): the floor-to-ceiling
# gap then says nothing about the scale. Measured on dev seeds 9000-9059 in the right up axis, rooms as generated
# against the same without their ceiling (also cut at 2.2 m), under tilted and uniform similarities: flat Gaussians:
# the ceiling plane's share of the surface weight 0.057-0.097 against 0.000-0.010 (CEILING_MIN_SHARE); local
# surfaces (planar cells are few and uneven there): the share of the sampled Gaussians in the top CEILING_POINTS_BAND
# of the floor-to-ceiling gap (up to a quarter of it beyond) 0.043-0.145, 5th percentile 0.052, against 0.000-0.055,
# median 0.028 (CEILING_MIN_POINTS). Without a ceiling the scale is a unit guess: the power of ten
# that puts the room's horizontal gaps (geometric mean) nearest TYPICAL_ROOM_WIDTH_M (rooms 1.3-12.6 m wide get
# their unit right: metres, centimetres, millimetres exports), and the confidence is capped at NO_CEILING_CONFIDENCE.
CEILING_MIN_SHARE = 0.03
CEILING_MIN_POINTS = 0.045
CEILING_POINTS_BAND = 0.04
TYPICAL_ROOM_WIDTH_M = 4.0
NO_CEILING_CONFIDENCE = 0.5


class SceneFrameError(ValueError):
    """Input a frame cannot be estimated from at all (no finite Gaussian, wrong shapes). `code` as in the runtime."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SceneFrame:
    rotation: np.ndarray  # (3, 3) float64, proper rotation: canonical = rotation @ scene (rows: canonical x, y, z)
    metres_per_unit: float
    floor_height: float  # y of the floor in metres after rotation and scale (apply_scene_frame subtracts it)
    confidence: float  # 0..1
    fallback: bool  # True when the documented fallback (identity, 1 m, floor 0) was used
    evidence: dict = field(default_factory=dict)  # JSON-serialisable: what the estimate rests on

    def to_json(self) -> dict:
        return {
            "rotation": [float(v) for v in self.rotation.reshape(-1)],
            "metresPerUnit": float(self.metres_per_unit),
            "floorHeight": float(self.floor_height),
            "confidence": float(self.confidence),
            "fallback": bool(self.fallback),
            "evidence": self.evidence,
        }

    def describe(self) -> str:
        """One line, as the CLI and the demo print it: 'up +Z (tilt 3 deg), 1 unit = 0.01 m, floor -1.42, ...'."""
        text = describe_frame(self.rotation, self.metres_per_unit, self.floor_height, self.confidence, self.fallback)
        # an estimate whose scale is not measured (no ceiling found: a power-of-ten unit guess)
        scale = None if self.fallback else self.evidence.get("scale")
        return f"{text} ({scale})" if isinstance(scale, str) else text


def describe_frame(rotation, metres_per_unit, floor_height, confidence, fallback) -> str:
    up = np.asarray(rotation, dtype=np.float64).reshape(3, 3)[1]  # the scene direction mapped to +Y
    k = int(np.argmax(np.abs(up)))
    axis = ("+" if up[k] >= 0 else "-") + "XYZ"[k]
    tilt = float(np.degrees(np.arccos(np.clip(abs(up[k]), -1.0, 1.0))))
    floor_height = 0.0 if abs(floor_height) < 0.005 else floor_height  # no "-0.00"
    text = f"up {axis} (tilt {tilt:.0f} deg), 1 unit = {metres_per_unit:.3g} m, floor {floor_height:.2f}, " \
           f"confidence {confidence:.2f}"
    return text + (" (fallback)" if fallback else "")


def _fallback(confidence: float, reason: str, evidence: dict) -> SceneFrame:
    ev = dict(evidence)
    ev["fallbackReason"] = reason
    return SceneFrame(np.eye(3), 1.0, 0.0, float(np.clip(confidence, 0.0, FALLBACK_CONFIDENCE * 0.99)), True, ev)


def quaternion_matrices(quats_wxyz: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotation matrices (columns: the Gaussian's local axes in the scene) from (w, x, y, z)."""
    q = np.asarray(quats_wxyz, dtype=np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def subsample_indices(n: int, seed: int = 0, max_samples: int = MAX_SAMPLES) -> np.ndarray:
    """Fixed-stride subsample: every `stride`-th Gaussian from an offset set by the seed (the TS twin does the same)."""
    if n <= max_samples:
        return np.arange(n)
    stride = -(-n // max_samples)  # ceil
    return np.arange(int(seed) % stride, n, stride)


def _dominant_direction(normals: np.ndarray, weights: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, float]:
    """The candidate (unit) direction with the most normal weight within 5 degrees, refined by the inliers' mean."""
    step = max(1, -(-len(normals) // MAX_SCORED))
    scores = (np.abs(candidates @ normals[::step].T) > INLIER_COS).astype(np.float64) @ weights[::step]
    best = candidates[int(np.argmax(scores))]
    for _ in range(3):  # refine: weighted mean of the sign-aligned inliers
        dots = normals @ best
        inl = np.abs(dots) > INLIER_COS
        if not inl.any():
            break
        mean = (normals[inl] * (np.sign(dots[inl]) * weights[inl])[:, None]).sum(0)
        norm = np.linalg.norm(mean)
        if norm <= 0:
            break
        best = mean / norm
    score = float(weights[np.abs(normals @ best) > INLIER_COS].sum())
    return best, score


def _pick(arr: np.ndarray, count: int) -> np.ndarray:
    """At most `count` rows at a fixed stride (candidate directions)."""
    if len(arr) <= count:
        return arr
    return arr[:: -(-len(arr) // count)]


def _robust_range(values: np.ndarray):
    """The 0.5 and 99.5 percentiles (numpy's linear interpolation) of at most RANGE_SAMPLES of `values` at a fixed
    stride (per column for 2-D input): the extent and the extreme planes' search bands."""
    step = max(1, -(-len(values) // RANGE_SAMPLES))
    lo, hi = np.percentile(values[::step], [0.5, 99.5], axis=0)
    return lo, hi


def _extreme_plane(h: np.ndarray, w: np.ndarray, lo: float, hi: float, low_side: bool) -> tuple[float, float]:
    """Position and weight of the plane (aligned normals: w > 0) nearest one end: the weighted median of the Gaussians
    within PLANE_BAND of the extent from the extreme, on a histogram of PLANE_BINS bins over [end - band, end + band]
    (heights beyond it in the outer bins; the result is a bin centre, 0.2 % of the band)."""
    band = PLANE_BAND * (hi - lo)
    sel = (h < lo + band) if low_side else (h > hi - band)
    return _binned_median(h[sel], w[sel], lo if low_side else hi, band)


def _binned_median(hs: np.ndarray, ws: np.ndarray, centre: float, half: float) -> tuple[float, float]:
    """Weighted median of hs on PLANE_BINS bins over [centre - half, centre + half] (values beyond it in the outer
    bins; the result is a bin centre) and the total weight; (centre, 0) when they weigh nothing."""
    total = float(ws.sum())
    if not total > 0:
        return centre, 0.0
    origin = centre - half
    width = 2.0 * half / PLANE_BINS
    b = np.clip(np.floor((hs - origin) / width), 0, PLANE_BINS - 1).astype(np.int64)
    c = np.cumsum(np.bincount(b, weights=ws, minlength=PLANE_BINS))
    k = min(int(np.searchsorted(c, 0.5 * total, side="left")), PLANE_BINS - 1)
    return float(origin + (k + 0.5) * width), total


def _cell_index(rel: np.ndarray, h: float, extent: np.ndarray) -> tuple[np.ndarray, int]:
    """Linear cell index (x slowest) of each row of `rel` (positions minus the robust minimum) on cubic cells of
    edge h over [0, extent]; -1 outside. Returns (index, number of cells)."""
    dims = np.floor(extent / h).astype(np.int64) + 1
    cell = np.floor(rel / h).astype(np.int64)
    inside = ((cell >= 0) & (cell < dims)).all(1)
    index = np.where(inside, (cell[:, 0] * dims[1] + cell[:, 1]) * dims[2] + cell[:, 2], -1)
    return index, int(np.prod(dims))


def _peak_plane(h: np.ndarray, w: np.ndarray, lo: float, hi: float, low_side: bool) -> tuple[float, float]:
    """Position and weight of the outermost plane on one side (local surfaces): aligned surface weight w along h,
    on PEAK_BINS bins over [lo, hi] widened by PEAK_MARGIN of the range on each side; a bin whose 3-bin sum reaches
    PEAK_FRACTION of the largest such sum is a plane (walls, floor and ceiling are the strongest; scattered splats
    outside the room are far below it); the outermost one on the requested side, refined as the weighted median
    within PEAK_REFINE_BINS bins of its centre (_weighted_median_near)."""
    span = hi - lo
    origin = lo - PEAK_MARGIN * span
    width = (1.0 + 2.0 * PEAK_MARGIN) * span / PEAK_BINS
    sel = w > 0
    if not (width > 0 and sel.any()):
        return (lo if low_side else hi), 0.0
    b = np.clip(np.floor((h[sel] - origin) / width), 0, PEAK_BINS - 1).astype(np.int64)
    hist = np.bincount(b, weights=w[sel], minlength=PEAK_BINS)
    summed = hist.copy()
    summed[1:] += hist[:-1]
    summed[:-1] += hist[1:]
    peaks = np.nonzero(summed >= PEAK_FRACTION * summed.max())[0]
    k = int(peaks[0] if low_side else peaks[-1])
    return _weighted_median_near(h, w, origin + (k + 0.5) * width, PEAK_REFINE_BINS * width)


def _weighted_median_near(h: np.ndarray, w: np.ndarray, centre: float, half: float) -> tuple[float, float]:
    """Weighted median (_binned_median) and total weight of the values within half of centre."""
    sel = (h > centre - half) & (h < centre + half) & (w > 0)
    return _binned_median(h[sel], w[sel], centre, half)


def _local_up_scores(per_axis: list[dict], h_all: np.ndarray) -> None:
    """The up axis of a scene read through local surfaces (round splats: the content rule of flat Gaussians does not
    hold there, docs/FRAME.md). Contents are the sampled Gaussians inside the box of the six extreme planes (within
    2 % of each gap) and not within PLANE_BAND of the gap of any of them (walls, floor and ceiling left out). Two
    cues, chosen on dev seeds 9000-9059 of the realistic recipe: a room's contents sit low (furniture stands on the
    floor, the space under the ceiling is empty; along a horizontal axis furniture backs onto both walls): the share
    in the lower half minus the share in the upper half; and rooms are lower than they are wide and deep (factor
    (smallest gap / this axis's gap) ** 4). Score = |asymmetry| x gap factor; the floor is the end with more
    contents. Rewrites the entries' score and lowIsFloor in place and adds contentsAsymmetry."""
    usable = [k for k, a in enumerate(per_axis) if a["gap"] > 0 and "lowPlane" in a]
    for k, a in enumerate(per_axis):
        a["score"] = 0.0
    if not usable:
        return
    inside = np.ones(len(h_all), dtype=bool)
    on_plane = np.zeros(len(h_all), dtype=bool)
    for k in usable:
        a, hk = per_axis[k], h_all[:, k]
        gap = a["gap"]
        inside &= (hk > a["lowPlane"] - 0.02 * gap) & (hk < a["highPlane"] + 0.02 * gap)
        on_plane |= (np.abs(hk - a["lowPlane"]) < PLANE_BAND * gap) | (np.abs(hk - a["highPlane"]) < PLANE_BAND * gap)
    contents = inside & ~on_plane
    smallest = min(per_axis[k]["gap"] for k in usable)
    for k in usable:
        a = per_axis[k]
        t = (h_all[contents, k] - a["lowPlane"]) / a["gap"]
        low = int((t < 0.5).sum())
        high = len(t) - low
        asym = (low - high) / len(t) if len(t) > 0 else 0.0
        a["contentsAsymmetry"] = round(asym, 4)
        a["score"] = abs(asym) * (smallest / a["gap"]) ** LOCAL_GAP_POWER
        a["lowIsFloor"] = asym >= 0


def _open_axis_scores(per_axis: list[dict], plane_shares: list[tuple[float, float]], h_all: np.ndarray) -> list[int]:
    """Flat Gaussians: an axis with a strong plane at one end and (almost) none at the other is a floor without a
    ceiling (RGB-D scans often have none, walls scanned only part of the way up). The content rule's nearly empty
    top tenth does not hold there (tall furniture, door frames and the walls' cut edge fill it), so such an axis is
    scored by the contents rule of local surfaces instead (_local_up_scores: contents sitting low x gap factor), when
    that rule puts the floor at the strong plane. plane_shares: (low, high) plane weight / total surface weight.
    Measured on dev seeds 9000-9059 with walls cut at 2.2 m and no ceiling: up within 3 degrees 60 -> 72 %; rooms
    with a ceiling unchanged (no axis is open there). Returns the open axes."""
    open_axes = [k for k, (lo, hi) in enumerate(plane_shares)
                 if "lowPlane" in per_axis[k] and min(lo, hi) < OPEN_PLANE_SHARE and max(lo, hi) >= 3 * OPEN_PLANE_SHARE]
    if not open_axes:
        return open_axes
    contents = [dict(a) for a in per_axis]
    _local_up_scores(contents, h_all)
    for k in open_axes:
        floor_low = plane_shares[k][0] >= plane_shares[k][1]
        if (contents[k].get("contentsAsymmetry", 0.0) >= 0) == floor_low:
            per_axis[k].update(score=contents[k]["score"], lowIsFloor=floor_low, openAxis=True)
    return open_axes


def _short_open_axis(per_axis: list[dict], open_axes: list[int]) -> int | None:
    """The up axis of a room without a ceiling whose floor axis still lost to a wall axis (furniture along one wall
    makes that wall look like a floor to the contents rules): the only open axis, its floor at the strong plane by
    the contents rule (openAxis), and clearly the shortest of the three, as a room is wider and deeper than tall and
    its walls are often scanned only part of the way up. A room missing a wall also has one open axis, a horizontal
    one, but that is rarely the shortest. Dev seeds 9000-9059, up within 3 degrees: walls cut at 2.2 m without a
    ceiling 72 -> 90 %, no ceiling 92 -> 98 %, realistic rooms without a ceiling 71 -> 73 %; rooms with a ceiling
    unchanged (no open axis)."""
    if len(open_axes) != 1 or not per_axis[open_axes[0]].get("openAxis"):
        return None
    k = open_axes[0]
    others = [per_axis[j]["gap"] for j in range(3) if j != k]
    return k if per_axis[k]["gap"] <= OPEN_UP_GAP_RATIO * min(others) else None


def local_surfaces(xyz: np.ndarray, opacity: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Surfaces from positions alone, for scenes whose splats are round (scanned surface points). The sample is
    binned into cubic cells over the robust box [lo, hi] (rtgs2.frame._robust_range; Gaussians outside are left
    out). The cell edge adapts to the sampling density: on a grid of (longest extent) / 64 the occupied cells hold
    `mean` Gaussians on average; surfaces hold about h^2 of them, so h = that edge x sqrt(LOCAL_TARGET_POINTS / mean),
    kept within 1/64 - 1/8 of the longest extent. A cell of at least LOCAL_MIN_POINTS Gaussians whose positions are
    planar (covariance eigenvalues: the middle at least FLAT_RATIO^2 x the smallest, as a flat Gaussian's scales)
    becomes one surface element of unit area: its centroid, its normal (the smallest eigenvalue's vector) and the
    Gaussians' mean opacity. Cells in linear index order (x slowest), as the TS twin.
    Returns (positions, normals, log_area (zeros), opacity, cell edge)."""
    extent = hi - lo
    longest = float(extent.max())
    rel = xyz - lo
    index, _ = _cell_index(rel, longest / LOCAL_FINE_CELLS, extent)
    inside = index >= 0
    occupied = len(np.unique(index[inside]))
    mean = inside.sum() / max(occupied, 1)
    h = float(np.clip(longest / LOCAL_FINE_CELLS * np.sqrt(LOCAL_TARGET_POINTS / mean),
                      longest / LOCAL_FINE_CELLS, longest / LOCAL_COARSE_CELLS))
    index, size = _cell_index(rel, h, extent)
    inside = index >= 0
    rel, op, index = rel[inside], opacity[inside], index[inside]
    count = np.bincount(index, minlength=size).astype(np.float64)
    keep = np.nonzero(count >= LOCAL_MIN_POINTS)[0]
    if len(keep) == 0:
        empty = np.zeros((0, 3))
        return empty, empty, np.zeros(0), np.zeros(0), h
    n = count[keep]
    centroid = np.stack([np.bincount(index, rel[:, a], minlength=size)[keep] for a in range(3)], 1) / n[:, None]
    cov = np.empty((len(keep), 3, 3))
    for a in range(3):
        for b in range(a, 3):
            c = np.bincount(index, rel[:, a] * rel[:, b], minlength=size)[keep] / n - centroid[:, a] * centroid[:, b]
            cov[:, a, b] = cov[:, b, a] = c
    values, vectors = np.linalg.eigh(cov)  # ascending eigenvalues
    planar = (values[:, 1] > 0) & (values[:, 1] >= FLAT_RATIO ** 2 * np.maximum(values[:, 0], 0.0))
    opac = np.bincount(index, op, minlength=size)[keep] / n
    return centroid[planar] + lo, vectors[planar, :, 0], np.zeros(int(planar.sum())), opac[planar], h


def estimate_scene_frame(xyz, log_scales, quats_wxyz, opacity, *, seed: int = 0) -> SceneFrame:
    """Estimates the scene's frame. xyz (N, 3) scene units; log_scales (N, 3) natural logs; quats_wxyz (N, 4) local
    -> scene rotations (w, x, y, z) as rtgs2.gaussians stores them; opacity (N,) after the sigmoid (values outside
    [0, 1] are taken as logits). See the module docstring for the method and the fallback."""
    xyz = np.asarray(xyz, dtype=np.float64)
    log_scales = np.asarray(log_scales, dtype=np.float64)
    quats = np.asarray(quats_wxyz, dtype=np.float64)
    opacity = np.asarray(opacity, dtype=np.float64).reshape(-1)
    n = len(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or log_scales.shape != (n, 3) or quats.shape != (n, 4) or opacity.shape != (n,):
        raise SceneFrameError("INVALID_ARGUMENT", f"estimate_scene_frame: shapes xyz {xyz.shape}, log_scales "
                              f"{log_scales.shape}, quats {quats.shape}, opacity {opacity.shape} do not match (N,3/3/4/1)")
    idx = subsample_indices(n, seed)
    xyz, log_scales, quats, opacity = xyz[idx], log_scales[idx], quats[idx], opacity[idx]
    if opacity.size and (opacity.min(initial=0.0) < 0 or opacity.max(initial=0.0) > 1):
        opacity = 1.0 / (1.0 + np.exp(-np.clip(opacity, -60, 60)))
    ok = (np.isfinite(xyz).all(1) & np.isfinite(log_scales).all(1) & np.isfinite(quats).all(1)
          & np.isfinite(opacity) & (np.linalg.norm(quats, axis=1) > 1e-12))
    if not ok.any():
        raise SceneFrameError("INVALID_ARGUMENT", f"estimate_scene_frame: none of the {n} Gaussians is finite")
    xyz, log_scales, quats, opacity = xyz[ok], log_scales[ok], quats[ok], opacity[ok]
    evidence: dict = {"gaussians": int(n), "sampled": int(len(xyz)), "method": "manhattan-floor-ceiling-v2"}
    if len(xyz) < MIN_GAUSSIANS:
        return _fallback(0.0, f"only {len(xyz)} finite Gaussians (< {MIN_GAUSSIANS})", evidence)
    lo3, hi3 = _robust_range(xyz)
    extent = hi3 - lo3
    if not np.all(np.isfinite(extent)) or extent.max() <= 0:
        return _fallback(0.0, "zero extent", evidence)

    # 1. Surfaces: flat Gaussians and their normals, or, where few Gaussians are flat (splats made from scanned
    # surface points are round), planar neighbourhoods of the sample (local normals).
    order = np.argsort(log_scales, axis=1, kind="stable")
    ls_sorted = np.take_along_axis(log_scales, order, axis=1)
    flat = (ls_sorted[:, 1] - ls_sorted[:, 0]) >= FLAT_LOG_RATIO
    evidence["flatFraction"] = round(float(flat.mean()), 4)
    local = flat.sum() < max(MIN_GAUSSIANS, LOCAL_SURFACES_BELOW * len(xyz))
    if not local:
        rots = quaternion_matrices(quats[flat])
        normals = np.take_along_axis(rots, order[flat, 0][:, None, None].repeat(3, 1), axis=2)[:, :, 0]
        log_area = ls_sorted[flat, 1] + ls_sorted[flat, 2]
        fxyz, f_opacity = xyz[flat], opacity[flat]
    else:
        fxyz, normals, log_area, f_opacity, cell = local_surfaces(xyz, opacity, lo3, hi3)
        evidence["surfaces"] = "local"
        evidence["localCell"] = float(cell)
        evidence["localSurfaces"] = int(len(fxyz))
        if len(fxyz) < MIN_GAUSSIANS:
            return _fallback(0.0, "too few flat Gaussians or planar neighbourhoods to find surfaces", evidence)
    median_log_area = np.median(log_area[:: max(1, -(-len(log_area) // RANGE_SAMPLES))])  # fixed stride, as the range
    area_rel = np.exp(np.clip(0.5 * (log_area - median_log_area), -10.0, np.log(10.0)))
    weights = f_opacity * area_rel
    total_w = float(weights.sum())
    if not total_w > 0:
        return _fallback(0.0, "flat Gaussians have no opacity", evidence)

    # 2. Manhattan frame: first axis, then the best perpendicular one.
    a1, s1 = _dominant_direction(normals, weights, _pick(normals, MAX_CANDIDATES))
    perp = normals - np.outer(normals @ a1, a1)
    pn = np.linalg.norm(perp, axis=1)
    cand = perp[pn > np.cos(np.arcsin(PERP_SIN))] / pn[pn > np.cos(np.arcsin(PERP_SIN))][:, None]
    if len(cand) == 0:
        return _fallback(0.0, "no surfaces perpendicular to the dominant one", evidence)
    a2, s2 = _dominant_direction(normals, weights, _pick(cand, MAX_CANDIDATES))
    a2 = a2 - (a2 @ a1) * a1
    a2 /= np.linalg.norm(a2)
    a3 = np.cross(a1, a2)
    axes = np.stack([a1, a2, a3])
    aligned = np.abs(normals @ axes.T) > ALIGNED_COS  # (F, 3)
    manhattan = float(weights[aligned.any(1)].sum() / total_w)
    evidence["manhattanFraction"] = round(manhattan, 4)

    # 3. For each axis: extreme planes and where the contents sit between them.
    h_all = xyz @ axes.T  # (N, 3)
    hf = fxyz @ axes.T
    per_axis = []
    on_bounding = np.zeros(len(fxyz), dtype=bool)
    planes = []
    for k in range(3):
        lo, hi = _robust_range(h_all[:, k])
        span = hi - lo
        wk = np.where(aligned[:, k], weights, 0.0)
        plane = _peak_plane if local else _extreme_plane
        p_lo, m_lo = plane(hf[:, k], wk, lo, hi, True)
        p_hi, m_hi = plane(hf[:, k], wk, lo, hi, False)
        planes.append((lo, hi, span, p_lo, m_lo, p_hi, m_hi))
        band = PLANE_BAND * span
        on_bounding |= aligned[:, k] & ((hf[:, k] < lo + band) | (hf[:, k] > hi - band))
    content_w = np.where(on_bounding, 0.0, weights)
    content_total = float(content_w.sum())
    for k in range(3):
        lo, hi, span, p_lo, m_lo, p_hi, m_hi = planes[k]
        gap = p_hi - p_lo
        if not gap > 0 or content_total <= 0:
            per_axis.append({"score": 0.0, "lowIsFloor": True, "gap": float(max(gap, 0.0))})
            continue
        t = np.clip((hf[:, k] - p_lo) / gap, 0.0, 1.0)
        mean_t = float((t * content_w).sum() / content_total)
        near_lo = float(content_w[t < 0.4].sum() / content_total)
        near_hi = float(content_w[t > 0.6].sum() / content_total)
        # below the lowest / above the highest plane: a floor has (almost) nothing under it
        below = float(np.mean(h_all[:, k] < p_lo - 0.01 * span))
        above = float(np.mean(h_all[:, k] > p_hi + 0.01 * span))
        plane_share = (m_lo + m_hi) / total_w
        inner = (t > 0.05) & (t < 0.95)
        inner_w = float(content_w[inner].sum())
        horizontal_share = float(content_w[inner & aligned[:, k]].sum() / inner_w) if inner_w > 0 else 0.0
        top_band = float(content_w[t > 0.85].sum() / content_total)
        bottom_band = float(content_w[t < 0.15].sum() / content_total)
        # The ceiling side is the emptier of the two outer tenths; the up axis has one nearly empty (only lights,
        # rods, the tops of tall cupboards), the floor side holding most of the contents. Horizontal axes have
        # furniture backed onto both walls. Weights chosen on dev seeds 9000-9059 (docs/FRAME.md).
        low10 = float(content_w[t < 0.1].sum() / content_total)
        high10 = float(content_w[t > 0.9].sum() / content_total)
        low_is_floor = low10 >= high10
        floor_side = float(content_w[(t < 0.4) if low_is_floor else (t > 0.6)].sum() / content_total)
        ceiling_side = min(low10, high10)
        per_axis.append({
            "score": (floor_side - 8.0 * ceiling_side) * min(1.0, 10.0 * plane_share),
            "lowIsFloor": low_is_floor, "floorSide": round(floor_side, 4), "ceilingSide": round(ceiling_side, 4),
            "gap": float(gap), "meanT": round(mean_t, 4), "nearLow": round(near_lo, 4), "nearHigh": round(near_hi, 4),
            "below": round(below, 4), "above": round(above, 4), "planeShare": round(plane_share, 4),
            "lowPlane": float(p_lo), "highPlane": float(p_hi), "horizontalShare": round(horizontal_share, 4),
            "topBand": round(top_band, 4), "bottomBand": round(bottom_band, 4),
            "profile": [round(float(v), 4) for v in np.bincount(np.minimum((t * 20).astype(int), 19), content_w, 20) / content_total],
            "lowMass": round(m_lo / total_w, 4), "highMass": round(m_hi / total_w, 4),
        })
    open_axes: list[int] = []
    if local:
        _local_up_scores(per_axis, h_all)
    else:
        open_axes = _open_axis_scores(per_axis, [(p[4] / total_w, p[6] / total_w) for p in planes], h_all)
    scores = np.array([a["score"] for a in per_axis])
    ranking = np.argsort(-scores, kind="stable")
    k_up = int(ranking[0])
    best, second = float(scores[ranking[0]]), float(scores[ranking[1]])
    short_open = _short_open_axis(per_axis, open_axes)
    if short_open is not None and short_open != k_up:
        evidence["shortOpenAxisUp"] = True
        best, second = float(scores[short_open]), float(scores[k_up])
        k_up = short_open
    info = per_axis[k_up]
    evidence["axes"] = [[round(float(v), 6) for v in a] for a in axes]
    evidence["axisScores"] = [round(float(s), 4) for s in scores]
    if "lowPlane" not in info:
        evidence["perAxis"] = per_axis
        return _fallback(0.0, "no floor and ceiling planes along any axis", evidence)
    up = axes[k_up] * (1.0 if info["lowIsFloor"] else -1.0)
    floor_units = info["lowPlane"] if info["lowIsFloor"] else -info["highPlane"]
    height_units = info["gap"]

    # 4. Yaw: the other two axes onto X and Z, nearest the input frame (largest trace), proper (rows x, y, z).
    horiz = [axes[j] for j in range(3) if j != k_up]
    best_r, best_tr = None, -np.inf
    for h in (horiz[0], -horiz[0], horiz[1], -horiz[1]):
        x_row = h
        z_row = np.cross(x_row, up)
        r = np.stack([x_row, up, z_row])
        tr = float(np.trace(r))
        if tr > best_tr + 1e-9:
            best_r, best_tr = r, tr
    rotation = best_r
    # Re-orthonormalise (numerical hygiene) and make sure it is proper.
    u, _, vt = np.linalg.svd(rotation)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:
        rotation = -rotation  # cannot happen with the cross products above; kept for safety
    snapped = snap_to_axes(rotation)
    if snapped is not None:
        evidence["snappedDeg"] = round(rotation_angle_deg(rotation, snapped), 4)
        rotation = snapped
        # the floor along the snapped up axis (the plane was found along the estimated one)
        up_s = rotation[1]
        h_s = xyz @ up_s
        lo_s, hi_s = _robust_range(h_s)
        floor_units, _ = (_peak_plane if local else _extreme_plane)(
            fxyz @ up_s, np.where(aligned[:, k_up], weights, 0.0), lo_s, hi_s, True)

    # the ceiling: is there one? (see CEILING_MIN_SHARE)
    if local:
        # t: 0 at the floor, 1 at the ceiling plane; the band below it (not around it) also holds the ceiling's points
        # when the estimate is tilted by a degree or two
        t = (h_all[:, k_up] - info["lowPlane"]) / height_units
        t = t if info["lowIsFloor"] else 1.0 - t
        ceiling_share = float(np.mean((t > 1.0 - CEILING_POINTS_BAND) & (t < 1.0 + CEILING_POINTS_BAND / 4)))
        ceiling = ceiling_share >= CEILING_MIN_POINTS
    else:
        _, _, _, _, m_lo_up, _, m_hi_up = planes[k_up]
        ceiling_share = (m_hi_up if info["lowIsFloor"] else m_lo_up) / total_w
        ceiling = ceiling_share >= CEILING_MIN_SHARE
    evidence["ceilingShare"] = round(float(ceiling_share), 4)
    if ceiling:
        metres_per_unit = CEILING_PRIOR_M / height_units if height_units > 0 else 1.0
    else:
        widths = [per_axis[j]["gap"] for j in range(3) if j != k_up]
        width = float(np.sqrt(widths[0] * widths[1])) if min(widths) > 0 else 0.0
        metres_per_unit = float(10.0 ** np.floor(np.log10(TYPICAL_ROOM_WIDTH_M / width) + 0.5)) if width > 0 else 1.0
        evidence["scale"] = "unit guess: no ceiling"
    floor_height = floor_units * metres_per_unit

    # 5. Confidence: surfaces agree with a Manhattan frame, a floor and a ceiling exist, nothing below the floor,
    # and the up axis is clearly the best of the three.
    margin = (best - second) / best if best > 0 else 0.0
    floor_clean = 1.0 - min(1.0, 20.0 * (info["below"] if info["lowIsFloor"] else info["above"]))
    # Proportions: a room is rarely taller than it is both wide and deep. An up axis that is the longest of the three
    # (floor-to-ceiling gap above both others) must win clearly, or the estimate is not trusted (room 9102: a kitchen
    # with everything along one wall, whose wall axis outscored the true up, 0.65 vs 0.49; docs/FRAME.md).
    gaps = [a["gap"] for a in per_axis]
    longest_up = all(gaps[k_up] > gaps[j] for j in range(3) if j != k_up)
    proportion = min(1.0, margin / LONGEST_UP_MARGIN) if longest_up else 1.0
    evidence["longestUp"] = bool(longest_up)
    strength = min(1.0, best / LOCAL_FULL_ASYMMETRY) if local else min(1.0, 4.0 * best)
    confidence = float(np.clip(min(1.0, manhattan / 0.6) * strength * min(1.0, 2.0 * margin + 0.2)
                               * floor_clean * proportion, 0.0, 1.0))
    if evidence.get("shortOpenAxisUp"):
        # chosen against the scores: its own evidence (Manhattan surfaces, a clean floor) under the no-ceiling cap
        confidence = float(np.clip(min(1.0, manhattan / 0.6) * floor_clean, 0.0, 1.0))
    if not ceiling:
        confidence = min(confidence, NO_CEILING_CONFIDENCE)
    # an open axis (a plane at one end only) that was not taken for up: a floor without a ceiling lost to a wall axis,
    # or a room missing a wall; either way the estimate is not trusted more than a no-ceiling one
    if open_axes and k_up not in open_axes:
        confidence = min(confidence, NO_CEILING_CONFIDENCE)
        evidence["openAxisNotUp"] = True
    evidence.update({
        "upAxisIndex": k_up, "heightUnits": float(height_units), "ceilingPriorMetres": CEILING_PRIOR_M,
        "upScore": round(best, 4), "secondScore": round(second, 4), "perAxis": per_axis,
    })
    frame = SceneFrame(rotation, float(metres_per_unit), float(floor_height), confidence, False, evidence)
    if not (np.isfinite(rotation).all() and np.isfinite(metres_per_unit) and np.isfinite(floor_height)) \
            or metres_per_unit <= 0:
        return _fallback(0.0, "non-finite estimate", evidence)
    if confidence < FALLBACK_CONFIDENCE:
        evidence["estimate"] = frame.to_json() | {"evidence": None}
        return _fallback(confidence, "low confidence: not recognisably a room", evidence)
    return frame


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle of the rotation taking b to a, in degrees."""
    return float(np.degrees(np.arccos(np.clip((np.trace(np.asarray(a) @ np.asarray(b).T) - 1.0) / 2.0, -1.0, 1.0))))


def snap_to_axes(rotation: np.ndarray, max_deg: float = SNAP_DEG) -> np.ndarray | None:
    """The signed permutation (proper, axis-aligned) rotation within max_deg of `rotation`, or None."""
    r = np.asarray(rotation, dtype=np.float64)
    cols = np.argmax(np.abs(r), axis=1)
    if len(set(cols.tolist())) != 3:
        return None
    p = np.zeros((3, 3))
    for i, j in enumerate(cols):
        p[i, j] = 1.0 if r[i, j] >= 0 else -1.0
    if np.linalg.det(p) < 0 or rotation_angle_deg(r, p) >= max_deg:
        return None
    return p


def apply_scene_frame(frame: SceneFrame, xyz, log_scales, quats_wxyz):
    """Scene -> canonical metres, +Y up, floor at y = 0. Returns (xyz, log_scales, quats_wxyz) as float32."""
    r = np.asarray(frame.rotation, dtype=np.float64)
    s = float(frame.metres_per_unit)
    out_xyz = (np.asarray(xyz, dtype=np.float64) @ r.T) * s
    out_xyz[:, 1] -= frame.floor_height
    out_ls = np.asarray(log_scales, dtype=np.float64) + np.log(s)
    out_q = quat_multiply(matrix_to_quaternion(r)[None, :], np.asarray(quats_wxyz, dtype=np.float64))
    return out_xyz.astype(np.float32), out_ls.astype(np.float32), out_q.astype(np.float32)


def matrix_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(w, x, y, z) unit quaternion of a proper rotation matrix (Shepperd's method), w >= 0."""
    r = np.asarray(r, dtype=np.float64)
    tr = np.trace(r)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of (..., 4) (w, x, y, z) quaternions: rotation b first, then a."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def _axis_angle(axis, angle: float) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def uniform_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation drawn uniformly (Haar measure) via a normalised Gaussian quaternion."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return quaternion_matrices(q[None, :])[0]


RANDOM_KINDS = ("uniform", "z-up", "y-down", "tilt")


def random_similarity(rng: np.random.Generator, kind: str = "any") -> tuple[np.ndarray, float]:
    """A random (rotation, scale) that takes a canonical scene (+Y up, metres) to a "captured" frame: x -> s R x.

    kind: "uniform" (any rotation), "z-up" (+Y becomes +Z, plus a random yaw), "y-down" (+Y becomes -Y, yaw),
    "tilt" (a 2-20 degree tilt about a random horizontal axis, yaw), "any" (one of those four, equally likely).
    The scale is log-uniform in [0.01, 100] scene units per metre."""
    if kind == "any":
        kind = RANDOM_KINDS[int(rng.integers(len(RANDOM_KINDS)))]
    yaw = _axis_angle([0, 1, 0], float(rng.uniform(0, 2 * np.pi)))
    if kind == "uniform":
        rot = uniform_rotation(rng)
    elif kind == "z-up":
        rot = _axis_angle([1, 0, 0], np.pi / 2) @ yaw  # +Y -> +Z
    elif kind == "y-down":
        rot = _axis_angle([1, 0, 0], np.pi) @ yaw
    elif kind == "tilt":
        phi = float(rng.uniform(0, 2 * np.pi))
        tilt = np.radians(float(rng.uniform(2.0, 20.0)))
        rot = _axis_angle([np.cos(phi), 0.0, np.sin(phi)], tilt) @ yaw
    else:
        raise ValueError(f"random_similarity: unknown kind {kind!r} (any, {', '.join(RANDOM_KINDS)})")
    scale = float(np.exp(rng.uniform(np.log(0.01), np.log(100.0))))
    return rot, scale


def transform_gaussians(rotation: np.ndarray, scale: float, xyz, log_scales, quats_wxyz, translation=None):
    """x -> scale * rotation @ x + translation on positions, log-scales and quaternions (float32 out)."""
    r = np.asarray(rotation, dtype=np.float64)
    out_xyz = (np.asarray(xyz, dtype=np.float64) @ r.T) * scale
    if translation is not None:
        out_xyz += np.asarray(translation, dtype=np.float64)
    out_ls = np.asarray(log_scales, dtype=np.float64) + np.log(scale)
    out_q = quat_multiply(matrix_to_quaternion(r)[None, :], np.asarray(quats_wxyz, dtype=np.float64))
    return out_xyz.astype(np.float32), out_ls.astype(np.float32), out_q.astype(np.float32)
