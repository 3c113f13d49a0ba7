"""`generate_room(seed)`: one SynthRooms room as a labelled 3D Gaussian scene.

Steps: the room type (from the seed: `ROOM_TYPES[seed % 5]`, so every split of consecutive seeds is balanced),
its floor polygon (rectangle or L) and height; a door and windows cut into the walls; curtains at the windows;
furniture units chosen by the room type's program and placed by simple rules (backs against walls, beds between
nightstands, chairs around tables and in front of desks, nothing interpenetrating: footprints are tested in the
floor plane with a margin, everything also in 3D, and doors' swing areas and windows stay clear of tall
objects); pictures on free wall space; then every surface is sampled, lit (baked Lambert + ambient occlusion
near floor and ceiling), and turned into Gaussians (rtgs2.synthrooms.gaussianize).

Determinism: only numpy Generators seeded from `seed` (layout and geometry from `default_rng([seed, 1])`, the
Gaussians from `default_rng([seed, 2])`), fixed iteration orders everywhere; the same seed gives identical PLY
bytes.

Labels: every Gaussian carries its class id (contract 4) and an instance id: 0 = floor, 1 = ceiling, then one
per wall, door, window and object; floaters are `none` (255) with no instance (65535). Skirting boards belong to
their wall. Books belong to their bookshelf; appliances, lamps, the TV and the tea set are `other furniture`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classes import class_id, class_names
from . import furniture as F
from . import materials as M
from .gaussianize import gaussianize
from .room import (MORE_SHAPES, Furniture, Opening, Room, Wall, distance_to_edges, make_floor_polygon,
                   make_shaped_polygon, make_walls, points_in_polygon)
from .surfaces import Samples, box, folded_panel, frustum, rectangle, rotation_y

ROOM_TYPES = ("bedroom", "living room", "kitchen", "bathroom", "office")
DEFAULT_MAX_GAUSSIANS = 110_000
DEFAULT_MIN_GAUSSIANS = 80_000  # small rooms (bathrooms) are refined up to about this many
SHELL_SPACING = 0.05  # walls, floor, ceiling: large flat surfaces get the coarsest Gaussians
# (width range, depth range) of the bounding rectangle per room type, metres
ROOM_SIZES = {"bedroom": ((3.0, 4.6), (3.2, 5.0)), "living room": ((4.0, 6.5), (3.6, 6.0)),
              "kitchen": ((2.8, 5.0), (2.8, 4.6)), "bathroom": ((2.0, 3.2), (2.2, 3.4)),
              "office": ((3.0, 5.0), (3.0, 5.5))}
L_SHAPE_PROBABILITY = {"bedroom": 0.35, "living room": 0.45, "kitchen": 0.35, "bathroom": 0.0, "office": 0.35}
FOOTPRINT_MARGIN = 0.04  # m between floor footprints of different units
MAX_FLOOR_FILL = 0.42  # optional units stop once this fraction of the floor is covered (cameras need free floor)
PROBE_EYE_HEIGHT = 1.5
PROBE_STEP = 0.5
PROBE_WALL_MARGIN = 0.45
OVERLAP_TOLERANCE = 1e-3  # AABBs may touch (a worktop on its cabinets), not interpenetrate by more than this


class GeneratorError(ValueError):
    pass


@dataclass
class _Placed:
    part: F.Part
    samples: Samples  # in the scene frame
    lo: np.ndarray
    hi: np.ndarray
    instance_id: int = -1
    unit: list | None = None  # the parts placed together with this one (supports index into it)


def _boxes_overlap(lo_a, hi_a, lo_b, hi_b, tol: float = OVERLAP_TOLERANCE) -> bool:
    return bool(np.all(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b) > tol))


def _rotated_aabb(lo: np.ndarray, hi: np.ndarray, yaw: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    w = corners @ rotation_y(yaw).T + t
    return w.min(axis=0), w.max(axis=0)


class _RoomBuilder:
    def __init__(self, seed: int, room_type: str, rng: np.random.Generator, l_shape: bool | None,
                 shapes: bool = False):
        self.seed, self.room_type, self.rng = seed, room_type, rng
        (w0, w1), (d0, d1) = ROOM_SIZES[room_type]
        width, depth = rng.uniform(w0, w1), rng.uniform(d0, d1)
        l_shaped = rng.uniform() < L_SHAPE_PROBABILITY[room_type] if l_shape is None else l_shape
        if l_shaped and min(width, depth) < 3.0:
            width, depth = max(width, 3.6), max(depth, 3.6)
        self.polygon = make_floor_polygon(rng, width, depth, l_shaped)
        if shapes and room_type != "bathroom":
            # more room shapes, from their own stream: the draws above are the same as without the option
            shape_rng = np.random.default_rng([seed, 5])
            if shape_rng.uniform() < 0.6:
                width, depth = max(width, 4.2), max(depth, 4.2)
                shape = MORE_SHAPES[int(shape_rng.integers(len(MORE_SHAPES)))]
                self.polygon = make_shaped_polygon(shape_rng, width, depth, shape)
        self.height = float(rng.uniform(2.5, 3.0))
        self.walls = make_walls(self.polygon)
        self.floor_area = 0.5 * abs(float(np.dot(self.polygon[:, 0], np.roll(self.polygon[:, 1], -1))
                                          - np.dot(self.polygon[:, 1], np.roll(self.polygon[:, 0], -1))))
        wood = M.WOODS[rng.integers(len(M.WOODS))]
        paint = M.PAINTS[rng.integers(len(M.PAINTS))]
        fabric = M.FABRICS[rng.integers(len(M.FABRICS))]
        accent = M.BRIGHTS[rng.integers(len(M.BRIGHTS))]
        self.style = F.Style(np.array(wood), np.array(paint), np.array(fabric), np.array(accent), seed)
        # room-wide light colour: warm, neutral or cool, and a brightness
        self.tint = np.array([(1.0, 0.97, 0.92), (1.0, 1.0, 1.0), (0.96, 0.98, 1.0)][int(rng.integers(3))]) * rng.uniform(0.92, 1.04)

        self.openings: list[Opening] = []
        self.placed: list[_Placed] = []  # furniture, in placement order
        self.floor_boxes: list[np.ndarray] = []  # (x0, z0, x1, z1) of floor-standing placed objects
        self.boxes3d: list[tuple[np.ndarray, np.ndarray]] = []
        self.door_zones: list[np.ndarray] = []
        self.window_zones: list[tuple[np.ndarray, np.ndarray]] = []
        self.floor_used = 0.0

    # -- wall frames ------------------------------------------------------------------------------------------
    @staticmethod
    def wall_frame(wall: Wall) -> tuple[float, np.ndarray, float]:
        """(yaw, origin, sign): an object-local frame on a wall, with local +Z = the wall's inward normal, origin
        at the wall's start on the floor, and local x = sign * s for the distance s along the wall."""
        yaw = float(np.arctan2(wall.normal[0], wall.normal[1]))
        x_dir = rotation_y(yaw) @ np.array([1.0, 0.0, 0.0])
        sign = float(np.sign(x_dir[0] * wall.direction[0] + x_dir[2] * wall.direction[1]))
        return yaw, np.array([wall.start[0], 0.0, wall.start[1]]), sign

    def openings_on(self, wall: int) -> list[Opening]:
        return [o for o in self.openings if o.wall == wall]

    # -- fit tests --------------------------------------------------------------------------------------------
    def footprint_inside(self, x0, z0, x1, z1) -> bool:
        corners = np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]])
        inset = corners + np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * 1e-4
        if not points_in_polygon(inset, self.polygon).all():
            return False
        p = self.polygon
        inner = (p[:, 0] > x0 + 1e-6) & (p[:, 0] < x1 - 1e-6) & (p[:, 1] > z0 + 1e-6) & (p[:, 1] < z1 - 1e-6)
        return not inner.any()

    def fits(self, parts: list[F.Part], los, his, exempt_windows: bool = False) -> bool:
        for part, lo, hi in zip(parts, los, his):
            if hi[1] > self.height - 0.02 or lo[1] < -1e-6:
                return False
            if not self.footprint_inside(lo[0], lo[2], hi[0], hi[2]):
                return False
            if part.support is None and not part.wall_mounted:
                m = FOOTPRINT_MARGIN
                for b in self.floor_boxes:
                    if lo[0] < b[2] + m and b[0] < hi[0] + m and lo[2] < b[3] + m and b[1] < hi[2] + m:
                        return False
                for b in self.door_zones:
                    if lo[0] < b[2] and b[0] < hi[0] and lo[2] < b[3] and b[1] < hi[2]:
                        return False
            for blo, bhi in self.boxes3d:
                if _boxes_overlap(lo, hi, blo, bhi):
                    return False
            if not (exempt_windows or part.may_cover_windows):
                for wlo, whi in self.window_zones:
                    if _boxes_overlap(lo, hi, wlo, whi):
                        return False
        return True

    def commit(self, parts: list[F.Part], yaw: float, t: np.ndarray) -> list[_Placed]:
        out = []
        for part in parts:
            s = part.samples.transformed(yaw, t)
            lo, hi = s.bounds()
            p = _Placed(part, s, lo, hi)
            out.append(p)
            self.boxes3d.append((lo, hi))
            if part.support is None and not part.wall_mounted:
                self.floor_boxes.append(np.array([lo[0], lo[2], hi[0], hi[2]]))
                self.floor_used += (hi[0] - lo[0]) * (hi[2] - lo[2])
        # supports refer to indices within this unit -> keep the list, instance ids are given at the end
        for p in out:
            p.unit = out
        self.placed.extend(out)
        return out

    def place(self, parts: list[F.Part], mode: str = "wall", tries: int = 80, wall: int | None = None,
              s_target: float | None = None, optional: bool = True, exempt_windows: bool = False):
        """Try to place a unit (parts in one local frame) `tries` times. mode: 'wall' (back against a wall),
        'corner' (against a wall, at one of its ends) or 'free' (anywhere, yaw in 90-degree steps). Returns
        (placed parts, wall index, s) or None."""
        if not parts:
            return None
        local = [p.samples.bounds() for p in parts]
        floor_parts = [b for p, b in zip(parts, local) if p.support is None and not p.wall_mounted] or local
        ulo = np.min([b[0] for b in floor_parts], axis=0)
        uhi = np.max([b[1] for b in floor_parts], axis=0)
        area = (uhi[0] - ulo[0]) * (uhi[2] - ulo[2])
        if optional and self.floor_used + area > MAX_FLOOR_FILL * self.floor_area:
            return None
        half_w = 0.5 * (uhi[0] - ulo[0])
        xc = 0.5 * (uhi[0] + ulo[0])
        rng = self.rng
        lengths = np.array([w.length for w in self.walls])
        for _ in range(tries):
            if mode == "free":
                yaw = 0.5 * np.pi * int(rng.integers(4))
                lo_p, hi_p = self.polygon.min(axis=0), self.polygon.max(axis=0)
                c = rng.uniform(lo_p, hi_p)
                zc = 0.5 * (uhi[2] + ulo[2])
                t = np.array([c[0], 0.0, c[1]]) - rotation_y(yaw) @ np.array([xc, 0.0, zc])
                wi, s = -1, 0.0
            else:
                ok = lengths >= 2 * half_w + 0.04
                if wall is not None:
                    ok &= np.arange(len(lengths)) == wall
                if not ok.any():
                    return None
                p = np.where(ok, lengths, 0.0)
                wi = int(rng.choice(len(lengths), p=p / p.sum()))
                w = self.walls[wi]
                lo_s, hi_s = half_w + 0.02, w.length - half_w - 0.02
                if s_target is not None:
                    s = s_target + rng.normal(0, 0.02)
                elif mode == "corner":
                    s = lo_s if rng.uniform() < 0.5 else hi_s
                else:
                    s = rng.uniform(lo_s, hi_s)
                if not lo_s - 1e-9 <= s <= hi_s + 1e-9:
                    continue
                if any(p.wall_mounted for p in parts) and any(
                        o.s0 - 0.1 < s + half_w and s - half_w < o.s1 + 0.1 for o in self.openings_on(wi)):
                    continue  # nothing hangs over a door or window opening
                yaw, origin, sign = self.wall_frame(w)
                gap = rng.uniform(0.005, 0.04)
                anchor = origin + np.array([w.direction[0], 0, w.direction[1]]) * s + np.array([w.normal[0], 0, w.normal[1]]) * gap
                t = anchor - rotation_y(yaw) @ np.array([xc, 0.0, ulo[2]])
            boxes = [_rotated_aabb(lo, hi, yaw, t) for lo, hi in local]
            if self.fits(parts, [b[0] for b in boxes], [b[1] for b in boxes], exempt_windows):
                return self.commit(parts, yaw, t), wi, s
        return None

    # -- the shell --------------------------------------------------------------------------------------------
    def cut_openings(self) -> None:
        rng = self.rng
        order = rng.permutation(len(self.walls))
        # Door: on a wall long enough, away from the corners.
        for wi in order:
            w = self.walls[wi]
            width = rng.uniform(0.8, 0.95)
            if w.length < width + 0.4:
                continue
            s0 = rng.uniform(0.15, w.length - width - 0.15)
            top = min(self.height - 0.25, rng.uniform(2.0, 2.12))
            self.openings.append(Opening("door", int(wi), s0, s0 + width, 0.0, top, class_id=class_id("door")))
            break
        n_windows = {"bedroom": (1, 2), "living room": (1, 3), "kitchen": (1, 2), "bathroom": (0, 1), "office": (1, 2)}[self.room_type]
        n = int(rng.integers(n_windows[0], n_windows[1] + 1))
        if self.room_type == "bathroom" and rng.uniform() < 0.7:
            n = 1
        for _ in range(n):
            for _attempt in range(20):
                wi = int(rng.integers(len(self.walls)))
                w = self.walls[wi]
                width = rng.uniform(0.55, 0.9) if self.room_type == "bathroom" else rng.uniform(0.7, 1.8)
                if w.length < width + 0.5:
                    continue
                s0 = rng.uniform(0.25, w.length - width - 0.25)
                if any(o.s0 - 0.4 < s0 + width and s0 < o.s1 + 0.4 for o in self.openings_on(wi)):
                    continue
                # kitchen windows sit above the worktops; bathroom windows high up
                sill = {"bathroom": (1.2, 1.5), "kitchen": (0.97, 1.15)}.get(self.room_type, (0.7, 1.0))
                sill = rng.uniform(*sill)
                top = min(self.height - 0.22, rng.uniform(2.0, 2.35))
                if top - sill < 0.45:
                    continue
                self.openings.append(Opening("window", wi, s0, s0 + width, sill, top, class_id=class_id("window")))
                break
        for o in self.openings:
            w = self.walls[o.wall]
            a = w.start + w.direction * (o.s0 - 0.1)
            b = w.start + w.direction * (o.s1 + 0.1) + w.normal * (1.0 if o.kind == "door" else 0.6)
            if o.kind == "door":
                self.door_zones.append(np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])]))
            else:
                self.window_zones.append((np.array([min(a[0], b[0]), o.bottom - 0.03, min(a[1], b[1])]),
                                          np.array([max(a[0], b[0]), o.top + 0.05, max(a[1], b[1])])))

    def shell_samples(self) -> list[tuple[str, str, Samples, bool]]:
        """(name, class, samples, lit) for the floor, ceiling, each wall (with skirting), door and window."""
        rng, style, h = self.rng, self.style, self.height
        out = []
        lo, hi = self.polygon.min(axis=0), self.polygon.max(axis=0)
        centre = 0.5 * (lo + hi)
        half = 0.5 * (hi - lo)
        t = self.room_type
        r = rng.uniform()
        if t in ("bathroom", "kitchen") and r < 0.8:
            floor_mat = M.Tiles(M.jitter_color(rng, M.TILES[rng.integers(len(M.TILES))], 0.04),
                                M.jitter_color(rng, (0.55, 0.55, 0.53), 0.1), style.next_seed(), rng.uniform(0.2, 0.6))
        elif t in ("bedroom", "office") and r < 0.35:
            floor_mat = M.Carpet(M.jitter_color(rng, M.CARPETS[rng.integers(len(M.CARPETS))], 0.05), style.next_seed())
        else:
            floor_mat = M.Planks(M.jitter_color(rng, style.wood, 0.05), style.next_seed(), rng.uniform(0.1, 0.22),
                                 rng.uniform(0.8, 1.6))
        floor = rectangle(rng, (centre[0], 0.0, centre[1]), (0, 1, 0), (1, 0, 0), half[0], half[1], floor_mat, SHELL_SPACING)
        floor = floor.subset(points_in_polygon(floor.positions[:, [0, 2]], self.polygon))
        out.append(("floor", "floor", floor, True))
        ceil_mat = M.Material(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.02), style.next_seed(), 0.02)
        ceiling = rectangle(rng, (centre[0], h, centre[1]), (0, -1, 0), (1, 0, 0), half[0], half[1], ceil_mat, SHELL_SPACING)
        ceiling = ceiling.subset(points_in_polygon(ceiling.positions[:, [0, 2]], self.polygon))
        # A ceiling light: a flat disc, part of the ceiling (ScanNet labels such fixtures with the ceiling).
        light = M.Material((0.98, 0.97, 0.94), style.next_seed(), 0.0)
        lamp = frustum(rng, (centre[0], h - 0.04, centre[1]), 0.2, 0.2, 0.04, light, F.SPACING_SMALL, top=False, bottom=True)
        lamp = lamp.subset(points_in_polygon(lamp.positions[:, [0, 2]], self.polygon))
        out.append(("ceiling", "ceiling", Samples.concatenate([ceiling, lamp]), True))

        if t == "bathroom" and rng.uniform() < 0.7:
            wall_mat = M.Tiles(M.jitter_color(rng, M.TILES[rng.integers(len(M.TILES))], 0.03),
                               M.jitter_color(rng, (0.75, 0.75, 0.72), 0.05), style.next_seed(), rng.uniform(0.1, 0.3))
        else:
            wall_mat = M.Material(M.jitter_color(rng, style.paint, 0.02), style.next_seed(), 0.03, 0.8)
        skirting_mat = M.Material(M.jitter_color(rng, M.WHITES[0] if rng.uniform() < 0.6 else style.wood, 0.03), style.next_seed(), 0.02)
        for w in self.walls:
            yaw, origin, sign = self.wall_frame(w)
            holes = []
            for o in self.openings_on(w.index):
                a0, a1 = sorted((sign * (o.s0 - 0.5 * w.length), sign * (o.s1 - 0.5 * w.length)))
                holes.append((a0, a1, o.bottom - 0.5 * h, o.top - 0.5 * h))
            centre_x = sign * 0.5 * w.length
            wall = rectangle(rng, (centre_x, 0.5 * h, 0.0), (0, 0, 1), (1, 0, 0), 0.5 * w.length, 0.5 * h, wall_mat,
                             SHELL_SPACING, uv_offset=(centre_x, 0.5 * h), holes=holes)
            # Skirting board along the wall, interrupted by the door.
            skirting = box(rng, (centre_x, 0.04, 0.008), (w.length - 0.002, 0.08, 0.016), skirting_mat, F.SPACING_MEDIUM, skip=("-y", "-z"))
            for o in self.openings_on(w.index):
                if o.kind == "door":
                    x = sign * skirting.positions[:, 0]
                    skirting = skirting.subset(~((x > o.s0 - 0.06) & (x < o.s1 + 0.06)))
            out.append((f"wall {w.index}", "wall", Samples.concatenate([wall, skirting]).transformed(yaw, origin), True))

        for o in self.openings:
            w = self.walls[o.wall]
            yaw, origin, sign = self.wall_frame(w)
            x0, x1 = sorted((sign * o.s0, sign * o.s1))
            xm, width = 0.5 * (x0 + x1), x1 - x0
            trim = rng.uniform(0.04, 0.08)
            frame_mat = M.Material(M.jitter_color(rng, M.WHITES[rng.integers(len(M.WHITES))], 0.02), style.next_seed(), 0.02) \
                if rng.uniform() < 0.6 else M.Wood(M.jitter_color(rng, style.wood, 0.05), style.next_seed())
            parts = [box(rng, (x0 - 0.5 * trim, 0.5 * (o.bottom + o.top + trim), 0.012), (trim, o.top + trim - o.bottom, 0.024), frame_mat,
                         F.SPACING_MEDIUM, skip=("-z",)),
                     box(rng, (x1 + 0.5 * trim, 0.5 * (o.bottom + o.top + trim), 0.012), (trim, o.top + trim - o.bottom, 0.024), frame_mat,
                         F.SPACING_MEDIUM, skip=("-z",)),
                     box(rng, (xm, o.top + 0.5 * trim, 0.012), (width, trim, 0.024), frame_mat, F.SPACING_MEDIUM, skip=("-z",))]
            if o.kind == "door":
                leaf_mat = M.Wood(M.jitter_color(rng, M.WOODS[rng.integers(len(M.WOODS))], 0.05), style.next_seed()) \
                    if rng.uniform() < 0.5 else M.Material(M.jitter_color(rng, style.paint if rng.uniform() < 0.5 else M.WHITES[1], 0.02),
                                                           style.next_seed(), 0.02)
                parts.append(rectangle(rng, (xm, 0.5 * o.top, 0.01), (0, 0, 1), (1, 0, 0), 0.5 * width, 0.5 * o.top, leaf_mat, F.SPACING_MEDIUM))
                # Raised panels on the leaf.
                for k in range(2):
                    y0 = 0.12 + k * 0.5 * (o.top - 0.1)
                    parts.append(box(rng, (xm, y0 + 0.2 * o.top, 0.018), (0.7 * width, 0.38 * o.top, 0.012), leaf_mat, F.SPACING_MEDIUM, skip=("-z",)))
                hx = x0 + 0.08 if rng.uniform() < 0.5 else x1 - 0.08
                handle = M.Metal(M.jitter_color(rng, M.METALS[int(rng.integers(3))], 0.03), style.next_seed())
                parts.append(box(rng, (hx, 1.0, 0.05), (0.03, 0.03, 0.06), handle, F.SPACING_SMALL, skip=("-z",)))
                parts.append(box(rng, (hx + (0.05 if hx < xm else -0.05), 1.0, 0.085), (0.12, 0.02, 0.02), handle, F.SPACING_SMALL, skip=("-z",)))
                out.append(("door", "door", Samples.concatenate(parts).transformed(yaw, origin), True))
            else:
                glass = rectangle(rng, (xm, 0.5 * (o.bottom + o.top), 0.004), (0, 0, 1), (1, 0, 0), 0.5 * width, 0.5 * (o.top - o.bottom),
                                  M.Outside(style.next_seed(), o.top - o.bottom, rng), F.SPACING_MEDIUM,
                                  uv_offset=(xm, 0.5 * (o.top - o.bottom)))
                parts.append(box(rng, (xm, o.bottom - 0.015, 0.04), (width + 2 * trim + 0.04, 0.03, 0.08), frame_mat, F.SPACING_SMALL, skip=("-z",)))
                n_mullions = int(width // 0.7)
                for k in range(n_mullions):
                    mx = x0 + (k + 1) * width / (n_mullions + 1)
                    parts.append(box(rng, (mx, 0.5 * (o.bottom + o.top), 0.015), (0.04, o.top - o.bottom, 0.03), frame_mat, F.SPACING_SMALL, skip=("-z",)))
                if rng.uniform() < 0.6:
                    ty = o.bottom + rng.uniform(0.45, 0.65) * (o.top - o.bottom)
                    parts.append(box(rng, (xm, ty, 0.015), (width, 0.04, 0.03), frame_mat, F.SPACING_SMALL, skip=("-z",)))
                out.append(("window glass", "window", glass.transformed(yaw, origin), False))
                out.append(("window", "window", Samples.concatenate(parts).transformed(yaw, origin), True))
            lo3, hi3 = Samples.concatenate(parts).transformed(yaw, origin).bounds()
            o.aabb_min, o.aabb_max = lo3, hi3
        return out

    # -- wall decorations -------------------------------------------------------------------------------------
    def curtains(self) -> None:
        rng, style = self.rng, self.style
        p = {"bedroom": 0.9, "living room": 0.85, "kitchen": 0.35, "bathroom": 0.1, "office": 0.6}[self.room_type]
        for o in [o for o in self.openings if o.kind == "window"]:
            if rng.uniform() >= p:
                continue
            w = self.walls[o.wall]
            yaw, origin, sign = self.wall_frame(w)
            color = M.jitter_color(rng, (M.FABRICS + M.WHITES)[rng.integers(len(M.FABRICS) + len(M.WHITES))], 0.05)
            cloth = M.Fabric(color, style.next_seed())
            rod_y = min(self.height - 0.04, o.top + rng.uniform(0.08, 0.2))
            to_floor = rng.uniform() < 0.7
            bottom = 0.01 if to_floor else max(0.05, o.bottom - rng.uniform(0.05, 0.15))
            off = rng.uniform(0.07, 0.12)
            sides = [0, 1] if rng.uniform() < 0.75 else [int(rng.integers(2))]
            for side in sides:
                width = rng.uniform(0.3, 0.6)
                overlap = rng.uniform(0.05, 0.25) * (o.s1 - o.s0)
                if side == 0:
                    s0, s1 = max(0.03, o.s0 - (width - overlap)), o.s0 + overlap
                else:
                    s0, s1 = o.s1 - overlap, min(w.length - 0.03, o.s1 + (width - overlap))
                x0, x1 = sorted((sign * s0, sign * s1))
                panel = folded_panel(rng, (0.5 * (x0 + x1), 0.5 * (rod_y + bottom), off), (0, 0, 1), (1, 0, 0), 0.5 * (x1 - x0),
                                     0.5 * (rod_y - bottom), rng.uniform(0.09, 0.16), rng.uniform(0.04, 0.08), cloth, F.SPACING_MEDIUM)
                rod = box(rng, (0.5 * (x0 + x1), rod_y + 0.01, off), (x1 - x0, 0.02, 0.02), M.Metal(M.METALS[1], style.next_seed()),
                          F.SPACING_SMALL, skip=())
                part = F.Part("curtain", "curtain", Samples.concatenate([panel, rod]), wall_mounted=not to_floor,
                              may_cover_windows=True)
                lo, hi = part.samples.transformed(yaw, origin).bounds()
                if self.fits([part], [lo], [hi], exempt_windows=True):
                    self.commit([part], yaw, origin)

    def pictures(self, count: int) -> None:
        rng, style = self.rng, self.style
        for _ in range(count):
            for _attempt in range(30):
                wi = int(rng.integers(len(self.walls)))
                w = self.walls[wi]
                pw, ph = rng.uniform(0.3, 1.1), rng.uniform(0.25, 0.8)
                if w.length < pw + 0.3:
                    continue
                s = rng.uniform(0.15 + 0.5 * pw, w.length - 0.15 - 0.5 * pw)
                yc = rng.uniform(1.3, 1.75)
                if yc + 0.5 * ph > self.height - 0.2:
                    continue
                if any(o.s0 - 0.1 < s + 0.5 * pw and s - 0.5 * pw < o.s1 + 0.1 for o in self.openings_on(wi)):
                    continue
                yaw, origin, sign = self.wall_frame(w)
                frame_w, depth = rng.uniform(0.015, 0.05), rng.uniform(0.015, 0.035)
                frame_mat = M.Wood(M.jitter_color(rng, (M.WOODS + M.DARKS + M.WHITES)[rng.integers(15)], 0.04), style.next_seed())
                canvas = M.Painting(style.next_seed(), rng)
                x = sign * s
                parts = [box(rng, (x, yc, 0.5 * depth), (pw, ph, depth), frame_mat, F.SPACING_SMALL, skip=("-z",))]
                inner = rectangle(rng, (x, yc, depth + 0.001), (0, 0, 1), (1, 0, 0), 0.5 * pw - frame_w, 0.5 * ph - frame_w,
                                  lambda uv, pw=pw, ph=ph, fw=frame_w, c=canvas: c(np.stack([(uv[:, 0] + 0.5 * pw - fw) / (pw - 2 * fw),
                                                                                          (uv[:, 1] + 0.5 * ph - fw) / (ph - 2 * fw)], 1)),
                                  F.SPACING_SMALL)
                # the frame's front face lies under the canvas: keep only its border
                front = np.abs(parts[0].positions[:, 2] - depth) < 1e-9
                inside_ = (np.abs(parts[0].positions[:, 0] - x) < 0.5 * pw - frame_w) & (np.abs(parts[0].positions[:, 1] - yc) < 0.5 * ph - frame_w)
                parts[0] = parts[0].subset(~(front & inside_))
                part = F.Part("picture", "picture", Samples.concatenate(parts + [inner]), wall_mounted=True)
                lo, hi = part.samples.transformed(yaw, origin).bounds()
                if self.fits([part], [lo], [hi]):
                    self.commit([part], yaw, origin)
                    break

    # -- furniture programs -----------------------------------------------------------------------------------
    def with_top(self, base: list[F.Part], item: Samples, name: str, cls: str, source: str = "procedural",
                 margin: float = 0.85, at_x: float | None = None) -> list[F.Part]:
        """`item` (local, on the floor) scaled to fit on base[0]'s top and put there (supported by it); `at_x`
        in [-0.5, 0.5] fixes its position across the top (else random)."""
        lo, hi = base[0].samples.bounds()
        ilo, ihi = item.bounds()
        scale = min(1.0, margin * (hi[0] - lo[0]) / (ihi[0] - ilo[0]), margin * (hi[2] - lo[2]) / (ihi[2] - ilo[2]))
        top = hi[1]
        cx, cz = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[2] + hi[2])
        free_x = (hi[0] - lo[0]) - scale * (ihi[0] - ilo[0])
        free_z = (hi[2] - lo[2]) - scale * (ihi[2] - ilo[2])
        dx = (self.rng.uniform(-0.4, 0.4) if at_x is None else at_x) * free_x
        dz = self.rng.uniform(-0.4, 0.4) * free_z
        icx, icz = 0.5 * (ilo[0] + ihi[0]), 0.5 * (ilo[2] + ihi[2])
        placed = Samples((item.positions - [icx, ilo[1], icz]) * scale + [cx + dx, top + 0.002, cz + dz], item.normals, item.colors,
                         item.spacing * max(scale, 0.6))
        return base + [F.Part(name, cls, placed, source=source, support=0)]

    def table_with_chairs(self, kind: str = "dining", polyhaven_table: bool = False, stools: bool = False) -> list[F.Part]:
        rng, style = self.rng, self.style
        tparts = F.polyhaven(rng, style, self, "wooden_table_02") if polyhaven_table else F.table(rng, style, self, kind)
        lo, hi = tparts[0].samples.bounds()
        parts = list(tparts)
        if rng.uniform() < 0.5:
            tea = F.polyhaven(rng, style, self, "tea_set_01")[0]
            parts = self.with_top(parts, tea.samples, tea.name, tea.class_name, tea.source, margin=0.6)
        chair_kind = str(rng.choice(["dining", "dining", "armchair"])) if kind == "dining" else "dining"
        proto = F.polyhaven(rng, style, self, "painted_wooden_stool")[0] if stools else F.chair(rng, style, self, chair_kind)[0]
        clo, chi = proto.samples.bounds()
        cd = chi[2] - clo[2]
        cw = chi[0] - clo[0]
        sides = [(0.0, (0, 0, hi[2] + 0.05 + 0.5 * cd), hi[0] - lo[0]), (np.pi, (0, 0, lo[2] - 0.05 - 0.5 * cd), hi[0] - lo[0]),
                 (0.5 * np.pi, (hi[0] + 0.05 + 0.5 * cd, 0, 0), hi[2] - lo[2]), (-0.5 * np.pi, (lo[0] - 0.05 - 0.5 * cd, 0, 0), hi[2] - lo[2])]
        n_per = [max(1, int((sides[0][2] + 0.1) // (cw + 0.12)))] * 2 + [1, 1]
        for (face_yaw, pos, span), n in zip(sides, n_per):
            if rng.uniform() < 0.3:
                continue
            n = int(rng.integers(1, n + 1))
            for k in range(n):
                offset = (k - 0.5 * (n - 1)) * (span / n)
                # the chair's front (+Z) faces the table: yaw = heading away from the side's outward direction
                yaw = face_yaw + np.pi
                c = proto if k == 0 and face_yaw == 0.0 else (F.polyhaven(rng, style, self, "painted_wooden_stool")[0] if stools else proto)
                p = np.array(pos, dtype=float)
                if face_yaw in (0.0, np.pi):
                    p[0] += offset
                else:
                    p[2] += offset
                ccx, ccz = 0.5 * (clo[0] + chi[0]), 0.5 * (clo[2] + chi[2])
                t = p - rotation_y(yaw) @ np.array([ccx, 0, ccz])
                parts.append(F.Part(c.name, c.class_name, c.samples.transformed(yaw, t), source=c.source))
        return parts

    def desk_with_chair(self) -> list[F.Part]:
        rng, style = self.rng, self.style
        parts = F.desk(rng, style, self)
        lo, hi = parts[0].samples.bounds()
        if rng.uniform() < 0.6:
            parts = self.with_top(parts, F.table_lamp(rng, style, self), "table lamp", "other furniture", margin=0.3, at_x=-0.5)
        if rng.uniform() < 0.5:
            monitor = F.tv(rng, style, rng.uniform(0.45, 0.65))
            parts = self.with_top(parts, monitor, "monitor", "other furniture", margin=0.45, at_x=0.35)
        c = F.chair(rng, style, self, "office" if rng.uniform() < 0.6 else "dining")[0]
        clo, chi = c.samples.bounds()
        t = np.array([0.0, 0.0, hi[2] + 0.08 + 0.5 * (chi[2] - clo[2])]) - rotation_y(np.pi) @ np.array(
            [0.5 * (clo[0] + chi[0]), 0, 0.5 * (clo[2] + chi[2])])
        parts.append(F.Part(c.name, c.class_name, c.samples.transformed(np.pi, t)))
        return parts

    def place_required(self, make, modes=("wall",), tries: int = 80, attempts: int = 4):
        """Place a unit the room type needs: each attempt builds a new one (`make()`, new proportions) and tries
        each mode in turn."""
        for _ in range(attempts):
            parts = make()
            for mode in modes:
                placed = self.place(parts, mode, tries=tries, optional=False)
                if placed is not None:
                    return placed
        return None

    def maybe(self, p: float) -> bool:
        return bool(self.rng.uniform() < p)

    def cabinet_any(self, kind: str | None = None) -> list[F.Part]:
        """A procedural cabinet or, a third of the time, one of the two Poly Haven cabinets."""
        rng = self.rng
        if self.maybe(0.35):
            name = "painted_wooden_cabinet" if self.maybe(0.5) else "painted_wooden_cabinet_02"
            return F.polyhaven(rng, self.style, self, name, max_height=self.height - 0.25)
        return F.cabinet(rng, self.style, self, kind)

    def small_decor(self, n: int) -> None:
        if self.room_type in ("living room", "kitchen", "office") and self.maybe(0.4):
            self.place(F.wall_clock(self.rng, self.style, self), "wall", tries=30)
        builders = [F.plant, F.storage_boxes, F.bin_] + ([] if self.room_type == "bathroom" else [F.floor_lamp])
        for _ in range(n):
            builder = builders[int(self.rng.integers(len(builders)))]
            self.place(builder(self.rng, self.style, self), "corner" if self.maybe(0.6) else "wall", tries=40)

    def furnish(self) -> None:
        rng, style, t = self.rng, self.style, self.room_type
        if t == "bedroom":
            bed_unit = self.place_required(lambda: F.bed(rng, style, self))
            if bed_unit is not None:
                placed, wi, s = bed_unit
                for side in (-1, 1):
                    if self.maybe(0.8):
                        ns = F.cabinet(rng, style, self, "nightstand")
                        nlo, nhi = ns[0].samples.bounds()
                        bw = self.walls[wi]
                        # the bed's width along the wall
                        along = abs(np.dot((placed[0].hi - placed[0].lo)[[0, 2]], np.abs(bw.direction)))
                        if self.maybe(0.7):
                            ns = self.with_top(ns, F.table_lamp(rng, style, self), "table lamp", "other furniture", margin=0.6)
                        self.place(ns, "wall", tries=6, wall=wi, s_target=s + side * (0.5 * along + 0.5 * (nhi[0] - nlo[0]) + 0.06))
            self.place(self.cabinet_any("wardrobe" if self.maybe(0.7) else "dresser"), "wall", tries=80)
            if self.maybe(0.5):
                self.place(self.cabinet_any("dresser"), "wall")
            if self.maybe(0.35):
                self.place(self.desk_with_chair(), "wall")
            if self.maybe(0.3):
                self.place(self.bookshelf_any(), "wall")
            if self.maybe(0.3):
                self.place(F.chair(rng, style, self, "armchair"), "corner")
            self.small_decor(int(rng.integers(1, 4)))
        elif t == "living room":
            sofa = F.polyhaven(rng, style, self, "sofa_03") if self.maybe(0.4) else F.sofa(rng, style, self)
            if self.maybe(0.8):
                # a coffee table in front of the sofa, in the same unit
                table = F.table(rng, style, self, "coffee")
                if self.maybe(0.55):
                    tea = F.polyhaven(rng, style, self, "tea_set_01")[0]
                    table = self.with_top(table, tea.samples, tea.name, tea.class_name, tea.source, margin=0.75)
                slo, shi = sofa[0].samples.bounds()
                tlo, thi = table[0].samples.bounds()
                dz = shi[2] + rng.uniform(0.3, 0.5) - tlo[2]
                n_sofa = len(sofa)
                for p in table:
                    sup = None if p.support is None else p.support + n_sofa
                    sofa.append(F.Part(p.name, p.class_name, p.samples.transformed(0.0, (0, 0, dz)), p.source, sup))
            if self.place(sofa, "wall", tries=150, optional=False) is None:
                self.place_required(lambda: F.sofa(rng, style, self))
            if self.maybe(0.7):
                stand = F.cabinet(rng, style, self, "tv stand")
                slo, shi = stand[0].samples.bounds()
                self.place(self.with_top(stand, F.tv(rng, style, min(1.3, 0.8 * (shi[0] - slo[0]))), "television", "other furniture",
                                         margin=0.9), "wall")
            if self.maybe(0.75):
                self.place(self.bookshelf_any(), "wall")
            for _ in range(int(rng.integers(0, 3))):
                self.place(F.chair(rng, style, self, "armchair"), "corner" if self.maybe(0.5) else "wall")
            if self.maybe(0.4):
                self.place(self.table_with_chairs("dining", polyhaven_table=self.maybe(0.5)), "free", tries=120)
            if self.maybe(0.5):
                self.place(self.cabinet_any("sideboard"), "wall")
            if self.maybe(0.4):
                self.place(F.table(rng, style, self, "side"), "corner")
            self.small_decor(int(rng.integers(1, 4)))
        elif t == "kitchen":
            walls_by_length = sorted(range(len(self.walls)), key=lambda i: (-self.walls[i].length, i))
            length = [max(1.2, min(self.walls[walls_by_length[0]].length - 0.9, rng.uniform(1.6, 3.2)))]
            upper = self.maybe(0.8)

            def counter():
                run = F.counter_run(rng, style, self, length[0], True, upper)
                length[0] = max(1.15, 0.8 * length[0])  # the next attempt, if any, is shorter
                return run
            self.place_required(counter, ("corner", "wall"))
            if self.maybe(0.9):
                self.place_required(lambda: F.refrigerator(rng, style, self), ("corner", "wall"))
            if self.maybe(0.5):
                self.place(F.counter_run(rng, style, self, rng.uniform(1.0, 2.0), False, self.maybe(0.5)), "wall")
            if self.maybe(0.65):
                self.place(self.table_with_chairs("dining", polyhaven_table=self.maybe(0.45), stools=self.maybe(0.4)), "free", tries=120)
            if self.maybe(0.3):
                self.place(self.cabinet_any("wardrobe"), "wall")
            self.small_decor(int(rng.integers(1, 3)))
        elif t == "bathroom":
            self.place_required(lambda: F.bathtub(rng, style, self), ("corner", "wall"))
            self.place_required(lambda: F.toilet(rng, style, self))
            self.place_required(lambda: F.bathroom_sink(rng, style, self))
            if self.maybe(0.4):
                self.place(self.cabinet_any("nightstand" if self.maybe(0.5) else "dresser"), "wall")
            if self.maybe(0.7):
                self.place(F.towel_rail(rng, style, self), "wall", tries=40)
            self.small_decor(int(rng.integers(0, 3)))
        else:  # office
            self.place_required(self.desk_with_chair)
            if self.maybe(0.5):
                self.place(self.desk_with_chair(), "wall")
            for _ in range(int(rng.integers(1, 3))):
                self.place(self.bookshelf_any(), "wall")
            if self.maybe(0.6):
                self.place(self.cabinet_any("dresser"), "wall")
            if self.maybe(0.3):
                self.place(self.table_with_chairs("dining", polyhaven_table=self.maybe(0.4), stools=self.maybe(0.3)), "free", tries=100)
            if self.maybe(0.25):
                self.place(F.polyhaven(rng, style, self, "sofa_03") if self.maybe(0.4) else F.sofa(rng, style, self), "wall")
            if self.maybe(0.4):
                self.place(F.polyhaven(rng, style, self, "painted_wooden_stool"), "free", tries=30)
            self.small_decor(int(rng.integers(1, 4)))

    def bookshelf_any(self) -> list[F.Part]:
        if self.maybe(0.3):
            return F.polyhaven(self.rng, self.style, self, "wooden_bookshelf_worn", max_height=self.height - 0.3)
        return F.bookshelf(self.rng, self.style, self)

    # -- probes and lighting ----------------------------------------------------------------------------------
    def probes(self) -> np.ndarray:
        lo, hi = self.polygon.min(axis=0), self.polygon.max(axis=0)
        xs = np.arange(lo[0] + 0.5 * PROBE_STEP, hi[0], PROBE_STEP)
        zs = np.arange(lo[1] + 0.5 * PROBE_STEP, hi[1], PROBE_STEP)
        g = np.stack(np.meshgrid(xs, zs, indexing="ij"), -1).reshape(-1, 2)
        ok = points_in_polygon(g, self.polygon) & (distance_to_edges(g, self.polygon) >= PROBE_WALL_MARGIN)
        g = g[ok] if ok.any() else 0.5 * (lo + hi)[None]
        return np.stack([g[:, 0], np.full(len(g), PROBE_EYE_HEIGHT), g[:, 1]], 1)

    def light(self, samples: Samples) -> np.ndarray:
        """Baked lighting: ambient + Lambert towards the main window (or from above) + a ceiling-light term,
        darkened near the floor and the ceiling (ambient occlusion), times a room-wide warm/cool tint."""
        windows = [o for o in self.openings if o.kind == "window"]
        if windows:
            n = self.walls[windows[0].wall].normal
            to_light = np.array([-n[0] * 0.6, 0.8, -n[1] * 0.6])
        else:
            to_light = np.array([0.3, 1.0, 0.2])
        to_light /= np.linalg.norm(to_light)
        nrm, y = samples.normals, samples.positions[:, 1]
        shade = 0.55 + 0.3 * np.clip(nrm @ to_light, 0, None) + 0.15 * (0.5 + 0.5 * nrm[:, 1])
        shade *= 1.0 - 0.18 * np.exp(-y / 0.25) - 0.1 * np.exp(-(self.height - y) / 0.25)
        return np.clip(samples.colors * shade[:, None] * self.tint[None], 0, 1)


def generate_room(seed: int, room_type: str | None = None, max_gaussians: int = DEFAULT_MAX_GAUSSIANS,
                  density: float = 1.0, l_shape: bool | None = None,
                  min_gaussians: int | None = DEFAULT_MIN_GAUSSIANS, realism=None, shapes: bool = False) -> Room:
    """A room for `seed` (an int >= 0). `room_type` defaults to ROOM_TYPES[seed % 5]; `density` scales the
    number of Gaussians per area (0.1-1.5); `max_gaussians` caps the total by coarsening uniformly and
    `min_gaussians` (None: off) refines small rooms up to about that many; `l_shape` forces (True) or forbids
    (False) an L-shaped floor (default: random by room type). With `density` != 1 the minimum is scaled too.
    `realism` (None: off; a rtgs2.synthrooms.realism.Realism, a dict of its switches, "random", "realistic" or kind
    names: realism_for_seed) applies domain randomisation to the finished room's Gaussians, from its own random
    streams: the layout is the same as without it. `shapes` (default off) makes 60 % of the rooms (not bathrooms)
    T-, Z- or U-shaped (rtgs2.synthrooms.room.make_shaped_polygon), which changes their layout."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GeneratorError(f"seed must be an int >= 0, got {seed!r}")
    seed = int(seed)
    room_type = ROOM_TYPES[seed % len(ROOM_TYPES)] if room_type is None else room_type
    if room_type not in ROOM_TYPES:
        raise GeneratorError(f"room_type must be one of {ROOM_TYPES}, got {room_type!r}")
    if not 0.1 <= density <= 1.5:
        raise GeneratorError(f"density must be in [0.1, 1.5], got {density}")
    if max_gaussians < 1000:
        raise GeneratorError(f"max_gaussians must be >= 1000, got {max_gaussians}")
    if min_gaussians is not None:
        min_gaussians = min(int(min_gaussians * density), max_gaussians)

    rng = np.random.default_rng([seed, 1])
    b = _RoomBuilder(seed, room_type, rng, l_shape, shapes)
    b.cut_openings()
    shell = b.shell_samples()
    b.curtains()
    b.furnish()
    n_pictures = {"bedroom": (1, 3), "living room": (1, 4), "kitchen": (0, 2), "bathroom": (0, 1), "office": (1, 3)}[room_type]
    b.pictures(int(rng.integers(n_pictures[0], n_pictures[1] + 1)))

    names = class_names()
    instances: dict[int, int] = {}
    instance_names: dict[int, str] = {}
    chunks, labels, inst = [], [], []

    def add(name: str, cls: str, samples: Samples, instance_id: int, lit: bool = True) -> None:
        cid = names.index(cls)
        instances[instance_id] = cid
        instance_names[instance_id] = name
        colors = b.light(samples) if lit else samples.colors
        chunks.append(Samples(samples.positions, samples.normals, colors, samples.spacing))
        labels.append(np.full(len(samples), cid, dtype=np.uint8))
        inst.append(np.full(len(samples), instance_id, dtype=np.uint16))

    # assign ids in shell order: floor 0, ceiling 1, walls, then each door/window (glass shares its window's id)
    next_id = 0
    pending_glass = None
    for name, cls, samples, lit in shell:
        if name == "window glass":
            pending_glass = samples
            continue
        add(name, cls, samples, next_id, lit)
        if pending_glass is not None and cls == "window":
            add(name, cls, pending_glass, next_id, lit=False)
            pending_glass = None
        next_id += 1
    doors = [o for o in b.openings if o.kind == "door"]
    windows = [o for o in b.openings if o.kind == "window"]
    first_opening = next_id - len(b.openings)
    for k, o in enumerate(b.openings):
        o.instance_id = first_opening + k
    for k, w in enumerate(b.walls):
        w.instance_id = 2 + k

    furniture: list[Furniture] = []
    for p in b.placed:
        p.instance_id = next_id
        next_id += 1
    for p in b.placed:
        supporter = None
        if p.part.support is not None:
            supporter = p.unit[p.part.support].instance_id
        add(p.part.name, p.part.class_name, p.samples, p.instance_id)
        furniture.append(Furniture(p.part.name, names.index(p.part.class_name), p.instance_id, p.lo.copy(), p.hi.copy(),
                                   model="polyhaven" if p.part.source.startswith("polyhaven") else p.part.class_name,
                                   source=p.part.source, supported_by=supporter, wall_mounted=p.part.wall_mounted))

    samples = Samples.concatenate(chunks)
    lab = np.concatenate(labels)
    ins = np.concatenate(inst)
    lo3, hi3 = np.array([*b.polygon.min(axis=0)]), np.array([*b.polygon.max(axis=0)])
    bounds = (np.array([lo3[0], 0.0, lo3[1]]), np.array([hi3[0], b.height, hi3[1]]))
    scene = gaussianize(samples, lab, ins, b.probes(), np.random.default_rng([seed, 2]), budget=max_gaussians, density=density, min_count=min_gaussians,
                        inside=lambda xz: points_in_polygon(xz, b.polygon), bounds=bounds)
    scene.meta = {"seed": seed, "room_type": room_type, "generator": "rtgs2.synthrooms"}
    meta = {"seed": seed, "room_type": room_type, "max_gaussians": max_gaussians, "density": density}
    room = Room(seed=seed, room_type=room_type, floor_polygon=b.polygon.copy(), height=b.height, walls=b.walls,
                doors=doors, windows=windows, furniture=furniture, instances=instances, instance_names=instance_names,
                gaussians=scene, meta=meta)
    if realism is not None:
        from .realism import apply_realism, realism_for_seed

        realism = realism_for_seed(realism, seed)
        if realism.any():
            room.gaussians = apply_realism(room, realism)
            for iid, (cid, name) in room.gaussians.meta.pop("added_instances", {}).items():
                room.instances[iid], room.instance_names[iid] = cid, name
            room.meta["realism"] = realism.names()
    return room
