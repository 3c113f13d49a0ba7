"""The real-image prior's conversion (rtgs2.vdvi.pretrained): reading tfjs files wrapped in JavaScript modules,
dequantisation, Keras -> PyTorch layout, and parity with the original network executed by TensorFlow.js.

The parity test needs the nsfwjs package (not a dependency; `npm pack nsfwjs@4.4.0` into factory/cache/npm, see
the module's docstring; scripts/ensure-nsfwjs.sh does it). It is skipped, saying so, where the package is absent,
except under RTGS2_REQUIRE_NSFWJS=1 (set by scripts/test-python.sh, so `npm test` and CI fetch it and run it).
The other tests build a fake package of the same form with known weights and always run."""
import base64
import io
import os
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rtgs2.vdvi.mobilenetv2 import MobileNetV2Features, keras_weight_names
from rtgs2.vdvi.pretrained import (PretrainedError, convert, decode_weights, load_pretrained, parse_js_literal,
                                   read_model_module, read_shard_module)

FACTORY = Path(__file__).resolve().parents[1]
REFERENCE = FACTORY / "tests" / "fixtures" / "mobilenetv2_reference.json"
NSFWJS_CANDIDATES = [FACTORY / "cache" / "npm" / "nsfwjs-4.4.0.tgz", FACTORY / "cache" / "npm" / "nsfwjs-4.4.0"]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_js_literals_as_minifiers_write_them():
    text = 'x={a:1,"b c":[.5,-2.5e-3,!0,!1,null],d:{e:"q\\"r"},f:[]}'
    value, end = parse_js_literal(text, 2)
    assert value == {"a": 1, "b c": [0.5, -2.5e-3, True, False, None], "d": {"e": 'q"r'}, "f": []}
    assert end == len(text)
    with pytest.raises(PretrainedError, match="unsupported JavaScript value"):
        parse_js_literal("{a:undefined}")


def test_dequantisation_follows_tfjs():
    manifest = [{"paths": ["g"], "weights": [
        {"name": "q8", "shape": [2, 2], "dtype": "float32", "quantization": {"min": -1.0, "scale": 0.5, "dtype": "uint8"}},
        {"name": "f32", "shape": [3], "dtype": "float32"},
        {"name": "q16", "shape": [1], "dtype": "float32", "quantization": {"min": 2.0, "scale": 0.25, "dtype": "uint16"}},
    ]}]
    data = bytes([0, 1, 2, 4]) + np.array([1.5, -2.0, 3.25], np.float32).tobytes() + np.array([8], np.uint16).tobytes()
    w = decode_weights(manifest, [data])
    np.testing.assert_array_equal(w["q8"], [[-1.0, -0.5], [0.0, 1.0]])
    np.testing.assert_array_equal(w["f32"], [1.5, -2.0, 3.25])
    np.testing.assert_array_equal(w["q16"], [4.0])
    with pytest.raises(PretrainedError, match="describes 18 bytes, the shards hold 19"):
        decode_weights(manifest, [data + b"\0"])


def _wrap(exports: str) -> str:
    """A browserify-style module exporting `exports` (the form of nsfwjs' dist/models/*/*.min.js)."""
    return ('!function(e){module.exports=e()}(function(){return function e(a,n,i){return 0}'
            '({1:[function(e,a,n){a.exports=' + exports + '},{}]},{},[1])(1)});')


def _fake_package(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """An nsfwjs-shaped package whose MobileNetV2 weights are random uint8 codes; returns the dequantised values."""
    shapes = {name: tuple(t.shape) for name, t in MobileNetV2Features().state_dict().items()}
    specs, blobs, expected = [], [], {}
    for ours, (theirs, kind) in keras_weight_names().items():
        shape = shapes[ours]
        if kind == "conv":
            keras_shape = (shape[2], shape[3], shape[1], shape[0])
        elif kind == "depthwise":
            keras_shape = (shape[2], shape[3], shape[0], 1)
        else:
            keras_shape = shape
        q = rng.integers(0, 256, int(np.prod(keras_shape)), dtype=np.uint8)
        lo, scale = float(rng.uniform(-1, 0)), float(rng.uniform(0.001, 0.01))
        specs.append({"name": theirs, "shape": list(keras_shape), "dtype": "float32",
                      "quantization": {"min": lo, "scale": scale, "dtype": "uint8"}})
        blobs.append(q.tobytes())
        expected[theirs] = (lo + scale * q.astype(np.float64)).astype(np.float32).reshape(keras_shape)
    # a head layer that the conversion drops
    specs.append({"name": "dense_3/bias", "shape": [5], "dtype": "float32"})
    blobs.append(np.zeros(5, np.float32).tobytes())
    model = {"modelTopology": {"keras_version": "2.2.4", "model_config": {}},
             "weightsManifest": [{"paths": ["group1-shard1of1"], "weights": specs}]}
    models = root / "package" / "dist" / "models" / "mobilenet_v2"
    models.mkdir(parents=True)
    (root / "package" / "package.json").write_text(json.dumps({"name": "fake", "version": "0.0.1", "license": "MIT"}))
    # JSON is a JavaScript literal too; minified keys are unquoted, so unquote the top-level ones like the original
    literal = json.dumps(model).replace('"modelTopology"', "modelTopology").replace('"weightsManifest"', "weightsManifest")
    (models / "model.min.js").write_text(_wrap(literal))
    (models / "group1-shard1of1.min.js").write_text(_wrap('"' + base64.b64encode(b"".join(blobs)).decode() + '"'))
    return expected


def test_conversion_of_a_fake_package_puts_every_weight_where_it_belongs(tmp_path):
    expected = _fake_package(tmp_path, np.random.default_rng(0))
    record = convert(tmp_path, tmp_path / "out" / "mobilenetv2.pt")
    state = record["state_dict"]
    for ours, (theirs, kind) in keras_weight_names().items():
        keras = expected[theirs]
        if kind == "conv":
            want = keras.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        elif kind == "depthwise":
            want = keras.transpose(2, 3, 0, 1)  # H W C 1 -> C 1 H W
        else:
            want = keras
        np.testing.assert_array_equal(state[ours].numpy(), want, err_msg=ours)
    assert record["source"]["package"] == "fake" and "dense_3" in record["source"]["changes"]
    # the tarball form reads the same
    tgz = tmp_path / "fake.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(tmp_path / "package", arcname="package")
    again = convert(tgz)
    assert all(torch.equal(again["state_dict"][k], state[k]) for k in state)
    loaded, source = load_pretrained(tmp_path / "out" / "mobilenetv2.pt")
    assert source["version"] == "0.0.1" and torch.equal(loaded["stem.conv.weight"], state["stem.conv.weight"])


def test_bad_packages_are_refused_with_the_problem_named(tmp_path):
    with pytest.raises(PretrainedError, match="neither an npm tarball nor a folder"):
        convert(tmp_path / "missing.tgz")
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(PretrainedError, match="no file dist/models/mobilenet_v2/model.min.js"):
        convert(tmp_path)
    with pytest.raises(PretrainedError, match="no `exports"):
        read_model_module("var x = 1;")
    with pytest.raises(PretrainedError, match="no `exports"):
        read_shard_module("a.exports=[1,2]")
    with pytest.raises(PretrainedError, match="not a rtgs2-pretrained-mobilenetv2/1 file"):
        buffer = io.BytesIO()
        torch.save({"format": "other"}, buffer)
        (tmp_path / "w.pt").write_bytes(buffer.getvalue())
        load_pretrained(tmp_path / "w.pt")


def _pattern(height: int, width: int, phase: int) -> torch.Tensor:
    """The reference script's input formula (factory/scripts/make_mobilenetv2_reference.mjs), as (1, 3, H, W)."""
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    image = (0.5 + 0.5 * np.sin(0.37 * y + 0.23 * (c + 1) * x + c + phase)).astype(np.float32)
    return torch.from_numpy(image).permute(2, 0, 1)[None]


def test_parity_with_the_original_network_run_by_tfjs():
    """The PyTorch port of nsfwjs' MobileNetV2 matches what TensorFlow.js computed at the four taps (recorded in
    tests/fixtures/mobilenetv2_reference.json by a committed script): both dequantise the same uint8 weights in
    float32, so they differ by float rounding only."""
    package = next((p for p in NSFWJS_CANDIDATES if p.exists()), None)
    if package is None and os.environ.get("RTGS2_REQUIRE_NSFWJS") == "1":
        pytest.fail("the nsfwjs package is not in factory/cache/npm and RTGS2_REQUIRE_NSFWJS=1 (scripts/test-python.sh "
                    "fetches it with scripts/ensure-nsfwjs.sh: npm pack nsfwjs@4.4.0)")
    if package is None:
        pytest.skip("the nsfwjs package is not in factory/cache/npm (npm pack nsfwjs@4.4.0 --pack-destination "
                    "factory/cache/npm)")
    reference = json.loads(REFERENCE.read_text())
    record = convert(package)
    assert record["source"]["version"] == reference["source"]["version"]
    model = MobileNetV2Features().eval()
    model.load_state_dict(record["state_dict"])
    for case in reference["cases"]:
        with torch.no_grad():
            taps = model(_pattern(case["height"], case["width"], case["phase"]))
        assert len(taps) == len(case["taps"]) == 4
        for ours, theirs in zip(taps, case["taps"]):
            want = np.frombuffer(base64.b64decode(theirs["data"]), np.float32).reshape(theirs["shape"])
            got = ours.permute(0, 2, 3, 1).numpy()
            assert got.shape == want.shape, theirs["layer"]
            scale = np.abs(want).max()
            assert scale > 1.0  # real activations, not zeros
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * scale, err_msg=theirs["layer"])
