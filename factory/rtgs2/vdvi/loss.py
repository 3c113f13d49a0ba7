"""The VDVI training loss (METHOD.md, stage 3): cross-entropy with label smoothing 0.15 (ignoring `none` = 255)
plus 0.4 x the neural-collapse centre loss.

Centre loss: the decoder's penultimate features are averaged per class over the batch (pixels at the features'
resolution, labels resized by nearest neighbour); each class centre, L2-normalised, is classified by a FIXED
simplex equiangular tight frame W = sqrt(C/(C-1)) U (I - 11^T/C) (U: D x C with orthonormal columns), with
cross-entropy over cosine logits / temperature. Classes absent from the batch have no centre and are left out
(METHOD.md: the reference code used an orthonormal frame without the centring term and still counted absent
classes; neither is copied here).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..classes import NONE

LABEL_SMOOTHING = 0.15  # METHOD.md (the reference code's value)
CENTRE_WEIGHT = 0.4  # METHOD.md
CENTRE_TEMPERATURE = 0.1  # cosine logits / 0.1: our choice (the paper does not state one)


def simplex_etf(num_classes: int, dim: int, seed: int = 0) -> torch.Tensor:
    """(dim, C) simplex ETF: unit-norm columns, pairwise cosine -1/(C-1), columns summing to zero."""
    if num_classes < 2:
        raise ValueError(f"simplex_etf: need at least 2 classes, got {num_classes}")
    if dim < num_classes:
        raise ValueError(f"simplex_etf: feature dim {dim} must be >= the class count {num_classes} "
                         f"(U needs {num_classes} orthonormal columns)")
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(dim, num_classes, generator=generator, dtype=torch.float64))
    c = num_classes
    centring = torch.eye(c, dtype=torch.float64) - torch.full((c, c), 1.0 / c, dtype=torch.float64)
    return (math.sqrt(c / (c - 1)) * u @ centring).float()


def class_centres(embedding: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """embedding (B, D, h, w), labels (B, H, W) int64 (255 = none). Returns centres (C, D) (zero rows for absent
    classes) and present (C,) bool."""
    b, d, h, w = embedding.shape
    if labels.shape[1:] != (h, w):
        labels = F.interpolate(labels[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()
    flat = embedding.permute(0, 2, 3, 1).reshape(-1, d)
    lab = labels.reshape(-1)
    valid = lab != NONE
    if (lab[valid] >= num_classes).any() or (lab[valid] < 0).any():
        raise ValueError(f"labels must be 0..{num_classes - 1} or {NONE} (none)")
    flat, lab = flat[valid], lab[valid]
    sums = torch.zeros(num_classes, d, dtype=flat.dtype, device=flat.device).index_add_(0, lab, flat)
    counts = torch.bincount(lab, minlength=num_classes).to(flat.dtype)
    present = counts > 0
    centres = sums / counts.clamp(min=1)[:, None]
    return centres, present


class CentreLoss(nn.Module):
    def __init__(self, num_classes: int, dim: int, temperature: float = CENTRE_TEMPERATURE, seed: int = 0):
        super().__init__()
        self.num_classes, self.temperature = num_classes, temperature
        self.register_buffer("etf", simplex_etf(num_classes, dim, seed), persistent=False)

    def forward(self, embedding: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        centres, present = class_centres(embedding, labels, self.num_classes)
        if not present.any():
            return embedding.sum() * 0.0  # no labelled pixel: nothing to pull (keeps the graph for DDP)
        classes = present.nonzero().squeeze(1)
        logits = F.normalize(centres[classes], dim=1) @ self.etf.to(embedding.dtype) / self.temperature
        return F.cross_entropy(logits, classes)


def balanced_class_weights(counts, power: float, clip: float = 10.0) -> torch.Tensor:
    """Per-class CE weights (median frequency / class frequency) ** power, over the classes that occur, clipped to
    [1/clip, clip] and scaled to a pixel-weighted mean of 1 (the loss keeps its size); classes that never occur get
    1. power 0: all ones; 0.5 (square root) lifts rare classes (chair, refrigerator: under 1 % of SynthRooms
    pixels) without letting one of them dominate; 1 is classic median-frequency balancing."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    weights = torch.ones_like(counts)
    present = counts > 0
    if power == 0 or not present.any():
        return weights.float()
    freq = counts[present] / counts[present].sum()
    w = (freq.median() / freq) ** power
    w = w.clamp(1.0 / clip, clip)
    weights[present] = w / (w * freq).sum()
    return weights.float()


class VdviLoss(nn.Module):
    """total = CE(label smoothing, optional class weights) + centre_weight x centre loss; returns
    (total, {name: value})."""

    def __init__(self, num_classes: int, embedding_dim: int, label_smoothing: float = LABEL_SMOOTHING,
                 centre_weight: float = CENTRE_WEIGHT, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.label_smoothing, self.centre_weight = label_smoothing, centre_weight
        self.centre = CentreLoss(num_classes, embedding_dim) if centre_weight > 0 else None
        self.register_buffer("class_weights", None if class_weights is None else torch.as_tensor(class_weights).float(),
                             persistent=False)

    def forward(self, logits: torch.Tensor, embedding: torch.Tensor | None, labels: torch.Tensor):
        ce = F.cross_entropy(logits, labels, weight=self.class_weights, ignore_index=NONE,
                             label_smoothing=self.label_smoothing)
        if not (labels != NONE).any():
            ce = logits.sum() * 0.0  # an all-none batch: CE would be NaN
        parts = {"ce": ce.detach()}
        total = ce
        if self.centre is not None and embedding is not None:
            centre = self.centre(embedding, labels)
            parts["centre"] = centre.detach()
            total = total + self.centre_weight * centre
        parts["total"] = total.detach()
        return total, parts
