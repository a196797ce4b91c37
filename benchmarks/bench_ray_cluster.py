"""What each multi-node cluster shape does on this host: finish time, rows/s, and a lost node.

Every shape is a real Ray cluster started on this machine with ``ray.cluster_utils.Cluster``
(a head node without CPUs, so only the worker nodes run work, as with ``ray start --head
--num-cpus 0`` plus ``ray start --address ...`` workers), scoring the EMScore workload of
``bench_ray.py`` (synthetic H.264 videos, small random CLIP) with the default options. All
nodes share this machine's cores, so a shape measures scheduling (does it finish, how the pool
is sized), not scale-out speed. "GPU" nodes are logical (``num_gpus=1`` on a CPU-only host): the
actors are placed as on a GPU cluster and compute on the CPU.

Scenarios:

* ``N x C``: default options on N worker nodes of C CPUs (GPU shapes: ``C+g``);
* ``kill``: the node running the model actor is killed once the first shard is done;
* ``kill gpu``: the only GPU node is killed: the driver fails fast; a GPU node is added back
  and the rerun resumes from the completed shards.

The baseline is the local engine on the same workload, in this process, in the same run.
Run: ``python benchmarks/bench_ray_cluster.py [--videos 32] [--shard-size 4]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ray import make_workload, operator  # noqa: E402 - the same workload as bench_ray.py

os.environ.setdefault("MMSCORE_QUIET", "1")
NODE_ARGS = {"object_store_memory": 96 * 2**20}
SHAPES = [((1, 1), ()), ((2, 2), ()), ((1, 1, 1), ()), ((2,), ()), ((1, 1), (1, 0))]


def _load() -> str:
    return "load {:.1f}/{:.1f}".format(*os.getloadavg()[:2])


def _run(table: Path, model: Path, out: Path, **engine) -> tuple[float, str]:
    from mmscore.engine import run_engine

    start = time.perf_counter()
    try:
        result = run_engine(operator(model), table, out, **engine)
        outcome = f"done, {result.shards_run} shard(s) run"
    except Exception as exc:  # noqa: BLE001 - the outcome is what is measured
        outcome = f"{type(exc).__name__}: {str(exc)[:150]}"
    return time.perf_counter() - start, outcome


class Shape:
    """A cluster on this host: head without CPUs, worker nodes of the given CPUs and (logical) GPUs."""

    def __init__(self, cpus: tuple[int, ...], gpus: tuple[int, ...]) -> None:
        import ray
        from ray.cluster_utils import Cluster

        self.ray = ray
        self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **NODE_ARGS})
        gpus = gpus or (0,) * len(cpus)
        self.nodes = [self.cluster.add_node(num_cpus=c, num_gpus=g, **NODE_ARGS)
                      for c, g in zip(cpus, gpus, strict=True)]
        self.cluster.wait_for_nodes()
        ray.init(address=self.cluster.address, include_dashboard=False, log_to_driver=False)
        self.label = " + ".join(f"{c}" + (f"+{g}gpu" if g else "") for c, g in zip(cpus, gpus, strict=True))

    def close(self) -> None:
        self.ray.shutdown()
        self.cluster.shutdown()


def _kill_when_started(shape: Shape, shards: Path, pick) -> None:
    while not list(shards.glob("*.done.json")):
        time.sleep(0.02)
    shape.cluster.remove_node(pick(shape), allow_graceful=False)


def _actor_node(shape: Shape):
    from mmscore.testing.ray_nodes import node_runs

    return next(node for node in shape.nodes if node_runs(node, "_ShardScorer"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--shard-size", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from mmscore.engine.resources import nodes_from_ray, plan_resources

    rows, plans = [], []
    with tempfile.TemporaryDirectory(prefix="mmscore-bench-cluster-") as tmp:
        folder = Path(tmp)
        table, model = make_workload(folder, args.videos), folder / "model"
        wall, outcome = _run(table, model, folder / "local.parquet", shard_size=args.shard_size)
        rows.append(("local engine", wall, outcome, _load()))
        for cpus, gpus in SHAPES:
            shape = Shape(cpus, gpus)
            gpu_args = {"num_gpus_per_worker": 1.0} if gpus else {}
            out = folder / f"{shape.label}.parquet"
            plans.append((shape.label, plan_resources(nodes_from_ray(shape.ray.nodes()),
                                                      gpus_per_worker=1.0 if gpus else 0.0).describe()))
            wall, outcome = _run(table, model, out, engine="ray", shard_size=args.shard_size, stall_timeout=120,
                                 **gpu_args)
            rows.append((f"ray {shape.label}", wall, outcome, _load()))
            if cpus == (1, 1) and not gpus:
                kill = folder / "kill.parquet"
                threading.Thread(target=_kill_when_started, args=(shape, Path(f"{kill}.shards"), _actor_node),
                                 daemon=True).start()
                wall, outcome = _run(table, model, kill, engine="ray", shard_size=args.shard_size, stall_timeout=120)
                rows.append((f"ray {shape.label}, actor's node killed", wall, outcome, _load()))
            if gpus:
                kill = folder / "kill-gpu.parquet"
                threading.Thread(target=_kill_when_started, args=(shape, Path(f"{kill}.shards"),
                                                                  lambda s: s.nodes[0]), daemon=True).start()
                wall, outcome = _run(table, model, kill, engine="ray", shard_size=args.shard_size, stall_timeout=120,
                                     **gpu_args)
                rows.append((f"ray {shape.label}, GPU node killed", wall, outcome, _load()))
                shape.cluster.add_node(num_cpus=1, num_gpus=1, **NODE_ARGS)
                shape.cluster.wait_for_nodes()
                wall, outcome = _run(table, model, kill, engine="ray", shard_size=args.shard_size, stall_timeout=120,
                                     **gpu_args)
                rows.append(("  rerun after a GPU node is back", wall, outcome, _load()))
            shape.close()
            shutil.rmtree(out.with_name(out.name + ".shards"), ignore_errors=True)
    print(f"workload: {args.videos} videos, shard size {args.shard_size}, {os.cpu_count()} cores shared by all nodes")
    for label, wall, outcome, load in rows:
        print(f"{label:<40}{wall:>7.1f} s {args.videos / wall:>6.2f} rows/s  {load}  {outcome}")
    for label, plan in plans:
        print(f"plan on {label}: {plan}")


if __name__ == "__main__":
    main()
