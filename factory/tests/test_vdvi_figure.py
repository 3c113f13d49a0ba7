"""The model card's figure (rtgs2.vdvi.figure): rgb | ground truth | prediction rows, class colours, the command."""
import numpy as np
import pytest
import torch
from PIL import Image

from rtgs2.classes import NONE
from rtgs2.vdvi.data import SynthRoomsViews, micro_benchmark
from rtgs2.vdvi.evaluate import labels_from_logits, predict_logits
from rtgs2.vdvi.figure import GAP, figure_rows, main, palette, parse_picks
from rtgs2.vdvi.model import Vdvi, VdviConfig


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    torch.set_num_threads(1)
    return micro_benchmark(tmp_path_factory.mktemp("vdvi-figure"), k=8)


def test_rows_hold_the_view_its_ground_truth_and_the_prediction(micro):
    benchmark, features = micro
    torch.manual_seed(0)
    model = Vdvi(VdviConfig(k=8)).eval()
    dataset = SynthRoomsViews(benchmark, features, "test", (96, 64))
    image = figure_rows(model, dataset, [(0, 0), (0, 1)])
    h, w = 64, 96
    assert image.shape == (2 * h + GAP, 3 * w + 2 * GAP, 3) and image.dtype == np.uint8
    s = dataset[1]  # the second row: room 0, view 1
    row = image[h + GAP:]
    rgb = (s["rgb"].permute(1, 2, 0).numpy().clip(0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(row[:, :w], rgb)
    colours = palette()
    assert np.array_equal(row[:, w + GAP:2 * w + GAP], colours[s["labels"].numpy()])
    with torch.no_grad():
        pred = labels_from_logits(predict_logits(model, s["rgb"][None], s["features"][None]), s["alpha"][None])[0]
    assert np.array_equal(row[:, 2 * w + 2 * GAP:], colours[pred.numpy()])
    assert (colours[NONE] == 0).all() and len({tuple(c) for c in colours[:21]}) == 21  # classes distinguishable
    with pytest.raises(ValueError, match="room 5"):
        figure_rows(model, dataset, [(5, 0)])


def test_command_writes_a_png(micro, tmp_path):
    benchmark, features = micro
    torch.manual_seed(0)
    model = Vdvi(VdviConfig(k=8))
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "model_args": {"arch": "vdvi", "k": 8, "variant": "full",
                                                            "num_classes": 21}}, checkpoint)
    out = tmp_path / "fig.png"
    assert main(["--checkpoint", str(checkpoint), "--benchmark", str(benchmark), "--features", str(features),
                 "--resolution", "96x64", "--views", "0:0", "--out", str(out)]) == 0
    assert Image.open(out).size == (3 * 96 + 2 * GAP, 64)
    assert parse_picks("0:1,2:3") == [(0, 1), (2, 3)]
    with pytest.raises(ValueError, match="room:view"):
        parse_picks("0-1")
