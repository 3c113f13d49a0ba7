"""How fast could another encoder architecture be? (issue 17's 5 us a Gaussian; BENCHMARKS.md, "Encoder
architectures: speed only").

Each variant of EncoderConfig is built with untrained weights (seeded), exported to ONNX like the shipped file
(export_onnx), and timed in onnxruntime's CPU provider on the same scene: the first call of a fresh session (what a
tiled encode pays per tile: its arena starts empty) and the best of the later calls. Only speed is measured here: a
variant's features are worth nothing until it is trained (rtgs2.encoder.train) and VDVI is retrained on them, so a
row says what a retraining could buy, not what it would cost in accuracy.

    cd factory && python3 -m rtgs2.encoder.arch_bench [--scene ../demo/scenes/showcase/showcase.ply] [--copies 12]
        [--threads 2] [--repeats 3] [--variants shipped,narrow,...]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..ply import read_ply
from .export import export_onnx
from .model import EncoderConfig, GaussianEncoder
from .serialization import serialize_scene
from .train import CONFIGS as TRAIN_CONFIGS

SHIPPED = EncoderConfig()


def _variant(**changes) -> EncoderConfig:
    serialization = changes.pop("serialization", {})
    return dataclasses.replace(SHIPPED, serialization=dataclasses.replace(SHIPPED.serialization, **serialization), **changes)


# name -> (config, what changes against the shipped encoder)
VARIANTS: dict[str, tuple[EncoderConfig, str]] = {
    "shipped": (SHIPPED, "channels 48/96/192, blocks 1/1/2 + 1/1, MLP x2, patch 64, grid 5 cm"),
    "narrow": (_variant(channels=(32, 64, 128), heads=(1, 2, 4)), "channels 32/64/128 (head dim 32)"),
    "mlp1": (_variant(mlp_ratio=1.0), "MLP ratio 1"),
    "patch32": (_variant(serialization={"patch_size": 32}), "patches of 32 voxels"),
    "no-l0-decoder": (_variant(decoder_blocks=(1, 0)), "no attention block after the last unpooling (level 0)"),
    "grid7.5": (TRAIN_CONFIGS["fast-grid7.5"], "level-0 voxels of 7.5 cm (train.py's config fast-grid7.5)"),
    "grid10": (_variant(serialization={"grid_size": 0.10}), "level-0 voxels of 10 cm"),
    "narrow+no-l0-decoder": (TRAIN_CONFIGS["fast-narrow"], "both (train.py's config fast-narrow)"),
    "grid7.5+narrow": (_variant(channels=(32, 64, 128), heads=(1, 2, 4), serialization={"grid_size": 0.075}),
                       "7.5 cm voxels, channels 32/64/128"),
}


def scene_channels(path: Path, copies: int) -> np.ndarray:
    """The scene's 10 input channels, `copies` times side by side along x (as scripts/make-big-scene.mjs does)."""
    channels = read_ply(path).input_channels().astype(np.float32)
    step = channels[:, 0].max() - channels[:, 0].min() + 1.0
    shift = np.zeros(10, np.float32)
    parts = []
    for i in range(copies):
        shift[0] = i * step
        parts.append(channels + shift)
    return np.concatenate(parts)


def time_variant(config: EncoderConfig, channels: np.ndarray, threads: int, repeats: int) -> dict:
    import onnxruntime as ort

    torch.manual_seed(0)
    model = GaussianEncoder(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "encoder.onnx"
        export_onnx(model, path, channels[:4096])
        size = path.stat().st_size
        feeds = serialize_scene(channels, config.serialization).feeds()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.enable_mem_pattern = False  # as the encode command runs it
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = {i.name: feeds[i.name] for i in session.get_inputs()}
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            session.run(None, inputs)
            times.append(time.perf_counter() - start)
    n = len(channels)
    return {"parameters": sum(p.numel() for p in model.parameters()), "bytes": size,
            "voxels_l0": int(feeds["voxel_features"].shape[0]), "first_us": times[0] / n * 1e6,
            "best_us": min(times[1:]) / n * 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", type=Path, default=Path(__file__).resolve().parents[3] / "demo/scenes/showcase/showcase.ply")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    torch.set_num_threads(args.threads)
    channels = scene_channels(args.scene, args.copies)
    print(f"Scene: {args.scene.name} x {args.copies} = {len(channels):,} Gaussians; onnxruntime CPU, {args.threads} "
          f"threads; load average {os.getloadavg()[0]:.1f} at the start")
    print("Command: `python3 -m rtgs2.encoder.arch_bench " + " ".join(argv if argv is not None else sys.argv[1:]) + "`\n")
    print("| variant | what changes | parameters | ONNX MB | level-0 voxels | first call us / Gaussian | best later call us / Gaussian | best vs shipped |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    base = None
    for name in names:
        config, what = VARIANTS[name]
        r = time_variant(config, channels, args.threads, args.repeats)
        if name == "shipped":
            base = r["best_us"]
        ratio = f"{r['best_us'] / base:.2f}" if base else ""
        print(f"| {name} | {what} | {r['parameters']:,} | {r['bytes'] / 1e6:.1f} | {r['voxels_l0']:,} | "
              f"{r['first_us']:.2f} | {r['best_us']:.2f} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
