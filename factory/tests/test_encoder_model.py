"""The Gaussian encoder network, its ONNX export (parity, metadata, allowed ops, fp16) and the committed fixture."""
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from rtgs2.encoder.export import export_onnx, parity, run_onnx
from rtgs2.encoder.model import EncoderConfig, GaussianEncoder, collate, feeds_to_torch, parameter_count
from rtgs2.encoder.serialization import serialize_scene
from rtgs2.encoder.train import CONFIGS, synthetic_room

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "test/fixtures/encoder"
# Ops the graph may use: standard ONNX ops onnxruntime-web runs on wasm and WebGPU; no scatter, NonZero, Unique.
ALLOWED_OPS = {"Add", "Clip", "Concat", "Constant", "Cos", "Div", "Erf", "Gather", "Gemm", "Identity", "LayerNormalization",
               "MatMul", "Mul", "ReduceMax", "ReduceSum", "Reshape", "Shape", "Sin", "Slice", "Softmax", "Sqrt", "Sub",
               "Transpose", "Unsqueeze", "Cast", "Max", "Pow"}


@pytest.fixture(scope="module")
def room_channels():
    return synthetic_room(7, gaussians_per_m2=300.0).input_channels()


def tiny_model(k=16, seed=0):
    torch.manual_seed(seed)
    cfg = CONFIGS["tiny"]
    return GaussianEncoder(EncoderConfig(**{**cfg.__dict__, "out_dim": k})).eval()


def test_default_model_is_small_and_k_is_configurable():
    counts = {k: parameter_count(GaussianEncoder(EncoderConfig(out_dim=k))) for k in (8, 16, 32)}
    assert all(c < 2_000_000 for c in counts.values()), counts
    assert counts[32] - counts[16] == 16 * (48 + 1)  # only the head grows


def test_features_unit_length_and_shared_within_a_voxel(room_channels):
    model = tiny_model()
    s = serialize_scene(room_channels, model.config.serialization)
    with torch.no_grad():
        f = model.forward_feeds(feeds_to_torch(s.feeds())).numpy()
    assert f.shape == (len(room_channels), 16)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    same = np.flatnonzero(s.gaussian_voxel == s.gaussian_voxel[0])
    np.testing.assert_array_equal(f[same], np.repeat(f[same[:1]], len(same), axis=0))
    assert np.abs(f[0] - f[-1]).max() > 1e-3  # not a constant output


def test_batched_scenes_do_not_mix(room_channels):
    model = tiny_model()
    a = serialize_scene(room_channels[:2000], model.config.serialization)
    b = serialize_scene(room_channels[3000:3500], model.config.serialization)
    feeds, rows = collate([a, b])
    with torch.no_grad():
        both = model.forward_feeds(feeds_to_torch(feeds))
        alone = model.forward_feeds(feeds_to_torch(b.feeds()))
    torch.testing.assert_close(both[rows[1][0]:rows[1][1]], alone, atol=1e-5, rtol=0)


def test_translation_by_whole_voxels_changes_nothing(room_channels):
    model = tiny_model()
    ch = room_channels[:1500].copy()
    ch[:, :3] = np.round(ch[:, :3] * 64) / 64
    moved = ch.copy()
    moved[:, :3] += np.float32(12.0)
    with torch.no_grad():
        f1 = model.forward_feeds(feeds_to_torch(serialize_scene(ch, model.config.serialization).feeds()))
        f2 = model.forward_feeds(feeds_to_torch(serialize_scene(moved, model.config.serialization).feeds()))
    torch.testing.assert_close(f1, f2, atol=1e-5, rtol=0)


@pytest.mark.parametrize("fp16", [False, True])
def test_onnx_export_parity_metadata_and_ops(tmp_path, room_channels, fp16):
    model = tiny_model(k=8)
    data = export_onnx(model, tmp_path / "enc.onnx", room_channels[:800], fp16=fp16)
    proto = onnx.load_from_string(data)
    assert proto.opset_import[0].version >= 17
    ops = {n.op_type for n in proto.graph.node}
    assert ops <= ALLOWED_OPS, ops - ALLOWED_OPS
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["kind"] == "encoder" and props["k"] == "8" and props["precision"] == ("fp16" if fp16 else "fp32")
    assert props["grid_size"] == "0.05" and props["patch_size"] == "16" and props["orders"] == "xyz,yzx,zxy,zyx"
    assert EncoderConfig.from_json(json.loads(props["encoder_config"])) == model.config
    # scene dimensions dynamic and unnamed (free_scene_dims: onnxruntime then frees each tensor after its last use)
    dims = [d for v in list(proto.graph.input) + list(proto.graph.output) for d in v.type.tensor_type.shape.dim]
    assert not any(d.HasField("dim_param") for d in dims) and any(not d.HasField("dim_value") for d in dims)
    assert len(proto.graph.value_info) == 0
    # parity on a scene larger than the export example: dynamic sizes at every level
    report = parity(model, data, room_channels)
    assert report["gaussians"] == len(room_channels)
    assert report["min_cosine"] >= (0.999 if fp16 else 0.99999), report


def test_default_model_parity(tmp_path, room_channels):
    torch.manual_seed(1)
    model = GaussianEncoder(EncoderConfig()).eval()
    data = export_onnx(model, tmp_path / "enc.onnx", room_channels[:3000])
    assert parity(model, data, room_channels)["min_cosine"] >= 0.999


def test_committed_fixture_matches_python_onnxruntime():
    manifest = json.loads((FIXTURE / "tiny-encoder.json").read_text())
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest() == digest, name
    scene = np.fromfile(FIXTURE / manifest["scene"], "<f4").reshape(manifest["count"], 10)
    expected = np.fromfile(FIXTURE / manifest["expected"], "<f4").reshape(manifest["count"], manifest["k"])
    props = {p.key: p.value for p in onnx.load(FIXTURE / manifest["model"]).metadata_props}
    config = EncoderConfig.from_json(json.loads(props["encoder_config"]))
    got = run_onnx(FIXTURE / manifest["model"], scene, config)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert (FIXTURE / manifest["model"]).stat().st_size < 500_000


def test_export_command_writes_the_manifest_entry(tmp_path):
    """`python -m rtgs2.encoder.export --manifest`: the checkpoint's model, its parity checked, and an entry the
    runtime's worker accepts (docs/MODELS.md: file, kind, sha256 and bytes of the written file)."""
    from rtgs2.encoder.export import main

    model = tiny_model(k=8, seed=3)
    checkpoint = tmp_path / "best.pt"
    torch.save({"config": model.config.to_json(), "model": model.state_dict()}, checkpoint)
    out = tmp_path / "models" / "encoder.onnx"
    out.parent.mkdir()
    assert main(["--checkpoint", str(checkpoint), "--out", str(out), "--manifest"]) == 0
    assert main(["--checkpoint", str(checkpoint), "--out", str(out), "--manifest"]) == 0  # replaces its entry
    manifest = json.loads((out.parent / "manifest.json").read_text())
    assert manifest["format"] == "semantic-splat-models/1"
    [entry] = manifest["models"]
    data = out.read_bytes()
    assert entry["file"] == "encoder.onnx" and entry["kind"] == "encoder" and entry["k"] == 8
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert "--manifest" in entry["generatedBy"]


def test_from_onnx_unnames_the_dims_of_an_older_file(tmp_path, room_channels):
    """`--from-onnx`: a file exported with named scene dimensions (as before free_scene_dims) is re-written unnamed,
    onnxruntime's features unchanged bit for bit, and its manifest entry says both commands."""
    from rtgs2.encoder.export import main

    model = tiny_model(k=8, seed=4)
    old = onnx.load_from_string(export_onnx(model, tmp_path / "x.onnx", room_channels[:800]))
    for value in list(old.graph.input) + list(old.graph.output):  # what the export wrote before: named dims
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if not dim.HasField("dim_value"):
                dim.dim_param = f"{value.name}_{i}"
    models = tmp_path / "models"
    models.mkdir()
    path = models / "encoder.onnx"
    onnx.save(old, path)
    (models / "manifest.json").write_text(json.dumps({"format": "semantic-splat-models/1", "models": [
        {"file": "encoder.onnx", "kind": "encoder", "sha256": "0" * 64, "bytes": 1, "generatedBy": "the old export"}]}))
    assert main(["--from-onnx", str(path), "--out", str(path), "--manifest"]) == 0
    new = onnx.load(path)
    assert not any(d.HasField("dim_param") for v in new.graph.input for d in v.type.tensor_type.shape.dim)
    assert [n.op_type for n in new.graph.node] == [n.op_type for n in old.graph.node]
    props = {p.key: p.value for p in new.metadata_props}
    got = run_onnx(path, room_channels, EncoderConfig.from_json(json.loads(props["encoder_config"])))
    np.testing.assert_array_equal(got, run_onnx(old.SerializeToString(), room_channels, model.config))
    [entry] = json.loads((models / "manifest.json").read_text())["models"]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and entry["k"] == 8
    assert entry["generatedBy"].startswith("the old export && python3 -m rtgs2.encoder.export --from-onnx")
    # not an encoder: refused
    vdvi_like = onnx.load(path)
    del vdvi_like.metadata_props[:]
    onnx.save(vdvi_like, tmp_path / "other.onnx")
    with pytest.raises(ValueError, match="not an exported Gaussian encoder"):
        main(["--from-onnx", str(tmp_path / "other.onnx"), "--out", str(tmp_path / "o.onnx")])


def test_memory_bench_compares_named_and_unnamed_dims(tmp_path, room_channels, capsys):
    """`python -m rtgs2.encoder.memory_bench`: the shipped (unnamed) and the named variant of the same file, each in
    its own process, give the same features; the named one has the export's old dimension names."""
    from rtgs2.encoder.memory_bench import _name_scene_dims, main
    from rtgs2.ply import write_ply

    path = tmp_path / "enc.onnx"
    export_onnx(tiny_model(k=8, seed=5), path, room_channels[:800])
    named = onnx.load(path)
    _name_scene_dims(named)
    dims = {v.name: [d.dim_param for d in v.type.tensor_type.shape.dim] for v in named.graph.input}
    assert dims["voxel_features"][0] == "voxels_l0" and dims["coords_l1"][0] == "voxels_l1"
    assert dims["order_l2"][1] == "padded_l2" and dims["unpool_l1"][0] == "voxels_l0" and dims["gaussian_voxel"] == ["gaussians"]
    ply = tmp_path / "room.ply"
    write_ply(ply, synthetic_room(7, gaussians_per_m2=300.0))
    assert main(["--onnx", str(path), "--ply", str(ply)]) == 0
    out = capsys.readouterr().out
    assert "features identical" in out and "| named (as exported before) |" in out and "| unnamed (shipped) |" in out
