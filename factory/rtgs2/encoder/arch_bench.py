"""How fast could another encoder architecture be? (issue 17's 5 us a Gaussian; BENCHMARKS.md, "Encoder
architectures: speed only").

Each variant of EncoderConfig is built with untrained weights (seeded), exported to ONNX like the shipped file
(export_onnx), and timed in onnxruntime's CPU provider on the same scene: the first call of a fresh session (what a
tiled encode pays per tile: its arena starts empty) and the best of the later calls. Only speed is measured here: a
variant's features are worth nothing until it is trained (rtgs2.encoder.train) and VDVI is retrained on them, so a
row says what a retraining could buy, not what it would cost in accuracy.

    cd factory && python3 -m rtgs2.encoder.arch_bench [--scene ../demo/scenes/showcase/showcase.ply] [--copies 12]
        [--threads 2] [--repeats 3] [--variants shipped,narrow,...] [--int8] [--concurrent 2]
    cd factory && python3 -m rtgs2.encoder.arch_bench --int8-fidelity ../models/gaussian-encoder-k16.onnx
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
    "l0-free": (TRAIN_CONFIGS["fast-l0-free"], "no attention block at level 0 (train.py's config fast-l0-free)"),
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


def time_variant(config: EncoderConfig, channels: np.ndarray, threads: int, repeats: int, int8: bool = False,
                 concurrent: int = 1) -> dict:
    """`int8`: the exported file through onnxruntime's dynamic quantization (MatMul and Gemm weights in int8,
    activations quantized per call) before timing it. `concurrent` > 1: that many sessions of threads / concurrent
    intra-op threads each run the call at the same time (two tiles at once instead of one tile on both threads);
    the times are then the wall time of the round divided by `concurrent`, the throughput per call."""
    import threading

    import onnxruntime as ort

    torch.manual_seed(0)
    model = GaussianEncoder(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "encoder.onnx"
        export_onnx(model, path, channels[:4096])
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(tmp) / "encoder-int8.onnx"
            quantize_dynamic(path, quantized, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
            path = quantized
        size = path.stat().st_size
        feeds = serialize_scene(channels, config.serialization).feeds()
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads // concurrent)
        options.enable_mem_pattern = False  # as the encode command runs it
        sessions = [ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]) for _ in range(concurrent)]
        inputs = {i.name: feeds[i.name] for i in sessions[0].get_inputs()}
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            if concurrent == 1:
                sessions[0].run(None, inputs)
            else:  # onnxruntime releases the GIL while it runs
                workers = [threading.Thread(target=s.run, args=(None, inputs)) for s in sessions]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
            times.append((time.perf_counter() - start) / concurrent)
    n = len(channels)
    return {"parameters": sum(p.numel() for p in model.parameters()), "bytes": size,
            "voxels_l0": int(feeds["voxel_features"].shape[0]), "first_us": times[0] / n * 1e6,
            "best_us": min(times[1:]) / n * 1e6}


def int8_fidelity(model_path: Path, rooms: list[tuple[int, bool]]) -> list[dict]:
    """Per-Gaussian cosine between an exported fp32 encoder's features and those of the same file after dynamic int8
    quantization (as --int8 times it), on generated rooms through the runtime's frame path: (seed, realistic)."""
    import json

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .distill import room_input
    from .export import run_onnx

    props = {p.key: p.value for p in onnx.load(str(model_path), load_external_data=False).metadata_props}
    config = EncoderConfig.from_json(json.loads(props["encoder_config"]))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        quantized = Path(tmp) / "encoder-int8.onnx"
        quantize_dynamic(model_path, quantized, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
        for seed, realistic in rooms:
            channels = room_input(seed, realistic)
            a, b = run_onnx(model_path, channels, config), run_onnx(quantized, channels, config)
            cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
            results.append({"seed": seed, "realistic": realistic, "gaussians": len(channels), "mean": float(cos.mean()),
                            "p1": float(np.quantile(cos, 0.01)), "min": float(cos.min())})
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", type=Path, default=Path(__file__).resolve().parents[3] / "demo/scenes/showcase/showcase.ply")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--int8", action="store_true", help="also time each variant after dynamic int8 quantization")
    parser.add_argument("--concurrent", type=int, default=1,
                        help="also time N calls at once, each with threads / N threads (per-call throughput)")
    parser.add_argument("--int8-fidelity", type=Path, metavar="ENCODER.onnx",
                        help="instead: how far dynamic int8 quantization moves this exported encoder's features "
                             "(validation-seed rooms 2000-2003, two of them realistic)")
    args = parser.parse_args(argv)
    if args.int8_fidelity:
        print("| room | Gaussians | mean cosine fp32 vs int8 | 1st percentile | worst |\n|---|---:|---:|---:|---:|")
        for r in int8_fidelity(args.int8_fidelity, [(2000, False), (2001, True), (2002, False), (2003, True)]):
            print(f"| {r['seed']}{' (realistic)' if r['realistic'] else ''} | {r['gaussians']:,} | {r['mean']:.4f} | "
                  f"{r['p1']:.4f} | {r['min']:.4f} |", flush=True)
        return 0
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
        modes = [(False, 1)] + ([(True, 1)] if args.int8 else []) + ([(False, args.concurrent)] if args.concurrent > 1 else [])
        for int8, concurrent in modes:
            r = time_variant(config, channels, args.threads, args.repeats, int8=int8, concurrent=concurrent)
            if name == "shipped" and not int8 and concurrent == 1:
                base = r["best_us"]
            ratio = f"{r['best_us'] / base:.2f}" if base else ""
            label, change = name, what
            if int8:
                label, change = f"{name}, int8", f"{what}; MatMul/Gemm in int8 (dynamic quantization)"
            if concurrent > 1:
                label = f"{name}, {concurrent} calls at once"
                change = f"{what}; {concurrent} sessions of {max(1, args.threads // concurrent)} thread(s) run the call together (time per call)"
            print(f"| {label} | {change} | {r['parameters']:,} | {r['bytes'] / 1e6:.1f} | {r['voxels_l0']:,} | "
                  f"{r['first_us']:.2f} | {r['best_us']:.2f} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
