#!/usr/bin/env python3
"""Writes the tiny Gaussian-encoder fixture the runtime's specs run (test/fixtures/encoder/):

    tiny-encoder.onnx         the "tiny" config (rtgs2.encoder.train.CONFIGS), K = 16, randomly initialised with a fixed
                              seed (the specs check the runtime computes what Python computes, not what it means), fp32
    tiny-scene.f32            a crop of a generated room: count x 10 float32 channels (contract 2), little-endian
    tiny-expected.f32         Python onnxruntime's output for that scene: count x K float32
    tiny-encoder.json         count, K, files, SHA-256 of each file, and the PyTorch / onnxruntime parity measured here

    python3 factory/scripts/make_encoder_fixture.py [--out test/fixtures/encoder]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

FACTORY = Path(__file__).resolve().parents[1]
if str(FACTORY) not in sys.path:
    sys.path.insert(0, str(FACTORY))

from rtgs2.encoder.export import export_onnx, parity, run_onnx  # noqa: E402
from rtgs2.encoder.model import GaussianEncoder  # noqa: E402
from rtgs2.encoder.train import CONFIGS, synthetic_room  # noqa: E402

DEFAULT_OUT = FACTORY.parent / "test/fixtures/encoder"
SCENE_GAUSSIANS = 1500
WEIGHT_SEED = 5


def fixture_scene() -> np.ndarray:
    """1,500 Gaussians: a corner of a generated room (floor, two walls, part of a box), so patches and pooling
    levels are all exercised."""
    channels = synthetic_room(424242, gaussians_per_m2=400.0).input_channels()
    corner = np.all(channels[:, [0, 2]] < 1.6, axis=1)
    picked = np.flatnonzero(corner)
    rng = np.random.default_rng(7)
    picked = np.sort(rng.choice(picked, size=min(SCENE_GAUSSIANS, len(picked)), replace=False))
    return channels[picked]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    torch.manual_seed(WEIGHT_SEED)
    model = GaussianEncoder(CONFIGS["tiny"]).eval()
    scene = fixture_scene()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "tiny-encoder.onnx"
    data = export_onnx(model, onnx_path, scene, extra_metadata={"note": "test fixture: random weights (seed 5)"})
    expected = run_onnx(data, scene, model.config).astype("<f4")
    (args.out / "tiny-scene.f32").write_bytes(scene.astype("<f4").tobytes())
    (args.out / "tiny-expected.f32").write_bytes(expected.tobytes())
    files = ["tiny-encoder.onnx", "tiny-scene.f32", "tiny-expected.f32"]
    manifest = {
        "count": len(scene), "k": int(expected.shape[1]),
        "model": "tiny-encoder.onnx", "scene": "tiny-scene.f32", "expected": "tiny-expected.f32",
        "sha256": {f: hashlib.sha256((args.out / f).read_bytes()).hexdigest() for f in files},
        "parity_torch_vs_onnxruntime": parity(model, data, scene),
        "writtenBy": "factory/scripts/make_encoder_fixture.py",
    }
    (args.out / "tiny-encoder.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({f: (args.out / f).stat().st_size for f in files + ["tiny-encoder.json"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
