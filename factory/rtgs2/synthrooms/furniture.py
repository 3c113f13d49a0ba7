"""Parametric furniture: each builder draws its proportions, colours and materials from the room's Generator and
returns surface samples in an object-local frame: origin at the footprint centre on the floor (y = 0), +Y up,
front facing +Z (so a wall object stands with its back at -Z against the wall).

A builder returns a list of `Part`s, one per labelled object (a counter run yields its base cabinets, the counter
top and a sink in it). `support` links an object that stands on or in another one (the tea set on a table, the
sink in a counter) to its supporter's index in the list: such pairs are allowed to touch or interpenetrate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import materials as M
from .gltf import POLYHAVEN_MODELS, load_polyhaven
from .surfaces import Samples, box, disc, ellipsoid, folded_panel, frustum, rectangle, triangle_mesh

# Requested point spacings (metres) near the camera paths: finer on small, detailed objects.
SPACING_LARGE = 0.04  # beds, sofas, wardrobes, counters
SPACING_MEDIUM = 0.032  # chairs, tables, shelves
SPACING_SMALL = 0.02  # books, lamps, faucets, tea set


@dataclass
class Part:
    name: str
    class_name: str
    samples: Samples
    source: str = "procedural"
    support: int | None = None  # index (in the same builder's list) of the part this one stands on / in
    wall_mounted: bool = False  # hangs on the wall above the floor (pictures, upper cabinets)
    may_cover_windows: bool = False  # curtains may hang in front of windows; nothing else tall may


@dataclass
class Style:
    """Per-room choices shared by several builders, so colours repeat across classes within a room."""
    wood: np.ndarray
    paint: np.ndarray
    fabric: np.ndarray
    accent: np.ndarray
    seed: int
    counter: int = 0

    def next_seed(self) -> int:
        self.counter += 1
        return self.seed * 7919 + self.counter * 104729


def _mat_wood(rng, style: Style, color=None):
    return M.Wood(color if color is not None else M.jitter_color(rng, style.wood, 0.06), style.next_seed())


def _mat_paint(rng, style: Style, color=None):
    return M.Material(color if color is not None else M.jitter_color(rng, style.paint, 0.03), style.next_seed(), 0.03)


def _mat_fabric(rng, style: Style, color=None):
    return M.Fabric(color if color is not None else M.jitter_color(rng, style.fabric, 0.06), style.next_seed())


def _body_material(rng, style: Style):
    """Cabinet-like bodies: painted (often the wall's own white) or wood."""
    if rng.uniform() < 0.5:
        return _mat_wood(rng, style, M.jitter_color(rng, M.WOODS[rng.integers(len(M.WOODS))] if rng.uniform() < 0.5
                                                    else style.wood, 0.05))
    paint = style.paint if rng.uniform() < 0.5 else M.WHITES[rng.integers(len(M.WHITES))]
    return _mat_paint(rng, style, M.jitter_color(rng, paint, 0.03))


def _metal(rng, style: Style):
    return M.Metal(M.jitter_color(rng, M.METALS[rng.integers(len(M.METALS))], 0.04), style.next_seed())


def _ceramic(rng, style: Style):
    return M.Material(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.02), style.next_seed(), 0.015)


def _cut_top(samples: Samples, x: float, z: float, w: float, d: float, y_min: float) -> Samples:
    """Remove the points above y_min inside a w x d rectangle centred at (x, z): the hole a basin needs."""
    p = samples.positions
    hole = (np.abs(p[:, 0] - x) < 0.5 * w) & (np.abs(p[:, 2] - z) < 0.5 * d) & (p[:, 1] > y_min)
    return samples.subset(~hole)


def _legs(rng, w, d, h, t, mat, spacing, inset=0.03, round_legs=False):
    parts = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            x, z = sx * (0.5 * w - inset - 0.5 * t), sz * (0.5 * d - inset - 0.5 * t)
            if round_legs:
                parts.append(frustum(rng, (x, 0, z), 0.5 * t, 0.45 * t, h, mat, spacing, top=False))
            else:
                parts.append(box(rng, (x, 0.5 * h, z), (t, h, t), mat, spacing))
    return parts


def _fronts(rng, w, h, y0, z_front, columns, rows, mat, handle_mat, spacing):
    """Door / drawer fronts (slightly proud, with gaps that read as dark lines) and handles on a cabinet face."""
    parts = []
    gap = 0.006
    cw, rh = w / columns, h / rows
    for i in range(columns):
        for j in range(rows):
            cx = -0.5 * w + (i + 0.5) * cw
            cy = y0 + (j + 0.5) * rh
            parts.append(box(rng, (cx, cy, z_front + 0.008), (cw - 2 * gap, rh - 2 * gap, 0.016), mat, spacing, skip=("-z",)))
            if rows > 1 or columns == 1:
                hx, hy = cx, cy + (0.3 * rh if rows > 1 else 0.0)
            else:
                hx, hy = cx + (0.35 if i % 2 == 0 else -0.35) * cw, cy
            parts.append(box(rng, (hx, hy, z_front + 0.026), (min(0.12, 0.5 * cw), 0.015, 0.02), handle_mat, 0.6 * spacing,
                             skip=("-z",)))
    # the dark gaps between fronts: a recessed dark panel behind them
    parts.append(rectangle(rng, (0, y0 + 0.5 * h, z_front + 0.001), (0, 0, 1), (1, 0, 0), 0.5 * w, 0.5 * h,
                           M.Material((0.08, 0.07, 0.06), 1, 0.0), spacing))
    return parts


# ---------------------------------------------------------------------------------------------------------------
# Builders, one per kind of object
# ---------------------------------------------------------------------------------------------------------------

def bed(rng, style: Style, ctx) -> list[Part]:
    w = float(rng.choice([0.9, 1.2, 1.4, 1.6, 1.8])) + rng.uniform(-0.02, 0.02)
    length = rng.uniform(1.95, 2.15)
    frame_h = rng.uniform(0.22, 0.35)
    mattress_h = rng.uniform(0.18, 0.25)
    head_h = rng.uniform(0.85, 1.2)
    frame = _mat_wood(rng, style) if rng.uniform() < 0.6 else _mat_fabric(rng, style, M.jitter_color(rng, M.FABRICS[rng.integers(len(M.FABRICS))]))
    sheet = _mat_fabric(rng, style, M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.03))
    blanket = _mat_fabric(rng, style, M.jitter_color(rng, M.FABRICS[rng.integers(len(M.FABRICS))] if rng.uniform() < 0.7
                                                       else style.fabric, 0.06))
    s = SPACING_LARGE
    if rng.uniform() < 0.4:  # a frame on legs, with a footboard
        leg_h = rng.uniform(0.1, 0.18)
        parts = [box(rng, (0, leg_h + 0.5 * (frame_h - leg_h), 0.04), (w, frame_h - leg_h, length - 0.08), frame, s, skip=()),
                 box(rng, (0, 0.5 * (frame_h + 0.15), 0.5 * length - 0.03), (w + 0.04, frame_h + 0.15, 0.06), frame, s)]
        parts += _legs(rng, w, length - 0.16, leg_h, 0.06, frame, SPACING_MEDIUM, inset=0.02)
    else:  # a box base down to the floor
        parts = [box(rng, (0, 0.5 * frame_h, 0.04), (w, frame_h, length - 0.08), frame, s)]
    parts += [box(rng, (0, 0.5 * head_h, -0.5 * length + 0.04), (w + 0.06, head_h, 0.08), frame, s),
              box(rng, (0, frame_h + 0.5 * mattress_h, 0.05), (w - 0.04, mattress_h, length - 0.12), sheet, s)]
    top = frame_h + mattress_h
    cover = rng.uniform(0.55, 0.8) * (length - 0.1)
    parts.append(box(rng, (0, top - 0.5 * mattress_h + 0.02, 0.5 * length - 0.5 * cover), (w + 0.04, mattress_h + 0.05, cover + 0.02),
                     blanket, s))
    n_pillows = 1 if w < 1.3 else 2
    for k in range(n_pillows):
        px = 0.0 if n_pillows == 1 else (-0.25 + 0.5 * k) * w
        parts.append(ellipsoid(rng, (px, top + 0.06, -0.5 * length + 0.3), (min(0.32, 0.4 * w), 0.07, 0.18), sheet,
                               SPACING_MEDIUM, min_y=-0.05))
    return [Part("bed", "bed", Samples.concatenate(parts))]


def chair(rng, style: Style, ctx, kind: str | None = None) -> list[Part]:
    kind = kind or str(rng.choice(["dining", "office", "armchair"]))
    s = SPACING_MEDIUM
    if kind == "office":
        seat_h, w, d = rng.uniform(0.44, 0.52), rng.uniform(0.46, 0.54), rng.uniform(0.44, 0.5)
        fabric = _mat_fabric(rng, style, M.jitter_color(rng, M.DARKS[rng.integers(len(M.DARKS))] if rng.uniform() < 0.6
                                                          else style.fabric))
        metal = _metal(rng, style)
        parts = [disc(rng, (0, 0.05, 0), 0.3, (0, 1, 0), metal, s),
                 frustum(rng, (0, 0.05, 0), 0.3, 0.29, 0.03, metal, s, top=False),
                 frustum(rng, (0, 0.08, 0), 0.025, 0.025, seat_h - 0.14, metal, SPACING_SMALL, top=False),
                 box(rng, (0, seat_h - 0.04, 0), (w, 0.08, d), fabric, s, skip=()),
                 box(rng, (0, seat_h + 0.35, -0.5 * d + 0.04), (w * 0.95, rng.uniform(0.45, 0.6), 0.06), fabric, s)]
        return [Part("office chair", "chair", Samples.concatenate(parts))]
    if kind == "armchair":
        w, d = rng.uniform(0.7, 0.9), rng.uniform(0.7, 0.85)
        fabric = _mat_fabric(rng, style, M.jitter_color(rng, M.FABRICS[rng.integers(len(M.FABRICS))]))
        seat_h, back_h, arm_h = rng.uniform(0.4, 0.45), rng.uniform(0.8, 1.0), rng.uniform(0.55, 0.65)
        arm_w = rng.uniform(0.1, 0.16)
        parts = [box(rng, (0, 0.5 * seat_h, 0.05), (w - 2 * arm_w, seat_h, d - 0.1), fabric, s),
                 box(rng, (0, 0.5 * back_h, -0.5 * d + 0.08), (w, back_h, 0.16), fabric, s),
                 box(rng, (-0.5 * w + 0.5 * arm_w, 0.5 * arm_h, 0), (arm_w, arm_h, d), fabric, s),
                 box(rng, (0.5 * w - 0.5 * arm_w, 0.5 * arm_h, 0), (arm_w, arm_h, d), fabric, s)]
        return [Part("armchair", "chair", Samples.concatenate(parts))]
    seat_h, w, d = rng.uniform(0.43, 0.48), rng.uniform(0.4, 0.48), rng.uniform(0.4, 0.47)
    frame = _mat_wood(rng, style) if rng.uniform() < 0.7 else _mat_paint(rng, style, M.jitter_color(rng, M.WHITES[0] if rng.uniform() < 0.5 else M.DARKS[0]))
    seat = frame if rng.uniform() < 0.5 else _mat_fabric(rng, style)
    back_h = rng.uniform(0.82, 0.98)
    leg = rng.uniform(0.028, 0.04)
    parts = _legs(rng, w, d, seat_h - 0.03, leg, frame, SPACING_SMALL, inset=0.01, round_legs=rng.uniform() < 0.3)
    parts.append(box(rng, (0, seat_h - 0.015, 0), (w, 0.03, d), seat, s, skip=()))
    for sx in (-1, 1):
        parts.append(box(rng, (sx * (0.5 * w - 0.01 - 0.5 * leg), 0.5 * (seat_h + back_h), -0.5 * d + 0.01 + 0.5 * leg),
                         (leg, back_h - seat_h, leg), frame, SPACING_SMALL))
    slats = int(rng.integers(1, 4))
    for k in range(slats):
        y = back_h - 0.05 - k * 0.12
        parts.append(box(rng, (0, y, -0.5 * d + 0.01 + 0.5 * leg), (w - 0.02, 0.07 if slats > 1 else 0.16, 0.02), frame, s, skip=()))
    return [Part("dining chair", "chair", Samples.concatenate(parts))]


def sofa(rng, style: Style, ctx) -> list[Part]:
    w, d = rng.uniform(1.5, 2.4), rng.uniform(0.82, 0.98)
    fabric = _mat_fabric(rng, style, M.jitter_color(rng, M.FABRICS[rng.integers(len(M.FABRICS))] if rng.uniform() < 0.6
                                                      else style.fabric))
    base_h, back_h, arm_h, arm_w = rng.uniform(0.36, 0.44), rng.uniform(0.78, 0.92), rng.uniform(0.55, 0.68), rng.uniform(0.12, 0.22)
    s = SPACING_LARGE
    parts = [box(rng, (0, 0.5 * base_h, 0.05), (w - 2 * arm_w, base_h, d - 0.1), fabric, s),
             box(rng, (0, 0.5 * back_h, -0.5 * d + 0.1), (w, back_h, 0.2), fabric, s),
             box(rng, (-0.5 * w + 0.5 * arm_w, 0.5 * arm_h, 0), (arm_w, arm_h, d), fabric, s),
             box(rng, (0.5 * w - 0.5 * arm_w, 0.5 * arm_h, 0), (arm_w, arm_h, d), fabric, s)]
    n_cushions = 2 if w < 1.9 else 3
    cw = (w - 2 * arm_w) / n_cushions
    for k in range(n_cushions):
        cx = -0.5 * w + arm_w + (k + 0.5) * cw
        parts.append(box(rng, (cx, base_h + 0.06, 0.08), (cw - 0.02, 0.12, d - 0.26), fabric, s))
        parts.append(box(rng, (cx, base_h + 0.28, -0.5 * d + 0.27), (cw - 0.03, 0.36, 0.14), fabric, s))
    if rng.uniform() < 0.3:  # a chaise: the seat continues forward at one end (an L-shaped sectional)
        side = 1 if rng.uniform() < 0.5 else -1
        cl = rng.uniform(0.6, 0.9)
        cx = side * (0.5 * w - arm_w - 0.5 * cw)
        parts.append(box(rng, (cx, 0.5 * base_h, 0.5 * d + 0.5 * cl), (cw, base_h, cl), fabric, s))
        parts.append(box(rng, (cx, base_h + 0.06, 0.5 * d + 0.5 * cl - 0.02), (cw - 0.02, 0.12, cl - 0.04), fabric, s))
        parts.append(box(rng, (side * (0.5 * w - 0.5 * arm_w), 0.5 * arm_h, 0.5 * d + 0.5 * cl), (arm_w, arm_h, cl), fabric, s))
        return [Part("sectional sofa", "sofa", Samples.concatenate(parts))]
    return [Part("sofa", "sofa", Samples.concatenate(parts))]


def table(rng, style: Style, ctx, kind: str | None = None) -> list[Part]:
    kind = kind or str(rng.choice(["dining", "coffee", "side"]))
    top_mat = _mat_wood(rng, style) if rng.uniform() < 0.7 else _mat_paint(rng, style, M.jitter_color(rng, M.WHITES[1]) if rng.uniform() < 0.5 else None)
    leg_mat = top_mat if rng.uniform() < 0.6 else _metal(rng, style)
    s = SPACING_MEDIUM
    if kind == "dining":
        h = rng.uniform(0.72, 0.77)
        if rng.uniform() < 0.3:
            r = rng.uniform(0.45, 0.6)
            parts = [frustum(rng, (0, h - 0.035, 0), r, r, 0.035, top_mat, s, top=True, bottom=True),
                     frustum(rng, (0, 0, 0), 0.05, 0.05, h - 0.035, leg_mat, SPACING_SMALL, top=False),
                     frustum(rng, (0, 0, 0), 0.25, 0.05, 0.06, leg_mat, s, top=False)]
            return [Part("round dining table", "table", Samples.concatenate(parts))]
        w, d = rng.uniform(0.9, 1.8), rng.uniform(0.75, 1.0)
    elif kind == "coffee":
        h, w, d = rng.uniform(0.38, 0.47), rng.uniform(0.8, 1.25), rng.uniform(0.5, 0.7)
    else:
        h, w, d = rng.uniform(0.5, 0.65), rng.uniform(0.4, 0.55), rng.uniform(0.4, 0.55)
    t = rng.uniform(0.025, 0.045)
    parts = [box(rng, (0, h - 0.5 * t, 0), (w, t, d), top_mat, s, skip=())]
    parts += _legs(rng, w, d, h - t, rng.uniform(0.04, 0.06), leg_mat, SPACING_SMALL, inset=0.04, round_legs=rng.uniform() < 0.4)
    if kind == "coffee" and rng.uniform() < 0.5:
        parts.append(box(rng, (0, 0.12, 0), (w - 0.12, 0.02, d - 0.12), top_mat, s, skip=()))
    return [Part(f"{kind} table", "table", Samples.concatenate(parts))]


def desk(rng, style: Style, ctx) -> list[Part]:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.55, 0.75), rng.uniform(0.72, 0.76)
    mat = _mat_wood(rng, style) if rng.uniform() < 0.6 else _mat_paint(rng, style, M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))]))
    s = SPACING_MEDIUM
    t = 0.03
    parts = [box(rng, (0, h - 0.5 * t, 0), (w, t, d), mat, s, skip=()),
             box(rng, (-0.5 * w + 0.015, 0.5 * (h - t), 0), (0.03, h - t, d - 0.02), mat, s, skip=("-y",)),
             box(rng, (0, 0.5 * h + 0.1, -0.5 * d + 0.03), (w - 0.06, h * 0.45, 0.015), mat, s)]
    if rng.uniform() < 0.6:  # drawer unit on the right
        dw = rng.uniform(0.38, 0.45)
        parts.append(box(rng, (0.5 * w - 0.5 * dw, 0.5 * (h - t), 0), (dw, h - t, d - 0.02), mat, s))
        parts += _fronts(rng, dw - 0.02, h - t - 0.04, 0.02, 0.5 * d - 0.01, 1, 3, mat, _metal(rng, style), s)
    else:
        parts.append(box(rng, (0.5 * w - 0.015, 0.5 * (h - t), 0), (0.03, h - t, d - 0.02), mat, s))
    return [Part("desk", "desk", Samples.concatenate(parts))]


def cabinet(rng, style: Style, ctx, kind: str | None = None) -> list[Part]:
    kind = kind or str(rng.choice(["wardrobe", "dresser", "nightstand", "tv stand", "sideboard"]))
    dims = {"wardrobe": ((0.8, 1.6), (0.55, 0.62), (1.8, min(2.25, ctx.height - 0.2))),
            "dresser": ((0.8, 1.4), (0.42, 0.52), (0.75, 1.05)),
            "nightstand": ((0.4, 0.55), (0.35, 0.45), (0.48, 0.65)),
            "tv stand": ((1.2, 1.8), (0.38, 0.48), (0.42, 0.55)),
            "sideboard": ((1.2, 1.8), (0.42, 0.5), (0.75, 0.9)),
            "vanity": ((0.6, 1.0), (0.45, 0.52), (0.78, 0.84))}[kind]
    w, d, h = (rng.uniform(*r) for r in dims)
    mat = _body_material(rng, style)
    handle = _metal(rng, style)
    s = SPACING_LARGE if kind == "wardrobe" else SPACING_MEDIUM
    plinth = 0.06
    parts = [box(rng, (0, 0.5 * h + 0.5 * plinth, -0.01), (w, h - plinth, d - 0.02), mat, s),
             box(rng, (0, 0.5 * plinth, -0.03), (w - 0.04, plinth, d - 0.06), M.Material((0.1, 0.09, 0.08), 3, 0), s)]
    columns, rows = {"wardrobe": (2 if w > 1.0 else 1, 1), "dresser": (1 if w < 1.0 else 2, 3), "nightstand": (1, 2),
                     "tv stand": (3, 1), "sideboard": (3, 1), "vanity": (2, 1)}[kind]
    parts += _fronts(rng, w - 0.03, h - plinth - 0.03, plinth + 0.015, 0.5 * d - 0.02, columns, rows, mat, handle, s)
    return [Part(kind, "cabinet", Samples.concatenate(parts))]


def books(rng, style: Style, x0: float, x1: float, y: float, z_back: float, max_h: float, max_d: float) -> Samples:
    """A row of books standing between x0 and x1 on a shelf at height y, spines facing +Z."""
    parts = []
    x = x0 + rng.uniform(0, 0.05)
    fill_end = x0 + (x1 - x0) * rng.uniform(0.55, 0.98)
    while x < fill_end:
        bw, bh, bd = rng.uniform(0.018, 0.05), rng.uniform(0.6, 0.95) * max_h, rng.uniform(0.7, 0.98) * max_d
        if x + bw > x1:
            break
        palette = M.BRIGHTS + M.FABRICS + M.DARKS + M.WHITES
        color = M.jitter_color(rng, palette[rng.integers(len(palette))], 0.08)
        parts.append(box(rng, (x + 0.5 * bw, y + 0.5 * bh, z_back + 0.5 * bd), (bw, bh, bd),
                         M.Material(color, style.next_seed(), 0.0), SPACING_SMALL, skip=("-y", "-z")))
        x += bw + (0.0 if rng.uniform() < 0.85 else rng.uniform(0.02, 0.1))
    return Samples.concatenate(parts)


def bookshelf(rng, style: Style, ctx) -> list[Part]:
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.28, 0.36), rng.uniform(1.2, min(2.1, ctx.height - 0.3))
    mat = _body_material(rng, style)
    s = SPACING_MEDIUM
    t = 0.02
    parts = [box(rng, (-0.5 * w + 0.5 * t, 0.5 * h, 0), (t, h, d), mat, s),
             box(rng, (0.5 * w - 0.5 * t, 0.5 * h, 0), (t, h, d), mat, s),
             rectangle(rng, (0, 0.5 * h, -0.5 * d + 0.005), (0, 0, 1), (1, 0, 0), 0.5 * w - t, 0.5 * h, mat, s)]
    n_shelves = max(3, int(h / rng.uniform(0.3, 0.4)))
    gap = h / n_shelves
    for k in range(n_shelves + 1):
        y = min(k * gap, h - t)
        parts.append(box(rng, (0, y + 0.5 * t, 0), (w - 2 * t, t, d - 0.01), mat, s, skip=() if k > 0 else ("-y",)))
        if k < n_shelves and rng.uniform() < 0.9:
            parts.append(books(rng, style, -0.5 * w + t + 0.005, 0.5 * w - t - 0.005, y + t, -0.5 * d + 0.01,
                               gap - t - 0.03, d - 0.03))
    return [Part("bookshelf", "bookshelf", Samples.concatenate(parts))]


def refrigerator(rng, style: Style, ctx) -> list[Part]:
    w, d, h = rng.uniform(0.6, 0.9), rng.uniform(0.62, 0.74), rng.uniform(1.7, min(2.0, ctx.height - 0.3))
    color = M.WHITES[rng.integers(len(M.WHITES))] if rng.uniform() < 0.5 else M.METALS[rng.integers(2)] if rng.uniform() < 0.7 else M.DARKS[0]
    mat = M.Metal(M.jitter_color(rng, color, 0.02), style.next_seed())
    s = SPACING_LARGE
    split = h * rng.uniform(0.3, 0.4) if rng.uniform() < 0.8 else h * 0.65
    parts = [box(rng, (0, 0.5 * h, -0.02), (w, h, d - 0.04), mat, s),
             box(rng, (0, 0.5 * split, 0.5 * d - 0.02), (w - 0.01, split - 0.01, 0.04), mat, s, skip=("-z",)),
             box(rng, (0, 0.5 * (h + split), 0.5 * d - 0.02), (w - 0.01, h - split - 0.01, 0.04), mat, s, skip=("-z",))]
    handle = _metal(rng, style)
    hx = 0.5 * w - 0.07
    parts.append(box(rng, (hx, split - 0.25, 0.5 * d + 0.02), (0.025, 0.3, 0.03), handle, SPACING_SMALL, skip=("-z",)))
    parts.append(box(rng, (hx, split + 0.3, 0.5 * d + 0.02), (0.025, 0.4, 0.03), handle, SPACING_SMALL, skip=("-z",)))
    return [Part("refrigerator", "refrigerator", Samples.concatenate(parts))]


def toilet(rng, style: Style, ctx) -> list[Part]:
    ceramic = _ceramic(rng, style)
    s = SPACING_SMALL
    bowl_h = rng.uniform(0.38, 0.42)
    depth = rng.uniform(0.62, 0.72)
    tank_w, tank_h, tank_d = rng.uniform(0.36, 0.45), rng.uniform(0.32, 0.42), rng.uniform(0.16, 0.2)
    bz = 0.5 * depth - 0.25
    inner = M.Material(np.asarray(ceramic.color) * 0.8, style.next_seed(), 0.01)
    seat_mat = ceramic if rng.uniform() < 0.7 else _mat_wood(rng, style)
    parts = [frustum(rng, (0, 0, bz - 0.05), 0.13, 0.16, bowl_h - 0.08, ceramic, s, top=False),
             ellipsoid(rng, (0, bowl_h - 0.08, bz), (0.19, 0.1, 0.24), ceramic, s, min_y=-0.02),
             ellipsoid(rng, (0, bowl_h - 0.01, bz + 0.01), (0.185, 0.02, 0.235), seat_mat, s),
             ellipsoid(rng, (0, bowl_h + 0.005, bz + 0.01), (0.13, 0.005, 0.16), inner, s),
             box(rng, (0, bowl_h + 0.5 * tank_h - 0.05, -0.5 * depth + 0.5 * tank_d), (tank_w, tank_h, tank_d), ceramic, s),
             box(rng, (0, 0.5 * (bowl_h - 0.05), -0.5 * depth + 0.5 * tank_d + 0.02), (0.2, bowl_h - 0.05, tank_d), ceramic, s)]
    return [Part("toilet", "toilet", Samples.concatenate(parts))]


def faucet(rng, style: Style, x: float, y: float, z: float, reach: float) -> Samples:
    metal = M.Metal(M.jitter_color(rng, M.METALS[0], 0.02), style.next_seed())
    return Samples.concatenate([
        frustum(rng, (x, y, z), 0.02, 0.018, 0.22, metal, SPACING_SMALL),
        box(rng, (x, y + 0.21, z + 0.5 * reach), (0.03, 0.025, reach), metal, SPACING_SMALL),
    ])


def basin(rng, style: Style, w: float, d: float, y_top: float, material, depth: float = 0.15) -> Samples:
    """The inside of a sink bowl whose rim lies at height y_top: an open box seen from above."""
    s = SPACING_SMALL
    return Samples.concatenate([
        rectangle(rng, (0, y_top - depth, 0), (0, 1, 0), (1, 0, 0), 0.5 * w, 0.5 * d, material, s),
        rectangle(rng, (0.5 * w, y_top - 0.5 * depth, 0), (-1, 0, 0), (0, 0, 1), 0.5 * d, 0.5 * depth, material, s),
        rectangle(rng, (-0.5 * w, y_top - 0.5 * depth, 0), (1, 0, 0), (0, 0, -1), 0.5 * d, 0.5 * depth, material, s),
        rectangle(rng, (0, y_top - 0.5 * depth, 0.5 * d), (0, 0, -1), (1, 0, 0), 0.5 * w, 0.5 * depth, material, s),
        rectangle(rng, (0, y_top - 0.5 * depth, -0.5 * d), (0, 0, 1), (-1, 0, 0), 0.5 * w, 0.5 * depth, material, s),
    ])


def bathroom_sink(rng, style: Style, ctx) -> list[Part]:
    """A vanity cabinet with a ceramic sink on top, or a pedestal sink."""
    ceramic = _ceramic(rng, style)
    if rng.uniform() < 0.55:
        vanity = cabinet(rng, style, ctx, "vanity")[0]
        lo, hi = vanity.samples.bounds()
        w, d, top = hi[0] - lo[0], hi[2] - lo[2], hi[1]
        bw, bd = 0.7 * min(w, 0.7), 0.65 * d
        slab = box(rng, (0, top + 0.015, 0.5 * (lo[2] + hi[2])), (w + 0.02, 0.03, d + 0.02), ceramic, SPACING_SMALL)
        keep = ~((np.abs(slab.positions[:, 0]) < 0.5 * bw) & (np.abs(slab.positions[:, 2] - 0.03) < 0.5 * bd)
                 & (slab.positions[:, 1] > top + 0.02))
        sink = Samples.concatenate([slab.subset(keep), basin(rng, style, bw, bd, top + 0.03, ceramic).transformed(0, (0, 0, 0.03)),
                                    faucet(rng, style, 0, top + 0.03, lo[2] + 0.06, 0.12)])
        vanity.samples = _cut_top(vanity.samples, 0.0, 0.03, bw, bd, top - 0.01)  # the basin goes through it
        return [vanity, Part("vanity sink", "sink", sink, support=0)]
    w, d, top = rng.uniform(0.45, 0.6), rng.uniform(0.4, 0.48), rng.uniform(0.8, 0.86)
    parts = [frustum(rng, (0, 0, -0.5 * d + 0.12), 0.08, 0.1, top - 0.15, ceramic, SPACING_SMALL, top=False)]
    shell = box(rng, (0, top - 0.08, 0), (w, 0.16, d), ceramic, SPACING_SMALL, skip=("+y",))
    rim = 0.05
    parts += [shell,
              box(rng, (0, top - 0.01, -0.5 * d + 0.5 * rim), (w, 0.02, rim), ceramic, SPACING_SMALL, skip=("-y",)),
              box(rng, (0, top - 0.01, 0.5 * d - 0.5 * rim), (w, 0.02, rim), ceramic, SPACING_SMALL, skip=("-y",)),
              box(rng, (-0.5 * w + 0.5 * rim, top - 0.01, 0), (rim, 0.02, d - 2 * rim), ceramic, SPACING_SMALL, skip=("-y",)),
              box(rng, (0.5 * w - 0.5 * rim, top - 0.01, 0), (rim, 0.02, d - 2 * rim), ceramic, SPACING_SMALL, skip=("-y",)),
              basin(rng, style, w - 2 * rim, d - 2 * rim, top, ceramic, 0.12),
              faucet(rng, style, 0, top, -0.5 * d + 0.025, 0.1)]
    return [Part("pedestal sink", "sink", Samples.concatenate(parts))]


def bathtub(rng, style: Style, ctx) -> list[Part]:
    """A built-in tub (long side along x, back at -z) and, usually, a shower curtain on a rod along its front."""
    length, w, h = rng.uniform(1.5, 1.8), rng.uniform(0.7, 0.82), rng.uniform(0.5, 0.6)
    ceramic = _ceramic(rng, style)
    s = SPACING_MEDIUM
    rim = 0.07
    parts = [box(rng, (0, 0.5 * h, 0), (length, h, w), ceramic, s, skip=("-y", "+y")),
             box(rng, (0, h - 0.01, -0.5 * w + 0.5 * rim), (length, 0.02, rim), ceramic, s, skip=("-y",)),
             box(rng, (0, h - 0.01, 0.5 * w - 0.5 * rim), (length, 0.02, rim), ceramic, s, skip=("-y",)),
             box(rng, (-0.5 * length + 0.5 * rim, h - 0.01, 0), (rim, 0.02, w - 2 * rim), ceramic, s, skip=("-y",)),
             box(rng, (0.5 * length - 0.5 * rim, h - 0.01, 0), (rim, 0.02, w - 2 * rim), ceramic, s, skip=("-y",)),
             basin(rng, style, length - 2 * rim, w - 2 * rim, h, ceramic, h - 0.08)]
    # A low spout on the rim (so the shower curtain above stays clear of the tub's bounding box).
    steel = M.Metal(M.jitter_color(rng, M.METALS[0], 0.02), style.next_seed())
    parts.append(box(rng, (-0.5 * length + 0.5 * rim, h + 0.025, 0), (0.04, 0.05, 0.12), steel, SPACING_SMALL))
    out = [Part("bathtub", "bathtub", Samples.concatenate(parts))]
    if rng.uniform() < 0.85:
        rod_y = min(ctx.height - 0.15, rng.uniform(1.9, 2.05))
        cover = rng.uniform(0.35, 0.9) * length
        x0 = 0.5 * length - cover if rng.uniform() < 0.5 else -0.5 * length
        palette = M.WHITES + M.BRIGHTS + [(0.6, 0.75, 0.8)]
        cloth = M.Material(M.jitter_color(rng, palette[rng.integers(len(palette))], 0.05), style.next_seed(), 0.05)
        bottom = h + rng.uniform(0.08, 0.14)
        z = 0.5 * w - 0.06
        curtain = folded_panel(rng, (x0 + 0.5 * cover, 0.5 * (rod_y - 0.03 + bottom), z), (0, 0, 1), (1, 0, 0),
                               0.5 * cover, 0.5 * (rod_y - 0.03 - bottom), rng.uniform(0.08, 0.14), rng.uniform(0.03, 0.06),
                               cloth, SPACING_MEDIUM)
        rod = box(rng, (0, rod_y, z), (length, 0.02, 0.02), M.Metal(M.METALS[0], style.next_seed()), SPACING_SMALL, skip=())
        out.append(Part("shower curtain", "shower curtain", Samples.concatenate([curtain, rod]), may_cover_windows=True))
    return out


def counter_run(rng, style: Style, ctx, length: float, with_sink: bool, with_upper: bool) -> list[Part]:
    """Kitchen base cabinets (cabinet), a worktop (counter) on them, a sink in the worktop, maybe upper cabinets
    and small appliances on the worktop (other furniture)."""
    d, h = rng.uniform(0.58, 0.64), rng.uniform(0.86, 0.9)
    body = _body_material(rng, style)
    handle = _metal(rng, style)
    s = SPACING_LARGE
    plinth = 0.1
    n_doors = max(1, int(round(length / rng.uniform(0.45, 0.62))))
    base = [box(rng, (0, 0.5 * h + 0.5 * plinth, -0.02), (length, h - plinth, d - 0.04), body, s),
            box(rng, (0, 0.5 * plinth, -0.05), (length - 0.04, plinth, d - 0.1), M.Material((0.1, 0.1, 0.1), 5, 0), s)]
    base += _fronts(rng, length - 0.02, h - plinth - 0.02, plinth + 0.01, 0.5 * d - 0.04, n_doors, 1, body, handle, s)
    parts = [Part("base cabinets", "cabinet", Samples.concatenate(base))]

    top_mat = (M.Marble if rng.uniform() < 0.4 else M.Material)(M.jitter_color(rng, M.STONES[rng.integers(len(M.STONES))], 0.04),
                                                                  style.next_seed(), 0.05) if rng.uniform() < 0.7 else _mat_wood(rng, style)
    t = rng.uniform(0.03, 0.045)
    slab = box(rng, (0, h + 0.5 * t, 0.01), (length + 0.01, t, d + 0.02), top_mat, s, skip=())
    # Splashback strip against the wall: part of the counter.
    splash = rectangle(rng, (0, h + t + 0.06, -0.5 * d + 0.002), (0, 0, 1), (1, 0, 0), 0.5 * length, 0.06, top_mat, s)
    sink_x = None
    if with_sink and length > 1.1:
        sw, sd = rng.uniform(0.45, 0.7), rng.uniform(0.38, 0.45)
        sink_x = rng.uniform(-0.5 * length + 0.5 * sw + 0.1, 0.5 * length - 0.5 * sw - 0.1)
        hole = (np.abs(slab.positions[:, 0] - sink_x) < 0.5 * sw) & (np.abs(slab.positions[:, 2] - 0.02) < 0.5 * sd) \
            & (slab.positions[:, 1] > h + 0.5 * t)
        slab = slab.subset(~hole)
        parts[0].samples = _cut_top(parts[0].samples, sink_x, 0.02, sw, sd, h - 0.01)  # the basin goes through it
        steel = M.Metal(M.jitter_color(rng, M.METALS[int(rng.integers(2))], 0.03), style.next_seed())
        sink = Samples.concatenate([basin(rng, style, sw, sd, h + t, steel, 0.18).transformed(0, (sink_x, 0, 0.02)),
                                    faucet(rng, style, sink_x, h + t, -0.5 * d + 0.06, 0.2)])
    parts.append(Part("counter top", "counter", Samples.concatenate([slab, splash]), support=0))
    if sink_x is not None:
        parts.append(Part("kitchen sink", "sink", sink, support=1))
    if with_upper and ctx.height > 2.4:
        ud, y0 = rng.uniform(0.32, 0.36), rng.uniform(1.42, 1.52)
        y1 = min(ctx.height - 0.05, y0 + rng.uniform(0.65, 0.8))
        ulen = length * rng.uniform(0.6, 1.0)
        ux = rng.uniform(-0.5 * (length - ulen), 0.5 * (length - ulen))
        up = [box(rng, (ux, 0.5 * (y0 + y1), -0.5 * d + 0.5 * ud), (ulen, y1 - y0, ud), body, s, skip=())]
        up += [p.transformed(0, (ux, 0, 0)) for p in _fronts(rng, ulen - 0.02, y1 - y0 - 0.02, y0 + 0.01, -0.5 * d + ud, max(1, n_doors - 1), 1,
                                                             body, handle, s)]
        parts.append(Part("upper cabinets", "cabinet", Samples.concatenate(up), wall_mounted=True))
    # A cooktop in the worktop, away from the sink: dark glass with rings (other furniture, on the counter top).
    cw_, cd_ = rng.uniform(0.55, 0.75), 0.5
    cooktop_x = None
    for cx in (0.5 * length - 0.5 * cw_ - 0.15, -0.5 * length + 0.5 * cw_ + 0.15):
        if length > cw_ + 0.3 and (sink_x is None or abs(cx - sink_x) > 0.5 * (cw_ + sw) + 0.1):
            cooktop_x = cx
            break
    if with_sink and cooktop_x is not None and rng.uniform() < 0.75:
        glass = M.Material((0.05, 0.05, 0.06), style.next_seed(), 0.03)
        ring = M.Material((0.2, 0.2, 0.22), style.next_seed(), 0.0)
        top_y = h + t
        cook = [box(rng, (cooktop_x, top_y + 0.004, 0.02), (cw_, 0.008, cd_), glass, SPACING_SMALL)]
        for kx in (-0.25, 0.25):
            for kz in (-0.22, 0.22):
                cook.append(disc(rng, (cooktop_x + kx * cw_, top_y + 0.0085, 0.02 + kz * cd_), rng.uniform(0.07, 0.1), (0, 1, 0),
                                 ring, SPACING_SMALL))
        parts.append(Part("cooktop", "other furniture", Samples.concatenate(cook), support=1))
    # An appliance (kettle / microwave / bread box) on the worktop, away from the sink and the cooktop.
    aw, ah, ad = rng.uniform(0.2, 0.48), rng.uniform(0.18, 0.3), rng.uniform(0.2, 0.36)
    ax = -0.5 * length + 0.5 * aw + 0.03 if sink_x is None or sink_x > 0 else 0.5 * length - 0.5 * aw - 0.03
    clear_of_sink = sink_x is None or abs(ax - sink_x) > 0.5 * (aw + sw) + 0.05
    has_cooktop = any(p.name == "cooktop" for p in parts)
    clear_of_sink &= not has_cooktop or abs(ax - cooktop_x) > 0.5 * (aw + cw_) + 0.05
    if rng.uniform() < 0.8 and length > 1.0 and clear_of_sink:
        color = M.jitter_color(rng, (M.WHITES + M.DARKS + M.METALS)[rng.integers(11)], 0.03)
        appl = box(rng, (ax, h + t + 0.5 * ah, -0.5 * d + 0.5 * ad + 0.04), (aw, ah, ad), M.Material(color, style.next_seed(), 0.02),
                   SPACING_SMALL)
        parts.append(Part("appliance", "other furniture", appl, support=1))
    return parts


def floor_lamp(rng, style: Style, ctx) -> list[Part]:
    metal = _metal(rng, style)
    h = rng.uniform(1.4, 1.75)
    shade = M.Fabric(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))] if rng.uniform() < 0.6 else style.accent, 0.04),
                     style.next_seed())
    r0, r1 = rng.uniform(0.18, 0.25), rng.uniform(0.11, 0.17)
    parts = [frustum(rng, (0, 0, 0), 0.15, 0.13, 0.03, metal, SPACING_SMALL),
             frustum(rng, (0, 0.03, 0), 0.015, 0.015, h - 0.3, metal, SPACING_SMALL, top=False),
             frustum(rng, (0, h - 0.32, 0), r0, r1, 0.3, shade, SPACING_SMALL, top=False)]
    return [Part("floor lamp", "other furniture", Samples.concatenate(parts))]


def table_lamp(rng, style: Style, ctx) -> Samples:
    base_c = M.jitter_color(rng, (M.WHITES + M.DARKS + M.BRIGHTS)[rng.integers(16)], 0.04)
    base = M.Material(base_c, style.next_seed(), 0.02)
    shade = M.Fabric(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.04), style.next_seed())
    h = rng.uniform(0.3, 0.5)
    return Samples.concatenate([frustum(rng, (0, 0, 0), 0.07, 0.05, 0.55 * h, base, SPACING_SMALL),
                                frustum(rng, (0, 0.5 * h, 0), 0.14, 0.09, 0.5 * h, shade, SPACING_SMALL, top=False)])


def plant(rng, style: Style, ctx) -> list[Part]:
    pot_c = M.jitter_color(rng, [(0.62, 0.35, 0.22), (0.9, 0.9, 0.88), (0.2, 0.2, 0.22), (0.5, 0.45, 0.4)][rng.integers(4)], 0.05)
    pot = M.Material(pot_c, style.next_seed(), 0.04)
    leaves = M.Carpet(M.jitter_color(rng, [(0.2, 0.4, 0.18), (0.3, 0.5, 0.22), (0.18, 0.33, 0.2)][rng.integers(3)], 0.08),
                      style.next_seed())
    r, ph = rng.uniform(0.12, 0.22), rng.uniform(0.2, 0.4)
    parts = [frustum(rng, (0, 0, 0), 0.8 * r, r, ph, pot, SPACING_SMALL, top=True)]
    n = int(rng.integers(3, 7))
    crown = rng.uniform(0.3, 1.1)
    for _ in range(n):
        c = (rng.uniform(-0.6, 0.6) * r, ph + rng.uniform(0.15, 1.0) * crown, rng.uniform(-0.6, 0.6) * r)
        rad = rng.uniform(0.08, 0.2) * np.array([1.0, rng.uniform(0.6, 1.4), 1.0]) * (0.6 + crown)
        parts.append(ellipsoid(rng, c, np.minimum(rad, [r * 1.8, 0.5, r * 1.8]), leaves, SPACING_SMALL))
    return [Part("plant", "other furniture", Samples.concatenate(parts))]


def storage_boxes(rng, style: Style, ctx) -> list[Part]:
    parts, y = [], 0.0
    w, d = rng.uniform(0.35, 0.6), rng.uniform(0.3, 0.45)
    for _ in range(int(rng.integers(1, 4))):
        h = rng.uniform(0.2, 0.35)
        color = M.jitter_color(rng, [(0.6, 0.48, 0.32), (0.8, 0.78, 0.74), (0.3, 0.4, 0.55), (0.2, 0.2, 0.2)][rng.integers(4)], 0.06)
        parts.append(box(rng, (rng.uniform(-0.02, 0.02), y + 0.5 * h, rng.uniform(-0.02, 0.02)), (w, h, d),
                         M.Material(color, style.next_seed(), 0.05), SPACING_MEDIUM))
        y += h
        w, d = w * rng.uniform(0.75, 0.98), d * rng.uniform(0.8, 0.98)
    return [Part("boxes", "other furniture", Samples.concatenate(parts))]


def bin_(rng, style: Style, ctx) -> list[Part]:
    color = M.jitter_color(rng, (M.METALS + M.WHITES + M.DARKS)[rng.integers(11)], 0.04)
    r, h = rng.uniform(0.12, 0.2), rng.uniform(0.28, 0.5)
    return [Part("bin", "other furniture", frustum(rng, (0, 0, 0), 0.85 * r, r, h, M.Metal(color, style.next_seed()), SPACING_SMALL))]


def towel_rail(rng, style: Style, ctx) -> list[Part]:
    """A rail on the wall with a towel folded over it (other furniture, wall-mounted)."""
    w, y = rng.uniform(0.4, 0.7), rng.uniform(0.95, 1.25)
    steel = _metal(rng, style)
    towel_c = M.jitter_color(rng, (M.WHITES + M.BRIGHTS + M.FABRICS)[rng.integers(23)], 0.05)
    towel = M.Fabric(towel_c, style.next_seed())
    drop = rng.uniform(0.3, 0.5)
    parts = [box(rng, (0, y, 0.08), (w, 0.02, 0.02), steel, SPACING_SMALL, skip=()),
             box(rng, (-0.5 * w + 0.01, y, 0.04), (0.02, 0.02, 0.08), steel, SPACING_SMALL, skip=("-z",)),
             box(rng, (0.5 * w - 0.01, y, 0.04), (0.02, 0.02, 0.08), steel, SPACING_SMALL, skip=("-z",)),
             box(rng, (0, y - 0.5 * drop + 0.01, 0.08), (0.8 * w, drop, 0.035), towel, SPACING_SMALL)]
    return [Part("towel rail", "other furniture", Samples.concatenate(parts), wall_mounted=True)]


def wall_clock(rng, style: Style, ctx) -> list[Part]:
    r, y = rng.uniform(0.12, 0.2), rng.uniform(1.8, min(2.2, ctx.height - 0.35))
    rim = M.Material(M.jitter_color(rng, (M.DARKS + M.WOODS + M.METALS)[rng.integers(13)], 0.04), style.next_seed(), 0.02)
    face = M.Material(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.02), style.next_seed(), 0.0)
    hand = M.Material((0.05, 0.05, 0.05), style.next_seed(), 0.0)
    # Built lying on the floor (a disc facing +Y), then tipped up to face +Z.
    flat = Samples.concatenate([frustum(rng, (0, 0, 0), r, r, 0.04, rim, SPACING_SMALL, top=False),
                                disc(rng, (0, 0.035, 0), 0.92 * r, (0, 1, 0), face, SPACING_SMALL),
                                box(rng, (0, 0.037, -0.3 * r), (0.01, 0.002, 0.6 * r), hand, SPACING_SMALL, skip=()),
                                box(rng, (0.2 * r, 0.037, 0), (0.4 * r, 0.002, 0.01), hand, SPACING_SMALL, skip=())])
    tip = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (x, y, z) -> (x, -z, y): +Y -> +Z
    s = Samples(flat.positions @ tip.T + [0, y, 0], flat.normals @ tip.T, flat.colors, flat.spacing)
    return [Part("wall clock", "other furniture", s, wall_mounted=True)]


def tv(rng, style: Style, width: float) -> Samples:
    w = width
    h = w * 0.58
    dark = M.Material((0.05, 0.05, 0.06), style.next_seed(), 0.02)
    screen = M.Material((0.09, 0.1, 0.12), style.next_seed(), 0.05)
    return Samples.concatenate([
        box(rng, (0, 0.1 + 0.5 * h, 0), (w, h, 0.05), dark, SPACING_SMALL),
        rectangle(rng, (0, 0.1 + 0.5 * h, 0.026), (0, 0, 1), (1, 0, 0), 0.5 * w - 0.015, 0.5 * h - 0.015, screen, SPACING_SMALL),
        box(rng, (0, 0.05, 0), (0.06, 0.1, 0.04), dark, SPACING_SMALL),
        box(rng, (0, 0.005, 0), (0.3, 0.01, 0.2), dark, SPACING_SMALL),
    ])


# ---------------------------------------------------------------------------------------------------------------
# The CC0 Poly Haven models
# ---------------------------------------------------------------------------------------------------------------

def polyhaven(rng, style: Style, ctx, name: str, max_height: float | None = None) -> list[Part]:
    """One of the seven glTF models, scaled by 0.9-1.1 (per axis +-4 %), fitted under `max_height`, and
    recoloured towards a palette colour with a random strength (the texture's detail is kept)."""
    mesh = load_polyhaven(name)
    lo, hi = mesh.bounds
    scale = rng.uniform(0.9, 1.1) * rng.uniform(0.96, 1.04, 3)
    if max_height is not None and (hi[1] - lo[1]) * scale[1] > max_height:
        scale = scale * (max_height / ((hi[1] - lo[1]) * scale[1]))
    centre = np.array([0.5 * (lo[0] + hi[0]), lo[1], 0.5 * (lo[2] + hi[2])])
    verts = (mesh.vertices - centre) * scale
    normals = mesh.normals / scale
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    cls = POLYHAVEN_MODELS[name]
    palette = {"cabinet": M.WHITES + M.PAINTS + M.WOODS, "chair": M.WOODS + M.BRIGHTS + M.WHITES,
               "sofa": M.FABRICS, "other furniture": M.WHITES + M.BRIGHTS, "bookshelf": M.WOODS + M.WHITES,
               "table": M.WOODS + [tuple(style.wood)]}[cls]
    tint = M.jitter_color(rng, palette[rng.integers(len(palette))], 0.04)
    strength = float(rng.uniform(0.0, 0.85)) if rng.uniform() < 0.8 else 0.0
    spacing = SPACING_SMALL * 0.75 if cls == "other furniture" else SPACING_MEDIUM
    parts = []
    for m, image in enumerate(mesh.textures):
        sel = mesh.material == m
        if not sel.any():
            continue
        tex = M.Tinted(image, tint, strength)
        parts.append(triangle_mesh(rng, verts, normals, mesh.uvs, mesh.triangles[sel], tex, spacing))
    return [Part(name.replace("_", " "), cls, Samples.concatenate(parts), source=f"polyhaven:{name}")]
