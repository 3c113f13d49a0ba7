"""The model card's figure: rows of rgb | ground truth | prediction for chosen views of a split, class colours from
models/classes.json, `none` black. Predictions follow evaluate.py (the runtime's rule: alpha < 0.5 is none).

    python -m rtgs2.vdvi.figure --checkpoint runs/vdvi-full/best.pt --benchmark cache/synthrooms/full \
        --features cache/features/encoder-k16 --split test --resolution 320x240 --views 0:0,5:3,10:6 \
        --out ../docs/images/vdvi-test-views.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ..classes import NONE, load_class_table
from .evaluate import labels_from_logits, load_model, parse_size, predict_logits

GAP = 4  # pixels between panels and rows


def palette() -> np.ndarray:
    """(256, 3) uint8: class id -> colour; every other id (none among them) black."""
    table = np.zeros((256, 3), np.uint8)
    for c in load_class_table()["classes"]:
        table[c["id"]] = c["color"]
    table[NONE] = 0
    return table


def colourize(labels: np.ndarray) -> np.ndarray:
    return palette()[labels.astype(np.uint8)]


@torch.no_grad()
def figure_rows(model: torch.nn.Module, dataset, picks: list[tuple[int, int]]) -> np.ndarray:
    """One row per (room index in the split, view index): rgb | ground truth | prediction, uint8 (H, W, 3)."""
    by_key = {(r.seed, r.index): i for i, r in enumerate(dataset.items)}
    seeds = sorted({r.seed for r in dataset.items})
    rows = []
    for room, view in picks:
        if not 0 <= room < len(seeds) or (seeds[room], view) not in by_key:
            raise ValueError(f"view {room}:{view}: the split has rooms 0..{len(seeds) - 1}; room {room} has no view {view}")
        s = dataset[by_key[(seeds[room], view)]]
        logits = predict_logits(model, s["rgb"][None], s["features"][None])
        pred = labels_from_logits(logits, s["alpha"][None])[0].numpy()
        rgb = (s["rgb"].permute(1, 2, 0).numpy().clip(0, 1) * 255 + 0.5).astype(np.uint8)
        panels = [rgb, colourize(s["labels"].numpy()), colourize(pred)]
        h = rgb.shape[0]
        gap = np.full((h, GAP, 3), 255, np.uint8)
        rows.append(np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1))
    width = rows[0].shape[1]
    out = []
    for i, row in enumerate(rows):
        if i:
            out.append(np.full((GAP, width, 3), 255, np.uint8))
        out.append(row)
    return np.concatenate(out, axis=0)


def parse_picks(text: str) -> list[tuple[int, int]]:
    try:
        return [(int(a), int(b)) for a, b in (p.split(":") for p in text.split(","))]
    except ValueError:
        raise ValueError(f"--views {text!r}: expected room:view pairs, e.g. 0:0,5:3") from None


def main(argv=None) -> int:
    from PIL import Image

    from .data import SynthRoomsViews

    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.figure", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--resolution", default="320x240")
    parser.add_argument("--views", default="0:0,5:2,10:4,15:6", help="room:view pairs (room = index in the split)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = load_model(args.checkpoint)
    dataset = SynthRoomsViews(args.benchmark, args.features, args.split, parse_size(args.resolution, "--resolution"))
    image = figure_rows(model, dataset, parse_picks(args.views))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(args.out, optimize=True)
    print(f"wrote {args.out}: {image.shape[1]}x{image.shape[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
