#!/usr/bin/env python3
"""The whole model factory in one wall-clock budget, for a GPU machine that starts empty (issue 14 item 5).

    factory/scripts/gpu_train.sh OUT [BUDGET_SECONDS] [options]       # the wrapper; or directly:
    python3 factory/scripts/gpu_train.py --out OUT --budget 420 [--rgb-encoder NAME --rgb-weights PATH] [--k 16]
    python3 factory/scripts/gpu_train.py --out /tmp/gpu-proof --budget 600 --preset tiny   # CPU proof, minutes

Stages, each with its own deadline (a share of the budget; a stage that ends early leaves its time to the next):
1. data      SynthRooms train/val/test rooms (the test split exactly as the benchmark's `full` one) and the
             "realistic" test split, generated on every CPU core (one process per core); train rooms use the
             domain-randomised generator (realism "random"); with --train-rooms over 60 the extra rooms are the 40
             furnished kitchens and offices (docs/SYNTHROOMS.md) first, then fresh seeds; each room's encoder input
             is computed through a random similarity + the scene-frame estimator + normalisation
             (rtgs2.random_frames) and stored beside it.
2. encoder   the Gaussian encoder retrained (PointInfoNCE) on the framed inputs with the real-capture variety, on
             CUDA when present, cut to its time budget (rtgs2.encoder.train --time-budget).
3. features  per-Gaussian features of every room (val, test, realistic first), splatted into every view.
4. vdvi      the full VDVI model and the RGB-only fallback, trained side by side on the one GPU (two processes).
5. export    ONNX: the full model fp32 + fp16, the fallback, the encoder; each with a parity check against PyTorch
             (onnxruntime CPU) and written to OUT as soon as it exists.
6. evaluate  test split at 320x240 and 640x480 and the realistic split (both models, both sizes).
7. timing    VDVI in PyTorch on the device, fp32 and fp16, 320x256 and 640x480.
OUT gets at most 8 files: the four ONNX models, metrics.json (rewritten after every stage), log.txt,
checkpoints.tar (model weights only, to resume or re-export elsewhere). Everything else stays in --work.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import queue
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path

FACTORY = Path(__file__).resolve().parents[1]
if str(FACTORY) not in sys.path:
    sys.path.insert(0, str(FACTORY))

# Shares of the budget, in order; the rest is slack for start-up and the final files.
STAGE_SHARES = (("data", 0.25), ("encoder", 0.13), ("features", 0.11), ("vdvi", 0.27), ("export", 0.07),
                ("evaluate", 0.08), ("timing", 0.04))
EXTRA_TRAIN_SEED_BASE = 11000  # train seeds beyond the benchmark's 60 and the furnished 40 (outside every split)


# ---------------------------------------------------------------------------------------------------------------
# Presets: what the default budget (420 s on the H200 box: 16 cores) fits, and a tiny one that proves every stage
# on a CPU in minutes.
# ---------------------------------------------------------------------------------------------------------------

PRESETS = {
    "gpu": {"train_rooms": 60, "train_views": 24, "val_rooms": 10, "test_rooms": 20, "realistic_rooms": 20,
            "eval_views": 8, "train_res": (320, 240), "eval_res": ((320, 240), (640, 480)), "max_gaussians": None,
            "encoder_config": "default", "batch_size": 32, "crop": "320x224", "loader_workers": 6,
            "timing_sizes": ((320, 256), (640, 480)), "timing_runs": 50},
    # A CPU run on a small shared machine (2 cores): the same stages and splits as "gpu" with the shipped CPU models'
    # trainer settings (batch 8, 160x128 crops, one loader worker) and shares that give training more of the time,
    # because a training step takes seconds. Rooms took about 22 s of one core each with realism and 24 views (2026-12-05,
    # quiet machine), hence the data stage's larger share.
    "cpu": {"train_rooms": 60, "train_views": 24, "val_rooms": 2, "test_rooms": 20, "realistic_rooms": 20,
            "eval_views": 8, "train_res": (320, 240), "eval_res": ((320, 240), (640, 480)), "max_gaussians": None,
            "encoder_config": "default", "batch_size": 8, "crop": "160x128", "loader_workers": 1,
            "timing_sizes": ((320, 256), (640, 480)), "timing_runs": 10,
            "shares": (("data", 0.18), ("encoder", 0.15), ("features", 0.13), ("vdvi", 0.36), ("export", 0.04),
                       ("evaluate", 0.12), ("timing", 0.02))},
    "tiny": {"train_rooms": 3, "train_views": 4, "val_rooms": 1, "test_rooms": 1, "realistic_rooms": 2,
             "eval_views": 2, "train_res": (96, 64), "eval_res": ((96, 64), (160, 128)), "max_gaussians": 6000,
             "encoder_config": "tiny", "batch_size": 4, "crop": "96x64", "loader_workers": 1,
             "timing_sizes": ((320, 256), (640, 480)), "timing_runs": 2},
}


class Run:
    """Budget, log and metrics of one run."""

    def __init__(self, out: Path, work: Path, budget: float, shares=STAGE_SHARES):
        self.t0 = time.time()
        self.shares = shares
        self.out, self.work, self.budget = out, work, budget
        out.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        self.log_file = open(out / "log.txt", "a", buffering=1)
        self.metrics: dict = {"budget_seconds": budget, "stages": {}, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def elapsed(self) -> float:
        return time.time() - self.t0

    def deadline(self, stage: str) -> float:
        """Absolute time by which `stage` must end: the budget's cumulative share up to and including it."""
        share = 0.0
        for name, s in self.shares:
            share += s
            if name == stage:
                return self.t0 + share * self.budget
        raise KeyError(stage)

    def end(self) -> float:
        return self.t0 + self.budget

    def log(self, message: str) -> None:
        line = f"[{self.elapsed():7.1f} s] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def save(self) -> None:
        self.metrics["elapsed_seconds"] = round(self.elapsed(), 1)
        tmp = self.out / ".metrics.json.tmp"
        tmp.write_text(json.dumps(self.metrics, indent=1, default=str))
        tmp.replace(self.out / "metrics.json")

    def stage(self, name: str, fn, *args) -> bool:
        """Runs one stage, records its seconds, status and result; an exception is logged, not raised."""
        start = time.time()
        left = self.deadline(name) - start
        self.log(f"== stage {name}: {left:.0f} s until its deadline ({self.end() - start:.0f} s left in all)")
        record = {"deadline_seconds": round(left, 1)}
        ok = True
        try:
            result = fn(*args)
            if result is not None:
                record["result"] = result
            record["status"] = "ok"
        except Exception as error:  # noqa: BLE001 - a failed stage must not lose what the others made
            ok = False
            record["status"] = "failed"
            record["error"] = f"{type(error).__name__}: {error}"
            self.log(f"stage {name} FAILED: {record['error']}\n{traceback.format_exc()}")
        record["seconds"] = round(time.time() - start, 1)
        self.metrics["stages"][name] = record
        self.log(f"== stage {name}: {record['status']} in {record['seconds']} s")
        self.save()
        return ok


# ---------------------------------------------------------------------------------------------------------------
# Stage 1: data
# ---------------------------------------------------------------------------------------------------------------

def make_definition(preset: dict, train_realism: str):
    from rtgs2.synthrooms.benchmark import (FURNISHED_SEEDS, REALISTIC_SEEDS, TEST_SEEDS, TRAIN_SEEDS,
                                            VALIDATION_SEEDS, BenchmarkDefinition, SplitSpec, check_definition)

    # Train rooms past the benchmark's 60 are the furnished kitchens and offices first (the only rooms with a
    # refrigerator or a desk; the CPU fine-tune of 2026-12-07/08 in MODEL_CARD.md lifted chair and refrigerator with
    # them), then fresh seeds.
    n = preset["train_rooms"]
    n_extra = max(0, n - len(TRAIN_SEEDS))
    fresh = tuple(range(EXTRA_TRAIN_SEED_BASE, EXTRA_TRAIN_SEED_BASE + max(0, n_extra - len(FURNISHED_SEEDS))))
    train_seeds = tuple(TRAIN_SEEDS[:n]) + (FURNISHED_SEEDS + fresh)[:n_extra]
    eval_res = tuple(tuple(r) for r in preset["eval_res"])
    train_options = {} if train_realism == "none" else {"realism": train_realism, "shapes": True}
    options = {} if preset["max_gaussians"] is None else {"max_gaussians": preset["max_gaussians"]}
    definition = BenchmarkDefinition(
        name="gpu",
        splits=(SplitSpec("train", train_seeds, preset["train_views"], (tuple(preset["train_res"]),), train_options),
                SplitSpec("val", VALIDATION_SEEDS[:preset["val_rooms"]], preset["eval_views"], eval_res[:1]),
                SplitSpec("test", TEST_SEEDS[:preset["test_rooms"]], preset["eval_views"], eval_res),
                SplitSpec("realistic", REALISTIC_SEEDS[:preset["realistic_rooms"]], preset["eval_views"], eval_res,
                          {"realism": "realistic", "shapes": True})),
        generator_options=options)
    check_definition(definition)
    return definition


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def make_room(task) -> dict:
    """One room: the benchmark's files (generate_room_files) and its framed encoder input (encoder_input.npy +
    frame.json). Runs in a worker process."""
    definition, split_name, seed, root, framed, version = task
    from rtgs2.synthrooms.benchmark import generate_room_files, room_dir

    t0 = time.time()
    split = definition.split(split_name)
    generate_room_files(definition, split, seed, root, log=lambda m: None, version=version)
    path = room_dir(root, split_name, seed)
    record = {"split": split_name, "seed": seed}
    if framed and not (path / "encoder_input.npy").is_file():
        import numpy as np

        from rtgs2.ply import read_ply
        from rtgs2.random_frames import framed_input_channels

        channels, frame = framed_input_channels(read_ply(path / "scene.ply"), seed)
        tmp = path / "encoder_input.tmp.npy"
        np.save(tmp, channels)
        tmp.replace(path / "encoder_input.npy")
        (path / "frame.json").write_text(json.dumps(frame, indent=1))
        record.update({k: frame[k] for k in ("up_error_deg", "scale_ratio", "floor_offset_m", "confidence", "fallback")})
    record["seconds"] = round(time.time() - t0, 2)
    return record


def room_schedule(definition) -> list[tuple[str, int]]:
    """The order rooms are made in: validation first (training needs it), then train, test and realistic rooms in
    turn, so that a data stage cut by its deadline still leaves rooms to train on and rooms to measure. (Evaluation
    rooms all first left no train room at all when a loaded 2-core machine made a room a minute, 2026-12-05.)"""
    queues = [[(name, seed) for seed in definition.split(name).seeds] for name in ("train", "test", "realistic")]
    schedule = [("val", seed) for seed in definition.split("val").seeds]
    while any(queues):
        for q in queues:
            if q:
                schedule.append(q.pop(0))
    return schedule


def stage_data(run: Run, definition, processes: int, framed: bool) -> dict:
    from rtgs2.synthrooms.benchmark import _atomic_write_json, code_version

    root = run.work / "bench" / definition.name
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(root / "benchmark.json", definition.to_json())
    version = code_version()
    order = ("val", "test", "realistic", "train")
    tasks = [(definition, s, seed, root, framed, version) for s, seed in room_schedule(definition)]
    done, failed = [], []
    context = mp.get_context("spawn")
    pool = context.Pool(processes, initializer=_init_worker)
    try:
        results = pool.imap_unordered(make_room, tasks)
        for _ in range(len(tasks)):
            left = run.deadline("data") - time.time()
            if left <= 0:
                raise mp.TimeoutError
            try:
                done.append(results.next(timeout=left))
            except mp.TimeoutError:
                raise
            except Exception as error:  # noqa: BLE001 - one bad room is reported, the others go on
                failed.append(f"{type(error).__name__}: {error}")
                run.log(f"room failed: {failed[-1]}")
        pool.close()
    except mp.TimeoutError:
        run.log(f"data deadline: {len(tasks) - len(done) - len(failed)} rooms not finished")
        pool.terminate()
    finally:
        pool.join()
    per_split = {s: sum(1 for d in done if d["split"] == s) for s in order}
    seconds = [d["seconds"] for d in done]
    summary = {"root": str(root), "rooms_done": per_split, "rooms_failed": failed,
               "processes": processes, "framed": framed,
               "room_seconds_mean": round(sum(seconds) / max(1, len(seconds)), 2)}
    if framed:
        ups = sorted(d["up_error_deg"] for d in done if "up_error_deg" in d)
        scales = [abs(d["scale_ratio"] - 1) for d in done if "scale_ratio" in d]
        if ups:
            summary["frame"] = {"rooms": len(ups), "up_error_deg_median": ups[len(ups) // 2],
                                "up_within_3deg": sum(u <= 3 for u in ups) / len(ups),
                                "scale_within_10pct": sum(s <= 0.1 for s in scales) / len(scales),
                                "fallbacks": sum(bool(d.get("fallback")) for d in done)}
    run.log(f"data: {per_split} rooms, {len(failed)} failed, mean {summary['room_seconds_mean']} s per room per process")
    run.metrics["data"] = summary
    if per_split["train"] == 0 or per_split["val"] == 0:
        raise RuntimeError("no train or no val room finished: nothing to train on")
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Stages 2 and 4: training in subprocesses (their own --time-budget; a hard timeout behind it)
# ---------------------------------------------------------------------------------------------------------------

def _run_logged(run: Run, name: str, command: list[str], hard_timeout: float) -> subprocess.Popen:
    log_path = run.work / f"{name}.log"
    run.log(f"{name}: {' '.join(command)}")
    handle = open(log_path, "w")
    env = {**os.environ, "PYTHONPATH": str(FACTORY) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(command, cwd=FACTORY, stdout=handle, stderr=subprocess.STDOUT, env=env)
    proc.log_path, proc.hard_deadline, proc.handle = log_path, time.time() + hard_timeout, handle
    return proc


def _wait(run: Run, procs: dict) -> dict:
    codes = {}
    while len(codes) < len(procs):
        for name, p in procs.items():
            if name in codes:
                continue
            if p.poll() is not None:
                codes[name] = p.returncode
            elif time.time() > p.hard_deadline:
                run.log(f"{name}: past its hard deadline, killed")
                p.kill()
                p.wait()
                codes[name] = "killed"
        time.sleep(0.5)
    for name, p in procs.items():
        p.handle.close()
        tail = p.log_path.read_text().splitlines()[-6:]
        run.log(f"{name} exit {codes[name]}; last lines:\n    " + "\n    ".join(tail))
    return codes


def stage_encoder(run: Run, definition, preset: dict, k: int, framed: bool, device: str, sample_workers: int) -> dict:
    budget = run.deadline("encoder") - time.time() - 5
    run_dir = run.work / "runs" / "encoder"
    command = [sys.executable, "-m", "rtgs2.encoder.train", "--data", str(run.work / "bench" / definition.name),
               "--run", str(run_dir), "--steps", "1000000", "--time-budget", f"{budget:.0f}", "--k", str(k),
               "--config", preset["encoder_config"], "--val-every", "1000000000", "--checkpoint-every", "200",
               "--val-pairs", "2", "--variety", "--device", device,
               "--sample-workers", str(sample_workers)] + (["--framed"] if framed else [])
    codes = _wait(run, {"encoder": _run_logged(run, "encoder", command, budget + 90)})
    checkpoint = run_dir / "best.pt" if (run_dir / "best.pt").is_file() else run_dir / "last.pt"
    if not checkpoint.is_file():
        raise RuntimeError(f"the encoder run left no checkpoint (exit {codes['encoder']})")
    lines = [json.loads(l) for l in (run_dir / "log.jsonl").read_text().splitlines() if l.strip()]
    vals = [l for l in lines if "val_loss" in l]
    return {"exit": codes["encoder"], "checkpoint": str(checkpoint), "steps": lines[-1]["step"] if lines else 0,
            "final_loss": lines[-1]["loss"] if lines else None, "val": vals[-1] if vals else None}


def stage_features(run: Run, definition, encoder_checkpoint: Path, framed: bool, device: str,
                   helper_processes: int) -> dict:
    import numpy as np
    import torch

    from rtgs2.encoder.export import load_checkpoint
    from rtgs2.encoder.model import feeds_to_torch
    from rtgs2.encoder.serialization import serialize_scene
    from rtgs2.encoder.train import room_channels
    from rtgs2.synthrooms.benchmark import _atomic_write_json, room_dir

    bench = run.work / "bench" / definition.name
    npy = run.work / "per-gaussian"
    out = run.work / "features"
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(out / "benchmark.json", json.loads((bench / "benchmark.json").read_text()))
    model = load_checkpoint(encoder_checkpoint).to(device).eval()
    k = int(model.config.out_dim)
    _atomic_write_json(out / "source.json", {"source": f"npy:{npy}", "k": k})
    order = ("val", "test", "realistic", "train")
    counts = {}
    t0 = time.time()
    for split in order:
        for room in sorted((bench / split).glob("room-*")):
            if not (room / "complete.json").is_file():
                continue
            target = npy / split / f"{room.name}.npy"
            if target.is_file():
                continue
            channels = room_channels(room, framed)
            feeds = serialize_scene(channels, model.config.serialization).feeds()
            with torch.no_grad():
                feats = model.forward_feeds(feeds_to_torch(feeds, device)).float().cpu().numpy()
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, feats)
            counts[split] = counts.get(split, 0) + 1
    run.log(f"per-Gaussian features: {counts} rooms in {time.time() - t0:.1f} s")
    # Splatting: this process renders on the device in priority order (val, test, realistic, train); when the
    # device is a GPU, CPU worker processes render train rooms from the other end of the list meanwhile. A room is
    # claimed (an O_EXCL file) before it is rendered, so each room is rendered once.
    rooms = [(split, int(r.name.split("-")[-1])) for split in order for r in sorted((bench / split).glob("room-*"))
             if (npy / split / f"{r.name}.npy").is_file()]
    deadline = run.deadline("features")
    pool = None
    if helper_processes > 0:
        helpers = [(str(bench), str(out), str(npy), split, seed, deadline) for split, seed in reversed(rooms) if split == "train"]
        pool = mp.get_context("spawn").Pool(helper_processes, initializer=_init_worker)
        cpu_results = pool.map_async(render_room_features, helpers)
    rendered = {"device": 0, "cpu": 0}
    render_device = device
    for split, seed in rooms:
        if time.time() > deadline:
            break
        task = (str(bench), str(out), str(npy), split, seed, deadline)
        try:
            status = render_room_features(task, render_device)
        except RuntimeError as error:  # e.g. the renderer failing on this GPU: the CPU still works
            if render_device == "cpu":
                raise
            run.log(f"features: rendering on {render_device} failed ({error}); rendering on the CPU from now on")
            render_device = "cpu"
            (room_dir(out, split, seed) / "claimed").unlink(missing_ok=True)
            status = render_room_features(task, render_device)
        if status == "rendered":
            rendered["device"] += 1
    if pool is not None:
        pool.close()
        try:
            rendered["cpu"] = sum(r == "rendered" for r in cpu_results.get(timeout=max(1.0, deadline - time.time() + 30)))
        except mp.TimeoutError:
            run.log("features: CPU helpers past the deadline, stopped")
            pool.terminate()
        pool.join()
    complete = {split: sum(1 for s_, seed in rooms if s_ == split and
                           (room_dir(out, split, seed) / "complete.json").is_file()) for split in order}
    run.log(f"splatted features: rooms rendered {rendered}, complete per split {complete} in {time.time() - t0:.1f} s")
    if not complete.get("train") or not complete.get("val"):
        raise RuntimeError("no train or no val room has splatted features")
    return {"k": k, "rooms_encoded": counts, "rooms_rendered": rendered, "complete": complete, "dir": str(out)}


def render_room_features(task, device: str = "cpu") -> str:
    """Splats one room's per-Gaussian features into all of its views (every resolution), unless another process
    claimed the room first or the deadline passed. Returns 'rendered', 'claimed' or 'late'."""
    import numpy as np

    from rtgs2.ply import read_ply
    from rtgs2.render import prepare, render
    from rtgs2.synthrooms.benchmark import _atomic_write_json, _atomic_write_npz, load_cameras, views_dir
    from rtgs2.vdvi.data import room_resolutions

    bench, out, npy, split, seed, deadline = task
    if time.time() > deadline:
        return "late"
    from rtgs2.synthrooms.benchmark import room_dir as rdir

    source, target = rdir(Path(bench), split, seed), rdir(Path(out), split, seed)
    target.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(target / "claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return "claimed"
    feats = np.load(Path(npy) / split / f"room-{seed:05d}.npy")
    ply_hash = json.loads((source / "complete.json").read_text()).get("ply_sha256")
    _atomic_write_json(target / "started.json", {"ply_sha256": ply_hash, "source": f"npy:{npy}"})
    prepared = prepare(read_ply(source / "scene.ply"), features=feats, device=device)
    for res in room_resolutions(source):
        for v, cam in enumerate(load_cameras(source, res)):
            splatted = render(prepared, cam, output="numpy")["features"]
            _atomic_write_npz(views_dir(target, res) / f"{v:03d}.npz", features=splatted.astype(np.float16))
    _atomic_write_json(target / "complete.json", {"ply_sha256": ply_hash, "k": int(feats.shape[1]), "source": f"npy:{npy}"})
    return "rendered"


def vdvi_extra_options(rgb_encoder: str | None, rgb_weights: str | None) -> list[str]:
    """--rgb-encoder/--rgb-weights for rtgs2.vdvi.train when it has them (the rgbprior work); an error when they
    are asked for and the trainer does not know them."""
    from rtgs2.vdvi.train import build_parser

    known = {o for a in build_parser()._actions for o in a.option_strings}
    extra = []
    for flag, value in (("--rgb-encoder", rgb_encoder), ("--rgb-weights", rgb_weights)):
        if value is None:
            continue
        if flag not in known:
            raise ValueError(f"{flag} given but rtgs2.vdvi.train has no such option (the RGB prior is not in this checkout)")
        if flag == "--rgb-weights":
            value = str(Path(value).resolve())  # the trainers run in factory/; the path was given from here
            if not Path(value).is_file():
                raise FileNotFoundError(f"--rgb-weights {value}: no such file (python3 -m rtgs2.vdvi.pretrained convert)")
        extra += [flag, value]
    return extra


def fallback_variant() -> str:
    """The RGB-only fallback's --variant: 'rgb' (the VDVI network without its feature branch)."""
    return "rgb"


def stage_vdvi(run: Run, definition, preset: dict, extra: list[str], threads: int) -> dict:
    budget = run.deadline("vdvi") - time.time() - 5
    bench, feats = run.work / "bench" / definition.name, run.work / "features"
    common = ["--benchmark", str(bench), "--features", str(feats), "--epochs", "100000", "--time-budget",
              f"{budget:.0f}", "--batch-size", str(preset["batch_size"]), "--crop", preset["crop"],
              "--train-resolution", "x".join(map(str, preset["train_res"])),
              "--val-resolution", "x".join(map(str, preset["eval_res"][0])), "--val-every", "1000000000",
              "--log-every", "50", "--workers", str(preset["loader_workers"]), "--threads", str(threads)] + extra
    procs = {
        "vdvi-full": _run_logged(run, "vdvi-full", [sys.executable, "-m", "rtgs2.vdvi.train", *common, "--variant",
                                                    "full", "--run-dir", str(run.work / "runs" / "vdvi-full")], budget + 120),
        "vdvi-fallback": _run_logged(run, "vdvi-fallback", [sys.executable, "-m", "rtgs2.vdvi.train", *common,
                                                            "--variant", fallback_variant(), "--run-dir",
                                                            str(run.work / "runs" / "vdvi-fallback")], budget + 120),
    }
    codes = _wait(run, procs)
    result = {}
    for name in procs:
        d = run.work / "runs" / name
        summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").is_file() else None
        result[name] = {"exit": codes[name], "summary": summary, "best": str(d / "best.pt") if (d / "best.pt").is_file() else None}
    if result["vdvi-full"]["best"] is None:
        raise RuntimeError("the full VDVI run left no best.pt")
    return result


# ---------------------------------------------------------------------------------------------------------------
# Stage 5: export
# ---------------------------------------------------------------------------------------------------------------

def stage_export(run: Run, definition, encoder_checkpoint: Path, vdvi: dict, framed: bool) -> dict:
    import numpy as np
    import torch

    from rtgs2.encoder import export as enc_export
    from rtgs2.encoder.train import room_channels
    from rtgs2.vdvi import export as vx
    from rtgs2.vdvi.data import SynthRoomsViews
    from rtgs2.vdvi.evaluate import load_model
    from rtgs2.vdvi.model import SIZE_MULTIPLE

    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    bench, feats = run.work / "bench" / definition.name, run.work / "features"
    result = {}
    # the full model (fp32, fp16) and the fallback, parity on a test view at the largest size
    res = tuple(definition.split("test").resolutions[-1])
    views = SynthRoomsViews(bench, feats, "test", res)
    s = views[0]
    h, w = s["rgb"].shape[1:]
    h, w = h - h % SIZE_MULTIPLE, w - w % SIZE_MULTIPLE
    rgb, fts = s["rgb"][None, :, :h, :w].numpy(), s["features"][None, :, :h, :w].numpy()
    k = views.k
    jobs = [("vdvi-full", f"vdvi-k{k}.onnx", False), ("vdvi-full", f"vdvi-k{k}-fp16.onnx", True),
            ("vdvi-fallback", f"vdvi-rgb-k{k}.onnx", False)]
    for run_name, filename, fp16 in jobs:
        best = vdvi.get(run_name, {}).get("best")
        if best is None:
            result[filename] = {"status": "no checkpoint"}
            continue
        model, state = load_model(Path(best), "cpu")
        data = vx.export_onnx(model, state["model_args"], run.out / filename, fp16=fp16,
                              extra_metadata={"training_step": str(state.get("step")), "trained_by": "factory/scripts/gpu_train.py"})
        p = vx.parity(model, data, rgb, fts)
        ok = p["label_agreement"] >= (0.99 if fp16 else 0.999)
        result[filename] = {"bytes": len(data), "parity": p, "parity_ok": ok, "step": state.get("step")}
        run.log(f"exported {filename}: {len(data)} bytes, parity {p}{'' if ok else ' (BELOW THE THRESHOLD)'}")
    # the encoder, parity on one test room (at most 40k Gaussians: onnxruntime on the CPU)
    model = enc_export.load_checkpoint(encoder_checkpoint)
    room = sorted((bench / "test").glob("room-*"))[0]
    channels = room_channels(room, framed)[:40_000]
    filename = f"gaussian-encoder-k{model.config.out_dim}.onnx"
    data = enc_export.export_onnx(model, run.out / filename, channels[:4096],
                                  extra_metadata={"trained_by": "factory/scripts/gpu_train.py"})
    p = enc_export.parity(model, data, channels)
    result[filename] = {"bytes": len(data), "parity": p, "parity_ok": p["min_cosine"] >= 0.999}
    run.log(f"exported {filename}: {len(data)} bytes, parity {p}")
    # every exported file loads in onnxruntime
    import onnxruntime as ort

    for filename in list(result):
        path = run.out / filename
        if path.is_file():
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            result[filename]["inputs"] = [i.name for i in session.get_inputs()][:3]
    # model weights only, to re-export or fine-tune elsewhere
    with tarfile.open(run.out / "checkpoints.tar", "w") as tar:
        for name, path in (("encoder.pt", encoder_checkpoint), ("vdvi-full.pt", vdvi.get("vdvi-full", {}).get("best")),
                           ("vdvi-fallback.pt", vdvi.get("vdvi-fallback", {}).get("best"))):
            if path is None:
                continue
            state = torch.load(path, map_location="cpu", weights_only=False)
            slim = {key: state[key] for key in ("model", "config", "model_args", "step", "args") if key in state}
            # fp16 weights: the tar must stay under the 16 MiB a returned file may have; enough to re-export
            # (in fp32 again) or to start a fine-tuning from
            slim["model"] = {n: t.half() if t.is_floating_point() else t for n, t in slim["model"].items()}
            slim["weights_precision"] = "fp16"
            buffer = io.BytesIO()
            torch.save(slim, buffer)
            info = tarfile.TarInfo(name)
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)
    result["checkpoints.tar"] = {"bytes": (run.out / "checkpoints.tar").stat().st_size}
    return result


# ---------------------------------------------------------------------------------------------------------------
# Stages 6 and 7: evaluation and timing
# ---------------------------------------------------------------------------------------------------------------

def stage_evaluate(run: Run, definition, vdvi: dict, device: str) -> dict:
    import torch

    from rtgs2.vdvi.data import SynthRoomsViews
    from rtgs2.vdvi.evaluate import evaluate, load_model

    bench, feats = run.work / "bench" / definition.name, run.work / "features"
    small, large = (tuple(r) for r in (definition.split("test").resolutions[0], definition.split("test").resolutions[-1]))
    plan = [("vdvi-full", "test", small), ("vdvi-fallback", "test", small), ("vdvi-full", "realistic", small),
            ("vdvi-full", "test", large), ("vdvi-fallback", "realistic", small), ("vdvi-full", "realistic", large),
            ("vdvi-fallback", "test", large), ("vdvi-fallback", "realistic", large)]
    results = {}
    models = {}
    for run_name, split, res in plan:
        if time.time() > run.deadline("evaluate"):
            run.log("evaluate: deadline, the rest is not evaluated")
            break
        best = vdvi.get(run_name, {}).get("best")
        if best is None:
            continue
        if run_name not in models:
            models[run_name] = load_model(Path(best), device)[0]
        try:
            views = SynthRoomsViews(bench, feats, split, res)
        except ValueError as error:
            run.log(f"evaluate {run_name} {split} {res}: {error}")
            continue
        t0 = time.time()
        with torch.no_grad():
            r = evaluate(models[run_name], views, device, consistency=True)
        key = f"{run_name}/{split}/{res[0]}x{res[1]}"
        results[key] = {"miou": r["miou"], "miou_per_image": r["miou_per_image"], "macc": r["macc"], "oacc": r["oacc"],
                        "view_consistency": r.get("view_consistency", {}).get("score"), "views": len(views),
                        "rooms": len({ref.seed for ref in views.items}), "per_class_iou": r.get("per_class_iou")}
        run.log(f"{key}: mIoU {100 * r['miou']:.1f} (per image {100 * r['miou_per_image']:.1f}), oAcc "
                f"{100 * r['oacc']:.1f}, {len(views)} views, {time.time() - t0:.1f} s")
        run.metrics["evaluation"] = results
        run.save()
    return results


def stage_timing(run: Run, vdvi: dict, sizes, runs: int, device: str) -> dict:
    import torch

    from rtgs2.vdvi.evaluate import load_model

    results = {}
    dev = torch.device(device)
    for run_name in ("vdvi-full", "vdvi-fallback"):
        best = vdvi.get(run_name, {}).get("best")
        if best is None:
            continue
        base, state = load_model(Path(best), "cpu")
        k = state["model_args"]["k"]
        for precision in ("fp32", "fp16"):
            if precision == "fp16" and dev.type != "cuda":
                continue  # no fp16 arithmetic worth timing on a CPU
            import copy

            model = copy.deepcopy(base).to(dev).eval()
            dtype = torch.float16 if precision == "fp16" else torch.float32
            model = model.to(dtype)
            for w, h in sizes:
                if time.time() > run.deadline("timing"):
                    return results
                rgb = torch.rand(1, 3, h, w, device=dev, dtype=dtype)
                feats = torch.rand(1, k, h, w, device=dev, dtype=dtype)
                times = []
                with torch.no_grad():
                    for i in range(runs + min(10, runs)):
                        if times and time.time() > run.deadline("timing"):
                            break
                        if dev.type == "cuda":
                            torch.cuda.synchronize()
                        t = time.perf_counter()
                        model(rgb, feats)
                        if dev.type == "cuda":
                            torch.cuda.synchronize()
                        if i >= min(10, runs):
                            times.append(1000 * (time.perf_counter() - t))
                times.sort()
                key = f"{run_name}/{precision}/{w}x{h}"
                results[key] = {"median_ms": times[len(times) // 2], "min_ms": times[0], "runs": len(times)}
                run.log(f"timing {key}: median {times[len(times) // 2]:.2f} ms, min {times[0]:.2f} ms")
    results["device"] = torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor() or "cpu"
    return results


# ---------------------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="where the at most 8 result files go ($OUT)")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds of wall time for everything (default 420)")
    ap.add_argument("--work", type=Path, default=None, help="scratch directory (default: <tmp>/rtgs2-gpu-work)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="gpu")
    ap.add_argument("--k", type=int, default=16, help="encoder output channels (16; 32 as an option)")
    ap.add_argument("--encoder-config", default=None,
                    help="rtgs2.encoder.train --config instead of the preset's: e.g. fast-grid7.5 or fast-narrow, the "
                         "faster candidates of BENCHMARKS.md \"Encoder architectures: speed only\"")
    ap.add_argument("--train-rooms", type=int, default=None, help="override the preset's train room count")
    ap.add_argument("--realistic-rooms", type=int, default=None,
                    help="override the preset's realistic test room count (fewer leave the data stage more train rooms)")
    ap.add_argument("--train-realism", default="random",
                    help="realism of the train rooms: random (default: a mix, rtgs2.synthrooms.realism), none, "
                         "realistic, all or kind names")
    ap.add_argument("--no-frames", action="store_true",
                    help="encoder input in the canonical frame (skip the random frame + estimator path)")
    ap.add_argument("--rgb-encoder", default=None, help="passed to rtgs2.vdvi.train (pretrained RGB backbone)")
    ap.add_argument("--rgb-weights", default=None, help="passed to rtgs2.vdvi.train")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="data generation processes")
    ap.add_argument("--assets", type=Path, default=None,
                    help="the shared assets folder (with polyhaven/); default: rtgs2.synthrooms.gltf.assets_dir() "
                         "(RTGS2_ASSETS, <repo>/shared/assets, <repo>/factory/cache/assets, ../shared/assets)")
    ap.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    ap.add_argument("--feature-helpers", type=int, default=None,
                    help="CPU processes that splat train rooms' features while the device does the rest "
                         "(default: --processes - 2 with a GPU, 0 without)")
    args = ap.parse_args(argv)

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    preset = dict(PRESETS[args.preset])
    if args.train_rooms is not None:
        preset["train_rooms"] = args.train_rooms
    if args.realistic_rooms is not None:
        preset["realistic_rooms"] = args.realistic_rooms
    if args.encoder_config is not None:
        from rtgs2.encoder.train import CONFIGS

        if args.encoder_config not in CONFIGS:
            ap.error(f"--encoder-config {args.encoder_config}: not one of {', '.join(sorted(CONFIGS))}")
        preset["encoder_config"] = args.encoder_config
    work = args.work or Path(os.environ.get("TMPDIR", "/tmp")) / "rtgs2-gpu-work"
    run = Run(args.out.resolve(), work.resolve(), args.budget, preset.get("shares", STAGE_SHARES))
    from rtgs2.random_frames import frame_module_available
    from rtgs2.synthrooms.benchmark import code_version

    framed = not args.no_frames
    if framed and not frame_module_available():
        run.log("rtgs2.frame is not in this checkout: encoder input stays in the canonical frame")
        framed = False
    run.metrics.update({
        "device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "code_version": code_version(), "preset": args.preset, "settings": {**preset, "k": args.k,
                                                                          "train_realism": args.train_realism,
                                                                          "framed": framed, "rgb_encoder": args.rgb_encoder,
                                                                          "rgb_weights": args.rgb_weights},
        "command": " ".join(sys.argv)})
    if args.assets is not None:
        os.environ["RTGS2_ASSETS"] = str(args.assets.resolve())  # inherited by every worker and trainer
    from rtgs2.synthrooms.gltf import assets_dir

    run.metrics["assets"] = str(assets_dir())  # fails here, at once, when the Poly Haven models are not at hand
    run.log(f"device {device}, {os.cpu_count()} CPUs, budget {args.budget:.0f} s, preset {args.preset}, work {run.work}, "
            f"assets {run.metrics['assets']}")
    run.save()
    extra = vdvi_extra_options(args.rgb_encoder, args.rgb_weights)
    definition = make_definition(preset, args.train_realism)
    threads = 2 if device == "cuda" else 1
    helpers = args.feature_helpers if args.feature_helpers is not None else (
        max(0, args.processes - 2) if device != "cpu" else 0)

    if not run.stage("data", stage_data, run, definition, args.processes, framed):
        return 1
    if not run.stage("encoder", stage_encoder, run, definition, preset, args.k, framed, device,
                     max(1, args.processes - 2)):
        return 1
    encoder_checkpoint = Path(run.metrics["stages"]["encoder"]["result"]["checkpoint"])
    if not run.stage("features", stage_features, run, definition, encoder_checkpoint, framed, device,
                     helpers):
        return 1
    if not run.stage("vdvi", stage_vdvi, run, definition, preset, extra, threads):
        return 1
    vdvi = run.metrics["stages"]["vdvi"]["result"]
    run.stage("export", stage_export, run, definition, encoder_checkpoint, vdvi, framed)
    run.stage("evaluate", stage_evaluate, run, definition, vdvi, device)
    run.stage("timing", stage_timing, run, vdvi, preset["timing_sizes"], preset["timing_runs"], device)
    failed = [n for n, s in run.metrics["stages"].items() if s["status"] != "ok"]
    run.log(f"done in {run.elapsed():.0f} s of {args.budget:.0f}; stages failed: {failed or 'none'}")
    files = sorted(p.name for p in run.out.iterdir() if p.is_file() and not p.name.startswith("."))
    run.metrics["files"] = files
    run.save()
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
