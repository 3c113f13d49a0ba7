"""ONNX export of the Gaussian encoder, with a parity check against PyTorch.

    python -m rtgs2.encoder.export --checkpoint runs/encoder/last.pt --out ../models/gaussian-encoder-k16.onnx \
        [--fp16] [--parity-ply cache/synthrooms/.../scene.ply]

fp32 by default; --fp16 stores weights and computes in float16 inside the graph, with float32 inputs and outputs
(the contract does not change). Metadata props (docs/ENCODER.md, "Metadata"): kind = encoder, k, encoder_id,
encoder_version, grid_size, patch_size, levels, orders, input_channels, precision, encoder_config (JSON).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

from .model import ENCODER_ID, ENCODER_VERSION, EncoderConfig, GaussianEncoder, feeds_to_torch, input_names
from .serialization import serialize_scene

OPSET = 17
OUTPUT_NAME = "features"
INPUT_CONVENTION = "x y z r g b opacity log_sx log_sy log_sz; metres, +Y up; rgb in [0,1] from SH DC; opacity after sigmoid; log scales (natural)"


class _HalfInside(torch.nn.Module):
    """float32 in and out, float16 weights and arithmetic in between (indices stay integers)."""

    def __init__(self, model: GaussianEncoder):
        super().__init__()
        self.model = model.half()

    def forward(self, *inputs):
        inputs = [x.half() if x.is_floating_point() else x for x in inputs]
        return self.model(*inputs).float()


def metadata(config: EncoderConfig, extra: dict | None = None) -> dict[str, str]:
    s = config.serialization
    props = {  # "kind" and "k" are the keys the runtime's worker checks for every model (src/worker/modelContract.ts)
        "kind": "encoder",
        "k": str(config.out_dim),
        "encoder_id": ENCODER_ID,
        "encoder_version": str(ENCODER_VERSION),
        "grid_size": repr(float(s.grid_size)),
        "patch_size": str(s.patch_size),
        "levels": str(s.levels),
        "orders": ",".join(s.orders),
        "input_channels": INPUT_CONVENTION,
        "encoder_config": json.dumps(config.to_json(), sort_keys=True),
    }
    props.update(extra or {})
    return props


def export_onnx(model: GaussianEncoder, out: Path, example_channels: np.ndarray, fp16: bool = False,
                extra_metadata: dict | None = None) -> bytes:
    """Writes the model to `out` (and returns the bytes). Every dimension that depends on the scene is dynamic."""
    model = model.cpu().eval()
    config = model.config
    levels = config.serialization.levels
    feeds = serialize_scene(example_channels, config.serialization).feeds()
    names = input_names(levels)
    args = tuple(torch.from_numpy(feeds[n]) for n in names)  # int32 indices, float32 values: the graph's types
    dynamic = {"voxel_features": {0: "voxels_l0"}, "gaussian_voxel": {0: "gaussians"}, OUTPUT_NAME: {0: "gaussians"}}
    for l in range(levels):
        dynamic[f"coords_l{l}"] = {0: f"voxels_l{l}"}
        dynamic[f"order_l{l}"] = {1: f"padded_l{l}"}
        dynamic[f"inverse_l{l}"] = {1: f"voxels_l{l}"}
        if l > 0:
            dynamic[f"pool_l{l}"] = {0: f"voxels_l{l}"}
            dynamic[f"unpool_l{l}"] = {0: f"voxels_l{l - 1}"}
    module = _HalfInside(_copy(model)) if fp16 else model
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buffer, input_names=names, output_names=[OUTPUT_NAME], dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    props = metadata(config, {**(extra_metadata or {}), "precision": "fp16" if fp16 else "fp32"})
    del proto.metadata_props[:]
    for k, v in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return data


def _copy(model: GaussianEncoder) -> GaussianEncoder:
    clone = GaussianEncoder(model.config)
    clone.load_state_dict(model.state_dict())
    return clone.eval()


def run_onnx(path_or_bytes, channels: np.ndarray, config: EncoderConfig) -> np.ndarray:
    import onnxruntime as ort

    src = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    session = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    feeds = serialize_scene(channels, config.serialization).feeds()
    return session.run([OUTPUT_NAME], {i.name: feeds[i.name] for i in session.get_inputs()})[0]


def run_torch(model: GaussianEncoder, channels: np.ndarray) -> np.ndarray:
    feeds = serialize_scene(channels, model.config.serialization).feeds()
    with torch.no_grad():
        return model.cpu().eval().forward_feeds(feeds_to_torch(feeds)).numpy()


def parity(model: GaussianEncoder, onnx_model, channels: np.ndarray) -> dict:
    """Per-Gaussian cosine between onnxruntime's and PyTorch's features (both unit length)."""
    a = run_onnx(onnx_model, channels, model.config)
    b = run_torch(model, channels)
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"gaussians": len(channels), "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
            "max_abs_diff": float(np.abs(a - b).max())}


def load_checkpoint(path: Path) -> GaussianEncoder:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = GaussianEncoder(EncoderConfig.from_json(state["config"]))
    model.load_state_dict(state["model"])
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint written by rtgs2.encoder.train")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--parity-ply", type=Path, help="a scene (3DGS PLY) for the parity check; default: a generated room")
    ap.add_argument("--min-cosine", type=float, default=0.999)
    ap.add_argument("--manifest", action="store_true", help="add/update the entry in manifest.json next to --out")
    args = ap.parse_args(argv)
    if not args.checkpoint.is_file():
        ap.error(f"--checkpoint {args.checkpoint}: no such file")
    model = load_checkpoint(args.checkpoint)
    if args.parity_ply:
        from ..ply import read_ply
        channels = read_ply(args.parity_ply).input_channels()
    else:
        from .train import synthetic_room
        channels = synthetic_room(12345).input_channels()
    data = export_onnx(model, args.out, channels[:4096], fp16=args.fp16)
    report = parity(model, data, channels)
    print(json.dumps({"out": str(args.out), "bytes": len(data), **report}))
    if report["min_cosine"] < args.min_cosine:
        print(f"parity FAILED: min cosine {report['min_cosine']:.6f} < {args.min_cosine}", file=sys.stderr)
        return 1
    if args.manifest:
        from ..manifest import update_manifest

        command = "python3 -m rtgs2.encoder.export " + " ".join(argv if argv is not None else sys.argv[1:])
        entry = update_manifest(args.out, "encoder", f"Gaussian encoder {ENCODER_ID}, "
                                f"{'fp16' if args.fp16 else 'fp32'}, K={model.config.out_dim}", command,
                                opset=OPSET, k=model.config.out_dim, precision="fp16" if args.fp16 else "fp32")
        print(f"manifest entry: {json.dumps(entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
