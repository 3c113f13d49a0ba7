#!/usr/bin/env python3
"""Writes the tiny, real ONNX fixtures the runtime's worker specs run (test/fixtures/models/).

The main fixture obeys ARCHITECTURE.md contract 3 (the VDVI fusion model) with fixed weights, so its answer is
known without training:

    logits[c]  = sum_k FEATURE_WEIGHT * onehot(k -> FEATURE_CLASS[k])[c] * features[k]     (1x1 conv)
               + sum_j RGB_WEIGHTS[c, j] * rgb[j]  + BIAS[c]                               (1x1 conv)
    labels     = uint8(argmax_c logits)        confidence = max_c softmax(logits)

A pixel whose feature vector is the one-hot of channel k is therefore labelled FEATURE_CLASS[k]: the rgb term and
the bias are bounded by RGB_BOUND (< FEATURE_WEIGHT / 2), so they cannot flip the argmax for rgb in [0, 1].
H and W are dynamic. fp32 only (SwiftShader, the test GPU, has no shader-f16).

The RGB-only fallback fixture (vdvi-rgb-fixture.onnx, kind "vdvi-rgb", one input `rgb`; the model the runtime runs
while a scene's features are not ready, issue 14) labels a pixel by its dominant colour channel:

    logits[RGB_CLASS[j]] = RGB_FALLBACK_WEIGHT * rgb[j]      (j = red, green, blue), other classes a small bias

so a reddish pixel is RGB_CLASS[0], a bluish one RGB_CLASS[2]: classes the main fixture never gives to a one-hot
feature, so that a spec sees which of the two models answered.

Faulty variants, one per contract check the runtime makes:
    vdvi-fixture-wrong-inputs.onnx   inputs named "image" and "feats" instead of "rgb" and "features"
    vdvi-fixture-k4.onnx             K = 4 (a consistent model, but not the K = 8 the specs ask for)
    vdvi-fixture-wrong-table.onnx    metadata names another class table version

Deterministic: the same command writes byte-identical files; manifest.json lists each file's SHA-256 and size.

    python3 factory/scripts/make_fixture_models.py [--out test/fixtures/models] [--classes models/classes.json]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
OPSET = 17
IR_VERSION = 8  # onnxruntime-web 1.30 reads IR <= 11; 8 is what opset 17 was released with.
K = 8
# Which class each one-hot feature channel stands for (ids in models/classes.json). Spread over the table,
# including the first and last ids, so an off-by-one in a lookup shows.
FEATURE_CLASS = [0, 1, 4, 5, 6, 8, 14, 20]
FEATURE_WEIGHT = 10.0
# For rgb in [0, 1]: |rgb term| <= RGB_BOUND and 0 <= bias < RGB_BOUND, so the two move a logit by less than
# 2 * RGB_BOUND, far below the FEATURE_WEIGHT margin of a one-hot feature.
RGB_BOUND = 0.1
# The fallback fixture: the class of each dominant colour channel (none of them in FEATURE_CLASS).
RGB_CLASS = [2, 9, 13]
RGB_FALLBACK_WEIGHT = 10.0
RGB_ONLY_CONTRACT = "vdvi-rgb/1"
MANIFEST_FORMAT = "semantic-splat-models/1"
CONTRACT = "vdvi/1"
RGB_CONVENTION = "float32 [1,3,H,W] in [0,1], render over a black background"
FEATURES_CONVENTION = "float32 [1,K,H,W], splatted features, not divided by alpha"


def load_class_table(path: Path) -> tuple[str, int]:
    """Returns (version, number of classes) of a class table, checking the fields this script relies on."""
    try:
        table = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"{path}: cannot read the class table: {e}")
    version = table.get("version")
    classes = table.get("classes")
    if not isinstance(version, str) or not version:
        raise SystemExit(f"{path}: 'version' must be a non-empty string")
    if not isinstance(classes, list) or not classes:
        raise SystemExit(f"{path}: 'classes' must be a non-empty list")
    ids = [c.get("id") for c in classes]
    if ids != list(range(len(classes))):
        raise SystemExit(f"{path}: class ids must be 0..N-1 in order, got {ids}")
    return version, len(classes)


def fixture_weights(k: int, num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed weights: features -> classes (one-hot onto FEATURE_CLASS), a small rgb term, a small bias."""
    feature_class = FEATURE_CLASS[:k] if k <= len(FEATURE_CLASS) else None
    if feature_class is None or max(feature_class) >= num_classes:
        raise SystemExit(f"fixture needs K <= {len(FEATURE_CLASS)} and {max(FEATURE_CLASS) + 1} classes")
    w_features = np.zeros((num_classes, k, 1, 1), np.float32)
    for channel, cls in enumerate(feature_class):
        w_features[cls, channel, 0, 0] = FEATURE_WEIGHT
    # A deterministic, non-trivial rgb term: |sum_j w[c,j] * rgb_j| <= 3 * (RGB_BOUND / 3) for rgb in [0, 1].
    ramp = np.linspace(-1.0, 1.0, num_classes * 3, dtype=np.float64).reshape(num_classes, 3)
    w_rgb = (ramp * (RGB_BOUND / 3.0)).astype(np.float32).reshape(num_classes, 3, 1, 1)
    # Distinct small biases, so that where every feature is zero the argmax is still unique (no ties between EPs).
    bias = (np.arange(num_classes, dtype=np.float64) * (RGB_BOUND / num_classes)).astype(np.float32)
    return w_features, w_rgb, bias


def build_model(
    *,
    k: int,
    num_classes: int,
    class_table_version: str,
    rgb_name: str = "rgb",
    features_name: str = "features",
    description: str,
) -> onnx.ModelProto:
    w_features, w_rgb, bias = fixture_weights(k, num_classes)
    nodes = [
        helper.make_node("Conv", [features_name, "w_features", "bias"], ["feature_logits"], kernel_shape=[1, 1]),
        helper.make_node("Conv", [rgb_name, "w_rgb"], ["rgb_logits"], kernel_shape=[1, 1]),
        helper.make_node("Add", ["feature_logits", "rgb_logits"], ["logits"]),
        helper.make_node("ArgMax", ["logits"], ["labels_int64"], axis=1, keepdims=0),
        helper.make_node("Cast", ["labels_int64"], ["labels"], to=TensorProto.UINT8),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ReduceMax", ["probabilities"], ["confidence"], axes=[1], keepdims=0),
    ]
    # ReduceMax takes axes as an attribute up to opset 17 (an input from opset 18 on).
    graph = helper.make_graph(
        nodes,
        "vdvi_fixture",
        inputs=[
            helper.make_tensor_value_info(rgb_name, TensorProto.FLOAT, [1, 3, "H", "W"]),
            helper.make_tensor_value_info(features_name, TensorProto.FLOAT, [1, k, "H", "W"]),
        ],
        outputs=[
            helper.make_tensor_value_info("labels", TensorProto.UINT8, [1, "H", "W"]),
            helper.make_tensor_value_info("confidence", TensorProto.FLOAT, [1, "H", "W"]),
        ],
        initializer=[
            numpy_helper.from_array(w_features, "w_features"),
            numpy_helper.from_array(w_rgb, "w_rgb"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="babylon-semantic-splatting/make_fixture_models.py",
        producer_version="1",
        doc_string=description,
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(
        model,
        {
            "contract": CONTRACT,
            "kind": "vdvi",
            "k": str(k),
            "num_classes": str(num_classes),
            "class_table_version": class_table_version,
            "size_multiple": "32",
            "rgb": RGB_CONVENTION,
            "features": FEATURES_CONVENTION,
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def build_rgb_only_model(*, num_classes: int, class_table_version: str, description: str) -> onnx.ModelProto:
    """The fallback fixture: rgb -> classes of the dominant channel (RGB_CLASS), the contract of a vdvi-rgb model."""
    if max(RGB_CLASS) >= num_classes or set(RGB_CLASS) & set(FEATURE_CLASS):
        raise SystemExit(f"RGB_CLASS {RGB_CLASS} must be class ids outside FEATURE_CLASS")
    w_rgb = np.zeros((num_classes, 3, 1, 1), np.float32)
    for channel, cls in enumerate(RGB_CLASS):
        w_rgb[cls, channel, 0, 0] = RGB_FALLBACK_WEIGHT
    # distinct small biases, no ties where rgb is 0 (uncovered pixels, masked as none by the runtime anyway)
    bias = (np.arange(num_classes, dtype=np.float64) * (RGB_BOUND / num_classes)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["rgb", "w_rgb", "bias"], ["logits"], kernel_shape=[1, 1]),
        helper.make_node("ArgMax", ["logits"], ["labels_int64"], axis=1, keepdims=0),
        helper.make_node("Cast", ["labels_int64"], ["labels"], to=TensorProto.UINT8),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ReduceMax", ["probabilities"], ["confidence"], axes=[1], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "vdvi_rgb_fixture",
        inputs=[helper.make_tensor_value_info("rgb", TensorProto.FLOAT, [1, 3, "H", "W"])],
        outputs=[
            helper.make_tensor_value_info("labels", TensorProto.UINT8, [1, "H", "W"]),
            helper.make_tensor_value_info("confidence", TensorProto.FLOAT, [1, "H", "W"]),
        ],
        initializer=[numpy_helper.from_array(w_rgb, "w_rgb"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="babylon-semantic-splatting/make_fixture_models.py", producer_version="1",
                              doc_string=description)
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {
        "contract": RGB_ONLY_CONTRACT,
        "kind": "vdvi-rgb",
        "num_classes": str(num_classes),
        "class_table_version": class_table_version,
        "size_multiple": "32",
        "rgb": RGB_CONVENTION,
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def fixture_models(class_table_version: str, num_classes: int) -> dict[str, tuple[onnx.ModelProto, dict]]:
    """Every fixture by file name, with the manifest fields that describe it."""
    base = dict(k=K, num_classes=num_classes, class_table_version=class_table_version)
    return {
        "vdvi-fixture.onnx": (
            build_model(**base, description="Fixture: one-hot features -> fixed classes (contract 3)."),
            {"k": K, "classTableVersion": class_table_version},
        ),
        "vdvi-fixture-wrong-inputs.onnx": (
            build_model(**base, rgb_name="image", features_name="feats",
                        description="Faulty fixture: inputs named image/feats instead of rgb/features."),
            {"k": K, "classTableVersion": class_table_version},
        ),
        "vdvi-fixture-k4.onnx": (
            build_model(k=4, num_classes=num_classes, class_table_version=class_table_version,
                        description="Fixture with K = 4 (specs expect K = 8)."),
            {"k": 4, "classTableVersion": class_table_version},
        ),
        "vdvi-fixture-wrong-table.onnx": (
            build_model(k=K, num_classes=num_classes, class_table_version="some-other-table/9",
                        description="Faulty fixture: made for another class table version."),
            {"k": K, "classTableVersion": "some-other-table/9"},
        ),
        "vdvi-rgb-fixture.onnx": (
            build_rgb_only_model(num_classes=num_classes, class_table_version=class_table_version,
                                 description="Fallback fixture: dominant colour channel -> fixed classes (vdvi-rgb)."),
            {"kind": "vdvi-rgb", "classTableVersion": class_table_version},
        ),
    }


def write_fixtures(out_dir: Path, classes_path: Path) -> dict:
    version, num_classes = load_class_table(classes_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for file_name, (model, fields) in fixture_models(version, num_classes).items():
        data = model.SerializeToString(deterministic=True)
        (out_dir / file_name).write_bytes(data)
        entries.append({
            "file": file_name,
            "kind": fields.pop("kind", "vdvi"),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "opset": OPSET,
            **fields,
            "description": model.doc_string,
        })
    manifest = {
        "format": MANIFEST_FORMAT,
        "generatedBy": "python3 factory/scripts/make_fixture_models.py",
        "models": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "test/fixtures/models", help="output folder")
    parser.add_argument("--classes", type=Path, default=REPO / "models/classes.json", help="class table")
    args = parser.parse_args(argv)
    manifest = write_fixtures(args.out, args.classes)
    for entry in manifest["models"]:
        print(f"{args.out / entry['file']}: {entry['bytes']} bytes, sha256 {entry['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
