"""Scale-out: the local engine vs the Ray engine with 1 and 2 model actors, on this machine.

Workload: EMScore over synthetic videos (320x180, 10 fps, H.264) sampled every 0.5 s, scored
with a small random CLIP (64 px, 4 layers; built here, no download), in shards of
``--shard-size`` rows. Every video is decoded (the video embedding cache is off).

Measured, all in this process:

* ``local``: ``run_engine(..., engine="local")`` — decoding threads + encoder in one process;
* ``ray xN``: ``run_engine(..., engine="ray", num_workers=N)`` on ``ray.init(num_cpus=C)`` —
  decoding in CPU tasks, N model actors; ``ray.init`` itself is timed once and left out, actor
  start-up (import torch, load the model) is included, as a real job pays it once;
* decode rate per core: ``mmscore.io.media.sample_with_spec`` on a 10-s 640x360 30 fps video,
  one frame per second, with x264's default keyframe interval and with a keyframe every second
  — the figure the cluster arithmetic in the README uses.

Run: ``python benchmarks/bench_ray.py [--videos 48] [--shard-size 8] [--cpus 2]``. Prints
rows/s and the ratio to the local engine over the whole run (start-up included), and the wall
time of a one-shard job (the fixed cost: actors importing torch and loading the model, which a
long job pays once; in a long job decoding overlaps it). The machine's 2 cores are shared, so
repeat runs to see the noise. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MMSCORE_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COLORS = ["red", "green", "blue", "yellow", "purple", "white"]
DIRECTIONS = ["right", "left", "up", "down"]
CAPTIONS = ["a square moves across the screen", "a coloured block slides", "a small box travels to the side",
            "an object moves on a dark background", "a bright square drifts upwards"]


def make_workload(folder: Path, n_videos: int) -> Path:
    import pandas as pd

    from mmscore.io.tables import write_table
    from mmscore.testing.media import make_video
    from mmscore.testing.models import save_tiny_clip_hf

    save_tiny_clip_hf(folder / "model", seed=0, image_size=64, patch_size=16, vision_width=64, text_width=64,
                      layers=4, heads=4, embed_dim=32)
    rows = []
    for i in range(n_videos):
        path = make_video(folder / f"v{i:03d}.mp4", n_frames=50, fps=10, width=320, height=180,
                          color=COLORS[i % len(COLORS)], direction=DIRECTIONS[i % len(DIRECTIONS)], codec="libx264")
        rows.append({"video_path": path.name, "candidate": CAPTIONS[i % 5],
                     "reference": [CAPTIONS[(i + 1) % 5], CAPTIONS[(i + 2) % 5]]})
    return write_table(pd.DataFrame(rows), folder / "videos.jsonl")


def operator(model: Path):
    from mmscore.operators.emscore import EMScoreEval

    return EMScoreEval(every_n_seconds=0.5, clip_model_path=str(model)).configure(cache_dir=False)


def timed_run(table: Path, model: Path, out: Path, **engine) -> float:
    from mmscore.engine import run_engine

    shutil.rmtree(out.with_name(out.name + ".shards"), ignore_errors=True)
    start = time.perf_counter()
    run_engine(operator(model), table, out, overwrite=True, **engine)
    return time.perf_counter() - start


def decode_rate(folder: Path) -> dict[str, float]:
    """Videos per second per core for one-frame-per-second sampling of a 10-s 640x360 clip."""
    from mmscore.io.media import sample_frames
    from mmscore.testing.media import make_video

    rates = {}
    for label, gop in (("x264 default keyframes (250)", None), ("keyframe every 1 s (gop 30)", 30)):
        path = make_video(folder / f"hd_{gop}.mp4", n_frames=300, fps=30, width=640, height=360, codec="libx264",
                          gop_size=gop)
        sample_frames(path, every_n_seconds=1.0)  # warm-up
        start, runs = time.perf_counter(), 5
        for _ in range(runs):
            sample_frames(path, every_n_seconds=1.0)
        rates[label] = runs / (time.perf_counter() - start)
        rates[label + " size MB"] = path.stat().st_size / 1e6
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--shard-size", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import ray

    from mmscore.io.tables import read_table, write_table

    with tempfile.TemporaryDirectory(prefix="mmscore-bench-ray-") as tmp:
        folder = Path(tmp)
        table = make_workload(folder, args.videos)
        model = folder / "model"
        print(f"workload: {args.videos} videos (320x180, 5 s, 10 fps, H.264; 10 frames each), "
              f"shard size {args.shard_size}, {os.cpu_count()} cores")
        for label, rate in decode_rate(folder).items():
            unit = "" if label.endswith("MB") else " videos/s per core (10 frames each)"
            print(f"decode {label}: {rate:.2f}{unit}")

        small = write_table(read_table(table).head(args.shard_size), folder / "small.jsonl")
        timed_run(table, model, folder / "warm.parquet", shard_size=args.shard_size)  # imports, model memo
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - start
        results = {}
        for name, engine in (("local", {}), ("ray x1", {"engine": "ray", "num_workers": 1}),
                             ("ray x2", {"engine": "ray", "num_workers": 2})):
            fixed = timed_run(small, model, folder / "small.parquet", shard_size=args.shard_size, **engine)
            wall = timed_run(table, model, folder / "big.parquet", shard_size=args.shard_size, **engine)
            results[name] = (wall, fixed)
        ray.shutdown()

    print(f"ray.init: {init_s:.1f} s (once per job, not included below)")
    print(f"{'engine':<9}{'wall s':>8}{'rows/s':>8}{'vs local':>10}{'1-shard job s':>15}")
    local_wall = results["local"][0]
    for name, (wall, fixed) in results.items():
        print(f"{name:<9}{wall:>8.2f}{args.videos / wall:>8.2f}{local_wall / wall:>10.2f}{fixed:>15.2f}")


if __name__ == "__main__":
    main()
