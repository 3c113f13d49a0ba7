"""The encoder's working memory in onnxruntime: one model call on a scene, its peak resident memory above the
process's before the call, with the scene dimensions as shipped (unnamed: export.free_scene_dims) and named as the
export wrote them before (what onnxruntime's allocation planner uses to reuse buffers; BENCHMARKS.md, "The encoder's
working memory").

    python3 -m rtgs2.encoder.memory_bench --onnx ../models/gaussian-encoder-k16.onnx --ply ../demo/scenes/showcase/showcase.ply

Each variant runs in a fresh process (the peak is per process), onnxruntime's CPU EP with its arena and memory
pattern off (as the runtime's worker and the Node command run the encoder), `--threads` intra-op threads, with glibc
told to map every buffer of 64 KiB or more on its own (GLIBC_TUNABLES, unless set), so that freed buffers leave the
resident set and the peak measures what the call holds at once. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


CHILD_TUNABLES = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536"


def _name_scene_dims(proto) -> None:
    """The inverse of free_scene_dims on the graph's inputs and outputs: the names the export gives the dynamic axes
    (export.scene_dims), equal names for equal sizes, as files were written before free_scene_dims."""
    from .export import scene_dims

    levels = sum(1 for v in proto.graph.input if v.name.startswith("coords_l"))
    names = scene_dims(levels)
    for value in list(proto.graph.input) + list(proto.graph.output):
        for axis, name in names.get(value.name, {}).items():
            value.type.tensor_type.shape.dim[axis].dim_param = name


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def measure(onnx_path: Path, ply: Path, named: bool, threads: int) -> dict:
    """One call in this process: the peak resident memory above the level before it (sampled every 2 ms), the time."""
    import onnx
    import onnxruntime as ort

    from ..ply import read_ply
    from .model import EncoderConfig
    from .serialization import serialize_scene

    proto = onnx.load(str(onnx_path))
    if named:
        _name_scene_dims(proto)
    props = {p.key: p.value for p in proto.metadata_props}
    config = EncoderConfig.from_json(json.loads(props["encoder_config"]))
    channels = read_ply(ply).input_channels()
    feeds = serialize_scene(channels, config.serialization).feeds()
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    inputs = {i.name: feeds[i.name] for i in session.get_inputs()}
    base = _resident_mb()
    peak = [base]
    running = True

    def sample() -> None:
        while running:
            peak[0] = max(peak[0], _resident_mb())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    out = session.run(["features"], inputs)[0]
    seconds = time.perf_counter() - started
    running = False
    sampler.join()
    peak[0] = max(peak[0], _resident_mb())
    return {"gaussians": len(channels), "voxels_l0": int(len(feeds["coords_l0"])), "peak_mb": peak[0] - base,
            "seconds": seconds, "checksum": float(abs(out).sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--ply", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", choices=["shipped", "named"], help=argparse.SUPPRESS)  # one measurement (child process)
    args = ap.parse_args(argv)
    if args.variant:
        print(json.dumps(measure(args.onnx, args.ply, args.variant == "named", args.threads)))
        return 0
    rows = {}
    for variant in ("shipped", "named"):
        done = subprocess.run([sys.executable, "-m", "rtgs2.encoder.memory_bench", "--onnx", str(args.onnx), "--ply", str(args.ply),
                               "--threads", str(args.threads), "--variant", variant], capture_output=True, text=True, check=True,
                              env={**os.environ, "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES", CHILD_TUNABLES)})
        rows[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    same = rows["shipped"]["checksum"] == rows["named"]["checksum"]
    print(f"{rows['shipped']['gaussians']:,} Gaussians, {rows['shipped']['voxels_l0']:,} level-0 voxels, {args.threads} thread(s); "
          f"features {'identical' if same else 'DIFFERENT'} (checksum)\n")
    print("| scene dimensions | peak memory of one call | bytes per Gaussian | time |")
    print("|---|---:|---:|---:|")
    for variant, label in (("named", "named (as exported before)"), ("shipped", "unnamed (shipped)")):
        r = rows[variant]
        print(f"| {label} | {r['peak_mb']:.0f} MB | {r['peak_mb'] * 1e6 / r['gaussians']:,.0f} | {r['seconds']:.2f} s |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
