"""Distillation of the shipped Gaussian encoder into a faster one (issue 17's 5 us a Gaussian).

    python -m rtgs2.encoder.distill --teacher ../models/gaussian-encoder-k16.onnx --config fast-l0-free \
        --run runs/distill/l0-free --time-budget 900 [--rooms 24] [--export runs/distill/l0-free.onnx]

Why: a faster encoder architecture (rtgs2.encoder.arch_bench) normally means training the encoder and then VDVI on
its features, which needs the train rooms' rendered views and hours on a CPU. A student that reproduces the shipped
encoder's features closely enough would keep the shipped VDVI instead. No labels are needed: the target of every
Gaussian is the teacher's feature for the same input.

- Student: a `rtgs2.encoder.train` config (CONFIGS). Every parameter whose name and shape the teacher has starts
  from the teacher's value (a student that only drops blocks starts from the teacher minus those blocks); the rest
  starts from the seeded initialisation. The log says how many tensors were copied.
- Data: `generate_room` scenes of the train seeds (1000-1059), alternately clean and made by the realistic
  generator (the benchmark's REALISTIC_OPTIONS); validation on the validation seeds (2000-2009), one clean and one
  realistic room unless --val-rooms says otherwise. No test or realistic-split seed is ever read.
- Input: each room through the runtime's frame path (random similarity, scene-frame estimator, normalisation;
  rtgs2.random_frames) once, then per step the encoder training's real-capture variety (train.variety) unless
  --no-variety. Teacher and student see the same channels.
- Loss: 1 - cosine between the student's and the teacher's (unit-length) per-Gaussian features.
- Output in --run: best.pt (train.py's checkpoint layout, so `rtgs2.encoder.export --checkpoint` exports it) on the
  validation cosine, metrics.json (the validation history). --export writes the ONNX file of best.pt at the end.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .export import export_onnx, features_id, load_encoder
from .model import GaussianEncoder, feeds_to_torch
from .serialization import serialize_scene
from ..synthrooms.benchmark import REALISTIC_OPTIONS, TRAIN_SEEDS, VALIDATION_SEEDS
from .train import CONFIGS, variety


def student_from_teacher(teacher: GaussianEncoder, config) -> tuple[GaussianEncoder, int, int]:
    """A student of `config` with every tensor the teacher has under the same name and shape copied from it.
    Returns the student, the number of tensors copied and the student's tensor count."""
    torch.manual_seed(0)
    student = GaussianEncoder(config)
    source = teacher.state_dict()
    state = student.state_dict()
    copied = 0
    for name, tensor in state.items():
        if name in source and source[name].shape == tensor.shape:
            state[name] = source[name].clone()
            copied += 1
    student.load_state_dict(state)
    return student, copied, len(state)


def room_input(seed: int, realistic: bool, max_gaussians: int | None = None) -> np.ndarray:
    """A generated room's (N, 10) encoder input through the runtime's frame path."""
    from ..random_frames import framed_input_channels
    from ..synthrooms.generator import generate_room

    options = dict(REALISTIC_OPTIONS) if realistic else {}
    if max_gaussians is not None:
        options["max_gaussians"] = max_gaussians
    return framed_input_channels(generate_room(seed, **options).gaussians, seed)[0].astype(np.float32)


def cosines(student: GaussianEncoder, teacher: GaussianEncoder, channels: np.ndarray) -> torch.Tensor:
    """Per-Gaussian cosine of the student's feature to the teacher's on `channels` (both unit length)."""
    with torch.no_grad():
        target = teacher.forward_feeds(feeds_to_torch(serialize_scene(channels, teacher.config.serialization).feeds()))
    out = student.forward_feeds(feeds_to_torch(serialize_scene(channels, student.config.serialization).feeds()))
    return (out * target).sum(dim=1)


def validate(student: GaussianEncoder, teacher: GaussianEncoder, rooms: dict[str, np.ndarray]) -> dict:
    student.eval()
    with torch.no_grad():
        result = {}
        for name, channels in rooms.items():
            c = cosines(student, teacher, channels)
            result[name] = {"mean": float(c.mean()), "p10": float(c.quantile(0.1)) if len(c) < 16_000_000 else None}
    student.train()
    result["mean"] = float(np.mean([r["mean"] for r in result.values()]))
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", type=Path, required=True, help="the encoder to imitate (.onnx fp32 or .pt)")
    ap.add_argument("--config", choices=sorted(CONFIGS), required=True, help="the student's architecture")
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--rooms", type=int, default=24, help="train rooms (train seeds 1000.., alternately clean and realistic)")
    ap.add_argument("--val-rooms", default="2000,2001r", help="validation seeds; a trailing r: the realistic generator")
    ap.add_argument("--max-gaussians", type=int, help="cap each room's Gaussians (smoke runs)")
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds of training")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--val-every", type=int, default=100)
    ap.add_argument("--variety", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export", type=Path, help="write best.pt as ONNX here at the end")
    args = ap.parse_args(argv)
    if args.rooms < 1 or args.rooms > len(TRAIN_SEEDS):
        ap.error(f"--rooms must be 1..{len(TRAIN_SEEDS)}")
    val_specs = [(int(s.rstrip("r")), s.endswith("r")) for s in args.val_rooms.split(",")]
    if any(seed not in VALIDATION_SEEDS for seed, _ in val_specs):
        ap.error(f"--val-rooms must be validation seeds ({VALIDATION_SEEDS[0]}-{VALIDATION_SEEDS[-1]})")

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    teacher = load_encoder(args.teacher).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    config = CONFIGS[args.config]
    if config.out_dim != teacher.config.out_dim:
        ap.error(f"the student's K ({config.out_dim}) differs from the teacher's ({teacher.config.out_dim})")
    student, copied, total = student_from_teacher(teacher, config)
    student.train()
    print(f"student {args.config}: {copied} of {total} tensors from the teacher ({features_id(teacher)})", flush=True)

    started = time.time()
    val = {f"{seed}{'r' if realistic else ''}": room_input(seed, realistic, args.max_gaussians) for seed, realistic in val_specs}
    history = [{"step": 0, "seconds": 0.0, **validate(student, teacher, val)}]
    best = history[0]["mean"]
    print(f"step 0 validation cosine {best:.4f} ({time.time() - started:.0f} s to make the validation rooms)", flush=True)
    args.run.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        torch.save({"config": config.to_json(), "model": student.state_dict(), "step": step,
                    "distilled_from": features_id(teacher)}, args.run / "best.pt")

    step = 0
    save()
    optimizer = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.0)
    rooms: dict[int, np.ndarray] = {}
    train_start = time.time()
    while step < args.steps and (args.time_budget is None or time.time() - train_start < args.time_budget):
        index = step % args.rooms
        if index not in rooms:
            rooms[index] = room_input(TRAIN_SEEDS[index], index % 2 == 1, args.max_gaussians)
        channels = rooms[index]
        if args.variety:
            channels = variety(channels, rng)[1]
        loss = (1.0 - cosines(student, teacher, channels)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.val_every == 0:
            history.append({"step": step, "seconds": round(time.time() - train_start, 1), "loss": float(loss.detach()),
                            **validate(student, teacher, val)})
            print(json.dumps(history[-1]), flush=True)
            if history[-1]["mean"] > best:
                best = history[-1]["mean"]
                save()
    (args.run / "metrics.json").write_text(json.dumps({"config": args.config, "teacher": str(args.teacher),
                                                        "copied_tensors": copied, "steps": step, "best_mean_cosine": best,
                                                        "history": history}, indent=1))
    print(f"{step} steps in {time.time() - train_start:.0f} s; best validation cosine {best:.4f}", flush=True)
    if args.export:
        state = torch.load(args.run / "best.pt", map_location="cpu", weights_only=False)
        student.load_state_dict(state["model"])
        export_onnx(student.eval(), args.export, next(iter(val.values()))[:4096])
        print(f"wrote {args.export}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
