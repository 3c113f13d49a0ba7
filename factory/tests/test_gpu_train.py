"""Pieces of the GPU training script (factory/scripts/gpu_train.py): its data definition keeps the test split the
benchmark's, the feature splatting it shares between processes renders each room once and like the factory's own
command, and the trainers' --time-budget cuts a run short. The whole script is proven by running it
(docs/VDVI.md, "Training on a GPU machine": the tiny preset on a CPU)."""
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from rtgs2.synthrooms import benchmark as B

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_train.py"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def gpu_train():
    spec = importlib.util.spec_from_file_location("gpu_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_test_split_is_the_benchmarks_and_the_seeds_are_disjoint(gpu_train):
    d = gpu_train.make_definition(gpu_train.PRESETS["gpu"], "random")
    test, full_test = d.split("test"), B.FULL.split("test")
    assert test.seeds == full_test.seeds and test.views_per_room == full_test.views_per_room
    assert set(full_test.resolutions) == set(test.resolutions)
    # the same generator options and settings: the same rooms, views and cameras as `full`
    assert d.options_for(test) == B.FULL.options_for(full_test) == {}
    assert all(d.room_fingerprint(test, s) == B.FULL.room_fingerprint(full_test, s) for s in test.seeds)
    assert d.split("realistic").seeds == B.REALISTIC_SEEDS
    assert d.split("realistic").generator_options == B.REALISTIC.split("realistic").generator_options
    assert d.split("train").generator_options == {"realism": "random", "shapes": True}
    big = gpu_train.make_definition({**gpu_train.PRESETS["gpu"], "train_rooms": 110}, "none")
    seeds = big.split("train").seeds
    assert len(seeds) == 110 and seeds[:60] == B.TRAIN_SEEDS and big.split("train").generator_options == {}
    # past the 60: the 40 furnished kitchens and offices first, then fresh seeds
    assert seeds[60:100] == B.FURNISHED_SEEDS and seeds[100:] == tuple(range(11000, 11010))
    assert gpu_train.make_definition({**gpu_train.PRESETS["gpu"], "train_rooms": 70}, "none").split("train").seeds[60:] \
        == B.FURNISHED_SEEDS[:10]
    # no seed in two splits: the extra train seeds are outside val, test and realistic
    B.check_definition(B.BenchmarkDefinition("x", (big.split("train"),) + B.FULL.splits[1:] + (B.REALISTIC.split("realistic"),)))
    assert B.SHOWCASE_SEED not in seeds


def test_rooms_are_made_validation_first_then_train_and_evaluation_rooms_in_turn(gpu_train):
    d = gpu_train.make_definition(gpu_train.PRESETS["cpu"], "random")
    schedule = gpu_train.room_schedule(d)
    expected = {(name, seed) for name in ("train", "val", "test", "realistic") for seed in d.split(name).seeds}
    assert len(schedule) == len(expected) and set(schedule) == expected
    assert [name for name, _ in schedule[:2]] == ["val", "val"]
    # a run cut after a few rooms has train rooms and test rooms, in the splits' own seed order
    assert [name for name, _ in schedule[2:8]] == ["train", "test", "realistic"] * 2
    assert [seed for name, seed in schedule if name == "train"] == list(d.split("train").seeds)


def test_stage_shares_fit_the_budget(gpu_train, tmp_path):
    stages = [name for name, _ in gpu_train.STAGE_SHARES]
    for shares in [gpu_train.STAGE_SHARES] + [p["shares"] for p in gpu_train.PRESETS.values() if "shares" in p]:
        assert [name for name, _ in shares] == stages
        assert 0.85 < sum(s for _, s in shares) <= 1.0
    # a preset's own shares set the deadlines: the cpu preset gives training more of the budget than the default
    cpu = gpu_train.Run(tmp_path / "out", tmp_path / "work", 1000.0, gpu_train.PRESETS["cpu"]["shares"])
    default = gpu_train.Run(tmp_path / "out2", tmp_path / "work2", 1000.0)
    assert cpu.deadline("data") - cpu.t0 == pytest.approx(180.0, abs=1e-6)
    assert default.deadline("data") - default.t0 == pytest.approx(250.0, abs=1e-6)
    span = lambda run, stage, before: run.deadline(stage) - run.deadline(before)
    assert span(cpu, "vdvi", "features") > span(default, "vdvi", "features")


def test_shared_feature_splatting_renders_each_room_once_like_the_factory_command(gpu_train, tmp_path):
    from rtgs2.synthrooms.benchmark import room_dir
    from rtgs2.vdvi.data import micro_benchmark

    bench, reference = micro_benchmark(tmp_path / "micro", k=4, size=(64, 48), views=2)
    npy = tmp_path / "npy"
    (npy / "test").mkdir(parents=True)
    feats = np.load(room_dir(reference, "test", 3002) / "gaussians.npy")
    np.save(npy / "test" / "room-03002.npy", feats)
    out = tmp_path / "features"
    task = (str(bench), str(out), str(npy), "test", 3002, time.time() + 600)
    assert gpu_train.render_room_features(task, "cpu") == "rendered"
    assert gpu_train.render_room_features(task, "cpu") == "claimed"  # another process got there first
    assert gpu_train.render_room_features((*task[:5], time.time() - 1), "cpu") == "late"
    views = sorted((room_dir(out, "test", 3002) / "views_64x48").glob("*.npz"))
    assert len(views) == 2
    for v in views:
        a = np.load(v)["features"]
        b = np.load(room_dir(reference, "test", 3002) / "views_64x48" / v.name)["features"]
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), atol=2e-3)
    done = json.loads((room_dir(out, "test", 3002) / "complete.json").read_text())
    assert done["k"] == 4


def test_rgb_options_are_checked(gpu_train, tmp_path):
    assert gpu_train.vdvi_extra_options(None, None) == []
    with pytest.raises(FileNotFoundError):
        gpu_train.vdvi_extra_options("mobilenetv2", str(tmp_path / "missing.pt"))
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    assert gpu_train.vdvi_extra_options("mobilenetv2", str(weights)) == [
        "--rgb-encoder", "mobilenetv2", "--rgb-weights", str(weights.resolve())]


def test_encoder_time_budget_cuts_the_run_with_sample_workers(tmp_path):
    from rtgs2.encoder import train

    t0 = time.time()
    assert train.main(["--synthetic", "2", "--config", "tiny", "--run", str(tmp_path / "run"), "--steps", "100000",
                       "--time-budget", "4", "--val-every", "1000000", "--val-pairs", "1", "--variety",
                       "--sample-workers", "1"]) == 0
    lines = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] < 100000 and "val_loss" in lines[-1]  # ended early, and validated at its end
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "best.pt").is_file()
    assert time.time() - t0 < 120


def test_shared_assets_can_travel_inside_the_repository(tmp_path, monkeypatch):
    # a GPU machine gets the repository only: the Poly Haven models go along in a folder inside it
    from rtgs2.synthrooms import gltf

    here = gltf.assets_dir()
    inside = tmp_path / "assets"
    (inside / "polyhaven").mkdir(parents=True)
    monkeypatch.setenv(gltf.ASSETS_ENV, str(inside))
    assert gltf.assets_dir() == inside
    monkeypatch.setenv(gltf.ASSETS_ENV, str(tmp_path / "nothing"))
    assert gltf.assets_dir() == here  # a wrong setting falls through to the next candidate
    monkeypatch.setattr(gltf, "REPO_ROOT", tmp_path / "repo")
    with pytest.raises(gltf.GltfError, match="factory/cache/assets"):
        gltf.assets_dir()


def test_encoder_config_option_is_checked(gpu_train, tmp_path):
    with pytest.raises(SystemExit) as refused:
        gpu_train.main(["--out", str(tmp_path / "out"), "--encoder-config", "no-such-config"])
    assert refused.value.code == 2
