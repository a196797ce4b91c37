"""What the Ray engine asks of a cluster, derived from its nodes so no stage can be starved.

Ray places a task or an actor on ONE node, so totals over the cluster are not enough: a pool of
model actors that leaves 0.5 CPU free on each of two nodes leaves 1 CPU free "in the cluster"
but no node where a 1-CPU decoding task can start — the multi-node deadlock this module exists
to prevent. The rules (pure arithmetic, no Ray, unit-tested over many cluster shapes):

* a decoding task asks ``decode_cpus = min(1, smallest CPU node / 2)``, so it fits on every node;
* GPU actors are bounded per node by that node's GPUs (``k = GPUs // gpus_per_worker``), so each
  actor asks ``min(1, (cpus - decode_cpus) / k)`` CPUs over the GPU nodes: every node keeps a
  decoding slot however its actors are placed;
* CPU actors can land anywhere, several on one node, so only a bound on their sum works: when
  ``workers x actor_cpus <= CPUs - nodes x decode_cpus``, the CPUs the actors leave free add up
  to at least one decoding slot per node, so at least one node has a whole slot free. With more
  than one node the bound is taken over the cluster minus its largest node, so the pool and a
  decoding slot still fit after any one node is lost and Ray restarts its actor elsewhere.

Ray Data then does the rest: the actor pool grows from 1 to ``max_workers`` as decoded shards
queue up (``ActorPoolStrategy(min_size=1, max_size=...)``, the successor of
``concurrency=(1, max)``), and decoding is throttled by its back-pressure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmscore.errors import ConfigError

#: bytes reserved per decoding task (a shard's sampled, cropped frames: 256 videos x 10 frames x
#: 224 x 224 x 3 uint8 is 385 MB); lowered on nodes with less memory so a task always fits
DECODE_TASK_MEMORY = 512 * 2**20
#: a CPU actor never asks more than this: one core per model, the rest of a node decodes
MAX_ACTOR_CPUS = 1.0
#: Ray's resource granularity; requests are rounded DOWN to it so the sums above stay true
RESOURCE_STEP = 1e-4


@dataclass(frozen=True)
class NodeShape:
    """The schedulable resources of one alive node."""

    cpus: float
    gpus: float = 0.0
    memory: float = 0.0  # bytes Ray may hand to tasks (0: unknown)

    def describe(self) -> str:
        return f"{self.cpus:g} CPU" + (f" {self.gpus:g} GPU" if self.gpus else "")


@dataclass(frozen=True)
class ResourcePlan:
    """Per-actor and per-task requests for one job on one cluster shape."""

    actor_cpus: float
    actor_gpus: float
    decode_cpus: float
    decode_memory: int
    max_workers: int
    survives_node_loss: bool

    #: the actor pool starts with one actor (one always fits) and grows as shards queue up
    min_workers: int = 1

    def describe(self) -> str:
        gpu = f" + {self.actor_gpus:g} GPU" if self.actor_gpus else ""
        return (f"up to {self.max_workers} model actor(s) of {self.actor_cpus:g} CPU{gpu}, decoding tasks of "
                f"{self.decode_cpus:g} CPU")


def _round_down(value: float) -> float:
    return math.floor(value / RESOURCE_STEP + 1e-9) * RESOURCE_STEP


def nodes_from_ray(ray_nodes: Sequence[Mapping[str, Any]]) -> list[NodeShape]:
    """The alive nodes of ``ray.nodes()`` as shapes (nodes with neither CPU nor GPU are left out)."""
    shapes = []
    for node in ray_nodes:
        if not node.get("Alive", node.get("alive", False)):
            continue
        resources = node.get("Resources", {})
        shape = NodeShape(float(resources.get("CPU", 0)), float(resources.get("GPU", 0)),
                          float(resources.get("memory", 0)))
        if shape.cpus > 0 or shape.gpus > 0:
            shapes.append(shape)
    return shapes


def describe_cluster(nodes: Sequence[NodeShape]) -> str:
    return f"{len(nodes)} node(s): " + ", ".join(node.describe() for node in nodes) if nodes else "no nodes"


def _decode_request(cpu_nodes: Sequence[NodeShape]) -> tuple[float, int]:
    smallest = min(node.cpus for node in cpu_nodes)
    memories = [node.memory for node in cpu_nodes if node.memory > 0]
    memory = min([DECODE_TASK_MEMORY] + [int(m // 2) for m in memories])
    return _round_down(min(1.0, smallest / 2)), memory


def _gpu_actor_cpus(gpu_nodes: Sequence[NodeShape], gpus: float, decode_cpus: float) -> float:
    """CPUs per GPU actor such that each GPU node, full of actors, still has a decoding slot."""
    shares = [(node.cpus - decode_cpus) / (node.gpus // gpus) for node in gpu_nodes]
    return max(0.0, _round_down(min([MAX_ACTOR_CPUS] + shares)))


def plan_resources(nodes: Sequence[NodeShape], *, num_workers: int | None = None, gpus_per_worker: float = 0.0,
                   decodes: bool = True, shards: int | None = None) -> ResourcePlan:
    """The requests for a job on ``nodes`` (see the module docstring for why they cannot starve).

    num_workers: the largest actor pool the user wants (default: one per GPU, else as many
    1-CPU actors as the CPU budget holds). shards: pending shards (the pool never exceeds them).
    """
    if num_workers is not None and num_workers < 1:
        raise ConfigError(f"num_workers must be >= 1; got {num_workers}")
    if gpus_per_worker < 0:
        raise ConfigError(f"num_gpus_per_worker must be >= 0; got {gpus_per_worker}")
    cpu_nodes = [node for node in nodes if node.cpus > 0]
    if not cpu_nodes:
        raise ConfigError(f"the Ray cluster has no CPUs ({describe_cluster(nodes)}); decoding and the "
                          "driver's tasks need CPUs")
    decode_cpus, decode_memory = _decode_request(cpu_nodes) if decodes else (0.0, 0)
    if gpus_per_worker > 0:
        gpu_nodes = [node for node in nodes if node.gpus >= gpus_per_worker]
        if not gpu_nodes:
            raise ConfigError(f"--num-gpus-per-worker {gpus_per_worker:g}: no node has that many GPUs "
                              f"({describe_cluster(nodes)})")
        fits = sum(int(node.gpus // gpus_per_worker) for node in gpu_nodes)
        workers = min(num_workers or fits, fits)
        actor_cpus = _gpu_actor_cpus(gpu_nodes, gpus_per_worker, decode_cpus)
        survives = workers <= fits - max(int(node.gpus // gpus_per_worker) for node in gpu_nodes)
    else:
        total = sum(node.cpus for node in cpu_nodes)
        budget = total - len(cpu_nodes) * decode_cpus
        spare = total - max(node.cpus for node in cpu_nodes) - (len(cpu_nodes) - 1) * decode_cpus
        survives = len(cpu_nodes) > 1 and spare > 0
        budget = spare if survives else budget
        workers = num_workers or max(1, int(budget // MAX_ACTOR_CPUS + 1e-9))
        actor_cpus = _round_down(min(MAX_ACTOR_CPUS, budget / workers))
        if actor_cpus <= 0:
            raise ConfigError(f"{workers} model actor(s) do not fit beside decoding on {describe_cluster(nodes)}; "
                              "give fewer --num-workers")
    if shards is not None:
        workers = max(1, min(workers, shards))
    return ResourcePlan(actor_cpus, float(gpus_per_worker), decode_cpus, decode_memory, workers, survives)


def still_fits(plan: ResourcePlan, nodes: Sequence[NodeShape]) -> bool:
    """Whether the remaining ``nodes`` can still run the plan: a node for an actor, and (CPU actors)
    the pool plus one decoding slot per node within the CPUs left."""
    cpu_nodes = [node for node in nodes if node.cpus > 0]
    if plan.decode_cpus and not any(node.cpus >= plan.decode_cpus for node in cpu_nodes):
        return False
    if plan.actor_gpus > 0:
        return any(node.gpus >= plan.actor_gpus and node.cpus >= plan.actor_cpus for node in nodes)
    total = sum(node.cpus for node in cpu_nodes)
    return plan.max_workers * plan.actor_cpus + len(cpu_nodes) * plan.decode_cpus <= total + 1e-9
