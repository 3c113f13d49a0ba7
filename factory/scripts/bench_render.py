#!/usr/bin/env python3
"""Times the reference renderer (rtgs2.render) on a synthetic room of N Gaussians seen from inside.

The room is a stand-in with the statistics that matter for the renderer's cost (surface Gaussians flattened along
the normal, 1-4 cm across, mostly opaque, a room seen from its inside so that every pixel is covered several
layers deep); it is generated here so that the benchmark does not depend on the scene generator.
Prints the time per view (median of --views views after one warm-up) and the fragment statistics.

    python3 factory/scripts/bench_render.py [--gaussians 150000] [--size 320x240] [--views 5] [--device cpu]
                                            [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "factory"))

import torch  # noqa: E402

from rtgs2.camera import Camera  # noqa: E402
from rtgs2.gaussians import GaussianScene  # noqa: E402
from rtgs2.render import prepare, render  # noqa: E402


def synthetic_room(n: int, seed: int = 0) -> GaussianScene:
    """n Gaussians on the six faces of a 5 x 2.8 x 4.5 m box and on 12 boxes inside it, by area."""
    rng = np.random.default_rng(seed)
    room = np.array([5.0, 2.8, 4.5])
    boxes = [(rng.uniform([-2, 0, -1.8], [2, 0, 1.8]), rng.uniform([0.4, 0.4, 0.4], [1.6, 1.2, 1.0]))
             for _ in range(12)]
    faces = []  # (centre, half extents of the face, normal axis)
    for centre, size in [(np.array([0, 1.4, 0]), room)] + [(c + [0, s[1] / 2, 0], s) for c, s in boxes]:
        for axis in range(3):
            for sign in (-1, 1):
                c = centre.copy()
                c[axis] += sign * size[axis] / 2
                half = size / 2
                half = np.where(np.arange(3) == axis, 0.0, half)
                faces.append((c, half, axis))
    areas = np.array([4 * np.prod(h[h > 0]) for _, h, _ in faces])
    counts = rng.multinomial(n, areas / areas.sum())
    positions, log_scales, rotations = [], [], []
    for (c, half, axis), k in zip(faces, counts):
        positions.append(c + rng.uniform(-1, 1, (k, 3)) * half)
        spacing = np.sqrt(areas.sum() / n)
        s = np.log(spacing * rng.uniform(0.5, 1.2, (k, 3)))
        s[:, axis] = np.log(spacing * 0.08)
        log_scales.append(s)
        angle = rng.uniform(0, np.pi, k)  # spin about the face normal
        q = np.zeros((k, 4))
        q[:, 0] = np.cos(angle / 2)
        q[:, 1 + axis] = np.sin(angle / 2)
        rotations.append(q)
    positions = np.concatenate(positions)
    opacities = np.where(rng.uniform(size=n) < 0.7, rng.uniform(0.9, 1.0, n), rng.uniform(0.05, 0.9, n))
    return GaussianScene(positions, rng.uniform(0.1, 0.9, (n, 3)), opacities, np.concatenate(log_scales),
                         np.concatenate(rotations), labels=rng.integers(0, 21, n).astype(np.uint8),
                         features=rng.normal(size=(n, 16)).astype(np.float32))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaussians", type=int, default=150_000)
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    parser.add_argument("--views", type=int, default=5)
    parser.add_argument("--features", type=int, default=16, help="K feature channels to composite (0: none)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's; 1 is fastest on a machine busy with other jobs)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    scene = synthetic_room(args.gaussians)
    features = scene.features[:, :args.features] if args.features else None
    if not args.features:
        scene.features = None
    prepared = prepare(scene, features=features, device=args.device)
    rng = np.random.default_rng(1)
    cameras = []
    for _ in range(args.views + 1):
        eye = rng.uniform([-2.0, 1.2, -1.8], [2.0, 1.8, 1.8])
        target = eye + np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), rng.uniform(-0.4, 0.1), np.sin(a)])
        cameras.append(Camera.look_at(eye, target, width, height, np.deg2rad(60.0), near=0.05, far=100.0))
    times, cpu_times = [], []
    for i, camera in enumerate(cameras):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = render(prepared, camera, output="torch")
        if prepared.device.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first view warms up
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    coverage = float(result["alpha"].mean())
    print(f"{args.gaussians} Gaussians, {width}x{height}, K={args.features}, device {prepared.device}, "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"time per view: median {np.median(times):.3f} s, min {np.min(times):.3f} s over {len(times)} views "
          f"(mean coverage of the last view {coverage:.3f})")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process (scene + renderer): {peak_mib:.0f} MiB")
    print(f"process CPU time per view (all threads; what a busy machine inflates least): median "
          f"{np.median(cpu_times):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
