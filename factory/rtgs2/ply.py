"""3DGS PLY files with semantic properties (ARCHITECTURE.md contract 1), as Babylon.js and the runtime read them.

On disk: the standard 3DGS layout (x y z, nx ny nz, f_dc_0..2, opacity as a logit, scale_0..2 as logs,
rot_0..3 as a (w, x, y, z) quaternion), in the usual trained-scene convention with +Y DOWN, plus
`f_sem_0..f_sem_{K-1}` (float), `sem_label` (uchar, 255 = none) and `sem_instance` (ushort, 65535 = none).
Babylon's PLY loader flips such files upright with `scaling.y = -1`, so the scene frame (rtgs2.gaussians) is the
file frame mirrored in y: positions (x, -y, z), quaternions (w, -x, y, -z) (that reflection conjugates rotations).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .gaussians import GaussianScene

SH_C0 = 0.28209479177387814  # degree-0 spherical-harmonic constant, rgb = 0.5 + SH_C0 * f_dc
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8", "half": "f2", "float16": "f2",
}
_REFLECT_Y = np.array([1, -1, 1], dtype=np.float32)
_REFLECT_Q = np.array([1, -1, 1, -1], dtype=np.float32)


class PlyError(ValueError):
    pass


def scene_to_ply_bytes(scene: GaussianScene) -> bytes:
    n, k = len(scene), scene.feature_dim
    props = [("x", "f4"), ("y", "f4"), ("z", "f4"), ("nx", "f4"), ("ny", "f4"), ("nz", "f4")]
    props += [(f"f_dc_{i}", "f4") for i in range(3)] + [("opacity", "f4")]
    props += [(f"scale_{i}", "f4") for i in range(3)] + [(f"rot_{i}", "f4") for i in range(4)]
    props += [(f"f_sem_{i}", "f4") for i in range(k)]
    if scene.labels is not None:
        props.append(("sem_label", "u1"))
    if scene.instances is not None:
        props.append(("sem_instance", "u2"))
    rec = np.zeros(n, dtype=np.dtype([(name, "<" + t) for name, t in props]))
    pos = scene.positions * _REFLECT_Y
    rec["x"], rec["y"], rec["z"] = pos.T
    f_dc = (scene.colors - 0.5) / SH_C0
    for i in range(3):
        rec[f"f_dc_{i}"] = f_dc[:, i]
        rec[f"scale_{i}"] = scene.log_scales[:, i]
    o = np.clip(scene.opacities.astype(np.float64), 1e-7, 1 - 1e-7)
    rec["opacity"] = np.log(o / (1 - o))
    q = scene.rotations * _REFLECT_Q
    for i in range(4):
        rec[f"rot_{i}"] = q[:, i]
    for i in range(k):
        rec[f"f_sem_{i}"] = scene.features[:, i]
    if scene.labels is not None:
        rec["sem_label"] = scene.labels
    if scene.instances is not None:
        rec["sem_instance"] = scene.instances
    names = {"f4": "float", "u1": "uchar", "u2": "ushort"}
    header = ["ply", "format binary_little_endian 1.0", "comment written by rtgs2 (3DGS convention, +Y down)",
              f"element vertex {n}"]
    header += [f"property {names[t]} {name}" for name, t in props] + ["end_header"]
    return ("\n".join(header) + "\n").encode("ascii") + rec.tobytes()


def write_ply(path: str | Path, scene: GaussianScene) -> None:
    Path(path).write_bytes(scene_to_ply_bytes(scene))


def _parse_header(data: bytes, name: str) -> tuple[str, list[tuple[str, int, list[tuple[str, str]]]], int]:
    end = data.find(b"end_header", 0, 1 << 16)
    if not data.startswith(b"ply") or end < 0:
        raise PlyError(f"{name}: not a PLY file (missing 'ply' magic or 'end_header')")
    body = data.find(b"\n", end) + 1
    fmt, elements = None, []
    for line in data[:end].decode("ascii", "replace").splitlines()[1:]:
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property":
            if parts[1] == "list":
                raise PlyError(f"{name}: list property '{parts[-1]}' is not supported")
            if parts[1] not in _PLY_TYPES:
                raise PlyError(f"{name}: unknown property type '{parts[1]}'")
            elements[-1][2].append((parts[2], _PLY_TYPES[parts[1]]))
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise PlyError(f"{name}: format '{fmt}' is not supported (binary PLY only)")
    return fmt, elements, body


def ply_bytes_to_scene(data: bytes, name: str = "<bytes>") -> GaussianScene:
    fmt, elements, offset = _parse_header(data, name)
    endian = "<" if fmt == "binary_little_endian" else ">"
    rec = None
    for el_name, count, props in elements:
        dtype = np.dtype([(p, endian + t) for p, t in props])
        if offset + count * dtype.itemsize > len(data):
            raise PlyError(f"{name}: element '{el_name}' needs {count * dtype.itemsize} bytes, file has "
                           f"{len(data) - offset}")
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += count * dtype.itemsize
        if el_name == "vertex":
            rec = arr
    if rec is None or len(rec) == 0:
        raise PlyError(f"{name}: no vertices")
    fields = rec.dtype.names
    need = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
            "rot_0", "rot_1", "rot_2", "rot_3"]
    missing = [f for f in need if f not in fields]
    if missing:
        raise PlyError(f"{name}: missing 3DGS properties {missing}")
    col = lambda f: rec[f].astype(np.float32)  # noqa: E731
    positions = np.stack([col("x"), col("y"), col("z")], 1) * _REFLECT_Y
    colors = 0.5 + SH_C0 * np.stack([col(f"f_dc_{i}") for i in range(3)], 1)
    opacities = 1.0 / (1.0 + np.exp(-col("opacity").astype(np.float64)))
    log_scales = np.stack([col(f"scale_{i}") for i in range(3)], 1)
    rotations = np.stack([col(f"rot_{i}") for i in range(4)], 1) * _REFLECT_Q
    k = 0
    while f"f_sem_{k}" in fields:
        k += 1
    features = np.stack([col(f"f_sem_{i}") for i in range(k)], 1) if k else None
    labels = rec["sem_label"].astype(np.uint8) if "sem_label" in fields else None
    instances = rec["sem_instance"].astype(np.uint16) if "sem_instance" in fields else None
    return GaussianScene(positions, colors, opacities.astype(np.float32), log_scales, rotations,
                         labels, instances, features)


def read_ply(path: str | Path) -> GaussianScene:
    path = Path(path)
    return ply_bytes_to_scene(path.read_bytes(), str(path))
