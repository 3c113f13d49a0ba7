"""The SynthRooms benchmark definition, its resumable generation and its statistics (rtgs2.synthrooms.benchmark).

`test_tiny_subset_generates_with_the_real_pipeline` generates the tiny subset with the real generator and the
reference renderer; the resumability tests inject a hand-made room and a point-splat stand-in renderer (same
output keys and shapes) so that they can count render calls and run in a second."""
import io
import json
import shutil

import numpy as np
import pytest

from rtgs2.classes import NUM_CLASSES, class_names
from rtgs2.ply import read_ply
from rtgs2.synthrooms import benchmark as B
from test_synthrooms_cameras import hand_made_room


def point_splat(scene, camera):
    """Nearest-centre point splat (a stand-in with the renderer's output keys and shapes)."""
    h, w = camera.height, camera.width
    u, v, z = camera.project(scene.positions)
    idx = np.flatnonzero((z > 0.01) & (u >= 0) & (u < w) & (v >= 0) & (v < h))
    idx = idx[np.argsort(-z[idx], kind="stable")]  # far first, near overwrite
    r, c = v[idx].astype(int), u[idx].astype(int)
    out = {"rgb": np.zeros((h, w, 3), np.float32), "alpha": np.zeros((h, w), np.float32),
           "depth": np.zeros((h, w), np.float32), "labels": np.full((h, w), 255, np.uint8)}
    out["rgb"][r, c], out["alpha"][r, c] = scene.colors[idx], 1.0
    out["depth"][r, c], out["labels"][r, c] = z[idx], scene.labels[idx]
    return out


class Counting:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *a, **k):
        self.calls += 1
        return self.fn(*a, **k)


def hand_made_generate(seed, **options):
    return hand_made_room(seed, 12000)


@pytest.fixture()
def tiny_standin(tmp_path):
    render = Counting(point_splat)
    summary = B.generate_benchmark(B.TINY, tmp_path, generate=hand_made_generate, render=render, log=lambda m: None)
    return tmp_path, render, summary


def test_splits_are_disjoint_fixed_and_large_enough():
    full = B.FULL
    seeds = {s.name: s.seeds for s in full.splits}
    assert len(seeds["train"]) >= 60 and len(seeds["val"]) >= 10 and len(seeds["test"]) >= 20
    all_seeds = [x for s in seeds.values() for x in s]
    assert len(all_seeds) == len(set(all_seeds))
    assert B.SHOWCASE_SEED not in all_seeds
    # fixed lists, not drawn at run time: the same on every import
    assert seeds["train"][:3] == (1000, 1001, 1002) and seeds["test"][-1] == 3019
    for s in B.TINY.splits:  # the tiny subset is a subset of the full benchmark, split by split
        assert set(s.seeds) <= set(full.split(s.name).seeds)
    resolutions = {r for s in full.splits for r in s.resolutions}
    assert resolutions == {(320, 240), (640, 480)}


def test_definition_with_a_shared_seed_is_refused():
    bad = B.BenchmarkDefinition("bad", (B.SplitSpec("train", (1, 2), 2, ((8, 6),)), B.SplitSpec("test", (2,), 2, ((8, 6),))))
    with pytest.raises(ValueError, match="seed 2 is in both 'train' and 'test'"):
        B.check_definition(bad)


def check_structure(out, definition):
    root = out / definition.name
    assert json.loads((root / "benchmark.json").read_text())["name"] == definition.name
    renders = 0
    for split in definition.splits:
        for seed in split.seeds:
            room = B.room_dir(root, split.name, seed)
            scene = read_ply(room / "scene.ply")
            assert scene.labels is not None and scene.instances is not None
            room_meta = json.loads((room / "room.json").read_text())
            assert room_meta["seed"] == seed and room_meta["gaussian_count"] == len(scene)
            assert len(B.load_cameras(room, split.resolutions[0])) == split.views_per_room
            for res in split.resolutions:
                for i in range(split.views_per_room):
                    view = B.load_view(room, res, i)
                    w, h = res
                    assert view["rgb"].shape == (h, w, 3) and view["rgb"].dtype == np.uint8
                    assert view["alpha"].shape == (h, w) and view["alpha"].dtype == np.float16
                    assert view["depth"].dtype == np.float16 and view["labels"].dtype == np.uint8
                    assert (view["labels"] != 255).any()
                renders += split.views_per_room
            vis = B.load_visibility(room)
            assert vis["visible"].shape == (split.views_per_room, len(scene))
            assert ((vis["pair_iou"] >= 0.3) & (vis["pair_iou"] <= 0.8)).all()
            for (i, j), value in zip(vis["pairs"], vis["pair_iou"]):
                assert value == pytest.approx(vis["iou"][i, j])
            done = json.loads((room / "complete.json").read_text())
            assert done["views"] == split.views_per_room
            # the stored pixel counts are those of the stored label maps
            res = split.resolutions[-1]
            counts = sum(np.bincount(B.load_view(room, res, i)["labels"].ravel(), minlength=256)
                         for i in range(split.views_per_room))
            stored = done["pixels_per_class"][f"{res[0]}x{res[1]}"]
            assert stored == {("none" if c == 255 else str(c)): int(counts[c]) for c in np.flatnonzero(counts)}
    return renders


def test_tiny_subset_has_the_declared_structure(tiny_standin):
    out, render, summary = tiny_standin
    assert summary["generated"] == 3 and summary["skipped"] == 0
    assert render.calls == check_structure(out, B.TINY)


def test_tiny_subset_generates_with_the_real_pipeline(tmp_path):
    summary = B.generate_benchmark(B.TINY, tmp_path, log=lambda m: None)
    assert summary["generated"] == 3
    check_structure(tmp_path, B.TINY)
    for split in B.TINY.splits:
        room = B.room_dir(tmp_path / "tiny", split.name, split.seeds[0])
        meta = json.loads((room / "room.json").read_text())
        assert meta["gaussian_count"] <= B.TINY.generator_options["max_gaussians"] * 1.05
        assert len(meta["furniture"]) > 0 and len(meta["openings"]) > 0
        view = B.load_view(room, split.resolutions[-1], 0)
        covered = view["alpha"] > 0.5
        assert covered.mean() > 0.95  # a closed room: every pixel sees a surface
        assert (view["depth"][covered] > 0.05).all() and (view["depth"][covered] < 15).all()
        assert len(np.unique(view["labels"][covered])) >= 2
    # the class balance of the tiny train split, recomputed from its label maps
    train = B.TINY.split("train")
    room = B.room_dir(tmp_path / "tiny", "train", train.seeds[0])
    labels = np.concatenate([B.load_view(room, train.resolutions[0], i)["labels"].ravel()
                             for i in range(train.views_per_room)])
    labelled = labels[labels != 255]
    stats = B.collect_statistics(B.TINY, tmp_path)
    balance = B.class_balance(stats["splits"]["train"]["pixels_per_class"]["80x60"])
    expected = np.bincount(labelled, minlength=NUM_CLASSES) / len(labelled)
    assert np.allclose([balance["share"][n] for n in class_names()], expected)
    assert balance["top3_share"] == pytest.approx(np.sort(expected)[-3:].sum())
    assert {u["class"] for u in balance["under_min"]} == {class_names()[c] for c in np.flatnonzero(expected < 0.002)}


def test_complete_rooms_are_skipped(tiny_standin):
    out, _, _ = tiny_standin
    render = Counting(point_splat)
    summary = B.generate_benchmark(B.TINY, out, generate=hand_made_generate, render=render, log=lambda m: None)
    assert summary["skipped"] == 3 and summary["generated"] == 0 and render.calls == 0


def test_a_partial_room_is_completed(tiny_standin):
    out, _, _ = tiny_standin
    split = B.TINY.split("test")
    room = B.room_dir(out / "tiny", "test", split.seeds[0])
    reference = {p.relative_to(room): p.read_bytes() for p in room.rglob("*.npz")}
    (room / "complete.json").unlink()
    B.view_path(room, split.resolutions[1], split.views_per_room - 1).unlink()
    B.view_path(room, split.resolutions[0], 0).unlink()
    (room / "visibility.npz").unlink()
    (room / "stale.npz.tmp").write_bytes(b"half a file")  # what an interrupted write could leave: ignored
    render = Counting(point_splat)
    summary = B.generate_benchmark(B.TINY, out, generate=hand_made_generate, render=render, log=lambda m: None)
    assert summary["generated"] == 1 and summary["skipped"] == 2
    assert render.calls == 2  # only the two missing views
    assert (room / "complete.json").exists()
    for rel, data in reference.items():  # completed files hold the same data as before
        a, b = np.load(room / rel), np.load(io.BytesIO(data))
        for key in a.files:
            assert np.array_equal(a[key], b[key]), (rel, key)


def test_a_room_from_another_generator_version_is_redone(tiny_standin):
    out, _, _ = tiny_standin
    split = B.TINY.split("val")
    room = B.room_dir(out / "tiny", "val", split.seeds[0])
    (room / "complete.json").unlink()
    render = Counting(point_splat)
    other = lambda seed, **o: hand_made_room(seed + 1, 12000)  # noqa: E731 — different scene bytes
    B.generate_benchmark(B.TINY, out, splits=["val"], generate=other, render=render, log=lambda m: None)
    assert render.calls == split.views_per_room * len(split.resolutions)


def test_changed_settings_regenerate_the_room(tiny_standin):
    out, _, _ = tiny_standin
    changed = B.BenchmarkDefinition("tiny", tuple(
        B.SplitSpec(s.name, s.seeds, s.views_per_room + (1 if s.name == "train" else 0), s.resolutions)
        for s in B.TINY.splits), B.TINY.generator_options)
    train = B.room_dir(out / "tiny", "train", B.TINY.split("train").seeds[0])
    shutil.rmtree(B.views_dir(train, (80, 60)))
    (train / "cameras.json").unlink()
    render = Counting(point_splat)
    summary = B.generate_benchmark(changed, out, generate=hand_made_generate, render=render, log=lambda m: None)
    assert summary["generated"] == 1 and render.calls == changed.split("train").views_per_room


def test_class_balance_computation():
    counts = np.zeros(256, np.int64)
    counts[:NUM_CLASSES] = 1000
    counts[255] = 10**6  # `none` pixels do not count
    bal = B.class_balance(counts)
    assert bal["passes"] and bal["under_min"] == []
    assert bal["top3_share"] == pytest.approx(3 / NUM_CLASSES)
    counts[0], counts[1], counts[2] = 20000, 15000, 10000  # wall, floor, cabinet dominate
    counts[3] = 10  # bed: 10 of 63,010 labelled pixels = 0.016 %
    bal = B.class_balance(counts)
    total = 45000 + 10 + 1000 * (NUM_CLASSES - 4)
    assert bal["top3"] == ["wall", "floor", "cabinet"]
    assert bal["top3_share"] == pytest.approx(45000 / total)
    assert [u["class"] for u in bal["under_min"]] == ["bed"]
    assert bal["under_min"][0]["missing_share"] == pytest.approx(0.002 - 10 / total)
    assert not bal["passes"]
    with pytest.raises(ValueError, match="no labelled pixels"):
        B.class_balance(np.zeros(256))


def test_statistics_and_doc_section(tiny_standin, tmp_path):
    out, _, _ = tiny_standin
    stats = B.collect_statistics(B.TINY, out)
    train = stats["splits"]["train"]
    assert train["rooms_complete"] == 1 and train["views"] == B.TINY.split("train").views_per_room
    room = json.loads((B.room_dir(out / "tiny", "train", B.TINY.split("train").seeds[0]) / "room.json").read_text())
    assert train["gaussians_per_room"] == [room["gaussian_count"]]
    md = B.statistics_markdown(B.TINY, stats)
    for name in class_names():
        assert f"| {name} |" in md
    assert "Class balance on train pixels" in md
    doc = tmp_path / "DOC.md"
    doc.write_text("# SynthRooms\n\n## Scene generator\n\nkept text\n")
    B.write_statistics_doc(md, doc)
    B.write_statistics_doc(md.replace("Subset", "Again, subset"), doc)  # replaces the block, not appends
    text = doc.read_text()
    assert text.count(B.STATS_BEGIN) == 1 and "kept text" in text and "Again, subset" in text
    assert text.index("## Scene generator") < text.index("## Benchmark")
    # inside an existing Benchmark section, before the section that follows it
    doc.write_text("# S\n\n## Benchmark\n\nours\n\n## Scene generator\n\ntheirs\n")
    B.write_statistics_doc(md, doc)
    text = doc.read_text()
    assert text.index("ours") < text.index(B.STATS_BEGIN) < text.index(B.STATS_END) < text.index("## Scene generator")
    assert text.endswith("theirs\n")


def test_cli_rejects_a_missing_directory(tmp_path, capsys):
    assert B.main(["stats", "--out", str(tmp_path / "nothing"), "--subset", "tiny"]) == 2
    assert "no generated subset 'tiny'" in capsys.readouterr().err


def test_committed_showcase_matches_its_description():
    from rtgs2.synthrooms import cameras as C
    from rtgs2.synthrooms.showcase import SHOWCASE_DIR, label_image

    scene = read_ply(SHOWCASE_DIR / "showcase.ply")
    meta = json.loads((SHOWCASE_DIR / "showcase.json").read_text())
    assert meta["seed"] == B.SHOWCASE_SEED and meta["gaussian_count"] == len(scene)
    assert 60_000 <= len(scene) <= 120_000
    counts = np.bincount(scene.labels, minlength=256)
    assert {c["id"]: c["gaussians"] for c in meta["classes"]} == {int(c): int(counts[c]) for c in np.flatnonzero(counts[:255])}
    assert len(meta["classes"]) >= 10  # a room with many classes
    inst = np.bincount(scene.instances[scene.instances != 65535])
    for item in meta["instances"]:
        assert item["gaussians"] == inst[item["instance_id"]]
        assert (scene.labels[scene.instances == item["instance_id"]] == item["class_id"]).all()
    assert all(a.startswith("polyhaven:") for a in meta["assets"])  # CC0 models only
    # the start camera stands on free floor, at eye height, inside the room's furniture-free space
    eye = np.array(meta["camera"]["position"])
    boxes = [i for i in meta["instances"] if "aabb_min" in i and i["class"] not in ("door", "window")]
    for b in boxes:
        lo, hi = np.array(b["aabb_min"]), np.array(b["aabb_max"])
        assert not ((eye[[0, 2]] > lo[[0, 2]]) & (eye[[0, 2]] < hi[[0, 2]])).all(), b["name"]
    assert C.EYE_HEIGHT_RANGE[0] <= eye[1] <= C.EYE_HEIGHT_RANGE[1]
    # the label picture's colours are the class table's
    img = label_image(np.array([[0, 255]], np.uint8))
    assert img[0, 1].tolist() == [0, 0, 0] and img[0, 0].tolist() == [174, 199, 232]


def test_the_furnished_train_rooms_are_new_kitchens_and_offices():
    """The furnished subset (extra train rooms for refrigerators, chairs and desks): kitchens and offices only, of
    seeds in no other split, the showcase or the GPU script's extra train seeds, made with random realism."""
    from rtgs2.synthrooms.generator import ROOM_TYPES
    (train,) = B.FURNISHED.splits
    assert train.name == "train" and len(train.seeds) == 40
    assert {ROOM_TYPES[s % len(ROOM_TYPES)] for s in train.seeds} == {"kitchen", "office"}
    others = {s for d in (B.FULL, B.REALISTIC) for split in d.splits for s in split.seeds} | {B.SHOWCASE_SEED}
    assert not others & set(train.seeds)
    assert min(train.seeds) >= 12000  # the GPU script's extra train seeds are 11000 + n for n < 1000
    assert train.generator_options == {"realism": "random", "shapes": True}
    assert train.views_per_room == B.FULL.split("train").views_per_room
    assert B.SUBSETS["furnished"] is B.FURNISHED
