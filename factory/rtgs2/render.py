"""The reference splatting renderer: the runtime's maths (ARCHITECTURE.md contract 5) in PyTorch, CPU or CUDA.

It renders what the runtime's WebGPU feature pass renders (shaders/featureSplat.*.wgsl, which reuse Babylon
9.35's `gaussianSplatting` WGSL include; src/rendering/cpuReference.ts writes the same maths down in TypeScript),
from the same quantised splat data (rtgs2.render_babylon), so that the models the factory trains on these images
see at run time what they saw in training. Per splat, in float32 like the GPU:

1. Data: centre c, covariance V (4x the 3DGS one, fp16-truncated), colour and opacity o (uint8 / 255), all in
   the mesh-local (file) frame; mesh world matrix M (the PLY loader's diag(1, -1, 1) by default).
2. Projection: v = View M c (view space: x right, y up, z forward). Culled when v.z < near (clip z < 0),
   v.z > far (the quad is clipped), or |NDC x| or |NDC y| > 1.2 (Babylon's `bounds = 1.2 * w`).
3. EWA: J = [[fx/z, 0, -fx x/z^2], [0, fy/z, -fy y/z^2]] (no clamping of x/z, y/z in Babylon 9.35),
   L = linear part of View M, S = J L V L^T J^T + 0.3 I (Babylon's kernelSize; with the 4x covariance and the
   quad mapping below it amounts to a 0.075 px^2 dilation of the true 3DGS footprint).
4. Quad: eigenvalues l1 >= l2 of S (l2 < 0: culled), d1 = normalize(S01, l1 - S00) (0/0 when S is diagonal with
   S00 >= S11: undefined in the shader; such splats are skipped, as in cpuReference.ts), d2 = (d1.y, -d1.x),
   axes a1 = min(sqrt(2 l1), 1024), a2 = min(sqrt(2 l2), 1024) px. A pixel centre at offset d from the projected
   centre (y up) has quad coordinates q = 2 (d.d1 / a1, d.d2 / a2), and alpha = o exp(-|q|^2) where |q|^2 < 4,
   else nothing (the fragment shader's cut-off: 2 sqrt(2) standard deviations of the dilated footprint).
5. Order: Babylon's sort worker order (rtgs2.render_babylon.babylon_sort_order), or exact view depth.
6. Compositing, premultiplied "over" onto (0, 0, 0, 0), back to front; computed front to back here: weight
   w_i = a_i prod_{j nearer} (1 - a_j); rgb = sum w_i c_i, alpha = sum w_i = 1 - prod (1 - a_i),
   depth = sum w_i z_i (undivided), features = sum w_i f_i (undivided), class scores = sum w_i onehot(label_i).

Labels: the argmax of the class scores (ties: lowest class id); 255 (none) where alpha < LABEL_ALPHA_THRESHOLD
(0.5: the pixel is then mostly background; the runtime's goldens use the same threshold) or where no labelled
Gaussian contributes.

How it runs: all splats are projected at once; the image is cut into bands of rows so that each band holds at most
`max_fragments` (splat, pixel) pairs (memory stays bounded at any size); in a band every splat is expanded to the
pixels inside its ellipse (rows, then the exact column span of each row), the fragments are stably sorted by
pixel (they were generated nearest splat first), transmittance is a segmented cumulative sum of log(1 - a), and
all channels come out of one sparse (pixels x splats) weight matrix times a dense (splats x channels) matrix.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .camera import Camera
from .classes import NONE, NUM_CLASSES
from .gaussians import GaussianScene
from .render_babylon import PLY_MESH_WORLD, babylon_sort_order, babylon_splats, features_as_fp16

KERNEL_SIZE = 0.3  # GaussianSplattingMaterial.KernelSize, px^2 added to the (4x) 2D covariance's diagonal
QUAD_CUTOFF = 4.0  # gaussianSplattingFragmentDeclaration: fragments with |q|^2 >= 4 are discarded
FRUSTUM_BOUND = 1.2  # gaussianSplatting(): splats whose centre is beyond 1.2 x the clip-space w are culled
AXIS_LIMIT = 1024.0  # gaussianSplatting(): quad half-axes are clamped to 1024
LABEL_ALPHA_THRESHOLD = 0.5
DEFAULT_MAX_FRAGMENTS = 1 << 22
_ROW_MARGIN = 0.05  # px of slack on the rows of a splat's bounding box (the column spans are exact)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class PreparedScene:
    """A scene's splats as the runtime holds them, as tensors on one device: reuse it to render many views."""
    centers: torch.Tensor  # (N, 3) float32, mesh-local
    covariances: torch.Tensor  # (N, 6) float32, mesh-local, Babylon's 4x covariance
    colors: torch.Tensor  # (N, 3) float32
    opacities: torch.Tensor  # (N,) float32
    features: torch.Tensor | None  # (N, K) float32 (fp16-rounded)
    class_index: torch.Tensor | None  # (N,) int64 index into `classes`, -1 = none
    classes: np.ndarray  # (C,) uint8 class ids present
    mesh_world: np.ndarray  # (4, 4) float64, column-vector convention
    centers_np: np.ndarray  # (N, 3) float32, for the sort order
    device: torch.device

    def __len__(self) -> int:
        return int(self.centers.shape[0])

    @property
    def feature_dim(self) -> int:
        return 0 if self.features is None else int(self.features.shape[1])


def prepare(scene: GaussianScene, features: np.ndarray | None = None, labels: np.ndarray | None = None,
            mesh_world: np.ndarray | None = None, device: torch.device | str | None = None,
            feature_precision: str = "fp16") -> PreparedScene:
    """Quantises `scene` like Babylon does (rtgs2.render_babylon) and moves it to `device`.

    features: (N, K) per-Gaussian array to composite (default: scene.features); rounded to fp16 like the runtime's
    feature texture unless feature_precision="fp32". labels: (N,) class ids, 255 = none (default: scene.labels).
    mesh_world: the runtime mesh's world matrix (column-vector 4x4) applied to the file frame; default the PLY
    loader's diag(1, -1, 1, 1), which maps the file frame back onto the scene frame.
    """
    device = torch.device(device) if device is not None else default_device()
    n = len(scene)
    splats = babylon_splats(scene)
    world = PLY_MESH_WORLD.copy() if mesh_world is None else np.asarray(mesh_world, dtype=np.float64)
    if world.shape != (4, 4):
        raise ValueError(f"prepare: mesh_world must be 4x4, got {world.shape}")
    feats = scene.features if features is None else np.asarray(features)
    if feats is not None:
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] != n:
            raise ValueError(f"prepare: features must be (N={n}, K), got {feats.shape}")
        if feature_precision == "fp16":
            feats = features_as_fp16(feats)
        elif feature_precision != "fp32":
            raise ValueError(f"prepare: feature_precision must be 'fp16' or 'fp32', got {feature_precision!r}")
        elif not np.all(np.isfinite(feats)):
            raise ValueError("prepare: NaN or Inf in the per-Gaussian features")
    labs = scene.labels if labels is None else np.asarray(labels)
    class_index, classes = None, np.zeros(0, dtype=np.uint8)
    if labs is not None:
        labs = np.asarray(labs).reshape(-1)
        if labs.shape[0] != n:
            raise ValueError(f"prepare: labels must have N={n} entries, got {labs.shape[0]}")
        if labs.min(initial=0) < 0 or labs.max(initial=0) > 255:
            raise ValueError("prepare: labels must be class ids 0..254 or 255 (none)")
        labs = labs.astype(np.uint8)
        classes = np.unique(labs[labs != NONE]).astype(np.uint8)
        lookup = np.full(256, -1, dtype=np.int64)
        lookup[classes] = np.arange(len(classes))
        class_index = torch.from_numpy(lookup[labs]).to(device)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)  # noqa: E731
    return PreparedScene(t(splats.centers), t(splats.covariances), t(splats.colors), t(splats.opacities),
                         None if feats is None else t(feats), class_index, classes, world, splats.centers, device)


@dataclass
class Projected:
    """The splats that survive culling, nearest first (compositing order), and what a pixel needs of them."""
    index: torch.Tensor  # (G,) int64 source index
    u: torch.Tensor  # (G,) projected centre, pixels from the left edge
    v: torch.Tensor  # (G,) projected centre, pixels from the top edge
    depth: torch.Tensor  # (G,) view-space z
    conic: torch.Tensor  # (G, 3): |q|^2 = A dx^2 + 2 B dx dy + C dy^2, (dx, dy) pixel offset, y down
    extent: torch.Tensor  # (G, 2) half-widths of the ellipse's bounding box in pixels
    opacity: torch.Tensor  # (G,)


def project(prepared: PreparedScene, camera: Camera, kernel_size: float = KERNEL_SIZE,
            sort: str = "babylon") -> Projected:
    """Steps 2-5 of the module docstring for every splat."""
    dev = prepared.device
    f32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=dev)  # noqa: E731
    view = np.asarray(camera.world_to_view, dtype=np.float64)
    world = prepared.mesh_world
    model_view = (view.astype(np.float32) @ world.astype(np.float32)).astype(np.float32)
    w3, wt = f32(world[:3, :3]), f32(world[:3, 3])
    v3, vt = f32(view[:3, :3]), f32(view[:3, 3])
    world_pos = prepared.centers @ w3.T + wt
    cam = world_pos @ v3.T + vt
    x, y, z = cam.unbind(1)
    width, height = camera.width, camera.height
    safe_z = torch.where(z > 0, z, torch.ones_like(z))
    u = camera.cx + camera.fx * x / safe_z
    v = camera.cy - camera.fy * y / safe_z
    ndc_x = 2.0 * u / width - 1.0
    ndc_y = 1.0 - 2.0 * v / height
    keep = (z >= camera.near) & (z <= camera.far) & (ndc_x.abs() <= FRUSTUM_BOUND) & (ndc_y.abs() <= FRUSTUM_BOUND)

    # EWA: T = J L (2x3), S = T V T^T.
    zz = safe_z * safe_z
    j = torch.zeros((len(z), 2, 3), dtype=torch.float32, device=dev)
    j[:, 0, 0] = camera.fx / safe_z
    j[:, 0, 2] = -camera.fx * x / zz
    j[:, 1, 1] = camera.fy / safe_z
    j[:, 1, 2] = -camera.fy * y / zz
    t = j @ f32(model_view[:3, :3])
    c = prepared.covariances
    vrk = torch.stack([c[:, [0, 1, 2]], c[:, [1, 3, 4]], c[:, [2, 4, 5]]], 1)
    s = t @ vrk @ t.transpose(1, 2)
    a = s[:, 0, 0] + kernel_size
    b = s[:, 0, 1]
    cc = s[:, 1, 1] + kernel_size
    mid = (a + cc) / 2
    radius = torch.hypot((a - cc) / 2, b)
    l1, l2 = mid + radius, mid - radius
    dir_x, dir_y = b, l1 - a
    dir_len = torch.hypot(dir_x, dir_y)
    keep &= (l2 >= 0) & (dir_len > 0) & torch.isfinite(l1)
    safe_len = torch.where(dir_len > 0, dir_len, torch.ones_like(dir_len))
    d1x, d1y = dir_x / safe_len, dir_y / safe_len
    d2x, d2y = d1y, -d1x
    a1 = torch.clamp(torch.sqrt(torch.clamp(2 * l1, min=0)), max=AXIS_LIMIT)
    a2 = torch.clamp(torch.sqrt(torch.clamp(2 * l2, min=0)), max=AXIS_LIMIT)
    keep &= a2 > 0
    inv1 = 4.0 / torch.where(a1 > 0, a1 * a1, torch.ones_like(a1))
    inv2 = 4.0 / torch.where(a2 > 0, a2 * a2, torch.ones_like(a2))
    # (dx, dy) with dy pointing down is (dx, -dy_up): the cross term changes sign.
    conic = torch.stack([d1x * d1x * inv1 + d2x * d2x * inv2, -(d1x * d1y * inv1 + d2x * d2y * inv2),
                         d1y * d1y * inv1 + d2y * d2y * inv2], 1)
    # The cut-off ellipse has pixel semi-axes a1 along d1 and a2 along d2: its bounding box's half-widths.
    extent = torch.stack([torch.sqrt((a1 * d1x) ** 2 + (a2 * d2x) ** 2),
                          torch.sqrt((a1 * d1y) ** 2 + (a2 * d2y) ** 2)], 1)

    if sort == "babylon":
        draw = babylon_sort_order(prepared.centers_np, world, view)  # far to near
        order = torch.as_tensor(draw[::-1].copy(), device=dev)
    elif sort == "depth":
        order = torch.sort(z.to(torch.float64), stable=True).indices
    else:
        raise ValueError(f"project: sort must be 'babylon' or 'depth', got {sort!r}")
    order = order[_take(keep, order)]
    return Projected(order, _take(u, order), _take(v, order), _take(z, order), _take(conic, order),
                     _take(extent, order), _take(prepared.opacities, order))


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values[index] along the first axis (index_select: several times faster than advanced indexing on CPU)."""
    return values.index_select(0, index)


def _expand(counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For counts (M,): the owner (0..M-1) of each of sum(counts) items and the item's rank within its owner."""
    owner = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    starts = torch.cumsum(counts, 0) - counts
    return owner, torch.arange(len(owner), device=counts.device) - _take(starts, owner)


def _plan_bands(row_lo: torch.Tensor, row_hi: torch.Tensor, cols: torch.Tensor, height: int,
                max_fragments: int) -> list[tuple[int, int]]:
    """Row bands [r0, r1) whose estimated fragment count (bounding-box pixels) stays under max_fragments."""
    diff = torch.zeros(height + 1, dtype=torch.float64, device=row_lo.device)
    diff.index_add_(0, row_lo, cols.to(torch.float64))
    diff.index_add_(0, row_hi + 1, -cols.to(torch.float64))
    per_row = torch.cumsum(diff, 0)[:height].cpu().numpy()
    bands, start, total = [], 0, 0.0
    for r in range(height):
        if r > start and total + per_row[r] > max_fragments:
            bands.append((start, r))
            start, total = r, 0.0
        total += per_row[r]
    bands.append((start, height))
    return bands


def render(scene: GaussianScene | PreparedScene, camera: Camera, features: np.ndarray | None = None, *,
           labels: np.ndarray | None = None, device: torch.device | str | None = None, sort: str = "babylon",
           kernel_size: float = KERNEL_SIZE, label_threshold: float = LABEL_ALPHA_THRESHOLD,
           max_fragments: int = DEFAULT_MAX_FRAGMENTS, contributions: bool = False,
           vote_labels: np.ndarray | None = None, vote_weights: np.ndarray | None = None,
           output: str = "numpy") -> dict:
    """Renders one view. Returns a dict of arrays (rows top to bottom):

    rgb (H, W, 3) premultiplied over black; alpha (H, W) coverage; depth (H, W) expected view depth, undivided
    (divide by alpha for the surface depth); features (H, W, K) when the scene or `features` has some, undivided;
    labels (H, W) uint8 when labels exist (255 = none); with contributions=True also gaussian_weight (N,): each
    splat's summed compositing weight (0 = invisible), and top_gaussian (H, W) int64: the splat with the largest
    weight at each pixel (-1 = none). With vote_labels (H, W) class ids (255 = none) and optional vote_weights
    (H, W) (default 1): gaussian_votes (N, NUM_CLASSES), each splat's compositing weights summed per class of the
    pixels it contributes to, times the pixel's vote weight (exact contribution voting, rtgs2.lifting).
    output="torch" returns tensors on the render device instead of numpy.
    A GaussianScene is prepared on the fly; pass a PreparedScene (rtgs2.render.prepare) to render many views.
    """
    if output not in ("numpy", "torch"):
        raise ValueError(f"render: output must be 'numpy' or 'torch', got {output!r}")
    if max_fragments < 1:
        raise ValueError(f"render: max_fragments must be positive, got {max_fragments}")
    if isinstance(scene, PreparedScene):
        if features is not None or labels is not None:
            raise ValueError("render: pass features/labels to prepare(), not with a PreparedScene")
        prepared = scene
    else:
        prepared = prepare(scene, features=features, labels=labels, device=device)
    dev = prepared.device
    width, height = int(camera.width), int(camera.height)
    if width < 1 or height < 1:
        raise ValueError(f"render: image size must be positive, got {width}x{height}")
    proj = project(prepared, camera, kernel_size, sort)
    count = len(proj.index)
    k = prepared.feature_dim
    n_classes = len(prepared.classes)

    # Channels per visible splat: r g b | 1 (alpha) | z | features | one-hot classes.
    channels = [_take(prepared.colors, proj.index), torch.ones((count, 1), device=dev), proj.depth[:, None]]
    if k:
        channels.append(_take(prepared.features, proj.index))
    if n_classes:
        ci = _take(prepared.class_index, proj.index)
        onehot = torch.zeros((count, n_classes), device=dev)
        labelled = ci >= 0
        onehot[labelled.nonzero().squeeze(1), ci[labelled]] = 1.0
        channels.append(onehot)
    attributes = torch.cat(channels, 1).contiguous()
    out = torch.zeros((height * width, attributes.shape[1]), device=dev)
    gaussian_weight = torch.zeros(len(prepared), device=dev) if contributions else None
    top_gaussian = torch.full((height * width,), -1, dtype=torch.int64, device=dev) if contributions else None
    votes = None
    if vote_labels is not None:
        vote_labels = np.asarray(vote_labels)
        if vote_labels.shape != (height, width):
            raise ValueError(f"render: vote_labels must be (H={height}, W={width}), got {vote_labels.shape}")
        pixel_weight = np.ones((height, width), np.float32) if vote_weights is None else np.asarray(vote_weights, np.float32)
        if pixel_weight.shape != (height, width):
            raise ValueError(f"render: vote_weights must be (H={height}, W={width}), got {pixel_weight.shape}")
        labelled = (vote_labels != NONE) & (vote_labels < NUM_CLASSES)
        votes = _Votes(torch.as_tensor(np.where(labelled, vote_labels, 0).astype(np.int64).reshape(-1), device=dev),
                       torch.as_tensor(np.where(labelled, pixel_weight, 0).reshape(-1), device=dev),
                       torch.zeros(len(prepared) * NUM_CLASSES, device=dev))

    if count:
        ext_x, ext_y = proj.extent.unbind(1)
        row_lo = torch.clamp(torch.ceil(proj.v - 0.5 - ext_y - _ROW_MARGIN), min=0).to(torch.int64)
        row_hi = torch.clamp(torch.floor(proj.v - 0.5 + ext_y + _ROW_MARGIN), max=height - 1).to(torch.int64)
        col_lo = torch.clamp(torch.ceil(proj.u - 0.5 - ext_x - _ROW_MARGIN), min=0).to(torch.int64)
        col_hi = torch.clamp(torch.floor(proj.u - 0.5 + ext_x + _ROW_MARGIN), max=width - 1).to(torch.int64)
        on_image = (row_lo <= row_hi) & (col_lo <= col_hi)
        cols = torch.where(on_image, col_hi - col_lo + 1, torch.zeros_like(col_lo))
        bands = _plan_bands(torch.clamp(row_lo, max=height - 1), torch.clamp(row_hi, min=0), cols, height,
                            max_fragments)
        for r0, r1 in bands:
            _render_band(proj, attributes, out, r0, r1, width, row_lo, row_hi, on_image, gaussian_weight,
                         top_gaussian, votes)

    out = out.reshape(height, width, -1)
    result = {"rgb": out[..., 0:3], "alpha": out[..., 3], "depth": out[..., 4]}
    if k:
        result["features"] = out[..., 5:5 + k]
    if n_classes:
        scores = out[..., 5 + k:]
        best = torch.as_tensor(prepared.classes, device=dev).to(torch.int64)[scores.argmax(-1)]
        none = (result["alpha"] < label_threshold) | (scores.max(-1).values <= 0)
        result["labels"] = torch.where(none, torch.full_like(best, NONE), best).to(torch.uint8)
    if contributions:
        result["gaussian_weight"] = gaussian_weight
        result["top_gaussian"] = top_gaussian.reshape(height, width)
    if votes is not None:
        result["gaussian_votes"] = votes.out.reshape(len(prepared), NUM_CLASSES)
    if output == "numpy":
        result = {name: value.cpu().numpy() for name, value in result.items()}
    return result


def _render_band(proj: Projected, attributes: torch.Tensor, out: torch.Tensor, r0: int, r1: int, width: int,
                 row_lo: torch.Tensor, row_hi: torch.Tensor, on_image: torch.Tensor,
                 gaussian_weight: torch.Tensor | None, top_gaussian: torch.Tensor | None,
                 votes: "_Votes | None" = None) -> None:
    dev = attributes.device
    sel = (on_image & (row_lo < r1) & (row_hi >= r0)).nonzero().squeeze(1)  # still nearest first
    if len(sel) == 0:
        return
    lo = torch.clamp(_take(row_lo, sel), min=r0)
    hi = torch.clamp(_take(row_hi, sel), max=r1 - 1)
    row_owner, row_offset = _expand(torch.clamp(hi - lo + 1, min=0))
    g_row = _take(sel, row_owner)
    py = _take(lo, row_owner) + row_offset
    ca, cb, cc = _take(proj.conic, g_row).unbind(1)
    dy = py.to(torch.float32) + 0.5 - _take(proj.v, g_row)
    # In row py, |q|^2 = A (px - centre)^2 + row_term with centre = u - 0.5 - B dy / A and
    # row_term = (C - B^2 / A) dy^2 (the square completed in dx = px + 0.5 - u): the row's fragments are the
    # pixels with (px - centre)^2 < (4 - row_term) / A, the fragment shader's |q|^2 < 4.
    centre = _take(proj.u, g_row) - 0.5 - cb * dy / ca
    row_term = (cc - cb * cb / ca) * dy * dy
    half_span = torch.sqrt(torch.clamp((QUAD_CUTOFF - row_term) / ca, min=0))
    x_lo = torch.clamp(torch.floor(centre - half_span) + 1, min=0).to(torch.int64)
    x_hi = torch.clamp(torch.ceil(centre + half_span) - 1, max=width - 1).to(torch.int64)
    ncols = torch.where(row_term < QUAD_CUTOFF, torch.clamp(x_hi - x_lo + 1, min=0), torch.zeros_like(x_lo))
    frag_row, col_offset = _expand(ncols)
    del dy, cb, cc, half_span
    if len(frag_row) == 0:
        return
    px = _take(x_lo, frag_row) + col_offset
    t = px.to(torch.float32) - _take(centre, frag_row)
    q2 = _take(ca, frag_row) * t * t + _take(row_term, frag_row)
    g = _take(g_row, frag_row)
    alpha = _take(proj.opacity, g) * torch.exp(-q2)
    pixel = _take((py - r0).to(torch.int32) * width, frag_row) + px.to(torch.int32)
    del t, q2, px, col_offset, centre, row_term, ca
    # Stable sort by pixel: each pixel's fragments stay nearest first. (int32 keys: radix sort, much faster.)
    pixel, perm = torch.sort(pixel, stable=True)
    g, alpha = _take(g, perm), _take(alpha, perm)
    del perm, frag_row
    band_pixels = (r1 - r0) * width
    counts = torch.bincount(pixel, minlength=band_pixels)
    pixel = pixel.to(torch.int64)
    crow = torch.zeros(band_pixels + 1, dtype=torch.int64, device=dev)
    crow[1:] = torch.cumsum(counts, 0)
    # Transmittance in front of each fragment: exp of the segmented exclusive sum of log(1 - a). The running sum
    # spans the whole band, so it is kept in float64; the per-pixel differences fit float32 again.
    log_keep = torch.clamp(torch.log1p(-alpha), min=-80.0)
    exclusive = torch.cumsum(log_keep, 0, dtype=torch.float64) - log_keep
    first = _take(exclusive, crow[:-1].clamp(max=max(len(exclusive) - 1, 0)))  # per pixel (unused if empty)
    weight = alpha * torch.exp((exclusive - _take(first, pixel)).to(torch.float32))
    del log_keep, exclusive
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the product below is all we use
        warnings.simplefilter("ignore", UserWarning)
        matrix = torch.sparse_csr_tensor(crow, g, weight, size=(band_pixels, attributes.shape[0]),
                                         check_invariants=False)
    out[r0 * width:r1 * width] = matrix @ attributes
    if gaussian_weight is not None:
        gaussian_weight.index_add_(0, _take(proj.index, g), weight)
        best = torch.zeros(band_pixels, device=dev).scatter_reduce_(0, pixel, weight, "amax")
        is_best = (weight >= _take(best, pixel)) & (weight > 0)
        top_gaussian[r0 * width + pixel[is_best]] = _take(proj.index, g[is_best])
    if votes is not None:
        at = r0 * width + pixel
        votes.out.index_add_(0, _take(proj.index, g) * NUM_CLASSES + _take(votes.labels, at),
                             weight * _take(votes.weights, at))


@dataclass
class _Votes:
    """Exact contribution voting (render(vote_labels=...)): per pixel a class and a weight, per splat the sums."""
    labels: torch.Tensor  # (H*W,) int64 class id (0 where unlabelled: its weight is 0)
    weights: torch.Tensor  # (H*W,) float32
    out: torch.Tensor  # (N * NUM_CLASSES,) float32
