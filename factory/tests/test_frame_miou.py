"""The canonical-vs-captured mIoU command (rtgs2.frame_miou) end to end on one room and one small view with the
shipped ONNX models: both conditions scored, the captured one through a real estimate."""
from pathlib import Path

import numpy as np
import pytest

from rtgs2 import frame_miou as M

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.skipif(not (MODELS / "vdvi-k16.onnx").is_file(), reason="the shipped models are not in this checkout")
def test_one_room_one_view(tmp_path):
    result = M.run(1, 1, M.DEFAULT_FIRST_SEED, (96, 64), tmp_path / "cache")
    room = result["per_room"][0]
    assert room["transform"] == "uniform" and not room["fallback"] and room["up_error_deg"] < 3
    assert not room["auto_fallback"] and 0.8 < room["auto_scale"] < 1.25
    for key in ("miou_canonical", "miou_auto", "miou_captured"):
        assert 0.0 < result[key] <= 1.0
    assert result["difference"] == pytest.approx(result["miou_canonical"] - result["miou_captured"])
    assert result["summary"]["canonical"]["images"] == 1


def test_segment_pads_to_multiples_of_32_and_masks_low_alpha():
    import onnxruntime as ort

    vdvi = ort.InferenceSession(str(MODELS / "vdvi-k16.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    alpha = np.ones((50, 70), np.float16)
    alpha[:10] = 0.2
    labels = M.segment(vdvi, rng.integers(0, 255, (50, 70, 3), dtype=np.uint8), rng.normal(size=(50, 70, 16)), alpha)
    assert labels.shape == (50, 70) and (labels[:10] == M.NONE).all() and (labels[10:] < 21).all()
