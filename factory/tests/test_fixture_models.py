"""The worker fixtures (factory/scripts/make_fixture_models.py) compute what they claim, and the committed copies in
test/fixtures/models/ are what the script writes today."""
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "factory/scripts/make_fixture_models.py"
COMMITTED = REPO / "test/fixtures/models"

spec = importlib.util.spec_from_file_location("make_fixture_models", SCRIPT)
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixture_models")
    manifest = fixtures.write_fixtures(out, REPO / "models/classes.json")
    return out, manifest


def run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["labels", "confidence"], feeds)


def one_hot_features(channel_map: np.ndarray, k: int) -> np.ndarray:
    """[H,W] channel indices -> [1,K,H,W] one-hot features."""
    h, w = channel_map.shape
    features = np.zeros((1, k, h, w), np.float32)
    for c in range(k):
        features[0, c][channel_map == c] = 1.0
    return features


def test_fixture_labels_each_one_hot_channel_as_its_class(written):
    out, _ = written
    h, w = 32, 64
    # Stripes of every channel, and rgb at its extremes (0 and 1) so the rgb term pulls as hard as it can.
    channel_map = (np.arange(w)[None, :] // 8 + np.arange(h)[:, None] // 16) % fixtures.K
    rgb = np.zeros((1, 3, h, w), np.float32)
    rgb[0, :, ::2, :] = 1.0
    rgb[0, 1, :, ::3] = 0.0
    labels, confidence = run(out / "vdvi-fixture.onnx", {"rgb": rgb, "features": one_hot_features(channel_map, fixtures.K)})
    assert labels.dtype == np.uint8 and labels.shape == (1, h, w)
    assert confidence.dtype == np.float32 and confidence.shape == (1, h, w)
    expected = np.array(fixtures.FEATURE_CLASS, np.uint8)[channel_map]
    np.testing.assert_array_equal(labels[0], expected)
    # A margin of FEATURE_WEIGHT (10) over 20 other classes: softmax max is above 1 / (1 + 20 e^-9.8).
    assert confidence.min() > 0.99 and confidence.max() <= 1.0


def test_fixture_matches_a_numpy_reference_on_random_inputs(written):
    out, _ = written
    rng = np.random.default_rng(3)
    h, w = 32, 32
    rgb = rng.uniform(0, 1, (1, 3, h, w)).astype(np.float32)
    features = rng.normal(0, 0.3, (1, fixtures.K, h, w)).astype(np.float32)
    labels, confidence = run(out / "vdvi-fixture.onnx", {"rgb": rgb, "features": features})
    w_features, w_rgb, bias = fixtures.fixture_weights(fixtures.K, 21)
    logits = (np.einsum("ck,khw->chw", w_features[:, :, 0, 0], features[0])
              + np.einsum("cj,jhw->chw", w_rgb[:, :, 0, 0], rgb[0]) + bias[:, None, None])
    np.testing.assert_array_equal(labels[0], logits.argmax(0).astype(np.uint8))
    p = np.exp(logits - logits.max(0))
    np.testing.assert_allclose(confidence[0], (p / p.sum(0)).max(0), rtol=1e-5)


def test_dynamic_size_and_metadata(written):
    out, _ = written
    model = onnx.load(out / "vdvi-fixture.onnx")
    props = {p.key: p.value for p in model.metadata_props}
    table = json.loads((REPO / "models/classes.json").read_text())
    assert props["k"] == "8" and props["num_classes"] == str(len(table["classes"]))
    assert props["class_table_version"] == table["version"] and props["contract"] == "vdvi/1"
    assert model.opset_import[0].version >= 17
    labels, _ = run(out / "vdvi-fixture.onnx", {"rgb": np.zeros((1, 3, 64, 96), np.float32),
                                                "features": one_hot_features(np.full((64, 96), 7), 8)})
    assert labels.shape == (1, 64, 96) and (labels == fixtures.FEATURE_CLASS[7]).all()


def test_faulty_variants_differ_only_where_they_should(written):
    out, _ = written
    wrong = ort.InferenceSession(str(out / "vdvi-fixture-wrong-inputs.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in wrong.get_inputs()] == ["image", "feats"]
    k4 = ort.InferenceSession(str(out / "vdvi-fixture-k4.onnx"), providers=["CPUExecutionProvider"])
    assert k4.get_inputs()[1].shape[1] == 4 and k4.get_modelmeta().custom_metadata_map["k"] == "4"
    table = ort.InferenceSession(str(out / "vdvi-fixture-wrong-table.onnx"), providers=["CPUExecutionProvider"])
    assert table.get_modelmeta().custom_metadata_map["class_table_version"] != json.loads(
        (REPO / "models/classes.json").read_text())["version"]


def test_committed_fixtures_are_current_and_listed_with_their_checksums(written):
    out, manifest = written
    committed = json.loads((COMMITTED / "manifest.json").read_text())
    assert committed == manifest, "test/fixtures/models is stale: rerun factory/scripts/make_fixture_models.py"
    for entry in committed["models"]:
        data = (COMMITTED / entry["file"]).read_bytes()
        assert data == (out / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]


def test_rgb_only_fallback_fixture_labels_the_dominant_colour(written):
    """The fallback fixture (issue 14): one input rgb, contract vdvi-rgb, the class of the dominant channel, none of
    them a class the main fixture gives a feature."""
    out, manifest = written
    session = ort.InferenceSession(str(out / "vdvi-rgb-fixture.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["rgb"]
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["kind"] == "vdvi-rgb" and meta["contract"] == "vdvi-rgb/1" and "k" not in meta
    rng = np.random.default_rng(5)
    rgb = rng.uniform(0, 1, (1, 3, 32, 64)).astype(np.float32)
    labels, confidence = session.run(["labels", "confidence"], {"rgb": rgb})
    bias = np.arange(21) * (fixtures.RGB_BOUND / 21)
    logits = np.broadcast_to(bias[:, None, None], (21, 32, 64)).copy()
    for channel, cls in enumerate(fixtures.RGB_CLASS):
        logits[cls] += fixtures.RGB_FALLBACK_WEIGHT * rgb[0, channel]
    np.testing.assert_array_equal(labels[0], logits.argmax(0).astype(np.uint8))
    clear = np.sort(rgb[0], 0)[-1] - np.sort(rgb[0], 0)[-2] > 0.02  # away from near-ties, the dominant channel
    np.testing.assert_array_equal(labels[0][clear], np.array(fixtures.RGB_CLASS, np.uint8)[rgb[0].argmax(0)][clear])
    assert not set(fixtures.RGB_CLASS) & set(fixtures.FEATURE_CLASS)
    # the quadrant scene's colours (test/pipeline/pipelineScene.ts): bluish above, reddish below
    for channel, expected in ((2, 13), (3, 13), (5, 2), (7, 2)):
        colour = np.array([0.2 + 0.1 * channel, 0.5, 0.9 - 0.1 * channel], np.float32).reshape(1, 3, 1, 1)
        pixel = np.broadcast_to(colour, (1, 3, 32, 32)).copy()
        assert (session.run(["labels"], {"rgb": pixel})[0] == expected).all(), channel
    entry = next(m for m in manifest["models"] if m["file"] == "vdvi-rgb-fixture.onnx")
    assert entry["kind"] == "vdvi-rgb" and "k" not in entry
