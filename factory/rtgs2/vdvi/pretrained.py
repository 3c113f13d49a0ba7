"""The real-image prior of VDVI's RGB branch: ImageNet-pretrained MobileNetV2 weights taken from a registry
package and converted to PyTorch (docs/VDVI.md "Real-image prior"; models/MODEL_CARD.md records the source).

    npm pack nsfwjs@4.4.0 --pack-destination cache/npm          # once: the package tarball (MIT licence)
    python3 -m rtgs2.vdvi.pretrained convert --package cache/npm/nsfwjs-4.4.0.tgz --out cache/pretrained/mobilenetv2.pt
    python3 -m rtgs2.vdvi.pretrained info cache/pretrained/mobilenetv2.pt

The source: nsfwjs ships Keras' MobileNetV2 (width 1.0, ImageNet weights, layers up to block 10 frozen, blocks 11-16
fine-tuned on its 5-class task, input in [0, 1]) as a TensorFlow.js layers model whose JSON and weight shards are
wrapped in JavaScript modules (`dist/models/mobilenet_v2/*.min.js`: an object literal and a base64 string), weights
quantised to uint8 (value = min + scale * q per tensor). Nothing here downloads anything: the package is fetched
beforehand with npm's own client.

What the conversion changes: the uint8 weights are dequantised to float32 as tfjs does; Keras' HWIO kernels are
transposed to PyTorch's OIHW; the classifier (dense_1..3), the last 1x1 conv (Conv_1, 320 -> 1280) and its BatchNorm
are dropped. The output file holds the state dict of rtgs2.vdvi.mobilenetv2.MobileNetV2Features plus a `source`
record (package, version, licence, sha256 of the weight files, what was changed).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch

from .mobilenetv2 import MobileNetV2Features, keras_weight_names

FORMAT = "rtgs2-pretrained-mobilenetv2/1"
MODEL_DIR = "dist/models/mobilenet_v2"
# The input range the source network was trained with (nsfwjs divides the image by 255 and feeds it as is).
SOURCE_INPUT_RANGE = (0.0, 1.0)


class PretrainedError(ValueError):
    """The package or the weights file is not what the converter expects; the message says what and where."""


# --- reading the JavaScript-wrapped tfjs files ---------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<punct>[{}\[\],:])|(?P<string>"(?:[^"\\]|\\.)*")|'
                    r'(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<bang>![01])|(?P<ident>[A-Za-z_$][\w$]*))')


def parse_js_literal(text: str, start: int = 0):
    """Parses one JavaScript object/array literal as minifiers write them (unquoted keys, `.5`, `!0`/`!1` for
    true/false, null) starting at `text[start]`; returns (value, end index). Anything else is a PretrainedError."""
    pos = start

    def token():
        nonlocal pos
        m = _TOKEN.match(text, pos)
        if not m:
            raise PretrainedError(f"unexpected JavaScript at offset {pos}: {text[pos:pos + 40]!r}")
        pos = m.end()
        return m.lastgroup, m.group(m.lastgroup)

    def value(kind, tok):
        if kind == "punct" and tok == "{":
            out = {}
            kind, tok = token()
            while not (kind == "punct" and tok == "}"):
                if kind not in ("ident", "string"):
                    raise PretrainedError(f"object key expected at offset {pos}, got {tok!r}")
                key = json.loads(tok) if kind == "string" else tok
                if token() != ("punct", ":"):
                    raise PretrainedError(f"':' expected at offset {pos}")
                out[key] = value(*token())
                kind, tok = token()
                if kind == "punct" and tok == ",":
                    kind, tok = token()
            return out
        if kind == "punct" and tok == "[":
            out = []
            kind, tok = token()
            while not (kind == "punct" and tok == "]"):
                out.append(value(kind, tok))
                kind, tok = token()
                if kind == "punct" and tok == ",":
                    kind, tok = token()
            return out
        if kind == "string":
            return json.loads(tok)
        if kind == "number":
            return float(tok) if any(c in tok for c in ".eE") else int(tok)
        if kind == "bang":
            return tok == "!0"
        if kind == "ident" and tok in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok]
        raise PretrainedError(f"unsupported JavaScript value {tok!r} at offset {pos}")

    return value(*token()), pos


def read_model_module(text: str) -> dict:
    """The tfjs model JSON (modelTopology + weightsManifest) exported by a browserify-wrapped module."""
    m = re.search(r"\.exports\s*=\s*\{", text)
    if not m:
        raise PretrainedError("no `exports = {...}` in the model module")
    model, _ = parse_js_literal(text, m.end() - 1)
    if "modelTopology" not in model or "weightsManifest" not in model:
        raise PretrainedError("the model module has no modelTopology/weightsManifest")
    return model


def read_shard_module(text: str) -> bytes:
    """The bytes of one weight shard: a base64 string exported by a browserify-wrapped module."""
    m = re.search(r'\.exports\s*=\s*"([A-Za-z0-9+/=]*)"', text)
    if not m:
        raise PretrainedError('no `exports = "<base64>"` in the shard module')
    return base64.b64decode(m.group(1), validate=True)


# --- dequantisation ------------------------------------------------------------------------------------------------

def decode_weights(manifest: list[dict], shards: list[bytes]) -> dict[str, np.ndarray]:
    """tfjs weights manifest + shard bytes -> {name: float32 array}. Dequantisation as tfjs' io.decodeWeights:
    uint8/uint16 q -> min + scale * q; float16 -> float32."""
    out: dict[str, np.ndarray] = {}
    for group, data in zip(manifest, shards):
        offset = 0
        for spec in group["weights"]:
            shape = tuple(spec["shape"])
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if spec.get("dtype", "float32") != "float32":
                raise PretrainedError(f"{spec['name']}: dtype {spec.get('dtype')} (only float32 weights are expected)")
            if quant is None:
                raw = np.frombuffer(data, np.float32, count, offset)
                offset += 4 * count
                values = raw
            elif quant["dtype"] in ("uint8", "uint16"):
                dtype = np.uint8 if quant["dtype"] == "uint8" else np.uint16
                q = np.frombuffer(data, dtype, count, offset)
                offset += q.itemsize * count
                values = quant["min"] + quant["scale"] * q.astype(np.float64)
            elif quant["dtype"] == "float16":
                values = np.frombuffer(data, np.float16, count, offset)
                offset += 2 * count
            else:
                raise PretrainedError(f"{spec['name']}: unknown quantisation {quant['dtype']!r}")
            out[spec["name"]] = np.asarray(values, np.float32).reshape(shape)
        if offset != len(data):
            raise PretrainedError(f"weight group {group['paths']}: the manifest describes {offset} bytes, the shards "
                                  f"hold {len(data)}")
    return out


# --- the package -----------------------------------------------------------------------------------------------------

class PackageFiles:
    """Files of an npm package: a tarball from `npm pack` (paths under package/) or an unpacked folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.is_dir():
            root = self.path / "package" if (self.path / "package" / "package.json").is_file() else self.path
            self._read = lambda rel: (root / rel).read_bytes()
        elif self.path.is_file() and tarfile.is_tarfile(self.path):
            with tarfile.open(self.path) as tar:
                self._members = {m.name.split("/", 1)[1]: tar.extractfile(m).read()
                                 for m in tar.getmembers() if m.isfile() and "/" in m.name}
            self._read = lambda rel: self._members[rel]
        else:
            raise PretrainedError(f"--package {self.path}: neither an npm tarball nor a folder")

    def read(self, rel: str) -> bytes:
        try:
            return self._read(rel)
        except (KeyError, FileNotFoundError):
            raise PretrainedError(f"{self.path}: no file {rel}") from None

    def text(self, rel: str) -> str:
        return self.read(rel).decode("utf-8")


def load_tfjs_model(package: Path, model_dir: str = MODEL_DIR) -> tuple[dict, dict[str, np.ndarray], dict]:
    """(package.json, {Keras weight name: float32 array}, {file: sha256}) of the package's tfjs layers model."""
    files = PackageFiles(package)
    meta = json.loads(files.text("package.json"))
    model = read_model_module(files.text(f"{model_dir}/model.min.js"))
    hashes, shards = {}, []
    for group in model["weightsManifest"]:
        data = b""
        for p in group["paths"]:
            rel = f"{model_dir}/{p}.min.js"
            text = files.text(rel)
            hashes[rel] = hashlib.sha256(text.encode()).hexdigest()
            data += read_shard_module(text)
        shards.append(data)
    hashes[f"{model_dir}/model.min.js"] = hashlib.sha256(files.read(f"{model_dir}/model.min.js")).hexdigest()
    return meta, decode_weights(model["weightsManifest"], shards), {"model": model, "sha256": hashes}


def keras_to_state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The MobileNetV2Features state dict from Keras weight names (kernels HWIO -> OIHW, depthwise HWC1 -> C1HW)."""
    state = {}
    for ours, (theirs, kind) in keras_weight_names().items():
        if theirs not in weights:
            raise PretrainedError(f"the source has no weight {theirs} (for {ours})")
        w = weights[theirs]
        if kind == "conv":
            w = w.transpose(3, 2, 0, 1)
        elif kind == "depthwise":
            kh, kw, c, mult = w.shape
            w = w.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
        state[ours] = torch.from_numpy(np.ascontiguousarray(w))
    return state


def convert(package: Path, out: Path | None = None) -> dict:
    """Reads the package, builds the PyTorch feature extractor's weights, checks that they load exactly, and writes
    {"format", "state_dict", "source"} to `out` when given. Returns that dict."""
    meta, weights, info = load_tfjs_model(package)
    state = keras_to_state_dict(weights)
    model = MobileNetV2Features()
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    if set(state) != expected:
        raise PretrainedError(f"state dict mismatch: missing {sorted(expected - set(state))[:5]}, "
                              f"unexpected {sorted(set(state) - expected)[:5]}")
    model.load_state_dict(state, strict=False)
    used = {theirs for theirs, _ in keras_weight_names().values()}
    dropped = sorted(set(weights) - used)
    record = {
        "format": FORMAT,
        "state_dict": model.state_dict(),
        "source": {
            "package": meta.get("name"), "version": meta.get("version"), "licence": meta.get("license"),
            "files_sha256": info["sha256"], "keras_version": info["model"]["modelTopology"].get("keras_version"),
            "architecture": "Keras MobileNetV2, width 1.0 (ImageNet weights; blocks 11-16 fine-tuned by nsfwjs)",
            "input_range": list(SOURCE_INPUT_RANGE),
            "changes": "uint8 weights dequantised to float32 (min + scale * q); HWIO kernels transposed to OIHW; "
                       "dropped: " + ", ".join(sorted({n.split('/')[0] for n in dropped})),
        },
    }
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(record, buffer)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(out)
    return record


def load_pretrained(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict of MobileNetV2Features, source record) of a file written by `convert`."""
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(f"{path}: no such file (make it with `python3 -m rtgs2.vdvi.pretrained convert`)")
    record = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise PretrainedError(f"{path}: not a {FORMAT} file")
    return record["state_dict"], record["source"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m rtgs2.vdvi.pretrained", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="convert the package's MobileNetV2 to a PyTorch weights file")
    c.add_argument("--package", type=Path, required=True, help="nsfwjs tarball from `npm pack`, or its unpacked folder")
    c.add_argument("--out", type=Path, required=True)
    i = sub.add_parser("info", help="print the source record of a converted weights file")
    i.add_argument("weights", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            record = convert(args.package, args.out)
            params = sum(v.numel() for k, v in record["state_dict"].items() if "num_batches" not in k)
            print(f"wrote {args.out}: {params / 1e6:.2f} M parameters from {record['source']['package']}@"
                  f"{record['source']['version']} ({record['source']['licence']})")
        else:
            _, source = load_pretrained(args.weights)
            print(json.dumps(source, indent=1))
    except PretrainedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
