"""A MobileNetV2 (width 1.0) feature extractor laid out exactly as Keras' `MobileNetV2`, so that weights trained
there load one to one (rtgs2.vdvi.pretrained converts them; docs/VDVI.md "Real-image prior").

Keras' layout, which the port keeps (any difference breaks parity with the original):
- ReLU6 after every expansion and depthwise conv, none after the projection; BatchNorm epsilon 1e-3.
- stride-2 convs pad zero rows/columns on the bottom/right only (Keras `correct_pad` for even sizes: ((0, 1), (0, 1))),
  then convolve without padding. Every stride-2 input is even here because H and W are multiples of 32.
- block 0 ("expanded_conv") has no expansion; blocks 1-16 expand 6x.
The classifier and the last 1x1 conv (320 -> 1280 channels, `Conv_1`) are dropped: VDVI reads the taps at 1/4 (24
channels, after block 2), 1/8 (32, block 5), 1/16 (96, block 12) and 1/32 (320, block 16).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KERAS_BN_EPSILON = 1e-3
# (expansion, output channels, stride) of Keras' blocks 0..16 (MobileNetV2 paper, table 2, width 1.0)
BLOCKS = [(1, 16, 1)] + [(6, 24, 2), (6, 24, 1)] + [(6, 32, 2)] + [(6, 32, 1)] * 2 + [(6, 64, 2)] + \
    [(6, 64, 1)] * 3 + [(6, 96, 1)] * 3 + [(6, 160, 2)] + [(6, 160, 1)] * 2 + [(6, 320, 1)]
STEM_CHANNELS = 32
# index of the block whose output is the tap at 1/4, 1/8, 1/16, 1/32
TAP_BLOCKS = (2, 5, 12, 16)
TAP_CHANNELS = [BLOCKS[i][1] for i in TAP_BLOCKS]  # [24, 32, 96, 320]


def keras_block_name(index: int) -> str:
    return "expanded_conv" if index == 0 else f"block_{index}"


class KerasConvBN(nn.Module):
    """Conv (no bias) + BatchNorm (eps 1e-3) + optional ReLU6; stride 2 pads bottom/right only, as Keras does."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, depthwise: bool = False, relu6: bool = True):
        super().__init__()
        self.stride = stride
        self.same_padding = kernel // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(cin, cout, kernel, stride, self.same_padding, groups=cin if depthwise else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=KERAS_BN_EPSILON)
        self.relu6 = relu6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = F.pad(x, (0, 1, 0, 1))
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.relu6 else x


class KerasInvertedResidual(nn.Module):
    def __init__(self, cin: int, expand: int, cout: int, stride: int):
        super().__init__()
        hidden = cin * expand
        self.expand = KerasConvBN(cin, hidden, 1) if expand != 1 else None
        self.depthwise = KerasConvBN(hidden, hidden, 3, stride, depthwise=True)
        self.project = KerasConvBN(hidden, cout, 1, relu6=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class MobileNetV2Features(nn.Module):
    """Input: already normalised (B, 3, H, W), H and W multiples of 32. Output: the four taps (1/4 ... 1/32)."""

    channels = TAP_CHANNELS

    def __init__(self):
        super().__init__()
        self.stem = KerasConvBN(3, STEM_CHANNELS, 3, 2)
        blocks, c = [], STEM_CHANNELS
        for expand, cout, stride in BLOCKS:
            blocks.append(KerasInvertedResidual(c, expand, cout, stride))
            c = cout
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in TAP_BLOCKS:
                taps.append(x)
        return taps


def keras_weight_names() -> dict[str, tuple[str, str]]:
    """PyTorch state-dict key -> (Keras weight name, kind), kind one of conv, depthwise, bn (its own key)."""
    names: dict[str, tuple[str, str]] = {}

    def conv_bn(prefix: str, conv: str, bn: str, depthwise: bool = False) -> None:
        names[f"{prefix}.conv.weight"] = (f"{conv}/depthwise_kernel" if depthwise else f"{conv}/kernel",
                                          "depthwise" if depthwise else "conv")
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_variance")):
            names[f"{prefix}.bn.{ours}"] = (f"{bn}/{theirs}", "bn")

    conv_bn("stem", "Conv1", "bn_Conv1")
    for i, (expand, _, _) in enumerate(BLOCKS):
        k = keras_block_name(i)
        if expand != 1:
            conv_bn(f"blocks.{i}.expand", f"{k}_expand", f"{k}_expand_BN")
        conv_bn(f"blocks.{i}.depthwise", f"{k}_depthwise", f"{k}_depthwise_BN", depthwise=True)
        conv_bn(f"blocks.{i}.project", f"{k}_project", f"{k}_project_BN")
    return names
