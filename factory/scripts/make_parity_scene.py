#!/usr/bin/env python3
"""Writes the fixed parity scene (test/golden/parity/scene.ply) that the runtime's WebGPU feature pass and the
factory's reference renderer (rtgs2.render) both render, for the parity test (ARCHITECTURE.md contract 5).

About 2,000 Gaussians in a small "room corner" in front of the camera below, in the scene frame (Babylon world,
metres, +Y up, left-handed), written in the 3DGS file convention (+Y down) by rtgs2.ply, so Babylon's loader
(scaling.y = -1) puts them back where they are here:
  - a back wall at z = 3.6 (class wall) and a floor at y = -0.6 (class floor) of flattened, rotated Gaussians,
  - three blobs in front (classes chair, table, sofa) of varied sizes, anisotropy, orientations and opacities,
  - a few Gaussians near and beyond the frustum's 1.2 NDC culling bound and one behind the camera.
Every Gaussian has K = 8 smooth random features `f_sem_*` (sums of sinusoids of the position, L2-normalised),
a `sem_label` and a `sem_instance`. Colours are random per Gaussian around a per-cluster mean, so the classes
share colours a little.

The camera the goldens are meant to use (PARITY_CAMERA below; Babylon's default fov is 0.8 rad):
  position (0.25, 0.35, -0.4), target (0, -0.05, 2.8), vertical fov 0.8 rad, near 0.1, far 100.

Deterministic: the same command writes byte-identical files.

    python3 factory/scripts/make_parity_scene.py [--out test/golden/parity/scene.ply]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "factory"))

from rtgs2.camera import Camera  # noqa: E402
from rtgs2.classes import class_id  # noqa: E402
from rtgs2.gaussians import GaussianScene  # noqa: E402
from rtgs2.ply import write_ply  # noqa: E402

SEED = 20241101
K = 8
PARITY_CAMERA = {"position": (0.25, 0.35, -0.4), "target": (0.0, -0.05, 2.8), "fovY": 0.8, "near": 0.1,
                 "far": 100.0}


def random_quaternions(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.sign(q[:, :1] + 1e-12)  # w >= 0, a canonical sign


def quaternions_near(rng: np.random.Generator, axis_angle: np.ndarray, jitter: float) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotations by the given axis-angle vectors plus a small random rotation."""
    v = axis_angle + rng.normal(scale=jitter, size=axis_angle.shape)
    angle = np.linalg.norm(v, axis=1, keepdims=True)
    axis = v / np.maximum(angle, 1e-12)
    return np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], axis=1)


def surface(rng, n, center, extent_u, extent_v, u_axis, v_axis, plane_rotation, color, color_jitter):
    """Gaussians flattened onto a plane spanned by u_axis, v_axis (the local z axis is the plane normal)."""
    u = rng.uniform(-extent_u, extent_u, n)[:, None]
    v = rng.uniform(-extent_v, extent_v, n)[:, None]
    positions = np.asarray(center) + u * np.asarray(u_axis) + v * np.asarray(v_axis)
    positions += rng.normal(scale=0.004, size=positions.shape)
    log_scales = np.stack([rng.uniform(np.log(0.015), np.log(0.07), n),
                           rng.uniform(np.log(0.015), np.log(0.07), n),
                           rng.uniform(np.log(0.001), np.log(0.004), n)], 1)
    spin = np.zeros((n, 3))
    spin[:, 2] = rng.uniform(-np.pi, np.pi, n)  # in-plane orientation
    q_spin = quaternions_near(rng, spin, 0.05)
    rotations = quaternion_product(np.broadcast_to(np.asarray(plane_rotation, dtype=np.float64), (n, 4)), q_spin)
    colors = np.clip(np.asarray(color) + rng.normal(scale=color_jitter, size=(n, 3)), 0.02, 0.98)
    opacities = np.where(rng.uniform(size=n) < 0.6, rng.uniform(0.85, 0.999, n), rng.uniform(0.2, 0.85, n))
    return positions, colors, opacities, log_scales, rotations


def blob(rng, n, center, radii, color, color_jitter):
    """An ellipsoidal cluster of Gaussians of varied size, anisotropy (needles, discs, balls) and orientation."""
    offsets = rng.normal(size=(n, 3)) * np.asarray(radii) * 0.45
    positions = np.asarray(center) + offsets
    base = rng.uniform(np.log(0.008), np.log(0.06), n)[:, None]
    shape = rng.integers(0, 3, n)  # 0: ball, 1: disc (one short axis), 2: needle (one long axis)
    log_scales = base + rng.normal(scale=0.15, size=(n, 3))
    log_scales[shape == 1, 2] -= rng.uniform(1.5, 3.0, int((shape == 1).sum()))
    log_scales[shape == 2, 0] += rng.uniform(0.8, 1.6, int((shape == 2).sum()))
    rotations = random_quaternions(rng, n)
    colors = np.clip(np.asarray(color) + rng.normal(scale=color_jitter, size=(n, 3)), 0.02, 0.98)
    opacities = rng.uniform(0.05, 0.999, n) ** 0.6
    return positions, colors, opacities, log_scales, rotations


def unproject_ndc(ndc: np.ndarray, depth: float) -> np.ndarray:
    """Scene points at view depth `depth` that the parity camera (4:3 image) sees at the given NDC (x, y)."""
    camera = Camera.look_at(PARITY_CAMERA["position"], PARITY_CAMERA["target"], 4, 3, PARITY_CAMERA["fovY"])
    view = np.stack([ndc[:, 0] * depth * camera.cx / camera.fx, ndc[:, 1] * depth * camera.cy / camera.fy,
                     np.full(len(ndc), depth)], 1)
    r, t = camera.world_to_view[:3, :3], camera.world_to_view[:3, 3]
    return (view - t) @ r


def quaternion_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a.T
    bw, bx, by, bz = b.T
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], 1)


def smooth_features(rng: np.random.Generator, positions: np.ndarray) -> np.ndarray:
    """K smooth functions of position (3 random sinusoids each), L2-normalised per Gaussian."""
    freq = rng.normal(scale=2.0, size=(K, 3, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(K, 3))
    weight = rng.uniform(0.5, 1.0, size=(K, 3))
    f = np.zeros((len(positions), K))
    for k in range(K):
        for j in range(3):
            f[:, k] += weight[k, j] * np.sin(positions @ freq[k, j] + phase[k, j])
    f += 0.3  # keep the mean away from 0 so that cosine similarity is well defined everywhere
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def make_scene(seed: int = SEED) -> GaussianScene:
    rng = np.random.default_rng(seed)
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    floor_rotation = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])  # local z -> scene -y/+y
    parts = []  # (arrays, class name)
    parts.append((surface(rng, 700, (0.0, 0.2, 3.6), 1.6, 1.0, (1, 0, 0), (0, 1, 0), identity,
                          (0.82, 0.8, 0.74), 0.04), "wall"))
    parts.append((surface(rng, 500, (0.0, -0.6, 2.4), 1.5, 1.25, (1, 0, 0), (0, 0, 1), floor_rotation,
                          (0.55, 0.42, 0.3), 0.06), "floor"))
    parts.append((blob(rng, 300, (-0.45, -0.25, 2.2), (0.25, 0.35, 0.25), (0.6, 0.3, 0.25), 0.12), "chair"))
    parts.append((blob(rng, 300, (0.35, -0.3, 2.8), (0.45, 0.15, 0.35), (0.55, 0.42, 0.3), 0.08), "table"))
    parts.append((blob(rng, 200, (0.05, 0.25, 1.8), (0.2, 0.2, 0.2), (0.3, 0.45, 0.7), 0.12), "sofa"))
    # Edge cases for the frustum test: centres just inside and just outside |NDC| = 1.2 (seen from the parity
    # camera; large splats whose footprint reaches into the image either way), and one behind the camera.
    edge = blob(rng, 24, (0.0, 0.0, 2.5), (0.01, 0.01, 0.01), (0.9, 0.9, 0.2), 0.05)
    ndc = np.array([[sx * x, sy * y] for sx in (-1, 1) for sy in (-1, 1)
                    for x, y in ((1.1, 0.5), (1.15, 1.25), (1.3, 0.0), (0.3, 1.15), (0.0, 1.3), (1.25, 1.1))])
    edge = (unproject_ndc(ndc, 2.6), edge[1], np.full(24, 0.9), np.full((24, 3), np.log(0.12)), edge[4])
    parts.append((edge, "other furniture"))
    behind = (np.array([[0.2, 0.3, -1.0]]), np.array([[1.0, 0.0, 1.0]]), np.array([0.95]),
              np.full((1, 3), np.log(0.3)), identity[None])
    parts.append((behind, "other furniture"))

    positions = np.concatenate([p[0][0] for p in parts])
    scene = GaussianScene(
        positions=positions,
        colors=np.concatenate([p[0][1] for p in parts]),
        opacities=np.concatenate([p[0][2] for p in parts]),
        log_scales=np.concatenate([p[0][3] for p in parts]),
        rotations=np.concatenate([p[0][4] for p in parts]),
        labels=np.concatenate([np.full(len(p[0][0]), class_id(p[1])) for p in parts]),
        instances=np.concatenate([np.full(len(p[0][0]), i) for i, p in enumerate(parts)]),
        features=smooth_features(rng, positions),
    )
    # Shuffle so that file order says nothing about depth order.
    return scene.subset(rng.permutation(len(scene)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "test" / "golden" / "parity" / "scene.ply")
    args = parser.parse_args(argv)
    scene = make_scene()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_ply(args.out, scene)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: {len(scene)} Gaussians, K={scene.feature_dim}, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
