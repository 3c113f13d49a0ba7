"""Scene-frame estimator (issue 13): generated rooms under random similarities, degenerate inputs, helpers."""
import json

import numpy as np
import pytest

from rtgs2 import frame as F
from rtgs2.classes import class_id
from rtgs2.synthrooms.generator import generate_room

# Seeds outside every SynthRooms split (train 1000-1059, val 2000-2009, test 3000-3019, showcase) and outside the
# benchmark's 9100-... range.
ROOM_SEEDS = (9000, 9001)


@pytest.fixture(scope="module")
def rooms():
    return [generate_room(s) for s in ROOM_SEEDS]


def _up_error_deg(rotation_true, frame):
    up_true = rotation_true @ np.array([0.0, 1.0, 0.0])
    return float(np.degrees(np.arccos(np.clip(up_true @ frame.rotation[1], -1.0, 1.0))))


@pytest.mark.parametrize("kind", ["uniform", "z-up", "y-down", "tilt"])
def test_rooms_under_random_similarities_recover_up_scale_and_floor(rooms, kind):
    for room in rooms:
        g = room.gaussians
        rng = np.random.default_rng([room.seed, len(kind)])
        rot, scale = F.random_similarity(rng, kind)
        shift = rng.normal(size=3) * 5 * scale
        xyz, ls, q = F.transform_gaussians(rot, scale, g.positions, g.log_scales, g.rotations, shift)
        frame = F.estimate_scene_frame(xyz, ls, q, g.opacities)
        assert not frame.fallback and frame.confidence > 0.5
        assert _up_error_deg(rot, frame) < 3.0
        assert abs(frame.metres_per_unit * scale - 1.0) < 0.10  # true metres per unit is 1 / scale
        out_xyz, out_ls, out_q = F.apply_scene_frame(frame, xyz, ls, q)
        floor_y = np.median(out_xyz[g.labels == class_id("floor"), 1])
        assert abs(floor_y) < 0.05
        ceiling_y = np.median(out_xyz[g.labels == class_id("ceiling"), 1])
        assert ceiling_y == pytest.approx(F.CEILING_PRIOR_M, abs=0.05)  # the scale comes from the ceiling prior
        assert np.all(np.isfinite(out_ls)) and np.allclose(np.linalg.norm(out_q, axis=1), 1.0, atol=1e-4)
        json.dumps(frame.to_json())  # the evidence is JSON-serialisable


def test_estimate_is_deterministic_and_proper(rooms):
    g = rooms[0].gaussians
    a = F.estimate_scene_frame(g.positions, g.log_scales, g.rotations, g.opacities, seed=3)
    b = F.estimate_scene_frame(g.positions, g.log_scales, g.rotations, g.opacities, seed=3)
    assert np.array_equal(a.rotation, b.rotation) and a.metres_per_unit == b.metres_per_unit
    assert np.linalg.det(a.rotation) == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(a.rotation @ a.rotation.T, np.eye(3), atol=1e-9)
    # canonical input: up is +Y, the floor is at 0
    assert a.rotation[1] @ np.array([0.0, 1.0, 0.0]) > np.cos(np.radians(1.0))
    assert abs(a.floor_height) < 0.05 * a.metres_per_unit + 0.05


def test_non_finite_gaussians_are_ignored(rooms):
    g = rooms[0].gaussians
    xyz = g.positions.copy()
    xyz[::50] = np.nan
    ls = g.log_scales.copy()
    ls[1::70] = np.inf
    frame = F.estimate_scene_frame(xyz, ls, g.rotations, g.opacities)
    assert not frame.fallback and frame.rotation[1][1] > 0.999


def _blob(n, rng):
    return rng.normal(size=(n, 3)), np.full((n, 3), -3.0), np.tile([1.0, 0, 0, 0], (n, 1)), np.full(n, 0.8)


def _assert_fallback(frame):
    assert frame.fallback and frame.confidence < F.FALLBACK_CONFIDENCE
    assert np.array_equal(frame.rotation, np.eye(3)) and frame.metres_per_unit == 1.0 and frame.floor_height == 0.0
    assert isinstance(frame.evidence["fallbackReason"], str)
    json.dumps(frame.to_json())


def test_degenerate_scenes_fall_back_and_never_give_nan():
    rng = np.random.default_rng(0)
    # one Gaussian
    _assert_fallback(F.estimate_scene_frame(*(a[:1] for a in _blob(1, rng))))
    # isotropic blobs: no flat surfaces
    _assert_fallback(F.estimate_scene_frame(*_blob(5000, rng)))
    # all on a plane, all facing the same way: no second direction
    xyz, ls, q, op = _blob(5000, rng)
    xyz[:, 1] = 0.0
    ls[:, 1] = -8.0  # flat along y: normal +Y
    _assert_fallback(F.estimate_scene_frame(xyz, ls, q, op))
    # on a line
    xyz, ls, q, op = _blob(5000, rng)
    xyz[:, 1:] = 0.0
    _assert_fallback(F.estimate_scene_frame(xyz, ls, q, op))
    # zero extent (every Gaussian at one point)
    xyz, ls, q, op = _blob(5000, rng)
    _assert_fallback(F.estimate_scene_frame(np.zeros_like(xyz), ls, q, op))


def test_unusable_input_raises_typed_errors():
    rng = np.random.default_rng(1)
    xyz, ls, q, op = _blob(100, rng)
    with pytest.raises(F.SceneFrameError) as err:
        F.estimate_scene_frame(np.full_like(xyz, np.nan), ls, q, op)
    assert err.value.code == "INVALID_ARGUMENT"
    with pytest.raises(F.SceneFrameError):
        F.estimate_scene_frame(xyz[:, :2], ls, q, op)
    with pytest.raises(F.SceneFrameError):
        F.estimate_scene_frame(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 4)), np.zeros(0))


def test_random_similarity_kinds():
    rng = np.random.default_rng(5)
    y = np.array([0.0, 1.0, 0.0])
    for _ in range(50):
        for kind in F.RANDOM_KINDS + ("any",):
            rot, scale = F.random_similarity(rng, kind)
            assert np.linalg.det(rot) == pytest.approx(1.0, abs=1e-9) and 0.01 <= scale <= 100
            up = rot @ y
            if kind == "z-up":
                assert np.allclose(up, [0, 0, 1], atol=1e-9)
            elif kind == "y-down":
                assert np.allclose(up, [0, -1, 0], atol=1e-9)
            elif kind == "tilt":
                assert 2.0 - 1e-6 <= np.degrees(np.arccos(up[1])) <= 20.0 + 1e-6
    with pytest.raises(ValueError):
        F.random_similarity(rng, "sideways")


def test_apply_inverts_a_known_similarity():
    rng = np.random.default_rng(7)
    xyz, ls = rng.normal(size=(200, 3)), rng.normal(size=(200, 3)) - 3
    q = rng.normal(size=(200, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rot, scale = F.random_similarity(rng, "uniform")
    t_xyz, t_ls, t_q = F.transform_gaussians(rot, scale, xyz, ls, q)
    frame = F.SceneFrame(rot.T, 1.0 / scale, 0.0, 1.0, False, {})
    b_xyz, b_ls, b_q = F.apply_scene_frame(frame, t_xyz, t_ls, t_q)
    assert np.allclose(b_xyz, xyz, atol=1e-4) and np.allclose(b_ls, ls, atol=1e-5)
    # same rotation matrices (q and -q are the same rotation)
    assert np.allclose(F.quaternion_matrices(b_q), F.quaternion_matrices(q), atol=1e-5)


def test_describe_names_the_up_axis_tilt_and_scale():
    rot = F._axis_angle([1, 0, 0], -np.pi / 2)  # canonical = rot @ scene: the scene's +Z is up
    text = F.describe_frame(rot, 0.01, -1.42, 0.93, False)
    assert text == "up +Z (tilt 0 deg), 1 unit = 0.01 m, floor -1.42, confidence 0.93"


def test_room_9102_is_never_a_confident_wrong_frame():
    """Room 9102 (a kitchen with everything along one wall) made a wall axis outscore the true up (0.65 vs 0.49): the
    estimate was 90 degrees off with confidence 0.70. An up axis longer than both others now needs a clear margin, so
    the estimate falls back (docs/FRAME.md); either way it must never be wrong and confident."""
    g = generate_room(9102).gaussians
    rng = np.random.default_rng([9102, 113])
    for kind in ("z-up", "uniform"):
        rot, scale = F.random_similarity(rng, kind)
        xyz, ls, q = F.transform_gaussians(rot, scale, g.positions, g.log_scales, g.rotations)
        frame = F.estimate_scene_frame(xyz, ls, q, g.opacities)
        up_true = rot @ np.array([0.0, 1.0, 0.0])
        up_err = float(np.degrees(np.arccos(np.clip(up_true @ frame.rotation[1], -1.0, 1.0))))
        assert frame.fallback or up_err < 3.0, f"{kind}: up {up_err:.1f} deg off with confidence {frame.confidence:.2f}"
        assert frame.fallback or frame.confidence >= F.FALLBACK_CONFIDENCE
        if frame.fallback:
            assert frame.confidence < F.FALLBACK_CONFIDENCE and frame.evidence["estimate"] is not None


def test_local_surfaces_recover_the_planes_of_round_splats():
    """Points on the six faces of a 4 x 2.5 x 3 box (no orientation information at all): the planar cells' normals
    are the faces' normals."""
    rng = np.random.default_rng(0)
    size = np.array([4.0, 2.5, 3.0])
    pts = []
    for axis in range(3):
        for side in (0.0, 1.0):
            p = rng.uniform(0, 1, (4000, 3)) * size
            p[:, axis] = side * size[axis] + rng.normal(0, 0.005, 4000)
            pts.append(p)
    xyz = np.concatenate(pts)
    lo, hi = F._robust_range(xyz)
    pos, normals, log_area, opacity, cell = F.local_surfaces(xyz, np.full(len(xyz), 0.9), lo, hi)
    assert len(pos) > 100 and np.all(log_area == 0) and np.allclose(opacity, 0.9)
    assert size.max() / 64 <= cell <= size.max() / 8
    # the planar cells' normals are the box's axes: from about 12 noisy points each, and some cells hold a few points
    # of an edge's second face, so most within 5 degrees (measured: 86 %, median 2.5)
    off_deg = np.degrees(np.arccos(np.clip(np.abs(normals).max(1), 0.0, 1.0)))
    assert (off_deg < 5.0).mean() > 0.8 and np.median(off_deg) < 3.0, ((off_deg < 5.0).mean(), np.median(off_deg))


def test_round_splats_of_a_scanned_room_take_local_surfaces():
    """A room of the realistic recipe with a scanner's round splats (even seed, dev range): under a Z-up similarity
    the estimate comes from local surfaces and is right; a clean room keeps the flat Gaussians."""
    g = generate_room(9054, realism="realistic", shapes=True).gaussians
    rng = np.random.default_rng(7)
    rot, scale = F.random_similarity(rng, "z-up")
    xyz, ls, q = F.transform_gaussians(rot, scale, g.positions, g.log_scales, g.rotations, rng.normal(size=3) * scale)
    frame = F.estimate_scene_frame(xyz, ls, q, g.opacities)
    assert frame.evidence["surfaces"] == "local" and frame.evidence["flatFraction"] < F.LOCAL_SURFACES_BELOW
    assert not frame.fallback and _up_error_deg(rot, frame) < 3.0
    assert abs(frame.metres_per_unit * scale - 1.0) < 0.10
    clean = generate_room(9054).gaussians
    assert "surfaces" not in F.estimate_scene_frame(clean.positions, clean.log_scales, clean.rotations, clean.opacities).evidence


def test_background_splats_outside_a_scanned_room_do_not_move_its_planes():
    """Room 9022 (dev seed, scanner's round splats) has large background splats 0.5-8 m outside its walls (seen
    through windows): they stretch the robust range to about 8 m along the walls' axes and 0.25 m below the floor,
    so planes searched in bands at its ends missed the walls and the floor (scale x0.88, floor 27-33 cm off). The
    local path takes the outermost peaks of aligned surface weight instead (docs/FRAME.md)."""
    g = generate_room(9022, realism="realistic", shapes=True).gaussians
    floor = g.labels == class_id("floor")
    rng = np.random.default_rng([9022, 113])
    for kind in F.RANDOM_KINDS:
        rot, scale = F.random_similarity(rng, kind)
        xyz, ls, q = F.transform_gaussians(rot, scale, g.positions, g.log_scales, g.rotations, rng.normal(size=3) * 5 * scale)
        frame = F.estimate_scene_frame(xyz, ls, q, g.opacities)
        assert frame.evidence["surfaces"] == "local" and not frame.fallback, kind
        assert _up_error_deg(rot, frame) < 3.0, kind
        assert abs(frame.metres_per_unit * scale - 1.0) < 0.10, (kind, frame.metres_per_unit * scale)
        out_xyz, _, _ = F.apply_scene_frame(frame, xyz, ls, q)
        floor_m = abs(float(np.median(out_xyz[floor, 1]))) / (frame.metres_per_unit * scale)
        assert floor_m < 0.05, (kind, floor_m)


def test_peak_plane_takes_the_outermost_strong_plane_not_scattered_weight():
    """Two planes of aligned weight at 0 and 3 (a weak one: 10 % of the other's weight) and scattered weight from -8
    to 11 (1 % of the total a bin or less): the planes found are 0 and 3, refined to the weighted median."""
    rng = np.random.default_rng(3)
    h = np.concatenate([rng.normal(0.0, 0.01, 400), rng.normal(3.0, 0.01, 4000), rng.uniform(-8, 11, 300)])
    w = np.ones(len(h))
    lo, hi = -8.0, 11.0
    p_lo, m_lo = F._peak_plane(h, w, lo, hi, True)
    p_hi, m_hi = F._peak_plane(h, w, lo, hi, False)
    assert abs(p_lo) < 0.05 and abs(p_hi - 3.0) < 0.05, (p_lo, p_hi)
    assert 400 <= m_lo < 420 and 4000 <= m_hi < 4020
    # no aligned weight: the end of the range, weight 0
    assert F._peak_plane(h, np.zeros(len(h)), lo, hi, True) == (lo, 0.0)


@pytest.mark.parametrize("unit", [1.0, 100.0, 1000.0])
def test_a_room_without_its_ceiling_gets_a_unit_guess_not_a_confident_wrong_scale(unit):
    """RGB-D scans of rooms often have no ceiling. Room 9053 without its ceiling's Gaussians: the top of the walls
    used to pass for the ceiling (scale x1.27 at confidence 1.0 with walls cut at 2.2 m). The ceiling check finds
    none, so the scale is the power of ten that makes the room about 4 m wide (a metric, centimetre or millimetre
    export gets its unit right) and the confidence is capped; the up axis and the floor are still found."""
    g = generate_room(9053).gaussians
    for cut in (None, 2.2):
        keep = g.labels != class_id("ceiling")
        if cut is not None:
            keep &= g.positions[:, 1] < cut
        rot, _ = F.random_similarity(np.random.default_rng(5), "z-up")
        xyz, ls, q = F.transform_gaussians(rot, unit, g.positions[keep], g.log_scales[keep], g.rotations[keep])
        frame = F.estimate_scene_frame(xyz, ls, q, g.opacities[keep])
        assert not frame.fallback and frame.evidence["scale"] == "unit guess: no ceiling", cut
        assert frame.evidence["ceilingShare"] < F.CEILING_MIN_SHARE
        assert any(a.get("openAxis") for a in frame.evidence["perAxis"]), cut  # scored as a floor without a ceiling
        assert frame.metres_per_unit == pytest.approx(1.0 / unit), (cut, frame.metres_per_unit)
        assert frame.confidence <= F.NO_CEILING_CONFIDENCE and frame.describe().endswith("(unit guess: no ceiling)")
        assert _up_error_deg(rot, frame) < 3.0
        out_xyz, _, _ = F.apply_scene_frame(frame, xyz, ls, q)
        assert abs(float(np.median(out_xyz[g.labels[keep] == class_id("floor"), 1]))) < 0.05
    # the same room with its ceiling keeps the ceiling prior
    full = F.estimate_scene_frame(g.positions, g.log_scales, g.rotations, g.opacities)
    assert "scale" not in full.evidence and full.evidence["ceilingShare"] >= F.CEILING_MIN_SHARE


def test_a_ceiling_less_room_whose_floor_axis_loses_on_the_scores_gets_its_up_from_the_short_open_axis():
    """Room 9019 (dev seed) without its ceiling and with its walls cut at 2.2 m: a wall axis outscores the floor-only
    axis (a wrong up, confidence capped at 0.5 since a487d2a). The only open axis, clearly the shortest of the three,
    is taken for up (_short_open_axis), under the no-ceiling confidence cap. A room with its ceiling but missing a
    wall (a horizontal open axis, not the shortest) is left to the scores, which find its up."""
    g = generate_room(9019).gaussians
    keep = (g.labels != class_id("ceiling")) & (g.positions[:, 1] < 2.2)
    for kind, seed in (("uniform", 11), ("z-up", 12), ("tilt", 13)):
        rot, scale = F.random_similarity(np.random.default_rng(seed), kind)
        xyz, ls, q = F.transform_gaussians(rot, scale, g.positions[keep], g.log_scales[keep], g.rotations[keep])
        frame = F.estimate_scene_frame(xyz, ls, q, g.opacities[keep])
        assert not frame.fallback and frame.evidence.get("shortOpenAxisUp"), kind
        assert _up_error_deg(rot, frame) < 3.0, kind
        assert frame.confidence <= F.NO_CEILING_CONFIDENCE and frame.evidence["scale"] == "unit guess: no ceiling"
    # without the rule the same room's up is a wall's normal
    monkey = F.OPEN_UP_GAP_RATIO
    try:
        F.OPEN_UP_GAP_RATIO = 0.0
        without = F.estimate_scene_frame(g.positions[keep], g.log_scales[keep], g.rotations[keep], g.opacities[keep])
    finally:
        F.OPEN_UP_GAP_RATIO = monkey
    assert _up_error_deg(np.eye(3), without) > 45.0
    # the open axis decides only when it is the shortest: a room missing one wall keeps its ceiling's up and scale
    wall = g.labels == class_id("wall")
    missing = ~(wall & (g.positions[:, 0] < g.positions[:, 0].min() + 0.15))
    frame = F.estimate_scene_frame(g.positions[missing], g.log_scales[missing], g.rotations[missing], g.opacities[missing])
    assert not frame.evidence.get("shortOpenAxisUp") and "scale" not in frame.evidence
    assert _up_error_deg(np.eye(3), frame) < 3.0
