"""Linear probe: do the encoder's frozen per-Gaussian features carry semantics? (issue 5, "Evidence")

    python -m rtgs2.encoder.probe --data cache/synthrooms/full --checkpoint runs/encoder/k16/best.pt \\
        --out runs/encoder/k16/probe.json

Two probes, the same in every respect but their input:
- "features": the encoder's K features of each Gaussian (frozen; the model runs once per room, no gradient),
- "raw": the Gaussian's own 10 input channels (contract 2), the baseline the issue asks to beat.
Each probe is a multinomial logistic regression (one linear layer + softmax cross-entropy, in torch) on inputs
standardised with the train rooms' mean and standard deviation, fitted on Gaussians of the TRAIN rooms (a random
subset of at most --fit-gaussians, labelled ones only: `sem_label` != 255) with full-batch L-BFGS and a small L2
penalty, and scored on EVERY labelled Gaussian of the TEST rooms: per-Gaussian mIoU, one confusion matrix over all
test Gaussians (rtgs2.metrics: mean IoU over the classes present in the test ground truth), plus mAcc and oAcc.
The command prints both and writes them as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..classes import NONE, NUM_CLASSES
from ..metrics import confusion_matrix, scores
from .model import GaussianEncoder, feeds_to_torch
from .serialization import serialize_scene


@dataclass
class ProbeResult:
    miou: float
    macc: float
    oacc: float
    per_class_iou: list  # NaN -> None for JSON
    classes_counted: list
    gaussians_scored: int
    gaussians_fitted: int
    final_train_loss: float


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Each column to zero mean and unit variance with the TRAIN statistics (a constant column stays 0)."""
    mean = train.mean(0)
    std = train.std(0)
    std = np.where(std > 1e-12, std, 1.0)
    return [((x - mean) / std).astype(np.float32) for x in (train, *others)]


def fit_linear_probe(x: np.ndarray, y: np.ndarray, num_classes: int = NUM_CLASSES, l2: float = 1e-4,
                     iterations: int = 200, seed: int = 0) -> tuple[torch.nn.Linear, float]:
    """Multinomial logistic regression: (N, D) float32 inputs, (N,) int class ids in 0..C-1 -> a Linear(D, C) and
    the final training loss. Full-batch L-BFGS (deterministic for a given seed), strong-Wolfe line search."""
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"probe inputs must be (N, D) with N labels and N > 0, got {x.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    torch.manual_seed(seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    layer = torch.nn.Linear(x.shape[1], num_classes)
    torch.nn.init.zeros_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.LBFGS(layer.parameters(), lr=1.0, max_iter=iterations, history_size=20,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-7, tolerance_change=1e-10)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(layer(xt), yt) + l2 * layer.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        final = float(F.cross_entropy(layer(xt), yt))
    return layer, final


def predict(layer: torch.nn.Linear, x: np.ndarray, batch: int = 262144) -> np.ndarray:
    out = np.empty(len(x), dtype=np.uint8)
    with torch.no_grad():
        for s in range(0, len(x), batch):
            out[s:s + batch] = layer(torch.from_numpy(x[s:s + batch])).argmax(1).numpy().astype(np.uint8)
    return out


def probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
          num_classes: int = NUM_CLASSES, fit_gaussians: int = 200_000, seed: int = 0) -> ProbeResult:
    """Fits on labelled train Gaussians (a random subset of at most `fit_gaussians`), scores every labelled test
    Gaussian. Labels are uint8 with NONE (255) = unlabelled (skipped on both sides)."""
    rng = np.random.default_rng(seed)
    keep = np.flatnonzero(train_y != NONE)
    if len(keep) == 0:
        raise ValueError("the train rooms have no labelled Gaussians")
    if len(keep) > fit_gaussians:
        keep = np.sort(rng.choice(keep, fit_gaussians, replace=False))
    scored = test_y != NONE
    if not scored.any():
        raise ValueError("the test rooms have no labelled Gaussians")
    fit_x, eval_x = standardise(train_x[keep], test_x[scored])
    layer, loss = fit_linear_probe(fit_x, train_y[keep].astype(np.int64), num_classes, seed=seed)
    prediction = predict(layer, eval_x)
    s = scores(confusion_matrix(prediction, test_y[scored], num_classes))
    return ProbeResult(
        miou=s["miou"], macc=s["macc"], oacc=s["oacc"],
        per_class_iou=[None if np.isnan(v) else float(v) for v in s["per_class_iou"]],
        classes_counted=[int(c) for c in s["classes_counted"]],
        gaussians_scored=int(scored.sum()), gaussians_fitted=int(len(keep)), final_train_loss=loss,
    )


def encode_channels(model: GaussianEncoder, channels: np.ndarray, device: str = "cpu") -> np.ndarray:
    """(N, 10) -> (N, K) frozen features of one room (the serialization the runtime uses, no augmentation)."""
    serialized = serialize_scene(channels, model.config.serialization)
    with torch.no_grad():
        return model.forward_feeds(feeds_to_torch(serialized.feeds(), device)).float().cpu().numpy()


def load_split(data: Path, split: str, max_rooms: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(room name, (N, 10) channels, (N,) labels) of the complete rooms of a SynthRooms split."""
    from ..ply import read_ply

    split_dir = data / split
    if not split_dir.is_dir():
        raise SystemExit(f"--data {data}: no '{split}' split directory")
    rooms = []
    for room_dir in sorted(split_dir.glob("room-*")):
        if not (room_dir / "complete.json").exists():
            continue
        scene = read_ply(room_dir / "scene.ply")
        if scene.labels is None:
            raise SystemExit(f"{room_dir / 'scene.ply'}: no sem_label: the probe needs labelled rooms")
        rooms.append((room_dir.name, scene.input_channels(), scene.labels))
        if max_rooms is not None and len(rooms) >= max_rooms:
            break
    if not rooms:
        raise SystemExit(f"--data {data}: no complete rooms in split '{split}'")
    return rooms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="SynthRooms benchmark subset (train/ and test/ rooms)")
    parser.add_argument("--checkpoint", type=Path, required=True, help="encoder checkpoint (train.py's best.pt)")
    parser.add_argument("--out", type=Path, required=True, help="JSON report")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--test-split", default="test")
    parser.add_argument("--max-rooms", type=int, default=None, help="at most this many rooms per split")
    parser.add_argument("--fit-gaussians", type=int, default=200_000, help="train Gaussians the probes are fitted on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from .export import load_checkpoint

    if not args.checkpoint.exists():
        raise SystemExit(f"--checkpoint {args.checkpoint}: no such file")
    model = load_checkpoint(args.checkpoint)
    t0 = time.time()
    splits = {}
    for split in (args.train_split, args.test_split):
        rooms = load_split(args.data, split, args.max_rooms)
        raw = np.concatenate([c for _, c, _ in rooms])
        feats = np.concatenate([encode_channels(model, c) for _, c, _ in rooms])
        labels = np.concatenate([l for _, _, l in rooms])
        splits[split] = {"rooms": [n for n, _, _ in rooms], "raw": raw, "features": feats, "labels": labels}
        print(f"{split}: {len(rooms)} rooms, {len(labels)} Gaussians encoded ({time.time() - t0:.0f} s)", file=sys.stderr)

    tr, te = splits[args.train_split], splits[args.test_split]
    results = {}
    for name in ("features", "raw"):
        results[name] = probe(tr[name], tr["labels"], te[name], te["labels"], fit_gaussians=args.fit_gaussians, seed=args.seed)
    report = {
        "checkpoint": str(args.checkpoint),
        "k": int(model.config.out_dim),
        "train_rooms": tr["rooms"],
        "test_rooms": te["rooms"],
        "protocol": "multinomial logistic regression on standardised inputs, fitted on train-room Gaussians, "
                    "per-Gaussian mIoU over all test-room Gaussians (classes present in the test ground truth)",
        "features": results["features"].__dict__,
        "raw": results["raw"].__dict__,
        "miou_gain_points": 100 * (results["features"].miou - results["raw"].miou),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"probe on encoder features (K={report['k']}): mIoU {100 * results['features'].miou:.1f}  "
          f"mAcc {100 * results['features'].macc:.1f}  oAcc {100 * results['features'].oacc:.1f}")
    print(f"probe on raw 10 channels:        mIoU {100 * results['raw'].miou:.1f}  "
          f"mAcc {100 * results['raw'].macc:.1f}  oAcc {100 * results['raw'].oacc:.1f}")
    print(f"gain: {report['miou_gain_points']:+.1f} mIoU points (per Gaussian, {len(te['rooms'])} test rooms); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
