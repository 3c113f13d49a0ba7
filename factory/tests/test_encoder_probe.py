"""The linear probe (rtgs2.encoder.probe): its per-Gaussian mIoU is computed right, it learns a separable toy
problem, unlabelled Gaussians are skipped, and the command runs end to end on a two-room SynthRooms layout."""
import json

import numpy as np
import pytest
import torch

from rtgs2.classes import NONE
from rtgs2.encoder.model import GaussianEncoder
from rtgs2.encoder.probe import encode_channels, fit_linear_probe, main, probe, standardise
from rtgs2.encoder.train import CONFIGS, synthetic_room
from rtgs2.ply import write_ply


def blobs(rng, n_per_class, centres, spread=0.3):
    x = np.concatenate([c + spread * rng.standard_normal((n_per_class, len(c))) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(len(centres)), n_per_class).astype(np.uint8)
    return x, y


def test_separable_toy_problem_is_learned_exactly():
    rng = np.random.default_rng(1)
    centres = [np.array(v, dtype=np.float32) for v in ([3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0])]
    train_x, train_y = blobs(rng, 400, centres)
    test_x, test_y = blobs(rng, 300, centres)
    result = probe(train_x, train_y, test_x, test_y)
    assert result.miou == pytest.approx(1.0)
    assert result.oacc == pytest.approx(1.0)
    assert result.classes_counted == [0, 1, 2]
    assert result.gaussians_scored == 900


def test_probe_is_scale_invariant_through_standardisation():
    rng = np.random.default_rng(2)
    centres = [np.array(v, dtype=np.float32) for v in ([1, 0], [0, 1])]
    train_x, train_y = blobs(rng, 300, centres, spread=0.2)
    test_x, test_y = blobs(rng, 300, centres, spread=0.2)
    plain = probe(train_x, train_y, test_x, test_y)
    scaled = probe(train_x * 1e4 + 7, train_y, test_x * 1e4 + 7, test_y)
    assert plain.miou > 0.95
    assert scaled.miou == pytest.approx(plain.miou, abs=0.01)


def test_uninformative_inputs_give_the_majority_class_and_its_exact_miou():
    # constant inputs: the probe can only learn the train prior, so it predicts class 4 (60 % of train) everywhere.
    # Test ground truth: 60 Gaussians of class 4, 40 of class 9, 25 unlabelled (skipped). IoU_4 = 60 / 100,
    # IoU_9 = 0 / 40 -> mIoU = 0.3, oAcc = 0.6, mAcc = (1 + 0) / 2.
    train_x = np.ones((100, 3), np.float32)
    train_y = np.array([4] * 60 + [9] * 40, np.uint8)
    test_x = np.ones((125, 3), np.float32)
    test_y = np.array([4] * 60 + [9] * 40 + [NONE] * 25, np.uint8)
    result = probe(train_x, train_y, test_x, test_y)
    assert result.miou == pytest.approx(0.3)
    assert result.oacc == pytest.approx(0.6)
    assert result.macc == pytest.approx(0.5)
    assert result.per_class_iou[4] == pytest.approx(0.6)
    assert result.per_class_iou[9] == pytest.approx(0.0)
    assert result.per_class_iou[0] is None  # absent from ground truth and prediction
    assert result.gaussians_scored == 100


def test_unlabelled_train_gaussians_are_not_fitted_and_bad_inputs_are_refused():
    rng = np.random.default_rng(3)
    centres = [np.array(v, dtype=np.float32) for v in ([2, 0], [0, 2])]
    x, y = blobs(rng, 200, centres)
    noisy_y = y.copy()
    noisy_y[::5] = NONE  # would be class 255 if it leaked into the fit
    result = probe(x, noisy_y, x, y)
    assert result.gaussians_fitted == int((noisy_y != NONE).sum())
    assert result.miou > 0.95
    with pytest.raises(ValueError, match="no labelled"):
        probe(x, np.full(len(x), NONE, np.uint8), x, y)
    with pytest.raises(ValueError, match="labels must lie"):
        fit_linear_probe(x, np.full(len(x), 30))


def test_standardise_uses_train_statistics():
    train = np.array([[0.0, 5.0], [2.0, 5.0]], np.float32)
    test = np.array([[4.0, 6.0]], np.float32)
    a, b = standardise(train, test)
    np.testing.assert_allclose(a, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(b, [[3, 1]])  # constant train column: std 1, shifted by its mean


def test_command_end_to_end_on_a_two_room_layout(tmp_path):
    torch.manual_seed(0)
    config = CONFIGS["tiny"]
    model = GaussianEncoder(config)
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"model": model.state_dict(), "config": config.to_json()}, checkpoint)
    for split, seed in (("train", 11), ("test", 12)):
        room = tmp_path / "bench" / split / "room-00000"
        room.mkdir(parents=True)
        write_ply(room / "scene.ply", synthetic_room(seed, gaussians_per_m2=60.0))
        (room / "complete.json").write_text("{}")
    out = tmp_path / "probe.json"
    assert main(["--data", str(tmp_path / "bench"), "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for name in ("features", "raw"):
        assert 0.0 <= report[name]["miou"] <= 1.0
        assert report[name]["gaussians_scored"] > 0
    assert report["miou_gain_points"] == pytest.approx(100 * (report["features"]["miou"] - report["raw"]["miou"]))
    # the room's walls/floor/ceiling are separable by height and orientation even from the raw channels
    assert report["raw"]["miou"] > 0.3
    channels = synthetic_room(12, gaussians_per_m2=60.0).input_channels()
    feats = encode_channels(model.eval(), channels)
    assert feats.shape == (len(channels), config.out_dim)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-4)
