"""Quick visual check of a SynthRooms room: a perspective point-splat (rgb | labels) and a top-down view, as PNG.

Not the reference renderer (rtgs2.render): discs of the Gaussians' projected size, painted far to near, enough to
see whether a room looks like a room.

    cd factory && python3 scripts/preview_room.py 3 --out /tmp/room3.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtgs2.camera import Camera  # noqa: E402
from rtgs2.classes import NONE, class_colors  # noqa: E402
from rtgs2.synthrooms.generator import generate_room  # noqa: E402


def splat(scene, camera: Camera, values: np.ndarray, background=(0, 0, 0)) -> np.ndarray:
    """(H, W, 3) uint8: each Gaussian as a disc of radius ~ its largest std projected, nearest on top; low-opacity
    Gaussians skipped."""
    u, v, z = camera.project(scene.positions.astype(np.float64))
    radius = 1.5 * np.exp(scene.log_scales.max(axis=1)) * camera.fx / np.maximum(z, 1e-6)
    ok = (z > 0.05) & (scene.opacities > 0.3) & (u > -20) & (u < camera.width + 20) & (v > -20) & (v < camera.height + 20)
    order = np.flatnonzero(ok)[np.argsort(-z[ok], kind="stable")]
    img = np.zeros((camera.height, camera.width, 3), dtype=np.uint8)
    img[:] = background
    r = np.clip(np.rint(radius[order]), 1, 12).astype(int)
    ui, vi = np.floor(u[order]).astype(int), np.floor(v[order]).astype(int)
    vals = values[order]
    # Paint one offset at a time, far to near within each offset pass; then a final pass of centres keeps the
    # nearest surface on top well enough for a preview.
    zbuf = np.full((camera.height, camera.width), np.inf)
    zs = z[order]
    for dy in range(-12, 13):
        for dx in range(-12, 13):
            sel = dx * dx + dy * dy <= r * r
            x, y = ui[sel] + dx, vi[sel] + dy
            inside = (x >= 0) & (x < camera.width) & (y >= 0) & (y < camera.height)
            x, y, zz, val = x[inside], y[inside], zs[sel][inside], vals[sel][inside]
            # keep the nearest per pixel: sort by depth descending, later writes win
            o = np.argsort(-zz, kind="stable")
            x, y, zz, val = x[o], y[o], zz[o], val[o]
            nearer = zz < zbuf[y, x]
            zbuf[y[nearer], x[nearer]] = zz[nearer]
            img[y[nearer], x[nearer]] = val[nearer]
    return img


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--out", type=Path, default=Path("/tmp/room.png"))
    ap.add_argument("--width", type=int, default=480)
    args = ap.parse_args(argv)
    room = generate_room(args.seed)
    g = room.gaussians
    w, h = args.width, args.width * 3 // 4
    lo, hi = room.bounds()
    # Eye in a corner region of the room, looking at the opposite side.
    poly = room.floor_polygon
    centre = poly.mean(axis=0)
    eye_xz = centre + 0.8 * (poly[0] - centre) * 0.8
    eye = np.array([eye_xz[0], 1.6, eye_xz[1]])
    target = np.array([centre[0] - 0.3 * (eye_xz[0] - centre[0]), 0.8, centre[1] - 0.3 * (eye_xz[1] - centre[1])])
    cam = Camera.look_at(eye, target, w, h, fov_y=np.deg2rad(75))
    rgb = splat(g, cam, np.clip(g.colors * 255, 0, 255).astype(np.uint8))
    colors = np.zeros((256, 3), dtype=np.uint8)
    colors[: len(class_colors())] = class_colors()
    colors[NONE] = (255, 0, 255)
    lab = splat(g, cam, colors[g.labels])
    # Top-down: ceiling removed, orthographic-ish from high above.
    keep = g.labels != 20
    top_scene = g.subset(keep)
    c3 = np.array([centre[0], 0.0, centre[1]])
    extent = 1.1 * (hi - lo)[[0, 2]].max()  # seen from 30 m up: nearly orthographic
    top_cam = Camera.look_at(c3 + [0, 30, 0], c3, w, h, fov_y=2 * np.arctan(0.5 * extent / 30), up=(0, 0, 1))
    top = splat(top_scene, top_cam, np.clip(top_scene.colors * 255, 0, 255).astype(np.uint8))
    out = np.concatenate([rgb, lab, top], axis=1)
    Image.fromarray(out).save(args.out)
    print(f"seed {args.seed} {room.room_type}: {len(g)} Gaussians, {len(room.furniture)} objects -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
