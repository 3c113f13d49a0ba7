"""VDVI network: output shapes for several H and W, input checks, variants, and the design budget."""
import pytest
import torch

from rtgs2.vdvi.flops import VDVI_MAX_GFLOPS, VDVI_MAX_PARAMS, count_flops
from rtgs2.vdvi.model import NUM_CLASSES, VARIANTS, Vdvi, VdviConfig, parameter_count


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("height,width", [(32, 32), (64, 96), (96, 64), (128, 160)])
def test_output_shapes(variant, height, width):
    torch.manual_seed(0)
    model = Vdvi(VdviConfig(k=8, variant=variant)).eval()
    with torch.no_grad():
        logits, embedding = model(torch.rand(2, 3, height, width), torch.rand(2, 8, height, width),
                                  return_embedding=True)
    assert logits.shape == (2, NUM_CLASSES, height, width)
    assert embedding.shape == (2, model.embedding_dim, height // 4, width // 4)
    assert torch.isfinite(logits).all()


def test_bad_inputs_are_refused_with_the_problem_named():
    model = Vdvi(VdviConfig(k=8)).eval()
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.rand(1, 3, 60, 80), torch.rand(1, 8, 60, 80))
    with pytest.raises(ValueError, match="K=8"):
        model(torch.rand(1, 3, 64, 64), torch.rand(1, 4, 64, 64))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(1, 4, 64, 64), torch.rand(1, 8, 64, 64))
    with pytest.raises(ValueError, match="variant"):
        VdviConfig(variant="depth")


def test_variants_read_only_their_inputs():
    torch.manual_seed(0)
    rgb, feats = torch.rand(1, 3, 64, 64), torch.rand(1, 8, 64, 64)
    with torch.no_grad():
        rgb_only = Vdvi(VdviConfig(k=8, variant="rgb")).eval()
        assert torch.equal(rgb_only(rgb, feats), rgb_only(rgb, torch.rand_like(feats)))
        assert not torch.equal(rgb_only(rgb, feats), rgb_only(torch.rand_like(rgb), feats))
        feats_only = Vdvi(VdviConfig(k=8, variant="features")).eval()
        assert torch.equal(feats_only(rgb, feats), feats_only(torch.rand_like(rgb), feats))
        full = Vdvi(VdviConfig(k=8)).eval()
        assert not torch.equal(full(rgb, feats), full(rgb, torch.rand_like(feats)))
        assert not torch.equal(full(rgb, feats), full(torch.rand_like(rgb), feats))
    assert rgb_only.feature_encoder is None and feats_only.rgb_encoder is None


def test_design_budget_at_640x480():
    """Issue 6: at most 4 GFLOPs (counted as 2 x multiply-accumulates) at 640x480 and at most 5 M parameters."""
    model = Vdvi(VdviConfig(k=16))
    params = parameter_count(model)
    flops = count_flops(model, 16, 640, 480)
    assert params <= VDVI_MAX_PARAMS, params
    assert flops <= VDVI_MAX_GFLOPS * 1e9, flops
    # the counter does count: 320x256 (0.27 of the pixels) costs about 0.27 of the FLOPs
    smaller = count_flops(model, 16, 320, 256)
    assert 0.22 * flops < smaller < 0.32 * flops


def test_pretrained_rgb_encoder_taps_and_budget():
    """Issue 14: the MobileNetV2 RGB encoder feeds the same fusion at 1/4..1/32, reads rgb in [0, 1] as is, and
    the full and RGB-only models stay within 5 GFLOPs at 640x480 for K = 16 and K = 32."""
    from rtgs2.vdvi.flops import VDVI_PRETRAINED_MAX_GFLOPS
    from rtgs2.vdvi.model import build_model

    torch.manual_seed(0)
    model = build_model("vdvi", 8, "full", rgb_encoder="mobilenetv2").eval()
    assert model.rgb_encoder.channels == [24, 32, 96, 128]
    rgb, feats = torch.rand(1, 3, 64, 96), torch.rand(1, 8, 64, 96)
    with torch.no_grad():
        taps = model.rgb_encoder(rgb)
        assert [tuple(t.shape[1:]) for t in taps] == [(24, 16, 24), (32, 8, 12), (96, 4, 6), (128, 2, 3)]
        # no normalisation in front of the pretrained backbone: its first conv sees rgb itself
        seen = []
        hook = model.rgb_encoder.backbone.stem.conv.register_forward_hook(lambda m, i, o: seen.append(i[0]))
        model(rgb, feats)
        hook.remove()
        assert torch.equal(seen[0], torch.nn.functional.pad(rgb, (0, 1, 0, 1)))
    assert len(model.rgb_backbone_parameters()) == len(list(model.rgb_encoder.backbone.parameters())) > 0
    for k in (16, 32):
        for variant in ("full", "rgb"):
            flops = count_flops(build_model("vdvi", k, variant, rgb_encoder="mobilenetv2"), k, 640, 480)
            assert flops <= VDVI_PRETRAINED_MAX_GFLOPS * 1e9, (k, variant, flops)


def test_pretrained_weights_load_only_into_a_pretrained_rgb_encoder(tmp_path):
    from rtgs2.vdvi.mobilenetv2 import MobileNetV2Features
    from rtgs2.vdvi.model import build_model
    from rtgs2.vdvi.pretrained import FORMAT

    torch.manual_seed(3)
    weights = MobileNetV2Features().state_dict()
    path = tmp_path / "w.pt"
    torch.save({"format": FORMAT, "state_dict": weights, "source": {"package": "p"}}, path)
    model = build_model("vdvi", 8, "rgb", rgb_encoder="mobilenetv2")
    assert model.load_rgb_weights(path) == {"package": "p"}
    assert all(torch.equal(model.rgb_encoder.backbone.state_dict()[k], v) for k, v in weights.items())
    with pytest.raises(ValueError, match="rgb_encoder 'mobilenetv2'"):
        build_model("vdvi", 8, "full").load_rgb_weights(path)
    with pytest.raises(ValueError, match="rgb_encoder"):
        VdviConfig(rgb_encoder="resnet")
