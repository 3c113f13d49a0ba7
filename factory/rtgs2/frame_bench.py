"""Scene-frame benchmark (issue 13): the estimator (rtgs2.frame, twin of the runtime's src/frame) on SynthRooms rooms
of seeds outside every split and outside the dev seeds its weights were chosen on, each under random similarities
(one per kind: a uniform rotation, Z-up, Y-down, a 2-20 degree tilt; scales log-uniform in 0.01-100; a random shift),
and on the playbot object capture (../shared/assets/splats/playbot-lod0, SOG v2), which must get a low confidence.

    cd factory && python3 -m rtgs2.frame_bench --rooms 60 [--first-seed 9100] [--realism realistic]
        [--drop-ceiling [ABOVE_M]] [--out results.json]

--drop-ceiling removes the ceiling's Gaussians (and, given a height, every Gaussian above it: walls scanned only
that high), as RGB-D scans of rooms often come: a known weak spot of the estimator (docs/FRAME.md).

Targets (issue 13): up within 3 degrees in >= 95 % of cases, metres per unit within 10 % in >= 90 %, floor within
5 cm (true metres) in the rest of the targets' spirit; failures are reported by kind. Results: BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from . import frame as F
from .classes import class_id

# Splits: train 1000-1059, val 2000-2009, test 3000-3019, realistic 6000-6019, showcase 7780; the estimator's
# weights were chosen on 9000-9059 (dev), and the shared test vectors use 9050-9052. The benchmark starts at 9100.
DEFAULT_FIRST_SEED = 9100
UP_DEG, SCALE_REL, FLOOR_M = 3.0, 0.10, 0.05


def evaluate_case(g, rotation, scale, translation, seed: int = 0) -> dict:
    """One room under x -> scale R x + t: the estimate and its errors against the truth."""
    xyz, ls, q = F.transform_gaussians(rotation, scale, g.positions, g.log_scales, g.rotations, translation)
    t0 = time.perf_counter()
    frame = F.estimate_scene_frame(xyz, ls, q, g.opacities, seed=seed)
    ms = (time.perf_counter() - t0) * 1000
    up_true = rotation @ np.array([0.0, 1.0, 0.0])
    up_err = float(np.degrees(np.arccos(np.clip(up_true @ frame.rotation[1], -1.0, 1.0))))
    ratio = float(frame.metres_per_unit * scale)  # estimated metres / true metres
    out_xyz, _, _ = F.apply_scene_frame(frame, xyz, ls, q)
    floor = g.labels == class_id("floor")
    floor_est = float(np.median(out_xyz[floor, 1])) if floor.any() else float("nan")
    # the floor in the canonical room is at y = 0 (SynthRooms); the estimate's floor, in true metres
    floor_err = abs(floor_est) / ratio if ratio > 0 else float("inf")
    kind = "ok"
    if frame.fallback:
        kind = "fallback"
    elif up_err > 30:
        kind = "wrong up axis"
    elif up_err > UP_DEG:
        kind = "tilt left over"
    elif abs(ratio - 1) > SCALE_REL:
        kind = "scale off"
    elif not floor_err <= FLOOR_M:
        kind = "floor off"
    return {"up_error_deg": up_err, "scale_ratio": ratio, "floor_error_m": floor_err, "confidence": frame.confidence,
            "fallback": frame.fallback, "ms": ms, "kind": kind}


def without_ceiling(g, above_m: float | None = None):
    """The room's Gaussians without its ceiling (and without everything above `above_m` metres, when given)."""
    keep = g.labels != class_id("ceiling")
    if above_m is not None:
        keep &= g.positions[:, 1] < above_m
    return g.subset(keep)


def run(rooms: int, first_seed: int, playbot: bool = True, realism: str | None = None,
        drop_ceiling: bool = False, ceiling_cut_m: float | None = None) -> dict:
    """`realism` (None: clean rooms, the issue's protocol): "realistic" or "random" rooms of the SynthRooms realism
    switches (scanner-like surface points, floaters, clutter, more room shapes), closer to real captures.
    `drop_ceiling`: the rooms without their ceilings (and above `ceiling_cut_m`, when given)."""
    from .synthrooms.generator import generate_room

    cases = []
    for seed in range(first_seed, first_seed + rooms):
        room = generate_room(seed) if realism is None else generate_room(seed, realism=realism, shapes=True)
        g = without_ceiling(room.gaussians, ceiling_cut_m) if drop_ceiling else room.gaussians
        rng = np.random.default_rng([seed, 113])
        for kind in F.RANDOM_KINDS:
            rot, scale = F.random_similarity(rng, kind)
            shift = rng.normal(size=3) * 5 * scale
            r = evaluate_case(g, rot, scale, shift)
            r.update({"seed": seed, "transform": kind, "scale": scale, "height_m": float(room.spec.height)
                      if hasattr(room, "spec") and hasattr(room.spec, "height") else None})
            cases.append(r)
            print(f"room {seed} {kind:7s} up {r['up_error_deg']:6.2f} deg  scale x{r['scale_ratio']:.3f}  "
                  f"floor {100 * r['floor_error_m']:5.1f} cm  conf {r['confidence']:.2f}  {r['kind']}", flush=True)
    n = len(cases)
    summary = {
        "rooms": rooms, "realism": realism, "dropCeiling": drop_ceiling, "ceilingCutMetres": ceiling_cut_m, "cases": n, "seeds": [first_seed, first_seed + rooms - 1],
        "up_within_3deg": sum(c["up_error_deg"] <= UP_DEG for c in cases) / n,
        "scale_within_10pct": sum(abs(c["scale_ratio"] - 1) <= SCALE_REL for c in cases) / n,
        "floor_within_5cm": sum(c["floor_error_m"] <= FLOOR_M for c in cases) / n,
        "all_within_targets": sum(c["kind"] == "ok" for c in cases) / n,
        "failures_by_kind": dict(Counter(c["kind"] for c in cases if c["kind"] != "ok")),
        "by_transform": {k: {"up_within_3deg": float(np.mean([c["up_error_deg"] <= UP_DEG for c in cases if c["transform"] == k])),
                             "scale_within_10pct": float(np.mean([abs(c["scale_ratio"] - 1) <= SCALE_REL for c in cases if c["transform"] == k]))}
                         for k in F.RANDOM_KINDS},
        "median_up_error_deg": float(np.median([c["up_error_deg"] for c in cases])),
        "median_scale_error_pct": float(100 * np.median([abs(c["scale_ratio"] - 1) for c in cases])),
        "median_floor_error_cm": float(100 * np.median([c["floor_error_m"] for c in cases])),
        "min_confidence_ok": float(min((c["confidence"] for c in cases if c["kind"] == "ok"), default=0.0)),
        # estimates outside the targets that still claim more than a no-ceiling estimate's capped confidence
        "confident_failures": sum(c["kind"] not in ("ok", "fallback") and c["confidence"] > F.NO_CEILING_CONFIDENCE
                                  for c in cases),
        "median_ms_python": float(np.median([c["ms"] for c in cases])),
    }
    result = {"summary": summary, "cases": cases}
    if playbot:
        result["playbot"] = playbot_case()
    return result


def playbot_case() -> dict:
    """The playbot object capture as shipped and under two random similarities: confidence and fallback."""
    from .synthrooms.gltf import assets_dir
    from .sog import read_sog

    folder = assets_dir() / "splats" / "playbot-lod0"
    if not (folder / "meta.json").is_file():
        return {"skipped": f"{folder} has no meta.json"}
    s = read_sog(folder)
    rng = np.random.default_rng(5)
    out = []
    for kind in ("identity", "uniform", "z-up"):
        rot, scale = (np.eye(3), 1.0) if kind == "identity" else F.random_similarity(rng, kind)
        xyz, ls, q = F.transform_gaussians(rot, scale, s.positions, s.log_scales, s.rotations)
        t0 = time.perf_counter()
        frame = F.estimate_scene_frame(xyz, ls, q, s.opacities)
        out.append({"transform": kind, "confidence": frame.confidence, "fallback": frame.fallback,
                    "reason": frame.evidence.get("fallbackReason"), "ms": (time.perf_counter() - t0) * 1000,
                    "gaussians": int(len(s.positions))})
        print(f"playbot {kind}: confidence {frame.confidence:.2f}, fallback {frame.fallback} "
              f"({frame.evidence.get('fallbackReason')})", flush=True)
    return {"cases": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rooms", type=int, default=60)
    ap.add_argument("--first-seed", type=int, default=DEFAULT_FIRST_SEED)
    ap.add_argument("--no-playbot", action="store_true")
    ap.add_argument("--realism", choices=("realistic", "random"), default=None,
                    help="rooms with the SynthRooms realism switches (and room shapes) instead of clean ones")
    ap.add_argument("--drop-ceiling", nargs="?", type=float, const=float("inf"), default=None, metavar="ABOVE_M",
                    help="remove the ceiling's Gaussians (and, given a height in metres, everything above it)")
    ap.add_argument("--out", type=Path, default=None, help="write the full results as JSON")
    args = ap.parse_args()
    if args.rooms < 1:
        raise SystemExit("--rooms must be >= 1")
    drop = args.drop_ceiling is not None
    if drop and not args.drop_ceiling > 0:
        raise SystemExit(f"--drop-ceiling ABOVE_M must be a height in metres > 0, got {args.drop_ceiling}")
    cut = args.drop_ceiling if drop and np.isfinite(args.drop_ceiling) else None
    result = run(args.rooms, args.first_seed, not args.no_playbot, args.realism, drop, cut)
    print(json.dumps(result["summary"], indent=1))
    if "playbot" in result:
        print(json.dumps(result["playbot"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
