"""Segmentation metrics for the benchmark: both mIoU protocols, mAcc, oAcc, per-class IoU, view consistency.

Label maps are uint8 class ids (models/classes.json), 255 = none.

Confusion matrix: rows are ground-truth classes 0..C-1, columns predicted classes 0..C-1 plus one last column
for "predicted none" (255). Pixels whose ground truth is none are ignored; a pixel with a ground-truth class
and no prediction counts as a miss (a false negative of its class, a false positive of no class).

From one confusion matrix, for each class c with TP_c (diagonal), GT_c (row sum) and P_c (column sum):
    IoU_c = TP_c / (GT_c + P_c - TP_c)        Acc_c = TP_c / GT_c
    mIoU  = mean of IoU_c over the classes present in the ground truth (GT_c > 0)
    mAcc  = mean of Acc_c over the same classes,    oAcc = sum TP_c / sum GT_c
"Global" mIoU (RT-GS2's protocol, Jurca et al., BMVC 2024): one confusion matrix accumulated over all test pixels
of all test images, then mIoU as above.
"Per-image" mIoU (the protocol of S-Ray, Liu et al., CVPR 2023, and GSNeRF, Chou et al., CVPR 2024): mIoU of each
image's own confusion matrix, averaged over images. By default a class counts in an image's average when it is
present in that image's ground truth (average_over="gt", the same rule as the global protocol); with
average_over="union" a class counts when it is in the image's ground truth or prediction (IoU 0 for a class
predicted but absent), which is what averaging IoU with NaN for empty unions gives. Images without any labelled
ground-truth pixel are skipped.

View consistency: the agreement of the labels predicted for the same surface point seen from two views, matched
through depth reprojection (see view_consistency).
"""
from __future__ import annotations

import numpy as np

from .camera import Camera
from .classes import NONE, NUM_CLASSES


def _check_labels(name: str, labels: np.ndarray, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{name}: label maps must hold integer class ids, got dtype {labels.dtype}")
    bad = (labels != NONE) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        raise ValueError(f"{name}: values {np.unique(labels[bad])[:5].tolist()} are neither class ids "
                         f"0..{num_classes - 1} nor none ({NONE})")
    return labels


def confusion_matrix(prediction: np.ndarray, ground_truth: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(C, C + 1) int64 counts: rows ground truth, columns prediction, last column = predicted none."""
    prediction = _check_labels("prediction", prediction, num_classes)
    ground_truth = _check_labels("ground_truth", ground_truth, num_classes)
    if prediction.shape != ground_truth.shape:
        raise ValueError(f"prediction {prediction.shape} and ground_truth {ground_truth.shape} differ in shape")
    valid = ground_truth != NONE
    gt = ground_truth[valid].astype(np.int64)
    pred = prediction[valid].astype(np.int64)
    pred = np.where(pred == NONE, num_classes, pred)
    counts = np.bincount(gt * (num_classes + 1) + pred, minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1)


def _check_confusion(confusion: np.ndarray) -> np.ndarray:
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[1] not in (confusion.shape[0], confusion.shape[0] + 1):
        raise ValueError(f"confusion matrix must be (C, C) or (C, C + 1), got {confusion.shape}")
    if (confusion < 0).any():
        raise ValueError("confusion matrix has negative counts")
    return confusion.astype(np.float64)


def per_class_iou(confusion: np.ndarray) -> np.ndarray:
    """(C,) IoU per class; NaN for classes absent from both ground truth and prediction."""
    cm = _check_confusion(confusion)
    c = cm.shape[0]
    tp = np.diag(cm[:, :c])
    union = cm.sum(1) + cm[:, :c].sum(0) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)


def scores(confusion: np.ndarray, average_over: str = "gt") -> dict:
    """mIoU, mAcc, oAcc and per-class IoU of one confusion matrix (see the module docstring)."""
    cm = _check_confusion(confusion)
    c = cm.shape[0]
    tp = np.diag(cm[:, :c])
    gt = cm.sum(1)
    predicted = cm[:, :c].sum(0)
    iou = per_class_iou(cm)
    if average_over == "gt":
        counted = gt > 0
    elif average_over == "union":
        counted = (gt > 0) | (predicted > 0)
    else:
        raise ValueError(f"average_over must be 'gt' or 'union', got {average_over!r}")
    present = gt > 0
    total = gt.sum()
    return {
        "miou": float(np.mean(iou[counted])) if counted.any() else float("nan"),
        "macc": float(np.mean(tp[present] / gt[present])) if present.any() else float("nan"),
        "oacc": float(tp.sum() / total) if total > 0 else float("nan"),
        "per_class_iou": iou,
        "classes_counted": np.flatnonzero(counted),
        "pixels": int(total),
    }


class SegmentationMetrics:
    """Accumulates both protocols over a test set: update() once per image, then summary()."""

    def __init__(self, num_classes: int = NUM_CLASSES, average_over: str = "gt"):
        if average_over not in ("gt", "union"):
            raise ValueError(f"average_over must be 'gt' or 'union', got {average_over!r}")
        self.num_classes = num_classes
        self.average_over = average_over
        self.confusion = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
        self.image_miou: list[float] = []
        self.images = 0

    def update(self, prediction: np.ndarray, ground_truth: np.ndarray) -> None:
        cm = confusion_matrix(prediction, ground_truth, self.num_classes)
        self.confusion += cm
        self.images += 1
        if cm.sum() > 0:
            self.image_miou.append(scores(cm, self.average_over)["miou"])

    def summary(self) -> dict:
        """JSON-ready: miou (global), miou_per_image, macc, oacc, per_class_iou (None = class not in the GT) and the
        confusion counts (rows ground truth, columns prediction, last column none), to say what a class is taken for."""
        s = scores(self.confusion, "gt")
        present = self.confusion.sum(1) > 0
        return {
            "miou": s["miou"], "miou_per_image": float(np.mean(self.image_miou)) if self.image_miou else float("nan"),
            "macc": s["macc"], "oacc": s["oacc"],
            "per_class_iou": [float(v) if p else None for v, p in zip(s["per_class_iou"], present)],
            "images": self.images, "images_with_labels": len(self.image_miou), "pixels": s["pixels"],
            "per_image_average_over": self.average_over, "confusion": self.confusion.tolist(),
        }


def surface_depth(depth: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The renderer's undivided expected depth divided by coverage: the depth of the surface a pixel sees
    (0 where alpha is 0)."""
    depth, alpha = np.asarray(depth, dtype=np.float64), np.asarray(alpha, dtype=np.float64)
    return np.divide(depth, alpha, out=np.zeros_like(depth), where=alpha > 0)


def reproject(depth: np.ndarray, source: Camera, target: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel centre of `source` with surface depth `depth` (view z): the target pixel column and row
    (floor of the projected coordinates) and the point's depth in the target view."""
    h, w = depth.shape
    if (w, h) != (source.width, source.height):
        raise ValueError(f"depth map is {w}x{h} but the source camera is {source.width}x{source.height}")
    py, px = np.mgrid[0:h, 0:w].astype(np.float64)
    z = depth.astype(np.float64)
    view = np.stack([(px + 0.5 - source.cx) * z / source.fx, -(py + 0.5 - source.cy) * z / source.fy, z], -1)
    r, t = source.world_to_view[:3, :3], source.world_to_view[:3, 3]
    world = (view - t) @ r  # r^T (p - t), row vectors
    u, v, zt = target.project(world.reshape(-1, 3))
    with np.errstate(invalid="ignore"):
        col = np.floor(u).reshape(h, w)
        row = np.floor(v).reshape(h, w)
    return col, row, zt.reshape(h, w)


def view_consistency(labels_a: np.ndarray, depth_a: np.ndarray, alpha_a: np.ndarray, camera_a: Camera,
                     labels_b: np.ndarray, depth_b: np.ndarray, alpha_b: np.ndarray, camera_b: Camera, *,
                     depth_tolerance: float = 0.03, min_alpha: float = 0.5, symmetric: bool = True) -> dict:
    """Agreement of two views' predicted labels on the surface points both see.

    depth_* and alpha_* are the renderer's undivided expected depth and coverage. A pixel of view A with a label
    and alpha >= min_alpha is lifted to 3D at its surface depth (depth / alpha) and projected into view B; it is
    matched with the B pixel it lands in when that pixel is inside B, has a label and alpha >= min_alpha, and B's
    surface depth there agrees with the point's depth in B within depth_tolerance (relative): otherwise the point
    is occluded in B (or off its image) and left out. The score is the fraction of matched pixels whose labels
    agree; with symmetric=True the matches of A -> B and B -> A are pooled.
    Returns {"score", "matched", "agreeing", "candidates"} (score NaN when nothing matches).
    """
    if depth_tolerance <= 0:
        raise ValueError(f"depth_tolerance must be positive, got {depth_tolerance}")

    def one_way(la, da, aa, ca, lb, db, ab, cb):
        la, lb = np.asarray(la), np.asarray(lb)
        for name, arr, cam in (("view A", la, ca), ("view B", lb, cb)):
            if arr.shape != (cam.height, cam.width):
                raise ValueError(f"{name}: label map {arr.shape} does not match its camera "
                                 f"{cam.width}x{cam.height}")
        za, zb = surface_depth(da, aa), surface_depth(db, ab)
        source = (la != NONE) & (np.asarray(aa) >= min_alpha) & (za > 0)
        col, row, z_in_b = reproject(za, ca, cb)
        inside = source & (col >= 0) & (col < cb.width) & (row >= 0) & (row < cb.height) & (z_in_b > 0)
        ci, ri = col[inside].astype(np.int64), row[inside].astype(np.int64)
        target_ok = (lb[ri, ci] != NONE) & (np.asarray(ab)[ri, ci] >= min_alpha)
        seen = np.abs(zb[ri, ci] - z_in_b[inside]) <= depth_tolerance * z_in_b[inside]
        match = target_ok & seen
        agree = la[inside][match] == lb[ri, ci][match]
        return int(match.sum()), int(agree.sum()), int(source.sum())

    matched, agreeing, candidates = one_way(labels_a, depth_a, alpha_a, camera_a, labels_b, depth_b, alpha_b,
                                            camera_b)
    if symmetric:
        m, a, c = one_way(labels_b, depth_b, alpha_b, camera_b, labels_a, depth_a, alpha_a, camera_a)
        matched, agreeing, candidates = matched + m, agreeing + a, candidates + c
    return {"score": agreeing / matched if matched else float("nan"), "matched": matched, "agreeing": agreeing,
            "candidates": candidates}
