"""Out-of-graph serialization of the Gaussian encoder (rtgs2.encoder.serialization): properties and bad inputs.
Cross-language identity with src/encoder/serialization.ts is tested in test/encoder/serialization.spec.ts on the
vectors factory/scripts/make_encoder_vectors.py writes; test_vectors_are_current checks they are up to date."""
import json
from pathlib import Path

import numpy as np
import pytest

from rtgs2.encoder.serialization import (
    MAX_COORD, SerializationConfig, SerializationError, morton_codes, serialize_scene)

REPO = Path(__file__).resolve().parents[2]


def random_channels(n, seed=0, extent=3.0, offset=0.0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, extent, (n, 3)) + offset, rng.uniform(0, 1, (n, 4)),
                           rng.normal(-4, 1, (n, 3))], 1).astype(np.float32)


def test_morton_interleaves_bits_with_first_axis_most_significant():
    c = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 0, 0], [MAX_COORD, MAX_COORD, MAX_COORD]])
    assert morton_codes(c, "xyz").tolist() == [4, 2, 1, 32, (1 << 48) - 1]
    assert morton_codes(c, "zyx").tolist() == [1, 2, 4, 8, (1 << 48) - 1]


def test_structure_of_a_random_scene():
    cfg = SerializationConfig(grid_size=0.1, patch_size=16, levels=3)
    ch = random_channels(2000)
    s = serialize_scene(ch, cfg)
    assert s.gaussian_voxel.dtype == np.int32 and s.gaussian_voxel.shape == (2000,)
    coords0 = np.floor((ch[:, :3] - ch[:, :3].min(0)) / np.float32(0.1)).astype(np.int64)
    # every Gaussian sits in its voxel, voxels are distinct
    np.testing.assert_array_equal(s.levels[0].coords[s.gaussian_voxel], coords0)
    assert len(np.unique(s.levels[0].coords, axis=0)) == len(s.levels[0].coords)
    for l, lv in enumerate(s.levels):
        v = len(lv.coords)
        assert lv.orders.shape[1] % 16 == 0 and lv.orders.shape[1] >= v
        for o in range(len(cfg.orders)):
            order = lv.orders[o, :v]
            assert sorted(order.tolist()) == list(range(v))  # a permutation
            np.testing.assert_array_equal(lv.inverses[o][order], np.arange(v))
            codes = morton_codes(lv.coords.astype(np.int64), cfg.orders[o])[order]
            assert np.all(np.diff(codes.astype(np.float64)) > 0)  # distinct voxels: strictly increasing codes
            assert np.all(lv.orders[o, v:] < v)  # padding repeats real voxels
        if l > 0:
            prev = s.levels[l - 1].coords
            np.testing.assert_array_equal(lv.coords[lv.unpool], prev >> 1)  # parent = child >> 1
            for p in range(v):  # pool rows list exactly the children, padded with the first
                children = np.flatnonzero(lv.unpool == p)
                assert set(lv.pool[p].tolist()) == set(children.tolist()) and lv.pool[p, 0] == children[0]


def test_voxel_features_are_weighted_means():
    ch = random_channels(300, seed=3, extent=0.3)
    s = serialize_scene(ch, SerializationConfig(grid_size=0.1, patch_size=8, levels=2))
    v = 5
    members = np.flatnonzero(s.gaussian_voxel == v)
    w = ch[members, 6].astype(np.float64) + 1e-3
    mean = (w[:, None] * ch[members].astype(np.float64)).sum(0) / w.sum()
    f = s.voxel_features[v]
    np.testing.assert_allclose(f[4:7], mean[3:6], rtol=1e-6)
    np.testing.assert_allclose(f[8:11], mean[7:10], rtol=1e-6)
    np.testing.assert_allclose(f[7], ch[members, 6].mean(), rtol=1e-6)
    np.testing.assert_allclose(f[11], len(members) / (len(members) + 8), rtol=1e-6)
    np.testing.assert_allclose(f[3], mean[1] - ch[:, 1].min(), rtol=1e-5)
    assert np.all(np.abs(s.voxel_features[:, :3]) <= 0.5 + 1e-5)


def test_ties_one_point_and_translation():
    one = serialize_scene(random_channels(1), SerializationConfig(patch_size=4, levels=3))
    for lv in one.levels:
        assert lv.coords.tolist() == [[0, 0, 0]] and lv.orders.tolist() == [[0] * 4] * 4
    # identical Gaussians: one voxel, ties keep index order
    same = np.repeat(random_channels(1), 5, axis=0)
    s = serialize_scene(same)
    assert s.gaussian_voxel.tolist() == [0] * 5
    # translating by whole voxels changes nothing (everything is relative to the scene minimum)
    ch = random_channels(500, seed=5)
    ch[:, :3] = np.round(ch[:, :3] * 64) / 64  # positions exact in float32 before and after the move
    a = serialize_scene(ch, SerializationConfig(grid_size=0.25))
    moved = ch.copy()
    moved[:, :3] += np.float32(-1024.0)  # exact in float32, a multiple of 0.25
    b = serialize_scene(moved, SerializationConfig(grid_size=0.25))
    np.testing.assert_array_equal(a.gaussian_voxel, b.gaussian_voxel)
    for la, lb in zip(a.levels, b.levels):
        np.testing.assert_array_equal(la.orders, lb.orders)


@pytest.mark.parametrize("make,code,words", [
    (lambda: np.zeros((0, 10), np.float32), "EMPTY_SCENE", "zero Gaussians"),
    (lambda: np.zeros((4, 9), np.float32), "INVALID_ARGUMENT", "(N, 10)"),
    (lambda: np.where(np.arange(40).reshape(4, 10) == 21, np.nan, 0).astype(np.float32), "INVALID_ARGUMENT", "Gaussian 2 has a non-finite position"),
    (lambda: np.where(np.arange(40).reshape(4, 10) == 5, np.inf, 0).astype(np.float32), "INVALID_ARGUMENT", "non-finite channel"),
    (lambda: np.array([[0] * 10, [4000] + [0] * 9], np.float32), "INVALID_ARGUMENT", "spans 4000 m along x"),
])
def test_bad_inputs(make, code, words):
    with pytest.raises(SerializationError) as e:
        serialize_scene(make())
    assert e.value.code == code and words in str(e.value)


def test_bad_config():
    with pytest.raises(SerializationError, match="grid size"):
        serialize_scene(random_channels(3), SerializationConfig(grid_size=0.0))
    with pytest.raises(SerializationError, match="permutation"):
        serialize_scene(random_channels(3), SerializationConfig(orders=("xxy",)))


def test_vectors_are_current():
    """The committed shared vectors are what the current Python code produces."""
    from scripts.make_encoder_vectors import build_vectors
    committed = json.loads((REPO / "test/fixtures/encoder/serialization-vectors.json").read_text())
    assert build_vectors() == committed
