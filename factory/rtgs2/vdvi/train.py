"""Training of the fusion models on SynthRooms (docs/VDVI.md).

    python -m rtgs2.vdvi.train --benchmark cache/synthrooms/full --features cache/features/<encoder-id> \
        --run-dir runs/vdvi-full [--variant full|rgb|features] [--arch vdvi|asymformer] \
        [--rgb-weights cache/pretrained/mobilenetv2.pt [--rgb-encoder mobilenetv2] [--backbone-lr-scale 0.1]] \
        [--no-centre-loss] [--no-label-smoothing] [--epochs 40] [--batch-size 16]
    torchrun --nproc_per_node 4 -m rtgs2.vdvi.train ...     # data parallel: NCCL on GPUs, gloo on CPU

RGB encoder (issue 14): with --rgb-weights (a file of `python3 -m rtgs2.vdvi.pretrained convert`) the RGB branch is
the pretrained MobileNetV2 (--rgb-encoder auto picks it), its weights loaded at the start of a new run and trained at
--backbone-lr-scale times the learning rate; without, the small RGB CNN learns from scratch as before.
The RGB-only fallback model the runtime uses while features are not ready is `--variant rgb` with the same options.

AdamW; learning rate: linear warm-up, then poly decay (power 0.9) to 0 at the last step. Loss: CE with label
smoothing 0.15 + 0.4 x neural-collapse centre loss (rtgs2.vdvi.loss). Augmentations random per sample
(rtgs2.vdvi.data.Augment). Model selection on the VALIDATION rooms only (dataset-level mIoU): best.pt; last.pt
holds what a resume needs (model, optimiser, step, epoch, best score; the schedule is a function of the step), and
a rerun with the same --run-dir resumes from it (at the start of the interrupted epoch's data order). log.jsonl: one line per logged step and per validation.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, DistributedSampler

from .data import Augment, SynthRoomsViews, collate, is_no_features
from .evaluate import evaluate, parse_size
from .loss import CENTRE_WEIGHT, LABEL_SMOOTHING, VdviLoss, balanced_class_weights
from .model import NUM_CLASSES, RGB_ENCODERS, SIZE_MULTIPLE, build_model, parameter_count


def lr_at(step: int, total: int, base: float, warmup: int, power: float = 0.9) -> float:
    """Linear warm-up over `warmup` steps, then poly decay base * (1 - t)^power, t from 0 to 1 at `total`."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * max(0.0, 1.0 - t) ** power


def train_mode(model: torch.nn.Module, batchnorm_frozen: bool) -> None:
    """model.train(), with every BatchNorm back in eval mode (fixed running statistics) when batchnorm_frozen."""
    model.train()
    if batchnorm_frozen:
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def parse_extra_train(value: str) -> tuple[Path, Path]:
    """--extra-train BENCHMARK=FEATURES."""
    bench, sep, feats = value.partition("=")
    if not sep or not bench or not feats:
        raise ValueError(f"--extra-train {value!r}: expected BENCHMARK=FEATURES (FEATURES may be none)")
    return Path(bench), Path(feats)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.train", description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", type=Path, required=True, help="generated SynthRooms subset, e.g. cache/synthrooms/full")
    p.add_argument("--features", type=Path, required=True, help="rendered features (python -m rtgs2.vdvi.data features), or none for --variant rgb")
    p.add_argument("--extra-train", action="append", default=[], metavar="BENCHMARK=FEATURES",
                   help="also train on this benchmark's --train-split views with these features (or none), e.g. "
                        "rooms generated with --realism random beside the clean ones; repeatable. --train-rooms "
                        "does not apply to them")
    p.add_argument("--run-dir", type=Path, required=True, help="run directory (checkpoints, log); resumes when it has last.pt")
    p.add_argument("--arch", choices=("vdvi", "asymformer"), default="vdvi")
    p.add_argument("--variant", choices=("full", "rgb", "features"), default="full")
    p.add_argument("--rgb-encoder", choices=("auto", *RGB_ENCODERS), default="auto",
                   help="RGB branch: auto = mobilenetv2 when --rgb-weights is given, else scratch")
    p.add_argument("--rgb-weights", type=Path, default=None,
                   help="pretrained RGB backbone (python3 -m rtgs2.vdvi.pretrained convert ... --out THIS)")
    p.add_argument("--backbone-lr-scale", type=float, default=0.1,
                   help="learning rate of the pretrained RGB backbone relative to --lr")
    p.add_argument("--no-centre-loss", action="store_true")
    p.add_argument("--no-label-smoothing", action="store_true")
    p.add_argument("--class-balance", type=float, default=0.0, metavar="POWER",
                   help="weight the CE per class by (median frequency / frequency) ** POWER over the training views' "
                        "labels (0 = off, the shipped models' recipe; 0.5 lifts rare classes)")
    p.add_argument("--epochs", type=float, default=40.0)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke runs)")
    p.add_argument("--batch-size", type=int, default=16, help="per process")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--train-resolution", default="320x240", help="WxH of the benchmark views to train on")
    p.add_argument("--val-resolution", default="320x240")
    p.add_argument("--crop", default="320x224", help="WxH training crop, multiples of 32")
    p.add_argument("--val-every", type=int, default=500, help="validate every N steps (and at the end)")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-rooms", type=str, default=None, help="comma-separated room seeds (default: all)")
    p.add_argument("--train-views", type=str, default=None, help="comma-separated view indices (fine-tuning)")
    p.add_argument("--train-split", default="train")
    p.add_argument("--val-split", default="val")
    p.add_argument("--val-rooms", type=str, default=None)
    p.add_argument("--val-views", type=str, default=None)
    p.add_argument("--init", type=Path, default=None, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--defocus", type=float, default=0.0,
                   help="probability of a depth-dependent defocus blur of a training sample's rgb (trained-3DGS softness; "
                        "0 = off, the shipped models' recipe)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds for the whole run: the step count is cut to what fits (rate measured over steps "
                        "5-15, time for the final validation kept back); the schedule anneals to the cut count")
    return p


def _ints(text: str | None) -> list[int] | None:
    return None if text is None else [int(v) for v in text.split(",") if v.strip()]


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). init_process_group when launched by torchrun (WORLD_SIZE set): NCCL on GPUs,
    gloo on CPU."""
    cuda = torch.cuda.is_available()
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", 0))
        if cuda:
            torch.cuda.set_device(local)
        return rank, world, torch.device(f"cuda:{local}" if cuda else "cpu")
    return 0, 1, torch.device("cuda" if cuda else "cpu")


def resolve_rgb_encoder(args: argparse.Namespace) -> str:
    """The RGB encoder a run builds: --rgb-encoder, or with auto the pretrained one when --rgb-weights is given."""
    encoder = args.rgb_encoder
    if encoder == "auto":
        encoder = "mobilenetv2" if args.rgb_weights is not None else "scratch"
    if args.rgb_weights is not None and encoder != "mobilenetv2":
        raise ValueError(f"--rgb-weights {args.rgb_weights}: only --rgb-encoder mobilenetv2 reads pretrained weights")
    if encoder == "mobilenetv2" and args.rgb_weights is None and args.init is None:
        raise ValueError("--rgb-encoder mobilenetv2 needs --rgb-weights (its point is the pretrained weights)")
    if encoder != "scratch" and (args.arch != "vdvi" or args.variant == "features"):
        raise ValueError(f"--rgb-encoder {encoder}: needs --arch vdvi and a variant with an RGB branch")
    return encoder


def train(args: argparse.Namespace) -> dict:
    t_start = time.time()
    torch.set_num_threads(args.threads)
    rank, world, device = setup_distributed()
    torch.manual_seed(args.seed + rank)
    crop_w, crop_h = parse_size(args.crop, "--crop")
    if crop_w % SIZE_MULTIPLE or crop_h % SIZE_MULTIPLE:
        raise ValueError(f"--crop {args.crop}: width and height must be multiples of {SIZE_MULTIPLE}")
    train_size = parse_size(args.train_resolution, "--train-resolution")
    augment = Augment(crop=(crop_h, crop_w), defocus_prob=args.defocus)
    # the --benchmark's views first, then each --extra-train benchmark's
    train_parts = [SynthRoomsViews(args.benchmark, args.features, args.train_split, train_size, augment=augment,
                                   rooms=_ints(args.train_rooms), views=_ints(args.train_views))]
    train_parts += [SynthRoomsViews(bench, feats, args.train_split, train_size, augment=augment, views=_ints(args.train_views))
                    for bench, feats in map(parse_extra_train, args.extra_train)]
    k = train_parts[0].k
    for extra in train_parts[1:]:
        if extra.k != k:
            raise ValueError(f"--extra-train {extra.benchmark}: features {extra.features} have K = {extra.k}, "
                             f"the main ones {k}")
    train_set = ConcatDataset(train_parts) if len(train_parts) > 1 else train_parts[0]
    val_set = SynthRoomsViews(args.benchmark, args.features, args.val_split, parse_size(args.val_resolution, "--val-resolution"),
                              rooms=_ints(args.val_rooms), views=_ints(args.val_views))
    rgb_encoder = resolve_rgb_encoder(args)
    model_args = {"arch": args.arch, "k": k, "variant": args.variant, "num_classes": NUM_CLASSES}
    if rgb_encoder != "scratch":  # runs from before issue 14 (scratch) keep their model_args as they were
        model_args["rgb_encoder"] = rgb_encoder
    model = build_model(**model_args)
    rgb_source = None
    if args.rgb_weights is not None and args.init is None:  # a resume overwrites these with its own weights below
        rgb_source = model.load_rgb_weights(args.rgb_weights)
    model = model.to(device)
    # A checkpoint imported from an ONNX file (rtgs2.vdvi.import_onnx) holds its BatchNorms folded into the
    # convolutions: batch statistics would undo that, so those BatchNorms stay in eval mode (weight and bias train).
    batchnorm_folded = False
    if args.init is not None:
        init = torch.load(args.init, map_location="cpu", weights_only=False)
        if init["model_args"] != model_args:
            raise ValueError(f"--init {args.init}: model {init['model_args']} differs from this run's {model_args}")
        model.load_state_dict(init["model"])
        batchnorm_folded = bool(init.get("batchnorm_folded", False))
    class_weights = None
    if args.class_balance > 0:
        counts = sum(part.label_counts(NUM_CLASSES) for part in train_parts)
        class_weights = balanced_class_weights(counts, args.class_balance)
    criterion = VdviLoss(NUM_CLASSES, model.embedding_dim,
                         label_smoothing=0.0 if args.no_label_smoothing else LABEL_SMOOTHING,
                         centre_weight=0.0 if args.no_centre_loss else CENTRE_WEIGHT, class_weights=class_weights).to(device)
    backbone = model.rgb_backbone_parameters() if hasattr(model, "rgb_backbone_parameters") else []
    backbone_ids = {id(p) for p in backbone}
    groups = [{"params": [p for p in model.parameters() if id(p) not in backbone_ids], "lr_scale": 1.0}]
    if backbone:
        groups.append({"params": backbone, "lr_scale": args.backbone_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=args.lr, weight_decay=args.weight_decay)

    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=args.seed, drop_last=True) if world > 1 else None
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=args.workers, collate_fn=collate, drop_last=len(train_set) >= args.batch_size * world,
                        persistent_workers=args.workers > 0, pin_memory=device.type == "cuda")
    steps_per_epoch = max(1, len(loader))
    total = max(1, math.ceil(args.epochs * steps_per_epoch))
    if args.max_steps is not None:
        total = min(total, args.max_steps)

    run = Path(args.run_dir)
    step, best, epoch = 0, -1.0, 0
    last = run / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        if state["model_args"] != model_args:
            raise ValueError(f"--run-dir {run}: last.pt is a {state['model_args']} run, not {model_args}; use a new --run-dir")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, epoch = state["step"], state["best_miou"], state["epoch"]
        batchnorm_folded = bool(state.get("batchnorm_folded", batchnorm_folded))
        if rank == 0:
            print(f"resuming {last} at step {step} (best val mIoU {best:.4f})", flush=True)
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        (run / "args.json").write_text(json.dumps({**{k_: str(v) for k_, v in vars(args).items()},
                                                   "model_args": model_args, "world_size": world,
                                                   "parameters": parameter_count(model),
                                                   "rgb_weights_source": rgb_source,
                                                   "class_weights": None if class_weights is None
                                                   else [round(float(w), 4) for w in class_weights]}, indent=1))
        print(f"{args.arch}/{args.variant} (RGB encoder {rgb_encoder}): {parameter_count(model) / 1e6:.2f} M parameters, K = {k}, "
              f"{len(train_set)} train views ({len(train_parts[0])} from --benchmark), {len(val_set)} {args.val_split} views, {total} steps on {device} "
              f"x {world}", flush=True)
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model

    def save(path: Path, extra: dict | None = None) -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "epoch": epoch,
                 "best_miou": best, "model_args": model_args, "args": {k_: str(v) for k_, v in vars(args).items()},
                 "batchnorm_folded": batchnorm_folded,
                 **(extra or {})}
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(path)

    def log(entry: dict) -> None:
        with open(run / "log.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")

    def validate() -> None:
        nonlocal best
        if rank == 0:
            result = evaluate(model, val_set, device, consistency=False)
            improved = result["miou"] > best
            if improved:
                best = result["miou"]
            log({"step": step, "val_miou": result["miou"], "val_miou_per_image": result["miou_per_image"],
                 "val_macc": result["macc"], "val_oacc": result["oacc"], "best": best})
            print(f"step {step}: val mIoU {result['miou']:.4f} (best {best:.4f})", flush=True)
            if improved:
                save(run / "best.pt", {"val": result})
            save(last)
            train_mode(model, batchnorm_folded)
        if world > 1:
            dist.barrier()

    t0 = time.time()
    timing_from = None
    warmup, max_total = args.warmup_steps, total
    train_mode(model, batchnorm_folded)
    while step < total:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for batch in loader:
            if step >= total:
                break
            if args.time_budget is not None and timing_from is None and step >= 5:
                timing_from = (time.time(), step)
            if args.time_budget is not None and timing_from is not None and step >= timing_from[1] + 10 \
                    and (step - timing_from[1] - 10) % 50 == 0:
                # sized after 10 timed steps, then again every 50 (the rate drifts on a shared machine)
                rate = (time.time() - timing_from[0]) / (step - timing_from[1])
                # the final validation costs about one pass over the val views
                reserve = 3.0 + 0.5 * rate * len(val_set) / max(1, args.batch_size)
                left = args.time_budget - (time.time() - t_start) - reserve
                total = max(step + 1, min(max_total, step + int(left / rate)))
                if step == timing_from[1] + 10:
                    warmup = min(warmup, max(1, total // 10))
                if rank == 0:
                    print(json.dumps({"time_budget": args.time_budget, "seconds_per_step": round(rate, 4),
                                      "steps": total}), flush=True)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, args.lr, warmup) * group.get("lr_scale", 1.0)
            rgb, feats = batch["rgb"].to(device, non_blocking=True), batch["features"].to(device, non_blocking=True)
            labels = batch["labels"].to(device, non_blocking=True)
            if args.variant == "rgb":
                feats = torch.zeros_like(feats)  # not read by the net; zeros keep the inputs honest
            logits, embedding = net(rgb, feats, return_embedding=True)
            loss, parts = criterion(logits, embedding, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if rank == 0 and (step % args.log_every == 0 or step == 1):
                entry = {"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                         **{k_: float(v) for k_, v in parts.items()}, "seconds": round(time.time() - t0, 1)}
                log(entry)
                print(json.dumps(entry), flush=True)
            if step % args.val_every == 0 and step < total:
                validate()
        epoch += 1
    validate()
    summary = {"steps": step, "best_val_miou": best, "seconds": round(time.time() - t0, 1), "world_size": world}
    if rank == 0:
        (run / "summary.json").write_text(json.dumps(summary, indent=1))
    if world > 1:
        dist.destroy_process_group()
    return summary


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if is_no_features(args.features) and args.variant != "rgb":
        print(f"error: --features none: only --variant rgb trains without features (got --variant {args.variant})",
              file=sys.stderr)
        return 2
    for name in ("benchmark", "features"):
        if name == "features" and is_no_features(args.features):
            continue
        if not getattr(args, name).is_dir():
            print(f"error: --{name} {getattr(args, name)}: not a directory", file=sys.stderr)
            return 2
    try:
        resolve_rgb_encoder(args)
        for bench, feats in map(parse_extra_train, args.extra_train):
            for path in (bench, None if is_no_features(feats) else feats):
                if path is not None and not path.is_dir():
                    raise ValueError(f"--extra-train: {path}: not a directory")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
