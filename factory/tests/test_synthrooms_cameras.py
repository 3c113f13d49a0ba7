"""Camera walkthroughs and view pairs (rtgs2.synthrooms.cameras)."""
from dataclasses import dataclass

import numpy as np
import pytest

from rtgs2.gaussians import GaussianScene
from rtgs2.synthrooms import cameras as C


@dataclass
class Box:
    class_id: int
    instance_id: int
    aabb_min: np.ndarray
    aabb_max: np.ndarray


@dataclass
class HandMadeRoom:
    """A room with known geometry: an L-shaped floor and three boxes, Gaussians on every surface."""
    floor_polygon: np.ndarray
    height: float
    furniture: list
    gaussians: GaussianScene


def _surface_points(lo, hi, n, rng):
    pts = rng.uniform(lo, hi, (n, 3))
    axis, side = rng.integers(3, size=n), rng.integers(2, size=n)
    pts[np.arange(n), axis] = np.where(side == 1, np.asarray(hi)[axis], np.asarray(lo)[axis])
    return pts


def hand_made_room(seed=0, n=30000) -> HandMadeRoom:
    rng = np.random.default_rng(seed)
    poly = np.array([[0, 0], [6, 0], [6, 3], [3, 3], [3, 5], [0, 5]], float)
    height = 2.7
    boxes = [Box(6, 1, np.array([1.0, 0, 1.0]), np.array([2.0, 0.75, 1.8])),
             Box(5, 2, np.array([4.2, 0, 0.2]), np.array([5.8, 0.9, 1.1])),
             Box(9, 3, np.array([0.1, 0, 3.5]), np.array([0.5, 2.0, 4.8]))]
    k, t = rng.integers(len(poly), size=n // 2), rng.uniform(size=n // 2)
    wall_xz = poly[k] + t[:, None] * (np.roll(poly, -1, axis=0)[k] - poly[k])
    walls = np.stack([wall_xz[:, 0], rng.uniform(0, height, n // 2), wall_xz[:, 1]], 1)
    floor_xz = rng.uniform([0, 0], [6, 5], (n // 4, 2))
    floor_xz = floor_xz[C.points_in_polygon(floor_xz, poly)]
    floor = np.stack([floor_xz[:, 0], np.zeros(len(floor_xz)), floor_xz[:, 1]], 1)
    parts = [walls, floor] + [_surface_points(b.aabb_min, b.aabb_max, n // 12, rng) for b in boxes]
    labels = np.concatenate([np.zeros(len(walls)), np.ones(len(floor))] + [np.full(n // 12, b.class_id) for b in boxes])
    pos = np.concatenate(parts)
    m = len(pos)
    scene = GaussianScene(pos, rng.uniform(0, 1, (m, 3)), np.full(m, 0.9), np.full((m, 3), np.log(0.03)),
                          np.tile([1.0, 0, 0, 0], (m, 1)), labels, np.zeros(m))
    return HandMadeRoom(poly, height, boxes, scene)


def assert_poses_valid(room, poses):
    eyes = np.array([p.eye for p in poses])
    xz = eyes[:, [0, 2]]
    assert C.points_in_polygon(xz, room.floor_polygon).all()
    assert (C.distance_to_polygon_edges(xz, room.floor_polygon) >= C.WALL_MARGIN - 1e-9).all()
    for f in room.furniture:
        inside = ((xz[:, 0] > f.aabb_min[0] - C.FURNITURE_MARGIN) & (xz[:, 0] < f.aabb_max[0] + C.FURNITURE_MARGIN)
                  & (xz[:, 1] > f.aabb_min[2] - C.FURNITURE_MARGIN) & (xz[:, 1] < f.aabb_max[2] + C.FURNITURE_MARGIN))
        assert not inside.any(), f"a camera stands in the footprint of furniture {f.instance_id}"
    assert ((eyes[:, 1] >= C.EYE_HEIGHT_RANGE[0]) & (eyes[:, 1] <= C.EYE_HEIGHT_RANGE[1])).all()
    assert (eyes[:, 1] <= room.height - C.CEILING_MARGIN + 1e-9).all()
    for p in poses:  # every pose makes a valid camera that looks somewhere
        assert np.linalg.norm(p.target - p.eye) > 0.5
        p.camera(64, 48)


def test_polygon_helpers_on_an_l_shape():
    room = hand_made_room()
    pts = np.array([[1.0, 1.0], [4.0, 4.0], [2.0, 4.0], [-0.1, 1.0], [5.9, 2.9]])
    assert C.points_in_polygon(pts, room.floor_polygon).tolist() == [True, False, True, False, True]
    assert np.allclose(C.distance_to_polygon_edges(pts[:3], room.floor_polygon), [1.0, 1.0, 1.0])
    # the reentrant corner: (3.2, 3.2) is outside, 0.2 m from the corner (3, 3) in both axes
    assert not C.points_in_polygon(np.array([[3.2, 3.2]]), room.floor_polygon)[0]


@pytest.mark.parametrize("seed", range(6))
def test_walkthrough_stays_in_free_space(seed):
    room = hand_made_room(seed)
    poses = C.walkthrough(room, 24, seed)
    assert len(poses) == 24
    assert_poses_valid(room, poses)


def test_walkthrough_is_deterministic_and_depends_on_the_seed():
    room = hand_made_room()
    a, b, c = C.walkthrough(room, 12, 5), C.walkthrough(room, 12, 5), C.walkthrough(room, 12, 6)
    assert all(np.array_equal(p.eye, q.eye) and np.array_equal(p.target, q.target) for p, q in zip(a, b))
    assert not all(np.allclose(p.eye, q.eye) for p, q in zip(a, c))


def test_walkthrough_is_smooth():
    room = hand_made_room(1)
    poses = C.walkthrough(room, 30, 1)
    eyes = np.array([p.eye for p in poses])
    steps = np.linalg.norm(np.diff(eyes, axis=0), axis=1)
    assert steps.max() < 4 * max(np.median(steps), 0.05)  # equal arc-length spacing: no jumps
    dirs = np.array([(p.target - p.eye) / np.linalg.norm(p.target - p.eye) for p in poses])
    turn = np.degrees(np.arccos(np.clip((dirs[1:] * dirs[:-1]).sum(1), -1, 1)))
    assert turn.max() < 90.0


def test_crowded_room_is_refused_clearly():
    room = hand_made_room()
    room.furniture = room.furniture + [Box(19, 9, np.array([0, 0, 0]), np.array([6, 1, 5]))]
    with pytest.raises(C.CameraPlacementError, match="no free floor space"):
        C.walkthrough(room, 4, 0)


def test_visible_set_excludes_what_a_wall_hides():
    # two parallel planes of points in front of the camera: the far one is hidden by the near one.
    g = np.stack(np.meshgrid(np.linspace(-1, 1, 60), np.linspace(-1, 1, 60)), -1).reshape(-1, 2)
    near = np.column_stack([g, np.full(len(g), 2.0)])
    far = np.column_stack([g, np.full(len(g), 4.0)])
    cam = C.ViewPose(np.array([0, 0, 0.0]), np.array([0, 0, 1.0]), np.deg2rad(30)).camera(160, 120)
    points = np.concatenate([near, far])
    sizes = np.full(len(points), 0.03)  # the near plane's points are 0.034 m apart: 1-sigma discs touch
    # centres alone leave holes between the near plane's points, through which far points leak
    assert C.visible_gaussians(points, cam)[len(near):].any()
    vis = C.visible_gaussians(points, cam, sizes)
    u, v, z = cam.project(near)
    in_view = (u >= 0) & (u < 160) & (v >= 0) & (v < 120)
    assert vis[: len(near)][in_view].all()
    assert not vis[len(near):].any()
    behind = C.visible_gaussians(np.array([[0, 0, -2.0]]), cam)
    assert not behind.any()


def test_iou_matrix_and_pair_selection():
    vis = np.zeros((3, 10), bool)
    vis[0, :6] = True  # {0..5}
    vis[1, 3:9] = True  # {3..8}: IoU with 0 = 3/9
    vis[2, :5] = True  # {0..4}: IoU with 0 = 5/6, with 1 = 2/9
    iou = C.iou_matrix(vis)
    assert np.allclose(iou, [[1, 1 / 3, 5 / 6], [1 / 3, 1, 2 / 9], [5 / 6, 2 / 9, 1]])
    pairs, values = C.select_pairs(iou)
    assert pairs.tolist() == [[0, 1]] and np.allclose(values, [1 / 3])


def test_walkthrough_yields_pairs_in_the_iou_range():
    room = hand_made_room(2)
    poses = C.walkthrough(room, 24, 2)
    vis = np.stack([C.scene_visible_gaussians(room.gaussians, p.camera(320, 240)) for p in poses])
    assert (vis.sum(1) > 0).all()
    pairs, values = C.select_pairs(C.iou_matrix(vis))
    assert len(pairs) >= 24
    assert ((values >= 0.3) & (values <= 0.8)).all()
    assert (pairs[:, 0] < pairs[:, 1]).all()


@pytest.fixture(scope="module")
def generated_rooms():
    from rtgs2.synthrooms.generator import ROOM_TYPES, generate_room

    # one room of each type (room type = seed % 5), coarse so that the test stays fast
    return [generate_room(seed, max_gaussians=30_000) for seed in range(1000, 1000 + len(ROOM_TYPES))]


def test_walkthroughs_in_generated_rooms(generated_rooms):
    for room in generated_rooms:
        poses = C.walkthrough(room, 24, room.seed)
        assert_poses_valid(room, poses)
        vis = np.stack([C.scene_visible_gaussians(room.gaussians, p.camera(160, 120)) for p in poses])
        pairs, values = C.select_pairs(C.iou_matrix(vis))
        assert len(pairs) >= 10, f"{room.room_type} seed {room.seed}: only {len(pairs)} view pairs"
        assert ((values >= 0.3) & (values <= 0.8)).all()
        # the views look at the room's contents: most views see some furniture Gaussians
        furniture_ids = {f.instance_id for f in room.furniture}
        sees_furniture = [np.isin(room.gaussians.instances[v], list(furniture_ids)).any() for v in vis]
        assert np.mean(sees_furniture) >= 0.75
