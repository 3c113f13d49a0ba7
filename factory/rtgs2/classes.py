"""The class table shared with the runtime (ARCHITECTURE.md contract 4): models/classes.json."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

CLASSES_JSON = Path(__file__).resolve().parents[2] / "models" / "classes.json"
NONE = 255  # label-map value for "no class" (no Gaussian there, or unlabeled)


@lru_cache(maxsize=1)
def load_class_table(path: str | Path = CLASSES_JSON) -> dict:
    table = json.loads(Path(path).read_text())
    ids = [c["id"] for c in table["classes"]]
    if ids != list(range(len(ids))):
        raise ValueError(f"{path}: class ids must be 0..N-1 in order, got {ids}")
    return table


def class_names() -> list[str]:
    return [c["name"] for c in load_class_table()["classes"]]


def class_id(name: str) -> int:
    return class_names().index(name)


def class_colors() -> np.ndarray:
    """(N, 3) uint8 display colours, indexed by class id."""
    return np.array([c["color"] for c in load_class_table()["classes"]], dtype=np.uint8)


NUM_CLASSES = len(class_names())
