"""The showcase room: one SynthRooms room (a seed outside every benchmark split) exported for the demo with its
ground-truth labels, and the README picture (rgb | ground-truth labels, from the reference renderer).

    python -m rtgs2.synthrooms.showcase            # writes demo/scenes/showcase/ and docs/images/showcase.png

Outputs:
    demo/scenes/showcase/showcase.ply   3DGS PLY (+ sem_label, sem_instance), the runtime's and Babylon's format
    demo/scenes/showcase/showcase.json  seed, room type, classes present, instances with their boxes, camera start
    docs/images/showcase.png            the start view at 640x480: rendered rgb | ground-truth label colours
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..classes import NONE, class_colors, class_names, load_class_table
from ..ply import write_ply
from . import cameras as cams
from .benchmark import REPO_ROOT, SHOWCASE_SEED, SUBSETS, _default_render, _to_numpy

SHOWCASE_DIR = REPO_ROOT / "demo" / "scenes" / "showcase"
SHOWCASE_IMAGE = REPO_ROOT / "docs" / "images" / "showcase.png"
IMAGE_SIZE = (640, 480)
SHOWCASE_GAUSSIANS = 80_000  # about 5.7 MB of PLY: the demo loads it quickly, the repo stays small
SHOWCASE_ROOM_TYPE = "living room"  # with seed 7780: 13 classes and three CC0 Poly Haven models
CANDIDATE_VIEWS = 32


def build_showcase_room(seed: int = SHOWCASE_SEED, room_type: str = SHOWCASE_ROOM_TYPE,
                        max_gaussians: int = SHOWCASE_GAUSSIANS):
    from .generator import generate_room

    for d in SUBSETS.values():
        if any(seed in s.seeds for s in d.splits):
            raise ValueError(f"showcase seed {seed} is in the {d.name!r} benchmark; pick one outside every split")
    return generate_room(seed, room_type=room_type, max_gaussians=max_gaussians)


def choose_start_view(room, n_candidates: int = CANDIDATE_VIEWS, seed: int = SHOWCASE_SEED) -> cams.ViewPose:
    """The walkthrough view that sees the most classes (each with at least 1 % of the visible Gaussians),
    preferring views with nothing right in front of the lens (10th-percentile depth >= 1.2 m)."""
    poses = cams.walkthrough(room, n_candidates, seed)
    labels = room.gaussians.labels
    best, best_key = poses[0], None
    for pose in poses:
        camera = pose.camera(*IMAGE_SIZE)
        vis = cams.scene_visible_gaussians(room.gaussians, camera)
        counts = np.bincount(labels[vis][labels[vis] != NONE], minlength=256)
        depth = camera.to_view(room.gaussians.positions[vis])[:, 2]
        clear = len(depth) > 0 and np.percentile(depth, 10) >= 1.2
        key = (clear, int((counts >= 0.01 * max(1, counts.sum())).sum()), int(vis.sum()))
        if best_key is None or key > best_key:
            best, best_key = pose, key
    return best


def label_image(labels: np.ndarray) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) uint8 display colours (contract 4); `none` is black."""
    colors = np.zeros((256, 3), dtype=np.uint8)
    table = class_colors()
    colors[: len(table)] = table
    colors[NONE] = 0
    return colors[labels]


def showcase_json(room, pose: cams.ViewPose, ply_name: str) -> dict:
    names = class_names()
    labels, instances = room.gaussians.labels, room.gaussians.instances
    per_class = np.bincount(labels[labels != NONE], minlength=len(names))
    boxes = {int(o.instance_id): o for o in list(room.furniture) + list(room.doors) + list(room.windows)}
    counts = np.bincount(instances[instances != 65535], minlength=max(room.instances, default=0) + 1)
    items = []
    for iid, cid in sorted(room.instances.items()):
        item = {"instance_id": int(iid), "class_id": int(cid), "class": names[cid],
                "name": str(room.instance_names.get(iid, "")), "gaussians": int(counts[iid])}
        if iid in boxes and getattr(boxes[iid], "aabb_min", None) is not None:
            item["aabb_min"] = [round(float(v), 4) for v in boxes[iid].aabb_min]
            item["aabb_max"] = [round(float(v), 4) for v in boxes[iid].aabb_max]
        if getattr(boxes.get(iid), "source", None):
            item["source"] = str(boxes[iid].source)
        items.append(item)
    return {
        "scene": ply_name,
        "generator": "rtgs2.synthrooms (procedural, CC0 Poly Haven models only)",
        "seed": int(room.seed),
        "room_type": str(getattr(room, "room_type", "unknown")),
        "class_table_version": load_class_table()["version"],
        "frame": "Babylon world frame once loaded (metres, +Y up, left-handed); the PLY itself is +Y down like "
                 "every trained 3DGS file and Babylon's loader flips it",
        "gaussian_count": len(room.gaussians),
        "assets": sorted({f.source for f in room.furniture if str(f.source).startswith("polyhaven")}),
        "licence": "everything procedural, plus Poly Haven models (CC0, ../shared/assets/polyhaven via "
                   "RobotLocomotion/models); no other content",
        "classes": [{"id": int(c), "name": names[c], "gaussians": int(per_class[c])} for c in np.flatnonzero(per_class)],
        "instances": items,
        "camera": {"position": [round(float(v), 4) for v in pose.eye],
                   "target": [round(float(v), 4) for v in pose.target], "fov": round(float(pose.fov_y), 6)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rtgs2.synthrooms.showcase", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SHOWCASE_SEED)
    parser.add_argument("--out", type=Path, default=SHOWCASE_DIR)
    parser.add_argument("--image", type=Path, default=SHOWCASE_IMAGE)
    args = parser.parse_args(argv)

    room = build_showcase_room(args.seed)
    n = len(room.gaussians)
    pose = choose_start_view(room, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_ply(args.out / "showcase.ply", room.gaussians)
    (args.out / "showcase.json").write_text(json.dumps(showcase_json(room, pose, "showcase.ply"), indent=1) + "\n")

    from PIL import Image

    result = _default_render(room.gaussians, pose.camera(*IMAGE_SIZE))
    rgb = _to_numpy(result["rgb"]).astype(np.float32)
    if rgb.shape[0] == 3 and rgb.shape[-1] != 3:
        rgb = rgb.transpose(1, 2, 0)
    rgb8 = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    labels = _to_numpy(result["labels"]).astype(np.uint8).squeeze()
    gap = np.full((IMAGE_SIZE[1], 8, 3), 255, dtype=np.uint8)
    args.image.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([rgb8, gap, label_image(labels)], axis=1)).save(args.image, optimize=True)
    present = [class_names()[c] for c in np.unique(labels) if c != NONE]
    print(f"showcase seed {args.seed}: {n} Gaussians, {len(room.furniture)} objects; start view shows "
          f"{len(present)} classes ({', '.join(present)}); wrote {args.out} and {args.image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
