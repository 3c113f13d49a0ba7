"""A shipped VDVI ONNX file back into a training checkpoint, so that the next fine-tuning starts from what ships.

    python -m rtgs2.vdvi.import_onnx --onnx ../models/vdvi-rgb-k16.onnx --out runs/import-rgb/init.pt
    python -m rtgs2.vdvi.train ... --init runs/import-rgb/init.pt     # BatchNorm then stays frozen (below)

Why: checkpoints are never committed and a fresh machine has none, but the ONNX files in models/ hold every weight.
The export (rtgs2.vdvi.export) keeps the names of the weights it leaves alone (`model.<state dict key>`) and folds
each BatchNorm into the convolution before it, writing the folded weight and bias under anonymous names. The import
rebuilds the model from the file's `model_args` metadata, loads the named weights by name, and pairs each anonymous
convolution with the PyTorch convolution that runs at the same place (ONNX node order = the export's trace order =
the order the convolutions run, recorded with hooks; shapes are checked); linear layers, which the export writes as a
MatMul with the transposed weight under an anonymous name, are paired the same way. A folded pair comes back as the
convolution holding the folded weight and its BatchNorm set to the identity plus the folded bias (weight 1, running
mean 0, running variance 1 - eps, bias = the folded bias), which computes the same in eval mode.

The checkpoint says `batchnorm_folded: true`: batch statistics would undo the folding, so the trainer keeps every
BatchNorm in eval mode (running statistics fixed, weight and bias still trained) when it starts from one.
`check_parity` compares the imported model with onnxruntime on an input (labels and confidence); the command refuses
to write a checkpoint whose labels differ on more than 1e-4 of the pixels.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .export import is_rgb_only
from .model import build_model

NAMED_PREFIX = "model."


def _run_order(model: torch.nn.Module, k: int):
    """The convolutions as (name, conv, name of the BatchNorm that reads its output or None) and the linear layers
    as (name, linear), each in the order they run."""
    modules = dict(model.named_modules())
    names = {id(m): n for n, m in modules.items()}
    calls: list[list] = []
    linears: list[tuple[str, torch.nn.Linear]] = []
    last_output: dict[int, int] = {}  # id(conv output tensor) -> index into calls

    def conv_hook(module, _inputs, output):
        last_output[id(output)] = len(calls)
        calls.append([names[id(module)], module, None])

    def linear_hook(module, _inputs, _output):
        linears.append((names[id(module)], module))

    def bn_hook(module, inputs, _output):
        index = last_output.get(id(inputs[0]))
        if index is not None:
            calls[index][2] = names[id(module)]

    hooks = [m.register_forward_hook(conv_hook) for m in modules.values() if isinstance(m, torch.nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in modules.values() if isinstance(m, torch.nn.Linear)]
    hooks += [m.register_forward_hook(bn_hook) for m in modules.values() if isinstance(m, torch.nn.BatchNorm2d)]
    try:
        with torch.no_grad():
            model.eval()
            rgb = torch.rand(1, 3, 64, 96)
            model(rgb, torch.zeros(1, k, 64, 96))
    finally:
        for h in hooks:
            h.remove()
    return [tuple(c) for c in calls], linears


def import_onnx(path: Path) -> dict:
    """The checkpoint dict (`model`, `model_args`, `batchnorm_folded`, `source`) of an exported fp32 VDVI file."""
    proto = onnx.load(str(path))
    meta = {p.key: p.value for p in proto.metadata_props}
    if "model_args" not in meta:
        raise ValueError(f"{path}: no model_args metadata (not a VDVI export of rtgs2.vdvi.export)")
    if meta.get("precision", "fp32") != "fp32":
        raise ValueError(f"{path}: precision {meta.get('precision')}; import the fp32 file (fp16 lost bits)")
    model_args = json.loads(meta["model_args"])
    model = build_model(**model_args)
    modules = dict(model.named_modules())
    weights = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    state = {key: value.clone() for key, value in model.state_dict().items()}

    def put(key: str, array: np.ndarray) -> None:
        if key not in state:
            raise ValueError(f"{path}: weight {key!r} is not in the model built from {model_args}")
        if tuple(state[key].shape) != tuple(array.shape):
            raise ValueError(f"{path}: {key} has shape {array.shape}, the model's {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.array(array, dtype=np.float32))

    used = set()
    for name, array in weights.items():
        if name.startswith(NAMED_PREFIX) and name[len(NAMED_PREFIX):] in state:
            put(name[len(NAMED_PREFIX):], array)
            used.add(name)
    conv_nodes = [n for n in proto.graph.node if n.op_type == "Conv"]
    convs, linears = _run_order(model, model_args["k"])
    if len(conv_nodes) != len(convs):
        raise ValueError(f"{path}: {len(conv_nodes)} convolutions in the graph, {len(convs)} in the model")
    for node, (name, conv, bn) in zip(conv_nodes, convs):
        w_name = node.input[1]
        b_name = node.input[2] if len(node.input) > 2 else None
        if w_name not in weights or tuple(weights[w_name].shape) != tuple(conv.weight.shape):
            raise ValueError(f"{path}: graph convolution {node.name} does not match the model's {name} "
                             f"({weights.get(w_name, np.empty(0)).shape} vs {tuple(conv.weight.shape)})")
        put(f"{name}.weight", weights[w_name])
        used.add(w_name)
        folded = not w_name.startswith(NAMED_PREFIX)
        bias = weights[b_name] if b_name else np.zeros(conv.out_channels, np.float32)
        if b_name:
            used.add(b_name)
        if folded and bn is not None:
            eps = modules[bn].eps
            put(f"{bn}.weight", np.ones(conv.out_channels, np.float32))
            put(f"{bn}.running_mean", np.zeros(conv.out_channels, np.float32))
            put(f"{bn}.running_var", np.full(conv.out_channels, 1.0 - eps, np.float32))
            put(f"{bn}.bias", bias)
            if conv.bias is not None:
                put(f"{name}.bias", np.zeros(conv.out_channels, np.float32))
        elif b_name:
            if conv.bias is None:
                raise ValueError(f"{path}: graph convolution {node.name} has a bias, the model's {name} none")
            put(f"{name}.bias", bias)
        elif folded:
            raise ValueError(f"{path}: graph convolution {node.name} has an anonymous weight but {name} no BatchNorm")
    # Linear layers: the export writes x @ W^T as a MatMul with W^T under an anonymous name (the bias stays named)
    matmuls = [n for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    if len(matmuls) != len(linears):
        raise ValueError(f"{path}: {len(matmuls)} weighted MatMuls in the graph, {len(linears)} linear layers in the model")
    for node, (name, linear) in zip(matmuls, linears):
        w = weights[node.input[1]]
        if tuple(w.shape) != tuple(linear.weight.shape[::-1]):
            raise ValueError(f"{path}: graph MatMul {node.name} ({w.shape}) does not match the model's {name}")
        if not node.input[1].startswith(NAMED_PREFIX):
            put(f"{name}.weight", w.T)
        used.add(node.input[1])
    float_left = [n for n, a in weights.items() if n not in used and a.dtype == np.float32 and a.size > 1
                  and n.startswith(NAMED_PREFIX)]
    if float_left:
        raise ValueError(f"{path}: weights not imported: {float_left[:5]}")
    model.load_state_dict(state)
    return {"model": model.state_dict(), "model_args": model_args, "batchnorm_folded": True,
            "source": {"onnx": str(path), "training_step": meta.get("training_step")}}


def check_parity(checkpoint: dict, onnx_path: Path, rgb: np.ndarray, features: np.ndarray | None = None) -> dict:
    """The imported model (eval) against onnxruntime on one input: share of equal labels, worst confidence gap."""
    import onnxruntime as ort

    model = build_model(**checkpoint["model_args"])
    model.load_state_dict(checkpoint["model"])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = {"rgb": rgb} if is_rgb_only(checkpoint["model_args"]) else {"rgb": rgb, "features": features}
    labels_onnx, conf_onnx = session.run(["labels", "confidence"], feeds)
    with torch.no_grad():
        probabilities = torch.softmax(model.eval()(torch.from_numpy(rgb), torch.from_numpy(features)), dim=1)
        conf_torch, labels_torch = probabilities.max(dim=1)
    same = float((labels_torch.numpy() == labels_onnx).mean())
    return {"labels_equal": same, "confidence_max_abs": float(np.abs(conf_torch.numpy() - conf_onnx).max())}


def _parity_input(checkpoint: dict, benchmark: Path | None, h: int, w: int, seed: int = 0):
    """rgb (1, 3, h, w) and zero features (1, K, h, w): a benchmark view's top-left crop, or a smooth random image."""
    k = checkpoint["model_args"]["k"]
    if benchmark is None:  # smooth random image: random pixels alone give near-tied logits
        g = np.random.default_rng(seed)
        low = g.random((1, 3, h // 16, w // 16)).astype(np.float32)
        rgb = np.kron(low, np.ones((1, 1, 16, 16), np.float32))
    else:
        from ..synthrooms.benchmark import load_view
        rooms = sorted(p.parent for p in benchmark.glob("*/room-*/complete.json"))
        if not rooms:
            raise ValueError(f"--parity-benchmark {benchmark}: no generated room there")
        view = load_view(rooms[0], (320, 240), 0)["rgb"][:h, :w]  # the top 224 rows: H a multiple of 32
        rgb = view.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    features = np.zeros((1, k, h, w), np.float32)
    return np.ascontiguousarray(rgb), features


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.import_onnx", description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", type=Path, required=True, help="an fp32 VDVI file of rtgs2.vdvi.export")
    ap.add_argument("--out", type=Path, required=True, help="checkpoint to write (for rtgs2.vdvi.train --init)")
    ap.add_argument("--parity-benchmark", type=Path, default=None,
                    help="a generated subset whose first room's view 0 (320x240, top 224 rows) is the parity input "
                         "(default: a smooth random image)")
    args = ap.parse_args(argv)
    try:
        checkpoint = import_onnx(args.onnx)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        rgb, features = _parity_input(checkpoint, args.parity_benchmark, 224, 320)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    parity = check_parity(checkpoint, args.onnx, rgb, features)
    print(json.dumps(parity))
    if parity["labels_equal"] < 1 - 1e-4:
        print(f"error: the imported model's labels differ from onnxruntime's on {1 - parity['labels_equal']:.2%} "
              f"of the pixels; not written", file=sys.stderr)
        return 1
    checkpoint["parity"] = parity
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, args.out)
    print(f"wrote {args.out} ({checkpoint['model_args']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
