"""A rendered SynthRooms test view, cut to a small crop, as a fixture for the runtime's tests of the shipped models
(test/models/shippedModels.spec.ts): what the worker's segment() takes, the ground-truth labels, and the labels
onnxruntime gives here for every VDVI file in the manifest, so that the browser can check it runs the same models on
the same inputs (layout, scaling, channel order) and that they label a real view, not a synthetic one.

    python3 -m rtgs2.vdvi.view_fixture --benchmark cache/synthrooms/full --features cache/features/variety-k16 \
        --room 3006 --view 0 --crop 64,32,160x128 --models ../models --out ../test/fixtures/models/test-view

Writes <out>.bin and <out>.json. The .bin holds, one after the other: rgb (3, H, W) uint8 (the model input is
rgb / 255), features (K, H, W) IEEE half, ground-truth labels (H, W) uint8 (255 = none), then for each entry of
json["models"] its labels (H, W) uint8. Regenerate it whenever the shipped models change: the features must come
from the encoder the VDVI files were trained on (json["features_id"], checked by the spec).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..classes import NONE, class_names
from ..synthrooms.benchmark import load_view, room_dir, views_dir
from .evaluate import parse_size
from .export import feature_cache_encoder, run_onnx

FORMAT = "rtgs2-view-fixture/1"


def parse_crop(text: str) -> tuple[int, int, int, int]:
    """"X,Y,WxH" -> (x, y, w, h)."""
    try:
        x, y, size = text.split(",")
        w, h = parse_size(size, "--crop")
        return int(x), int(y), w, h
    except ValueError as e:
        raise ValueError(f"--crop {text!r}: expected X,Y,WxH, e.g. 64,32,160x128 ({e})") from None


def load_crop(benchmark: Path, features: Path, split: str, seed: int, view: int, resolution: tuple[int, int],
              crop: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """rgb (3, h, w) uint8, features (K, h, w) float16 and labels (h, w) uint8 of one benchmark view's crop."""
    x, y, w, h = crop
    if x < 0 or y < 0 or x + w > resolution[0] or y + h > resolution[1]:
        raise ValueError(f"crop {crop} is not inside the {resolution[0]}x{resolution[1]} view")
    path = room_dir(Path(benchmark), split, seed)
    if not (path / "complete.json").is_file():
        raise FileNotFoundError(f"{path}: no complete room (generate the benchmark first)")
    v = load_view(path, resolution, view)
    fpath = views_dir(room_dir(Path(features), split, seed), resolution) / f"{view:03d}.npz"
    if not fpath.is_file():
        raise FileNotFoundError(f"{fpath}: no features for this view (python3 -m rtgs2.vdvi.data features)")
    with np.load(fpath) as z:
        feats = z["features"]
    window = (slice(y, y + h), slice(x, x + w))
    return {"rgb": np.ascontiguousarray(v["rgb"][window].transpose(2, 0, 1)).astype(np.uint8),
            "features": np.ascontiguousarray(feats[window].transpose(2, 0, 1)).astype(np.float16),
            "labels": v["labels"][window].astype(np.uint8)}


def pixel_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Share of the labelled pixels (not none) whose prediction is their label."""
    valid = labels != NONE
    return float((predicted[valid] == labels[valid]).mean())


def model_labels(model: Path, crop: dict[str, np.ndarray]) -> np.ndarray:
    """The file's labels (h, w) uint8 for the crop, from onnxruntime on this machine's CPU."""
    rgb = crop["rgb"][None].astype(np.float32) / 255.0
    features = crop["features"][None].astype(np.float32)
    return run_onnx(model, rgb, features)["labels"][0].astype(np.uint8)


def features_id_of_features(features: Path) -> str | None:
    """The features_id of the encoder that rendered a feature cache, when that encoder's file is known."""
    from ..encoder.export import features_id_of

    encoder = feature_cache_encoder(features)
    return features_id_of(encoder) if encoder is not None else None


def write_fixture(out: Path, crop: dict[str, np.ndarray], models: list[tuple[dict, np.ndarray]], meta: dict) -> dict:
    k, h, w = crop["features"].shape
    parts = [crop["rgb"].tobytes(), crop["features"].astype("<f2").tobytes(), crop["labels"].tobytes()]
    entries = []
    for entry, labels in models:
        parts.append(labels.tobytes())
        entries.append({"file": entry["file"], "kind": entry["kind"], "precision": entry.get("precision"),
                        "sha256": entry["sha256"], "pixel_accuracy": round(pixel_accuracy(labels, crop["labels"]), 4)})
    present = np.unique(crop["labels"][crop["labels"] != NONE])
    names = class_names()
    doc = {"format": FORMAT, **meta, "width": w, "height": h, "k": k,
           "classes_present": [names[c] for c in present], "models": entries,
           "layout": "rgb (3,H,W) u8 | features (K,H,W) f16 LE | labels (H,W) u8 | per model labels (H,W) u8"}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".bin").write_bytes(b"".join(parts))
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m rtgs2.vdvi.view_fixture", description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True, help="the feature cache of the shipped encoder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--room", type=int, required=True, help="room seed")
    parser.add_argument("--view", type=int, required=True)
    parser.add_argument("--resolution", default="320x240", help="WxH of the benchmark views to cut from")
    parser.add_argument("--crop", required=True, help="X,Y,WxH inside the view; W and H multiples of 32")
    parser.add_argument("--models", type=Path, required=True, help="folder with manifest.json (../models)")
    parser.add_argument("--out", type=Path, required=True, help="path without suffix: writes .bin and .json")
    args = parser.parse_args(argv)
    try:
        crop_box = parse_crop(args.crop)
        if crop_box[2] % 32 or crop_box[3] % 32:
            raise ValueError(f"--crop {args.crop}: W and H must be multiples of 32 (the VDVI size multiple)")
        crop = load_crop(args.benchmark, args.features, args.split, args.room, args.view,
                         parse_size(args.resolution, "--resolution"), crop_box)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"view_fixture: {e}") from None
    if not (args.models / "manifest.json").is_file():
        raise SystemExit(f"view_fixture: --models {args.models}: no manifest.json (the folder of the shipped models)")
    manifest = json.loads((args.models / "manifest.json").read_text())
    vdvi = [e for e in manifest["models"] if e["kind"] in ("vdvi", "vdvi-rgb")]
    ks = sorted({e.get("k") for e in vdvi if e["kind"] == "vdvi"})
    if crop["features"].shape[0] not in ks:
        raise SystemExit(f"view_fixture: {args.features} has K = {crop['features'].shape[0]}, the manifest's VDVI "
                         f"files take K = {ks}")
    models = [(e, model_labels(args.models / e["file"], crop)) for e in vdvi]
    meta = {"room": args.room, "split": args.split, "view": args.view, "resolution": args.resolution,
            "crop": args.crop, "features_id": features_id_of_features(args.features),
            "command": "python3 -m rtgs2.vdvi.view_fixture " + " ".join(sys.argv[1:] if argv is None else argv)}
    doc = write_fixture(args.out, crop, models, meta)
    for m in doc["models"]:
        print(f"{m['file']}: pixel accuracy {m['pixel_accuracy']:.4f}")
    print(f"{args.out}.bin, {args.out}.json: {doc['width']}x{doc['height']}, K {doc['k']}, "
          f"classes {', '.join(doc['classes_present'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
