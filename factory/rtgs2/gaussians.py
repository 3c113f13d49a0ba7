"""The in-memory Gaussian scene every part of the factory passes around.

Scene frame: Babylon.js world space, the frame the runtime renders in: metres, +Y up, left-handed (x right,
y up, z forward for a camera looking down +Z). Files on disk use the standard 3DGS convention instead
(Y down; see rtgs2.ply), which Babylon's PLY loader flips back with `scaling.y = -1`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NO_INSTANCE = 65535


@dataclass
class GaussianScene:
    positions: np.ndarray  # (N, 3) float32, metres, scene frame
    colors: np.ndarray  # (N, 3) float32 in [0, 1]: base colour (SH degree 0 -> rgb)
    opacities: np.ndarray  # (N,) float32 in (0, 1): after sigmoid
    log_scales: np.ndarray  # (N, 3) float32: natural log of the per-axis standard deviations
    rotations: np.ndarray  # (N, 4) float32 unit quaternions (w, x, y, z): local axes -> scene frame
    labels: np.ndarray | None = None  # (N,) uint8 class ids, 255 = none
    instances: np.ndarray | None = None  # (N,) uint16 instance ids, 65535 = none
    features: np.ndarray | None = None  # (N, K) float32 per-Gaussian semantic features
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.positions)
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float32).reshape(n, 3)
        self.colors = np.ascontiguousarray(self.colors, dtype=np.float32).reshape(n, 3)
        self.opacities = np.ascontiguousarray(self.opacities, dtype=np.float32).reshape(n)
        self.log_scales = np.ascontiguousarray(self.log_scales, dtype=np.float32).reshape(n, 3)
        self.rotations = np.ascontiguousarray(self.rotations, dtype=np.float32).reshape(n, 4)
        if self.labels is not None:
            self.labels = np.ascontiguousarray(self.labels, dtype=np.uint8).reshape(n)
        if self.instances is not None:
            self.instances = np.ascontiguousarray(self.instances, dtype=np.uint16).reshape(n)
        if self.features is not None:
            self.features = np.ascontiguousarray(self.features, dtype=np.float32).reshape(n, -1)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def feature_dim(self) -> int:
        return 0 if self.features is None else self.features.shape[1]

    def rotation_matrices(self) -> np.ndarray:
        """(N, 3, 3) rotation matrices from the (normalised) quaternions."""
        q = self.rotations / np.linalg.norm(self.rotations, axis=1, keepdims=True)
        w, x, y, z = q.T
        return np.stack(
            [
                np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
            ],
            axis=1,
        ).astype(np.float32)

    def covariances(self) -> np.ndarray:
        """(N, 3, 3) world covariances R S S R^T."""
        r = self.rotation_matrices()
        s2 = np.exp(2.0 * self.log_scales.astype(np.float64))
        return np.einsum("nij,nj,nkj->nik", r, s2, r).astype(np.float32)

    def subset(self, mask: np.ndarray) -> "GaussianScene":
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        return GaussianScene(
            self.positions[mask], self.colors[mask], self.opacities[mask], self.log_scales[mask],
            self.rotations[mask], pick(self.labels), pick(self.instances), pick(self.features), dict(self.meta),
        )

    @staticmethod
    def concatenate(parts: list["GaussianScene"]) -> "GaussianScene":
        def cat(name: str):
            arrays = [getattr(p, name) for p in parts]
            if any(a is None for a in arrays):
                return None
            return np.concatenate(arrays)

        return GaussianScene(*(cat(n) for n in (
            "positions", "colors", "opacities", "log_scales", "rotations", "labels", "instances", "features")))

    def input_channels(self) -> np.ndarray:
        """(N, 10) encoder input, ARCHITECTURE.md contract 2: x y z r g b opacity log_sx log_sy log_sz."""
        return np.concatenate(
            [self.positions, self.colors, self.opacities[:, None], self.log_scales], axis=1
        ).astype(np.float32)
