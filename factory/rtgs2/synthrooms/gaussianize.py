"""Surface samples -> 3D Gaussians that look like a trained 3DGS scene.

What trained indoor 3DGS scenes look like, and what we imitate:
- Gaussians sit on surfaces and are flat: the scale along the normal is a small fraction of the tangent scales
  (we draw 5-20 %), and the two tangent scales differ (anisotropy, a log-normal ratio), with a random rotation
  about the normal.
- Sizes follow the training views' footprint: densification makes Gaussians small where cameras come close and
  large far from the camera paths. Here the point spacing (and with it the size) grows with the distance to the
  nearest of a set of probe eye positions (a grid over the free floor at 1.5 m), between 0.7x and 2.5x the
  surface's own spacing; large flat surfaces (walls, floor, ceiling) ask for a coarser spacing than small objects.
- Opacities are bimodal: most near 1 (saturated sigmoids), a broad tail of semi-transparent Gaussians.
- Colours carry baked lighting (SH degree 0 only: no view dependence); a little colour and position noise.
- A few percent of floaters: larger, low-opacity blobs off the surfaces, labelled `none` (255) with no instance
  (65535), like the unlabeled clutter a real capture leaves (opacity 0.02-0.25, sd 1-5 cm).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..classes import NONE
from ..gaussians import NO_INSTANCE, GaussianScene
from .surfaces import CANDIDATE_FACTOR, Samples

SIGMA_PER_SPACING = 0.85  # tangent std / point spacing: randomly placed neighbours overlap, the surface is closed
NORMAL_FLATNESS = (0.05, 0.2)  # normal-axis scale as a fraction of the tangent scale
DISTANCE_REFERENCE = 1.0  # m: at this distance from the nearest probe eye a surface gets its own spacing
SPACING_FACTOR_RANGE = (0.7, 2.5)
FLOATER_FRACTION = 0.02
OPAQUE_FRACTION = 0.78  # Gaussians drawn from the near-1 opacity mode; the rest from the low tail


def quaternions_from_frames(t1: np.ndarray, t2: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(N, 4) unit quaternions (w, x, y, z) of rotation matrices with columns t1, t2, n (right-handed frames)."""
    m = np.stack([t1, t2, n], axis=2)  # (N, 3, 3), columns = local axes in the scene frame
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    q = np.zeros((len(m), 4))
    # Shepperd's method: pick the numerically largest component per row.
    cases = np.argmax(np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], 1), axis=1)
    for case in range(4):
        k = cases == case
        if not k.any():
            continue
        a = m[k]
        if case == 0:
            s = np.sqrt(1.0 + tr[k]) * 2
            q[k] = np.stack([0.25 * s, (a[:, 2, 1] - a[:, 1, 2]) / s, (a[:, 0, 2] - a[:, 2, 0]) / s,
                             (a[:, 1, 0] - a[:, 0, 1]) / s], 1)
        elif case == 1:
            s = np.sqrt(1.0 + a[:, 0, 0] - a[:, 1, 1] - a[:, 2, 2]) * 2
            q[k] = np.stack([(a[:, 2, 1] - a[:, 1, 2]) / s, 0.25 * s, (a[:, 0, 1] + a[:, 1, 0]) / s,
                             (a[:, 0, 2] + a[:, 2, 0]) / s], 1)
        elif case == 2:
            s = np.sqrt(1.0 + a[:, 1, 1] - a[:, 0, 0] - a[:, 2, 2]) * 2
            q[k] = np.stack([(a[:, 0, 2] - a[:, 2, 0]) / s, (a[:, 0, 1] + a[:, 1, 0]) / s, 0.25 * s,
                             (a[:, 1, 2] + a[:, 2, 1]) / s], 1)
        else:
            s = np.sqrt(1.0 + a[:, 2, 2] - a[:, 0, 0] - a[:, 1, 1]) * 2
            q[k] = np.stack([(a[:, 1, 0] - a[:, 0, 1]) / s, (a[:, 0, 2] + a[:, 2, 0]) / s,
                             (a[:, 1, 2] + a[:, 2, 1]) / s, 0.25 * s], 1)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)  # canonical sign: w >= 0
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def tangent_frames(normals: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two unit tangents per normal, randomly rotated about it, forming right-handed frames (t1, t2, n)."""
    helper = np.where(np.abs(normals[:, 1:2]) < 0.9, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]])
    a = np.cross(helper, normals)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(normals, a)
    phi = rng.uniform(0, 2 * np.pi, len(normals))[:, None]
    t1 = np.cos(phi) * a + np.sin(phi) * b
    t2 = np.cross(normals, t1)
    return t1, t2


def min_distance(points: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """(N,) distance from each point to the nearest probe."""
    return cKDTree(probes).query(points, k=1)[0]


def sample_opacities(rng: np.random.Generator, n: int) -> np.ndarray:
    opaque = rng.uniform(size=n) < OPAQUE_FRACTION
    high = 1.0 - 0.12 * rng.beta(1.0, 3.0, n)  # 0.88 .. 1, most above 0.95
    low = 0.03 + 0.85 * rng.beta(1.3, 1.6, n)  # a broad tail 0.03 .. 0.88
    return np.where(opaque, high, low)


def gaussianize(samples: Samples, labels: np.ndarray, instances: np.ndarray, probes: np.ndarray,
                rng: np.random.Generator, budget: int | None = None, inside=None, bounds=None,
                density: float = 1.0, min_count: int | None = None) -> GaussianScene:
    """Thin the candidate samples to their distance-dependent spacing (to `budget` Gaussians at most by
    coarsening uniformly; to about `min_count` at least by refining uniformly, as far as the candidates allow:
    small rooms are captured as densely as large ones), then make Gaussians. `density` scales Gaussians per area (spacing / sqrt(density));
    above ~1.5 the candidates run out. `probes` (P, 3): typical eye positions. `inside(xz) -> bool`
    and `bounds` ((3,), (3,)) keep floaters in the room."""
    d = min_distance(samples.positions, probes)
    factor = np.clip(d / DISTANCE_REFERENCE, *SPACING_FACTOR_RANGE)
    target = samples.spacing * factor / np.sqrt(density)
    keep_p = np.minimum((CANDIDATE_FACTOR * samples.spacing / target) ** 2, 1.0)
    expected = keep_p.sum() * (1 + FLOATER_FRACTION)
    scale = 1.0
    if budget is not None and expected > budget:
        scale = budget / expected
    elif min_count is not None and expected < min_count:
        scale = min_count / expected
    if scale != 1.0:
        keep_p = np.minimum(keep_p * scale, 1.0)
        target = np.maximum(target / np.sqrt(scale), CANDIDATE_FACTOR * samples.spacing)
    keep = rng.uniform(size=len(samples)) < keep_p
    pos, nrm, col = samples.positions[keep], samples.normals[keep], samples.colors[keep]
    spacing = target[keep]
    lab, ins = labels[keep], instances[keep]
    n = len(pos)

    sigma = SIGMA_PER_SPACING * spacing * np.exp(rng.normal(0.0, 0.25, n))
    aniso = np.exp(rng.normal(0.0, 0.3, n))
    s1, s2 = sigma * np.sqrt(aniso), sigma / np.sqrt(aniso)
    s3 = sigma * rng.uniform(*NORMAL_FLATNESS, n)
    t1, t2 = tangent_frames(nrm, rng)
    rot = quaternions_from_frames(t1, t2, nrm)
    pos = pos + nrm * np.clip(rng.normal(0.0, 0.002, (n, 1)), -0.005, 0.005)  # reconstruction noise
    col = np.clip(col + rng.normal(0.0, 0.015, (n, 3)), 0.0, 1.0)
    opacity = sample_opacities(rng, n)

    # Floaters: copies of random surface points pushed off the surface, bigger, faint, unlabelled.
    m = int(round(FLOATER_FRACTION * n))
    src = rng.integers(0, n, m * 2)
    direction = rng.normal(size=(m * 2, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    fpos = pos[src] + nrm[src] * rng.uniform(0.03, 0.4, (m * 2, 1)) + direction * rng.uniform(0.0, 0.15, (m * 2, 1))
    ok = np.ones(m * 2, dtype=bool)
    if bounds is not None:
        ok &= np.all((fpos > bounds[0] + 0.02) & (fpos < bounds[1] - 0.02), axis=1)
    if inside is not None:
        ok &= inside(fpos[:, [0, 2]])
    pick = np.flatnonzero(ok)[:m]
    m = len(pick)
    fpos = fpos[pick]
    fcol = np.clip(col[src[pick]] * rng.uniform(0.7, 1.2, (m, 1)) + rng.normal(0, 0.05, (m, 3)), 0, 1)
    fscale = np.log(rng.uniform(0.01, 0.05, (m, 1)) * np.exp(rng.normal(0, 0.3, (m, 3))))
    fquat = rng.normal(size=(m, 4))
    fquat /= np.linalg.norm(fquat, axis=1, keepdims=True)
    fquat *= np.where(fquat[:, :1] < 0, -1.0, 1.0)
    fop = rng.uniform(0.02, 0.25, m)

    return GaussianScene(
        positions=np.concatenate([pos, fpos]),
        colors=np.concatenate([col, fcol]),
        opacities=np.concatenate([opacity, fop]),
        log_scales=np.concatenate([np.log(np.stack([s1, s2, s3], 1)), fscale]),
        rotations=np.concatenate([rot, fquat]),
        labels=np.concatenate([lab, np.full(m, NONE)]).astype(np.uint8),
        instances=np.concatenate([ins, np.full(m, NO_INSTANCE)]).astype(np.uint16),
    )
