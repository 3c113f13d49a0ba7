"""rtgs2.encoder.arch_bench: every variant builds, exports and runs in onnxruntime; the variants change what they
say (coarser voxels, fewer parameters) and the rest stays the shipped configuration."""
import dataclasses

import numpy as np
import pytest

from rtgs2.encoder.arch_bench import SHIPPED, VARIANTS, scene_channels, time_variant


def test_variants_differ_from_the_shipped_encoder_only_where_they_say():
    for name, (config, _) in VARIANTS.items():
        config.check()
        changed = {f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(SHIPPED, f.name)}
        if name == "shipped":
            assert changed == set()
        else:
            assert changed, name
            assert changed <= {"channels", "heads", "mlp_ratio", "encoder_blocks", "decoder_blocks", "serialization"}, (name, changed)
    assert VARIANTS["grid10"][0].serialization.grid_size == 0.10
    assert VARIANTS["grid10"][0].serialization.patch_size == SHIPPED.serialization.patch_size
    assert VARIANTS["l0-free"][0].encoder_blocks[0] == 0 and VARIANTS["l0-free"][0].decoder_blocks[-1] == 0


@pytest.mark.parametrize("name", ["shipped", "grid10", "narrow+no-l0-decoder"])
def test_time_variant_runs_the_exported_file(name, tmp_path):
    from rtgs2.synthrooms.generator import generate_room
    from rtgs2.ply import write_ply

    path = tmp_path / "room.ply"
    write_ply(path, generate_room(6000).gaussians.subset(np.arange(3000)))
    channels = scene_channels(path, 2)
    assert len(channels) == 6000
    assert channels[3000:, 0].min() > channels[:3000, 0].max()  # the copy sits beside the room
    r = time_variant(VARIANTS[name][0], channels, threads=1, repeats=1)
    assert r["first_us"] > 0 and r["best_us"] > 0 and r["bytes"] > 0
    shipped_voxels = time_variant(SHIPPED, channels, threads=1, repeats=1)["voxels_l0"]
    if name == "grid10":
        assert r["voxels_l0"] < 0.75 * shipped_voxels  # twice the voxel size: fewer voxels (0.57 here, sparse points)
    if name == "narrow+no-l0-decoder":
        assert r["parameters"] < 0.5 * 844_528


def test_int8_times_the_quantized_file(tmp_path):
    from rtgs2.synthrooms.generator import generate_room
    from rtgs2.ply import write_ply

    path = tmp_path / "room.ply"
    write_ply(path, generate_room(6000).gaussians.subset(np.arange(3000)))
    channels = scene_channels(path, 1)
    plain = time_variant(SHIPPED, channels, threads=1, repeats=1)
    int8 = time_variant(SHIPPED, channels, threads=1, repeats=1, int8=True)
    assert int8["bytes"] < 0.5 * plain["bytes"]  # the MatMul/Gemm weights went from 4 bytes to 1
    assert int8["parameters"] == plain["parameters"] and int8["best_us"] > 0
    both = time_variant(SHIPPED, channels, threads=2, repeats=1, concurrent=2)
    assert both["bytes"] == plain["bytes"] and both["best_us"] > 0


def test_int8_fidelity_compares_an_exported_encoder_with_its_quantized_self(tmp_path, monkeypatch):
    from rtgs2.encoder import arch_bench, distill, train
    from rtgs2.encoder.export import export_onnx

    torch_model = train.GaussianEncoder(train.CONFIGS["tiny"]).eval()
    path = tmp_path / "tiny.onnx"
    export_onnx(torch_model, path, train.synthetic_room(1, gaussians_per_m2=200.0).input_channels())
    small = distill.room_input
    monkeypatch.setattr(distill, "room_input", lambda seed, realistic: small(seed, realistic, 3000))
    (r,) = arch_bench.int8_fidelity(path, [(2003, True)])
    assert 0 < r["gaussians"] < 20_000 and r["realistic"]  # capped (the realistic generator adds floaters after the cap)
    assert 0.9 < r["min"] <= r["p1"] <= r["mean"] < 1.0  # close, not identical: the weights are int8
