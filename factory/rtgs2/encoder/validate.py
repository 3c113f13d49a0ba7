"""Compare encoders on train.py's validation loss: the same fixed pairs of the validation rooms for every model.

    python -m rtgs2.encoder.validate --data cache/synthrooms/full --model ../models/gaussian-encoder-k16.onnx \\
        --model runs/encoder/k16-rooms120/best.pt

Each model is an exported fp32 encoder (.onnx) or a training checkpoint (.pt). Prints one JSON line per model and
pair kind: PointInfoNCE loss and top-1 match accuracy on the pairs with `--variety` augmentations (density, noise,
splat statistics, appearance: what real captures change) and on the plain pairs. This is the figure a training
run's log calls val_loss, made comparable between files, e.g. a fine-tuned encoder against the shipped one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .export import load_encoder
from .train import load_rooms, validate, validation_samples


def compare(models: list[Path], data: list[Path], val_pairs: int = 8, max_per_voxel: int = 4, framed: bool = True,
            split: str = "val") -> list[dict]:
    loaded = []
    for path in models:
        try:
            loaded.append((path, load_encoder(path)))
        except Exception as e:  # not an encoder, a truncated file, another graph: say which file, no traceback
            raise SystemExit(f"--model {path}: not an encoder this command can read ({e})") from e
    configs = {json.dumps(model.config.to_json(), sort_keys=True) for _, model in loaded}
    if len(configs) != 1:
        # the pairs are serialized with one config (grid, patch size); another config would see other samples
        raise SystemExit("--model: the encoders have different configs; compare encoders of one config")
    config = loaded[0][1].config
    rooms = [r for d in data for r in load_rooms(d, split, 0, 0, framed=framed)]
    rows = []
    for variety in (True, False):
        samples = validation_samples(rooms, config, max_per_voxel, variety, val_pairs)
        for path, model in loaded:
            rows.append({"model": str(path), "pairs": "variety" if variety else "plain", "rooms": len(rooms),
                         "samples": len(samples), **validate(model, samples, torch.device("cpu"))})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True,
                    help="a SynthRooms benchmark subset with a val split (repeatable)")
    ap.add_argument("--model", type=Path, action="append", required=True, help="an encoder .onnx or .pt (repeatable)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--val-pairs", type=int, default=8, help="fixed pairs per room (train.py's default)")
    ap.add_argument("--max-per-voxel", type=int, default=4)
    ap.add_argument("--framed", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    for path in args.model:
        if not path.is_file():
            ap.error(f"--model {path}: no such file")
    torch.set_num_threads(args.threads)
    for row in compare(args.model, args.data, args.val_pairs, args.max_per_voxel, args.framed, args.split):
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
