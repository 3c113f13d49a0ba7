"""ONNX export of a trained fusion model (ARCHITECTURE.md contract 3, docs/MODELS.md), with a parity check.

    python -m rtgs2.vdvi.export --checkpoint runs/vdvi-full/best.pt --out ../models/vdvi-k16.onnx \
        [--fp16] [--logits] [--manifest] [--parity-benchmark cache/synthrooms/full --parity-features cache/features/<id>]

The graph: inputs `rgb` float32 [1,3,H,W] in [0,1] and `features` float32 [1,K,H,W] (H, W dynamic, multiples of
32); outputs `labels` uint8 [1,H,W] (argmax) and `confidence` float32 [1,H,W] (max softmax probability), both
computed in the graph, and `logits` float32 [1,C,H,W] with --logits. BatchNorm is folded into the convolutions
(eval-mode export). --fp16: float16 weights and arithmetic inside the graph, float32 inputs and outputs (softmax and
argmax on the logits cast back to float32). Opset 17, standard operators only. Metadata props: the keys the worker
checks (src/worker/modelContract.ts: kind, k, num_classes, class_table_version, size_multiple) plus contract, rgb,
features, precision, arch, variant, model_args (JSON). --manifest adds/updates the file's entry (sha256, bytes) in
manifest.json next to it (docs/MODELS.md).

The RGB-only fallback (a checkpoint of `--variant rgb`, issue 14) is exported with its own contract, which the
runtime tells apart by its metadata: kind `vdvi-rgb`, contract `vdvi-rgb/1`, ONE input `rgb` (no features, no k),
the same outputs; its manifest entry has kind `vdvi-rgb`.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from .. import manifest
from ..classes import load_class_table
from .model import SIZE_MULTIPLE

OPSET = 17
CONTRACT = "vdvi/1"
RGB_ONLY_CONTRACT = "vdvi-rgb/1"
RGB_ONLY_KIND = "vdvi-rgb"
MAX_ONNX_BYTES = 15 * 1024 * 1024  # issue 14: each model file the browser downloads is at most 15 MB
# the same words as the fixtures' (factory/scripts/make_fixture_models.py)
RGB_CONVENTION = "float32 [1,3,H,W] in [0,1], render over a black background"
FEATURES_CONVENTION = "float32 [1,K,H,W], splatted features, not divided by alpha"


def is_rgb_only(model_args: dict) -> bool:
    """A model without a feature branch: exported as the RGB-only fallback (one input)."""
    return model_args.get("variant") == "rgb"


class SegmentationHead(torch.nn.Module):
    """The exported graph: model logits -> labels (uint8) + confidence (max softmax), optionally logits.
    rgb_only: one input (rgb); the model (variant rgb) never reads its features argument."""

    def __init__(self, model: torch.nn.Module, fp16: bool = False, with_logits: bool = False, rgb_only: bool = False):
        super().__init__()
        self.model = model.half() if fp16 else model
        self.fp16, self.with_logits, self.rgb_only = fp16, with_logits, rgb_only

    def forward(self, rgb: torch.Tensor, features: torch.Tensor | None = None):
        if self.fp16:
            rgb = rgb.half()
            features = None if features is None else features.half()
        # variant rgb ignores the features: the rgb tensor stands in (check_inputs is skipped while exporting)
        logits = self.model(rgb, rgb if self.rgb_only else features).float()
        probabilities = torch.softmax(logits, dim=1)
        confidence, _ = probabilities.max(dim=1)
        labels = logits.argmax(dim=1).to(torch.uint8)
        return (labels, confidence, logits) if self.with_logits else (labels, confidence)


def metadata(model_args: dict, fp16: bool, extra: dict | None = None) -> dict[str, str]:
    table = load_class_table()
    if len(table["classes"]) != model_args["num_classes"]:
        raise ValueError(f"the model has {model_args['num_classes']} classes, models/classes.json has "
                         f"{len(table['classes'])}")
    props = {
        "contract": CONTRACT,
        "kind": "vdvi",
        "k": str(model_args["k"]),
        "num_classes": str(model_args["num_classes"]),
        "class_table_version": table["version"],
        "size_multiple": str(SIZE_MULTIPLE),
        "rgb": RGB_CONVENTION,
        "features": FEATURES_CONVENTION,
        "precision": "fp16" if fp16 else "fp32",
        "arch": model_args["arch"],
        "variant": model_args["variant"],
        "rgb_encoder": model_args.get("rgb_encoder", "scratch"),
        "model_args": json.dumps(model_args, sort_keys=True),
    }
    if is_rgb_only(model_args):
        props.update(contract=RGB_ONLY_CONTRACT, kind=RGB_ONLY_KIND)
        del props["k"], props["features"]
    props.update(extra or {})
    return props


def export_onnx(model: torch.nn.Module, model_args: dict, out: Path | None = None, fp16: bool = False,
                with_logits: bool = False, extra_metadata: dict | None = None) -> bytes:
    """Exports a copy of `model` (left untouched); returns the bytes and writes them to `out` when given."""
    import copy

    clone = copy.deepcopy(model).cpu().eval()
    rgb_only = is_rgb_only(model_args)
    head = SegmentationHead(clone, fp16, with_logits, rgb_only).eval()
    k = model_args["k"]
    example = (torch.rand(1, 3, 64, 96),) if rgb_only else (torch.rand(1, 3, 64, 96), torch.rand(1, k, 64, 96))
    inputs = ["rgb"] if rgb_only else ["rgb", "features"]
    outputs = ["labels", "confidence"] + (["logits"] if with_logits else [])
    dynamic = {"rgb": {2: "height", 3: "width"}, "labels": {1: "height", 2: "width"},
               "confidence": {1: "height", 2: "width"}}
    if not rgb_only:
        dynamic["features"] = {2: "height", 3: "width"}
    if with_logits:
        dynamic["logits"] = {2: "height", 3: "width"}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter (dynamo needs onnxscript)
        torch.onnx.export(head, example, buffer, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    del proto.metadata_props[:]
    for key, value in metadata(model_args, fp16, extra_metadata).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"VDVI fusion model ({model_args['arch']}/{model_args['variant']}, K = {k}, " \
                       f"{'fp16' if fp16 else 'fp32'}): rgb + splatted features -> labels + confidence"
    if rgb_only:
        proto.doc_string = f"VDVI RGB-only fallback ({model_args['arch']}/rgb, RGB encoder " \
                           f"{model_args.get('rgb_encoder', 'scratch')}, {'fp16' if fp16 else 'fp32'}): rgb -> labels + " \
                           f"confidence, for a scene whose features are not ready"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return data


def run_onnx(model_bytes_or_path, rgb: np.ndarray, features: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    src = model_bytes_or_path if isinstance(model_bytes_or_path, bytes) else str(model_bytes_or_path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(src, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    feeds = {"rgb": rgb.astype(np.float32), "features": features.astype(np.float32)}
    values = session.run(names, {i.name: feeds[i.name] for i in session.get_inputs()})  # the fallback reads rgb only
    return dict(zip(names, values))


def parity(model: torch.nn.Module, model_bytes, rgb: np.ndarray, features: np.ndarray) -> dict:
    """Fraction of pixels whose ONNX label equals PyTorch's argmax, and the largest confidence difference."""
    model = model.cpu().eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(rgb), torch.from_numpy(features))
    reference = logits.argmax(1).numpy()
    confidence = torch.softmax(logits, 1).max(1).values.numpy()
    got = run_onnx(model_bytes, rgb, features)
    return {"label_agreement": float((got["labels"].astype(np.int64) == reference).mean()),
            "max_confidence_difference": float(np.abs(got["confidence"] - confidence).max()),
            "pixels": int(reference.size)}


def update_manifest(model_path: Path, model_args: dict, description: str, command: str,
                    precision: str = "fp32") -> dict:
    """Adds or replaces `model_path`'s VDVI entry in manifest.json in the same folder (docs/MODELS.md): kind
    vdvi-rgb without k for the RGB-only fallback."""
    if is_rgb_only(model_args):
        return manifest.update_manifest(model_path, RGB_ONLY_KIND, description, command, opset=OPSET,
                                        classTableVersion=load_class_table()["version"], precision=precision)
    return manifest.update_manifest(model_path, "vdvi", description, command, opset=OPSET, k=model_args["k"],
                                    classTableVersion=load_class_table()["version"], precision=precision)


def training_encoder(state: dict) -> Path | None:
    """The encoder whose features a VDVI checkpoint was trained on (its --features directory's, feature_cache_encoder)."""
    features = (state.get("args") or {}).get("features")
    return feature_cache_encoder(Path(str(features))) if features and features != "none" else None


def feature_cache_encoder(features: Path) -> Path | None:
    """The encoder that rendered a feature cache, from its source.json (`onnx:<file>` or `encoder:<checkpoint>`, as
    rtgs2.vdvi.data wrote it), when that file is still there; None for other sources (raw10, ...)."""
    source_json = Path(features) / "source.json"
    if not source_json.is_file():
        return None
    source = json.loads(source_json.read_text()).get("source", "")
    kind, _, path = source.partition(":")
    return Path(path) if kind in ("onnx", "encoder") and Path(path).is_file() else None


def main(argv=None) -> int:
    from .evaluate import load_model

    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint of rtgs2.vdvi.train")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--logits", action="store_true", help="also output the logits")
    parser.add_argument("--manifest", action="store_true", help="add/update the entry in manifest.json next to --out")
    parser.add_argument("--parity-benchmark", type=Path, default=None)
    parser.add_argument("--parity-features", type=Path, default=None)
    parser.add_argument("--parity-resolution", default="640x480")
    parser.add_argument("--encoder", type=Path, default=None,
                        help="the encoder (.onnx or checkpoint) whose features the network was trained on; its "
                             "features_id goes into the metadata (default: the training features' source, when found)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, state = load_model(args.checkpoint)
    extra = {"training_step": str(state.get("step"))}
    if "interpolated" in state:  # rtgs2.vdvi.interpolate: which two checkpoints, in which shares
        extra["interpolated"] = json.dumps(state["interpolated"], sort_keys=True)
    if not is_rgb_only(state["model_args"]):
        from ..encoder.export import features_id_of

        if args.encoder is not None and not args.encoder.is_file():
            parser.error(f"--encoder {args.encoder}: no such file")
        encoder = args.encoder or training_encoder(state)
        if encoder is None:
            print("note: the encoder of the training features was not found (--encoder): no features_id, the runtime "
                  "will feed this network any encoder's features", file=sys.stderr)
        else:
            try:
                extra["features_id"] = features_id_of(encoder)
            except Exception as e:
                raise SystemExit(f"--encoder {encoder}: {e}") from e
            print(f"features_id {extra['features_id']} (encoder {encoder})")
    data = export_onnx(model, state["model_args"], args.out, fp16=args.fp16, with_logits=args.logits,
                       extra_metadata=extra)
    print(f"wrote {args.out}: {len(data)} bytes")
    if len(data) > MAX_ONNX_BYTES:
        print(f"error: {len(data)} bytes, over the browser budget of {MAX_ONNX_BYTES} bytes per model (issue 14)",
              file=sys.stderr)
        return 1
    if args.parity_benchmark is not None:
        from .data import SynthRoomsViews
        from .evaluate import parse_size

        views = SynthRoomsViews(args.parity_benchmark, args.parity_features or args.parity_benchmark, "test",
                                parse_size(args.parity_resolution, "--parity-resolution"))
        s = views[0]
        h, w = s["rgb"].shape[1:]
        h, w = h - h % SIZE_MULTIPLE, w - w % SIZE_MULTIPLE
        result = parity(model, data, s["rgb"][None, :, :h, :w].numpy(), s["features"][None, :, :h, :w].numpy())
        print(f"parity on test view 0 ({w}x{h}): {result}")
        if result["label_agreement"] < 0.999 and not args.fp16:
            print("error: fewer than 99.9 % of the labels agree with PyTorch", file=sys.stderr)
            return 1
    if args.manifest:
        entry = update_manifest(args.out, state["model_args"],
                                f"VDVI {state['model_args']['arch']}/{state['model_args']['variant']}"
                                f"{' (RGB-only fallback)' if is_rgb_only(state['model_args']) else ''}, RGB encoder "
                                f"{state['model_args'].get('rgb_encoder', 'scratch')}, "
                                f"{'fp16' if args.fp16 else 'fp32'}", "python3 -m rtgs2.vdvi.export " + " ".join(
                                    argv if argv is not None else sys.argv[1:]), "fp16" if args.fp16 else "fp32")
        print(f"manifest entry: {entry}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
