#!/usr/bin/env python3
"""Writes the shared serialization test vectors of the Gaussian encoder (test/fixtures/encoder/serialization-vectors.json).

Each case: an (N, 10) float32 input (as uint32 bit patterns, so NaN and Inf survive JSON), a serialization config,
and either every output of rtgs2.encoder.serialization (voxel features as float32 bit patterns, so equality is
bit-for-bit) or the error code and a message fragment. test/encoder/serialization.spec.ts runs
src/encoder/serialization.ts on the same inputs and demands identical outputs; factory/tests checks that the
committed file is what the current Python code writes.

    python3 factory/scripts/make_encoder_vectors.py [--out test/fixtures/encoder/serialization-vectors.json]
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

from rtgs2.encoder.serialization import SerializationConfig, SerializationError, serialize_scene  # noqa: E402

DEFAULT_OUT = FACTORY.parent / "test/fixtures/encoder/serialization-vectors.json"


def _bits(a: np.ndarray) -> list[int]:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).ravel().tolist()


def _channels(positions, seed: int) -> np.ndarray:
    positions = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    n = len(positions)
    rest = np.concatenate([rng.uniform(0, 1, (n, 3)), rng.uniform(0, 1, (n, 1)), rng.normal(-4, 1.5, (n, 3))], 1)
    return np.concatenate([positions, rest.astype(np.float32)], 1)


def _cases() -> list[tuple[str, np.ndarray, SerializationConfig]]:
    rng = np.random.default_rng(2026)
    room = rng.uniform([0, 0, 0], [4.0, 2.6, 3.2], (400, 3))
    room[:120, 1] = rng.uniform(0, 0.02, 120)  # a floor: many Gaussians per voxel
    ties = [[0.01, 0.01, 0.01]] * 3 + [[0.02, 0.03, 0.04], [0.07, 0.01, 0.01], [0.07, 0.01, 0.01], [0.0, 0.0, 0.0]]
    # values whose float32 quotient by the grid lands just above or below an integer
    boundaries = [[0.0, 0.0, 0.0], [0.15, 0.3, 0.45], [0.05, 0.1, 0.35], [0.7, 0.6, 0.25], [0.1 + 2e-8, 0.2, 0.3]]
    huge_negative = np.array([-512345.5, 204800.25, -1000.0]) + rng.uniform(0, 6.0, (60, 3))
    widest = [[0.0, 0.0, 0.0], [65535.5, 1.0, 2.0], [3.0, 65535.0, 4.0]]  # exactly 65536 voxels of 1 m
    small = SerializationConfig(grid_size=0.05, patch_size=4, levels=2, orders=("xyz", "zyx"))
    cases = [
        ("ties", _channels(ties, 1), small),
        ("one-point", _channels([[1.5, -2.0, 3.25]], 2), SerializationConfig(patch_size=8, levels=3)),
        ("float32-boundaries", _channels(boundaries, 3), small),
        ("huge-negative-coordinates", _channels(huge_negative, 4), SerializationConfig(grid_size=0.25, patch_size=8, levels=3)),
        ("widest-extent", _channels(widest, 5), SerializationConfig(grid_size=1.0, patch_size=2, levels=2)),
        ("room", _channels(room, 6), SerializationConfig(grid_size=0.1, patch_size=16, levels=3)),
    ]
    transparent = _channels(ties, 7)
    transparent[:, 6] = 0.0  # opacity 0 everywhere: the weights stay positive
    cases.append(("transparent", transparent, small))
    nan_position = _channels(ties, 8)
    nan_position[4, 1] = np.nan
    inf_colour = _channels(ties, 9)
    inf_colour[2, 4] = -np.inf
    cases += [
        ("error-empty", np.zeros((0, 10), np.float32), small),
        ("error-nan-position", nan_position, small),
        ("error-inf-colour", inf_colour, small),
        ("error-extent-overflow", _channels([[0, 0, 0], [1, 2, 3], [1, 65536.0, 3]], 10), SerializationConfig(grid_size=1.0)),
        ("error-grid-size", _channels(ties, 11), SerializationConfig(grid_size=-0.05)),
    ]
    return cases


def _expected(channels: np.ndarray, config: SerializationConfig) -> dict:
    try:
        s = serialize_scene(channels, config)
    except SerializationError as e:
        # the part of the message both languages word identically (numbers printed as integers only)
        message = str(e)
        fragment = message[message.index("along"):message.index(" voxels") + 7] if "spans" in message else message.split(";")[0]
        return {"error": {"code": e.code, "message": fragment}}
    levels = []
    for l, lv in enumerate(s.levels):
        entry = {"count": len(lv.coords), "coords": lv.coords.ravel().tolist(),
                 "orders": lv.orders.tolist(), "inverses": lv.inverses.tolist()}
        if l > 0:
            entry["pool"] = lv.pool.ravel().tolist()
            entry["unpool"] = lv.unpool.tolist()
        levels.append(entry)
    return {"sceneMinBits": _bits(s.scene_min), "gaussianVoxel": s.gaussian_voxel.tolist(),
            "voxelFeatureBits": _bits(s.voxel_features), "levels": levels}


def build_vectors() -> dict:
    cases = []
    for name, channels, config in _cases():
        cases.append({
            "name": name,
            "count": len(channels),
            "channelBits": _bits(channels),
            "config": {"gridSize": config.grid_size, "patchSize": config.patch_size, "levels": config.levels,
                       "orders": list(config.orders)},
            **_expected(channels, config),
        })
    return {"format": "rtgs2-encoder-serialization-vectors", "version": 1,
            "writtenBy": "factory/scripts/make_encoder_vectors.py", "cases": cases}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    vectors = build_vectors()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(vectors, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {len(vectors['cases'])} cases, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
