"""AsymFormer B0_T, the RT-GS2 paper's fusion net, reimplemented from its published description (AsymFormer:
Du et al., 2024, as used by RT-GS2, METHOD.md stage 3) for the baseline of issue 6. No code or weights were
downloaded; the numbers carried over are the architecture hyper-parameters of the published backbones:

- RGB encoder: ConvNeXt-T (Liu et al., 2022): stem 4x4/4, stages of depths (3, 3, 9, 3), widths (96, 192, 384, 768),
  blocks dw7x7 -> LayerNorm -> 4x MLP (GELU) with layer scale; LayerNorm + 2x2/2 conv between stages.
- Feature encoder: MiT-B0 (SegFormer, Xie et al., 2021) with its first patch embedding taking K channels:
  depths (2, 2, 2, 2), widths (32, 64, 160, 256), heads (1, 2, 5, 8), spatial-reduction ratios (8, 4, 2, 1),
  Mix-FFN ratio 4, overlapping patch embeddings 7x7/4 then 3x3/2.
- Fusion at 1/8, 1/16, 1/32: LAFS (channel + spatial gating of the concatenated streams, rtgs2.vdvi.blocks)
  then cross-modal attention over ALL tokens of the scale (4,800 at 1/8 for 640x480). The description does not
  give the attention's inner width; ATTENTION_DIM (ours) is chosen so that the totals land near the published
  33.0 M parameters / 36 GFLOPs (see docs/VDVI.md for the measured figures and the difference).
- Decoder: SegFormer all-MLP, DECODER_DIM channels (ours: SegFormer's B0-B1 value).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ChannelSpatialGate, MLPDecoder
from .model import NUM_CLASSES, RGB_MEAN, RGB_STD, check_inputs

ATTENTION_DIM = 32
DECODER_DIM = 256


@dataclass
class AsymFormerConfig:
    k: int = 16
    num_classes: int = NUM_CLASSES
    convnext_depths: tuple = (3, 3, 9, 3)
    convnext_widths: tuple = (96, 192, 384, 768)
    mit_depths: tuple = (2, 2, 2, 2)
    mit_widths: tuple = (32, 64, 160, 256)
    mit_heads: tuple = (1, 2, 5, 8)
    mit_sr: tuple = (8, 4, 2, 1)
    attention_dim: int = ATTENTION_DIM
    decoder_dim: int = DECODER_DIM

    def to_json(self) -> dict:
        return asdict(self)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float = 1e-6):
        super().__init__()
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self, cin: int, depths, widths):
        super().__init__()
        self.down = nn.ModuleList([nn.Sequential(nn.Conv2d(cin, widths[0], 4, 4), LayerNorm2d(widths[0]))])
        for i in range(1, 4):
            self.down.append(nn.Sequential(LayerNorm2d(widths[i - 1]), nn.Conv2d(widths[i - 1], widths[i], 2, 2)))
        self.stages = nn.ModuleList([nn.Sequential(*[ConvNeXtBlock(w) for _ in range(d)]) for d, w in zip(depths, widths)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for down, stage in zip(self.down, self.stages):
            x = stage(down(x))
            out.append(x)
        return out


class EfficientSelfAttention(nn.Module):
    """SegFormer's attention: keys/values from the map reduced by an sr x sr strided conv."""

    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.heads, self.sr = heads, sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.reduce = nn.Conv2d(dim, dim, sr, sr)
            self.reduce_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, n, c = x.shape
        hd = c // self.heads
        q = self.q(x).reshape(b, n, self.heads, hd).transpose(1, 2)
        kv_in = x
        if self.sr > 1:
            kv_in = self.reduce_norm(self.reduce(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2))
        k, v = self.kv(kv_in).reshape(b, -1, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class MixFFN(nn.Module):
    def __init__(self, dim: int, ratio: int = 4):
        super().__init__()
        hidden = dim * ratio
        self.fc1 = nn.Linear(dim, hidden)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, n, _ = x.shape
        y = self.fc1(x)
        y = self.dw(y.transpose(1, 2).reshape(b, -1, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(y))


class MiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), EfficientSelfAttention(dim, heads, sr)
        self.norm2, self.ffn = nn.LayerNorm(dim), MixFFN(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.ffn(self.norm2(x), h, w)


class MiT(nn.Module):
    def __init__(self, cin: int, depths, widths, heads, srs):
        super().__init__()
        self.embed = nn.ModuleList()
        self.blocks = nn.ModuleList()
        self.norms = nn.ModuleList()
        c = cin
        for i, (d, w, hh, sr) in enumerate(zip(depths, widths, heads, srs)):
            k, s = (7, 4) if i == 0 else (3, 2)
            self.embed.append(nn.ModuleList([nn.Conv2d(c, w, k, s, k // 2), nn.LayerNorm(w)]))
            self.blocks.append(nn.ModuleList([MiTBlock(w, hh, sr) for _ in range(d)]))
            self.norms.append(nn.LayerNorm(w))
            c = w

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for (conv, norm), blocks, final in zip(self.embed, self.blocks, self.norms):
            x = conv(x)
            b, c, h, w = x.shape
            t = norm(x.flatten(2).transpose(1, 2))
            for blk in blocks:
                t = blk(t, h, w)
            x = final(t).transpose(1, 2).reshape(b, c, h, w)
            out.append(x)
        return out


class FullCrossModalAttention(nn.Module):
    """Attention over all tokens of the scale: queries from the fused map, keys from the RGB tokens, values from
    the feature tokens (both projected to `dim`), single head of width `dim`, output projected back + residual."""

    def __init__(self, channels: int, rgb_channels: int, feat_channels: int, dim: int):
        super().__init__()
        self.q = nn.Conv2d(channels, dim, 1)
        self.k = nn.Conv2d(rgb_channels, dim, 1)
        self.v = nn.Conv2d(feat_channels, dim, 1)
        self.out = nn.Conv2d(dim, channels, 1)
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, fused: torch.Tensor, rgb: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        b, c, h, w = fused.shape
        q = self.q(fused).flatten(2).transpose(1, 2)
        k = self.k(rgb).flatten(2)
        v = self.v(feat).flatten(2).transpose(1, 2)
        y = torch.softmax(q @ k * self.scale, dim=-1) @ v
        return fused + self.out(y.transpose(1, 2).reshape(b, -1, h, w))


class AsymFormer(nn.Module):
    def __init__(self, config: AsymFormerConfig | None = None):
        super().__init__()
        self.config = c = config or AsymFormerConfig()
        self.rgb_encoder = ConvNeXt(3, c.convnext_depths, c.convnext_widths)
        self.feature_encoder = MiT(c.k, c.mit_depths, c.mit_widths, c.mit_heads, c.mit_sr)
        rw, fw = c.convnext_widths, c.mit_widths
        self.gates = nn.ModuleList([ChannelSpatialGate(rw[i] + fw[i], rw[i]) for i in (1, 2, 3)])
        self.attention = nn.ModuleList([FullCrossModalAttention(rw[i], rw[i], fw[i], c.attention_dim) for i in (1, 2, 3)])
        self.decoder = MLPDecoder(list(rw), c.decoder_dim, c.num_classes)

    @property
    def embedding_dim(self) -> int:
        return self.config.decoder_dim

    def forward(self, rgb: torch.Tensor, features: torch.Tensor, return_embedding: bool = False):
        check_inputs(rgb, features, self.config.k)
        r = self.rgb_encoder((rgb - RGB_MEAN) / RGB_STD)
        f = self.feature_encoder(features)
        pyramid = [r[0]]
        for i, gate, attn in zip((1, 2, 3), self.gates, self.attention):
            pyramid.append(attn(gate(torch.cat([r[i], f[i]], 1)), r[i], f[i]))
        embedding = self.decoder.embed(pyramid)
        logits = F.interpolate(self.decoder.classify(embedding), size=rgb.shape[2:], mode="bilinear",
                               align_corners=False)
        return (logits, embedding) if return_embedding else logits
