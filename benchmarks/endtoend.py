"""End-to-end timing as a user runs it: every contender is a fresh Python process.

The clock runs from starting the process to its exit, so interpreter start-up, imports, model
loading and table I/O are inside it for every contender. A child prints one JSON line last;
``excluded_s`` there is time the parent subtracts (the limit loading its ready-made pixels,
which no real contender would have). Contenders run interleaved, round by round, after one
untimed warm-up round (file system cache, remembered weights fingerprint), so on a shared
machine each round's ratio compares runs made under the same load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def save_vit_b32(folder: Path) -> Path:
    """A random ViT-B/32-shaped CLIP in ``save_pretrained`` form (fixed seed)."""
    from mmscore.testing.models import build_clip_from_config, vit_b32_config

    build_clip_from_config(vit_b32_config(), seed=0).save_pretrained(folder)
    return folder


def child_env(cache_dir: Path) -> dict[str, str]:
    """The children's environment: quiet, offline, their own mmscore cache folder."""
    env = dict(os.environ)
    env.update({"MMSCORE_QUIET": "1", "MMSCORE_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1"})
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(script: Path, args: Sequence[str], env: Mapping[str, str]) -> tuple[float, dict]:
    """(wall seconds minus the child's ``excluded_s``, the child's JSON report + its ``cpu_s``)."""
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, str(script), "--child", *args], capture_output=True, text=True,
                          env=dict(env), check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["cpu_s"] = _children_cpu() - cpu
    return wall - float(report.get("excluded_s", 0.0)), report


def compare(script: Path, contenders: Mapping[str, Sequence[str]], rounds: int, env: Mapping[str, str]
            ) -> dict[str, list[float]]:
    """Wall seconds of each contender per round (one untimed warm-up round first); CPU seconds
    (all threads of the process) are printed as they come, since on a loaded machine they show
    the work done better than the wall clock."""
    for args in contenders.values():
        run_child(script, args, env)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(rounds):
        for name, args in contenders.items():
            wall, report = run_child(script, args, env)
            times[name].append(wall)
            print(f"round {round_ + 1}: {name:8s} wall {wall:6.2f} s  cpu {report['cpu_s']:6.2f} s  "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
    return times


def print_ratios(times: Mapping[str, list[float]], ours: str = "mmscore", limit: str = "limit",
                 goal: float = 1.15) -> None:
    """Each round's time and ratio to the limit, and the load average (a shared machine shows there)."""
    for name, values in times.items():
        print(f"{name:10s} " + "  ".join(f"{v:6.2f} s" for v in values))
    ratios = [o / lim for o, lim in zip(times[ours], times[limit], strict=True)]
    print(f"{ours} / {limit} per round: " + ", ".join(f"{r:.3f}" for r in ratios) + f"  (goal <= {goal})")
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
