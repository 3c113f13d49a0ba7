"""The SynthRooms scene generator (rtgs2.synthrooms.generator) and its glTF loader."""
import json

import numpy as np
import pytest

from rtgs2.classes import NONE, NUM_CLASSES, class_id, class_names
from rtgs2.gaussians import NO_INSTANCE
from rtgs2.ply import ply_bytes_to_scene, scene_to_ply_bytes
from rtgs2.synthrooms import gltf
from rtgs2.synthrooms.generator import ROOM_TYPES, GeneratorError, generate_room
from rtgs2.synthrooms.room import distance_to_edges, points_in_polygon

SEEDS = list(range(20))  # four of each room type (the type is seed % 5)


@pytest.fixture(scope="module")
def rooms():
    return [generate_room(s) for s in SEEDS]


def _support_chain(room, f):
    """Instance ids that `f` stands on, directly or through other supported objects."""
    by_id = {g.instance_id: g for g in room.furniture}
    chain = []
    while f.supported_by is not None:
        chain.append(f.supported_by)
        f = by_id[f.supported_by]
    return chain


def test_same_seed_gives_identical_ply_bytes(rooms):
    again = generate_room(SEEDS[2])  # an L-shaped kitchen with a sink in its worktop
    assert scene_to_ply_bytes(again.gaussians) == scene_to_ply_bytes(rooms[2].gaussians)
    assert [f.name for f in again.furniture] == [f.name for f in rooms[2].furniture]


def test_different_seeds_differ(rooms):
    assert scene_to_ply_bytes(rooms[0].gaussians) != scene_to_ply_bytes(rooms[5].gaussians)  # both bedrooms
    assert not np.array_equal(rooms[0].floor_polygon, rooms[5].floor_polygon)


def test_room_types_follow_the_seed_and_decide_the_classes(rooms):
    by_type = {}
    for r in rooms:
        assert r.room_type == ROOM_TYPES[r.seed % 5]
        by_type.setdefault(r.room_type, []).append(set(np.unique(r.gaussians.labels).tolist()))
    need = {"bedroom": ["bed"], "living room": ["sofa"], "kitchen": ["counter", "sink", "cabinet"],
            "bathroom": ["toilet", "sink", "bathtub"], "office": ["desk", "chair"]}
    for t, classes in need.items():
        for present in by_type[t]:
            for c in classes + ["wall", "floor", "ceiling", "door"]:
                assert class_id(c) in present, f"a {t} without {c}"


def test_every_class_appears_across_the_seeds(rooms):
    seen = set()
    for r in rooms:
        seen |= set(np.unique(r.gaussians.labels).tolist())
    missing = [class_names()[c] for c in range(NUM_CLASSES) if c not in seen]
    assert not missing, f"classes never generated in seeds {SEEDS[0]}..{SEEDS[-1]}: {missing}"


def test_floor_polygons_are_rectangles_or_l_shapes(rooms):
    shapes = [len(r.floor_polygon) for r in rooms]
    assert set(shapes) == {4, 6}, "both rectangular and L-shaped rooms must occur"
    for r in rooms:
        p = r.floor_polygon
        edges = np.roll(p, -1, axis=0) - p
        assert np.all((np.abs(edges[:, 0]) < 1e-9) ^ (np.abs(edges[:, 1]) < 1e-9)), "walls are axis-aligned"
        area = 0.5 * (p[:, 0] @ np.roll(p[:, 1], -1) - p[:, 1] @ np.roll(p[:, 0], -1))
        assert area > 4.0, f"seed {r.seed}: floor area {area:.1f} m^2"
        assert 2.4 <= r.height <= 3.1
        assert len(r.walls) == len(p) and len(r.doors) == 1


def test_furniture_aabbs_never_interpenetrate(rooms):
    checked = 0
    for r in rooms:
        for i, a in enumerate(r.furniture):
            for b in r.furniture[i + 1:]:
                if b.instance_id in _support_chain(r, a) or a.instance_id in _support_chain(r, b):
                    continue
                overlap = np.minimum(a.aabb_max, b.aabb_max) - np.maximum(a.aabb_min, b.aabb_min)
                assert not np.all(overlap > 1e-3), f"seed {r.seed}: {a.name} and {b.name} interpenetrate by {overlap}"
                checked += 1
    assert checked > 500


def test_supported_objects_rest_on_their_supports(rooms):
    supported = 0
    for r in rooms:
        by_id = {f.instance_id: f for f in r.furniture}
        for f in r.furniture:
            if f.supported_by is None:
                continue
            s = by_id[f.supported_by]
            centre = 0.5 * (f.aabb_min + f.aabb_max)
            assert s.aabb_min[0] - 0.02 <= centre[0] <= s.aabb_max[0] + 0.02, f"seed {r.seed}: {f.name} beside {s.name}"
            assert s.aabb_min[2] - 0.02 <= centre[2] <= s.aabb_max[2] + 0.02, f"seed {r.seed}: {f.name} beside {s.name}"
            # it may sink into its supports (a sink into the worktop and the cabinets below), not below them
            lowest = min(by_id[i].aabb_min[1] for i in _support_chain(r, f))
            assert f.aabb_min[1] >= lowest - 1e-6, f"seed {r.seed}: {f.name} reaches below {s.name}"
            assert f.aabb_min[1] <= s.aabb_max[1] + 0.01, f"seed {r.seed}: {f.name} floats above {s.name}"
            assert f.aabb_max[1] > s.aabb_max[1] - 0.15, f"seed {r.seed}: {f.name} is inside {s.name}, not on it"
            supported += 1
    assert supported >= 10


def test_furniture_stands_inside_the_room(rooms):
    for r in rooms:
        for f in r.furniture:
            corners = np.array([[f.aabb_min[0], f.aabb_min[2]], [f.aabb_max[0], f.aabb_max[2]],
                                [f.aabb_min[0], f.aabb_max[2]], [f.aabb_max[0], f.aabb_min[2]]])
            inside = points_in_polygon(corners, r.floor_polygon) | (distance_to_edges(corners, r.floor_polygon) < 1e-3)
            assert inside.all(), f"seed {r.seed}: {f.name} sticks out of the floor polygon"
            assert f.aabb_min[1] >= -1e-6 and f.aabb_max[1] <= r.height, f"seed {r.seed}: {f.name} height"


def test_all_gaussians_lie_inside_the_room(rooms):
    for r in rooms:
        p = r.gaussians.positions
        xz = p[:, [0, 2]]
        inside = points_in_polygon(xz, r.floor_polygon) | (distance_to_edges(xz, r.floor_polygon) < 0.01)
        assert inside.all(), f"seed {r.seed}: {(~inside).sum()} Gaussians outside the floor polygon"
        assert p[:, 1].min() > -0.01 and p[:, 1].max() < r.height + 0.01, f"seed {r.seed}: Gaussians above/below"


def test_labels_and_instances_are_consistent(rooms):
    for r in rooms:
        g = r.gaussians
        assert g.labels is not None and g.instances is not None
        floater = g.labels == NONE
        assert np.array_equal(floater, g.instances == NO_INSTANCE), "floaters, and only they, have no instance"
        assert 0.005 < floater.mean() < 0.05
        inst, lab = g.instances[~floater], g.labels[~floater]
        pairs = np.unique(np.stack([inst, lab], 1), axis=0)
        assert len(pairs) == len(np.unique(inst)), f"seed {r.seed}: an instance with two classes"
        for i, c in pairs:
            assert r.instances[int(i)] == int(c)
        for f in r.furniture:
            assert r.instances[f.instance_id] == f.class_id
            assert (g.instances == f.instance_id).sum() > 20, f"seed {r.seed}: {f.name} has (almost) no Gaussians"
        ids = [f.instance_id for f in r.furniture] + [o.instance_id for o in r.doors + r.windows]
        assert len(set(ids)) == len(ids)


def test_gaussians_have_trained_scene_statistics(rooms):
    for r in rooms[:5]:
        g = r.gaussians
        assert 50_000 <= len(g) <= 120_000
        surf = g.labels != NONE
        scales = np.exp(g.log_scales[surf])
        flat = scales.min(axis=1) / scales.max(axis=1)
        assert np.median(flat) < 0.25, "surface Gaussians are flattened along the normal"
        tangent = np.sort(scales, axis=1)[:, 1:]
        assert 0.01 < np.median(tangent) < 0.06
        assert np.percentile(tangent, 95) / np.percentile(tangent, 5) > 3, "sizes vary"
        o = g.opacities
        assert np.median(o) > 0.85 and 0.1 < (o < 0.5).mean() < 0.35, "opacities: mostly near 1, a low tail"
        q = np.linalg.norm(g.rotations, axis=1)
        assert np.allclose(q, 1, atol=1e-5)
        assert g.colors.min() >= 0 and g.colors.max() <= 1


def test_sizes_grow_away_from_the_camera_paths(rooms):
    r = rooms[1]
    g = r.gaussians
    wall = g.labels == class_id("wall")
    size = np.exp(g.log_scales[wall]).max(axis=1)
    y = g.positions[wall, 1]
    near_eye = np.abs(y - 1.5) < 0.3
    high = y > r.height - 0.3
    assert np.median(size[high]) > 1.1 * np.median(size[near_eye])


def test_options_are_checked_and_change_the_count(rooms):
    for bad in (dict(seed=-1), dict(seed=1.5), dict(seed=1, room_type="garage"), dict(seed=1, density=3.0),
                dict(seed=1, max_gaussians=10)):
        with pytest.raises(GeneratorError):
            generate_room(**bad)
    small = generate_room(3, max_gaussians=30_000)
    assert len(small.gaussians) <= 30_000 * 1.05
    sparse = generate_room(3, density=0.5)
    assert len(sparse.gaussians) < 0.75 * len(rooms[3].gaussians)
    assert generate_room(3, room_type="office").room_type == "office"
    assert generate_room(7, l_shape=True).l_shaped and not generate_room(7, l_shape=False).l_shaped


def test_colours_overlap_across_classes(rooms):
    """RGB alone must be ambiguous: in many rooms some object has nearly the colour of the walls or the floor."""
    hits = 0
    for r in rooms:
        g = r.gaussians
        shell = [np.median(g.colors[g.labels == class_id(c)], axis=0) for c in ("wall", "floor")]
        for f in r.furniture:
            c = np.median(g.colors[g.instances == f.instance_id], axis=0)
            if min(np.abs(c - s).max() for s in shell) < 0.08:
                hits += 1
                break
    assert hits >= len(rooms) // 3


def test_ply_round_trip_keeps_labels_and_instances(rooms):
    g = rooms[3].gaussians
    back = ply_bytes_to_scene(scene_to_ply_bytes(g))
    assert np.array_equal(back.labels, g.labels) and np.array_equal(back.instances, g.instances)
    assert np.allclose(back.positions, g.positions, atol=1e-6)


def test_polyhaven_models_load_with_plausible_sizes():
    heights = {"painted_wooden_cabinet": (1.0, 1.4), "painted_wooden_cabinet_02": (2.3, 2.8),
               "painted_wooden_stool": (0.45, 0.7), "sofa_03": (0.9, 1.3), "tea_set_01": (0.1, 0.25),
               "wooden_bookshelf_worn": (1.8, 2.3), "wooden_table_02": (0.65, 0.9)}
    assert set(heights) == set(gltf.POLYHAVEN_MODELS)
    for name, (h0, h1) in heights.items():
        m = gltf.load_polyhaven(name)
        lo, hi = m.bounds
        assert h0 <= hi[1] - lo[1] <= h1, f"{name}: height {hi[1] - lo[1]:.2f} m"
        assert abs(lo[1]) < 0.01, f"{name} stands on y = 0"
        assert 0.1 < hi[0] - lo[0] < 3.0 and 0.1 < hi[2] - lo[2] < 1.5
        assert m.triangles.min() >= 0 and m.triangles.max() < len(m.vertices)
        assert np.allclose(np.linalg.norm(m.normals, axis=1), 1, atol=1e-3)
        assert all(t.ndim == 3 and t.shape[2] == 3 and t.dtype == np.uint8 for t in m.textures)
        assert m.material.max() < len(m.textures)
        assert gltf.POLYHAVEN_MODELS[name] in class_names()
    # the cabinet's doors face +Z (front), as every SynthRooms object does
    cab = gltf.load_polyhaven("painted_wooden_cabinet")
    front = cab.vertices[:, 2] > 0.5 * cab.bounds[1][2]
    assert (cab.normals[front, 2] > 0.5).mean() > 0.3


def test_gltf_loader_reports_bad_files(tmp_path):
    with pytest.raises(gltf.GltfError, match="no such glTF file"):
        gltf.load_gltf(tmp_path / "missing.gltf")
    bad = tmp_path / "bad.gltf"
    bad.write_text("{not json")
    with pytest.raises(gltf.GltfError, match="bad.gltf: not valid glTF JSON"):
        gltf.load_gltf(bad)
    old = tmp_path / "old.gltf"
    old.write_text(json.dumps({"asset": {"version": "1.0"}}))
    with pytest.raises(gltf.GltfError, match="only glTF 2.0"):
        gltf.load_gltf(old)
    with pytest.raises(gltf.GltfError, match="unknown Poly Haven model"):
        gltf.polyhaven_path("chair_99")


def test_gaussians_lie_flat_on_their_surfaces(rooms):
    """The smallest-scale axis of each Gaussian is its surface normal: vertical on the floor and ceiling,
    horizontal on the walls (checks the quaternion conversion and the frame of every rotation)."""
    g = rooms[0].gaussians
    r = g.rotation_matrices()
    thin_axis = np.argmin(g.log_scales, axis=1)
    normal = r[np.arange(len(g)), :, thin_axis]
    for cls, vertical in (("floor", True), ("ceiling", True), ("wall", False)):
        n = normal[g.labels == class_id(cls)]
        up = np.abs(n[:, 1])
        share = (up > 0.99).mean() if vertical else (up < 0.01).mean()
        assert share > 0.95, f"{cls}: {share:.3f} of the Gaussians lie in the surface"


def test_doors_and_windows_are_in_their_walls(rooms):
    for r in rooms:
        g = r.gaussians
        for o in r.doors + r.windows:
            w = r.walls[o.wall]
            p = g.positions[g.instances == o.instance_id]
            assert len(p) > 50 and r.instances[o.instance_id] == class_id(o.kind)
            rel = p[:, [0, 2]] - w.start
            depth = rel @ w.normal  # distance into the room
            along = rel @ w.direction
            assert depth.min() > -0.01 and depth.max() < 0.15, f"seed {r.seed}: {o.kind} off its wall"
            assert along.min() > o.s0 - 0.15 and along.max() < o.s1 + 0.15
            assert p[:, 1].min() >= o.bottom - 0.1 and p[:, 1].max() <= o.top + 0.15
            # no wall Gaussians inside the opening
            wall = g.positions[g.instances == w.instance_id]
            rel = wall[:, [0, 2]] - w.start
            a, y = rel @ w.direction, wall[:, 1]
            inside = (a > o.s0 + 0.05) & (a < o.s1 - 0.05) & (y > o.bottom + 0.05) & (y < o.top - 0.05)
            assert inside.sum() == 0, f"seed {r.seed}: wall Gaussians cover the {o.kind}"


def test_same_bytes_in_a_fresh_process_with_another_hash_seed(rooms):
    """Nothing depends on Python's per-process string hashing (set or dict order of names)."""
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import hashlib; from rtgs2.ply import scene_to_ply_bytes; from rtgs2.synthrooms.generator import generate_room; "
            f"print(hashlib.sha256(scene_to_ply_bytes(generate_room({SEEDS[2]}).gaussians)).hexdigest())")
    factory = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(factory))
    out = subprocess.run([sys.executable, "-c", code], cwd=factory, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha256(scene_to_ply_bytes(rooms[2].gaussians)).hexdigest()
