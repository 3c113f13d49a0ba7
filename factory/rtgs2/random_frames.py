"""Training sees what the runtime feeds (issue 13 item 3): a room's encoder input is computed the way the runtime
computes it for a real capture in an unknown frame.

    random similarity (rotation + scale, rtgs2.frame.random_similarity)  -> the room as some capture tool wrote it
    -> rtgs2.frame.estimate_scene_frame (from the Gaussians alone)       -> the runtime's `frame: "auto"`
    -> rtgs2.frame.apply_scene_frame                                     -> the canonical frame the encoder reads

so residual estimation errors (a few degrees of tilt, a few percent of scale, a floor a little off) are part of
training and evaluation. Colours and opacities are not touched by a similarity; labels and Gaussian order are kept,
so per-Gaussian features computed from the result splat into the room's benchmark views as they are.
"""
from __future__ import annotations

import numpy as np

from .gaussians import GaussianScene

FRAME_STREAM = 7  # default_rng([seed, 7]): independent of the generator's streams


def _rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a 3x3 rotation matrix."""
    m = np.asarray(r, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    return q / np.linalg.norm(q)


def _quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = np.moveaxis(a, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(b, -1, 0)
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], -1)


def similarity_transform(scene: GaussianScene, rotation: np.ndarray, scale: float,
                         translation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xyz, log_scales, quats) of the scene moved by x -> scale * R x + t (a capture tool's frame)."""
    r = np.asarray(rotation, dtype=np.float64)
    xyz = scale * (scene.positions.astype(np.float64) @ r.T)
    if translation is not None:
        xyz = xyz + np.asarray(translation, dtype=np.float64)[None]
    log_scales = scene.log_scales.astype(np.float64) + np.log(scale)
    quats = _quat_multiply(_rotation_to_quaternion(r)[None], scene.rotations.astype(np.float64))
    quats *= np.where(quats[:, :1] < 0, -1.0, 1.0)
    return xyz, log_scales, quats


def framed_input_channels(scene: GaussianScene, seed: int, kind: str = "any") -> tuple[np.ndarray, dict]:
    """The (N, 10) encoder input of `scene` after a random similarity (drawn from `seed`), the estimator and the
    normalisation, and a record of what happened: the true rotation and scale, the estimate, and its errors (up
    direction in degrees, scale ratio, floor height in metres)."""
    from . import frame as fr

    rng = np.random.default_rng([int(seed), FRAME_STREAM])
    rotation, scale = fr.random_similarity(rng, kind)
    translation = rng.uniform(-5.0, 5.0, 3) * scale
    xyz, log_scales, quats = similarity_transform(scene, rotation, scale, translation)
    estimate = fr.estimate_scene_frame(xyz, log_scales, quats, scene.opacities, seed=int(seed))
    cxyz, clog, _ = fr.apply_scene_frame(estimate, xyz, log_scales, quats)
    cxyz = np.asarray(cxyz, dtype=np.float64)
    channels = np.concatenate([cxyz, scene.colors, scene.opacities[:, None], np.asarray(clog, dtype=np.float64)],
                              axis=1).astype(np.float32)
    # errors against the truth: where the room's +Y went, and its size
    up_true = np.asarray(rotation, dtype=np.float64) @ np.array([0.0, 1.0, 0.0])
    est_rot = np.asarray(estimate.rotation, dtype=np.float64)
    up_est = est_rot.T @ np.array([0.0, 1.0, 0.0])  # the scene-frame direction the estimate calls up
    up_error = float(np.degrees(np.arccos(np.clip(abs(up_true @ up_est) / np.linalg.norm(up_est), -1, 1))))
    if up_true @ up_est < 0:
        up_error = 180.0 - up_error
    scale_ratio = float(estimate.metres_per_unit * scale)
    floor_error = float(np.percentile(cxyz[:, 1], 1) - np.percentile(scene.positions[:, 1], 1))
    record = {"kind": kind, "true_rotation": np.asarray(rotation).tolist(), "true_scale": float(scale),
              "estimate": estimate.to_json() if hasattr(estimate, "to_json") else str(estimate),
              "up_error_deg": up_error, "scale_ratio": scale_ratio, "floor_offset_m": floor_error,
              "confidence": float(estimate.confidence), "fallback": bool(estimate.fallback)}
    if not np.all(np.isfinite(channels)):
        raise ValueError(f"seed {seed}: the framed encoder input has NaN/Inf")
    return channels, record


def frame_module_available() -> bool:
    try:
        from . import frame  # noqa: F401
    except ImportError:
        return False
    return True
