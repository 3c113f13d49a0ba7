"""Pinhole cameras in the scene frame with Babylon.js's conventions, so the reference renderer and the
runtime's WebGPU pass project identically.

View space: x right, y up, z forward (Babylon is left-handed); depth is view-space z. Pixels: origin at the
top-left corner of the image, row 0 at the top (WebGPU's row order), pixel (i, j) centred at (i + 0.5, j + 0.5);
a view-space point projects to u = cx + fx * x / z, v = cy - fy * y / z.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Camera:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    world_to_view: np.ndarray  # (4, 4) float64, column-vector convention: p_view = M @ [p_world, 1]
    near: float = 0.01
    far: float = 1000.0

    @staticmethod
    def look_at(eye, target, width: int, height: int, fov_y: float = np.deg2rad(60.0), up=(0.0, 1.0, 0.0),
                near: float = 0.01, far: float = 1000.0) -> "Camera":
        """A camera at `eye` looking at `target`; `fov_y` is the vertical field of view in radians (Babylon's fov)."""
        eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
        z = target - eye
        z /= np.linalg.norm(z)
        x = np.cross(up, z)  # left-handed: right = up x forward
        if np.linalg.norm(x) < 1e-9:
            raise ValueError("look_at: view direction is parallel to the up vector")
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        m = np.eye(4)
        m[0, :3], m[1, :3], m[2, :3] = x, y, z
        m[:3, 3] = -m[:3, :3] @ eye
        f = 0.5 * height / np.tan(0.5 * fov_y)
        return Camera(width, height, f, f, 0.5 * width, 0.5 * height, m, near, far)

    @staticmethod
    def from_babylon(view_matrix, projection_matrix, width: int, height: int) -> "Camera":
        """From Babylon's Matrix.m arrays (row-vector convention: clip = [x y z 1] * V * P)."""
        v = np.asarray(view_matrix, dtype=np.float64).reshape(4, 4).T
        p = np.asarray(projection_matrix, dtype=np.float64).reshape(4, 4)  # rows of Babylon's matrix
        # clip.x = m0 x + m8 z (+ m12), clip.w = z for Babylon's perspective matrices (m11 = 1, m15 = 0).
        fx, fy = 0.5 * width * p[0, 0], 0.5 * height * p[1, 1]
        cx, cy = 0.5 * width * (1.0 + p[2, 0]), 0.5 * height * (1.0 - p[2, 1])
        # The depths where clip z = 0 and clip z = w (clip.z = m10 z + m14): what the splat shader culls
        # (pos2d.z < 0) and what the rasterizer clips; with WebGPU's [0, 1] depth range, Babylon's near and far.
        near = -p[3, 2] / p[2, 2] if p[2, 2] != 0 else 0.0
        far = p[3, 2] / (1.0 - p[2, 2]) if p[2, 2] > 1.0 else float("inf")
        return Camera(width, height, fx, fy, cx, cy, v, near, far)

    @property
    def position(self) -> np.ndarray:
        r, t = self.world_to_view[:3, :3], self.world_to_view[:3, 3]
        return -r.T @ t

    def to_view(self, points: np.ndarray) -> np.ndarray:
        return points @ self.world_to_view[:3, :3].T + self.world_to_view[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (u, v) and view depth z of world points (N, 3)."""
        p = self.to_view(np.asarray(points, dtype=np.float64))
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.cx + self.fx * p[:, 0] / z
            v = self.cy - self.fy * p[:, 1] / z
        return u, v, z
