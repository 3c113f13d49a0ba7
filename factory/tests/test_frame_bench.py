"""The scene-frame benchmark command (rtgs2.frame_bench) on one room: every transform kind scored against the
truth, failures classified, a summary with the issue's three target rates."""
import numpy as np

from rtgs2 import frame as F
from rtgs2 import frame_bench as B


def test_one_room_summary_and_case_kinds():
    result = B.run(1, B.DEFAULT_FIRST_SEED, playbot=False)
    s = result["summary"]
    assert s["cases"] == len(F.RANDOM_KINDS) and s["rooms"] == 1
    for key in ("up_within_3deg", "scale_within_10pct", "floor_within_5cm", "all_within_targets"):
        assert 0.0 <= s[key] <= 1.0
    assert {c["transform"] for c in result["cases"]} == set(F.RANDOM_KINDS)
    assert all(c["kind"] in ("ok", "fallback", "wrong up axis", "tilt left over", "scale off", "floor off") for c in result["cases"])
    assert sum(s["failures_by_kind"].values()) == sum(c["kind"] != "ok" for c in result["cases"])


def test_a_case_with_a_known_answer_is_scored_as_such():
    from rtgs2.synthrooms.generator import generate_room

    g = generate_room(9000).gaussians
    rot = F._axis_angle([1, 0, 0], np.pi / 2)  # Z-up
    r = B.evaluate_case(g, rot, 100.0, np.array([1.0, 2.0, 3.0]))
    assert r["kind"] == "ok" and r["up_error_deg"] < 1 and abs(r["scale_ratio"] - 1) < 0.1 and r["floor_error_m"] < 0.05


def test_without_ceiling_drops_the_ceiling_and_what_lies_above_the_cut():
    from rtgs2.classes import class_id
    from rtgs2.synthrooms.generator import generate_room

    g = generate_room(9000).gaussians
    ceiling = class_id("ceiling")
    assert (g.labels == ceiling).any() and g.positions[:, 1].max() > 2.2
    no_ceiling = B.without_ceiling(g)
    assert not (no_ceiling.labels == ceiling).any()
    assert len(no_ceiling.positions) == int((g.labels != ceiling).sum())
    cut = B.without_ceiling(g, 2.2)
    assert not (cut.labels == ceiling).any() and cut.positions[:, 1].max() < 2.2
    assert len(cut.positions) == int(((g.labels != ceiling) & (g.positions[:, 1] < 2.2)).sum())
