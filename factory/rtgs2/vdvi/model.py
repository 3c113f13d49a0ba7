"""The VDVI fusion network (ARCHITECTURE.md contract 3; docs/VDVI.md).

Two encoders in parallel: a MobileNetV2-style CNN on the rendered RGB and a lighter one on the splatted features
(K channels, not divided by alpha). At 1/8, 1/16 and 1/32 the two streams are concatenated and gated (channel +
spatial gate, as AsymFormer's LAFS does) into a fused stream; at 1/32 only (300 tokens at 640x480, against
AsymFormer's attention over 4,800 tokens at 1/8) the fused tokens attend to the tokens of both modalities.
A SegFormer-style all-MLP decoder reads the RGB 1/4 features and the fused 1/8, 1/16, 1/32 features and predicts
class logits at 1/4, resized bilinearly to H x W. H and W must be multiples of 32.

Variants (ablations, issue 6): "full"; "rgb" = the same network without the feature branch (gates and attention
act on the RGB stream alone); "features" = the same network without the RGB branch. The "rgb" variant is also the
runtime's fallback while a scene's features are not ready (issue 14).

RGB encoders (issue 14): "scratch" = the small MobileNetV2-style CNN above, trained from random weights;
"mobilenetv2" = Keras' MobileNetV2 (width 1.0) whose weights come pretrained on real photographs
(rtgs2.vdvi.pretrained), tapped after blocks 2, 5, 12 and 16 (24, 32, 96, 320 channels), its classifier and last
1x1 conv dropped. It takes the rendered RGB in [0, 1] as is: that is the range its BatchNorm statistics were
computed under (nsfwjs feeds image / 255; docs/VDVI.md "Real-image prior" has the measurement).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..classes import class_names
from .blocks import ChannelSpatialGate, ConvBNReLU, CrossModalAttention, InvertedResidual, MLPDecoder, make_stage
from .mobilenetv2 import MobileNetV2Features

NUM_CLASSES = len(class_names())
SIZE_MULTIPLE = 32
VARIANTS = ("full", "rgb", "features")
RGB_ENCODERS = ("scratch", "mobilenetv2")
# The configuration with the pretrained encoder, within issue 14's 5 GFLOPs at 640x480 for K = 16 and K = 32
# (python -m rtgs2.vdvi.flops --k 32): a decoder of width 64 would put the full model at 5.29 GFLOPs at K = 16
# with the scratch feature stem, at 5.0 with the separable one.
PRETRAINED_CONFIG = {"decoder_dim": 48, "feature_separable_stem": True}
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
    rgb_encoder: str = "scratch"  # RGB_ENCODERS; "mobilenetv2" ignores rgb_stages and rgb_stem
    # "mobilenetv2": width of its 1/32 tap after a 1x1 conv (320 channels there would make the attention at 1/32
    # cost 0.9 GFLOPs at 640x480 and the model exceed the 5 GFLOPs budget)
    pretrained_width32: int = 128
    # the feature stream's stem as a depthwise 3x3 (stride 2) + pointwise conv instead of a full 3x3 conv: at K = 32
    # the full one alone costs 0.71 GFLOPs at 640x480 (the separable one 0.12); set with the pretrained encoder
    feature_separable_stem: bool = False

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"VdviConfig.variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.rgb_encoder not in RGB_ENCODERS:
            raise ValueError(f"VdviConfig.rgb_encoder must be one of {RGB_ENCODERS}, got {self.rgb_encoder!r}")
        if self.k < 1:
            raise ValueError(f"VdviConfig.k must be positive, got {self.k}")

    def to_json(self) -> dict:
        return asdict(self)


class StreamEncoder(nn.Module):
    """Stem (stride 2) + four stages of inverted residual blocks: features at 1/4, 1/8, 1/16, 1/32."""

    def __init__(self, cin: int, stem: int, stages: list, separable_stem: bool = False):
        super().__init__()
        first = nn.Sequential(ConvBNReLU(cin, cin, 3, 2, groups=cin), ConvBNReLU(cin, stem, 1)) if separable_stem \
            else ConvBNReLU(cin, stem, 3, 2)
        self.stem = nn.Sequential(first, InvertedResidual(stem, stem, 1, 1))
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


class PretrainedRgbEncoder(nn.Module):
    """MobileNetV2Features on the rendered RGB, in [0, 1] as its pretrained weights expect (no normalisation); its
    1/32 tap narrowed by a 1x1 conv + BN + ReLU (new weights) to `width32` channels."""

    def __init__(self, width32: int):
        super().__init__()
        self.backbone = MobileNetV2Features()
        self.narrow32 = ConvBNReLU(self.backbone.channels[3], width32, 1)
        self.channels = list(self.backbone.channels[:3]) + [width32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = self.backbone(x)
        return taps[:3] + [self.narrow32(taps[3])]


class Vdvi(nn.Module):
    def __init__(self, config: VdviConfig | None = None):
        super().__init__()
        self.config = config = config or VdviConfig()
        use_rgb, use_feat = config.variant in ("full", "rgb"), config.variant in ("full", "features")
        self.rgb_encoder = None
        if use_rgb:
            self.rgb_encoder = PretrainedRgbEncoder(config.pretrained_width32) if config.rgb_encoder == "mobilenetv2" else \
                StreamEncoder(3, config.rgb_stem, config.rgb_stages)
        self.feature_encoder = StreamEncoder(config.k, config.feature_stem, config.feature_stages,
                                             config.feature_separable_stem) if use_feat else None
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

    def load_rgb_weights(self, path) -> dict:
        """Loads pretrained weights (a file of `python3 -m rtgs2.vdvi.pretrained convert`) into the RGB encoder;
        returns the weights' source record."""
        from .pretrained import load_pretrained

        if not isinstance(self.rgb_encoder, PretrainedRgbEncoder):
            raise ValueError(f"pretrained RGB weights need rgb_encoder 'mobilenetv2' and an RGB branch (this model: "
                             f"rgb_encoder {self.config.rgb_encoder!r}, variant {self.config.variant!r})")
        state, source = load_pretrained(path)
        self.rgb_encoder.backbone.load_state_dict(state)
        return source

    def rgb_backbone_parameters(self) -> list[nn.Parameter]:
        """The pretrained RGB encoder's parameters (trained at a lower learning rate), empty for a scratch encoder."""
        return list(self.rgb_encoder.backbone.parameters()) if isinstance(self.rgb_encoder, PretrainedRgbEncoder) else []

    def forward_features(self, rgb: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The decoder's fused features at 1/4 resolution (B, decoder_dim, H/4, W/4): the centre loss's input."""
        streams = []
        if self.rgb_encoder is not None:
            pretrained = isinstance(self.rgb_encoder, PretrainedRgbEncoder)
            streams.append(self.rgb_encoder(rgb if pretrained else (rgb - RGB_MEAN) / RGB_STD))
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


def build_model(arch: str, k: int, variant: str = "full", num_classes: int = NUM_CLASSES,
                rgb_encoder: str = "scratch") -> nn.Module:
    """The model for a training run: arch "vdvi" (with its variant and RGB encoder) or "asymformer" (the B0_T
    baseline). Checkpoints made before issue 14 have no rgb_encoder in their model_args: "scratch"."""
    if arch == "vdvi":
        extra = PRETRAINED_CONFIG if rgb_encoder == "mobilenetv2" else {}
        return Vdvi(VdviConfig(k=k, num_classes=num_classes, variant=variant, rgb_encoder=rgb_encoder, **extra))
    if arch == "asymformer":
        if rgb_encoder != "scratch":
            raise ValueError(f"--rgb-encoder {rgb_encoder}: the AsymFormer baseline has its own encoders")
        if variant != "full":
            raise ValueError(f"--variant {variant}: the AsymFormer baseline has only the full variant")
        from .asymformer import AsymFormer, AsymFormerConfig

        return AsymFormer(AsymFormerConfig(k=k, num_classes=num_classes))
    raise ValueError(f"unknown arch {arch!r} (vdvi or asymformer)")
