"""A small glTF 2.0 reader for the CC0 Poly Haven furniture in ../shared/assets/polyhaven (json + numpy + pillow).

Supports what those files use: one scene of nodes (translation / rotation / scale / matrix, children), triangle
primitives with POSITION, NORMAL and TEXCOORD_0 in external .bin buffers, and a baseColorTexture JPG/PNG per
material. Meshes come out in the scene frame's handedness: glTF is right-handed (+Y up, +Z = front), the scene
frame is Babylon's left-handed one, so x is negated (as Babylon's glTF loader does with its root node), which keeps
+Y up and the model's front at +Z.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[3]
ASSETS_ENV = "RTGS2_ASSETS"


def assets_dir() -> Path:
    """Where the shared assets are: $RTGS2_ASSETS, else <repo>/shared/assets, else <repo>/factory/cache/assets (a
    git-ignored copy, e.g. carried to a machine that gets only the repository), else ../shared/assets beside the
    repository (this machine's layout). The first that holds polyhaven/ wins."""
    env = os.environ.get(ASSETS_ENV)
    candidates = ([Path(env)] if env else []) + [REPO_ROOT / "shared" / "assets", REPO_ROOT / "factory" / "cache" / "assets",
                                                 REPO_ROOT.parent / "shared" / "assets"]
    for c in candidates:
        if (c / "polyhaven").is_dir():
            return c
    raise GltfError(f"no shared assets (a folder with polyhaven/) in any of {[str(c) for c in candidates]}; set "
                    f"{ASSETS_ENV} or copy ../shared/assets/polyhaven to factory/cache/assets/polyhaven")

_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class GltfError(ValueError):
    pass


@dataclass
class TexturedMesh:
    """Triangles in metres, +Y up, front +Z, left-handed; one texture per material."""
    name: str
    vertices: np.ndarray  # (V, 3) float64
    normals: np.ndarray  # (V, 3) float64
    uvs: np.ndarray  # (V, 2) float64
    triangles: np.ndarray  # (T, 3) int64
    material: np.ndarray  # (T,) int64 index into textures
    textures: list  # (H, W, 3) uint8 base colour images

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)


def _node_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # glTF stores column-major
    m = np.eye(4)
    x, y, z, w = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    r = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
    m[:3, :3] = r * np.asarray(node.get("scale", [1.0, 1.0, 1.0]))[None]
    m[:3, 3] = node.get("translation", [0.0, 0.0, 0.0])
    return m


def _accessor(doc: dict, buffers: list[bytes], index: int, path: Path) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_COMPONENT[acc["componentType"]]).newbyteorder("<")
    width = _WIDTH[acc["type"]]
    count = acc["count"]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride", 0)
    data = buffers[view["buffer"]]
    if stride and stride != dtype.itemsize * width:
        rows = np.frombuffer(data, dtype=np.uint8, count=stride * (count - 1) + dtype.itemsize * width, offset=start)
        out = np.stack([np.frombuffer(rows[i * stride:i * stride + dtype.itemsize * width].tobytes(), dtype=dtype)
                        for i in range(count)])
    else:
        need = start + count * width * dtype.itemsize
        if need > len(data):
            raise GltfError(f"{path}: accessor {index} reads past the end of buffer {view['buffer']}")
        out = np.frombuffer(data, dtype=dtype, count=count * width, offset=start).reshape(count, width)
    out = out.astype(np.float64)
    if acc.get("normalized") and acc["componentType"] != 5126:
        out /= np.iinfo(_COMPONENT[acc["componentType"]]).max
    return out


@lru_cache(maxsize=16)
def load_gltf(path: str | Path) -> TexturedMesh:
    """Read a .gltf (with external buffers and images next to it) into one TexturedMesh. Cached per path."""
    path = Path(path)
    if not path.is_file():
        raise GltfError(f"{path}: no such glTF file")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise GltfError(f"{path}: not valid glTF JSON ({e})") from e
    if not str(doc.get("asset", {}).get("version", "")).startswith("2"):
        raise GltfError(f"{path}: only glTF 2.0 is supported")
    buffers = []
    for b in doc.get("buffers", []):
        uri = b.get("uri")
        if uri is None or uri.startswith("data:"):
            raise GltfError(f"{path}: embedded/GLB buffers are not supported (buffer uri {str(uri)[:20]!r})")
        buffers.append((path.parent / uri).read_bytes())

    textures = []
    for mat in doc.get("materials", []):
        tex = mat.get("pbrMetallicRoughness", {}).get("baseColorTexture")
        if tex is None:
            factor = mat.get("pbrMetallicRoughness", {}).get("baseColorFactor", [0.8, 0.8, 0.8, 1.0])
            textures.append(np.full((1, 1, 3), np.clip(np.array(factor[:3]) * 255, 0, 255), dtype=np.uint8))
            continue
        image = doc["images"][doc["textures"][tex["index"]]["source"]]
        with Image.open(path.parent / image["uri"]) as im:
            textures.append(np.asarray(im.convert("RGB"), dtype=np.uint8))

    verts, norms, uvs, tris, mats = [], [], [], [], []
    offset = 0

    def visit(node_index: int, parent: np.ndarray) -> None:
        nonlocal offset
        node = doc["nodes"][node_index]
        m = parent @ _node_matrix(node)
        if "mesh" in node:
            for prim in doc["meshes"][node["mesh"]]["primitives"]:
                if prim.get("mode", 4) != 4:
                    raise GltfError(f"{path}: primitive mode {prim.get('mode')} (only triangles are supported)")
                attrs = prim["attributes"]
                p = _accessor(doc, buffers, attrs["POSITION"], path)
                n = _accessor(doc, buffers, attrs["NORMAL"], path) if "NORMAL" in attrs else np.zeros_like(p)
                t = _accessor(doc, buffers, attrs["TEXCOORD_0"], path) if "TEXCOORD_0" in attrs else np.zeros((len(p), 2))
                idx = (_accessor(doc, buffers, prim["indices"], path).astype(np.int64).reshape(-1, 3)
                       if "indices" in prim else np.arange(len(p)).reshape(-1, 3))
                verts.append(p @ m[:3, :3].T + m[:3, 3])
                normal_m = np.linalg.inv(m[:3, :3]).T
                nn = n @ normal_m.T
                norms.append(nn / np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-12))
                uvs.append(t)
                tris.append(idx + offset)
                mats.append(np.full(len(idx), prim.get("material", 0), dtype=np.int64))
                offset += len(p)
        for child in node.get("children", []):
            visit(child, m)

    scene = doc["scenes"][doc.get("scene", 0)]
    for root in scene["nodes"]:
        visit(root, np.eye(4))
    if not verts:
        raise GltfError(f"{path}: no triangle meshes")
    flip = np.array([-1.0, 1.0, 1.0])  # right-handed glTF -> left-handed scene frame
    triangles = np.concatenate(tris)[:, [0, 2, 1]]  # the mirror reverses the winding; keep it counter-clockwise
    name = path.name.replace("_1k.gltf", "").replace(".gltf", "")
    return TexturedMesh(name, np.concatenate(verts) * flip, np.concatenate(norms) * flip, np.concatenate(uvs),
                        triangles, np.concatenate(mats), textures)


# The seven CC0 models and the class each one stands for in SynthRooms (contract 4 class names).
POLYHAVEN_MODELS = {
    "painted_wooden_cabinet": "cabinet",
    "painted_wooden_cabinet_02": "cabinet",
    "painted_wooden_stool": "chair",  # a seat: ScanNet-20 has no stool class; we label stools as chairs
    "sofa_03": "sofa",
    "tea_set_01": "other furniture",  # small objects standing on tables
    "wooden_bookshelf_worn": "bookshelf",
    "wooden_table_02": "table",
}


def polyhaven_path(name: str) -> Path:
    if name not in POLYHAVEN_MODELS:
        raise GltfError(f"unknown Poly Haven model {name!r}; known: {sorted(POLYHAVEN_MODELS)}")
    return assets_dir() / "polyhaven" / f"{name}_1k.gltf"


def load_polyhaven(name: str) -> TexturedMesh:
    return load_gltf(polyhaven_path(name))
