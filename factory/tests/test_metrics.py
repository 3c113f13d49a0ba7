"""Segmentation metrics on hand-made label maps, confusion matrices and views with known answers."""
import numpy as np
import pytest

from rtgs2.camera import Camera
from rtgs2.metrics import (SegmentationMetrics, confusion_matrix, per_class_iou, scores, surface_depth,
                           view_consistency)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

N = 255


def test_confusion_matrix_counts_rows_gt_columns_prediction_and_ignores_none_ground_truth():
    gt = np.array([[0, 0, 1, 1], [2, 2, N, N]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1], [2, N, 0, 2]], dtype=np.uint8)
    cm = confusion_matrix(pred, gt, num_classes=3)
    expected = np.array([[1, 1, 0, 0],
                         [0, 2, 0, 0],
                         [0, 0, 1, 1]])  # last column: predicted none (a miss of class 2)
    np.testing.assert_array_equal(cm, expected)


def test_scores_of_a_hand_made_confusion_matrix():
    cm = np.array([[8, 1, 1, 0],     # gt \ pred: 0, 1, 2, none. Class 0: 10 pixels, once called 2...
                   [1, 5, 0, 4],     # class 1: 10 pixels, 4 unpredicted
                   [0, 0, 0, 0]])    # ...but class 2 is absent from the ground truth
    iou = per_class_iou(cm)
    # IoU_0 = 8 / (10 + 9 - 8) = 8/11; IoU_1 = 5 / (10 + 6 - 5) = 5/11; IoU_2 = 0 / (0 + 1 - 0) = 0.
    np.testing.assert_allclose(iou, [8 / 11, 5 / 11, 0.0])
    s = scores(cm)
    assert s["miou"] == pytest.approx((8 / 11 + 5 / 11) / 2)  # class 2 is not in the ground truth
    assert s["macc"] == pytest.approx((8 / 10 + 5 / 10) / 2)
    assert s["oacc"] == pytest.approx(13 / 20)
    assert list(s["classes_counted"]) == [0, 1]
    assert scores(cm, average_over="union")["miou"] == pytest.approx((8 / 11 + 5 / 11 + 0) / 3)
    # A class neither in the ground truth nor predicted has no IoU.
    assert np.isnan(per_class_iou(np.array([[3, 0], [0, 0]]))[1])


def test_global_and_per_image_protocols_differ_as_defined():
    metrics = SegmentationMetrics(num_classes=2)
    # Image 1: 90 pixels of class 0, all right. Image 2: 10 pixels, 5 of class 0 and 5 of class 1, all called 0.
    metrics.update(np.zeros(90, np.uint8), np.zeros(90, np.uint8))
    metrics.update(np.zeros(10, np.uint8), np.array([0] * 5 + [1] * 5, np.uint8))
    # An image without labelled ground truth counts as an image but not in the per-image average.
    metrics.update(np.zeros(4, np.uint8), np.full(4, N, np.uint8))
    s = metrics.summary()
    # Global: TP_0 = 95, GT_0 = 95, P_0 = 100 -> IoU_0 = 0.95; IoU_1 = 0 -> mIoU 0.475.
    assert s["miou"] == pytest.approx(0.475)
    # Per image: image 1 -> 1.0 (class 0 only); image 2 -> (5/10 + 0) / 2 = 0.25; mean 0.625.
    assert s["miou_per_image"] == pytest.approx(0.625)
    assert s["oacc"] == pytest.approx(95 / 100) and s["macc"] == pytest.approx(0.5)
    assert s["images"] == 3 and s["images_with_labels"] == 2 and s["pixels"] == 100
    assert s["per_class_iou"] == [pytest.approx(0.95), 0.0]
    # rows ground truth, columns prediction and none: the 5 class-1 pixels were called 0
    assert s["confusion"] == [[95, 0, 0], [5, 0, 0]]


def test_per_class_iou_is_none_for_classes_not_in_the_ground_truth():
    metrics = SegmentationMetrics(num_classes=3)
    metrics.update(np.array([0, 2, 0], np.uint8), np.array([0, 0, 0], np.uint8))
    s = metrics.summary()
    assert s["per_class_iou"][1] is None and s["per_class_iou"][2] is None
    assert s["miou"] == pytest.approx(2 / 3)


def test_bad_label_maps_are_refused():
    with pytest.raises(ValueError, match="neither class ids"):
        confusion_matrix(np.array([0, 30]), np.array([0, 1]), num_classes=21)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(np.zeros(3, np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix(np.zeros(3), np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="average_over"):
        scores(np.eye(2), average_over="images")


# View consistency: two cameras looking at the plane z = Z, labels painted on the plane by world x.
W, H, Z = 80, 60, 4.0


def plane_view(camera: Camera, boundary_x: float, occluder=None):
    """Labels, undivided depth and alpha of the plane z = Z seen by `camera` (looking down +z): class 1 where
    world x < boundary_x, else 2. occluder: (x0, x1, z) a strip in front, class 3, at depth z."""
    py, px = np.mgrid[0:H, 0:W] + 0.5
    # Rays through pixel centres, in the world (camera axes aligned with the world's).
    eye = camera.position
    dx = (px - camera.cx) / camera.fx  # a vertical wall: the ray's x slope alone fixes the hit point
    depth = np.full((H, W), Z - eye[2])
    x = eye[0] + dx * depth
    labels = np.where(x < boundary_x, 1, 2).astype(np.uint8)
    if occluder is not None:
        x0, x1, zo = occluder
        d = zo - eye[2]
        xo = eye[0] + dx * d
        hit = (xo >= x0) & (xo < x1)
        depth[hit], labels[hit] = d, 3
    alpha = np.ones((H, W))
    return labels, depth * alpha, alpha


def cameras(shift_px: float):
    """Camera A at the origin, camera B moved along +x so that the plane moves shift_px pixels left in B."""
    a = Camera.look_at((0, 0, 0), (0, 0, 1), W, H, np.deg2rad(60))
    t = shift_px * Z / a.fx
    b = Camera.look_at((t, 0, 0), (t, 0, 1), W, H, np.deg2rad(60))
    return a, b, t


def test_identical_labels_on_a_plane_are_fully_consistent():
    a, b, _ = cameras(8)
    va, vb = plane_view(a, 0.1), plane_view(b, 0.1)
    out = view_consistency(*va, a, *vb, b)
    assert out["score"] == 1.0
    # A -> B: columns 8..79 of A land in B (72 of 80); B -> A likewise.
    assert out["matched"] == 2 * 72 * H and out["candidates"] == 2 * W * H


def test_a_shifted_label_boundary_lowers_the_score_by_the_disagreeing_strip():
    a, b, _ = cameras(8)
    strip_px = 4
    boundary = 0.1
    va = plane_view(a, boundary)
    vb = plane_view(b, boundary + strip_px * Z / a.fx)  # B predicts the boundary 4 pixels further right
    out = view_consistency(*va, a, *vb, b, symmetric=False)
    assert out["matched"] == 72 * H
    assert out["score"] == pytest.approx(1 - strip_px / 72)
    both = view_consistency(*va, a, *vb, b)
    assert both["score"] == pytest.approx(1 - strip_px / 72)


def test_occluded_points_are_left_out():
    a, b, t = cameras(8)
    va = plane_view(a, 0.1)
    # In B, a strip at depth 2 hides part of the plane; it carries another label, which must not count.
    vb = plane_view(b, 0.1, occluder=(t - 0.3, t + 0.1, 2.0))
    out = view_consistency(*va, a, *vb, b, symmetric=False)
    assert out["score"] == 1.0
    hidden_columns = ((vb[0] == 3).sum(axis=0) > 0).sum()
    assert hidden_columns > 5
    assert out["matched"] < 72 * H - (hidden_columns - 2) * H
    # Without the depth test those pixels would disagree: a generous tolerance lets them in.
    loose = view_consistency(*va, a, *vb, b, symmetric=False, depth_tolerance=10.0)
    assert loose["score"] < 0.95


def test_low_coverage_and_unlabelled_pixels_are_not_matched():
    a, b, _ = cameras(8)
    la, da, aa = plane_view(a, 0.1)
    lb, db, ab = plane_view(b, 0.1)
    aa = aa.copy()
    aa[:, :40] = 0.3  # faint in A: left out as sources
    la = la.copy()
    la[:10] = N
    out = view_consistency(la, da * aa, aa, a, lb, db, ab, b, symmetric=False)
    assert out["candidates"] == 40 * (H - 10) and out["score"] == 1.0


def test_surface_depth_divides_by_alpha_where_covered():
    np.testing.assert_allclose(surface_depth(np.array([1.0, 0.0, 0.5]), np.array([0.5, 0.0, 0.25])), [2, 0, 2])


def test_view_consistency_on_rendered_views_of_a_labelled_plane():
    """The renderer's depth and pixel conventions and the reprojection agree: labels painted on a plane by
    quadrant (so that a flipped axis would show) are consistent between two rendered views."""
    from rtgs2.gaussians import GaussianScene
    from rtgs2.render import render

    rng = np.random.default_rng(4)
    n = 20000
    xy = rng.uniform([-3.0, -2.2], [3.0, 2.2], (n, 2))
    positions = np.column_stack([xy, np.full(n, 4.0) + rng.normal(scale=0.002, size=n)])
    labels = (2 * (xy[:, 0] > 0.3) + (xy[:, 1] > -0.2)).astype(np.uint8)
    scene = GaussianScene(positions, rng.uniform(0.2, 0.8, (n, 3)), np.full(n, 0.95),
                          np.log(np.tile([0.04, 0.04, 0.003], (n, 1))), np.tile([1.0, 0, 0, 0], (n, 1)),
                          labels=labels)
    a = Camera.look_at((0, 0, 0), (0.1, 0, 4), W, H, np.deg2rad(60))
    b = Camera.look_at((0.4, 0.25, 0.2), (0.2, 0.1, 4), W, H, np.deg2rad(60))
    va, vb = render(scene, a), render(scene, b)
    out = view_consistency(va["labels"], va["depth"], va["alpha"], a, vb["labels"], vb["depth"], vb["alpha"], b)
    assert out["matched"] > 0.7 * out["candidates"]
    assert out["score"] > 0.97
    # Labels that disagree with the geometry (B's map mirrored left-right) score far lower.
    mirrored = view_consistency(va["labels"], va["depth"], va["alpha"], a, vb["labels"][:, ::-1], vb["depth"],
                                vb["alpha"], b)
    assert mirrored["score"] < 0.8
