"""The reference renderer on cases with known answers (footprint, order, compositing, culling, tiling)."""
import numpy as np
import pytest
import torch

import rtgs2.render as render_module
from rtgs2.camera import Camera
from rtgs2.gaussians import GaussianScene
from rtgs2.render import KERNEL_SIZE, prepare, project, render
from rtgs2.render_babylon import babylon_sort_order, babylon_splats, babylon_to_half_float, uint8_clamp


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

W, H = 64, 48
FOV = np.deg2rad(50.0)


def camera(width=W, height=H, near=0.1, far=100.0) -> Camera:
    return Camera.look_at((0, 0, 0), (0, 0, 1), width, height, FOV, near=near, far=far)


def scene_of(positions, colors, opacities, sigmas, rotations=None, labels=None, features=None) -> GaussianScene:
    n = len(positions)
    sigmas = np.broadcast_to(np.asarray(sigmas, dtype=np.float64).reshape(n, -1), (n, 3))
    if rotations is None:
        rotations = np.tile([1.0, 0, 0, 0], (n, 1))
    return GaussianScene(np.asarray(positions, float), np.asarray(colors, float), np.asarray(opacities, float),
                         np.log(sigmas), rotations, labels=labels, features=features)


def at_pixel(cam: Camera, px: float, py: float, z: float) -> list[float]:
    """The scene point at view depth z that projects to pixel coordinates (px, py) (pixel centres at +0.5)."""
    return [(px - cam.cx) * z / cam.fx, -(py - cam.cy) * z / cam.fy, z]


def test_isotropic_footprint_matches_the_dilated_gaussian_and_its_cutoff():
    cam = camera()
    z, sigma_eff = 2.0, 4.0  # effective footprint sigma in pixels: sigma_px^2 + 0.3 / 4 (Babylon's dilation)
    sigma_px = np.sqrt(sigma_eff ** 2 - KERNEL_SIZE / 4)
    opacity = 204 / 255  # exactly representable in Babylon's uint8 opacity
    # Centre on the pixel centre (32.5, 24.5), half a pixel off the optical axis: the perspective stretch is
    # 1e-4 there, and off the axis the quad axes are well defined (exactly on it Babylon's are 0/0).
    scene = scene_of([at_pixel(cam, 32.5, 24.5, z)], [[0.5, 0.5, 0.5]], [opacity], [sigma_px * z / cam.fx])
    alpha = render(scene, cam, sort="depth")["alpha"]
    assert alpha[24, 32] == pytest.approx(opacity, rel=1e-4)
    # One effective sigma away along x and along y: opacity * exp(-1/2).
    for py, px in ((24, 36), (24, 28), (28, 32), (20, 32)):
        assert alpha[py, px] == pytest.approx(opacity * np.exp(-0.5), rel=3e-3)
    # Whole image against the analytic footprint, with the cut-off at 2 sqrt(2) effective sigmas.
    yy, xx = np.mgrid[0:H, 0:W]
    r2 = ((xx + 0.5 - 32.5) ** 2 + (yy + 0.5 - 24.5) ** 2) / sigma_eff ** 2
    expected = np.where(r2 < 8.0, opacity * np.exp(-0.5 * r2), 0.0)
    clear = np.abs(r2 - 8.0) > 0.05  # pixels right at the cut-off may go either way
    np.testing.assert_allclose(alpha[clear], expected[clear], atol=2e-3)
    assert (alpha[r2 > 8.05] == 0).all() and (alpha[r2 < 7.95] > opacity * np.exp(-4) * 0.99).all()


def test_anisotropic_rotated_footprint_matches_the_ewa_covariance():
    cam = camera(96, 72)
    z = 3.0
    centre = at_pixel(cam, 50.5, 30.5, z)
    angle = 0.6  # about the view axis
    q = [np.cos(angle / 2), 0, 0, np.sin(angle / 2)]
    sig = np.array([0.12, 0.04, 0.05])
    scene = scene_of([centre], [[1, 1, 1]], [1.0], [sig], rotations=[q])
    alpha = render(scene, cam)["alpha"]
    # Expected: S = J R diag(sig^2) R^T J^T + 0.075 I in pixels (y down), alpha = exp(-d^T S^-1 d / 2).
    x, y = centre[0], centre[1]
    j = np.array([[cam.fx / z, 0, -cam.fx * x / z ** 2], [0, cam.fy / z, -cam.fy * y / z ** 2]])
    rot = scene.rotation_matrices()[0].astype(np.float64)
    s2 = j @ rot @ np.diag(sig ** 2) @ rot.T @ j.T + np.eye(2) * KERNEL_SIZE / 4
    s2[0, 1] = s2[1, 0] = -s2[0, 1]  # image rows go down
    yy, xx = np.mgrid[0:72, 0:96]
    d = np.stack([xx + 0.5 - 50.5, yy + 0.5 - 30.5], -1)
    m = np.einsum("...i,ij,...j->...", d, np.linalg.inv(s2), d)
    expected = np.where(m < 8, np.exp(-0.5 * m), 0)
    clear = np.abs(m - 8) > 0.1
    np.testing.assert_allclose(alpha[clear], expected[clear], atol=4e-3)


def two_overlapping(order_near_first: bool):
    cam = camera()
    near = at_pixel(cam, 30.5, 24.5, 2.0)
    far = at_pixel(cam, 34.5, 24.5, 3.0)
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    positions, colors = [near, far], [red, blue]
    sig = [0.25, 0.37]
    if not order_near_first:
        positions, colors, sig = positions[::-1], colors[::-1], sig[::-1]
    return cam, scene_of(positions, colors, [0.8, 0.8], sig)


@pytest.mark.parametrize("near_first", [True, False])
def test_near_gaussian_is_composited_over_the_far_one_whatever_the_input_order(near_first):
    cam, scene = two_overlapping(near_first)
    out = render(scene, cam)
    a = out["alpha"]
    # Each one's own alpha at pixel (32, 24), from rendering it alone.
    near_i, far_i = (0, 1) if near_first else (1, 0)
    a_near = render(scene.subset(np.array([near_i])), cam)["alpha"][24, 32]
    a_far = render(scene.subset(np.array([far_i])), cam)["alpha"][24, 32]
    assert 0.3 < a_near < 0.8 and 0.3 < a_far < 0.8
    np.testing.assert_allclose(out["rgb"][24, 32], [a_near, 0, a_far * (1 - a_near)], rtol=1e-5, atol=1e-6)
    assert a[24, 32] == pytest.approx(1 - (1 - a_near) * (1 - a_far), rel=1e-6)
    depth = out["depth"][24, 32]
    assert depth == pytest.approx(2.0 * a_near + 3.0 * a_far * (1 - a_near), rel=1e-5)


def test_input_order_does_not_change_the_image():
    cam, first = two_overlapping(True)
    _, second = two_overlapping(False)
    a, b = render(first, cam), render(second, cam)
    for name in ("rgb", "alpha", "depth"):
        np.testing.assert_allclose(a[name], b[name], atol=1e-6)


def test_equal_depths_follow_babylons_bucket_order_lower_index_on_top():
    cam = camera()
    p = at_pixel(cam, 32.5, 24.5, 2.0)
    scene = scene_of([p, p], [[1, 0, 0], [0, 1, 0]], [0.6, 0.6], [0.3, 0.3])
    # Babylon draws within a depth bucket in decreasing source index: splat 0 is drawn last, on top.
    assert list(babylon_sort_order(babylon_splats(scene).centers, np.diag([1.0, -1, 1, 1]), cam.world_to_view)) \
        == [1, 0]
    rgb = render(scene, cam)["rgb"][24, 32]
    a = rgb[0]
    assert rgb[1] == pytest.approx(a * (1 - a), rel=1e-5) and a == pytest.approx(153 / 255, rel=1e-4)


def test_features_are_composited_like_colour():
    rng = np.random.default_rng(3)
    cam = camera()
    n = 60
    positions = np.stack([rng.uniform(-0.8, 0.8, n), rng.uniform(-0.6, 0.6, n), rng.uniform(2, 4, n)], 1)
    colors = rng.integers(0, 256, (n, 3)) / 255.0  # exact uint8 values, so Babylon's colours are the same
    q = rng.normal(size=(n, 4))
    scene = scene_of(positions, colors, rng.uniform(0.2, 1, n), rng.uniform(0.02, 0.2, (n, 3)),
                     rotations=q / np.linalg.norm(q, axis=1, keepdims=True))
    prepared = prepare(scene, features=colors.astype(np.float32), feature_precision="fp32")
    out = render(prepared, cam)
    assert out["alpha"].max() > 0.9
    np.testing.assert_allclose(out["features"], out["rgb"], atol=1e-6)


def test_background_is_zero_and_unlabelled():
    cam = camera()
    scene = scene_of([at_pixel(cam, 10.5, 10.5, 2.0)], [[1, 1, 1]], [1.0], [0.02], labels=np.array([4]),
                     features=np.ones((1, 3), np.float32))
    out = render(scene, cam)
    far_away = np.s_[30:, 30:]
    for name in ("rgb", "alpha", "depth", "features"):
        assert np.all(out[name][far_away] == 0), name
    assert np.all(out["labels"][far_away] == 255)
    assert out["labels"][10, 10] == 4


def test_alpha_is_one_minus_the_product_of_transmittances():
    rng = np.random.default_rng(5)
    cam = camera()
    n = 7
    positions = [at_pixel(cam, 32.5 + rng.uniform(-3, 3), 24.5 + rng.uniform(-3, 3), z)
                 for z in rng.uniform(2, 5, n)]
    scene = scene_of(positions, rng.uniform(0, 1, (n, 3)), rng.uniform(0.1, 0.7, n), rng.uniform(0.1, 0.3, n))
    singles = np.stack([render(scene.subset(np.array([i])), cam)["alpha"] for i in range(n)])
    alpha = render(scene, cam)["alpha"]
    np.testing.assert_allclose(alpha, 1 - np.prod(1 - singles, axis=0), atol=2e-6)
    assert alpha[24, 32] > 0.8


def plane_scene(cam: Camera, z: float = 3.0, left_label: int = 3, right_label: int = 7, spacing_px: float = 2.0):
    """Small opaque Gaussians tiling the whole view at depth z; label by image half."""
    xs = np.arange(-4, cam.width + 4, spacing_px) + 0.5
    ys = np.arange(-4, cam.height + 4, spacing_px) + 0.5
    px, py = np.meshgrid(xs, ys)
    px, py = px.ravel(), py.ravel()
    positions = np.stack(at_pixel(cam, px, py, np.full(len(px), z)), 1)
    labels = np.where(px < cam.width / 2, left_label, right_label).astype(np.uint8)
    sigma = spacing_px * z / cam.fx
    return scene_of(positions, np.full((len(px), 3), 0.5), np.full(len(px), 0.95), [[sigma, sigma, sigma * 0.1]] *
                    len(px), labels=labels)


def test_labels_follow_the_two_halves_and_none_where_alpha_is_low():
    cam = camera()
    scene = plane_scene(cam)
    out = render(scene, cam)
    labels = out["labels"]
    assert out["alpha"].min() > 0.99
    assert (labels[:, : W // 2 - 2] == 3).all() and (labels[:, W // 2 + 2:] == 7).all()
    # Fade the plane: below alpha 0.5 the label is none.
    faint = scene_of(scene.positions, scene.colors, np.full(len(scene), 0.04), np.exp(scene.log_scales),
                     labels=scene.labels)
    faint_out = render(faint, cam)
    assert 0.2 < faint_out["alpha"].max() < 0.5 and (faint_out["labels"] == 255).all()
    assert (render(faint, cam, label_threshold=0.1)["labels"][:, :20] == 3).all()


def test_frustum_culling_matches_babylon():
    cam = camera()
    z = 2.0
    half_w = cam.cx * z / cam.fx  # NDC x = 1 at this depth
    big = 0.25  # large enough to reach into the image from beyond the edge
    # (Off y = 0: an axis-aligned footprint wider than tall has 0/0 quad axes in Babylon's shader.)
    positions = [[1.1 * half_w, 0.01, z], [1.3 * half_w, 0.01, z], [0.01, 0.01, 0.05], [0.01, 0.01, 150.0]]
    scene = scene_of(positions, np.ones((4, 3)), np.full(4, 0.9), [big, big, 0.02, 5.0])
    visible = project(prepare(scene), cam).index.numpy()
    assert sorted(visible) == [0]  # beyond 1.2 NDC, nearer than near, farther than far: culled
    alpha = render(scene, cam)["alpha"]
    assert alpha[:, -1].max() > 0.1  # the one at NDC 1.1 reaches in
    assert alpha[:, :20].max() == 0  # the one at NDC 1.3 would have reached the right edge too: check it culled
    only_outside = render(scene.subset(np.array([1])), cam)["alpha"]
    assert only_outside.max() == 0


def test_banded_rendering_equals_one_band_and_stays_bounded(monkeypatch):
    rng = np.random.default_rng(11)
    cam = camera(160, 120)
    n = 3000
    positions = np.stack([rng.uniform(-1.5, 1.5, n), rng.uniform(-1.1, 1.1, n), rng.uniform(1.5, 5, n)], 1)
    q = rng.normal(size=(n, 4))
    scene = scene_of(positions, rng.uniform(0, 1, (n, 3)), rng.uniform(0.05, 1, n),
                     np.exp(rng.uniform(np.log(0.005), np.log(0.15), (n, 3))),
                     rotations=q / np.linalg.norm(q, axis=1, keepdims=True),
                     labels=rng.integers(0, 5, n).astype(np.uint8), features=rng.normal(size=(n, 6)).astype(np.float32))
    prepared = prepare(scene)
    bands = []
    band_renderer = render_module._render_band
    monkeypatch.setattr(render_module, "_render_band", lambda *a: bands.append(a[3:5]) or band_renderer(*a))
    whole = render(prepared, cam, max_fragments=10 ** 9, contributions=True)
    assert bands == [(0, 120)]
    bands.clear()
    banded = render(prepared, cam, max_fragments=100_000, contributions=True)
    assert len(bands) > 5 and bands[0][0] == 0 and bands[-1][1] == 120
    assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))
    for name in ("rgb", "alpha", "depth", "features"):
        np.testing.assert_allclose(banded[name], whole[name], atol=1e-5, err_msg=name)
        assert np.isfinite(whole[name]).all()
    assert (banded["labels"] == whole["labels"]).mean() > 0.9999
    np.testing.assert_allclose(banded["gaussian_weight"], whole["gaussian_weight"], rtol=1e-4, atol=1e-4)
    assert whole["alpha"].mean() > 0.5


def test_contributions_name_the_visible_gaussians():
    cam = camera()
    a = at_pixel(cam, 20.5, 20.5, 2.0)
    b = at_pixel(cam, 44.5, 20.5, 2.0)
    hidden = at_pixel(cam, 20.5, 20.5, 4.0)  # straight behind an opaque one
    off = [50.0, 0, 2.0]
    scene = scene_of([a, b, hidden, off], np.ones((4, 3)), [1.0, 0.7, 0.9, 0.9], [0.05, 0.05, 0.01, 0.05])
    out = render(scene, cam, contributions=True)
    assert out["top_gaussian"][20, 20] == 0 and out["top_gaussian"][20, 44] == 1
    assert out["top_gaussian"][40, 5] == -1
    w = out["gaussian_weight"]
    assert w[0] > 1 and w[1] > 1 and w[3] == 0
    assert w[2] < 1e-3 * w[0]


def test_renders_on_the_device_it_is_given():
    cam = camera()
    scene = plane_scene(cam)
    out = render(scene, cam, device="cpu", output="torch")
    assert isinstance(out["rgb"], torch.Tensor) and out["rgb"].device.type == "cpu"
    assert out["rgb"].shape == (H, W, 3) and out["labels"].dtype == torch.uint8


def test_bad_arguments_are_refused_with_a_clear_message():
    cam = camera()
    scene = plane_scene(cam)
    with pytest.raises(ValueError, match="features must be"):
        render(scene, cam, features=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="sort must be"):
        render(scene, cam, sort="random")
    with pytest.raises(ValueError, match="NaN"):
        render(scene, cam, features=np.full((len(scene), 2), np.nan))


def test_babylon_quantisation_helpers():
    # ToHalfFloat truncates: 1 + 2^-11 + 2^-12 rounds up to 1 + 2^-10 but truncates to 1.
    v = np.array([1 + 2 ** -11 + 2 ** -12, -1 - 2 ** -11 - 2 ** -12, 0.1, 65504.0], dtype=np.float32)
    out = babylon_to_half_float(v)
    assert out[0] == 1.0 and out[1] == -1.0 and out[2] <= 0.1 and 0.1 - out[2] < 1e-4 and out[3] == 65504.0
    # Uint8ClampedArray: round half to even, clamp.
    assert list(uint8_clamp(np.array([2.5, 3.5, -4, 300, np.nan]))) == [2, 4, 0, 255, 0]


def test_babylon_splats_hold_four_times_the_covariance_and_uint8_colours():
    rng = np.random.default_rng(2)
    n = 200
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    scene = GaussianScene(rng.normal(size=(n, 3)), rng.uniform(0, 1, (n, 3)), rng.uniform(0.01, 0.99, n),
                          rng.uniform(-5, -1, (n, 3)), q)
    splats = babylon_splats(scene)
    cov = splats.covariances
    full = np.stack([cov[:, [0, 1, 2]], cov[:, [1, 3, 4]], cov[:, [2, 4, 5]]], 1)
    # Babylon's data lives in the file frame (y down): reflect the scene's covariance to compare.
    f = np.diag([1.0, -1.0, 1.0])
    expected = 4 * f @ scene.covariances().astype(np.float64) @ f
    scale = np.abs(expected).max(axis=(1, 2), keepdims=True)
    # Errors: uint8 quaternion (~1/255 rad) and fp16 truncation relative to the largest entry.
    assert np.abs(full - expected).max(axis=(1, 2)).max() < 0.03 * scale.max()
    assert (np.abs(full - expected) / scale).mean() < 5e-3
    np.testing.assert_array_equal(splats.rgba[:, :3], np.rint(scene.colors.astype(np.float64) * 255))
    np.testing.assert_allclose(splats.opacities, scene.opacities, atol=0.5 / 255 + 1e-6)
    np.testing.assert_array_equal(splats.centers, scene.positions * np.float32([1, -1, 1]))
