"""Evaluation of a fusion model on SynthRooms views: mIoU under both protocols (global confusion matrix, RT-GS2's;
per-image average, S-Ray's/GSNeRF's), mAcc, oAcc, per-class IoU and view consistency (rtgs2.metrics).

    python -m rtgs2.vdvi.evaluate --checkpoint runs/<run>/best.pt --benchmark cache/synthrooms/full \
        --features cache/features/<encoder-id> --split test --resolution 640x480 --out runs/<run>/test.json
`--onnx ../models/<file>.onnx` instead of `--checkpoint` evaluates an exported file (the shipped models, whose
training checkpoints are not kept) through onnxruntime, with the same protocol.

Predictions follow the runtime (ARCHITECTURE.md contract 3): pixels whose coverage alpha is below 0.5 are `none`
whatever the network says. Views whose size is not a multiple of 32 are padded (zeros) and the logits cropped.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..classes import NONE
from ..metrics import SegmentationMetrics, view_consistency
from ..render import LABEL_ALPHA_THRESHOLD
from ..synthrooms.benchmark import load_cameras
from .model import SIZE_MULTIPLE


def predict_logits(model: torch.nn.Module, rgb: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Logits (B, C, H, W) for any H, W: the inputs are zero-padded to multiples of 32 on the bottom/right."""
    h, w = rgb.shape[2:]
    ph, pw = (-h) % SIZE_MULTIPLE, (-w) % SIZE_MULTIPLE
    if ph or pw:
        rgb, features = F.pad(rgb, (0, pw, 0, ph)), F.pad(features, (0, pw, 0, ph))
    return model(rgb, features)[:, :, :h, :w]


def labels_from_logits(logits: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    labels = logits.argmax(1)
    return torch.where(alpha < LABEL_ALPHA_THRESHOLD, torch.full_like(labels, NONE), labels)


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset, device: torch.device | str = "cpu", consistency: bool = True,
             max_pairs_per_room: int = 8) -> dict:
    """Metrics of `model` on every view of `dataset` (a SynthRoomsViews without augmentation)."""
    model.eval()
    metrics = SegmentationMetrics()
    predictions: dict[tuple[int, int], np.ndarray] = {}
    for i in range(len(dataset)):
        s = dataset[i]
        logits = predict_logits(model, s["rgb"][None].to(device), s["features"][None].to(device))
        pred = labels_from_logits(logits, s["alpha"][None].to(device))[0].cpu().numpy().astype(np.uint8)
        metrics.update(pred, s["labels"].numpy().astype(np.uint8))
        if consistency:
            predictions[(s["seed"], s["view"])] = pred
    result = metrics.summary()
    if consistency:
        result["view_consistency"] = _consistency(dataset, predictions, max_pairs_per_room)
    return result


def _consistency(dataset, predictions: dict, max_pairs_per_room: int) -> dict:
    """Pooled view consistency over each room's view pairs (the benchmark's visibility pairs when present, else
    consecutive views), from the predicted label maps."""
    from ..synthrooms.benchmark import load_view

    matched = agreeing = pairs_used = 0
    rooms = {}
    for ref in dataset.items:
        rooms.setdefault(ref.seed, (ref.room_path, []))[1].append(ref.index)
    for seed, (path, views) in rooms.items():
        cams = load_cameras(path, dataset.resolution)
        pairs = []
        vis = path / "visibility.npz"
        if vis.is_file():
            with np.load(vis) as z:
                pairs = [tuple(int(v) for v in p) for p in z["pairs"]]
        if not pairs:
            pairs = list(zip(sorted(views)[:-1], sorted(views)[1:]))
        pairs = [p for p in pairs if p[0] in views and p[1] in views][:max_pairs_per_room]
        for a, b in pairs:
            va, vb = load_view(path, dataset.resolution, a), load_view(path, dataset.resolution, b)
            alpha_a, alpha_b = va["alpha"].astype(np.float32), vb["alpha"].astype(np.float32)
            # the benchmark stores surface depth; view_consistency takes the renderer's undivided depth
            r = view_consistency(predictions[(seed, a)], va["depth"].astype(np.float32) * alpha_a, alpha_a, cams[a],
                                 predictions[(seed, b)], vb["depth"].astype(np.float32) * alpha_b, alpha_b, cams[b])
            matched += r["matched"]
            agreeing += r["agreeing"]
            pairs_used += 1
    return {"score": agreeing / matched if matched else float("nan"), "matched": matched, "pairs": pairs_used}


class OnnxModel(torch.nn.Module):
    """An exported VDVI file behind the evaluator's model interface. The file outputs labels, not logits, so its
    labels come back as one-hot scores: their argmax is the file's own label, and the evaluator's alpha rule is
    applied to them as to a checkpoint's logits."""

    def __init__(self, path: Path):
        super().__init__()
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_types = {i.name: i.type for i in self.session.get_inputs()}
        meta = self.session.get_modelmeta().custom_metadata_map
        self.num_classes = int(meta["num_classes"])
        self.model_args = json.loads(meta["model_args"])
        self.step = int(meta["training_step"]) if meta.get("training_step", "").isdigit() else None

    def forward(self, rgb: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        feeds = {}
        for name, tensor in (("rgb", rgb), ("features", features)):
            if name in self.input_types:  # the RGB-only fallback has no features input
                dtype = np.float16 if self.input_types[name] == "tensor(float16)" else np.float32
                feeds[name] = tensor.detach().cpu().numpy().astype(dtype)
        labels = torch.from_numpy(self.session.run(["labels"], feeds)[0].astype(np.int64))
        return F.one_hot(labels, self.num_classes).permute(0, 3, 1, 2).float().to(rgb.device)


def read_checkpoint(checkpoint: Path, what: str = "--checkpoint") -> dict:
    """The dict of a VDVI checkpoint (rtgs2.vdvi.train, import_onnx or interpolate), checked to hold `model` and
    `model_args`; `what` names the option in the errors."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{what} {checkpoint}: no such file")
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as error:  # truncated or not a torch file at all
        raise ValueError(f"{what} {checkpoint}: not a readable checkpoint ({error})") from error
    for key in ("model", "model_args"):
        if not isinstance(state, dict) or key not in state:
            raise ValueError(f"{what} {checkpoint}: not a VDVI training checkpoint (no {key!r})")
    return state


def load_model(checkpoint: Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """The model stored in a training checkpoint (rtgs2.vdvi.train), on `device`, in eval mode."""
    from .model import build_model

    state = read_checkpoint(checkpoint)
    model = build_model(**state["model_args"])
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state


def parse_size(text: str, what: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"{what} {text!r}: expected WxH, e.g. 640x480") from None
    if w < 1 or h < 1:
        raise ValueError(f"{what} {text!r}: sizes must be positive")
    return w, h


def main(argv=None) -> int:
    from .data import SynthRoomsViews

    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.evaluate", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a training checkpoint (rtgs2.vdvi.train)")
    source.add_argument("--onnx", type=Path, help="an exported model file (rtgs2.vdvi.export), run in onnxruntime")
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--resolution", default="640x480", help="WxH of the benchmark views to evaluate")
    parser.add_argument("--out", type=Path, default=None, help="metrics JSON (default: next to the checkpoint)")
    parser.add_argument("--no-consistency", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.onnx is not None:
        device = torch.device("cpu")
        model = OnnxModel(args.onnx)
        state = {"model_args": model.model_args, "step": model.step}
    else:
        model, state = load_model(args.checkpoint, device)
    source = args.onnx or args.checkpoint
    resolution = parse_size(args.resolution, "--resolution")
    dataset = SynthRoomsViews(args.benchmark, args.features, args.split, resolution)
    result = evaluate(model, dataset, device, consistency=not args.no_consistency)
    result.update({"checkpoint" if args.onnx is None else "onnx": str(source), "split": args.split, "resolution": list(resolution),
                   "model_args": state["model_args"], "step": state.get("step"), "features": str(args.features)})
    out = args.out or source.with_name(f"{source.stem}-{args.split}-{resolution[0]}x{resolution[1]}.json")
    out.write_text(json.dumps(result, indent=1))
    print(f"{args.split} {resolution[0]}x{resolution[1]}: mIoU {result['miou']:.4f} (per image "
          f"{result['miou_per_image']:.4f}), mAcc {result['macc']:.4f}, oAcc {result['oacc']:.4f}, "
          f"view consistency {result.get('view_consistency', {}).get('score', float('nan')):.4f} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
