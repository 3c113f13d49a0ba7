"""The rendered-view fixture of the shipped-models spec (rtgs2.vdvi.view_fixture): the bytes are the view's crop in
the documented layout, each model's labels are what onnxruntime gives for that crop, and bad crops are refused."""
import json

import numpy as np
import pytest
import torch

from rtgs2.synthrooms.benchmark import load_view, room_dir
from rtgs2.vdvi import view_fixture
from rtgs2.vdvi.data import micro_benchmark
from rtgs2.vdvi.export import export_onnx, run_onnx, update_manifest
from rtgs2.vdvi.model import Vdvi, VdviConfig

K = 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("view-fixture")
    benchmark, features = micro_benchmark(root / "data", k=K, size=(96, 64))
    models = root / "models"
    models.mkdir()
    torch.manual_seed(0)
    args = {"arch": "vdvi", "k": K, "variant": "full", "num_classes": 21}
    export_onnx(Vdvi(VdviConfig(k=K)).eval(), args, models / "vdvi-k8.onnx")
    update_manifest(models / "vdvi-k8.onnx", args, "test model", "pytest")
    return benchmark, features, models, root


def test_the_fixture_is_the_crop_and_the_models_labels_of_it(setup):
    benchmark, features, models, root = setup
    out = root / "out" / "view"
    assert view_fixture.main(["--benchmark", str(benchmark), "--features", str(features), "--room", "3002",
                              "--view", "1", "--resolution", "96x64", "--crop", "32,0,64x64", "--models", str(models),
                              "--out", str(out)]) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    assert (doc["format"], doc["width"], doc["height"], doc["k"]) == ("rtgs2-view-fixture/1", 64, 64, K)
    assert doc["features_id"] is None  # raw10 features come from no encoder file
    data = out.with_suffix(".bin").read_bytes()
    n = 64 * 64
    assert len(data) == 3 * n + 2 * K * n + n + len(doc["models"]) * n
    view = load_view(room_dir(benchmark, "test", 3002), (96, 64), 1)
    rgb = np.frombuffer(data[:3 * n], np.uint8).reshape(3, 64, 64)
    assert np.array_equal(rgb, view["rgb"][:, 32:96].transpose(2, 0, 1))
    feats = np.frombuffer(data[3 * n:3 * n + 2 * K * n], "<f2").reshape(K, 64, 64)
    with np.load(room_dir(features, "test", 3002) / "views_96x64" / "001.npz") as z:
        assert np.array_equal(feats, z["features"][:, 32:96].transpose(2, 0, 1).astype(np.float16))
    labels = np.frombuffer(data[3 * n + 2 * K * n:3 * n + 2 * K * n + n], np.uint8).reshape(64, 64)
    assert np.array_equal(labels, view["labels"][:, 32:96])
    [entry] = doc["models"]
    got = np.frombuffer(data[-n:], np.uint8).reshape(64, 64)
    want = run_onnx(models / entry["file"], rgb[None].astype(np.float32) / 255, feats[None].astype(np.float32))
    assert np.array_equal(got, want["labels"][0])
    assert entry["pixel_accuracy"] == round(view_fixture.pixel_accuracy(got, labels), 4)


@pytest.mark.parametrize("crop,message", [("64,0,64x64", "not inside"), ("0,0,48x32", "multiples of 32"),
                                          ("0,0", "expected X,Y,WxH")])
def test_bad_crops_are_refused_with_a_message(setup, crop, message):
    benchmark, features, models, root = setup
    with pytest.raises(SystemExit, match=message):
        view_fixture.main(["--benchmark", str(benchmark), "--features", str(features), "--room", "3002", "--view", "0",
                           "--resolution", "96x64", "--crop", crop, "--models", str(models), "--out", str(root / "x")])


def test_features_of_another_k_than_the_models_are_refused(setup, tmp_path):
    benchmark, features, models, root = setup
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["models"][0]["k"] = 16
    other = tmp_path / "models"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit, match=r"has K = 8, the manifest's VDVI files take K = \[16\]"):
        view_fixture.main(["--benchmark", str(benchmark), "--features", str(features), "--room", "3002", "--view", "0",
                           "--resolution", "96x64", "--crop", "0,0,64x64", "--models", str(other), "--out", str(root / "y")])


def test_a_models_folder_without_a_manifest_is_refused(setup, tmp_path):
    benchmark, features, models, root = setup
    with pytest.raises(SystemExit, match="no manifest.json"):
        view_fixture.main(["--benchmark", str(benchmark), "--features", str(features), "--room", "3002", "--view", "0",
                           "--resolution", "96x64", "--crop", "0,0,64x64", "--models", str(tmp_path), "--out", str(root / "z")])


def test_pixel_accuracy_leaves_out_unlabelled_pixels():
    labels = np.array([[0, 1], [255, 2]], np.uint8)
    assert view_fixture.pixel_accuracy(np.array([[0, 0], [7, 2]], np.uint8), labels) == pytest.approx(2 / 3)
