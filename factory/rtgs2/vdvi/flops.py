"""FLOPs and parameters of the fusion models at a given input size.

    python -m rtgs2.vdvi.flops [--size 640x480] [--k 16] [--markdown]

Counted with torch.utils.flop_counter.FlopCounterMode, which counts every matmul/conv/attention op of the forward
pass (2 FLOPs per multiply-accumulate); elementwise ops, norms and resizes are not counted (the usual convention of
fvcore/thop, whose "FLOPs" are multiply-accumulates). Both figures are reported: GMACs = FLOPs / 2. The 4 GFLOPs
design point of VDVI is checked against the stricter count (FLOPs = 2 x MACs); with the pretrained MobileNetV2 RGB
encoder (issue 14) the budget is 5 GFLOPs.
"""
from __future__ import annotations

import argparse
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

from .model import VARIANTS, build_model, parameter_count

VDVI_MAX_GFLOPS = 4.0
VDVI_MAX_PARAMS = 5_000_000
VDVI_PRETRAINED_MAX_GFLOPS = 5.0  # issue 14: the browser budget with a pretrained RGB backbone


def count_flops(model: torch.nn.Module, k: int, width: int = 640, height: int = 480) -> int:
    """Forward FLOPs (2 x multiply-accumulates) of one [1,3,H,W] + [1,K,H,W] input, in eval mode."""
    was_training = model.training
    model.eval()
    rgb, features = torch.rand(1, 3, height, width), torch.rand(1, k, height, width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(rgb, features)
    model.train(was_training)
    return int(counter.get_total_flops())


def table(k: int, width: int, height: int) -> list[dict]:
    rows = []
    models = [("vdvi", v, "scratch") for v in VARIANTS] + [("vdvi", v, "mobilenetv2") for v in ("full", "rgb")] + \
        [("asymformer", "full", "scratch")]
    for arch, variant, rgb_encoder in models:
        torch.manual_seed(0)
        model = build_model(arch, k, variant, rgb_encoder=rgb_encoder)
        flops = count_flops(model, k, width, height)
        rows.append({"arch": arch, "variant": variant, "rgb_encoder": rgb_encoder if arch == "vdvi" else "-",
                     "params": parameter_count(model), "gflops": flops / 1e9, "gmacs": flops / 2e9})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtgs2.vdvi.flops", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="640x480", help="WxH, multiples of 32")
    parser.add_argument("--k", type=int, default=16)
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size {args.size!r}: expected WxH, e.g. 640x480")
    torch.set_num_threads(1)
    print(f"At {width}x{height}, K = {args.k} (`python -m rtgs2.vdvi.flops --size {width}x{height} --k {args.k}`):\n")
    print("| model | variant | RGB encoder | parameters (M) | GFLOPs (2 x MAC) | GMACs |")
    print("|---|---|---|---|---|---|")
    for r in table(args.k, width, height):
        print(f"| {r['arch']} | {r['variant']} | {r['rgb_encoder']} | {r['params'] / 1e6:.2f} | {r['gflops']:.2f} | "
              f"{r['gmacs']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
