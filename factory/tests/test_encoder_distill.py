"""rtgs2.encoder.distill: the student starts from every teacher tensor it shares, the cosine it reports is the real
one (1 for the teacher's own architecture, less for a student without some blocks), training raises it, and the
exported student gives onnxruntime the features PyTorch gives."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from rtgs2.encoder import distill, train
from rtgs2.encoder.export import export_onnx, load_checkpoint, parity


def _teacher(path=None):
    """A tiny encoder with every parameter moved off its initialisation (as a trained one is)."""
    torch.manual_seed(0)
    model = train.GaussianEncoder(train.CONFIGS["tiny"])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    if path is not None:
        export_onnx(model, path, train.synthetic_room(1, gaussians_per_m2=200.0).input_channels())
    return model


TINY_WITHOUT_L0_DECODER = dataclasses.replace(train.CONFIGS["tiny"], decoder_blocks=(1, 0))


def test_student_starts_from_every_tensor_it_shares_with_the_teacher():
    teacher = _teacher()
    student, copied, total = distill.student_from_teacher(teacher, TINY_WITHOUT_L0_DECODER)
    assert copied == total == len(student.state_dict()) < len(teacher.state_dict())
    for name, value in student.state_dict().items():
        assert torch.equal(value, teacher.state_dict()[name]), name
    wider = dataclasses.replace(train.CONFIGS["tiny"], channels=(16, 24, 40), heads=(1, 1, 2))
    student, copied, total = distill.student_from_teacher(teacher, wider)
    assert 0 < copied < total  # level 2's tensors have other shapes and keep their initialisation
    assert not torch.equal(student.state_dict()["encoders.2.0.mlp.0.weight"][:32, :32],
                           teacher.state_dict()["encoders.2.0.mlp.0.weight"])
    assert torch.equal(student.state_dict()["embed.0.weight"], teacher.state_dict()["embed.0.weight"])


def test_validation_cosine_is_one_for_the_teacher_itself_and_lower_without_a_block():
    teacher = _teacher()
    rooms = {"a": train.synthetic_room(3, gaussians_per_m2=300.0).input_channels().astype(np.float32)}
    same, _, _ = distill.student_from_teacher(teacher, train.CONFIGS["tiny"])
    assert distill.validate(same, teacher, rooms)["mean"] == pytest.approx(1.0, abs=1e-5)
    fewer, _, _ = distill.student_from_teacher(teacher, TINY_WITHOUT_L0_DECODER)
    result = distill.validate(fewer, teacher, rooms)
    assert result["mean"] < 0.999
    assert result["a"]["p10"] <= result["a"]["mean"]


def test_distillation_raises_the_cosine_and_exports_the_best_student(tmp_path, monkeypatch):
    teacher_path = tmp_path / "teacher.onnx"
    _teacher(teacher_path)
    monkeypatch.setitem(train.CONFIGS, "tiny-without-l0-decoder", TINY_WITHOUT_L0_DECODER)
    run, out = tmp_path / "run", tmp_path / "student.onnx"
    assert distill.main(["--teacher", str(teacher_path), "--config", "tiny-without-l0-decoder", "--run", str(run),
                         "--rooms", "2", "--val-rooms", "2003r", "--max-gaussians", "3000", "--steps", "40",
                         "--val-every", "20", "--lr", "3e-3", "--threads", "1", "--export", str(out)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["copied_tensors"] == len(train.GaussianEncoder(TINY_WITHOUT_L0_DECODER).state_dict())
    assert [h["step"] for h in metrics["history"]] == [0, 20, 40]
    assert metrics["best_mean_cosine"] > metrics["history"][0]["mean"]  # it learned
    student = load_checkpoint(run / "best.pt")
    assert student.config == TINY_WITHOUT_L0_DECODER
    channels = distill.room_input(2003, True, 3000)
    check = parity(student, out.read_bytes(), channels)
    assert check["min_cosine"] > 0.9999
    # the checkpoint is the best validation step's
    again = distill.validate(student, _teacher(), {"2003r": channels})["mean"]
    assert again == pytest.approx(metrics["best_mean_cosine"], abs=1e-4)


def test_refuses_seeds_outside_the_validation_split_and_another_k(tmp_path, monkeypatch):
    teacher_path = tmp_path / "teacher.onnx"
    _teacher(teacher_path)
    with pytest.raises(SystemExit):  # 3000 is a test seed
        distill.main(["--teacher", str(teacher_path), "--config", "tiny", "--run", str(tmp_path / "r"), "--val-rooms", "3000"])
    monkeypatch.setitem(train.CONFIGS, "tiny-k8", dataclasses.replace(train.CONFIGS["tiny"], out_dim=8))
    with pytest.raises(SystemExit):
        distill.main(["--teacher", str(teacher_path), "--config", "tiny-k8", "--run", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()
