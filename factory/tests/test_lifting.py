"""Label lifting (rtgs2.lifting): the numpy version of src/lifting/labelLifter.ts, checked on small cases and on
the shared vector test/fixtures/lifting/tiny_case.json that the TypeScript spec checks too."""
import json
from pathlib import Path

import numpy as np
import pytest

from rtgs2.camera import Camera
from rtgs2.classes import NONE, NUM_CLASSES
from rtgs2.gaussians import GaussianScene
from rtgs2.lifting import accumulate, babylon_matrices, exact_votes, propagate, resolve
from rtgs2.render import prepare, render

FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "lifting" / "tiny_case.json"
PROPAGATION_FIXTURE = FIXTURE.parent / "propagation_case.json"


def tiny_case() -> dict:
    """A 10x8 view and 40 Gaussians: on the surface (vote), behind it (occluded), off the image, on unlabelled or
    thin-coverage pixels (no vote). Gaussians sit 0.2 px from pixel centres so float order cannot change a pixel."""
    rng = np.random.default_rng(1234)
    w, h = 10, 8
    cam = Camera.look_at((0.0, 1.0, -3.0), (0.0, 1.0, 0.0), w, h, np.deg2rad(50.0))
    labels = rng.integers(0, 5, size=(h, w)).astype(np.uint8)
    labels[0, :3] = NONE
    alpha = rng.uniform(0.6, 1.0, size=(h, w)).astype(np.float32)
    alpha[1, :2] = 0.3
    surface = rng.uniform(2.0, 4.0, size=(h, w))
    depth = (surface * alpha).astype(np.float32)
    confidence = rng.uniform(0.3, 1.0, size=(h, w)).astype(np.float32)
    positions, kinds = [], []
    for k in range(40):
        px, py = rng.integers(0, w), rng.integers(0, h)
        u, v = px + 0.5 + rng.uniform(-0.2, 0.2), py + 0.5 + rng.uniform(-0.2, 0.2)
        kind = ["surface", "behind", "surface", "off"][k % 4]
        z = surface[py, px] * (1.0 if kind != "behind" else 1.3) * (1 + rng.uniform(-0.01, 0.01))
        if kind == "off":
            u += w  # right of the image
        view = np.array([(u - cam.cx) * z / cam.fx, -(v - cam.cy) * z / cam.fy, z])
        r, t = cam.world_to_view[:3, :3], cam.world_to_view[:3, 3]
        positions.append(r.T @ (view - t))
        kinds.append(kind)
    opacities = rng.uniform(0.2, 1.0, size=40).astype(np.float32)
    vm, pm = babylon_matrices(cam)
    return {"width": w, "height": h, "labels": labels, "alpha": alpha, "expectedDepth": depth,
            "confidence": confidence, "viewMatrix": vm, "projectionMatrix": pm,
            "positions": np.asarray(positions, np.float32), "opacities": opacities, "kinds": kinds}


def _votes_of(case: dict) -> np.ndarray:
    votes = np.zeros((len(case["opacities"]), NUM_CLASSES), np.float32)
    accumulate(votes, case["positions"], case["opacities"], case["labels"], case["alpha"], case["expectedDepth"],
               case["viewMatrix"], case["projectionMatrix"], case["confidence"])
    return votes


def test_tiny_case_votes_follow_the_rules():
    case = tiny_case()
    votes = _votes_of(case)
    kinds = np.array(case["kinds"])
    voted = votes.sum(1) > 0
    assert not voted[kinds == "behind"].any(), "occluded Gaussians must not vote"
    assert not voted[kinds == "off"].any()
    # A surface Gaussian votes for exactly its pixel's label with opacity x confidence, unless the pixel is
    # unlabelled or thinly covered.
    cam = Camera.from_babylon(case["viewMatrix"], case["projectionMatrix"], case["width"], case["height"])
    u, v, _ = cam.project(case["positions"].astype(np.float64))
    for i in np.nonzero(kinds == "surface")[0]:
        px, py = int(np.floor(u[i])), int(np.floor(v[i]))
        lab = case["labels"][py, px]
        if lab == NONE or case["alpha"][py, px] < 0.5:
            assert not voted[i]
        else:
            expected = case["opacities"][i] * case["confidence"][py, px]
            assert votes[i, lab] == pytest.approx(expected, rel=1e-6)
            assert votes[i].sum() == pytest.approx(expected, rel=1e-6)
    assert voted.sum() >= 10


def test_shared_fixture_matches():
    """The committed vector (also checked by test/lifting/labelLifter.spec.ts) is what this code computes."""
    case = tiny_case()
    votes = _votes_of(case)
    data = json.loads(FIXTURE.read_text())
    for key in ("labels", "alpha", "expectedDepth", "confidence", "viewMatrix", "projectionMatrix", "positions",
                "opacities"):
        np.testing.assert_allclose(np.asarray(data[key], np.float64).reshape(-1),
                                   np.asarray(case[key], np.float64).reshape(-1), rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(np.asarray(data["votes"], np.float32).reshape(votes.shape), votes, rtol=1e-6)


def test_votes_accumulate_and_resolve():
    votes = np.zeros((2, NUM_CLASSES), np.float32)
    votes[0, 3] = 0.6
    votes[0, 5] = 0.2
    labels, conf = resolve(votes)
    assert labels.tolist() == [3, NONE]
    assert conf[0] == pytest.approx(0.75) and conf[1] == 0
    case = tiny_case()
    once = _votes_of(case)
    twice = once.copy()
    accumulate(twice, case["positions"], case["opacities"], case["labels"], case["alpha"], case["expectedDepth"],
               case["viewMatrix"], case["projectionMatrix"], case["confidence"])
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-6)


def test_bad_input_is_named():
    case = tiny_case()
    votes = np.zeros((3, NUM_CLASSES), np.float32)
    with pytest.raises(ValueError, match="positions"):
        accumulate(votes, case["positions"], case["opacities"], case["labels"], case["alpha"],
                   case["expectedDepth"], case["viewMatrix"], case["projectionMatrix"])


def test_two_walls_lifted_from_rendered_views_match_ground_truth_and_exact_voting():
    """Two flat Gaussian walls, one in front of the other: lifting from the renderer's own label maps gives every
    voted Gaussian its true class; the back wall's hidden part gets no votes; exact voting agrees."""
    rng = np.random.default_rng(5)
    n = 400
    xy = rng.uniform(-1, 1, size=(n, 2))
    front = np.arange(n) < n // 2
    z = np.where(front, 2.0, 3.0)
    xy[front, 0] = xy[front, 0] * 0.5 - 0.5  # the front wall covers the left part only
    pos = np.column_stack([xy[:, 0], xy[:, 1], z]).astype(np.float32)
    scene = GaussianScene(positions=pos, colors=np.full((n, 3), 0.5), opacities=np.full(n, 0.95),
                          log_scales=np.log(np.full((n, 3), [0.06, 0.06, 0.005])),
                          rotations=np.tile([1.0, 0, 0, 0], (n, 1)), labels=np.where(front, 2, 0))
    prepared = prepare(scene, device="cpu", mesh_world=np.eye(4))
    cam = Camera.look_at((0, 0, 0), (0, 0, 1), 64, 48, np.deg2rad(60))
    out = render(prepared, cam)
    votes = np.zeros((n, NUM_CLASSES), np.float32)
    vm, pm = babylon_matrices(cam)
    accumulate(votes, pos, scene.opacities, out["labels"], out["alpha"], out["depth"], vm, pm)
    labels, _ = resolve(votes)
    voted = labels != NONE
    assert voted.sum() > n // 3
    assert (labels[voted] == scene.labels[voted]).mean() > 0.97
    # Back-wall Gaussians well behind the front wall (x < -0.2, |y| < 0.8) are hidden: no votes.
    hidden = ~front & (pos[:, 0] < -0.2) & (pos[:, 0] > -0.8) & (np.abs(pos[:, 1]) < 0.8)
    assert hidden.sum() > 10 and not voted[hidden].any()
    ex, _ = resolve(exact_votes(prepared, cam, out["labels"]))
    both = voted & (ex != NONE)
    assert (ex[both] == labels[both]).mean() > 0.97


def propagation_case() -> dict:
    """300 centres: three labelled blobs (classes 2, 5, 9) with unlabelled Gaussians among and between them, a few
    far outliers, random confidences; k = 5."""
    rng = np.random.default_rng(77)
    centres = np.array([[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.4, 1.0, 0.6]])
    classes = np.array([2, 5, 9])
    blob = rng.integers(0, 3, size=300)
    pos = centres[blob] + rng.normal(0, 0.3, size=(300, 3))
    pos[:6] = rng.uniform(-6, 6, size=(6, 3))  # outliers: the grid search must widen its rings
    labels = np.where(rng.random(300) < 0.45, classes[blob], NONE).astype(np.uint8)
    labels[:6] = NONE
    conf = np.where(labels != NONE, rng.uniform(0.2, 1.0, size=300), 0).astype(np.float32)
    out_labels, out_conf, propagated = propagate(pos.astype(np.float32), labels, conf, k=5)
    return {"positions": pos.astype(np.float32), "labels": labels, "confidence": conf, "k": 5,
            "expectedLabels": out_labels, "expectedConfidence": out_conf, "expectedPropagated": propagated}


def test_propagation_fills_every_gaussian_from_its_neighbours():
    case = propagation_case()
    labels, conf, prop = case["expectedLabels"], case["expectedConfidence"], case["expectedPropagated"]
    src = case["labels"] != NONE
    assert (labels != NONE).all()
    np.testing.assert_array_equal(labels[src], case["labels"][src])  # sources keep theirs
    np.testing.assert_array_equal(conf[src], case["confidence"][src])
    np.testing.assert_array_equal(prop, (~src).astype(np.uint8))
    assert (conf[~src] > 0).all() and (conf[~src] <= 0.5 + 1e-6).all()
    # Brute force: the k nearest labelled centres, weight confidence / (distance + 0.01).
    pos = case["positions"].astype(np.float64)
    for t in np.nonzero(~src)[0]:
        d = np.linalg.norm(pos[src] - pos[t], axis=1)
        nn = np.argsort(d)[:5]
        w = case["confidence"][src][nn] / (d[nn] + 0.01)
        per_class = np.bincount(case["labels"][src][nn], weights=w, minlength=NUM_CLASSES)
        assert labels[t] == per_class.argmax()
        assert conf[t] == pytest.approx(0.5 * per_class.max() / w.sum(), rel=1e-5)


def test_propagation_inverse_distance_and_confidence_decide():
    pos = np.array([[0, 0, 0], [0.1, 0, 0], [0.5, 0, 0], [0.55, 0, 0], [0.02, 0, 0]], np.float32)
    labels = np.array([NONE, 1, 2, 2, NONE], np.uint8)
    # One close source of class 1 outweighs two sources of class 2 five times farther away...
    conf = np.array([0, 1.0, 1.0, 1.0, 0], np.float32)
    out, c, prop = propagate(pos, labels, conf, k=3)
    assert out[0] == 1 and out[4] == 1 and prop.tolist() == [1, 0, 0, 0, 1]
    w = np.array([1 / 0.11, 1 / 0.51, 1 / 0.56])
    assert c[0] == pytest.approx(0.5 * w[0] / w.sum(), rel=1e-5)
    # ...unless it is unsure; with k = 1 only the nearest counts.
    conf[1] = 0.05
    assert propagate(pos, labels, conf, k=3)[0][0] == 2
    assert propagate(pos, labels, conf, k=1)[0][0] == 1


def test_propagation_without_sources_or_with_bad_input():
    pos = np.zeros((4, 3), np.float32)
    labels = np.full(4, NONE, np.uint8)
    out, conf, prop = propagate(pos, labels, np.zeros(4, np.float32))
    assert (out == NONE).all() and not prop.any()
    with pytest.raises(ValueError, match="positions"):
        propagate(pos[:3], labels, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="k >= 1"):
        propagate(pos, labels, np.zeros(4, np.float32), k=0)


def test_shared_propagation_fixture_matches():
    """test/fixtures/lifting/propagation_case.json (also checked by test/lifting/labelPropagation.spec.ts) is what
    this code computes."""
    case = propagation_case()
    data = json.loads(PROPAGATION_FIXTURE.read_text())
    assert data["k"] == case["k"]
    for key in ("positions", "labels", "confidence", "expectedLabels", "expectedConfidence", "expectedPropagated"):
        np.testing.assert_allclose(np.asarray(data[key], np.float64), np.asarray(case[key], np.float64).reshape(-1),
                                   rtol=1e-6, err_msg=key)


def test_two_walls_hidden_part_gets_the_back_walls_class_by_propagation():
    """The hidden part of the back wall gets no votes (see above); propagation labels it from the nearest voted
    Gaussians: the visible back wall (x > 0.17 here) where that is clearly nearer than the front wall (1 m in front),
    a mix deeper behind the front wall, where the nearest evidence is about equally far on both walls."""
    rng = np.random.default_rng(5)
    n = 400
    xy = rng.uniform(-1, 1, size=(n, 2))
    front = np.arange(n) < n // 2
    xy[front, 0] = xy[front, 0] * 0.5 - 0.5
    pos = np.column_stack([xy[:, 0], xy[:, 1], np.where(front, 2.0, 3.0)]).astype(np.float32)
    scene = GaussianScene(positions=pos, colors=np.full((n, 3), 0.5), opacities=np.full(n, 0.95),
                          log_scales=np.log(np.full((n, 3), [0.06, 0.06, 0.005])),
                          rotations=np.tile([1.0, 0, 0, 0], (n, 1)), labels=np.where(front, 2, 0))
    cam = Camera.look_at((0, 0, 0), (0, 0, 1), 64, 48, np.deg2rad(60))
    out = render(prepare(scene, device="cpu", mesh_world=np.eye(4)), cam)
    votes = np.zeros((n, NUM_CLASSES), np.float32)
    vm, pm = babylon_matrices(cam)
    accumulate(votes, pos, scene.opacities, out["labels"], out["alpha"], out["depth"], vm, pm)
    voted_labels, voted_conf = resolve(votes)
    labels, conf, prop = propagate(pos, voted_labels, voted_conf)
    hidden = ~front & (pos[:, 0] < -0.2) & (pos[:, 0] > -0.8) & (np.abs(pos[:, 1]) < 0.8)
    assert hidden.sum() > 10 and prop[hidden].all() and (voted_labels[hidden] == NONE).all()
    near_edge = hidden & (pos[:, 0] > -0.5)
    assert near_edge.sum() > 5 and (labels[near_edge] == 0).all()
    assert (labels != NONE).all()
    assert (voted_labels == scene.labels).mean() < 0.6 and (labels == scene.labels).mean() > 0.85


def write_propagation_fixture() -> None:
    case = propagation_case()
    data = {k: (np.asarray(v).reshape(-1).tolist() if k != "k" else v) for k, v in case.items()}
    data["about"] = ("Shared label-propagation vector: factory/tests/test_lifting.py (write_propagation_fixture) and "
                     "test/lifting/labelPropagation.spec.ts")
    PROPAGATION_FIXTURE.write_text(json.dumps(data))


def test_vdvi_predictor_segments_a_room_like_the_runtime(tmp_path):
    """Mode vdvi of the benchmark: an (untrained, tiny) encoder's features splatted with the scene's rgb through a
    VDVI checkpoint give per-pixel labels that are none exactly where alpha < 0.5, and confidences that are softmax
    maxima (between 1/21 and 1) where labelled; a checkpoint whose K differs from the encoder's is refused."""
    import torch

    from rtgs2.encoder.model import GaussianEncoder
    from rtgs2.encoder.train import CONFIGS, synthetic_room
    from rtgs2.lifting import VdviPredictor
    from rtgs2.vdvi.model import Vdvi, VdviConfig

    torch.manual_seed(0)
    config = CONFIGS["tiny"]
    encoder = tmp_path / "encoder.pt"
    torch.save({"model": GaussianEncoder(config).state_dict(), "config": config.to_json()}, encoder)
    k = int(config.out_dim)
    vdvi = tmp_path / "vdvi.pt"
    torch.save({"model": Vdvi(VdviConfig(k=k)).state_dict(),
                "model_args": {"arch": "vdvi", "k": k, "variant": "full", "num_classes": NUM_CLASSES}}, vdvi)
    scene = synthetic_room(3, gaussians_per_m2=600.0)
    predictor = VdviPredictor(scene, vdvi, encoder)
    prepared = predictor.prepared  # world centres: the prepared scene's mesh transform applied, as in benchmark()
    pos = prepared.centers_np.astype(np.float64) @ prepared.mesh_world[:3, :3].T + prepared.mesh_world[:3, 3]
    centre = (pos.min(0) + pos.max(0)) / 2
    cam = Camera.look_at(centre, centre + np.array([1.0, -0.2, 0.3]), 64, 48, np.deg2rad(70))
    labels, conf = predictor(cam)
    alpha = render(predictor.prepared, cam)["alpha"]
    assert labels.shape == (48, 64) and conf.shape == (48, 64)
    assert (alpha >= 0.5).mean() > 0.2 and (alpha < 0.5).any()
    np.testing.assert_array_equal(labels == NONE, alpha < 0.5)
    assert (labels[labels != NONE] < NUM_CLASSES).all()
    assert (conf[labels != NONE] >= 1 / NUM_CLASSES - 1e-6).all() and (conf <= 1 + 1e-6).all()
    assert (conf[labels == NONE] == 0).all()
    wrong = tmp_path / "vdvi-k3.pt"
    torch.save({"model": Vdvi(VdviConfig(k=3)).state_dict(),
                "model_args": {"arch": "vdvi", "k": 3, "variant": "full", "num_classes": NUM_CLASSES}}, wrong)
    with pytest.raises(ValueError, match="K = 3"):
        VdviPredictor(scene, wrong, encoder)


def write_fixture() -> None:
    case = tiny_case()
    votes = _votes_of(case)
    data = {k: (np.asarray(v).reshape(-1).tolist() if k != "kinds" else v) for k, v in case.items()}
    data["width"], data["height"] = case["width"], case["height"]
    data["classCount"] = NUM_CLASSES
    data["votes"] = votes.reshape(-1).tolist()
    data["about"] = "Shared label-lifting vector: factory/tests/test_lifting.py (write_fixture) and test/lifting/*.spec.ts"
    FIXTURE.write_text(json.dumps(data))


if __name__ == "__main__":
    write_fixture()
    write_propagation_fixture()
