"""rtgs2.vdvi.import_onnx: an exported VDVI file comes back as a checkpoint that computes what the file computes,
refuses files it cannot import, and fine-tunes with its folded BatchNorms frozen."""
import json

import numpy as np
import onnx
import pytest
import torch

from rtgs2.vdvi import train as train_mod
from rtgs2.vdvi.data import micro_benchmark
from rtgs2.vdvi.export import export_onnx
from rtgs2.vdvi.import_onnx import check_parity, import_onnx, main
from rtgs2.vdvi.model import build_model

FULL = {"arch": "vdvi", "k": 8, "variant": "full", "num_classes": 21, "rgb_encoder": "mobilenetv2"}
RGB = {"arch": "vdvi", "k": 1, "variant": "rgb", "num_classes": 21, "rgb_encoder": "mobilenetv2"}


def trained_looking(model_args: dict, seed: int) -> torch.nn.Module:
    """A model whose BatchNorms are not the identity (statistics and affine drawn at random), so that folding and
    unfolding them is really exercised."""
    torch.manual_seed(seed)
    model = build_model(**model_args)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def smooth_input(k: int, h: int = 64, w: int = 96, seed: int = 0):
    g = np.random.default_rng(seed)
    rgb = np.kron(g.random((1, 3, h // 8, w // 8)), np.ones((1, 1, 8, 8))).astype(np.float32)
    return rgb, g.random((1, k, h, w)).astype(np.float32)


@pytest.mark.parametrize("model_args", [FULL, RGB], ids=["full", "rgb"])
def test_imported_model_computes_what_the_file_and_the_original_compute(model_args, tmp_path):
    torch.set_num_threads(1)
    original = trained_looking(model_args, seed=3)
    path = tmp_path / "model.onnx"
    export_onnx(original, model_args, out=path)
    checkpoint = import_onnx(path)
    assert checkpoint["model_args"] == model_args and checkpoint["batchnorm_folded"] is True
    rgb, features = smooth_input(model_args["k"])
    if model_args["variant"] == "rgb":
        features = np.zeros_like(features)
    parity = check_parity(checkpoint, path, rgb, features)
    assert parity["labels_equal"] == 1.0 and parity["confidence_max_abs"] < 1e-4
    imported = build_model(**model_args)
    imported.load_state_dict(checkpoint["model"])
    with torch.no_grad():
        a = original(torch.from_numpy(rgb), torch.from_numpy(features))
        b = imported.eval()(torch.from_numpy(rgb), torch.from_numpy(features))
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    # the folded BatchNorms came back as the identity plus the folded bias
    bns = [m for m in imported.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(torch.equal(m.running_mean, torch.zeros_like(m.running_mean)) for m in bns)
    assert all(torch.allclose(m.running_var + m.eps, torch.ones_like(m.running_var)) for m in bns)


def test_files_it_cannot_import_are_refused(tmp_path):
    model = trained_looking(FULL, seed=4)
    fp16 = tmp_path / "fp16.onnx"
    export_onnx(model, FULL, out=fp16, fp16=True)
    with pytest.raises(ValueError, match="precision fp16"):
        import_onnx(fp16)
    proto = onnx.load_from_string(export_onnx(model, FULL))
    bare = tmp_path / "bare.onnx"
    kept = [p for p in proto.metadata_props if p.key != "model_args"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, bare)
    with pytest.raises(ValueError, match="no model_args"):
        import_onnx(bare)
    # metadata that promises another model (K = 16) than the graph holds (K = 8)
    wrong = tmp_path / "wrong.onnx"
    proto = onnx.load_from_string(export_onnx(model, FULL))
    for p in proto.metadata_props:
        if p.key == "model_args":
            p.value = json.dumps({**FULL, "k": 16})
    onnx.save(proto, wrong)
    with pytest.raises(ValueError, match="does not match|has shape"):
        import_onnx(wrong)
    assert main(["--onnx", str(wrong), "--out", str(tmp_path / "x.pt")]) == 2 and not (tmp_path / "x.pt").exists()


def test_command_writes_a_checkpoint_that_fine_tunes_with_batchnorm_frozen(tmp_path):
    torch.set_num_threads(1)
    benchmark, features = micro_benchmark(tmp_path / "micro", k=8)
    path = tmp_path / "model.onnx"
    export_onnx(trained_looking(FULL, seed=5), FULL, out=path)
    init = tmp_path / "init.pt"
    assert main(["--onnx", str(path), "--out", str(init)]) == 0
    run = tmp_path / "run"
    args = ["--benchmark", str(benchmark), "--features", str(features), "--run-dir", str(run), "--init", str(init),
            "--rgb-encoder", "mobilenetv2", "--train-resolution", "96x64", "--val-resolution", "96x64",
            "--crop", "64x64", "--batch-size", "2", "--workers", "0", "--warmup-steps", "0", "--max-steps", "2",
            "--lr", "1e-2"]
    assert train_mod.main(args) == 0
    start = torch.load(init, weights_only=False)["model"]
    state = torch.load(run / "last.pt", weights_only=False)
    assert state["batchnorm_folded"] is True
    stats = [k for k in start if k.endswith("running_mean") or k.endswith("running_var")]
    assert stats and all(torch.equal(start[k], state["model"][k]) for k in stats)  # statistics kept...
    affine = [k.replace("running_mean", "bias") for k in stats if k.endswith("running_mean")]
    assert any(not torch.equal(start[k], state["model"][k]) for k in affine)  # ...while the affine part trains
