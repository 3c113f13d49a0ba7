import json

import numpy as np
import pytest

from rtgs2.encoder import train, validate
from test_encoder_train import _exported_tiny, _fake_benchmark


def test_the_command_gives_the_training_logs_validation_loss_for_a_checkpoint_and_its_export(tmp_path, capsys):
    """The val_loss a run logs is what the command prints for its checkpoint (same fixed pairs), and an exported
    file scores what its weights score; two files of one config are compared on the same samples."""
    from rtgs2.encoder.export import export_onnx, load_checkpoint

    _fake_benchmark(tmp_path / "b", np.random.default_rng(0))
    run = tmp_path / "run"
    assert train.main(["--data", str(tmp_path / "b"), "--config", "tiny", "--steps", "2", "--val-every", "2",
                       "--val-pairs", "2", "--no-framed", "--variety", "--run", str(run)]) == 0
    logged = [json.loads(l) for l in (run / "log.jsonl").read_text().splitlines() if "val_loss" in l][-1]
    model = load_checkpoint(run / "best.pt")
    export_onnx(model, tmp_path / "trained.onnx", _scene_channels())
    _exported_tiny(tmp_path / "other.onnx")

    assert validate.main(["--data", str(tmp_path / "b"), "--model", str(run / "best.pt"), "--model",
                          str(tmp_path / "trained.onnx"), "--model", str(tmp_path / "other.onnx"),
                          "--val-pairs", "2", "--no-framed"]) == 0
    rows = [r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "model" in r]
    variety = {r["model"]: r for r in rows if r["pairs"] == "variety"}
    plain = {r["model"]: r for r in rows if r["pairs"] == "plain"}
    assert len(variety) == len(plain) == 3 and all(r["rooms"] == 1 and r["samples"] == 2 for r in rows)
    assert variety[str(run / "best.pt")]["val_loss"] == pytest.approx(logged["val_loss"], rel=1e-5)
    assert variety[str(tmp_path / "trained.onnx")]["val_loss"] == pytest.approx(logged["val_loss"], rel=1e-5)
    assert variety[str(tmp_path / "other.onnx")]["val_loss"] != pytest.approx(logged["val_loss"], rel=1e-3)
    assert plain[str(run / "best.pt")]["val_loss"] != pytest.approx(logged["val_loss"], rel=1e-3)



def test_encoders_of_different_configs_or_missing_files_are_refused(tmp_path):
    _fake_benchmark(tmp_path / "b", np.random.default_rng(0))
    _exported_tiny(tmp_path / "tiny.onnx")
    run = tmp_path / "run"
    assert train.main(["--data", str(tmp_path / "b"), "--config", "tiny", "--k", "8", "--steps", "1",
                       "--val-every", "1", "--val-pairs", "1", "--no-framed", "--run", str(run)]) == 0
    with pytest.raises(SystemExit, match="different configs"):
        validate.main(["--data", str(tmp_path / "b"), "--model", str(tmp_path / "tiny.onnx"), "--model",
                       str(run / "best.pt"), "--no-framed"])
    with pytest.raises(SystemExit):
        validate.main(["--data", str(tmp_path / "b"), "--model", str(tmp_path / "missing.onnx")])
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(SystemExit, match="--model .*junk.onnx: not an encoder"):
        validate.main(["--data", str(tmp_path / "b"), "--model", str(tmp_path / "junk.onnx"), "--no-framed"])


def _scene_channels():
    from rtgs2.encoder.train import synthetic_room
    return synthetic_room(1, gaussians_per_m2=200.0).input_channels()
