"""rtgs2.vdvi.interpolate: the mixed checkpoint holds (1 - alpha) * start + alpha * end, loads where checkpoints load,
and refuses pairs that are not one fine-tuning lineage."""
import pytest
import torch

from rtgs2.vdvi.evaluate import load_model
from rtgs2.vdvi.interpolate import interpolate, main
from rtgs2.vdvi.model import build_model

ARGS = {"arch": "vdvi", "k": 8, "variant": "full", "num_classes": 21, "rgb_encoder": "scratch"}


def checkpoint(seed: int, model_args=ARGS, folded=True, scramble=True) -> dict:
    torch.manual_seed(seed)
    model = build_model(**model_args)
    for p in model.parameters() if scramble else []:
        p.data.normal_()
    return {"model": model.state_dict(), "model_args": dict(model_args), "batchnorm_folded": folded}


def test_each_float_weight_is_the_weighted_mean_and_the_ends_are_exact():
    start, end = checkpoint(0), checkpoint(1)
    mixed = interpolate(start, end, 0.3)["model"]
    floats = [name for name, value in end["model"].items() if value.is_floating_point()]
    assert len(floats) > 10
    for name in floats:
        expected = 0.7 * start["model"][name] + 0.3 * end["model"][name]
        torch.testing.assert_close(mixed[name], expected, rtol=1e-5, atol=1e-6)
    for name, value in end["model"].items():
        if not value.is_floating_point():  # BatchNorm batch counters: the end's
            assert torch.equal(mixed[name], value)
    for alpha, source in ((0.0, start), (1.0, end)):
        for name, value in interpolate(start, end, alpha)["model"].items():
            assert torch.equal(value, source["model"][name]), (alpha, name)


def test_the_mixed_model_lies_between_the_two_on_an_input():
    """Outputs of a mix are not a mix of outputs, but the mid point of two nearby models computes something close to
    the mean of their outputs and far from either of the two unless they agree."""
    start = checkpoint(0, scramble=False)
    end = {**start, "model": {k: v + 1e-3 * torch.randn_like(v) if v.is_floating_point() else v
                              for k, v in start["model"].items()}}
    models = []
    for state in (start, end, interpolate(start, end, 0.5)):
        model = build_model(**ARGS).eval()
        model.load_state_dict(state["model"])
        models.append(model)
    torch.manual_seed(2)
    rgb, features = torch.rand(1, 3, 32, 64), torch.rand(1, 8, 32, 64)
    with torch.no_grad():
        a, b, mid = (m(rgb, features) for m in models)
    assert (a - b).abs().max() > 1e-4
    assert (mid - (a + b) / 2).abs().max() < 0.1 * (a - b).abs().max()


@pytest.mark.parametrize("change, message", [
    (lambda s: {**s, "model_args": {**ARGS, "k": 16}}, "models differ"),
    (lambda s: {**s, "batchnorm_folded": False}, "folded"),
    (lambda s: {**s, "model": {k: v for i, (k, v) in enumerate(s["model"].items()) if i}}, "by name"),
    (lambda s: {**s, "model": {k: (v[:1] if i == 0 else v) for i, (k, v) in enumerate(s["model"].items())}}, "shape"),
])
def test_pairs_of_different_lineage_are_refused(change, message):
    start = checkpoint(0)
    with pytest.raises(ValueError, match=message):
        interpolate(start, change(checkpoint(1)), 0.5)


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_alpha_outside_zero_one_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        interpolate(checkpoint(0), checkpoint(1), alpha)


def test_the_command_writes_a_checkpoint_that_evaluate_loads(tmp_path, capsys):
    torch.save(checkpoint(0), tmp_path / "a.pt")
    torch.save(checkpoint(1), tmp_path / "b.pt")
    out = tmp_path / "mix" / "best.pt"
    assert main(["--start", str(tmp_path / "a.pt"), "--end", str(tmp_path / "b.pt"), "--alpha", "0.25",
                 "--out", str(out)]) == 0
    model, state = load_model(out)
    assert state["batchnorm_folded"] is True
    assert state["interpolated"] == {"alpha": 0.25, "start": str(tmp_path / "a.pt"), "end": str(tmp_path / "b.pt")}
    first = next(k for k, v in state["model"].items() if v.is_floating_point())
    torch.testing.assert_close(model.state_dict()[first],
                               0.75 * checkpoint(0)["model"][first] + 0.25 * checkpoint(1)["model"][first])
    assert main(["--start", str(tmp_path / "missing.pt"), "--end", str(tmp_path / "b.pt"), "--alpha", "0.5",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "broken.pt").write_bytes(b"not a torch file")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    for bad, message in (("broken.pt", "not a readable checkpoint"), ("other.pt", "not a VDVI training checkpoint")):
        assert main(["--start", str(tmp_path / "a.pt"), "--end", str(tmp_path / bad), "--alpha", "0.5",
                     "--out", str(tmp_path / "x.pt")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_an_exported_mix_names_its_sources(tmp_path, capsys):
    import json

    import onnx

    from rtgs2.vdvi import export

    start = checkpoint(0, scramble=False)
    torch.save(start, tmp_path / "a.pt")
    torch.save({**start, "step": 7}, tmp_path / "b.pt")
    assert main(["--start", str(tmp_path / "a.pt"), "--end", str(tmp_path / "b.pt"), "--alpha", "0.5",
                 "--out", str(tmp_path / "mix.pt")]) == 0
    assert export.main(["--checkpoint", str(tmp_path / "mix.pt"), "--out", str(tmp_path / "mix.onnx")]) == 0
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "mix.onnx")).metadata_props}
    assert json.loads(meta["interpolated"]) == {"alpha": 0.5, "start": str(tmp_path / "a.pt"),
                                                "end": str(tmp_path / "b.pt")}
