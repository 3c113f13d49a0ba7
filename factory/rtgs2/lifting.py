"""Per-Gaussian label lifting: the runtime's algorithm (src/lifting/labelLifter.ts) in numpy, and exact
contribution voting through the reference renderer to measure the approximation against.

Per view and per Gaussian i (world centre p_i, opacity o_i), with Babylon's matrices (row vectors, Matrix.m order):
clip = [p 1] (V P) in float64; view depth = clip w; pixel column floor((x/w + 1) W / 2), row floor((1 - y/w) H / 2)
from the top. The vote counts when that pixel is labelled, has coverage alpha >= min_alpha, and its surface depth
D = expected depth / alpha satisfies |w - D| <= depth_tolerance * D (the Gaussian is on the visible surface, not
behind it); it adds o_i * confidence(pixel) to votes[i, label]. Class = argmax (ties: lowest id), confidence = the
top class's share of the votes, none (255) without votes.

Propagation (propagate, the same as src/lifting/labelPropagation.ts): every Gaussian without votes takes the
classes of its k nearest voted Gaussians (3D centres), each weighted by confidence / (distance + epsilon); class =
argmax (ties: lowest id), confidence = the top class's weight share x confidence_scale (0.5). Sources keep their
labels; targets never become sources (no chaining).

Exact voting (exact_votes): each splat's compositing weight a_i prod_nearer (1 - a_j) at every pixel of its
footprint, times the pixel's confidence, summed per class of the pixel (rtgs2.render with vote_labels).

    python -m rtgs2.lifting --views 24      # the showcase-room benchmark (BENCHMARKS.md, "Label lifting")
    python -m rtgs2.lifting --views 24 --modes vdvi --vdvi <vdvi best.pt> --encoder <encoder best.pt> --no-exact
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .camera import Camera
from .classes import NONE, NUM_CLASSES

DEFAULT_DEPTH_TOLERANCE = 0.1  # relative; chosen on the showcase room over 0.03 and 0.25 (BENCHMARKS.md, "Label lifting")
DEFAULT_MIN_ALPHA = 0.5


def babylon_matrices(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Babylon's view and (left-handed, WebGPU [0, 1] depth) projection matrices, Matrix.m order, of a Camera:
    the inverse of Camera.from_babylon."""
    view = np.asarray(camera.world_to_view, dtype=np.float64).T.reshape(-1)
    p = np.zeros((4, 4))
    p[0, 0] = 2.0 * camera.fx / camera.width
    p[1, 1] = 2.0 * camera.fy / camera.height
    p[2, 0] = 2.0 * camera.cx / camera.width - 1.0
    p[2, 1] = 1.0 - 2.0 * camera.cy / camera.height
    p[2, 3] = 1.0
    far = camera.far if np.isfinite(camera.far) else 1e6
    p[2, 2] = far / (far - camera.near)
    p[3, 2] = -camera.near * far / (far - camera.near)
    return view, p.reshape(-1)


def accumulate(votes: np.ndarray, positions: np.ndarray, opacities: np.ndarray, labels: np.ndarray,
               alpha: np.ndarray, expected_depth: np.ndarray, view_matrix, projection_matrix,
               confidence: np.ndarray | None = None, *, depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE,
               min_alpha: float = DEFAULT_MIN_ALPHA) -> int:
    """Adds one view's votes to `votes` (N, C) float32 in place (LabelLifter.accumulate). Maps are (H, W), row 0
    at the top. Returns the number of Gaussians that voted."""
    labels = np.asarray(labels)
    h, w = labels.shape
    n, c = votes.shape
    positions = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
    if positions.shape[0] != n or np.asarray(opacities).shape != (n,):
        raise ValueError(f"accumulate: votes are for {n} Gaussians but positions/opacities hold "
                         f"{positions.shape[0]}/{np.asarray(opacities).shape}")
    for name, arr in (("alpha", alpha), ("expected_depth", expected_depth), ("confidence", confidence)):
        if arr is not None and np.asarray(arr).shape != (h, w):
            raise ValueError(f"accumulate: {name} must be {(h, w)} like the labels, got {np.asarray(arr).shape}")
    v = np.asarray(view_matrix, dtype=np.float64).reshape(4, 4)
    p = np.asarray(projection_matrix, dtype=np.float64).reshape(4, 4)
    m = v @ p  # row-vector convention: clip = [x y z 1] V P
    pos = positions.astype(np.float64)
    clip = pos @ m[:3] + m[3]
    cw = clip[:, 3]
    front = cw > 0
    safe = np.where(front, cw, 1.0)
    px = np.floor((clip[:, 0] / safe + 1.0) * (w / 2.0))
    py = np.floor((1.0 - clip[:, 1] / safe) * (h / 2.0))
    inside = front & (px >= 0) & (py >= 0) & (px < w) & (py < h)
    idx = np.nonzero(inside)[0]
    pix = py[idx].astype(np.int64) * w + px[idx].astype(np.int64)
    lab = labels.reshape(-1)[pix]
    a = np.asarray(alpha, dtype=np.float32).reshape(-1)[pix]
    ok = (lab != NONE) & (a >= min_alpha)
    if np.any(lab[ok] >= c):
        raise ValueError(f"accumulate: label map holds class ids >= {c}")
    surface = np.asarray(expected_depth, dtype=np.float32).reshape(-1)[pix].astype(np.float64) / np.where(ok, a, 1.0)
    ok &= np.abs(cw[idx] - surface) <= depth_tolerance * surface
    weight = np.asarray(opacities, dtype=np.float32)[idx]
    if confidence is not None:
        weight = weight * np.asarray(confidence, dtype=np.float32).reshape(-1)[pix]
    ok &= weight > 0
    np.add.at(votes, (idx[ok], lab[ok].astype(np.int64)), weight[ok].astype(np.float32))
    return int(ok.sum())


def resolve(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels (N,) uint8 with 255 = none, confidence (N,) float32) from accumulated votes."""
    total = votes.sum(1)
    best = votes.argmax(1)
    labels = np.where(total > 0, best, NONE).astype(np.uint8)
    conf = np.where(total > 0, votes.max(1) / np.where(total > 0, total, 1), 0).astype(np.float32)
    return labels, conf


DEFAULT_PROPAGATION_K = 8
DEFAULT_DISTANCE_EPSILON = 0.01
DEFAULT_CONFIDENCE_SCALE = 0.5


def propagate(positions: np.ndarray, labels: np.ndarray, confidence: np.ndarray, *, k: int = DEFAULT_PROPAGATION_K,
              distance_epsilon: float = DEFAULT_DISTANCE_EPSILON,
              confidence_scale: float = DEFAULT_CONFIDENCE_SCALE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, confidence, propagated) with every Gaussian labelled NONE given the class of its k nearest labelled
    neighbours (LabelPropagation in src/lifting/labelPropagation.ts; exact k-NN here via scipy's KD-tree, a grid
    there). Inputs are not modified."""
    from scipy.spatial import cKDTree

    labels = np.asarray(labels, dtype=np.uint8)
    n = labels.shape[0]
    positions = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
    confidence = np.asarray(confidence, dtype=np.float32)
    if positions.shape[0] != n or confidence.shape != (n,):
        raise ValueError(f"propagate: {n} labels but {positions.shape[0]} positions and {confidence.shape} confidence")
    if k < 1 or distance_epsilon <= 0 or not 0 < confidence_scale <= 1:
        raise ValueError("propagate: k >= 1, distance_epsilon > 0 and confidence_scale in (0, 1] are required")
    out_labels, out_conf = labels.copy(), confidence.copy()
    propagated = np.zeros(n, np.uint8)
    src = np.nonzero(labels != NONE)[0]
    tgt = np.nonzero(labels == NONE)[0]
    if len(src) == 0 or len(tgt) == 0:
        return out_labels, out_conf, propagated
    kk = min(k, len(src))
    tree = cKDTree(positions[src].astype(np.float64))
    dist, nn = tree.query(positions[tgt].astype(np.float64), k=kk)
    dist, nn = dist.reshape(len(tgt), kk), nn.reshape(len(tgt), kk)
    w = confidence[src][nn].astype(np.float64) / (dist + distance_epsilon)
    cls = labels[src][nn].astype(np.int64)
    weights = np.zeros((len(tgt), int(labels[src].max()) + 1))
    rows = np.arange(len(tgt))
    for m in range(kk):  # nearest first, like the TypeScript's summation order
        weights[rows, cls[:, m]] += w[:, m]
    total = w.sum(1)
    ok = total > 0
    best = weights.argmax(1)
    out_labels[tgt[ok]] = best[ok]
    out_conf[tgt[ok]] = (weights[rows, best] / np.where(ok, total, 1))[ok] * confidence_scale
    propagated[tgt[ok]] = 1
    return out_labels, out_conf, propagated


def exact_votes(prepared, camera: Camera, labels: np.ndarray, confidence: np.ndarray | None = None) -> np.ndarray:
    """(N, NUM_CLASSES): every splat's compositing weight at every pixel, times the pixel's confidence, summed per
    pixel class (the reference renderer's weights, Babylon's sort order)."""
    from .render import render

    out = render(prepared, camera, vote_labels=labels, vote_weights=confidence)
    return out["gaussian_votes"]


# ---------------------------------------------------------------------------------------------------------------
# Benchmark on the showcase room
# ---------------------------------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOWCASE_PLY = REPO_ROOT / "demo" / "scenes" / "showcase" / "showcase.ply"


def scripted_walkthrough(positions: np.ndarray, labels: np.ndarray, n_views: int, width: int, height: int,
                         fov_y: float = np.deg2rad(60.0)) -> list[Camera]:
    """`n_views` cameras that look all around the room: eyes on a circle (radius a quarter of the room's
    smaller half-extent) around the room's centre at 1.5 m, each looking outward and a little down, yaw stepping by
    360 / n_views degrees (+ a small pitch wobble so floor and ceiling are seen)."""
    floor = positions[labels == 1]
    lo, hi = np.percentile(floor[:, [0, 2]], 1, axis=0), np.percentile(floor[:, [0, 2]], 99, axis=0)
    centre = (lo + hi) / 2
    radius = 0.25 * float(np.min(hi - lo)) / 2
    floor_y = float(np.median(floor[:, 1]))
    cams = []
    for k in range(n_views):
        yaw = 2 * np.pi * k / n_views
        d = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
        eye = np.array([centre[0] - radius * d[0], floor_y + 1.5, centre[1] - radius * d[2]])
        pitch = -0.25 + 0.2 * np.sin(3 * yaw)
        target = eye + d + np.array([0.0, np.tan(pitch), 0.0])
        cams.append(Camera.look_at(eye, target, width, height, fov_y))
    return cams


def nudge(camera: Camera, yaw_deg: float = 4.0, step: float = 0.08) -> Camera:
    """A nearby view: the camera moved `step` m sideways and turned by `yaw_deg` (for view consistency)."""
    pos = camera.position
    r = camera.world_to_view[:3, :3]
    forward, right = r[2], r[0]
    a = np.deg2rad(yaw_deg)
    new_forward = np.cos(a) * forward + np.sin(a) * right
    eye = pos + step * right
    return Camera.look_at(eye, eye + new_forward, camera.width, camera.height,
                          2 * np.arctan(0.5 * camera.height / camera.fy))


def noisy_predictions(labels: np.ndarray, rng: np.random.Generator, class_noise: float = 0.15,
                      boundary_px: int = 2, present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simulated 2D predictions from a ground-truth map: (1) boundary errors: pixels within `boundary_px` of a class
    boundary take the label of a random neighbour up to that distance away; (2) class noise: `class_noise` of the
    labelled pixels, in random 4x4 blocks, get a random class (from `present`, default all). Confidence is drawn in
    [0.4, 1] independently of whether the pixel is right (no oracle)."""
    h, w = labels.shape
    out = labels.copy()
    dy = rng.integers(-boundary_px, boundary_px + 1, size=(h, w))
    dx = rng.integers(-boundary_px, boundary_px + 1, size=(h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    ny, nx = np.clip(yy + dy, 0, h - 1), np.clip(xx + dx, 0, w - 1)
    neighbour = labels[ny, nx]
    out = np.where((labels != NONE) & (neighbour != NONE), neighbour, out)  # differs only near boundaries
    classes = np.arange(NUM_CLASSES) if present is None else np.asarray(present)
    block = 4
    bh, bw = (h + block - 1) // block, (w + block - 1) // block
    flip = rng.random((bh, bw)) < class_noise
    random_class = classes[rng.integers(0, len(classes), size=(bh, bw))]
    flip_px = np.repeat(np.repeat(flip, block, 0), block, 1)[:h, :w]
    rand_px = np.repeat(np.repeat(random_class, block, 0), block, 1)[:h, :w]
    out = np.where(flip_px & (labels != NONE), rand_px, out).astype(np.uint8)
    conf = np.where(out != NONE, rng.uniform(0.4, 1.0, size=(h, w)), 0).astype(np.float32)
    return out, conf


class VdviPredictor:
    """Real 2D predictions: a trained VDVI checkpoint (rtgs2.vdvi.train) on the reference renderer's rgb (quantised
    to 8 bits like the training views) and splatted encoder features of the scene (rtgs2.encoder checkpoint), as the
    runtime would segment the room. Labels are none where alpha < 0.5; confidence = the top softmax probability."""

    def __init__(self, scene, checkpoint: Path, encoder: Path):
        import torch

        from .render import prepare
        from .vdvi.data import FeatureSource
        from .vdvi.evaluate import load_model

        self.model, state = load_model(checkpoint)
        source = FeatureSource(f"encoder:{encoder}")
        want_k = state.get("model_args", {}).get("k")
        if want_k is not None and int(want_k) != source.k:
            raise ValueError(f"VDVI checkpoint {checkpoint} expects K = {want_k}, encoder {encoder} gives {source.k}")
        feats = source(scene, "showcase", 0)
        self.prepared = prepare(scene, features=feats, labels=scene.labels)
        self.torch = torch

    def __call__(self, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        from .render import render
        from .vdvi.evaluate import labels_from_logits, predict_logits

        torch = self.torch
        out = render(self.prepared, camera, output="numpy")
        rgb = np.clip(np.rint(np.asarray(out["rgb"], np.float32) * 255.0), 0, 255) / 255.0
        rgb_t = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
        feat_t = torch.from_numpy(np.asarray(out["features"], np.float32)).permute(2, 0, 1)[None]
        alpha_t = torch.from_numpy(np.asarray(out["alpha"], np.float32))[None]
        with torch.no_grad():
            logits = predict_logits(self.model, rgb_t, feat_t)
            labels = labels_from_logits(logits, alpha_t)[0].numpy().astype(np.uint8)
            conf = torch.softmax(logits, 1).max(1).values[0].numpy().astype(np.float32)
        return labels, np.where(labels != NONE, conf, 0).astype(np.float32)


def render_lifted(prepared_labels, camera: Camera) -> dict:
    from .render import render
    return render(prepared_labels, camera)


def benchmark(n_views: int = 24, width: int = 160, height: int = 120, seed: int = 0, depth_tolerance: float =
              DEFAULT_DEPTH_TOLERANCE, ply: Path = SHOWCASE_PLY, exact: bool = True, k: int = DEFAULT_PROPAGATION_K,
              visible_weight: float = 0.5, modes: tuple[str, ...] = ("ground_truth", "noisy"),
              vdvi: tuple[Path, Path] | None = None) -> dict:
    """The showcase-room figures (BENCHMARKS.md, "Label lifting"). Per-Gaussian mIoU is reported over the voted
    Gaussians, over all Gaussians with unvoted ones counted as misses (no propagation), over all Gaussians after
    propagation, and over the visible Gaussians after propagation: those whose compositing weight summed over the
    walkthrough's views is at least `visible_weight` pixels (the renderer's exact weights at the maps' resolution;
    the rest lie inside or behind objects, or are too faint to matter in any view). Mode "vdvi" needs
    `vdvi` = (VDVI checkpoint, encoder checkpoint) and lifts the model's real predictions."""
    from .metrics import confusion_matrix, scores, view_consistency
    from .ply import read_ply
    from .render import prepare, render

    scene = read_ply(ply)
    if scene.labels is None:
        raise ValueError(f"{ply}: no sem_label ground truth")
    gt = scene.labels
    n = len(scene)
    prepared = prepare(scene, labels=gt)
    pos_world = prepared.centers_np.astype(np.float64) @ prepared.mesh_world[:3, :3].T + prepared.mesh_world[:3, 3]
    pos_world = pos_world.astype(np.float32)
    opac = prepared.opacities.cpu().numpy()
    cams = scripted_walkthrough(pos_world, gt, n_views, width, height)
    present = np.unique(gt[gt != NONE])
    rng = np.random.default_rng(seed)
    t0 = time.time()
    # vote_labels all 0: gaussian_votes[:, 0] is each splat's compositing weight summed over the view's pixels.
    views = [render(prepared, cam, vote_labels=np.zeros((height, width), np.uint8)) for cam in cams]
    render_s = time.time() - t0
    seen_weight = np.sum([v["gaussian_votes"][:, 0] for v in views], axis=0)
    visible = seen_weight >= visible_weight
    report = {"ply": str(ply.relative_to(REPO_ROOT)) if ply.is_relative_to(REPO_ROOT) else str(ply),
              "gaussians": n, "views": n_views, "resolution": [width, height], "depth_tolerance": depth_tolerance,
              "propagation_k": k, "visible_weight_px": visible_weight, "visible_gaussians": int(visible.sum()),
              "render_s": round(render_s, 1)}
    miou = lambda pred, mask: scores(confusion_matrix(pred[mask], gt[mask]))["miou"]  # noqa: E731
    predictor = None
    if "vdvi" in modes:
        if vdvi is None:
            raise ValueError("mode vdvi needs the VDVI and encoder checkpoints (--vdvi, --encoder)")
        predictor = VdviPredictor(scene, *vdvi)
        report["vdvi"] = {"checkpoint": str(vdvi[0]), "encoder": str(vdvi[1])}
    for mode in modes:
        approx = np.zeros((n, NUM_CLASSES), np.float32)
        exact_v = np.zeros((n, NUM_CLASSES), np.float32)
        conf2d = np.zeros((NUM_CLASSES, NUM_CLASSES + 1), np.int64)
        # The 2D predictions scored per Gaussian instead of per pixel: each view's label at the centre pixel of every
        # Gaussian that voted in that view, against the Gaussian's class (the same weighting as the per-Gaussian
        # mIoU of the lifted labels; per-pixel mIoU weights classes by screen area instead).
        conf2d_gauss = np.zeros_like(conf2d)
        lift_s = 0.0
        for cam, out in zip(cams, views):
            if mode == "ground_truth":
                lab, conf = out["labels"], np.where(out["labels"] != NONE, 1.0, 0.0).astype(np.float32)
            elif mode == "vdvi":
                lab, conf = predictor(cam)
            elif mode == "noisy":
                lab, conf = noisy_predictions(out["labels"], rng, present=present)
            else:
                raise ValueError(f"unknown mode {mode!r} (ground_truth, noisy, vdvi)")
            conf2d += confusion_matrix(lab, out["labels"])
            vm, pm = babylon_matrices(cam)
            before = approx.copy()
            t = time.perf_counter()
            accumulate(approx, pos_world, opac, lab, out["alpha"], out["depth"], vm, pm, conf,
                       depth_tolerance=depth_tolerance)
            lift_s += time.perf_counter() - t
            delta = approx - before
            in_view = delta.sum(1) > 0
            conf2d_gauss += confusion_matrix(delta[in_view].argmax(1).astype(np.uint8), gt[in_view])
            if exact:
                exact_v += exact_votes(prepared, cam, lab, conf)
        voted_labels, voted_conf = resolve(approx)
        voted = voted_labels != NONE
        t = time.perf_counter()
        lifted, lifted_conf, propagated = propagate(pos_world, voted_labels, voted_conf, k=k)
        propagate_s = time.perf_counter() - t
        per_gauss = scores(confusion_matrix(voted_labels[voted], gt[voted]))
        everyone = np.ones(n, bool)
        entry = {"2d_predictions_miou": scores(conf2d)["miou"],
                 "2d_predictions_miou_per_gaussian": scores(conf2d_gauss)["miou"],
                 "gaussians_with_votes": int(voted.sum()),
                 "gaussian_miou_voted": per_gauss["miou"], "gaussian_oacc_voted": per_gauss["oacc"],
                 # Every Gaussian, the unvoted ones counting as misses (predicted none): lifting alone.
                 "gaussian_miou_all_no_propagation": miou(voted_labels, everyone),
                 "gaussian_miou_all": miou(lifted, everyone),
                 "gaussian_oacc_all": float((lifted == gt).mean()),
                 "gaussian_miou_propagated_only": miou(lifted, propagated == 1),
                 "gaussian_miou_visible": miou(lifted, visible),
                 "gaussian_miou_visible_no_propagation": miou(voted_labels, visible),
                 "visible_with_votes": int((voted & visible).sum()),
                 "gaussian_miou_hidden": miou(lifted, ~visible),
                 "lift_ms_per_view_numpy": round(1000 * lift_s / n_views, 2),
                 "propagate_ms_scipy": round(1000 * propagate_s, 1)}
        # Lifted (propagated) labels rendered back into the walkthrough views.
        lifted_scene = prepare(scene, labels=lifted)
        conf_r = np.zeros_like(conf2d)
        consistency, consistency_2d = [], []
        noise_rng = np.random.default_rng(seed + 1)
        for cam, out in zip(cams, views):
            r = render(lifted_scene, cam)
            conf_r += confusion_matrix(r["labels"], out["labels"])
            cam_b = nudge(cam)
            rb = render(lifted_scene, cam_b)
            consistency.append(view_consistency(r["labels"], r["depth"], r["alpha"], cam,
                                                rb["labels"], rb["depth"], rb["alpha"], cam_b))
            # The same pair of views segmented in 2D (ground truth, or fresh noisy predictions): the baseline.
            gb = render(prepared, cam_b)
            la, lb = out["labels"], gb["labels"]
            if mode == "noisy":
                la = noisy_predictions(la, noise_rng, present=present)[0]
                lb = noisy_predictions(lb, noise_rng, present=present)[0]
            elif mode == "vdvi":
                la, lb = predictor(cam)[0], predictor(cam_b)[0]
            consistency_2d.append(view_consistency(la, out["depth"], out["alpha"], cam, lb, gb["depth"], gb["alpha"],
                                                   cam_b))
        entry["view_consistency_2d"] = (sum(c["agreeing"] for c in consistency_2d)
                                        / max(1, sum(c["matched"] for c in consistency_2d)))
        matched = sum(c["matched"] for c in consistency)
        entry["rendered_lifted_miou"] = scores(conf_r)["miou"]
        entry["view_consistency_lifted"] = sum(c["agreeing"] for c in consistency) / max(1, matched)
        entry["view_consistency_matched_pixels"] = matched
        if exact:
            ex_labels, _ = resolve(exact_v)
            both = voted & (ex_labels != NONE)
            entry["exact_gaussians_with_votes"] = int((ex_labels != NONE).sum())
            entry["approx_vs_exact_agreement"] = float((voted_labels[both] == ex_labels[both]).mean())
            # Weighted by the exact votes' mass: agreement where it matters for rendering.
            mass = exact_v.sum(1)[both]
            entry["approx_vs_exact_agreement_weighted"] = float((mass * (voted_labels[both] == ex_labels[both])).sum()
                                                                / max(mass.sum(), 1e-12))
            ex_voted = ex_labels != NONE
            entry["exact_gaussian_miou_voted"] = scores(confusion_matrix(ex_labels[ex_voted], gt[ex_voted]))["miou"]
        report[mode] = entry
        print(json.dumps({mode: entry}), flush=True)
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=24)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depth-tolerance", type=float, default=DEFAULT_DEPTH_TOLERANCE)
    ap.add_argument("--no-exact", action="store_true", help="skip exact contribution voting")
    ap.add_argument("--k", type=int, default=DEFAULT_PROPAGATION_K, help="neighbours for label propagation")
    ap.add_argument("--modes", default="ground_truth,noisy", help="2D inputs to lift, comma-separated")
    ap.add_argument("--out", type=Path, help="also write the report here (JSON)")
    ap.add_argument("--vdvi", type=Path, help="VDVI training checkpoint, for --modes vdvi (real 2D predictions)")
    ap.add_argument("--encoder", type=Path, help="Gaussian encoder checkpoint giving the VDVI model's features")
    args = ap.parse_args(argv)
    report = benchmark(args.views, args.width, args.height, args.seed, args.depth_tolerance,
                       exact=not args.no_exact, k=args.k, modes=tuple(args.modes.split(",")),
                       vdvi=(args.vdvi, args.encoder) if args.vdvi else None)
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
