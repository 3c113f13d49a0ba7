"""Self-supervised training of the Gaussian encoder with PointInfoNCE (METHOD.md stage 1).

    python -m rtgs2.encoder.train --data cache/synthrooms/full --run runs/encoder/k16 [--steps 6000] [--k 16]
    python -m rtgs2.encoder.train --synthetic 8 --run runs/encoder/smoke --steps 2 --config tiny   # smoke test

One step: a view pair of a training room (two views whose visible-Gaussian sets overlap by 30-80 % IoU, from the
SynthRooms benchmark's visibility.npz; with --synthetic, two random overlapping crops of a generated box room),
each view's visible Gaussians augmented independently (random rotation about +Y, global scale 0.6-1.2 on xyz and
log-scales, jitter sigma 0.02 on colour and opacity: METHOD.md) and voxel-subsampled, both encoded in one batch;
up to 4096 Gaussians seen in both views (at most one per voxel in each, so no positive is another's negative) are
the positives of L = CE(q k^T / tau, arange), tau = 0.07. Validation: the same loss (and top-1 match accuracy) on
fixed pairs of the validation rooms with fixed augmentations. Checkpoints (last.pt every --checkpoint-every steps,
best.pt on validation loss) go to --run (factory/runs/ is git-ignored); an existing last.pt is resumed. CUDA is
used when available.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..gaussians import GaussianScene
from .model import EncoderConfig, GaussianEncoder, collate, feeds_to_torch, parameter_count
from .serialization import SerializationConfig, serialize_scene

TAU = 0.07  # METHOD.md: PointInfoNCE temperature
MAX_PAIRS = 4096  # METHOD.md: up to 4096 correspondences per view pair
SCALE_RANGE = (0.6, 1.2)  # METHOD.md: global scale on xyz and log-scales
JITTER_SIGMA = 0.02  # METHOD.md: jitter on colour and opacity

CONFIGS = {
    "default": EncoderConfig(),
    # a few hundred KB: for the smoke test and the runtime's fixture
    "tiny": EncoderConfig(serialization=SerializationConfig(patch_size=16), channels=(16, 24, 32), heads=(1, 1, 2),
                          encoder_blocks=(1, 1, 1), decoder_blocks=(1, 1)),
    # Faster candidates for issue 17's 5 us a Gaussian (BENCHMARKS.md, "Encoder architectures: speed only": 0.48 and
    # 0.52 of the default's time, untrained); not shipped: what they cost in accuracy is open.
    "fast-grid7.5": EncoderConfig(serialization=SerializationConfig(grid_size=0.075)),
    "fast-narrow": EncoderConfig(channels=(32, 64, 128), heads=(1, 2, 4), decoder_blocks=(1, 0)),
    # The default without its two level-0 attention blocks (0.65 of its time, untrained): every remaining tensor
    # has the default's name and shape, so rtgs2.encoder.distill can start it from the shipped weights.
    "fast-l0-free": EncoderConfig(encoder_blocks=(0, 1, 2), decoder_blocks=(1, 0)),
}


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------

def synthetic_room(seed: int, gaussians_per_m2: float = 1500.0) -> GaussianScene:
    """A small generated box room (floor, ceiling, four walls, a few coloured boxes) for smoke runs and tests when
    the SynthRooms benchmark is not at hand. Labels: wall 0, floor 1, table 6, ceiling 20 (models/classes.json)."""
    rng = np.random.default_rng(seed)
    w, d, h = rng.uniform(3.0, 5.0), rng.uniform(3.0, 4.5), rng.uniform(2.4, 2.8)
    parts = []

    def quad(origin, u, v, colour, label):
        area = np.linalg.norm(np.cross(u, v))
        n = max(int(area * gaussians_per_m2), 16)
        st = rng.uniform(0, 1, (n, 2))
        pos = origin + st[:, :1] * u + st[:, 1:] * v + rng.normal(0, 0.004, (n, 3))
        col = np.clip(np.asarray(colour) + rng.normal(0, 0.04, (n, 3)), 0, 1)
        parts.append((pos, col, np.full(n, label)))

    base = rng.uniform(0.3, 0.8, 3)
    quad(np.zeros(3), np.array([w, 0, 0]), np.array([0, 0, d]), base * [0.8, 0.6, 0.4], 1)
    quad(np.array([0, h, 0]), np.array([w, 0, 0]), np.array([0, 0, d]), [0.9, 0.9, 0.9], 20)
    wall = rng.uniform(0.5, 0.9, 3)
    for o, u in ((np.zeros(3), [w, 0, 0]), (np.array([0, 0, d]), [w, 0, 0]), (np.zeros(3), [0, 0, d]), (np.array([w, 0, 0]), [0, 0, d])):
        quad(o, np.array(u, float), np.array([0, h, 0.0]), wall, 0)
    for _ in range(rng.integers(2, 5)):
        size = rng.uniform([0.4, 0.4, 0.4], [1.2, 0.9, 1.0])
        corner = rng.uniform([0.2, 0, 0.2], [w - size[0] - 0.2, 0.001, d - size[2] - 0.2])
        colour = rng.uniform(0, 1, 3)
        x, y, z = (np.eye(3) * size)
        top = corner + y
        quad(top, x, z, colour, 6)
        for o, u in ((corner, x), (corner + z, x), (corner, z), (corner + x, z)):
            quad(o, u, y, colour * 0.8, 6)
    pos = np.concatenate([p for p, _, _ in parts]).astype(np.float32)
    n = len(pos)
    return GaussianScene(
        positions=pos, colors=np.concatenate([c for _, c, _ in parts]), opacities=rng.uniform(0.3, 1.0, n),
        log_scales=np.log(rng.uniform(0.005, 0.03, (n, 3))), rotations=np.tile([1.0, 0, 0, 0], (n, 1)),
        labels=np.concatenate([l for _, _, l in parts]).astype(np.uint8))


@dataclass
class Room:
    name: str
    channels: np.ndarray  # (N, 10)
    visible: np.ndarray | None  # (V, N) bool visible sets of the benchmark's views
    pairs: np.ndarray | None  # (P, 2) view pairs with 30-80 % IoU


def crop_pair(channels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two random overlapping horizontal crops (each about 60 % of the room's footprint per axis), as index sets."""
    xz = channels[:, [0, 2]]
    lo, hi = xz.min(0), xz.max(0)
    span = hi - lo
    size = span * rng.uniform(0.55, 0.7, 2)
    start_a = lo + rng.uniform(0, 1, 2) * (span - size)
    shift = size * rng.uniform(0.2, 0.45, 2) * rng.choice([-1, 1], 2)
    start_b = np.clip(start_a + shift, lo, hi - size)
    inside = lambda s: np.all((xz >= s) & (xz <= s + size), axis=1)  # noqa: E731
    return np.flatnonzero(inside(start_a)), np.flatnonzero(inside(start_b))


ENCODER_INPUT_FILE = "encoder_input.npy"  # a room's framed encoder input, written by scripts/gpu_train.py


def room_channels(room_dir: Path, framed: bool) -> np.ndarray:
    """A benchmark room's (N, 10) encoder input: its scene as generated (canonical frame), or with `framed` the
    runtime's path (random similarity -> estimated frame -> normalised; rtgs2.random_frames), read from
    encoder_input.npy when a data run stored it there."""
    from ..ply import read_ply

    if framed:
        stored = room_dir / ENCODER_INPUT_FILE
        if stored.is_file():
            return np.load(stored)
        from ..random_frames import framed_input_channels

        seed = int(room_dir.name.split("-")[-1])
        return framed_input_channels(read_ply(room_dir / "scene.ply"), seed)[0]
    return read_ply(room_dir / "scene.ply").input_channels()


def load_rooms(data: Path | None, split: str, synthetic: int, seed_base: int, density: float = 1500.0,
               framed: bool = False) -> list[Room]:
    if data is None:
        return [Room(f"synthetic-{seed_base + i}", synthetic_room(seed_base + i, density).input_channels(), None, None)
                for i in range(synthetic)]
    from ..synthrooms.benchmark import load_visibility

    split_dir = data / split
    if not split_dir.is_dir():
        raise SystemExit(f"--data {data}: no '{split}' split directory (expected a SynthRooms benchmark subset)")
    rooms, without_pairs = [], []
    for room_dir in sorted(split_dir.glob("room-*")):
        if not (room_dir / "complete.json").exists():
            continue  # still being generated
        vis = load_visibility(room_dir)
        if len(vis["pairs"]) == 0:
            without_pairs.append(room_dir)
            continue
        rooms.append(Room(room_dir.name, room_channels(room_dir, framed), vis["visible"], vis["pairs"]))
    if not rooms and without_pairs:
        # rooms with too few views for a pair in the IoU range (small quick runs): random overlapping crops
        print(f"--data {data}: no view pairs in split '{split}'; using overlapping crops of its "
              f"{len(without_pairs)} rooms", flush=True)
        rooms = [Room(d.name, room_channels(d, framed), None, None) for d in without_pairs]
    if not rooms:
        raise SystemExit(f"--data {data}: no complete rooms with view pairs in split '{split}'")
    return rooms


def view_pair(room: Room, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if room.pairs is None:
        return crop_pair(room.channels, rng)
    a, b = room.pairs[rng.integers(len(room.pairs))]
    return np.flatnonzero(room.visible[a]), np.flatnonzero(room.visible[b])


def augment(channels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """METHOD.md augmentations: random rotation about +Y (the up axis, so 'up' keeps its meaning), global scale
    0.6-1.2 on xyz and log-scales, jitter sigma 0.02 on colour and opacity (clipped to [0, 1])."""
    out = channels.copy()
    angle = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    x, z = out[:, 0].copy(), out[:, 2].copy()
    out[:, 0], out[:, 2] = c * x + s * z, -s * x + c * z
    scale = rng.uniform(*SCALE_RANGE)
    out[:, :3] *= scale
    out[:, 7:10] += np.log(scale)
    out[:, 3:7] = np.clip(out[:, 3:7] + rng.normal(0, JITTER_SIGMA, (len(out), 4)), 0, 1)
    return out.astype(np.float32)


def variety(channels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Issue 14's encoder variety, drawn per view: what real captures change. A density change (keep 45-100 % of
    the Gaussians), position noise (sd 0-1.5 cm), splat statistics (all log-scales shifted by -0.3..+0.6, i.e.
    larger splats as scanner and blurry captures have, plus per-axis jitter sd 0-0.3; a third of the time the
    opacities of a scanner reconstruction, 0.85-1), and appearance (exposure gain 0.6-1.6, per-channel cast
    +-12 %, colour noise sd 0-0.05). Returns the rows kept (indices into `channels`) and the changed channels."""
    keep = np.flatnonzero(rng.uniform(size=len(channels)) < rng.uniform(0.45, 1.0))
    out = channels[keep].astype(np.float64)
    n = len(out)
    out[:, :3] += rng.normal(0.0, rng.uniform(0.0, 0.015), (n, 3))
    out[:, 7:10] += rng.uniform(-0.3, 0.6) + rng.normal(0.0, rng.uniform(0.0, 0.3), (n, 3))
    if rng.uniform() < 1 / 3:
        out[:, 6] = rng.uniform(0.85, 1.0, n)
    gain = np.exp(rng.uniform(np.log(0.6), np.log(1.6))) * rng.uniform(0.88, 1.12, 3)
    out[:, 3:6] = np.clip(out[:, 3:6] * gain + rng.normal(0.0, rng.uniform(0.0, 0.05), (n, 3)), 0.0, 1.0)
    return keep, out.astype(np.float32)


def voxel_subsample(channels: np.ndarray, grid: float, max_per_voxel: int, rng: np.random.Generator) -> np.ndarray:
    """Indices keeping at most `max_per_voxel` random Gaussians in each grid cell (voxel subsampling)."""
    cells = np.floor((channels[:, :3] - channels[:, :3].min(0)) / grid).astype(np.int64)
    key = (cells[:, 0] * 73856093) ^ (cells[:, 1] * 19349663) ^ (cells[:, 2] * 83492791)
    order = rng.permutation(len(channels))
    _, inverse = np.unique(key[order], return_inverse=True)
    rank = np.zeros(len(order), dtype=np.int64)
    sort = np.argsort(inverse, kind="stable")
    grouped = inverse[sort]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    rank[sort] = np.arange(len(sort)) - np.repeat(starts, np.diff(np.r_[starts, len(sort)]))
    return np.sort(order[rank < max_per_voxel])


def make_sample(room: Room, rng: np.random.Generator, config: EncoderConfig, max_per_voxel: int, augmented: bool = True,
                with_variety: bool = False):
    """Two serialized views and the rows of their positive pairs: (scenes, rows_a, rows_b). `with_variety` adds
    the real-capture variety (variety()) to each view, independently."""
    idx_a, idx_b = view_pair(room, rng)
    views = []
    for idx in (idx_a, idx_b):
        source = room.channels[idx]
        if with_variety:
            rows, source = variety(source, rng)
            idx = idx[rows]
        keep = voxel_subsample(source, config.serialization.grid_size, max_per_voxel, rng)
        idx, source = idx[keep], source[keep]
        ch = augment(source, rng) if augmented else source
        views.append((idx, serialize_scene(ch, config.serialization)))
    (ia, sa), (ib, sb) = views
    common, pa, pb = np.intersect1d(ia, ib, assume_unique=True, return_indices=True)
    shuffle = rng.permutation(len(common))
    pa, pb = pa[shuffle], pb[shuffle]
    # one positive per voxel on each side: two Gaussians of one voxel have one feature, and would be a positive
    # and a negative of each other at once
    _, first_a = np.unique(sa.gaussian_voxel[pa], return_index=True)
    pa, pb = pa[first_a], pb[first_a]
    _, first_b = np.unique(sb.gaussian_voxel[pb], return_index=True)
    pa, pb = pa[first_b], pb[first_b]
    return [sa, sb], pa[:MAX_PAIRS], pb[:MAX_PAIRS]


_WORKER_STATE: tuple | None = None  # (rooms, config, max_per_voxel, variety), inherited by forked sample workers


def _worker_sample(task: tuple[int, int]):
    room_index, sample_seed = task
    rooms, config, max_per_voxel, with_variety = _WORKER_STATE
    room = rooms[room_index]
    return room.name, make_sample(room, np.random.default_rng(sample_seed), config, max_per_voxel,
                                  with_variety=with_variety)


class SampleWorkers:
    """Training samples made ahead by forked CPU processes (the serialisation is numpy work that a GPU step would
    otherwise wait for). Each sample is drawn from its own seed, taken in order from a generator of the run's seed,
    and used in submission order, so a run gives the same samples whatever the worker count (a resumed run starts
    that generator again: it is not the continuation the single-process mode resumes exactly)."""

    def __init__(self, rooms: list[Room], config: EncoderConfig, max_per_voxel: int, with_variety: bool,
                 workers: int, rng: np.random.Generator):
        import multiprocessing as mp
        from collections import deque

        global _WORKER_STATE
        _WORKER_STATE = (rooms, config, max_per_voxel, with_variety)
        # fork, before this process touches CUDA: the workers inherit the rooms without pickling them
        self.pool = mp.get_context("fork").Pool(workers)
        self.rng, self.count, self.pending = rng, len(rooms), deque()
        for _ in range(3 * workers):
            self._submit()

    def _submit(self) -> None:
        task = (int(self.rng.integers(self.count)), int(self.rng.integers(2 ** 62)))
        self.pending.append(self.pool.apply_async(_worker_sample, (task,)))

    def next(self):
        name, sample = self.pending.popleft().get()
        self._submit()
        return name, sample

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def point_info_nce(q: torch.Tensor, k: torch.Tensor, tau: float = TAU) -> tuple[torch.Tensor, torch.Tensor]:
    """L = CE(q k^T / tau, arange(n)) (METHOD.md); also the top-1 match accuracy."""
    logits = q @ k.t() / tau
    target = torch.arange(len(q), device=q.device)
    return F.cross_entropy(logits, target), (logits.argmax(dim=1) == target).float().mean()


def pair_loss(model: GaussianEncoder, sample, device) -> tuple[torch.Tensor, torch.Tensor, int]:
    scenes, pa, pb = sample
    feeds, rows = collate(scenes)
    feats = model.forward_feeds(feeds_to_torch(feeds, device))
    q = feats[rows[0][0]:rows[0][1]][torch.from_numpy(pa).to(device)]
    k = feats[rows[1][0]:rows[1][1]][torch.from_numpy(pb).to(device)]
    loss, acc = point_info_nce(q, k)
    return loss, acc, len(pa)


# ---------------------------------------------------------------------------------------------------------------
# Loop
# ---------------------------------------------------------------------------------------------------------------

def validation_samples(rooms: list[Room], config: EncoderConfig, max_per_voxel: int, with_variety: bool,
                       pairs_per_room: int) -> list:
    """The fixed validation pairs and augmentations (seed 12345): the same for every run and every model, so that
    validation losses compare across runs (and across files: rtgs2.encoder.validate)."""
    rng = np.random.default_rng(12345)
    return [make_sample(r, rng, config, max_per_voxel, with_variety=with_variety)
            for r in rooms for _ in range(pairs_per_room)]


def validate(model, samples, device) -> dict:
    model.eval()
    losses, accs = [], []
    with torch.no_grad():
        for s in samples:
            loss, acc, _ = pair_loss(model, s, device)
            losses.append(loss.item())
            accs.append(acc.item())
    model.train()
    return {"val_loss": float(np.mean(losses)), "val_top1": float(np.mean(accs))}


def save_checkpoint(path: Path, model, optimizer, step: int, best: float, args_json: dict, rng: np.random.Generator) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best_val_loss": best,
                "config": model.config.to_json(), "args": args_json, "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)  # atomic: an interrupted run never leaves a half-written checkpoint


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, action="append",
                    help="a SynthRooms benchmark subset (cache/synthrooms/<subset>); repeatable: the train rooms of "
                         "all, validation on those that have a val split")
    ap.add_argument("--init", type=Path,
                    help="start a new run from these weights: an exported fp32 encoder (.onnx, e.g. the shipped one) "
                         "or a checkpoint (.pt); its config must match --config/--k")
    ap.add_argument("--synthetic", type=int, default=0, help="train on N generated box rooms instead of --data")
    ap.add_argument("--synthetic-density", type=float, default=1500.0, help="Gaussians per m^2 of the generated rooms")
    ap.add_argument("--run", type=Path, required=True, help="run directory (checkpoints, log.jsonl)")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="default")
    ap.add_argument("--k", type=int, help="output channels K (default: the config's, 16)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--max-per-voxel", type=int, default=4, help="voxel subsampling: Gaussians kept per voxel")
    ap.add_argument("--val-pairs", type=int, default=8, help="fixed validation pairs per validation room")
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    ap.add_argument("--framed", action=argparse.BooleanOptionalAction, default=True,
                    help="encoder input through a random frame + the scene-frame estimator + normalisation "
                         "(rtgs2.random_frames), as the runtime's frame \"auto\" feeds it (issue 13; default on for "
                         "new runs; --no-framed reads the rooms as generated, as the shipped encoder was trained)"),
    ap.add_argument("--variety", action="store_true",
                    help="real-capture variety per view: density, noise, splat statistics, appearance (variety())")
    ap.add_argument("--sample-workers", type=int, default=0,
                    help="CPU processes that make training samples ahead (0: in this process, bit-reproducible)")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="seconds of training: the step count is cut to what fits (measured after 10 steps), the "
                         "learning rate schedule follows the cut count")
    args = ap.parse_args(argv)
    if args.data is None and args.synthetic <= 0:
        ap.error("give --data (a SynthRooms benchmark subset) or --synthetic N")
    for data in args.data or []:
        if not data.is_dir():
            ap.error(f"--data {data}: not a directory")
    if args.steps < 1:
        ap.error(f"--steps must be >= 1, got {args.steps}")
    if args.init is not None and not args.init.is_file():
        ap.error(f"--init {args.init}: no such file")

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    config = CONFIGS[args.config]
    if args.k is not None:
        config = EncoderConfig(**{**config.__dict__, "out_dim": args.k})
    args.run.mkdir(parents=True, exist_ok=True)
    last = args.run / "last.pt"

    t_start = time.time()
    if args.data:
        train_rooms = [r for data in args.data for r in load_rooms(data, "train", 0, 0, framed=args.framed)]
        with_val = [data for data in args.data if (data / "val").is_dir()] or args.data[:1]
        val_rooms = [r for data in with_val for r in load_rooms(data, "val", 0, 0, framed=args.framed)]
    else:
        train_rooms = load_rooms(None, "train", args.synthetic, 10_000, args.synthetic_density)
        val_rooms = load_rooms(None, "val", max(1, args.synthetic // 4), 20_000, args.synthetic_density)
    val_samples = validation_samples(val_rooms, config, args.max_per_voxel, args.variety, args.val_pairs)

    torch.manual_seed(args.seed)
    workers = None
    if args.sample_workers > 0:  # forked before the model goes to the device
        workers = SampleWorkers(train_rooms, config, args.max_per_voxel, args.variety, args.sample_workers,
                                np.random.default_rng([args.seed, 1]))
    model = GaussianEncoder(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    rng = np.random.default_rng(args.seed)
    step, best = 0, float("inf")
    if last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        if state["config"] != config.to_json():
            raise SystemExit(f"{last}: checkpoint config differs from --config/--k; use another --run")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best_val_loss"]
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed {last} at step {step}", flush=True)
    elif args.init is not None:
        from .export import load_encoder

        try:
            start = load_encoder(args.init)
        except Exception as e:  # not an encoder, damaged, fp16, another graph: say which and stop
            raise SystemExit(f"--init {args.init}: {e}") from e
        if start.config.to_json() != config.to_json():
            raise SystemExit(f"--init {args.init}: its config differs from --config/--k")
        model.load_state_dict(start.state_dict())
        print(f"started from {args.init}", flush=True)
    print(json.dumps({"device": str(device), "parameters": parameter_count(model), "train_rooms": len(train_rooms),
                      "val_rooms": len(val_rooms), "config": config.to_json()}), flush=True)

    log = open(args.run / "log.jsonl", "a")
    args_json = json.loads(json.dumps(vars(args), default=str))  # paths (and lists of them) as strings
    model.train()
    t0 = time.time()
    total, warmup = args.steps, args.warmup
    timing_from = None  # (time, step) after a few steps: the rate that sizes a --time-budget run
    while step < total:
        if args.time_budget is not None and step >= 3 and timing_from is None:
            timing_from = (time.time(), step)
        if args.time_budget is not None and timing_from is not None and step >= timing_from[1] + 7 \
                and (step - timing_from[1] - 7) % 50 == 0:
            # sized after 7 timed steps, then again every 50 (the rate drifts on a shared machine)
            rate = (time.time() - timing_from[0]) / (step - timing_from[1])
            left = args.time_budget - (time.time() - t_start) - 2 * rate
            total = max(step + 1, min(args.steps, step + int(left / rate)))
            warmup = min(args.warmup, max(1, total // 10)) if step == timing_from[1] + 7 else warmup
            print(json.dumps({"time_budget": args.time_budget, "seconds_per_step": round(rate, 4), "steps": total}),
                  flush=True)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, total, args.lr, warmup)
        if workers is not None:
            room_name, sample = workers.next()
        else:
            room = train_rooms[rng.integers(len(train_rooms))]
            room_name, sample = room.name, make_sample(room, rng, config, args.max_per_voxel, with_variety=args.variety)
        if len(sample[1]) < 2:
            continue  # a pair without overlap after subsampling: draw another
        loss, acc, n = pair_loss(model, sample, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        record = {"step": step, "loss": loss.item(), "top1": acc.item(), "pairs": n, "room": room_name,
                  "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.time() - t0, 1)}
        if not math.isfinite(record["loss"]):
            raise SystemExit(f"step {step}: loss is {record['loss']}; stopping (last good checkpoint: {last})")
        if step % args.val_every == 0 or step == total:
            record.update(validate(model, val_samples, device))
            if record["val_loss"] < best:
                best = record["val_loss"]
                save_checkpoint(args.run / "best.pt", model, optimizer, step, best, args_json, rng)
        log.write(json.dumps(record) + "\n")
        log.flush()
        print(json.dumps(record), flush=True)
        if step % args.checkpoint_every == 0 or step == total:
            save_checkpoint(last, model, optimizer, step, best, args_json, rng)
    log.close()
    if workers is not None:
        workers.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
