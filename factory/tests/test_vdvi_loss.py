"""The VDVI loss: simplex ETF properties, absent classes masked, values on hand-made inputs."""
import math

import pytest
import torch
import torch.nn.functional as F

from rtgs2.vdvi.loss import CentreLoss, VdviLoss, balanced_class_weights, class_centres, simplex_etf


def test_simplex_etf_properties():
    c, d = 21, 64
    w = simplex_etf(c, d).double()
    assert w.shape == (d, c)
    assert torch.allclose(w.norm(dim=0), torch.ones(c, dtype=torch.float64), atol=1e-6)  # unit-norm columns
    gram = w.T @ w
    off = gram[~torch.eye(c, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -1.0 / (c - 1)), atol=1e-6)  # equiangular, maximally apart
    assert torch.allclose(w.sum(dim=1), torch.zeros(d, dtype=torch.float64), atol=1e-6)  # centred
    # fixed: the same frame every time (a buffer, not a parameter)
    assert torch.equal(simplex_etf(c, d), simplex_etf(c, d))
    assert not any(True for _ in CentreLoss(c, d).parameters())
    with pytest.raises(ValueError, match="feature dim"):
        simplex_etf(21, 16)


def test_class_centres_hand_made():
    # 1 image, 2 x 2 pixels, D = 2: classes 0, 0, 2, none
    emb = torch.tensor([[[[1.0, 3.0], [5.0, 7.0]], [[0.0, 2.0], [4.0, 6.0]]]])
    labels = torch.tensor([[[0, 0], [2, 255]]])
    centres, present = class_centres(emb, labels, 3)
    assert present.tolist() == [True, False, True]
    assert torch.allclose(centres, torch.tensor([[2.0, 1.0], [0.0, 0.0], [5.0, 4.0]]))


def test_centre_loss_value_on_hand_made_inputs():
    c, d = 3, 4
    loss = CentreLoss(c, d, temperature=0.5)
    w = loss.etf
    # pixels of class 0 sit exactly on ETF direction 0 (scaled by 3); class 1 absent; class 2 on direction 1
    emb = torch.stack([3 * w[:, 0], 3 * w[:, 0], 2 * w[:, 1]], 1).reshape(1, d, 1, 3)
    labels = torch.tensor([[[0, 0, 2]]])
    got = loss(emb, labels)
    cos = -1.0 / (c - 1)
    # class 0: logits (1, cos, cos)/T, target 0; class 2: centre on direction 1: logits (cos, 1, cos)/T, target 2
    l0 = -math.log(math.exp(1 / 0.5) / (math.exp(1 / 0.5) + 2 * math.exp(cos / 0.5)))
    l2 = -math.log(math.exp(cos / 0.5) / (math.exp(1 / 0.5) + 2 * math.exp(cos / 0.5)))
    assert got.item() == pytest.approx((l0 + l2) / 2, rel=1e-5)


def test_absent_class_contributes_nothing_and_gets_no_gradient():
    torch.manual_seed(0)
    c, d = 5, 8
    loss = CentreLoss(c, d)
    emb = torch.randn(2, d, 4, 4, requires_grad=True)
    labels = torch.randint(0, 3, (2, 4, 4))  # classes 3 and 4 absent
    labels[0, 0, 0] = 255
    value = loss(emb, labels)
    value.backward()
    # pixels labelled none get no gradient; the loss equals the mean over the present classes only
    assert emb.grad[0, :, 0, 0].abs().sum() == 0
    centres, present = class_centres(emb.detach(), labels, c)
    assert present.tolist() == [True, True, True, False, False]
    logits = F.normalize(centres[:3], dim=1) @ loss.etf / loss.temperature
    assert value.item() == pytest.approx(F.cross_entropy(logits, torch.arange(3)).item(), rel=1e-5)
    # an absent class's centre (zero row) would have added log-terms: counting it changes the value
    wrong = F.cross_entropy(F.normalize(centres, dim=1) @ loss.etf / loss.temperature, torch.arange(c))
    assert abs(wrong.item() - value.item()) > 1e-3


def test_vdvi_loss_label_smoothing_and_weight():
    torch.manual_seed(0)
    logits = torch.randn(1, 4, 2, 2)
    emb = torch.randn(1, 8, 2, 2)
    labels = torch.tensor([[[0, 1], [255, 3]]])
    total, parts = VdviLoss(4, 8, label_smoothing=0.15, centre_weight=0.4)(logits, emb, labels)
    # smoothed CE by hand over the 3 labelled pixels: (1 - e) * NLL + e * mean over classes of -log p
    logp = F.log_softmax(logits, 1).permute(0, 2, 3, 1).reshape(-1, 4)
    keep = labels.reshape(-1) != 255
    lp, tgt = logp[keep], labels.reshape(-1)[keep]
    ce = (0.85 * -lp[torch.arange(3), tgt] + 0.15 * -lp.mean(1)).mean()
    assert parts["ce"].item() == pytest.approx(ce.item(), rel=1e-5)
    assert total.item() == pytest.approx(ce.item() + 0.4 * parts["centre"].item(), rel=1e-5)
    total_plain, parts_plain = VdviLoss(4, 8, label_smoothing=0.0, centre_weight=0.0)(logits, emb, labels)
    assert "centre" not in parts_plain
    assert total_plain.item() == pytest.approx(F.cross_entropy(logits, labels, ignore_index=255).item(), rel=1e-6)


def test_all_none_batch_gives_zero_not_nan():
    logits = torch.randn(1, 4, 2, 2, requires_grad=True)
    total, _ = VdviLoss(4, 8)(logits, torch.randn(1, 8, 2, 2), torch.full((1, 2, 2), 255))
    assert total.item() == 0.0


def test_balanced_class_weights_lift_rare_classes_and_keep_the_loss_size():
    counts = torch.tensor([8000.0, 1000.0, 1000.0, 10.0, 0.0])
    w = balanced_class_weights(counts, 0.5)
    freq = counts[:4] / counts[:4].sum()
    assert (w[:4] * freq).sum().item() == pytest.approx(1.0, rel=1e-5)  # pixel-weighted mean 1
    assert w[3] > w[1] > w[0] and w[1].item() == pytest.approx(w[2].item())  # rarer, heavier
    # square root of the median-frequency ratio: the rare class is sqrt(1000 / 10) = 10 x the median classes
    assert (w[3] / w[1]).item() == pytest.approx(10.0, rel=1e-4)
    assert w[4].item() == 1.0  # never seen: left alone
    assert torch.equal(balanced_class_weights(counts, 0.0), torch.ones(5))
    assert (balanced_class_weights(torch.tensor([1e9, 1.0, 1.0]), 1.0, clip=10.0).max()
            / balanced_class_weights(torch.tensor([1e9, 1.0, 1.0]), 1.0, clip=10.0).min()).item() <= 100 + 1e-3


def test_class_weights_scale_each_pixels_ce():
    torch.manual_seed(1)
    logits = torch.randn(1, 3, 2, 2)
    labels = torch.tensor([[[0, 1], [2, 255]]])
    weights = torch.tensor([1.0, 2.0, 0.5])
    _, parts = VdviLoss(3, 8, label_smoothing=0.0, centre_weight=0.0, class_weights=weights)(logits, None, labels)
    nll = -F.log_softmax(logits, 1)[0, :, :, :]
    by_hand = (1.0 * nll[0, 0, 0] + 2.0 * nll[1, 0, 1] + 0.5 * nll[2, 1, 0]) / 3.5  # weighted mean, as torch's CE
    assert parts["ce"].item() == pytest.approx(by_hand.item(), rel=1e-5)
