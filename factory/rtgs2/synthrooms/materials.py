"""Procedural materials: colour as a function of surface coordinates.

A material maps surface coordinates `uv` ((N, 2), metres along the surface, or normalised 0..1 for pictures) to
albedo colours ((N, 3) in [0, 1]). Every random choice is made when the material is created, from the room's
numpy Generator; evaluation is a pure function (hashed lattice noise), so a room's colours depend only on its seed.

Palettes deliberately share colours across classes (white/off-white paints on walls, cabinets, doors and
ceramics; the same wood tones on floors, tables, desks and shelves) so that RGB alone cannot tell classes apart.
"""
from __future__ import annotations

import numpy as np

# Albedo palettes (linear-ish display rgb in [0, 1]). Shared on purpose, see the module docstring.
WHITES = [(0.93, 0.93, 0.91), (0.95, 0.94, 0.90), (0.90, 0.90, 0.90), (0.96, 0.95, 0.93), (0.88, 0.87, 0.84)]
PAINTS = WHITES + [(0.86, 0.82, 0.74), (0.80, 0.83, 0.84), (0.76, 0.81, 0.74), (0.85, 0.78, 0.72),
                   (0.70, 0.74, 0.80), (0.80, 0.80, 0.78), (0.62, 0.66, 0.62)]
WOODS = [(0.55, 0.38, 0.22), (0.66, 0.48, 0.30), (0.42, 0.28, 0.17), (0.75, 0.60, 0.42), (0.33, 0.22, 0.14),
         (0.70, 0.55, 0.36), (0.58, 0.44, 0.30)]
FABRICS = [(0.35, 0.38, 0.45), (0.55, 0.52, 0.48), (0.25, 0.30, 0.40), (0.60, 0.35, 0.30), (0.42, 0.50, 0.38),
           (0.78, 0.74, 0.66), (0.30, 0.30, 0.32), (0.65, 0.58, 0.45), (0.50, 0.22, 0.22), (0.85, 0.84, 0.80)]
DARKS = [(0.12, 0.12, 0.13), (0.20, 0.20, 0.22), (0.18, 0.15, 0.13)]
METALS = [(0.75, 0.76, 0.78), (0.62, 0.63, 0.65), (0.30, 0.31, 0.33)]
TILES = WHITES + [(0.75, 0.78, 0.80), (0.62, 0.70, 0.72), (0.80, 0.76, 0.70), (0.55, 0.55, 0.56)]
STONES = [(0.85, 0.84, 0.82), (0.25, 0.25, 0.26), (0.60, 0.58, 0.55), (0.74, 0.70, 0.64)]
CARPETS = [(0.55, 0.52, 0.48), (0.40, 0.42, 0.46), (0.62, 0.56, 0.50), (0.35, 0.30, 0.28), (0.70, 0.68, 0.64)]
BRIGHTS = [(0.80, 0.25, 0.20), (0.20, 0.45, 0.70), (0.85, 0.70, 0.20), (0.25, 0.55, 0.35), (0.55, 0.30, 0.60),
           (0.90, 0.50, 0.20), (0.15, 0.20, 0.35), (0.70, 0.70, 0.65)]


def _hash(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Integer lattice -> uniform [0, 1): a fixed integer mix (deterministic on every platform)."""
    x = (ix.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
    y = (iy.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
    h = x * np.uint32(374761393) + y * np.uint32(668265263) + np.uint32(seed * 2246822519 & 0xFFFFFFFF)
    h = (h ^ (h >> np.uint32(13))) * np.uint32(1274126177)
    h = h ^ (h >> np.uint32(16))
    return h.astype(np.float64) / 4294967296.0


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1] with unit lattice spacing."""
    iu, iv = np.floor(u), np.floor(v)
    fu, fv = u - iu, v - iv
    fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    iu, iv = iu.astype(np.int64), iv.astype(np.int64)
    a, b = _hash(iu, iv, seed), _hash(iu + 1, iv, seed)
    c, d = _hash(iu, iv + 1, seed), _hash(iu + 1, iv + 1, seed)
    return (a * (1 - fu) + b * fu) * (1 - fv) + (c * (1 - fu) + d * fu) * fv


def fbm(u: np.ndarray, v: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    """Fractal sum of value noise, in [0, 1]."""
    total, amp, norm = np.zeros_like(u, dtype=np.float64), 1.0, 0.0
    for o in range(octaves):
        total += amp * value_noise(u * 2.0 ** o, v * 2.0 ** o, seed + 101 * o)
        norm += amp
        amp *= 0.5
    return total / norm


def jitter_color(rng: np.random.Generator, color, amount: float = 0.05) -> np.ndarray:
    """A palette colour with a small random variation of brightness and hue."""
    c = np.asarray(color, dtype=np.float64) * rng.uniform(1 - amount, 1 + amount)
    c = c + rng.normal(0.0, amount * 0.3, 3)
    return np.clip(c, 0.02, 0.98)


class Material:
    """Base class: a flat colour with subtle low-frequency mottling (paint, plaster, plastic)."""

    def __init__(self, color, seed: int, mottle: float = 0.04, scale: float = 1.5):
        self.color = np.asarray(color, dtype=np.float64)
        self.seed = int(seed)
        self.mottle = mottle
        self.scale = scale

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        if self.mottle == 0:
            return np.tile(np.clip(self.color, 0, 1), (len(uv), 1))
        n = fbm(uv[:, 0] * self.scale, uv[:, 1] * self.scale, self.seed) - 0.5
        return np.clip(self.color[None] * (1.0 + 2 * self.mottle * n[:, None]), 0, 1)


class Carpet(Material):
    def __call__(self, uv: np.ndarray) -> np.ndarray:
        fine = _hash(np.floor(uv[:, 0] * 180).astype(np.int64), np.floor(uv[:, 1] * 180).astype(np.int64), self.seed)
        coarse = fbm(uv[:, 0] * 3, uv[:, 1] * 3, self.seed + 7)
        f = 1.0 + 0.16 * (fine - 0.5) + 0.12 * (coarse - 0.5)
        return np.clip(self.color[None] * f[:, None], 0, 1)


class Fabric(Material):
    def __call__(self, uv: np.ndarray) -> np.ndarray:
        weave = np.sin(uv[:, 0] * 900.0) * np.sin(uv[:, 1] * 900.0)
        f = 1.0 + 0.05 * weave + 0.14 * (fbm(uv[:, 0] * 4, uv[:, 1] * 4, self.seed) - 0.5)
        return np.clip(self.color[None] * f[:, None], 0, 1)


class Wood(Material):
    """Wood grain running along u: stretched noise bands plus fine streaks."""

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        u, v = uv[:, 0], uv[:, 1]
        warp = fbm(u * 0.8, v * 6.0, self.seed)
        rings = 0.5 + 0.5 * np.sin(v * 90.0 + warp * 12.0)
        streak = value_noise(u * 2.0, v * 150.0, self.seed + 3)
        f = 0.86 + 0.16 * rings + 0.1 * (streak - 0.5)
        return np.clip(self.color[None] * f[:, None], 0, 1)


class Planks(Wood):
    """Wooden floor boards: rows of planks along u with staggered joints, per-plank tint and dark seams."""

    def __init__(self, color, seed: int, width: float = 0.15, length: float = 1.2):
        super().__init__(color, seed)
        self.width, self.length = width, length

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        u, v = uv[:, 0], uv[:, 1]
        row = np.floor(v / self.width).astype(np.int64)
        shift = _hash(row, np.zeros_like(row), self.seed + 11) * self.length
        col = np.floor((u + shift) / self.length).astype(np.int64)
        tint = 0.82 + 0.3 * _hash(row, col, self.seed + 13)
        base = super().__call__(uv + np.stack([row * 7.3, col * 3.1], 1)) * tint[:, None]
        fv = v / self.width - row
        fu = (u + shift) / self.length - col
        seam = (np.minimum(fv, 1 - fv) * self.width < 0.003) | (np.minimum(fu, 1 - fu) * self.length < 0.003)
        return np.clip(np.where(seam[:, None], base * 0.45, base), 0, 1)


class Tiles(Material):
    """Square tiles with per-tile variation and grout lines."""

    def __init__(self, color, grout, seed: int, size: float = 0.3):
        super().__init__(color, seed)
        self.grout = np.asarray(grout, dtype=np.float64)
        self.size = size

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        g = uv / self.size
        i = np.floor(g).astype(np.int64)
        f = g - i
        tint = 0.92 + 0.1 * _hash(i[:, 0], i[:, 1], self.seed)
        base = self.color[None] * tint[:, None] * (1 + 0.04 * (fbm(uv[:, 0] * 8, uv[:, 1] * 8, self.seed) - 0.5))[:, None]
        edge = np.minimum(np.minimum(f[:, 0], 1 - f[:, 0]), np.minimum(f[:, 1], 1 - f[:, 1])) * self.size
        return np.clip(np.where((edge < 0.003)[:, None], self.grout[None], base), 0, 1)


class Marble(Material):
    def __call__(self, uv: np.ndarray) -> np.ndarray:
        n = fbm(uv[:, 0] * 3, uv[:, 1] * 3, self.seed, octaves=4)
        veins = np.abs(np.sin(uv[:, 0] * 6 + uv[:, 1] * 2 + n * 9.0)) ** 0.2
        f = 0.8 + 0.2 * veins
        return np.clip(self.color[None] * f[:, None], 0, 1)


class Metal(Material):
    """Brushed metal: fine streaks along u."""

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        streak = value_noise(uv[:, 0] * 3.0, uv[:, 1] * 400.0, self.seed)
        f = 0.9 + 0.2 * streak
        return np.clip(self.color[None] * f[:, None], 0, 1)


class Outside(Material):
    """The bright view through a window: sky over a band of distant greenery/buildings, by height v (metres
    above the window's bottom edge, `height` the window's height)."""

    def __init__(self, seed: int, height: float, rng: np.random.Generator):
        super().__init__((0.8, 0.88, 0.97), seed)
        self.height = height
        self.sky_top = np.array(rng.choice([(0.62, 0.78, 0.98), (0.85, 0.9, 0.97), (0.95, 0.96, 0.98)]))
        self.sky_low = np.array((0.93, 0.95, 0.98))
        self.ground = np.array(rng.choice([(0.45, 0.58, 0.38), (0.62, 0.6, 0.58), (0.55, 0.62, 0.50)]))
        self.horizon = rng.uniform(0.2, 0.45)

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        t = np.clip(uv[:, 1] / self.height, 0, 1)
        sky = self.sky_low[None] + (self.sky_top - self.sky_low)[None] * t[:, None]
        skyline = self.horizon + 0.12 * fbm(uv[:, 0] * 2.0, np.zeros_like(t), self.seed)
        ground = self.ground[None] * (0.85 + 0.3 * fbm(uv[:, 0] * 8, uv[:, 1] * 8, self.seed + 5))[:, None]
        return np.clip(np.where((t < skyline)[:, None], ground, sky), 0, 1)


class Painting(Material):
    """A picture's canvas: a gradient background with a few soft colour blobs and stripes (uv normalised 0..1)."""

    def __init__(self, seed: int, rng: np.random.Generator):
        super().__init__((0.5, 0.5, 0.5), seed)
        picks = rng.choice(len(BRIGHTS + FABRICS), size=5, replace=False)
        palette = np.array(BRIGHTS + FABRICS)[picks]
        self.bg0, self.bg1 = palette[0], palette[1]
        self.blobs = [(rng.uniform(0.1, 0.9, 2), rng.uniform(0.08, 0.3), palette[2 + k]) for k in range(3)]
        self.stripes = rng.uniform() < 0.4

    def __call__(self, uv: np.ndarray) -> np.ndarray:
        t = np.clip(uv[:, 1], 0, 1)[:, None]
        out = self.bg0[None] * (1 - t) + self.bg1[None] * t
        for centre, radius, color in self.blobs:
            d = np.linalg.norm(uv - centre[None], axis=1)
            w = np.clip(1.5 - d / radius, 0, 1)[:, None]
            out = out * (1 - w) + color[None] * w
        if self.stripes:
            s = (np.sin(uv[:, 0] * 40) > 0.6)[:, None]
            out = np.where(s, out * 0.6, out)
        return np.clip(out * (0.95 + 0.1 * fbm(uv[:, 0] * 20, uv[:, 1] * 20, self.seed))[:, None], 0, 1)


class Tinted:
    """A texture-backed material (glTF base colour) recoloured towards a tint while keeping its detail."""

    def __init__(self, image: np.ndarray, tint=None, strength: float = 0.0):
        self.image = image  # (H, W, 3) uint8
        self.tint = None if tint is None else np.asarray(tint, dtype=np.float64)
        self.strength = strength

    def sample(self, uv: np.ndarray) -> np.ndarray:
        h, w = self.image.shape[:2]
        # glTF: uv (0, 0) is the image's top-left corner; textures repeat.
        x = np.floor(np.mod(uv[:, 0], 1.0) * w).astype(np.int64).clip(0, w - 1)
        y = np.floor(np.mod(uv[:, 1], 1.0) * h).astype(np.int64).clip(0, h - 1)
        rgb = self.image[y, x].astype(np.float64) / 255.0
        if self.tint is None or self.strength <= 0:
            return rgb
        lum = rgb @ np.array([0.299, 0.587, 0.114])
        mean = float(self.image.reshape(-1, 3).mean(0) @ np.array([0.299, 0.587, 0.114])) / 255.0
        recolored = self.tint[None] * (lum / max(mean, 1e-3))[:, None]
        return np.clip(rgb * (1 - self.strength) + recolored * self.strength, 0, 1)
