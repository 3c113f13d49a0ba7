"""Per-scene fine-tuning (the paper's second setting): fine-tune a trained model on one room's labelled views and
evaluate it on that room's held-out views.

    python -m rtgs2.vdvi.finetune --checkpoint runs/vdvi-full/best.pt --benchmark cache/synthrooms/full \
        --features cache/features/<encoder-id> --split test --room 3000 --run-dir runs/finetune-3000 \
        [--resolution 640x480] [--held-out-every 4] [--epochs 30]

Split (deterministic, METHOD.md: the reference split an unsorted directory listing): views sorted by index; every
`held_out_every`-th view (indices held_out_every-1, 2*held_out_every-1, ...) is held out, the rest are trained on.
No model selection on the held-out views: the last checkpoint is evaluated (training logs its mIoU on the
training views). Writes <run-dir>/heldout.json (both protocols, per-class IoU, view consistency).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .data import SynthRoomsViews
from .evaluate import evaluate, load_model, parse_size
from .train import build_parser, train


def split_views(count: int, held_out_every: int) -> tuple[list[int], list[int]]:
    if held_out_every < 2:
        raise ValueError(f"--held-out-every must be >= 2, got {held_out_every}")
    held = [v for v in range(count) if v % held_out_every == held_out_every - 1]
    return [v for v in range(count) if v not in held], held


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.finetune", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="the trained model to start from")
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--room", type=int, required=True, help="room seed")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--resolution", default="640x480")
    parser.add_argument("--held-out-every", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=30)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--crop", default="320x224")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    resolution = parse_size(args.resolution, "--resolution")
    everything = SynthRoomsViews(args.benchmark, args.features, args.split, resolution, rooms=[args.room])
    train_views, held_out = split_views(len(everything), args.held_out_every)
    if not held_out or not train_views:
        raise ValueError(f"room {args.room}: {len(everything)} views cannot be split with --held-out-every "
                         f"{args.held_out_every}")
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    ma = state["model_args"]
    views = ",".join(map(str, train_views))
    train_args = build_parser().parse_args([
        "--benchmark", str(args.benchmark), "--features", str(args.features), "--run-dir", str(args.run_dir),
        "--arch", ma["arch"], "--variant", ma["variant"], "--init", str(args.checkpoint),
        "--rgb-encoder", ma.get("rgb_encoder", "scratch"),
        "--train-split", args.split, "--train-rooms", str(args.room), "--train-views", views,
        "--val-split", args.split, "--val-rooms", str(args.room), "--val-views", views,
        "--train-resolution", args.resolution, "--val-resolution", args.resolution, "--crop", args.crop,
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
        "--warmup-steps", "10", "--workers", str(args.workers), "--threads", str(args.threads),
        "--val-every", "1000000", *(["--max-steps", str(args.max_steps)] if args.max_steps else [])])
    summary = train(train_args)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, last = load_model(args.run_dir / "last.pt", device)
    held = SynthRoomsViews(args.benchmark, args.features, args.split, resolution, rooms=[args.room], views=held_out)
    result = evaluate(model, held, device)
    result.update({"room": args.room, "split": args.split, "train_views": train_views, "held_out_views": held_out,
                   "start_checkpoint": str(args.checkpoint), "steps": summary["steps"]})
    (args.run_dir / "heldout.json").write_text(json.dumps(result, indent=1))
    print(f"room {args.room}: held-out mIoU {result['miou']:.4f} (per image {result['miou_per_image']:.4f}) "
          f"on views {held_out}, trained on {train_views}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
