"""Building blocks of the VDVI network. Every op exports to ONNX opset 17 with standard operators only
(Conv, BatchNormalization folded at export, Relu, Sigmoid, GlobalAveragePool, ReduceMean/Max, MatMul, Softmax,
LayerNormalization, Resize bilinear), so that onnxruntime-web's WebGPU and wasm providers both run it."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, relu: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise (stride s), 1x1 project; residual when shapes agree."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, 1))
        layers += [ConvBNReLU(hidden, hidden, 3, stride, groups=hidden), ConvBNReLU(hidden, cout, 1, relu=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def make_stage(cin: int, cout: int, blocks: int, stride: int, expand: int) -> nn.Sequential:
    layers = [InvertedResidual(cin, cout, stride, expand)]
    layers += [InvertedResidual(cout, cout, 1, expand) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ChannelSpatialGate(nn.Module):
    """LAFS-style gating of the concatenated streams (AsymFormer's Local Attention-Guided Feature Selection, from
    its description): a channel gate (global average pool -> MLP -> sigmoid) and a spatial gate (a 7x7 conv over the
    per-pixel channel mean and max -> sigmoid) reweight the concatenation; a 1x1 conv then mixes it to `cout`."""

    def __init__(self, cin: int, cout: int, reduction: int = 4):
        super().__init__()
        hidden = max(8, cin // reduction)
        self.channel_mlp = nn.Sequential(nn.Conv2d(cin, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, cin, 1))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)
        self.mix = ConvBNReLU(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.sigmoid(self.channel_mlp(x.mean(dim=(2, 3), keepdim=True)))
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], 1)
        x = x * torch.sigmoid(self.spatial(pooled))
        return self.mix(x)


class CrossModalAttention(nn.Module):
    """Multi-head attention from the fused tokens (queries) to the tokens of both modalities (keys/values), as
    explicit MatMul + Softmax (no fused attention op, so it exports to plain ONNX). Residual, pre-LayerNorm,
    followed by a small MLP. Meant for the coarsest scale only, where the token count is small (300 at 640x480)."""

    def __init__(self, dim: int, rgb_dim: int, feat_dim: int, heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        if dim % heads:
            raise ValueError(f"CrossModalAttention: dim {dim} is not divisible by heads {heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.norm_q = nn.LayerNorm(dim)
        self.rgb_in = nn.Linear(rgb_dim, dim)
        self.feat_in = nn.Linear(feat_dim, dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def _split(self, t: torch.Tensor) -> torch.Tensor:  # (B, N, D) -> (B, heads, N, head_dim)
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, fused: torch.Tensor, rgb: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        b, c, h, w = fused.shape
        x = fused.flatten(2).transpose(1, 2)  # (B, N, C)
        context = torch.cat([self.rgb_in(rgb.flatten(2).transpose(1, 2)),
                             self.feat_in(feat.flatten(2).transpose(1, 2))], 1)  # (B, 2N, C)
        q = self._split(self.q(self.norm_q(x)))
        k, v = self.kv(self.norm_kv(context)).chunk(2, dim=-1)
        k, v = self._split(k), self._split(v)
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)), dim=-1)
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, h * w, c)
        x = x + self.out(y)
        x = x + self.mlp(self.norm_mlp(x))
        return x.transpose(1, 2).reshape(b, c, h, w)


class MLPDecoder(nn.Module):
    """SegFormer-style all-MLP decoder: each scale is projected to `dim` channels (1x1), resized to the finest
    scale, concatenated, fused by a 1x1 conv + BN + ReLU and a linear 1x1 conv; `embed` returns the linear
    conv's output (the penultimate features the centre loss reads: linear, so they can point along any simplex
    ETF direction, which post-ReLU features could not), `classify` the logits at the finest scale."""

    def __init__(self, in_channels: list[int], dim: int, num_classes: int, dropout: float = 0.1):
        super().__init__()
        self.project = nn.ModuleList([nn.Conv2d(c, dim, 1) for c in in_channels])
        self.fuse = nn.Sequential(ConvBNReLU(dim * len(in_channels), dim, 1), nn.Conv2d(dim, dim, 1))
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(dim, num_classes, 1)

    def embed(self, pyramid: list[torch.Tensor]) -> torch.Tensor:
        size = pyramid[0].shape[2:]
        ups = [self.project[0](pyramid[0])]
        for proj, x in zip(self.project[1:], pyramid[1:]):
            ups.append(F.interpolate(proj(x), size=size, mode="bilinear", align_corners=False))
        return self.fuse(torch.cat(ups, 1))

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(embedding))
