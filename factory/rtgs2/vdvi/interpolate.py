"""A fine-tuned VDVI checkpoint pulled back towards the one it was fine-tuned from, weight by weight.

    python -m rtgs2.vdvi.interpolate --start runs/import-full/init.pt --end runs/vdvi-full-furnished-c/best.pt \
        --alpha 0.5 --out runs/wise-0.5/best.pt

Writes `(1 - alpha) * start + alpha * end` for every floating-point tensor of the two state dicts (alpha 0 gives the
start, 1 the end); integer tensors (BatchNorm batch counters) are taken from the end. Why: a fine-tune on a narrower
mixture of rooms gains on the classes it saw more of and loses some robustness elsewhere; Wortsman et al.,
"Robust fine-tuning of zero-shot models" (CVPR 2022, WiSE-FT), found that mixing the weights of a model and its
fine-tune keeps most of both gains under distribution shift. Mixing is only meaningful between checkpoints of one
fine-tuning lineage (same architecture, one initialisation), so the command refuses models whose `model_args` or
tensor names and shapes differ, and checkpoints whose BatchNorms are folded in one and not in the other (the folded
BatchNorms hold identity statistics; mixing them with live statistics would be neither model).

The output is a checkpoint that rtgs2.vdvi.evaluate, rtgs2.vdvi.export and rtgs2.vdvi.train --init read; it records
both sources and alpha under `interpolated`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .evaluate import read_checkpoint


def interpolate(start: dict, end: dict, alpha: float) -> dict:
    """The checkpoint dict whose weights are `(1 - alpha) * start + alpha * end`."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha}: must lie in [0, 1]")
    if start["model_args"] != end["model_args"]:
        raise ValueError(f"the models differ: {start['model_args']} against {end['model_args']}")
    folded = bool(start.get("batchnorm_folded", False)), bool(end.get("batchnorm_folded", False))
    if folded[0] != folded[1]:
        raise ValueError("one checkpoint has its BatchNorms folded and the other not: they are not one lineage")
    a, b = start["model"], end["model"]
    if a.keys() != b.keys():
        raise ValueError(f"the weights differ by name: {sorted(set(a) ^ set(b))[:5]}")
    mixed = {}
    for name, end_value in b.items():
        start_value = a[name]
        if start_value.shape != end_value.shape:
            raise ValueError(f"weight {name}: shape {tuple(start_value.shape)} against {tuple(end_value.shape)}")
        if end_value.is_floating_point():
            mixed[name] = torch.lerp(start_value.to(end_value.dtype), end_value, alpha)
        else:
            mixed[name] = end_value.clone()
    return {"model": mixed, "model_args": end["model_args"], "batchnorm_folded": folded[1],
            "interpolated": {"alpha": alpha}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.interpolate", description=__doc__.split("\n")[0])
    ap.add_argument("--start", type=Path, required=True, help="the checkpoint the fine-tune started from (alpha 0)")
    ap.add_argument("--end", type=Path, required=True, help="the fine-tuned checkpoint (alpha 1)")
    ap.add_argument("--alpha", type=float, required=True, help="the end's share, 0..1")
    ap.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    args = ap.parse_args(argv)
    try:
        mixed = interpolate(read_checkpoint(args.start, "--start"), read_checkpoint(args.end, "--end"), args.alpha)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mixed["interpolated"].update(start=str(args.start), end=str(args.end))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(mixed, args.out)
    print(f"wrote {args.out}: {1 - args.alpha:g} x {args.start} + {args.alpha:g} x {args.end}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
