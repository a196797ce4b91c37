"""The resource arithmetic of the Ray engine, checked by brute force over many cluster shapes.

The independent check: enumerate EVERY way Ray could place the actor pool on the nodes (each
actor on a node with the CPUs and GPUs it asks left) and require that some node still has a
whole decoding slot free — also after any one node is lost, when the plan says it survives that.
No Ray needed.
"""

from __future__ import annotations

import itertools

import pytest

from mmscore.engine.resources import (
    DECODE_TASK_MEMORY,
    NodeShape,
    ResourcePlan,
    nodes_from_ray,
    plan_resources,
    still_fits,
)
from mmscore.errors import ConfigError

EPS = 1e-9


def placements(nodes: list[NodeShape], plan: ResourcePlan, actors: int):
    """Every assignment of ``actors`` actors to nodes that Ray could make (node order ignored)."""
    for combo in itertools.combinations_with_replacement(range(len(nodes)), actors):
        cpus = [node.cpus for node in nodes]
        gpus = [node.gpus for node in nodes]
        ok = True
        for index in combo:
            cpus[index] -= plan.actor_cpus
            gpus[index] -= plan.actor_gpus
            if cpus[index] < -EPS or gpus[index] < -EPS:
                ok = False
                break
        if ok:
            yield cpus


def decoding_always_fits(nodes: list[NodeShape], plan: ResourcePlan) -> bool:
    """Whatever the placement of up to ``max_workers`` actors, a decoding task fits somewhere."""
    return all(max(free) >= plan.decode_cpus - EPS
               for actors in range(1, plan.max_workers + 1) for free in placements(nodes, plan, actors))


def some_actor_fits(nodes: list[NodeShape], plan: ResourcePlan) -> bool:
    return any(True for _ in placements(nodes, plan, 1))


CPU_SHAPES = [[1], [2], [4], [1, 1], [2, 2], [1, 1, 1], [1, 2], [2, 1, 1], [4, 1], [8, 8], [3, 5, 2], [16, 1, 1],
              [0.5, 4], [1] * 5]


@pytest.mark.parametrize("cpus", CPU_SHAPES, ids=lambda c: "x".join(f"{v:g}" for v in c))
@pytest.mark.parametrize("num_workers", [None, 1, 2, 3])
def test_cpu_clusters_never_starve_decoding(cpus: list[float], num_workers: int | None) -> None:
    nodes = [NodeShape(c) for c in cpus]
    plan = plan_resources(nodes, num_workers=num_workers)
    assert plan.decode_cpus <= min(cpus) + EPS and plan.actor_cpus > 0 and plan.actor_gpus == 0
    assert plan.max_workers == (num_workers or plan.max_workers) and plan.min_workers == 1
    assert some_actor_fits(nodes, plan)
    assert decoding_always_fits(nodes, plan)
    assert plan.survives_node_loss == (len(nodes) > 1)
    if plan.survives_node_loss:
        for lost in range(len(nodes)):
            rest = nodes[:lost] + nodes[lost + 1:]
            assert some_actor_fits(rest, plan) and decoding_always_fits(rest, plan), lost
            assert still_fits(plan, rest)


def test_the_reported_deadlock_shapes_get_a_whole_free_slot() -> None:
    # 2 x 1 CPU: the old rule gave each of 2 actors 0.5 CPU and decoding 1 CPU -> nothing could decode
    plan = plan_resources([NodeShape(1), NodeShape(1)])
    assert (plan.max_workers, plan.actor_cpus, plan.decode_cpus) == (1, 0.5, 0.5)
    plan = plan_resources([NodeShape(1), NodeShape(1)], num_workers=2)
    assert (plan.actor_cpus, plan.decode_cpus) == (0.25, 0.5)  # 2 x 0.25 + 2 x 0.5 = 1 spare node's worth
    # 2 x 2 CPUs, default workers: the old rule made 4 actors of 0.75 CPU
    plan = plan_resources([NodeShape(2), NodeShape(2)])
    assert (plan.max_workers, plan.actor_cpus, plan.decode_cpus) == (1, 1.0, 1.0)
    # one machine, 2 CPUs (the test suite's local Ray): one 1-CPU actor, one 1-CPU decoder
    plan = plan_resources([NodeShape(2)])
    assert (plan.max_workers, plan.actor_cpus, plan.decode_cpus, plan.survives_node_loss) == (1, 1.0, 1.0, False)
    # a bigger cluster: 4 x 8 CPUs keeps one node spare, one decoding CPU per other node
    plan = plan_resources([NodeShape(8)] * 4)
    assert (plan.max_workers, plan.actor_cpus) == (32 - 8 - 3, 1.0)


GPU_SHAPES = [
    ([NodeShape(4, 1)], 1.0),
    ([NodeShape(8, 2), NodeShape(8, 2)], 1.0),
    ([NodeShape(1, 4)], 1.0),                          # a GPU node with one CPU: actors get 0.125 CPU
    ([NodeShape(2, 1), NodeShape(16)], 1.0),           # mixed: GPU node + CPU-only decoding node
    ([NodeShape(4, 1), NodeShape(4, 1), NodeShape(2)], 0.25),  # 4 actors share each GPU
    ([NodeShape(1, 1), NodeShape(0.5, 0)], 0.5),
]


@pytest.mark.parametrize("nodes,gpus", GPU_SHAPES)
def test_gpu_and_mixed_clusters_keep_a_decoding_slot_on_every_node(nodes: list[NodeShape], gpus: float) -> None:
    plan = plan_resources(nodes, gpus_per_worker=gpus)
    per_node = [int(node.gpus // gpus) for node in nodes]
    assert plan.max_workers == sum(per_node) and plan.actor_gpus == gpus
    for node, k in zip(nodes, per_node, strict=True):  # a node full of actors still decodes
        if node.cpus > 0:
            assert k * plan.actor_cpus + plan.decode_cpus <= node.cpus + EPS
    assert decoding_always_fits(nodes, plan)
    assert plan.survives_node_loss == (sum(per_node) - max(per_node) >= plan.max_workers)


def test_gpu_workers_are_capped_by_the_gpus_and_node_loss_is_judged() -> None:
    nodes = [NodeShape(8, 2), NodeShape(8, 2)]
    assert plan_resources(nodes, gpus_per_worker=1, num_workers=9).max_workers == 4
    plan = plan_resources(nodes, gpus_per_worker=1, num_workers=2)
    assert plan.max_workers == 2 and plan.survives_node_loss and plan.actor_cpus == 1.0
    assert still_fits(plan, nodes[:1])
    assert not still_fits(plan, [NodeShape(16)])  # only CPU nodes left: no actor can start


def test_impossible_requests_are_refused_with_the_cluster_named() -> None:
    with pytest.raises(ConfigError, match=r"no node has that many GPUs \(2 node\(s\): 4 CPU, 4 CPU 1 GPU\)"):
        plan_resources([NodeShape(4), NodeShape(4, 1)], gpus_per_worker=2)
    with pytest.raises(ConfigError, match="has no CPUs"):
        plan_resources([NodeShape(0, 8)], gpus_per_worker=1)
    with pytest.raises(ConfigError, match="num_workers must be >= 1"):
        plan_resources([NodeShape(2)], num_workers=0)


def test_no_decoding_stage_means_no_decoding_reservation() -> None:
    plan = plan_resources([NodeShape(2)], decodes=False)
    assert (plan.decode_cpus, plan.decode_memory, plan.max_workers, plan.actor_cpus) == (0.0, 0, 2, 1.0)


def test_pool_never_exceeds_the_pending_shards_and_memory_fits_small_nodes() -> None:
    assert plan_resources([NodeShape(8)] * 4, shards=3).max_workers == 3
    plan = plan_resources([NodeShape(1, memory=600 * 2**20), NodeShape(4, memory=64 * 2**30)])
    assert plan.decode_memory == 300 * 2**20
    assert plan_resources([NodeShape(2, memory=64 * 2**30)]).decode_memory == DECODE_TASK_MEMORY


def test_nodes_from_ray_keeps_alive_nodes_with_cpus_or_gpus() -> None:
    listed = [
        {"NodeID": "a", "Alive": True, "Resources": {"CPU": 2.0, "memory": 4e9, "node:__internal_head__": 1.0}},
        {"NodeID": "b", "Alive": False, "Resources": {"CPU": 8.0}},
        {"NodeID": "c", "Alive": True, "Resources": {"CPU": 1.0, "GPU": 2.0}},
        {"NodeID": "d", "Alive": True, "Resources": {"memory": 1e9}},
    ]
    assert nodes_from_ray(listed) == [NodeShape(2, 0, 4e9), NodeShape(1, 2, 0)]
