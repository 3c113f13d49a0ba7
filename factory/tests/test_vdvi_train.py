"""VDVI data, training, evaluation and fine-tuning on a micro benchmark generated here (a few seconds): the real
cache (factory/cache/) is not in CI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rtgs2.vdvi import train as train_mod
from rtgs2.vdvi.data import Augment, FeatureSource, SynthRoomsViews, defocus, generate_features, micro_benchmark
from rtgs2.vdvi.evaluate import evaluate, load_model

FACTORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    torch.set_num_threads(1)
    return micro_benchmark(tmp_path_factory.mktemp("vdvi-micro"), k=8)


def smoke_args(micro, run_dir, *extra):
    benchmark, features = micro
    return ["--benchmark", str(benchmark), "--features", str(features), "--run-dir", str(run_dir),
            "--train-resolution", "96x64", "--val-resolution", "96x64", "--crop", "64x64", "--batch-size", "2",
            "--workers", "0", "--warmup-steps", "1", "--log-every", "1", *extra]


def test_features_are_rendered_per_view_and_resumable(micro):
    benchmark, features = micro
    view = np.load(features / "train" / "room-01001" / "views_96x64" / "000.npz")["features"]
    assert view.dtype == np.float16 and view.shape == (64, 96, 8)
    gaussians = np.load(features / "train" / "room-01001" / "gaussians.npy")
    assert np.allclose(np.linalg.norm(gaussians, axis=1), 1.0, atol=1e-5)  # raw10 stand-in: unit length
    rgb_view = np.load(benchmark / "train" / "room-01001" / "views_96x64" / "000.npz")
    # splatted, not divided by alpha: the feature norm is at most the coverage (convex weights of unit vectors)
    norm = np.linalg.norm(view.astype(np.float32), axis=2)
    assert (norm <= rgb_view["alpha"].astype(np.float32) + 2e-2).all()
    assert (norm[rgb_view["alpha"] < 0.01] < 0.02).all()
    summary = generate_features(benchmark, features, FeatureSource("raw10", 8), log=lambda m: None)
    assert summary["rooms_skipped"] == 3 and summary["views_rendered"] == 0
    # an interrupted room: only what is missing is rendered, and the same bytes come back
    room = features / "test" / "room-03002"
    before = np.load(room / "views_96x64" / "001.npz")["features"]
    (room / "complete.json").unlink()
    (room / "views_96x64" / "001.npz").unlink()
    summary = generate_features(benchmark, features, FeatureSource("raw10", 8), log=lambda m: None)
    assert summary["views_rendered"] == 1 and summary["rooms_skipped"] == 2
    assert np.array_equal(np.load(room / "views_96x64" / "001.npz")["features"], before)
    # files that belong to another version of the scene are all redone
    (room / "complete.json").unlink()
    (room / "started.json").write_text(json.dumps({"ply_sha256": "another scene"}))
    summary = generate_features(benchmark, features, FeatureSource("raw10", 8), log=lambda m: None)
    assert summary["views_rendered"] == 2
    # features of another source are never mixed into the same directory
    with pytest.raises(ValueError, match="use another --out"):
        generate_features(benchmark, features, FeatureSource("npy:" + str(features), 8), log=lambda m: None)
    # nor framed features (issue 13: the runtime's frame-"auto" input) with features of the rooms as generated
    with pytest.raises(ValueError, match="framed True"):
        generate_features(benchmark, features, FeatureSource("raw10", 8, framed=True), log=lambda m: None)


def test_framed_feature_source_reads_the_runtime_input(micro):
    """framed: the room through a random similarity and the scene-frame estimator (rtgs2.random_frames), as the
    runtime's default frame "auto" feeds the encoder; recorded in source.json."""
    from rtgs2.ply import read_ply
    from rtgs2.random_frames import framed_input_channels
    from rtgs2.vdvi.data import raw10_features

    benchmark, _ = micro
    scene = read_ply(benchmark / "train" / "room-01001" / "scene.ply")
    framed = FeatureSource("raw10", 8, framed=True)
    assert framed.describe()["framed"] is True and FeatureSource("raw10", 8).describe()["framed"] is False
    got = framed(scene, "train", 1001)
    assert np.allclose(got, raw10_features(framed_input_channels(scene, 1001)[0], 8))


def test_a_temporary_file_left_by_an_interrupted_generation_is_not_a_view(micro):
    """An interrupted atomic write leaves a hidden ".NNN.npz.<random>.tmp.npz" beside the views (pathlib's glob
    matches hidden files): it is not a view, so training neither counts nor opens it (it did: FileNotFoundError
    for a view index one past the room's last)."""
    benchmark, features = micro
    before = SynthRoomsViews(benchmark, features, "train", (96, 64))
    views = before.items[0].room_path / "views_96x64"
    leftover = views / ".000.npz.abc123.tmp.npz"
    leftover.write_bytes(b"")
    try:
        after = SynthRoomsViews(benchmark, features, "train", (96, 64))
        assert [(r.seed, r.index) for r in after.items] == [(r.seed, r.index) for r in before.items]
        assert after.label_counts(21).sum() == before.label_counts(21).sum() > 0
    finally:
        leftover.unlink()


def test_augmentations_are_random_per_sample(micro):
    benchmark, features = micro
    data = SynthRoomsViews(benchmark, features, "train", (96, 64), augment=Augment(crop=(64, 64)))
    torch.manual_seed(0)
    a, b = data[0], data[0]
    assert a["rgb"].shape == (3, 64, 64) and a["features"].shape == (8, 64, 64) and a["labels"].shape == (64, 64)
    assert not torch.equal(a["rgb"], b["rgb"])  # two draws of the same view differ


def test_colour_jitter_touches_rgb_only_and_cutout_is_per_modality(micro):
    benchmark, features = micro
    plain = SynthRoomsViews(benchmark, features, "train", (96, 64)).load(0)
    only_jitter = Augment(crop=(64, 96), zoom_prob=0, flip_prob=0, jitter=0.3, cutout_prob=0)
    torch.manual_seed(1)
    s = only_jitter(plain)
    assert torch.equal(s["features"], plain["features"]) and torch.equal(s["labels"], plain["labels"])
    assert not torch.equal(s["rgb"], plain["rgb"])
    only_cutout = Augment(crop=(64, 96), zoom_prob=0, flip_prob=0, jitter=0, cutout_prob=1.0)
    torch.manual_seed(2)
    s = only_cutout(plain)
    rgb_zero = (s["rgb"] == 0).all(0) & ~(plain["rgb"] == 0).all(0)
    feat_zero = (s["features"] == 0).all(0) & ~(plain["features"] == 0).all(0)
    assert rgb_zero.any() and feat_zero.any()
    assert not torch.equal(rgb_zero, feat_zero)  # rectangles drawn independently
    assert torch.equal(s["labels"], plain["labels"])  # labels are kept: the other modality still sees the pixel


def test_defocus_blurs_the_rgb_only_by_distance_from_the_focus_depth(micro):
    """The defocus switch (off by default): depth-dependent blur of the rgb; features, labels, alpha and depth stay."""
    # a checkerboard, near (1 m) on the left half, far (4 m) on the right: one half in focus (exactly unchanged), the
    # other blurred at the drawn maximum
    h, w = 32, 64
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    rgb = ((x // 2 + y // 2) % 2).float().expand(3, h, w).clone()
    alpha = torch.ones(h, w)
    depth = torch.where(x < w // 2, torch.tensor(1.0), torch.tensor(4.0))
    halves = {"near": (slice(None), slice(None), slice(0, w // 2 - 10)), "far": (slice(None), slice(None), slice(w // 2 + 10, w))}
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        out = defocus(rgb, depth, alpha, 2.0)
        sharp = [name for name, idx in halves.items() if torch.equal(out[idx], rgb[idx])]
        assert len(sharp) == 1  # the half at the focus depth is untouched, the other one is not
        blurred = halves["far" if sharp == ["near"] else "near"]
        assert (out[blurred] - 0.5).abs().max() < 0.2  # a 2 px blur of a 2 px checkerboard is nearly grey
        seen.add(sharp[0])
    assert seen == {"near", "far"}  # the focus is drawn per call
    assert torch.equal(defocus(rgb, depth, torch.zeros(h, w), 2.0), rgb)  # nothing covered: unchanged

    benchmark, features = micro
    plain = SynthRoomsViews(benchmark, features, "train", (96, 64)).load(0)
    off = Augment(crop=(64, 96), zoom_prob=0, flip_prob=0, jitter=0, cutout_prob=0)
    assert torch.equal(off(plain)["rgb"], plain["rgb"])  # the default: off
    torch.manual_seed(3)
    s = Augment(crop=(64, 96), zoom_prob=0, flip_prob=0, jitter=0, cutout_prob=0, defocus_prob=1.0)(plain)
    for key in ("features", "labels", "alpha", "depth"):
        assert torch.equal(s[key], plain[key]), key
    edges = lambda im: (im[:, :, 1:] - im[:, :, :-1]).abs().mean()
    assert edges(s["rgb"]) < edges(plain["rgb"])


def test_two_step_training_smoke_run_resumes_and_evaluates(micro, tmp_path):
    run = tmp_path / "run"
    train_mod.main(smoke_args(micro, run, "--max-steps", "2"))
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [e for e in log if "total" in e]
    assert [e["step"] for e in steps] == [1, 2] and all(np.isfinite(e["total"]) and e["centre"] > 0 for e in steps)
    assert any("val_miou" in e for e in log)
    assert (run / "best.pt").is_file() and (run / "last.pt").is_file()
    # resumes from last.pt: continues at step 2 up to 3
    train_mod.main(smoke_args(micro, run, "--max-steps", "3"))
    assert json.loads((run / "summary.json").read_text())["steps"] == 3
    # a run directory of another model is refused
    with pytest.raises(ValueError, match="use a new --run-dir"):
        train_mod.main(smoke_args(micro, run, "--max-steps", "4", "--variant", "rgb"))
    model, state = load_model(run / "last.pt")
    result = evaluate(model, SynthRoomsViews(micro[0], micro[1], "test", (96, 64)))
    assert 0.0 <= result["miou"] <= 1.0 and 0.0 <= result["view_consistency"]["score"] <= 1.0
    assert len(result["per_class_iou"]) == 21 and result["images"] == 2


def test_ablation_flags(micro, tmp_path):
    for flags in (["--variant", "features", "--no-centre-loss"], ["--variant", "rgb", "--no-label-smoothing"]):
        run = tmp_path / flags[1]
        train_mod.main(smoke_args(micro, run, "--max-steps", "1", *flags))
        log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        assert ("centre" in log[0]) == ("--no-centre-loss" not in flags)
        assert torch.load(run / "last.pt", weights_only=False)["model_args"]["variant"] == flags[1]


def test_pretrained_rgb_encoder_is_loaded_and_trained_slower(micro, tmp_path):
    """--rgb-weights: the RGB branch starts from the given backbone weights (a converted file's format; random
    weights stand in for the real ones here), moves at --backbone-lr-scale times the learning rate, and the
    checkpoint rebuilds the same architecture."""
    from rtgs2.vdvi.mobilenetv2 import MobileNetV2Features
    from rtgs2.vdvi.pretrained import FORMAT

    torch.manual_seed(1)
    backbone = MobileNetV2Features().state_dict()
    weights = tmp_path / "mobilenetv2.pt"
    torch.save({"format": FORMAT, "state_dict": backbone, "source": {"package": "test", "version": "0"}}, weights)
    run = tmp_path / "pretrained"
    train_mod.main(smoke_args(micro, run, "--max-steps", "1", "--rgb-weights", str(weights), "--lr", "1e-3",
                              "--backbone-lr-scale", "0.25", "--warmup-steps", "0", "--no-centre-loss"))
    state = torch.load(run / "last.pt", weights_only=False)
    assert state["model_args"]["rgb_encoder"] == "mobilenetv2"
    lrs = sorted(g["lr"] for g in state["optimizer"]["param_groups"])
    assert len(lrs) == 2 and lrs[0] == pytest.approx(0.25 * lrs[1])
    trained = {k[len("rgb_encoder.backbone."):]: v for k, v in state["model"].items()
               if k.startswith("rgb_encoder.backbone.")}
    assert trained.keys() == backbone.keys()
    moved = [(trained[k] - backbone[k]).abs().max().item() for k in backbone if k.endswith("conv.weight")]
    assert max(moved) > 0  # trained...
    assert max(moved) < 1e-3 * 0.25 * 1.5  # ...from the given weights (AdamW moves each weight by about lr per step)
    assert json.loads((run / "args.json").read_text())["rgb_weights_source"]["package"] == "test"
    model, _ = load_model(run / "last.pt")
    assert model.rgb_encoder.channels == [24, 32, 96, 128]
    with pytest.raises(ValueError, match="needs --rgb-weights"):
        train_mod.train(train_mod.build_parser().parse_args(
            smoke_args(micro, tmp_path / "x", "--rgb-encoder", "mobilenetv2")))
    assert train_mod.main(smoke_args(micro, tmp_path / "y", "--rgb-weights", str(weights), "--variant", "features")) == 2


def test_torchrun_gloo_two_processes(micro, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(FACTORY)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "rtgs2.vdvi.train", *smoke_args(micro, run, "--max-steps", "2",
                                                                         "--batch-size", "1")],
                          cwd=FACTORY, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 2
    assert "x 2" in proc.stdout


def test_finetune_on_one_room(micro, tmp_path):
    from rtgs2.vdvi import finetune

    run = tmp_path / "base"
    train_mod.main(smoke_args(micro, run, "--max-steps", "1"))
    assert finetune.split_views(8, 4) == ([0, 1, 2, 4, 5, 6], [3, 7])
    out = tmp_path / "ft"
    finetune.main(["--checkpoint", str(run / "last.pt"), "--benchmark", str(micro[0]), "--features", str(micro[1]),
                   "--split", "test", "--room", "3002", "--run-dir", str(out), "--resolution", "96x64",
                   "--held-out-every", "2", "--max-steps", "2", "--crop", "64x64", "--batch-size", "1"])
    result = json.loads((out / "heldout.json").read_text())
    assert result["held_out_views"] == [1] and result["train_views"] == [0] and result["images"] == 1


def test_encoder_checkpoint_as_feature_source(micro, tmp_path):
    """The real source: an rtgs2.encoder checkpoint (randomly initialised here) -> per-Gaussian K-d features."""
    from rtgs2.encoder.model import EncoderConfig, GaussianEncoder

    torch.manual_seed(0)
    config = EncoderConfig(out_dim=8)
    checkpoint = tmp_path / "encoder.pt"
    torch.save({"model": GaussianEncoder(config).state_dict(), "config": config.to_json()}, checkpoint)
    source = FeatureSource(f"encoder:{checkpoint}")
    assert source.k == 8
    out = tmp_path / "features-encoder"
    summary = generate_features(micro[0], out, source, splits=["val"], log=lambda m: None)
    assert summary["rooms"] == 1 and summary["views_rendered"] == 2
    gaussians = np.load(out / "val" / "room-02004" / "gaussians.npy")
    assert gaussians.shape[1] == 8 and np.allclose(np.linalg.norm(gaussians, axis=1), 1.0, atol=1e-3)
    assert SynthRoomsViews(micro[0], out, "val", (96, 64)).k == 8
    with pytest.raises(FileNotFoundError, match="no encoder checkpoint"):
        FeatureSource(f"encoder:{tmp_path / 'missing.pt'}")


def test_exported_encoder_file_as_feature_source(micro, tmp_path):
    """onnx:<file> runs an exported encoder (the shipped one's checkpoint is not kept) and gives the features its
    checkpoint gives; a file that is not an encoder is refused."""
    from rtgs2.encoder.export import export_onnx
    from rtgs2.encoder.model import EncoderConfig, GaussianEncoder
    from rtgs2.synthrooms.benchmark import room_dir
    from rtgs2.ply import read_ply

    torch.manual_seed(1)
    config = EncoderConfig(out_dim=8)
    model = GaussianEncoder(config).eval()
    checkpoint, onnx_file = tmp_path / "encoder.pt", tmp_path / "encoder.onnx"
    torch.save({"model": model.state_dict(), "config": config.to_json()}, checkpoint)
    scene = read_ply(room_dir(micro[0], "val", 2004) / "scene.ply")
    export_onnx(model, onnx_file, scene.input_channels()[:2000])
    from_file, from_checkpoint = FeatureSource(f"onnx:{onnx_file}"), FeatureSource(f"encoder:{checkpoint}")
    assert from_file.k == 8 and from_file.describe()["source"] == f"onnx:{onnx_file}"
    a, b = from_file(scene, "val", 2004), from_checkpoint(scene, "val", 2004)
    assert a.shape == (len(scene), 8)
    assert float(((a * b).sum(1)).min()) > 0.999
    with pytest.raises(FileNotFoundError, match="no ONNX file"):
        FeatureSource(f"onnx:{tmp_path / 'missing.onnx'}")
    not_encoder = tmp_path / "other.onnx"
    import onnx
    proto = onnx.load(str(onnx_file))
    for prop in proto.metadata_props:
        if prop.key == "kind":
            prop.value = "vdvi"
    onnx.save(proto, str(not_encoder))
    with pytest.raises(ValueError, match="not an exported Gaussian encoder"):
        FeatureSource(f"onnx:{not_encoder}")


def test_rgb_variant_trains_and_evaluates_without_features(micro, tmp_path):
    """--features none: the RGB-only fallback trains and is evaluated without rendered features (one zero channel
    stands in; the rgb variant never reads it; rgb and labels are those of the views with features); other
    variants are refused."""
    benchmark, features = micro
    views = SynthRoomsViews(benchmark, "none", "test", (96, 64))
    with_features = SynthRoomsViews(benchmark, features, "test", (96, 64))
    assert views.k == 1 and len(views) == len(with_features)
    s, t = views[0], with_features[0]
    assert s["features"].shape == (1, 64, 96) and not s["features"].any()
    assert torch.equal(s["rgb"], t["rgb"]) and torch.equal(s["labels"], t["labels"])
    run = tmp_path / "rgb-none"
    args = smoke_args(micro, run, "--max-steps", "2", "--variant", "rgb", "--defocus", "1")
    args[args.index("--features") + 1] = "none"
    assert train_mod.main(args) == 0
    model, state = load_model(run / "last.pt")
    assert state["model_args"]["variant"] == "rgb" and state["model_args"]["k"] == 1
    result = evaluate(model, views, consistency=False)
    assert 0.0 <= result["miou"] <= 1.0 and result["images"] == len(views)
    full = smoke_args(micro, tmp_path / "full-none", "--max-steps", "1")
    full[full.index("--features") + 1] = "none"
    assert train_mod.main(full) == 2


def test_extra_train_benchmarks_add_their_train_views(micro, tmp_path, capsys):
    """--extra-train BENCHMARK=FEATURES: rooms of another benchmark (e.g. realism rooms beside the clean ones) join
    the training views; features of another K, and a malformed value, are refused."""
    benchmark, features = micro
    run = tmp_path / "run"
    train_mod.main(smoke_args(micro, run, "--max-steps", "1", "--extra-train", f"{benchmark}={features}"))
    single = len(SynthRoomsViews(benchmark, features, "train", (96, 64)))
    assert f"{2 * single} train views ({single} from --benchmark)" in capsys.readouterr().out
    other_k = tmp_path / "features-k4"
    generate_features(benchmark, other_k, FeatureSource("raw10", 4), device="cpu", splits=["train"], log=lambda m: None)
    with pytest.raises(ValueError, match="K = 4, the main ones 8"):
        train_mod.main(smoke_args(micro, tmp_path / "run-k4", "--max-steps", "1", "--extra-train", f"{benchmark}={other_k}"))
    assert train_mod.main(smoke_args(micro, tmp_path / "bad", "--extra-train", str(benchmark))) == 2
    assert "expected BENCHMARK=FEATURES" in capsys.readouterr().err


def test_class_balance_weights_come_from_the_training_labels(micro, tmp_path):
    run = tmp_path / "run"
    train_mod.main(smoke_args(micro, run, "--max-steps", "1", "--class-balance", "0.5"))
    weights = json.loads((run / "args.json").read_text())["class_weights"]
    counts = SynthRoomsViews(micro[0], micro[1], "train", (96, 64)).label_counts(21)
    assert len(weights) == 21 and all(w == 1.0 for w, c in zip(weights, counts) if c == 0)
    seen = [(c, w) for c, w in zip(counts, weights) if c > 0]
    assert min(seen)[1] > max(seen)[1]  # the rarest class seen weighs more than the most frequent
