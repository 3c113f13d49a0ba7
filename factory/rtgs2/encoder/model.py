"""The Gaussian encoder network: serialized patch attention over voxels (in the spirit of PTv3 and LitePT),
built for ONNX and onnxruntime-web (docs/ENCODER.md).

Everything data-dependent comes in as index tensors from serialization.py (or src/encoder/serialization.ts): the
graph only gathers, reshapes to (patches, P, C), attends inside patches, max-pools over a fixed 8 children and
gathers back. Static-rank tensors, standard ops (Gather, Reshape, MatMul, Softmax, ReduceMax, LayerNormalization),
dynamic point count; no scatter, NonZero or Unique.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .serialization import VOXEL_CHANNELS, SerializationConfig, SerializedScene

ENCODER_ID = "rtgs2-gaussian-encoder"
ENCODER_VERSION = 1


@dataclass
class EncoderConfig:
    serialization: SerializationConfig = field(default_factory=SerializationConfig)
    channels: tuple[int, ...] = (48, 96, 192)  # per level; len == serialization.levels
    heads: tuple[int, ...] = (2, 4, 8)  # head dim 24 everywhere: 4 rotary frequencies per axis
    encoder_blocks: tuple[int, ...] = (1, 1, 2)
    decoder_blocks: tuple[int, ...] = (1, 1)  # at levels L-2 .. 0, after each unpooling
    mlp_ratio: float = 2.0
    out_dim: int = 16  # K, ARCHITECTURE.md contract 1
    rope_base: float = 64.0  # rotary wavelengths from 2 pi to 2 pi * 64 voxels (a patch spans tens of voxels)

    def check(self) -> None:
        self.serialization.check()
        levels = self.serialization.levels
        for name in ("channels", "heads", "encoder_blocks"):
            if len(getattr(self, name)) != levels:
                raise ValueError(f"EncoderConfig.{name} needs {levels} entries (one per level), got {getattr(self, name)}")
        if len(self.decoder_blocks) != levels - 1:
            raise ValueError(f"EncoderConfig.decoder_blocks needs {levels - 1} entries, got {self.decoder_blocks}")
        for c, h in zip(self.channels, self.heads):
            if c % h:
                raise ValueError(f"channels {c} is not divisible by heads {h}")
        if self.out_dim < 1:
            raise ValueError(f"out_dim must be >= 1, got {self.out_dim}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["serialization"]["orders"] = list(self.serialization.orders)
        return d

    @staticmethod
    def from_json(d: dict) -> "EncoderConfig":
        d = dict(d)
        s = dict(d.pop("serialization"))
        s["orders"] = tuple(s["orders"])
        return EncoderConfig(serialization=SerializationConfig(**s), **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def input_names(levels: int) -> list[str]:
    """The graph's inputs, in forward() order (docs/ENCODER.md, "Inputs")."""
    names = ["voxel_features", "gaussian_voxel"]
    for l in range(levels):
        names += [f"coords_l{l}", f"order_l{l}", f"inverse_l{l}"]
        if l > 0:
            names += [f"pool_l{l}", f"unpool_l{l}"]
    return names


class RotaryPositions(nn.Module):
    """Parameter-free 3D rotary position encoding (LitePT's PointROPE idea): each axis rotates its own group of
    channel pairs by coordinate x frequency, so q . k depends on the coordinate difference only. Head dims that do
    not fill whole axis groups stay unrotated."""

    def __init__(self, head_dim: int, base: float):
        super().__init__()
        self.freqs_per_axis = head_dim // 6
        if self.freqs_per_axis < 1:
            raise ValueError(f"head dim {head_dim} too small for 3D rotary encoding (needs >= 6)")
        k = torch.arange(self.freqs_per_axis, dtype=torch.float32)
        self.register_buffer("freqs", base ** (-k / self.freqs_per_axis), persistent=False)

    def angles(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pos (..., 3) -> cos, sin (..., 3 f)."""
        a = (pos.unsqueeze(-1) * self.freqs).flatten(-2)
        return torch.cos(a), torch.sin(a)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        r = 6 * self.freqs_per_axis
        rot, rest = x[..., :r], x[..., r:]
        pairs = rot.reshape(*rot.shape[:-1], r // 2, 2)
        x1, x2 = pairs[..., 0], pairs[..., 1]
        rotated = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
        return torch.cat([rotated, rest], dim=-1)


class PatchAttention(nn.Module):
    def __init__(self, channels: int, heads: int, patch_size: int, rope_base: float):
        super().__init__()
        self.heads, self.head_dim, self.patch = heads, channels // heads, patch_size
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.rope = RotaryPositions(self.head_dim, rope_base)

    def forward(self, x: torch.Tensor, coords: torch.Tensor, order: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        c, h, d, p = x.shape[-1], self.heads, self.head_dim, self.patch
        qkv = self.qkv(x)[order].reshape(-1, p, 3, h, d).permute(2, 0, 3, 1, 4)  # (3, patches, H, P, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        pos = coords[order].reshape(-1, p, 3)
        pos = pos - pos[:, :1, :]  # relative to the patch's first voxel: small angles, same attention (RoPE is relative)
        cos, sin = self.rope.angles(pos.unsqueeze(1))  # (patches, 1, P, 3f)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5), dim=-1)
        out = torch.matmul(attn, v).permute(0, 2, 1, 3).reshape(-1, c)  # (Vp, C)
        return self.proj(out[inverse])


class Block(nn.Module):
    def __init__(self, channels: int, heads: int, patch_size: int, mlp_ratio: float, rope_base: float, order_index: int):
        super().__init__()
        self.order_index = order_index
        self.norm1 = nn.LayerNorm(channels)
        self.attn = PatchAttention(channels, heads, patch_size, rope_base)
        self.norm2 = nn.LayerNorm(channels)
        hidden = int(channels * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.GELU(), nn.Linear(hidden, channels))

    def forward(self, x, coords, orders, inverses):
        x = x + self.attn(self.norm1(x), coords, orders[self.order_index], inverses[self.order_index])
        return x + self.mlp(self.norm2(x))


class GridPool(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.proj = nn.Linear(c_in, c_out)
        self.norm = nn.LayerNorm(c_out)

    def forward(self, x, children):  # children (V_next, 8)
        return F.gelu(self.norm(self.proj(x)[children].amax(dim=1)))


class GridUnpool(nn.Module):
    def __init__(self, c_coarse: int, c_fine: int):
        super().__init__()
        self.proj = nn.Linear(c_coarse, c_fine)
        self.skip = nn.Linear(c_fine, c_fine)
        self.norm = nn.LayerNorm(c_fine)

    def forward(self, coarse, skip, parent):  # parent (V_fine,)
        return F.gelu(self.norm(self.proj(coarse)[parent] + self.skip(skip)))


class GaussianEncoder(nn.Module):
    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        config.check()
        self.config = config
        s = config.serialization
        self.levels = s.levels
        ch = config.channels
        self.embed = nn.Sequential(nn.Linear(VOXEL_CHANNELS, ch[0]), nn.GELU(), nn.Linear(ch[0], ch[0]), nn.LayerNorm(ch[0]))
        counter = iter(range(10_000))

        def blocks(level: int, n: int) -> nn.ModuleList:
            return nn.ModuleList(
                Block(ch[level], config.heads[level], s.patch_size, config.mlp_ratio, config.rope_base,
                      next(counter) % len(s.orders)) for _ in range(n))

        self.encoders = nn.ModuleList(blocks(l, config.encoder_blocks[l]) for l in range(self.levels))
        self.pools = nn.ModuleList(GridPool(ch[l - 1], ch[l]) for l in range(1, self.levels))
        # decoder stage i works at level L-2-i
        self.unpools = nn.ModuleList(GridUnpool(ch[l + 1], ch[l]) for l in reversed(range(self.levels - 1)))
        self.decoders = nn.ModuleList(
            blocks(l, config.decoder_blocks[i]) for i, l in enumerate(reversed(range(self.levels - 1))))
        self.head = nn.Sequential(nn.LayerNorm(ch[0]), nn.Linear(ch[0], config.out_dim))

    def voxel_features(self, voxel_features: torch.Tensor, levels: list[dict]) -> torch.Tensor:
        """(V0, K) unit-length features of the level-0 voxels. levels[l]: coords, order, inverse (+ pool, unpool)."""
        x = self.embed(voxel_features)
        skips = []
        for l in range(self.levels):
            lv = levels[l]
            if l > 0:
                skips.append(x)
                x = self.pools[l - 1](x, lv["pool"])
            for block in self.encoders[l]:
                x = block(x, lv["coords"], lv["order"], lv["inverse"])
        for i, l in enumerate(reversed(range(self.levels - 1))):
            lv = levels[l]
            x = self.unpools[i](x, skips[l], levels[l + 1]["unpool"])
            for block in self.decoders[i]:
                x = block(x, lv["coords"], lv["order"], lv["inverse"])
        y = self.head(x)
        return y * torch.rsqrt(torch.clamp((y * y).sum(dim=-1, keepdim=True), min=1e-24))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Inputs in input_names() order (the ONNX signature); returns (N, K) per-Gaussian features."""
        feeds = dict(zip(input_names(self.levels), inputs))
        return self.forward_feeds(feeds)

    def forward_feeds(self, feeds: dict[str, torch.Tensor]) -> torch.Tensor:
        levels = []
        for l in range(self.levels):
            lv = {"coords": feeds[f"coords_l{l}"], "order": feeds[f"order_l{l}"], "inverse": feeds[f"inverse_l{l}"]}
            if l > 0:
                lv["pool"], lv["unpool"] = feeds[f"pool_l{l}"], feeds[f"unpool_l{l}"]
            levels.append(lv)
        return self.voxel_features(feeds["voxel_features"], levels)[feeds["gaussian_voxel"]]


def feeds_to_torch(feeds: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """int32 index arrays become int64 tensors in PyTorch (CUDA indexing prefers them); the ONNX graph takes int32."""
    out = {}
    for k, v in feeds.items():
        t = torch.from_numpy(np.ascontiguousarray(v))
        out[k] = (t.long() if t.dtype == torch.int32 else t).to(device)
    return out


def collate(scenes: list[SerializedScene]) -> tuple[dict[str, np.ndarray], list[tuple[int, int]]]:
    """Several serialized scenes as one batch. Voxel ids are offset by the voxels of the scenes before; inverse
    positions by their padded order lengths. Each order is padded to whole patches, so no patch mixes two scenes.
    Returns the feeds and each scene's (start, end) Gaussian rows."""
    levels = len(scenes[0].levels)
    parts: dict[str, list[np.ndarray]] = {}

    def add(name: str, value: np.ndarray) -> None:
        parts.setdefault(name, []).append(value)

    rows, g0 = [], 0
    voxel_offset = [0] * levels
    order_offset = [0] * levels
    for s in scenes:
        add("voxel_features", s.voxel_features)
        add("gaussian_voxel", s.gaussian_voxel + voxel_offset[0])
        for l, lv in enumerate(s.levels):
            add(f"coords_l{l}", lv.coords.astype(np.float32))
            add(f"order_l{l}", lv.orders + voxel_offset[l])
            add(f"inverse_l{l}", lv.inverses + order_offset[l])
            if l > 0:
                add(f"pool_l{l}", lv.pool + voxel_offset[l - 1])
                add(f"unpool_l{l}", lv.unpool + voxel_offset[l])
        for l, lv in enumerate(s.levels):
            voxel_offset[l] += len(lv.coords)
            order_offset[l] += lv.orders.shape[1]
        rows.append((g0, g0 + s.count))
        g0 += s.count
    axis = lambda name: 1 if name.startswith(("order_l", "inverse_l")) else 0  # noqa: E731
    return {k: np.concatenate(v, axis=axis(k)).astype(v[0].dtype) for k, v in parts.items()}, rows


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
