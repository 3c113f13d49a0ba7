"""The AsymFormer B0_T baseline against its published size (METHOD.md: 33.0 M parameters, 36 GFLOPs at 640x480),
and VDVI's cost relative to it (issue 6: at least 8x fewer FLOPs)."""
import torch

from rtgs2.vdvi.asymformer import AsymFormer, AsymFormerConfig
from rtgs2.vdvi.flops import count_flops
from rtgs2.vdvi.model import NUM_CLASSES, Vdvi, VdviConfig, parameter_count

PUBLISHED_PARAMS = 33.0e6  # RT-GS2 paper / METHOD.md
PUBLISHED_GFLOPS = 36.0  # RT-GS2 paper / METHOD.md; papers of this family report multiply-accumulates as "FLOPs"


def test_asymformer_size_near_the_published_figures():
    torch.set_num_threads(1)
    model = AsymFormer(AsymFormerConfig(k=32))  # the paper splats 32 channels
    params = parameter_count(model)
    # backbones as published: ConvNeXt-T without its classifier head 27.8 M, MiT-B0 encoder 3.3 M
    assert abs(parameter_count(model.rgb_encoder) - 27.8e6) < 0.1e6
    assert abs(parameter_count(model.feature_encoder) - 3.3e6) < 0.1e6
    assert abs(params - PUBLISHED_PARAMS) / PUBLISHED_PARAMS < 0.05, params
    gmacs = count_flops(model, 32, 640, 480) / 2e9
    # measured 41.4 GMACs: 15 % above the published 36 (docs/VDVI.md explains the difference)
    assert abs(gmacs - PUBLISHED_GFLOPS) / PUBLISHED_GFLOPS < 0.2, gmacs
    vdvi = count_flops(Vdvi(VdviConfig(k=32)), 32, 640, 480) / 2e9
    assert gmacs / vdvi >= 8.0, (gmacs, vdvi)
    with torch.no_grad():
        out = model.eval()(torch.rand(1, 3, 64, 96), torch.rand(1, 32, 64, 96))
    assert out.shape == (1, NUM_CLASSES, 64, 96)
