"""Training sees what the runtime feeds: encoder input through a random similarity, the scene-frame estimator and
the normalisation (rtgs2.random_frames), and the encoder's real-capture variety."""
import numpy as np
import pytest

from rtgs2.encoder.train import variety
from rtgs2.random_frames import framed_input_channels, similarity_transform
from rtgs2.synthrooms.generator import generate_room


@pytest.fixture(scope="module")
def room():
    return generate_room(1000, max_gaussians=30_000)


def test_similarity_transform_moves_positions_scales_and_orientations(room):
    g = room.gaussians
    angle = 0.7
    r = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    xyz, ls, q = similarity_transform(g, r, 2.5, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(xyz, 2.5 * g.positions @ r.T + [1, 2, 3], atol=1e-4)
    np.testing.assert_allclose(ls, g.log_scales + np.log(2.5), atol=1e-6)
    # each Gaussian's axes turn with the scene: R_new = r @ R_old
    from rtgs2.gaussians import GaussianScene

    moved = GaussianScene(xyz, g.colors, g.opacities, ls, q)
    np.testing.assert_allclose(moved.rotation_matrices(), np.einsum("ij,njk->nik", r, g.rotation_matrices()), atol=1e-4)


def test_framed_input_is_the_canonical_room_up_to_the_estimate(room):
    g = room.gaussians
    ok = 0
    for seed in range(6):
        channels, record = framed_input_channels(g, seed)
        assert channels.shape == (len(g), 10) and channels.dtype == np.float32
        np.testing.assert_array_equal(channels[:, 3:7], np.concatenate([g.colors, g.opacities[:, None]], 1))
        if record["fallback"]:
            continue
        ok += 1
        assert record["up_error_deg"] < 3.0
        assert abs(record["scale_ratio"] - 1) < 0.1
        # metres again, +Y up, the floor at 0: the height range is the room's
        y = channels[:, 1]
        assert abs(np.percentile(y, 1) - np.percentile(g.positions[:, 1], 1)) < 0.1
        assert abs(np.percentile(y, 99) - np.percentile(g.positions[:, 1], 99)) < 0.3
        np.testing.assert_allclose(np.sort(channels[:, 7:10].ravel())[::997],
                                   np.sort(g.log_scales.ravel())[::997], atol=0.1)
    assert ok >= 4, "the estimator fell back on most rooms"


def test_framed_input_is_deterministic_per_seed(room):
    a, _ = framed_input_channels(room.gaussians, 3)
    b, _ = framed_input_channels(room.gaussians, 3)
    c, _ = framed_input_channels(room.gaussians, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_variety_changes_density_noise_scales_and_colours(room):
    channels = room.gaussians.input_channels()
    rng = np.random.default_rng(0)
    kept_share, scale_shift = [], []
    for _ in range(8):
        rows, out = variety(channels, rng)
        assert out.shape == (len(rows), 10) and np.all(np.isfinite(out))
        assert np.all(np.diff(rows) > 0) and rows.max() < len(channels)
        assert out[:, 3:7].min() >= 0 and out[:, 3:7].max() <= 1
        kept_share.append(len(rows) / len(channels))
        scale_shift.append(float((out[:, 7:10] - channels[rows, 7:10]).mean()))
        assert np.abs(out[:, :3] - channels[rows, :3]).max() < 0.1
    assert min(kept_share) > 0.4 and max(kept_share) <= 1.0 and np.std(kept_share) > 0.02
    assert max(scale_shift) - min(scale_shift) > 0.1
