"""The committed shared scene-frame vectors (test/fixtures/frame/) are what the current Python estimator says, so
the TypeScript twin's test (test/frame/frame.test.mjs) compares against the real thing. Regenerate with
`python3 factory/scripts/make_frame_vectors.py` after changing rtgs2/frame.py."""
import importlib.util
import json
from pathlib import Path

import numpy as np

from rtgs2 import frame as F

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "test/fixtures/frame"


def _script():
    spec = importlib.util.spec_from_file_location("make_frame_vectors", ROOT / "factory/scripts/make_frame_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_vectors_match_the_python_estimator():
    mod = _script()
    spec = json.loads((FIXTURE / "vectors.json").read_text())
    rows = np.frombuffer((FIXTURE / "gaussians.f32").read_bytes(), dtype="<f4").reshape(-1, len(spec["layout"]))
    assert spec["tolerance"] == mod.TOLERANCE and len(spec["cases"]) >= 10
    for case in spec["cases"]:
        block = rows[case["rowOffset"]:case["rowOffset"] + case["count"]]
        frame = F.estimate_scene_frame(*mod.case_input(block, case["rotation"], case["scale"], case["translation"]))
        expected = case["expected"]
        assert frame.fallback == expected["fallback"]
        assert np.allclose(frame.rotation.reshape(-1), expected["rotation"], atol=1e-9)
        assert np.isclose(frame.metres_per_unit, expected["metresPerUnit"], rtol=1e-9)
        assert np.isclose(frame.floor_height, expected["floorHeight"], atol=1e-9)
        assert np.isclose(frame.confidence, expected["confidence"], atol=1e-9)
        # every case is a room the estimator gets right: up within 3 degrees, scale within 10 % (a room without its
        # ceiling: a power-of-ten unit guess within a factor of sqrt(10), the confidence capped)
        up_true = np.asarray(case["rotation"]).reshape(3, 3) @ np.array([0.0, 1.0, 0.0])
        assert np.degrees(np.arccos(np.clip(up_true @ frame.rotation[1], -1, 1))) < 3
        if case.get("ceiling", True):
            assert abs(frame.metres_per_unit * case["scale"] - 1) < 0.1
        else:
            assert frame.evidence["scale"] == "unit guess: no ceiling" and frame.confidence <= F.NO_CEILING_CONFIDENCE
            assert abs(np.log10(frame.metres_per_unit * case["scale"])) <= 0.5
