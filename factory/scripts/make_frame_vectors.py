#!/usr/bin/env python3
"""Writes the shared scene-frame test vectors (test/fixtures/frame/): a SynthRooms room, thinned, under a few
random similarities, with what rtgs2.frame.estimate_scene_frame says for each. test/frame/frameVectors.test.mjs
runs src/frame (the TypeScript twin) on the same inputs and demands agreement within the tolerance of
docs/FRAME.md; factory/tests/test_frame_vectors.py checks that the committed file is what the current Python
code says.

    python3 factory/scripts/make_frame_vectors.py [--out test/fixtures/frame]

Files: gaussians.f32 (float32 rows as vectors.json "layout" names them), vectors.json (cases and expected frames;
each case's input is the room moved by x -> scale * R x + t in float64, rounded to float32, as
rtgs2.frame.transform_gaussians does), and two small 3DGS PLY files of one more thinned room for the runtime's
end-to-end tests: room-canonical.ply (metres, +Y up) and room-zup-cm.ply (the same Gaussians Z-up, in
centimetres, shifted), which the encode command and the worker must put in the same frame.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FACTORY = Path(__file__).resolve().parents[1]
if str(FACTORY) not in sys.path:
    sys.path.insert(0, str(FACTORY))

from rtgs2 import frame as F  # noqa: E402
from rtgs2.classes import class_id  # noqa: E402
from rtgs2.gaussians import GaussianScene  # noqa: E402
from rtgs2.ply import write_ply  # noqa: E402
from rtgs2.synthrooms.generator import generate_room  # noqa: E402

DEFAULT_OUT = FACTORY.parent / "test/fixtures/frame"
# (seed outside every split, keep every n-th Gaussian, realism, ceiling kept, cut above this height in metres): two
# clean rooms (flat Gaussians), one of the realistic split's recipe with a scanner's round splats (even seed), which
# takes the local-surfaces path, a clean room without its ceiling (as RGB-D scans often come: the scale is then a
# unit guess, docs/FRAME.md), and one without its ceiling and cut at 2.2 m whose floor axis loses to a wall axis on
# the scores and is taken as up by the short-open-axis rule
ROOMS = ((9050, 40, None, True, None), (9051, 50, None, True, None), (9054, 2, "realistic", True, None), (9053, 40, None, False, None),
         (9004, 30, None, False, 2.2))
PLY_ROOM = (9052, 30)
ZUP = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # +Y -> +Z (a rotation, det +1)
LAYOUT = ["x", "y", "z", "log_scale_0", "log_scale_1", "log_scale_2", "rot_w", "rot_x", "rot_y", "rot_z", "opacity"]
# Tolerance between the twins (docs/FRAME.md): same fallback decision, up within 0.5 degrees, metres per unit
# within 1 %, floor within 1 cm, confidence within 0.05.
TOLERANCE = {"upDeg": 0.5, "scaleRel": 0.01, "floorM": 0.01, "confidence": 0.05}


def room_rows(seed: int, step: int, realism: str | None = None, ceiling: bool = True, cut_m: float | None = None) -> np.ndarray:
    g = (generate_room(seed) if realism is None else generate_room(seed, realism=realism, shapes=True)).gaussians
    keep = np.ones(len(g.positions), bool) if ceiling else g.labels != class_id("ceiling")
    if cut_m is not None:
        keep &= g.positions[:, 1] <= cut_m
    kept = np.nonzero(keep)[0]
    idx = kept[::step]
    return np.concatenate([g.positions[idx], g.log_scales[idx], g.rotations[idx], g.opacities[idx, None]], 1).astype(np.float32)


def case_input(rows: np.ndarray, rotation, scale, translation):
    xyz, ls, q = F.transform_gaussians(np.asarray(rotation).reshape(3, 3), scale, rows[:, 0:3], rows[:, 3:6], rows[:, 6:10],
                                       np.asarray(translation))
    return xyz, ls, q, rows[:, 10]


def build() -> tuple[np.ndarray, dict]:
    blocks, cases, offset = [], [], 0
    for seed, step, realism, ceiling, cut_m in ROOMS:
        rows = room_rows(seed, step, realism, ceiling, cut_m)
        rng = np.random.default_rng([seed, 13])
        for kind in ("identity",) + F.RANDOM_KINDS:
            if kind == "identity":
                rot, scale = np.eye(3), 1.0
            else:
                rot, scale = F.random_similarity(rng, kind)
            translation = (rng.normal(size=3) * 3 * scale).tolist()
            frame = F.estimate_scene_frame(*case_input(rows, rot, scale, translation))
            cases.append({"room": seed, "realism": realism, "ceiling": ceiling, **({"cutAboveMetres": cut_m} if cut_m else {}),
                          "kind": kind, "rowOffset": offset, "count": len(rows),
                          "rotation": [float(v) for v in np.asarray(rot).reshape(-1)], "scale": float(scale),
                          "translation": [float(v) for v in translation],
                          "expected": {k: v for k, v in frame.to_json().items() if k != "evidence"}})
        blocks.append(rows)
        offset += len(rows)
    return np.concatenate(blocks), {"layout": LAYOUT, "tolerance": TOLERANCE, "cases": cases}


def write_ply_pair(out: Path) -> None:
    seed, step = PLY_ROOM
    g = generate_room(seed).gaussians
    idx = np.arange(0, len(g.positions), step)
    canonical = GaussianScene(g.positions[idx], g.colors[idx], g.opacities[idx], g.log_scales[idx], g.rotations[idx])
    write_ply(out / "room-canonical.ply", canonical)
    xyz, ls, q = F.transform_gaussians(ZUP, 100.0, canonical.positions, canonical.log_scales, canonical.rotations,
                                       np.array([120.0, -40.0, 75.0]))
    write_ply(out / "room-zup-cm.ply", GaussianScene(xyz, canonical.colors, canonical.opacities, ls, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    rows, spec = build()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gaussians.f32").write_bytes(rows.astype("<f4").tobytes())
    (args.out / "vectors.json").write_text(json.dumps(spec, indent=1) + "\n")
    write_ply_pair(args.out)
    print(f"wrote {args.out}: {len(rows)} Gaussians, {len(spec['cases'])} cases")


if __name__ == "__main__":
    main()
