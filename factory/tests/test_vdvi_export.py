"""VDVI ONNX export: contract 3 inputs/outputs and metadata (the keys src/worker/modelContract.ts reads), dynamic
H and W, BatchNorm folded, parity with PyTorch on a rendered view (>= 99.9 % identical labels), fp16."""
import json

import numpy as np
import onnx
import pytest
import torch

from rtgs2.classes import load_class_table
from rtgs2.vdvi.data import SynthRoomsViews, micro_benchmark
from rtgs2.vdvi.export import export_onnx, parity, run_onnx, update_manifest
from rtgs2.vdvi.model import Vdvi, VdviConfig

MODEL_ARGS = {"arch": "vdvi", "k": 8, "variant": "full", "num_classes": 21}


@pytest.fixture(scope="module")
def exported():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Vdvi(VdviConfig(k=8)).eval()
    # BatchNorm statistics that are not the identity, so that folding them is really exercised
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model, export_onnx(model, MODEL_ARGS), export_onnx(model, MODEL_ARGS, fp16=True, with_logits=True)


def test_graph_inputs_outputs_and_metadata(exported):
    _, fp32, fp16 = exported
    for data, precision in ((fp32, "fp32"), (fp16, "fp16")):
        proto = onnx.load_from_string(data)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
        inputs = {i.name: i.type.tensor_type for i in proto.graph.input}
        assert list(inputs) == ["rgb", "features"]
        assert all(t.elem_type == onnx.TensorProto.FLOAT for t in inputs.values())
        assert [d.dim_value or d.dim_param for d in inputs["features"].shape.dim] == [1, 8, "height", "width"]
        outputs = {o.name: o.type.tensor_type.elem_type for o in proto.graph.output}
        assert outputs["labels"] == onnx.TensorProto.UINT8 and outputs["confidence"] == onnx.TensorProto.FLOAT
        props = {p.key: p.value for p in proto.metadata_props}
        assert props["kind"] == "vdvi" and props["k"] == "8" and props["num_classes"] == "21"
        assert props["class_table_version"] == load_class_table()["version"]
        assert props["size_multiple"] == "32" and props["contract"] == "vdvi/1" and props["precision"] == precision
        assert json.loads(props["model_args"]) == MODEL_ARGS
        ops = {n.op_type for n in proto.graph.node}
        assert "BatchNormalization" not in ops  # folded into the convolutions
        assert all(n.domain in ("", "ai.onnx") for n in proto.graph.node)  # no custom ops
    assert "logits" in {o.name for o in onnx.load_from_string(fp16).graph.output}
    assert len(fp16) < 0.6 * len(fp32)


@pytest.mark.parametrize("height,width", [(32, 64), (64, 32), (96, 128), (160, 96)])
def test_output_shapes_for_several_sizes(exported, height, width):
    _, fp32, _ = exported
    rng = np.random.default_rng(height * width)
    out = run_onnx(fp32, rng.random((1, 3, height, width), dtype=np.float32),
                   rng.random((1, 8, height, width), dtype=np.float32))
    assert out["labels"].shape == (1, height, width) and out["labels"].dtype == np.uint8
    assert out["confidence"].shape == (1, height, width) and out["confidence"].dtype == np.float32
    assert (out["labels"] < 21).all() and (out["confidence"] >= 1 / 21 - 1e-6).all() and (out["confidence"] <= 1).all()


def test_parity_with_pytorch_on_a_rendered_view(exported, tmp_path_factory):
    model, fp32, fp16 = exported
    benchmark, features = micro_benchmark(tmp_path_factory.mktemp("vdvi-export"), k=8)
    view = SynthRoomsViews(benchmark, features, "test", (96, 64))[0]
    rgb, feats = view["rgb"][None].numpy(), view["features"][None].numpy()
    result = parity(model, fp32, rgb, feats)
    assert result["label_agreement"] >= 0.999, result
    assert result["max_confidence_difference"] < 1e-4
    half = parity(model, fp16, rgb, feats)
    assert half["label_agreement"] >= 0.95, half  # fp16 arithmetic: near-ties may flip
    # the exported graph is a copy: the PyTorch model is still fp32
    assert next(model.parameters()).dtype == torch.float32


def test_manifest_entry(exported, tmp_path):
    _, fp32, _ = exported
    path = tmp_path / "vdvi.onnx"
    path.write_bytes(fp32)
    entry = update_manifest(path, MODEL_ARGS, "test model", "pytest")
    update_manifest(path, MODEL_ARGS, "test model", "pytest")  # replaces, does not duplicate
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "semantic-splat-models/1" and len(manifest["models"]) == 1
    import hashlib

    assert entry["sha256"] == hashlib.sha256(fp32).hexdigest() and entry["bytes"] == len(fp32)
    assert entry["kind"] == "vdvi" and entry["k"] == 8


def test_rgb_only_fallback_has_its_own_contract(tmp_path):
    """Issue 14: a variant-rgb model (here with the pretrained encoder) is exported with one input `rgb`, kind and
    contract vdvi-rgb, no k, within 15 MB, listed in the manifest as vdvi-rgb; labels agree with PyTorch."""
    from rtgs2.vdvi.export import MAX_ONNX_BYTES
    from rtgs2.vdvi.model import build_model

    torch.manual_seed(0)
    args = {"arch": "vdvi", "k": 16, "variant": "rgb", "num_classes": 21, "rgb_encoder": "mobilenetv2"}
    model = build_model(**args).eval()
    data = export_onnx(model, args, tmp_path / "vdvi-rgb.onnx")
    proto = onnx.load_from_string(data)
    assert [i.name for i in proto.graph.input] == ["rgb"]
    assert {o.name for o in proto.graph.output} == {"labels", "confidence"}
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["kind"] == "vdvi-rgb" and props["contract"] == "vdvi-rgb/1" and "k" not in props
    assert props["rgb_encoder"] == "mobilenetv2" and props["size_multiple"] == "32"
    assert props["class_table_version"] == load_class_table()["version"]
    assert len(data) <= MAX_ONNX_BYTES
    rng = np.random.default_rng(1)
    rgb = rng.random((1, 3, 64, 96), dtype=np.float32)
    result = parity(model, data, rgb, rng.random((1, 16, 64, 96), dtype=np.float32))
    assert result["label_agreement"] >= 0.999, result
    entry = update_manifest(tmp_path / "vdvi-rgb.onnx", args, "fallback", "test")
    assert entry["kind"] == "vdvi-rgb" and "k" not in entry
    listed = json.loads((tmp_path / "manifest.json").read_text())["models"]
    assert [m["kind"] for m in listed] == ["vdvi-rgb"]
    # the full model with the same encoder keeps contract 3
    full_args = {**args, "variant": "full"}
    full = onnx.load_from_string(export_onnx(build_model(**full_args).eval(), full_args))
    assert [i.name for i in full.graph.input] == ["rgb", "features"]
    assert {p.key: p.value for p in full.metadata_props}["kind"] == "vdvi"


def test_evaluate_reads_an_exported_file_like_its_checkpoint(exported, tmp_path):
    """`rtgs2.vdvi.evaluate --onnx FILE` (the shipped models have no checkpoint here) gives the PyTorch model's
    figures on the same views: the file's labels are the model's."""
    from rtgs2.vdvi import evaluate as ev

    model, fp32, _ = exported
    benchmark, features = micro_benchmark(tmp_path / "bench", k=8)
    views = SynthRoomsViews(benchmark, features, "test", (96, 64))
    reference = ev.evaluate(model, views, consistency=False)
    path = tmp_path / "vdvi.onnx"
    path.write_bytes(fp32)
    out = tmp_path / "metrics.json"
    assert ev.main(["--onnx", str(path), "--benchmark", str(benchmark), "--features", str(features),
                    "--resolution", "96x64", "--no-consistency", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["onnx"] == str(path) and result["model_args"]["k"] == 8
    assert result["images"] == reference["images"] == len(views)
    assert result["miou"] == pytest.approx(reference["miou"], abs=2e-3)
    assert result["oacc"] == pytest.approx(reference["oacc"], abs=2e-3)
    with pytest.raises(SystemExit):  # one source only
        ev.main(["--onnx", str(path), "--checkpoint", str(path), "--benchmark", str(benchmark), "--features", "none"])
