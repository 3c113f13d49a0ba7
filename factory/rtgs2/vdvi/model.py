"""The VDVI fusion network (ARCHITECTURE.md contract 3; docs/VDVI.md).

Two encoders in parallel: a MobileNetV2-style CNN on the rendered RGB and a lighter one on the splatted features
(K channels, not divided by alpha). At 1/8, 1/16 and 1/32 the two streams are concatenated and gated (channel +
spatial gate, as AsymFormer's LAFS does) into a fused stream; at 1/32 only (300 tokens at 640x480, against
AsymFormer's attention over 4,800 tokens at 1/8) the fused tokens attend to the tokens of both modalities.
A SegFormer-style all-MLP decoder reads the RGB 1/4 features and the fused 1/8, 1/16, 1/32 features and predicts
class logits at 1/4, resized bilinearly to H x W. H and W must be multiples of 32.

Variants (ablations, issue 6): "full"; "rgb" = the same network without the feature branch (gates and attention
act on the RGB stream alone); "features" = the same network without the RGB branch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..classes import class_names
from .blocks import ChannelSpatialGate, ConvBNReLU, CrossModalAttention, InvertedResidual, MLPDecoder, make_stage

NUM_CLASSES = len(class_names())
SIZE_MULTIPLE = 32
VARIANTS = ("full", "rgb", "features")
# Input normalisation of the rendered RGB (in [0, 1], black background): centred around mid-grey.
RGB_MEAN, RGB_STD = 0.5, 0.25


@dataclass
class VdviConfig:
    k: int = 16  # feature channels (ARCHITECTURE.md contract 1: 16 is the default design point)
    num_classes: int = NUM_CLASSES
    variant: str = "full"
    # (channels, blocks, expansion) per stage at 1/4, 1/8, 1/16, 1/32
    rgb_stages: list = field(default_factory=lambda: [[24, 2, 4], [40, 3, 4], [80, 3, 4], [160, 2, 4]])
    feature_stages: list = field(default_factory=lambda: [[16, 1, 2], [32, 1, 2], [48, 2, 2], [64, 2, 2]])
    rgb_stem: int = 16
    feature_stem: int = 16
    decoder_dim: int = 64
    attention_heads: int = 4

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"VdviConfig.variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.k < 1:
            raise ValueError(f"VdviConfig.k must be positive, got {self.k}")

    def to_json(self) -> dict:
        return asdict(self)


class StreamEncoder(nn.Module):
    """Stem (stride 2) + four stages of inverted residual blocks: features at 1/4, 1/8, 1/16, 1/32."""

    def __init__(self, cin: int, stem: int, stages: list):
        super().__init__()
        self.stem = nn.Sequential(ConvBNReLU(cin, stem, 3, 2), InvertedResidual(stem, stem, 1, 1))
        layers, c = [], stem
        for cout, blocks, expand in stages:
            layers.append(make_stage(c, cout, blocks, 2, expand))
            c = cout
        self.stages = nn.ModuleList(layers)
        self.channels = [s[0] for s in stages]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out


class Vdvi(nn.Module):
    def __init__(self, config: VdviConfig | None = None):
        super().__init__()
        self.config = config = config or VdviConfig()
        use_rgb, use_feat = config.variant in ("full", "rgb"), config.variant in ("full", "features")
        self.rgb_encoder = StreamEncoder(3, config.rgb_stem, config.rgb_stages) if use_rgb else None
        self.feature_encoder = StreamEncoder(config.k, config.feature_stem, config.feature_stages) if use_feat else None
        main = self.rgb_encoder if use_rgb else self.feature_encoder
        # the fused stream has the width of the main (RGB, or features-only) stream at each scale
        widths = [(self.rgb_encoder.channels[i] if use_rgb else 0) + (self.feature_encoder.channels[i] if use_feat else 0)
                  for i in range(4)]
        self.gates = nn.ModuleList([ChannelSpatialGate(widths[i], main.channels[i]) for i in (1, 2, 3)])
        c32 = main.channels[3]
        self.attention = CrossModalAttention(c32, self.rgb_encoder.channels[3] if use_rgb else c32,
                                             self.feature_encoder.channels[3] if use_feat else c32,
                                             heads=config.attention_heads)
        self.decoder = MLPDecoder(main.channels, config.decoder_dim, config.num_classes)

    @property
    def embedding_dim(self) -> int:
        return self.config.decoder_dim

    def forward_features(self, rgb: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The decoder's fused features at 1/4 resolution (B, decoder_dim, H/4, W/4): the centre loss's input."""
        streams = []
        if self.rgb_encoder is not None:
            streams.append(self.rgb_encoder((rgb - RGB_MEAN) / RGB_STD))
        if self.feature_encoder is not None:
            streams.append(self.feature_encoder(features))
        pyramid = [streams[0][0]]
        for i, gate in zip((1, 2, 3), self.gates):
            pyramid.append(gate(torch.cat([s[i] for s in streams], 1)))
        rgb32 = streams[0][3]
        feat32 = streams[-1][3]
        pyramid[3] = self.attention(pyramid[3], rgb32, feat32)
        return self.decoder.embed(pyramid)

    def logits_from_embedding(self, embedding: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(self.decoder.classify(embedding), size=size, mode="bilinear", align_corners=False)

    def forward(self, rgb: torch.Tensor, features: torch.Tensor, return_embedding: bool = False):
        """rgb (B, 3, H, W) in [0, 1]; features (B, K, H, W); H, W multiples of 32. Returns logits (B, C, H, W),
        and with return_embedding=True also the decoder's penultimate features (training; through DDP)."""
        check_inputs(rgb, features, self.config.k)
        embedding = self.forward_features(rgb, features)
        logits = self.logits_from_embedding(embedding, rgb.shape[2:])
        return (logits, embedding) if return_embedding else logits


def check_inputs(rgb: torch.Tensor, features: torch.Tensor, k: int) -> None:
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    if features.dim() != 4 or features.shape[1] != k:
        raise ValueError(f"features must be (B, K={k}, H, W), got {tuple(features.shape)}")
    if features.shape[0] != rgb.shape[0] or features.shape[2:] != rgb.shape[2:]:
        raise ValueError(f"rgb {tuple(rgb.shape)} and features {tuple(features.shape)} differ in batch or size")
    h, w = rgb.shape[2:]
    if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE:
        raise ValueError(f"H and W must be multiples of {SIZE_MULTIPLE}, got {h} x {w}")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_model(arch: str, k: int, variant: str = "full", num_classes: int = NUM_CLASSES) -> nn.Module:
    """The model for a training run: arch "vdvi" (with its variant) or "asymformer" (the B0_T baseline)."""
    if arch == "vdvi":
        return Vdvi(VdviConfig(k=k, num_classes=num_classes, variant=variant))
    if arch == "asymformer":
        if variant != "full":
            raise ValueError(f"--variant {variant}: the AsymFormer baseline has only the full variant")
        from .asymformer import AsymFormer, AsymFormerConfig

        return AsymFormer(AsymFormerConfig(k=k, num_classes=num_classes))
    raise ValueError(f"unknown arch {arch!r} (vdvi or asymformer)")
