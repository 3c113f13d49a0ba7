"""Reads PlayCanvas SOG v2 scenes (meta.json + webp textures, as splat-transform writes them) into a GaussianScene.

Decoding follows the layout Babylon.js's SOG loader reads (@babylonjs/loaders SPLAT/sog): means as 16-bit values
split over means_l/means_u, lerped between mins and maxs then un-logged (sign(v) (e^|v| - 1)); scales and sh0 as
codebook indices; opacity in sh0's alpha byte; quaternions as three components in [-1/sqrt2, 1/sqrt2] plus the
index of the omitted (largest, non-negative) one in alpha - 252. Used by the frame benchmark for the playbot
object capture; only degree-0 colour is read. Output is in the scene frame (file y flipped, as rtgs2.ply does).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from .gaussians import GaussianScene
from .ply import SH_C0


def _pixels(folder: Path, name: str, count: int) -> np.ndarray:
    with Image.open(folder / name) as im:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8).reshape(-1, 4)
    return rgba[:count]


def read_sog(folder: str | Path) -> GaussianScene:
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("version") != 2:
        raise ValueError(f"{folder}: only SOG version 2 is read here, got {meta.get('version')!r}")
    n = int(meta["count"])
    lo, hi = (_pixels(folder, f, n).astype(np.uint32) for f in meta["means"]["files"])
    q16 = (hi[:, :3] << 8) | lo[:, :3]
    mins, maxs = np.array(meta["means"]["mins"]), np.array(meta["means"]["maxs"])
    v = mins + (maxs - mins) * (q16 / 65535.0)
    positions = np.sign(v) * (np.exp(np.abs(v)) - 1.0)
    scales = np.array(meta["scales"]["codebook"])[_pixels(folder, meta["scales"]["files"][0], n)[:, :3]]
    sh0 = _pixels(folder, meta["sh0"]["files"][0], n)
    colors = np.clip(0.5 + np.array(meta["sh0"]["codebook"])[sh0[:, :3]] * SH_C0, 0.0, 1.0)
    opacities = np.clip(sh0[:, 3] / 255.0, 1e-4, 1 - 1e-4)
    qp = _pixels(folder, meta["quats"]["files"][0], n).astype(np.float64)
    abc = (qp[:, :3] / 255.0 - 0.5) * 2.0 / np.sqrt(2.0)
    d = np.sqrt(np.maximum(0.0, 1.0 - (abc ** 2).sum(1)))
    mode = qp[:, 3].astype(int) - 252
    if np.any((mode < 0) | (mode > 3)):
        raise ValueError(f"{folder}: invalid quaternion mode in quats")
    q = np.empty((n, 4))
    for m in range(4):  # (w, x, y, z) with the omitted component at index m
        sel = mode == m
        others = [i for i in range(4) if i != m]
        q[sel, m] = d[sel]
        q[np.ix_(sel, others)] = abc[sel]
    # file frame (+Y down) -> scene frame, as rtgs2.ply: positions (x, -y, z), quaternions (w, -x, y, -z)
    positions = positions * np.array([1.0, -1.0, 1.0])
    q = q * np.array([1.0, -1.0, 1.0, -1.0])
    return GaussianScene(positions, colors, opacities, scales, q, meta={"source": str(folder)})
