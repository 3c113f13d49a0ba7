"""ONNX export of the Gaussian encoder, with a parity check against PyTorch.

    python -m rtgs2.encoder.export --checkpoint runs/encoder/last.pt --out ../models/gaussian-encoder-k16.onnx \
        [--fp16] [--parity-ply cache/synthrooms/.../scene.ply]
    python -m rtgs2.encoder.export --from-onnx ../models/gaussian-encoder-k16.onnx --out ... [--parity-ply ...]

The second form re-writes an exported file with its scene dimensions unnamed (free_scene_dims; a file exported
before that step existed), checking that onnxruntime gives the same features as the original.

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


def features_id(model: GaussianEncoder) -> str:
    """The identity of the feature space this encoder's weights make: `rtgs2-gaussian-encoder@<12 hex>`, the hex from
    the SHA-256 of every parameter in fp32, in state-dict order. The encoder file carries it (metadata `features_id`),
    so do the features the runtime computes with it (a sidecar's encoder id), and a VDVI network trained on its
    features records it too: the runtime does not feed one encoder's features to a network trained on another's
    (docs/MODELS.md). The fp16 export of the same weights has the same id."""
    import hashlib

    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
    return f"{ENCODER_ID}@{digest.hexdigest()[:12]}"


def load_encoder(path: Path) -> GaussianEncoder:
    """An exported fp32 encoder (.onnx, load_onnx_weights) or an encoder checkpoint (.pt, load_checkpoint)."""
    return load_onnx_weights(path) if Path(path).suffix == ".onnx" else load_checkpoint(path)


def features_id_of(source: Path) -> str:
    """features_id of an exported fp32 encoder (.onnx) or an encoder checkpoint (.pt)."""
    return features_id(load_encoder(source))


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


def scene_dims(levels: int) -> dict[str, dict[int, str]]:
    """The graph's scene-dependent dimensions, by input (or output) name and axis, with the names that say which are
    equal (torch.onnx.export's dynamic_axes; free_scene_dims removes the names from the written file)."""
    dims = {"voxel_features": {0: "voxels_l0"}, "gaussian_voxel": {0: "gaussians"}, OUTPUT_NAME: {0: "gaussians"}}
    for l in range(levels):
        dims[f"coords_l{l}"] = {0: f"voxels_l{l}"}
        dims[f"order_l{l}"] = {1: f"padded_l{l}"}
        dims[f"inverse_l{l}"] = {1: f"voxels_l{l}"}
        if l > 0:
            dims[f"pool_l{l}"] = {0: f"voxels_l{l}"}
            dims[f"unpool_l{l}"] = {0: f"voxels_l{l - 1}"}
    return dims


def free_scene_dims(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Leaves every scene-dependent dimension of the graph's inputs and outputs unnamed and drops the intermediate
    shape annotations (in place; returns `proto`). Why: onnxruntime's allocation planner lets a tensor reuse the
    buffer of an earlier, dead tensor of the same shape, and with named dimensions it can prove that the encoder's
    first level-0 tensors and the last decoder's have the same shape, so it keeps those buffers allocated across the
    whole U-Net (at every level: the run then holds about three times its live tensors). Unnamed, no two shapes are
    provably equal, and each tensor is freed after its last use. Measured on the showcase room (80,369 Gaussians,
    onnxruntime 1.32 CPU EP, arena and memory pattern off, one call; the largest live allocations summed by an
    allocator hook): 194 MB named, 60 MB unnamed, bit-identical features, the same time (BENCHMARKS.md, "The
    encoder's working memory")."""
    for value in list(proto.graph.input) + list(proto.graph.output):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.ClearField("dim_param")
    del proto.graph.value_info[:]
    return proto


def export_onnx(model: GaussianEncoder, out: Path, example_channels: np.ndarray, fp16: bool = False,
                extra_metadata: dict | None = None) -> bytes:
    """Writes the model to `out` (and returns the bytes). Every dimension that depends on the scene is dynamic and
    unnamed (free_scene_dims)."""
    model = model.cpu().eval()
    config = model.config
    levels = config.serialization.levels
    feeds = serialize_scene(example_channels, config.serialization).feeds()
    names = input_names(levels)
    args = tuple(torch.from_numpy(feeds[n]) for n in names)  # int32 indices, float32 values: the graph's types
    dynamic = scene_dims(levels)
    module = _HalfInside(_copy(model)) if fp16 else model
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buffer, input_names=names, output_names=[OUTPUT_NAME], dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    props = metadata(config, {**(extra_metadata or {}), "precision": "fp16" if fp16 else "fp32",
                              "features_id": features_id(model)})
    free_scene_dims(proto)
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


def load_onnx_weights(path: Path) -> GaussianEncoder:
    """An exported fp32 encoder back into a PyTorch model: its config from the file's metadata, every parameter from
    the initializer of the same name (the export keeps the state-dict names; a file that lacks one, or holds it in
    another shape or precision, is refused). For fine-tuning a shipped encoder on a machine without its checkpoint."""
    return _encoder_from_proto(onnx.load(str(path)), path)


def _encoder_from_proto(proto: onnx.ModelProto, path: Path) -> GaussianEncoder:
    from onnx import numpy_helper

    props = {p.key: p.value for p in proto.metadata_props}
    if props.get("kind") != "encoder" or "encoder_config" not in props:
        raise ValueError(f"{path}: not an exported Gaussian encoder (no kind=encoder / encoder_config metadata)")
    if props.get("precision", "fp32") != "fp32":
        raise ValueError(f"{path}: {props['precision']} weights; import the fp32 file")
    model = GaussianEncoder(EncoderConfig.from_json(json.loads(props["encoder_config"])))
    weights = {i.name: i for i in proto.graph.initializer}
    state = {}
    for name, tensor in model.state_dict().items():
        if name not in weights:
            raise ValueError(f"{path}: no initializer named {name}; not this encoder's graph")
        value = numpy_helper.to_array(weights[name])
        if value.shape != tuple(tensor.shape) or value.dtype != np.float32:
            raise ValueError(f"{path}: {name} is {value.dtype} {value.shape}, the model has float32 {tuple(tensor.shape)}")
        state[name] = torch.from_numpy(value.copy())
    model.load_state_dict(state)
    return model.eval()


def rewrite_onnx(source: Path, out: Path, channels: np.ndarray) -> tuple[bytes, dict]:
    """`source` (an exported encoder) with free_scene_dims applied, written to `out`; the report compares
    onnxruntime's features of both files on `channels`."""
    proto = onnx.load(str(source))
    original = proto.SerializeToString()
    free_scene_dims(proto)
    props = {p.key: p.value for p in proto.metadata_props}
    if "features_id" not in props and props.get("precision", "fp32") == "fp32" and props.get("kind") == "encoder":
        entry = proto.metadata_props.add()  # a file from before features_id: stamped from its own weights
        entry.key, entry.value = "features_id", features_id(_encoder_from_proto(proto, source))
        props["features_id"] = entry.value
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if props.get("kind") != "encoder" or "encoder_config" not in props:
        raise ValueError(f"{source}: not an exported Gaussian encoder (no kind=encoder / encoder_config metadata)")
    config = EncoderConfig.from_json(json.loads(props["encoder_config"]))
    a, b = run_onnx(original, channels, config), run_onnx(data, channels, config)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return data, {"gaussians": len(channels), "identical": bool(np.array_equal(a, b)),
                  "max_abs_diff": float(np.abs(a - b).max()), "k": config.out_dim, "precision": props.get("precision", "fp32")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a checkpoint written by rtgs2.encoder.train")
    source.add_argument("--from-onnx", type=Path, help="an exported encoder to re-write with unnamed scene dimensions")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--parity-ply", type=Path, help="a scene (3DGS PLY) for the parity check; default: a generated room")
    ap.add_argument("--min-cosine", type=float, default=0.999)
    ap.add_argument("--manifest", action="store_true", help="add/update the entry in manifest.json next to --out")
    args = ap.parse_args(argv)
    given = args.checkpoint or args.from_onnx
    if not given.is_file():
        ap.error(f"{'--checkpoint' if args.checkpoint else '--from-onnx'} {given}: no such file")
    if args.from_onnx and args.fp16:
        ap.error("--fp16 needs --checkpoint (--from-onnx keeps the file's precision)")
    if args.parity_ply:
        from ..ply import read_ply
        channels = read_ply(args.parity_ply).input_channels()
    else:
        from .train import synthetic_room
        channels = synthetic_room(12345).input_channels()
    command = "python3 -m rtgs2.encoder.export " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.from_onnx:
        previous = _manifest_command(args.from_onnx)
        data, report = rewrite_onnx(args.from_onnx, args.out, channels)
        print(json.dumps({"out": str(args.out), "bytes": len(data), **report}))
        if not report["identical"]:
            print(f"parity FAILED: the re-written file's features differ (max abs {report['max_abs_diff']:.3g})", file=sys.stderr)
            return 1
        k, precision = report["k"], report["precision"]
        if previous:
            command = f"{previous} && {command}"
    else:
        model = load_checkpoint(args.checkpoint)
        data = export_onnx(model, args.out, channels[:4096], fp16=args.fp16)
        report = parity(model, data, channels)
        print(json.dumps({"out": str(args.out), "bytes": len(data), **report}))
        if report["min_cosine"] < args.min_cosine:
            print(f"parity FAILED: min cosine {report['min_cosine']:.6f} < {args.min_cosine}", file=sys.stderr)
            return 1
        k, precision = model.config.out_dim, "fp16" if args.fp16 else "fp32"
    if args.manifest:
        from ..manifest import update_manifest

        entry = update_manifest(args.out, "encoder", f"Gaussian encoder {ENCODER_ID}, {precision}, K={k}", command,
                                opset=OPSET, k=k, precision=precision)
        print(f"manifest entry: {json.dumps(entry)}")
    return 0


def _manifest_command(model_path: Path) -> str | None:
    """The generatedBy of `model_path`'s entry in the manifest.json beside it (how the file was made), if any."""
    manifest = model_path.parent / "manifest.json"
    if not manifest.is_file():
        return None
    entries = [m for m in json.loads(manifest.read_text()).get("models", []) if m.get("file") == model_path.name]
    return entries[0].get("generatedBy") if entries else None


if __name__ == "__main__":
    sys.exit(main())
