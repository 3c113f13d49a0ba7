"""VDVI training data: the SynthRooms benchmark's views (rgb, labels, alpha, depth) plus splatted per-Gaussian
features, and the per-sample augmentations.

Features are rendered by the reference renderer (rtgs2.render, the runtime's maths) from per-Gaussian features
and cached per view as fp16, so that an epoch does not re-render:

    python -m rtgs2.vdvi.data features --benchmark cache/synthrooms/full --source encoder:<checkpoint.pt> \
        --out cache/features/<encoder-id>            # resumable: finished files are skipped
    python -m rtgs2.vdvi.data features --benchmark cache/synthrooms/full --source raw10 --k 16 \
        --out cache/features/raw10-k16               # the stand-in source (no encoder needed)

Layout under --out: benchmark.json (a copy, to check the pairing), source.json (what made the features),
<split>/room-<seed>/gaussians.npy (N, K) float32 per-Gaussian features, and
<split>/room-<seed>/views_<W>x<H>/<view>.npz with `features` (H, W, K) float16 (splatted, not divided by alpha);
<split>/room-<seed>/started.json (the scene.ply digest the files belong to; a room whose scene changed is redone
from scratch) and <split>/room-<seed>/complete.json, written last.

Feature sources: `encoder:<checkpoint>` (rtgs2.encoder: the real thing), `npy:<dir>` (per-room
<dir>/<split>/room-<seed>.npy computed elsewhere), `raw10` (stand-in: the 10 encoder input channels, standardised
per scene, times a fixed random 10 x K matrix, L2-normalised; it carries position/colour/scale, nothing learnt).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..classes import NONE
from ..synthrooms.benchmark import (_atomic_write_json, _atomic_write_npz, load_cameras, load_view, room_dir,
                                    views_dir)

RAW10_SEED = 1234


# ---------------------------------------------------------------------------------------------------------------
# Per-Gaussian feature sources
# ---------------------------------------------------------------------------------------------------------------

def raw10_features(channels: np.ndarray, k: int, seed: int = RAW10_SEED) -> np.ndarray:
    """Stand-in features: standardised input channels (N, 10) times a fixed random (10, K) matrix, unit length."""
    x = np.asarray(channels, dtype=np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    proj = np.random.default_rng(seed).standard_normal((x.shape[1], k))
    f = x @ proj
    return (f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-8)).astype(np.float32)


class FeatureSource:
    """Per-Gaussian features of a room: spec `raw10`, `encoder:<checkpoint>`, `onnx:<exported encoder>` or
    `npy:<dir>`. `onnx:` runs an exported encoder file (e.g. the shipped models/gaussian-encoder-k16.onnx, whose
    training checkpoint is not kept) in onnxruntime, as the runtime does."""

    def __init__(self, spec: str, k: int | None = None, framed: bool = False):
        """framed: compute each room's features from the runtime's input, the room moved by a random similarity,
        then put back by the scene-frame estimator (rtgs2.random_frames; issue 13), instead of the room as
        generated. The command turns it on by default (--no-framed to turn it off)."""
        self.spec = spec
        self.framed = framed
        self.kind, _, arg = spec.partition(":")
        if self.kind == "raw10":
            if not k:
                raise ValueError("feature source raw10 needs --k")
            self.k = k
        elif self.kind == "encoder":
            from ..encoder.export import load_checkpoint

            path = Path(arg)
            if not path.is_file():
                raise FileNotFoundError(f"feature source {spec!r}: no encoder checkpoint at {path}")
            self.encoder = load_checkpoint(path)
            self.k = int(self.encoder.config.out_dim)
        elif self.kind == "onnx":
            import onnx
            import onnxruntime as ort
            from ..encoder.model import EncoderConfig

            path = Path(arg)
            if not path.is_file():
                raise FileNotFoundError(f"feature source {spec!r}: no ONNX file at {path}")
            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
            if props.get("kind") != "encoder" or "encoder_config" not in props:
                raise ValueError(f"feature source {spec!r}: {path} is not an exported Gaussian encoder "
                                 f"(metadata kind {props.get('kind')!r})")
            self.onnx_config = EncoderConfig.from_json(json.loads(props["encoder_config"]))
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()  # the command's --threads, as for torch
            self.onnx_session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self.k = int(self.onnx_config.out_dim)
        elif self.kind == "npy":
            self.dir = Path(arg)
            if not self.dir.is_dir():
                raise FileNotFoundError(f"feature source {spec!r}: {self.dir} is not a directory")
            self.k = k
        else:
            raise ValueError(f"unknown feature source {spec!r} (raw10, encoder:<checkpoint>, onnx:<file>, npy:<dir>)")

    def describe(self) -> dict:
        return {"source": self.spec, "k": self.k, "framed": self.framed}

    def __call__(self, scene, split: str, seed: int) -> np.ndarray:
        if self.framed and self.kind != "npy":
            from ..random_frames import framed_input_channels

            channels = framed_input_channels(scene, seed)[0]
        else:
            channels = scene.input_channels()
        if self.kind == "raw10":
            feats = raw10_features(channels, self.k)
        elif self.kind == "encoder":
            from ..encoder.export import run_torch

            feats = run_torch(self.encoder, channels)
        elif self.kind == "onnx":
            from ..encoder.export import OUTPUT_NAME
            from ..encoder.serialization import serialize_scene

            feeds = serialize_scene(channels, self.onnx_config.serialization).feeds()
            feats = self.onnx_session.run([OUTPUT_NAME], {i.name: feeds[i.name] for i in self.onnx_session.get_inputs()})[0]
        else:
            path = self.dir / split / f"room-{seed:05d}.npy"
            feats = np.load(path)
        feats = np.asarray(feats, dtype=np.float32)
        if feats.shape[0] != len(scene) or feats.ndim != 2:
            raise ValueError(f"feature source {self.spec!r}, {split} room {seed}: features {feats.shape}, "
                             f"scene has {len(scene)} Gaussians")
        if self.k is not None and feats.shape[1] != self.k:
            raise ValueError(f"feature source {self.spec!r}: K = {feats.shape[1]}, expected {self.k}")
        if not np.all(np.isfinite(feats)):
            raise ValueError(f"feature source {self.spec!r}, {split} room {seed}: NaN/Inf in the features")
        return feats


def _rooms(benchmark: Path, splits: list[str] | None) -> list[tuple[str, int, Path]]:
    meta = benchmark / "benchmark.json"
    if not meta.is_file():
        raise FileNotFoundError(f"--benchmark {benchmark}: no benchmark.json (generate it with "
                                f"python -m rtgs2.synthrooms.benchmark generate)")
    definition = json.loads(meta.read_text())
    out = []
    for split in definition["splits"]:
        if splits and split["name"] not in splits:
            continue
        for seed in split["seeds"]:
            path = room_dir(benchmark, split["name"], seed)
            if (path / "complete.json").is_file():
                out.append((split["name"], seed, path))
    return out


def room_resolutions(room_path: Path) -> list[tuple[int, int]]:
    res = []
    for d in sorted(room_path.glob("views_*x*")):
        w, h = d.name[len("views_"):].split("x")
        res.append((int(w), int(h)))
    return res


def generate_features(benchmark: Path, out: Path, source: FeatureSource, splits: list[str] | None = None,
                      device: str | None = None, log=print) -> dict:
    """Renders the splatted features of every complete room of the benchmark (resumable)."""
    from ..ply import read_ply
    from ..render import prepare, render

    benchmark, out = Path(benchmark), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source_json = out / "source.json"
    if source_json.exists():
        held = json.loads(source_json.read_text())
        if held["source"] != source.spec or bool(held.get("framed", False)) != source.framed:
            raise ValueError(f"{out} holds features from {held['source']!r} (framed {bool(held.get('framed', False))}), "
                             f"not {source.spec!r} (framed {source.framed}): use another --out")
    _atomic_write_json(source_json, source.describe())
    _atomic_write_json(out / "benchmark.json", json.loads((benchmark / "benchmark.json").read_text()))
    rooms = _rooms(benchmark, splits)
    summary = {"rooms": len(rooms), "views_rendered": 0, "rooms_skipped": 0}
    for i, (split, seed, path) in enumerate(rooms):
        target = room_dir(out, split, seed)
        done = target / "complete.json"
        ply_hash = json.loads((path / "complete.json").read_text()).get("ply_sha256")
        if done.exists() and json.loads(done.read_text()).get("ply_sha256") == ply_hash:
            summary["rooms_skipped"] += 1
            continue
        t0 = time.time()
        started = target / "started.json"
        if target.exists() and (not started.exists() or json.loads(started.read_text()).get("ply_sha256") != ply_hash):
            # left over from another version of the room (or of unknown origin): nothing here can be trusted
            for f in sorted(target.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
        _atomic_write_json(started, {"ply_sha256": ply_hash, "source": source.spec})
        scene = read_ply(path / "scene.ply")
        gfile = target / "gaussians.npy"
        if gfile.exists():  # an interrupted run of the same room and source: its features are reused
            feats = np.load(gfile)
        else:
            feats = source(scene, split, seed)
            tmp = target / "gaussians.tmp.npy"
            np.save(tmp, feats)
            tmp.replace(gfile)
        prepared = prepare(scene, features=feats, device=device)
        for res in room_resolutions(path):
            cams = load_cameras(path, res)
            for v, cam in enumerate(cams):
                f = views_dir(target, res) / f"{v:03d}.npz"
                if f.exists():
                    continue
                splatted = render(prepared, cam, output="numpy")["features"]
                _atomic_write_npz(f, features=splatted.astype(np.float16))
                summary["views_rendered"] += 1
        _atomic_write_json(done, {"ply_sha256": ply_hash, "k": int(feats.shape[1]), "source": source.spec})
        log(f"[{i + 1}/{len(rooms)}] {split} room {seed}: {time.time() - t0:.1f} s")
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class ViewRef:
    split: str
    seed: int
    index: int
    room_path: Path
    feature_path: Path | None  # None: no features ("none")


# `--features none`: the dataset carries one zero feature channel (models that ignore the features train without them)
NO_FEATURES = "none"
NO_FEATURES_K = 1


def is_no_features(features) -> bool:
    return features is None or str(features) == NO_FEATURES


class SynthRoomsViews(Dataset):
    """Views of one split at one resolution. Items: rgb (3, H, W) float [0, 1], features (K, H, W) float,
    labels (H, W) int64 (255 = none), plus alpha and depth (H, W) float for evaluation, and ids."""

    def __init__(self, benchmark: Path, features: Path, split: str, resolution: tuple[int, int],
                 augment: "Augment | None" = None, rooms: list[int] | None = None, views: list[int] | None = None):
        self.benchmark = Path(benchmark)
        # "none": no feature files; every view gets one zero channel (NO_FEATURES_K). For models that never read
        # the features (the RGB-only fallback, --variant rgb), so they train without rendering any.
        self.features = None if is_no_features(features) else Path(features)
        self.resolution, self.augment = tuple(resolution), augment
        if self.features is None:
            pass
        elif not (self.features / "source.json").is_file():
            raise FileNotFoundError(f"features {self.features}: no source.json (render them with "
                                    f"python -m rtgs2.vdvi.data features)")
        self.items: list[ViewRef] = []
        for s, seed, path in _rooms(self.benchmark, [split]):
            if rooms is not None and seed not in rooms:
                continue
            fpath = room_dir(self.features, s, seed) if self.features is not None else None
            if fpath is not None and not (fpath / "complete.json").is_file():
                continue  # features not rendered (yet) for this room
            vdir = views_dir(path, self.resolution)
            # view files only: pathlib's glob also matches hidden files, such as the temporary file an
            # interrupted atomic write leaves (".015.npz.<random>.tmp.npz")
            count = len(list(vdir.glob("[0-9][0-9][0-9].npz")))
            for v in range(count):
                if views is None or v in views:
                    self.items.append(ViewRef(s, seed, v, path, fpath))
        if self.items and self.features is None:
            self.k = NO_FEATURES_K
        elif self.items:
            ks = {json.loads((ref.feature_path / "complete.json").read_text())["k"] for ref in self.items}
            if len(ks) != 1:
                raise ValueError(f"features {self.features}: rooms of {split} have different K {sorted(ks)}")
            self.k = ks.pop()
        else:
            raise ValueError(f"no {split} views at {resolution[0]}x{resolution[1]} with features in {self.features} "
                             f"(benchmark {self.benchmark})")

    def __len__(self) -> int:
        return len(self.items)

    def label_counts(self, num_classes: int) -> np.ndarray:
        """Labelled pixels per class over every view (`none` left out), for class-balanced training."""
        counts = np.zeros(num_classes, np.int64)
        for ref in self.items:
            labels = load_view(ref.room_path, self.resolution, ref.index)["labels"]
            counts += np.bincount(labels[labels != NONE].ravel(), minlength=num_classes)[:num_classes]
        return counts

    def load(self, i: int) -> dict:
        ref = self.items[i]
        view = load_view(ref.room_path, self.resolution, ref.index)
        if ref.feature_path is None:
            feats = np.zeros((*view["labels"].shape, NO_FEATURES_K), np.float32)
        else:
            with np.load(views_dir(ref.feature_path, self.resolution) / f"{ref.index:03d}.npz") as z:
                feats = z["features"]
        return {
            "rgb": torch.from_numpy(view["rgb"]).permute(2, 0, 1).float() / 255.0,
            "features": torch.from_numpy(feats.astype(np.float32)).permute(2, 0, 1),
            "labels": torch.from_numpy(view["labels"].astype(np.int64)),
            "alpha": torch.from_numpy(view["alpha"].astype(np.float32)),
            "depth": torch.from_numpy(view["depth"].astype(np.float32)),
        }

    def __getitem__(self, i: int) -> dict:
        sample = self.load(i)
        if self.augment is not None:
            sample = self.augment(sample)
        ref = self.items[i]
        sample.update({"seed": ref.seed, "view": ref.index})
        return sample


# ---------------------------------------------------------------------------------------------------------------
# Augmentations: every draw is made per sample from torch's global RNG (seeded per worker/rank/epoch by the
# DataLoader), so no parameter is frozen at construction (METHOD.md: the reference drew the zoom once).
# ---------------------------------------------------------------------------------------------------------------

def _uniform(lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(()))


@dataclass
class Augment:
    crop: tuple[int, int] = (224, 320)  # (H, W) training crop, multiples of 32
    zoom_prob: float = 0.5
    zoom_max: float = 2.0  # up to 2x: the 640x480 test views show objects twice as large as the 320x240 train views
    flip_prob: float = 0.5
    jitter: float = 0.2  # brightness/contrast/saturation factors in [1 - j, 1 + j]
    cutout_prob: float = 0.3  # per modality, independently
    cutout_size: tuple[float, float] = (0.2, 0.5)  # rectangle side as a fraction of the image side
    # Defocus of the rgb like a trained-3DGS render of out-of-focus photos (issue 14): off by default (the shipped
    # models' recipe); `--defocus P` in the trainer. The features are splatted from geometry and stay sharp.
    defocus_prob: float = 0.0
    defocus_max_sigma: tuple[float, float] = (1.0, 3.0)  # px at the train resolution: the largest blur, drawn per sample

    def __call__(self, s: dict) -> dict:
        s = dict(s)
        h, w = s["labels"].shape
        if float(torch.rand(())) < self.zoom_prob:  # zoom in: a random window resized back to the full view
            z = _uniform(1.0, self.zoom_max)
            ch, cw = max(1, round(h / z)), max(1, round(w / z))
            y0, x0 = int(torch.randint(0, h - ch + 1, ())), int(torch.randint(0, w - cw + 1, ()))
            for key in ("rgb", "features"):
                s[key] = F.interpolate(s[key][None, :, y0:y0 + ch, x0:x0 + cw], size=(h, w), mode="bilinear",
                                       align_corners=False)[0]
            for key in ("labels", "alpha", "depth"):
                t = s[key][y0:y0 + ch, x0:x0 + cw][None, None].float()
                s[key] = F.interpolate(t, size=(h, w), mode="nearest")[0, 0].to(s[key].dtype)
        s = random_crop(s, self.crop)
        if float(torch.rand(())) < self.flip_prob:
            for key in ("rgb", "features", "labels", "alpha", "depth"):
                s[key] = s[key].flip(-1)
        if self.defocus_prob > 0 and float(torch.rand(())) < self.defocus_prob:
            s["rgb"] = defocus(s["rgb"], s["depth"], s["alpha"], _uniform(*self.defocus_max_sigma))
        s["rgb"] = colour_jitter(s["rgb"], self.jitter)
        for key in ("rgb", "features"):  # modality cut-out, independently per modality
            if float(torch.rand(())) < self.cutout_prob:
                s[key] = cutout(s[key], self.cutout_size)
        return s


def random_crop(s: dict, crop: tuple[int, int]) -> dict:
    """A random (H, W) window; views smaller than the crop are padded (rgb/features 0, labels none)."""
    ch, cw = crop
    h, w = s["labels"].shape
    ph, pw = max(0, ch - h), max(0, cw - w)
    if ph or pw:
        s = {**s, **{k: F.pad(s[k], (0, pw, 0, ph)) for k in ("rgb", "features", "alpha", "depth")},
             "labels": F.pad(s["labels"], (0, pw, 0, ph), value=NONE)}
        h, w = h + ph, w + pw
    y0, x0 = int(torch.randint(0, h - ch + 1, ())), int(torch.randint(0, w - cw + 1, ()))
    return {k: (v[..., y0:y0 + ch, x0:x0 + cw] if torch.is_tensor(v) else v) for k, v in s.items()}


def colour_jitter(rgb: torch.Tensor, amount: float) -> torch.Tensor:
    if amount <= 0:
        return rgb
    rgb = rgb * _uniform(1 - amount, 1 + amount)  # brightness
    mean = rgb.mean()
    rgb = (rgb - mean) * _uniform(1 - amount, 1 + amount) + mean  # contrast
    grey = rgb.mean(0, keepdim=True)
    rgb = (rgb - grey) * _uniform(1 - amount, 1 + amount) + grey  # saturation
    return rgb.clamp(0.0, 1.0)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (C, H, W) image, edges replicated."""
    if sigma <= 0:
        return x
    radius = max(1, int(round(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[0]
    y = F.pad(x[None], (radius, radius, 0, 0), mode="replicate")
    y = F.conv2d(y, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    y = F.pad(y, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(y, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)[0]


DEFOCUS_LEVELS = 4  # blur levels the per-pixel blur is interpolated between


def defocus(rgb: torch.Tensor, depth: torch.Tensor, alpha: torch.Tensor, max_sigma: float) -> torch.Tensor:
    """Depth-dependent blur of a (3, H, W) image, like a thin lens focused at one depth: the blur of a pixel grows
    with |1/d - 1/d_focus| (the circle of confusion), up to `max_sigma` px for the pixel farthest from focus in
    inverse depth. The focus depth is drawn among the covered pixels' depths (expected depth / alpha); uncovered
    pixels get the largest blur. Computed as DEFOCUS_LEVELS blurred copies interpolated per pixel."""
    covered = alpha > 0.5
    if not bool(covered.any()) or max_sigma <= 0:
        return rgb
    d = torch.where(covered, depth / alpha.clamp_min(1e-6), torch.zeros_like(depth))
    inv = torch.where(covered, 1.0 / d.clamp_min(0.05), torch.zeros_like(d))
    values = inv[covered]
    focus = values[int(torch.randint(0, values.numel(), ()))]
    coc = (inv - focus).abs()
    coc = torch.where(covered, coc / coc[covered].max().clamp_min(1e-6), torch.ones_like(coc))  # 0..1
    level = coc * (DEFOCUS_LEVELS - 1)
    sigmas = [max_sigma * i / (DEFOCUS_LEVELS - 1) for i in range(DEFOCUS_LEVELS)]
    stack = torch.stack([_gaussian_blur(rgb, sg) for sg in sigmas])  # (L, 3, H, W)
    lo = level.floor().clamp(max=DEFOCUS_LEVELS - 2).long()
    frac = (level - lo.float())[None]
    below = stack.gather(0, lo[None, None].expand(1, 3, *lo.shape))[0]
    above = stack.gather(0, (lo + 1)[None, None].expand(1, 3, *lo.shape))[0]
    return (below * (1 - frac) + above * frac).clamp(0.0, 1.0)


def cutout(x: torch.Tensor, size: tuple[float, float]) -> torch.Tensor:
    _, h, w = x.shape
    rh, rw = max(1, round(h * _uniform(*size))), max(1, round(w * _uniform(*size)))
    y0, x0 = int(torch.randint(0, h - rh + 1, ())), int(torch.randint(0, w - rw + 1, ()))
    x = x.clone()
    x[:, y0:y0 + rh, x0:x0 + rw] = 0.0
    return x


def collate(batch: list[dict]) -> dict:
    out = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        out[key] = torch.stack(values) if torch.is_tensor(values[0]) else torch.as_tensor(values)
    return out


def micro_benchmark(out: Path, k: int = 8, size: tuple[int, int] = (96, 64), views: int = 2) -> tuple[Path, Path]:
    """A tiny benchmark (one coarse room per split, a few small views) and its raw10 features under `out`, in a
    few seconds: the data of the smoke tests (the real cache is not in CI). Returns (benchmark, features)."""
    from ..synthrooms.benchmark import BenchmarkDefinition, SplitSpec, generate_benchmark

    definition = BenchmarkDefinition("micro", (SplitSpec("train", (1001,), views, (size,)),
                                               SplitSpec("val", (2004,), views, (size,)),
                                               SplitSpec("test", (3002,), views, (size,))),
                                     {"max_gaussians": 4000})
    generate_benchmark(definition, out, log=lambda m: None)
    benchmark, features = Path(out) / "micro", Path(out) / f"features-raw10-k{k}"
    generate_features(benchmark, features, FeatureSource("raw10", k), device="cpu", log=lambda m: None)
    return benchmark, features


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("features", help="render the splatted features of every benchmark view (resumable)")
    gen.add_argument("--benchmark", type=Path, required=True, help="e.g. cache/synthrooms/full")
    gen.add_argument("--source", required=True, help="raw10 | encoder:<checkpoint> | onnx:<encoder.onnx> | npy:<dir>")
    gen.add_argument("--k", type=int, default=None, help="feature channels (raw10, npy)")
    gen.add_argument("--out", type=Path, required=True, help="e.g. cache/features/<encoder-id>")
    gen.add_argument("--split", action="append", help="only this split (repeatable)")
    gen.add_argument("--device", default=None, help="render device (default: cuda when present)")
    gen.add_argument("--framed", action=argparse.BooleanOptionalAction, default=True,
                     help="per-Gaussian features from the runtime's input: a random similarity, the scene-frame "
                          "estimator, normalisation (rtgs2.random_frames; issue 13). Default on; --no-framed uses "
                          "the rooms as generated"),
    gen.add_argument("--threads", type=int, default=1,
                     help="CPU threads for torch (default 1: on a shared 2-core machine more threads were slower)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    source = FeatureSource(args.source, args.k, framed=args.framed)
    print(generate_features(args.benchmark, args.out, source, args.split, args.device,
                            log=lambda m: print(m, flush=True)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
