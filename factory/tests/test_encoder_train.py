"""Training smoke test: `--steps 2` end to end on generated rooms, resume, validation, and the pieces it uses."""
import json

import numpy as np
import pytest
import torch

from rtgs2.encoder import train
from rtgs2.encoder.train import augment, crop_pair, point_info_nce, synthetic_room, voxel_subsample


def test_two_steps_then_resume(tmp_path):
    run = tmp_path / "run"
    common = ["--synthetic", "2", "--synthetic-density", "300", "--run", str(run), "--config", "tiny", "--val-every", "2", "--val-pairs", "1"]
    assert train.main(common + ["--steps", "2"]) == 0
    log = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    assert all(np.isfinite(r["loss"]) and r["pairs"] > 100 for r in log)
    assert np.isfinite(log[-1]["val_loss"]) and (run / "best.pt").exists()
    state = torch.load(run / "last.pt", weights_only=False)
    assert state["step"] == 2
    assert train.main(common + ["--steps", "3"]) == 0  # resumes at step 2, does one more
    log = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    # the checkpoint exports, with the parity check passing (onnxruntime vs PyTorch on a generated room)
    from rtgs2.encoder import export
    assert export.main(["--checkpoint", str(run / "best.pt"), "--out", str(tmp_path / "enc.onnx")]) == 0
    assert (tmp_path / "enc.onnx").stat().st_size > 50_000
    # the model's config in the checkpoint refuses another --k
    with pytest.raises(SystemExit, match="config differs"):
        train.main(common + ["--steps", "4", "--k", "8"])


def test_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        train.main(["--run", str(tmp_path / "r"), "--steps", "1"])  # neither --data nor --synthetic
    with pytest.raises(SystemExit):
        train.main(["--data", str(tmp_path / "missing"), "--run", str(tmp_path / "r")])


def test_point_info_nce_prefers_matching_pairs():
    q = torch.nn.functional.normalize(torch.randn(64, 16), dim=1)
    good, acc = point_info_nce(q, q)
    bad, _ = point_info_nce(q, q.roll(1, dims=0))
    assert good < bad and acc == 1.0


def test_augmentations_and_subsampling():
    rng = np.random.default_rng(0)
    ch = synthetic_room(3, gaussians_per_m2=200.0).input_channels()
    out = augment(ch, rng)
    # rotation about +Y and one global scale: heights scale, horizontal distances scale the same
    ratio = out[:, 1] / np.where(ch[:, 1] == 0, 1, ch[:, 1])
    s = np.median(ratio[ch[:, 1] > 0.5])
    assert 0.6 <= s <= 1.2
    np.testing.assert_allclose(out[:, 7:10] - ch[:, 7:10], np.log(s), atol=1e-4)
    d0 = np.linalg.norm(ch[0, [0, 2]] - ch[1, [0, 2]])
    d1 = np.linalg.norm(out[0, [0, 2]] - out[1, [0, 2]])
    assert d1 == pytest.approx(d0 * s, rel=1e-4)
    assert 0.01 < np.std(out[:, 3:6] - np.clip(ch[:, 3:6], 0, 1)) < 0.03
    keep = voxel_subsample(ch, 0.05, 2, rng)
    cells = np.floor((ch[keep, :3] - ch[:, :3].min(0)) / 0.05).astype(np.int64)
    _, counts = np.unique(cells, axis=0, return_counts=True)
    assert counts.max() <= 2 and len(keep) < len(ch)
    a, b = crop_pair(ch, rng)
    inter, union = len(np.intersect1d(a, b)), len(np.union1d(a, b))
    assert 0.05 < inter / union < 0.95


def _fake_benchmark(root, rng):
    """A two-room benchmark in the SynthRooms layout train.py reads: scene.ply, visibility.npz, complete.json."""
    from rtgs2.ply import write_ply

    for split, seed in (("train", 1), ("val", 2)):
        room = root / split / f"room-{seed:05d}"
        room.mkdir(parents=True)
        scene = synthetic_room(seed, gaussians_per_m2=200.0)
        write_ply(room / "scene.ply", scene)
        ch = scene.input_channels()
        visible = np.zeros((3, len(ch)), bool)
        for v in range(3):
            a, _ = crop_pair(ch, rng)
            visible[v, a] = True
        np.savez(room / "visibility.npz", gaussian_count=len(ch), visible_bits=np.packbits(visible, axis=1),
                 iou=np.eye(3, dtype=np.float32), pairs=np.array([[0, 1], [1, 2]], np.int32),
                 pair_iou=np.array([0.5, 0.5], np.float32))
        (room / "complete.json").write_text("{}")
    (root / "train" / "room-00009").mkdir()  # an incomplete room (no complete.json) is skipped


def test_trains_on_a_benchmark_layout(tmp_path):
    _fake_benchmark(tmp_path / "bench", np.random.default_rng(0))
    run = tmp_path / "run"
    assert train.main(["--data", str(tmp_path / "bench"), "--run", str(run), "--config", "tiny", "--steps", "2",
                       "--val-every", "2", "--val-pairs", "1"]) == 0
    log = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines()]
    assert [r["room"] for r in log] == ["room-00001"] * 2 and np.isfinite(log[-1]["val_loss"])


def _exported_tiny(path):
    """A tiny encoder with every parameter drawn at random (no two initializers equal, as in a trained model; the
    exporter would share identical ones), exported as the factory exports."""
    from rtgs2.encoder.export import export_onnx

    torch.manual_seed(0)
    model = train.GaussianEncoder(train.CONFIGS["tiny"])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    export_onnx(model, path, synthetic_room(1, gaussians_per_m2=200.0).input_channels())
    return model.eval()


def test_onnx_weights_come_back_into_pytorch(tmp_path):
    """A shipped encoder has no checkpoint on a fresh machine: load_onnx_weights rebuilds the model from the file
    (the same weights, so PyTorch gives onnxruntime's features). Files that are not this graph are refused."""
    import onnx

    from rtgs2.encoder.export import load_onnx_weights, parity

    original = _exported_tiny(tmp_path / "enc.onnx")
    model = load_onnx_weights(tmp_path / "enc.onnx")
    assert model.config.to_json() == original.config.to_json()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in original.state_dict().items())
    assert parity(model, tmp_path / "enc.onnx", synthetic_room(2, gaussians_per_m2=200.0).input_channels())[
        "min_cosine"] > 0.9999

    def edited(name, change):
        proto = onnx.load(str(tmp_path / "enc.onnx"))
        change(proto)
        onnx.save(proto, tmp_path / name)
        return tmp_path / name

    with pytest.raises(ValueError, match="no initializer named"):
        load_onnx_weights(edited("missing.onnx", lambda p: p.graph.initializer.pop()))

    def half(proto):
        next(p for p in proto.metadata_props if p.key == "precision").value = "fp16"

    with pytest.raises(ValueError, match="import the fp32 file"):
        load_onnx_weights(edited("half.onnx", half))
    with pytest.raises(ValueError, match="not an exported Gaussian encoder"):
        load_onnx_weights(edited("anonymous.onnx", lambda p: p.metadata_props.clear()))


def test_init_from_an_exported_encoder_and_several_benchmarks(tmp_path):
    """--init starts a run from an exported encoder (lr 0: the checkpoint holds exactly its weights); --data
    repeated trains on the rooms of every subset and validates on those with a val split."""
    import shutil

    original = _exported_tiny(tmp_path / "enc.onnx")
    _fake_benchmark(tmp_path / "a", np.random.default_rng(0))
    _fake_benchmark(tmp_path / "b", np.random.default_rng(1))
    shutil.rmtree(tmp_path / "b" / "val")
    (tmp_path / "b" / "train" / "room-00001").rename(tmp_path / "b" / "train" / "room-00005")
    common = ["--data", str(tmp_path / "a"), "--data", str(tmp_path / "b"), "--config", "tiny", "--steps", "4",
              "--val-every", "4", "--val-pairs", "1", "--lr", "0", "--weight-decay", "0", "--no-framed",
              "--init", str(tmp_path / "enc.onnx")]
    assert train.main(common + ["--run", str(tmp_path / "run")]) == 0
    log = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert {r["room"] for r in log} <= {"room-00001", "room-00005"} and np.isfinite(log[-1]["val_loss"])
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["args"]["data"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert all(torch.equal(state["model"][k], v) for k, v in original.state_dict().items())
    with pytest.raises(SystemExit, match="config differs"):
        train.main(common + ["--run", str(tmp_path / "run8"), "--k", "8"])
    # a missing file, and a file that is not an encoder: clear messages, no run started
    with pytest.raises(SystemExit):
        train.main(common[:-1] + [str(tmp_path / "missing.onnx"), "--run", str(tmp_path / "r1")])
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(SystemExit, match="--init .*junk.onnx"):
        train.main(common[:-1] + [str(tmp_path / "junk.onnx"), "--run", str(tmp_path / "r2")])
    assert not (tmp_path / "r2" / "last.pt").exists()


def test_features_id_names_the_weights_in_every_export(tmp_path):
    """features_id: the same for a model, its fp32 and fp16 exports, the file read back and its checkpoint; another
    weight gives another id; a VDVI export records the id of the encoder its training features came from."""
    import onnx

    from rtgs2.encoder.export import export_onnx, features_id, features_id_of, rewrite_onnx
    from rtgs2.vdvi import export as vdvi_export
    from rtgs2.vdvi.model import build_model

    model = _exported_tiny(tmp_path / "enc.onnx")
    fid = features_id(model)
    assert fid.startswith("rtgs2-gaussian-encoder@") and len(fid.split("@")[1]) == 12
    channels = synthetic_room(1, gaussians_per_m2=200.0).input_channels()
    export_onnx(model, tmp_path / "enc16.onnx", channels, fp16=True)
    meta = lambda path: {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta(tmp_path / "enc.onnx")["features_id"] == meta(tmp_path / "enc16.onnx")["features_id"] == fid
    assert features_id_of(tmp_path / "enc.onnx") == fid
    torch.save({"model": model.state_dict(), "config": model.config.to_json()}, tmp_path / "enc.pt")
    assert features_id_of(tmp_path / "enc.pt") == fid
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-3
    assert features_id(model) != fid
    # a file from before features_id is stamped from its own weights when re-written
    proto = onnx.load(str(tmp_path / "enc.onnx"))
    kept = [p for p in proto.metadata_props if p.key != "features_id"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, tmp_path / "old.onnx")
    rewrite_onnx(tmp_path / "old.onnx", tmp_path / "stamped.onnx", channels)
    assert meta(tmp_path / "stamped.onnx")["features_id"] == fid

    # VDVI: the training features' source.json names the encoder; the export records its id
    features = tmp_path / "features"
    features.mkdir()
    (features / "source.json").write_text(json.dumps({"source": f"onnx:{tmp_path / 'enc.onnx'}", "k": 16}))
    args = {"arch": "vdvi", "k": 16, "variant": "full", "num_classes": 21}
    torch.save({"model": build_model(**args).state_dict(), "model_args": args, "step": 3,
                "args": {"features": str(features)}}, tmp_path / "vdvi.pt")
    assert vdvi_export.main(["--checkpoint", str(tmp_path / "vdvi.pt"), "--out", str(tmp_path / "vdvi.onnx")]) == 0
    assert meta(tmp_path / "vdvi.onnx")["features_id"] == fid
    # --encoder names it explicitly; without a findable encoder the export says so and records none
    torch.save({"model": build_model(**args).state_dict(), "model_args": args, "step": 3,
                "args": {"features": str(tmp_path / "gone")}}, tmp_path / "vdvi2.pt")
    assert vdvi_export.main(["--checkpoint", str(tmp_path / "vdvi2.pt"), "--out", str(tmp_path / "v2.onnx")]) == 0
    assert "features_id" not in meta(tmp_path / "v2.onnx")
    assert vdvi_export.main(["--checkpoint", str(tmp_path / "vdvi2.pt"), "--out", str(tmp_path / "v3.onnx"),
                             "--encoder", str(tmp_path / "enc.pt")]) == 0
    assert meta(tmp_path / "v3.onnx")["features_id"] == fid
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="--encoder .*junk.pt"):
        vdvi_export.main(["--checkpoint", str(tmp_path / "vdvi2.pt"), "--out", str(tmp_path / "v4.onnx"),
                          "--encoder", str(tmp_path / "junk.pt")])
    with pytest.raises(SystemExit):
        vdvi_export.main(["--checkpoint", str(tmp_path / "vdvi2.pt"), "--out", str(tmp_path / "v5.onnx"),
                          "--encoder", str(tmp_path / "missing.pt")])
    assert not (tmp_path / "v4.onnx").exists() and not (tmp_path / "v5.onnx").exists()


@pytest.mark.parametrize("name", ["fast-grid7.5", "fast-narrow"])
def test_the_faster_candidate_configs_train_and_export_with_their_own_metadata(name, tmp_path):
    """The configs gpu_train.py --encoder-config can name (issue 17): a step of training and an export whose
    metadata carries the config the runtime reads (grid size, decoder blocks)."""
    run = tmp_path / "run"
    assert train.main(["--synthetic", "1", "--synthetic-density", "200", "--run", str(run), "--config", name,
                       "--steps", "1", "--val-every", "1", "--val-pairs", "1"]) == 0
    from rtgs2.encoder import export
    import onnx
    assert export.main(["--checkpoint", str(run / "best.pt"), "--out", str(tmp_path / "enc.onnx")]) == 0
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "enc.onnx")).metadata_props}
    config = json.loads(props["encoder_config"])
    expected = train.CONFIGS[name]
    assert config["serialization"]["grid_size"] == expected.serialization.grid_size
    assert tuple(config["decoder_blocks"]) == expected.decoder_blocks
    assert float(props["grid_size"]) == expected.serialization.grid_size
