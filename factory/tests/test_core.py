import numpy as np
import pytest

from rtgs2.camera import Camera
from rtgs2.classes import NUM_CLASSES, class_id, class_names
from rtgs2.gaussians import GaussianScene
from rtgs2.ply import PlyError, ply_bytes_to_scene, scene_to_ply_bytes


def random_scene(n=50, k=8, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4))
    return GaussianScene(
        positions=rng.normal(size=(n, 3)), colors=rng.uniform(0.05, 0.95, (n, 3)),
        opacities=rng.uniform(0.05, 0.95, n), log_scales=rng.uniform(-4, -1, (n, 3)),
        rotations=q / np.linalg.norm(q, axis=1, keepdims=True), labels=rng.integers(0, 21, n),
        instances=rng.integers(0, 100, n), features=rng.normal(size=(n, k)))


def test_class_table_has_scannet20_plus_ceiling():
    names = class_names()
    assert NUM_CLASSES == 21 and names[0] == "wall" and names[-1] == "ceiling"
    assert class_id("other furniture") == 19


def test_ply_round_trip_keeps_scene_frame_values():
    scene = random_scene()
    back = ply_bytes_to_scene(scene_to_ply_bytes(scene))
    np.testing.assert_allclose(back.positions, scene.positions, atol=1e-6)
    np.testing.assert_allclose(back.colors, scene.colors, atol=1e-5)
    np.testing.assert_allclose(back.opacities, scene.opacities, atol=1e-5)
    np.testing.assert_array_equal(back.features, scene.features)
    np.testing.assert_array_equal(back.labels, scene.labels)
    np.testing.assert_array_equal(back.instances, scene.instances)
    # The y reflection of the file convention must leave covariances mirrored, not rotated.
    np.testing.assert_allclose(back.covariances(), scene.covariances(), atol=1e-6)


def test_ply_file_is_y_down():
    scene = random_scene(n=3)
    raw = scene_to_ply_bytes(scene)
    body = np.frombuffer(raw[raw.index(b"end_header\n") + 11:], dtype="<f4", count=3)
    assert body[1] == pytest.approx(-scene.positions[0, 1])


def test_ply_errors_name_the_problem():
    with pytest.raises(PlyError, match="end_header"):
        ply_bytes_to_scene(b"ply\nformat binary_little_endian 1.0\n", "x.ply")
    truncated = scene_to_ply_bytes(random_scene())[:-10]
    with pytest.raises(PlyError, match="needs"):
        ply_bytes_to_scene(truncated, "t.ply")


def test_camera_projects_centre_and_follows_babylon_axes():
    cam = Camera.look_at(eye=(0, 0, -5), target=(0, 0, 0), width=320, height=240)
    u, v, z = cam.project(np.array([[0, 0, 0], [1, 1, 0]], dtype=float))
    assert (u[0], v[0], z[0]) == pytest.approx((160, 120, 5))
    assert u[1] > 160 and v[1] < 120  # +x is right, +y is up (row index decreases)
    np.testing.assert_allclose(cam.position, [0, 0, -5], atol=1e-12)
