"""Everything data-dependent about the Gaussian encoder, computed OUTSIDE the ONNX graph (ARCHITECTURE.md contract 2).

src/encoder/serialization.ts does exactly the same computations; test/fixtures/encoder/serialization-vectors.json
(written by factory/scripts/make_encoder_vectors.py) proves they agree bit for bit. docs/ENCODER.md is the spec;
the rules that make the two languages agree:
- Voxel coordinates use float32 arithmetic with one rounding per operation (numpy float32 arrays here,
  Math.fround in TypeScript): floor(f32(f32(p - min) / f32(grid))).
- Voxel input features are sums in float64, accumulated in Gaussian index order (np.bincount loops in index order;
  TypeScript loops the same way), then rounded to float32. Only +, *, / are used: no exp/log, whose last bit
  differs between libm and V8.
- Sorting keys are integers (48-bit Morton codes, exact in a float64), ties broken by index (stable sort).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Bits per axis of a voxel coordinate: 16, so a Morton code has 48 bits (exact in a float64 in TypeScript, no BigInt)
# and a scene may span 65536 voxels per axis (3276.8 m at the default 0.05 m grid).
COORD_BITS = 16
MAX_COORD = (1 << COORD_BITS) - 1
POOL_CHILDREN = 8  # grid pooling by 2 in each axis: at most 2 x 2 x 2 children per parent voxel
INPUT_CHANNELS = 10  # contract 2: x y z r g b opacity log_sx log_sy log_sz
VOXEL_CHANNELS = 12  # see voxel_features()
OPACITY_WEIGHT_EPS = 1e-3  # keeps the opacity weights positive, so a voxel of transparent Gaussians has a mean
COUNT_SATURATION = 8.0  # the count channel is n / (n + 8): 0.11 for one Gaussian, 0.5 for eight, -> 1

AXES = {"x": 0, "y": 1, "z": 2}


class SerializationError(ValueError):
    """Bad encoder input. `code` is the runtime's SemanticSplatError code for the same failure (src/errors.ts)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SerializationConfig:
    grid_size: float = 0.05  # metres; METHOD.md: the reference trains on data voxel-subsampled at 0.05 m
    patch_size: int = 64
    levels: int = 3
    orders: tuple[str, ...] = ("xyz", "yzx", "zxy", "zyx")

    def check(self) -> None:
        if not (np.isfinite(self.grid_size) and self.grid_size > 0):
            raise SerializationError("INVALID_ARGUMENT", f"grid size must be a positive finite number, got {self.grid_size}")
        if not (isinstance(self.patch_size, int) and self.patch_size >= 1):
            raise SerializationError("INVALID_ARGUMENT", f"patch_size must be a positive integer, got {self.patch_size}")
        if not (isinstance(self.levels, int) and 1 <= self.levels <= 8):
            raise SerializationError("INVALID_ARGUMENT", f"levels must be an integer in 1..8, got {self.levels}")
        if not self.orders:
            raise SerializationError("INVALID_ARGUMENT", "orders must name at least one axis order")
        for o in self.orders:
            if sorted(o) != ["x", "y", "z"]:
                raise SerializationError("INVALID_ARGUMENT", f"order {o!r} is not a permutation of 'xyz'")


@dataclass
class LevelSerialization:
    coords: np.ndarray  # (V, 3) int32 voxel coordinates at this level
    orders: np.ndarray  # (O, Vp) int32: voxel ids along each curve, padded to a multiple of the patch size
    inverses: np.ndarray  # (O, V) int32: position of each voxel in each (unpadded) order
    pool: np.ndarray | None  # (V, 8) int32 children at the previous level (level >= 1), padded with the first child
    unpool: np.ndarray | None  # (V_prev,) int32 parent at this level of each previous-level voxel (level >= 1)


@dataclass
class SerializedScene:
    count: int  # Gaussians
    gaussian_voxel: np.ndarray  # (N,) int32: level-0 voxel of each Gaussian
    voxel_features: np.ndarray  # (V0, 12) float32
    levels: list[LevelSerialization]
    scene_min: np.ndarray  # (3,) float32

    def feeds(self) -> dict[str, np.ndarray]:
        """The ONNX graph's inputs (names as in docs/ENCODER.md)."""
        feeds = {"voxel_features": self.voxel_features, "gaussian_voxel": self.gaussian_voxel}
        for l, level in enumerate(self.levels):
            feeds[f"coords_l{l}"] = level.coords.astype(np.float32)
            feeds[f"order_l{l}"] = level.orders
            feeds[f"inverse_l{l}"] = level.inverses
            if l > 0:
                feeds[f"pool_l{l}"] = level.pool
                feeds[f"unpool_l{l}"] = level.unpool
        return feeds


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Bit i of each (<= 16-bit) value moves to bit 3 i."""
    v = v.astype(np.uint64) & np.uint64(0xFFFF)
    out = np.zeros_like(v)
    for i in range(COORD_BITS):
        out |= ((v >> np.uint64(i)) & np.uint64(1)) << np.uint64(3 * i)
    return out


def morton_codes(coords: np.ndarray, order: str = "xyz") -> np.ndarray:
    """(M,) uint64 48-bit z-order codes of (M, 3) integer coordinates; the first axis of `order` is the most
    significant in each bit triple."""
    a, b, c = (coords[:, AXES[ch]] for ch in order)
    return (_spread_bits(a) << np.uint64(2)) | (_spread_bits(b) << np.uint64(1)) | _spread_bits(c)


def stable_order(keys: np.ndarray) -> np.ndarray:
    """Indices that sort `keys` ascending, ties by index."""
    return np.argsort(keys, kind="stable").astype(np.int64)


def unique_voxels(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct voxels of (M, 3) int coordinates, numbered in xyz-Morton order; returns (unique (V, 3) int32,
    voxel id of each input (M,) int32)."""
    perm = stable_order(morton_codes(coords, "xyz"))
    sorted_coords = coords[perm]
    new_run = np.ones(len(perm), dtype=bool)
    new_run[1:] = np.any(sorted_coords[1:] != sorted_coords[:-1], axis=1)
    run_id = np.cumsum(new_run) - 1
    ids = np.empty(len(perm), dtype=np.int32)
    ids[perm] = run_id
    return sorted_coords[new_run].astype(np.int32), ids


def pad_order(order: np.ndarray, patch_size: int) -> np.ndarray:
    """Pads an order to a multiple of the patch size: position j >= V takes the voxel at j - P (the same slot of
    the previous patch, a near neighbour along the curve), or at j mod V when there is a single patch."""
    v = len(order)
    vp = -(-v // patch_size) * patch_size
    out = np.empty(vp, dtype=np.int32)
    out[:v] = order
    for j in range(v, vp):
        out[j] = out[j - patch_size] if j >= patch_size else order[j % v]
    return out


def serialize_level(coords: np.ndarray, config: SerializationConfig) -> tuple[np.ndarray, np.ndarray]:
    orders, inverses = [], []
    v = len(coords)
    for name in config.orders:
        order = stable_order(morton_codes(coords, name))
        inverse = np.empty(v, dtype=np.int32)
        inverse[order] = np.arange(v, dtype=np.int32)
        orders.append(pad_order(order.astype(np.int32), config.patch_size))
        inverses.append(inverse)
    return np.stack(orders), np.stack(inverses)


def pool_children(parent: np.ndarray, parent_count: int) -> np.ndarray:
    """(parent_count, 8) int32: the children of each parent in ascending id, padded with the first child (max
    pooling over duplicates is exact)."""
    perm = stable_order(parent)
    counts = np.bincount(parent, minlength=parent_count)
    if counts.max() > POOL_CHILDREN:  # cannot happen for grid pooling by 2; guards the invariant
        raise SerializationError("INVALID_ARGUMENT", f"a parent voxel has {counts.max()} children (max {POOL_CHILDREN})")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(POOL_CHILDREN)[None, :]
    take = np.where(slot < counts[:, None], starts[:, None] + slot, starts[:, None])
    return perm[take].astype(np.int32)


def check_channels(channels: np.ndarray) -> np.ndarray:
    channels = np.asarray(channels)
    if channels.ndim != 2 or channels.shape[1] != INPUT_CHANNELS:
        raise SerializationError("INVALID_ARGUMENT", f"channels must be (N, {INPUT_CHANNELS}), got shape {channels.shape}")
    if len(channels) == 0:
        raise SerializationError("EMPTY_SCENE", "the scene has zero Gaussians: nothing to encode")
    channels = np.ascontiguousarray(channels, dtype=np.float32)
    bad = ~np.isfinite(channels)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        what = "position" if c < 3 else "channel"
        raise SerializationError("INVALID_ARGUMENT", f"Gaussian {i} has a non-finite {what} (channel {c}); "
                                 f"{int(bad.any(axis=1).sum())} Gaussians are affected")
    return channels


def voxel_coordinates(positions: np.ndarray, grid_size: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) int64 level-0 voxel coordinates, and the scene minimum (3,) float32."""
    scene_min = positions.min(axis=0)
    scaled = (positions - scene_min[None, :]) / np.float32(grid_size)  # float32, one rounding per op
    assert scaled.dtype == np.float32
    coords = np.floor(scaled).astype(np.int64)
    top = coords.max(axis=0)
    for axis in range(3):
        if top[axis] > MAX_COORD:
            extent = float(positions[:, axis].max()) - float(scene_min[axis])
            raise SerializationError(
                "INVALID_ARGUMENT",
                f"the scene spans {extent:.6g} m along {'xyz'[axis]}: {top[axis] + 1} voxels of {grid_size} m, more than "
                f"the {MAX_COORD + 1} that {COORD_BITS}-bit codes hold (check the scene's units, or use a larger grid)")
    return coords, scene_min


def voxel_features(channels: np.ndarray, voxel_of: np.ndarray, coords: np.ndarray, scene_min: np.ndarray,
                   grid_size: float) -> np.ndarray:
    """(V, 12) float32 voxel inputs. Weights w = opacity + 1e-3. Channels:
    0-2 weighted mean centre minus the voxel centre, in voxel units; 3 weighted mean height above the scene's lowest
    centre (m; +Y is up); 4-6 weighted mean rgb; 7 mean opacity; 8-10 weighted mean log-scales; 11 n / (n + 8).
    Sums in float64 in Gaussian index order (np.bincount's loop), then one rounding to float32."""
    v = len(coords)
    c64 = channels.astype(np.float64)
    w = c64[:, 6] + OPACITY_WEIGHT_EPS
    sum_w = np.bincount(voxel_of, weights=w, minlength=v)
    count = np.bincount(voxel_of, minlength=v).astype(np.float64)

    def wmean(col: int) -> np.ndarray:
        return np.bincount(voxel_of, weights=w * c64[:, col], minlength=v) / sum_w

    out = np.empty((v, VOXEL_CHANNELS), dtype=np.float64)
    mn = scene_min.astype(np.float64)
    g = float(grid_size)
    for axis in range(3):
        out[:, axis] = ((wmean(axis) - mn[axis]) / g - coords[:, axis]) - 0.5
    out[:, 3] = wmean(1) - mn[1]
    for k, col in enumerate((3, 4, 5)):
        out[:, 4 + k] = wmean(col)
    out[:, 7] = np.bincount(voxel_of, weights=c64[:, 6], minlength=v) / count
    for k, col in enumerate((7, 8, 9)):
        out[:, 8 + k] = wmean(col)
    out[:, 11] = count / (count + COUNT_SATURATION)
    return out.astype(np.float32)


def serialize_scene(channels: np.ndarray, config: SerializationConfig = SerializationConfig()) -> SerializedScene:
    """The whole out-of-graph preparation of one scene: (N, 10) float32 channels -> SerializedScene."""
    config.check()
    channels = check_channels(channels)
    coords, scene_min = voxel_coordinates(channels[:, :3], config.grid_size)
    level_coords, gaussian_voxel = unique_voxels(coords)
    feats = voxel_features(channels, gaussian_voxel, level_coords, scene_min, config.grid_size)
    levels = []
    parent = None
    for l in range(config.levels):
        if l > 0:
            level_coords, parent = unique_voxels(levels[-1].coords.astype(np.int64) >> 1)
        orders, inverses = serialize_level(level_coords.astype(np.int64), config)
        pool = pool_children(parent, len(level_coords)) if l > 0 else None
        levels.append(LevelSerialization(level_coords, orders, inverses, pool, parent))
    return SerializedScene(len(channels), gaussian_voxel, feats, levels, scene_min)
