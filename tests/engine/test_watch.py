"""The driver's stall detector and progress words, with a simulated clock and a fake cluster (no Ray)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from mmscore.engine.resources import NodeShape, plan_resources
from mmscore.engine.shards import ShardPlan
from mmscore.engine.watch import EngineStallError, StageBoard, StageCounts, StallWatch


def test_waiting_stage_names_the_bottleneck() -> None:
    assert StageCounts().waiting_on(decodes=True) == "model actors starting"
    idle = StageCounts(actors_ready=2, decoded={0}, started={0}, scored={0})
    assert idle.waiting_on(decodes=True) == "decoding (2/2 actors idle)"
    busy = StageCounts(actors_ready=2, decoded={0, 1, 2, 3}, started={0, 1}, scored=set())
    assert busy.waiting_on(decodes=True) == "scoring (2 in 2 actors, 2 queued)"
    # nothing decodes (row-wise operators): the actors are the only stage
    assert StageCounts(actors_ready=1, started={5}).waiting_on(decodes=False) == "scoring (1 in 1 actors, 0 queued)"


def test_stage_board_counts_each_shard_once_and_can_stop_the_job() -> None:
    board = StageBoard()
    board.ready()
    for stage, shard in (("decoded", 0), ("decoded", 0), ("started", 0), ("decoded", 1)):
        board.mark(stage, shard)  # a retried decode reports shard 0 twice
    counts = board.snapshot()
    assert (counts.actors_ready, counts.decoded, counts.started, counts.scored) == (1, {0, 1}, {0}, set())
    assert not board.is_stopped()
    board.stop()
    assert board.is_stopped()


def test_stall_limit_is_factor_times_median_with_a_floor_and_a_startup_allowance() -> None:
    watch = StallWatch(started_at=100.0, timeout=30.0)
    assert watch.limit() == 90.0  # 3 x the floor before any shard: actors load their models
    assert not watch.stalled(189.0) and watch.stalled(191.0)
    for seconds, at in ((2.0, 110.0), (8.0, 112.0), (4.0, 115.0)):
        watch.shard_done(seconds, at)
    assert watch.limit() == 40.0  # 10 x median(2, 8, 4) = 40 > floor 30
    assert not watch.stalled(154.0) and watch.stalled(156.0) and watch.idle(156.0) == 41.0
    fast = StallWatch(started_at=0.0, timeout=30.0)
    fast.shard_done(0.1, 1.0)
    assert fast.limit() == 30.0  # the floor: a fast median never makes the limit tiny
    with pytest.raises(ValueError, match="must be > 0"):
        StallWatch(started_at=0.0, timeout=0)


@dataclass
class FakeRay:
    """What the driver loop asks of ray: the node list and the stage board's snapshot."""

    listed: list[dict]
    counts: StageCounts = field(default_factory=StageCounts)

    def nodes(self) -> list[dict]:
        return self.listed

    def get(self, ref, timeout=None):
        return ref


class FakeBoard:
    def __init__(self, ray: FakeRay) -> None:
        self.snapshot = type("Method", (), {"remote": staticmethod(lambda: ray.counts)})


@dataclass
class FakeStore:
    done: set[int]

    def pending(self, plan: ShardPlan) -> list[int]:
        return [i for i in range(plan.n_shards) if i not in self.done]


@dataclass
class FakeJob:
    plan: ShardPlan
    pending: list[int]
    store: FakeStore


def _node(node_id: str, cpus: float, gpus: float = 0.0, alive: bool = True) -> dict:
    return {"NodeID": node_id, "Alive": alive, "Resources": {"CPU": cpus, "GPU": gpus}}


def _driver(ray: FakeRay, plan, timeout: float = 30.0):
    from mmscore.engine import ray_engine

    job = FakeJob(ShardPlan(40, 4), pending=list(range(2, 10)), store=FakeStore({0, 1}))  # 10 shards, 2 done
    driver = ray_engine._Driver(ray, job, plan, FakeBoard(ray), True, timeout)
    return driver, driver.start


def test_driver_reports_a_stall_with_stage_resources_and_how_to_resume() -> None:
    ray = FakeRay([_node("a", 1), _node("b", 1)])
    plan = plan_resources([NodeShape(1), NodeShape(1)])
    driver, t0 = _driver(ray, plan)
    assert driver.record([{"shard": 2, "rows": 4, "seconds": 1.0}, {"shard": 2, "rows": 4, "seconds": 1.0}],
                         t0 + 5) == 1  # a retried shard counts once
    ray.counts = StageCounts(actors_ready=1, decoded={2, 3, 4}, started={2, 3}, scored={2})
    driver.refresh(t0 + 5)
    assert driver.status(t0 + 5) == "0.8 rows/s · waits on scoring (1 in 1 actors, 1 queued)"
    driver.check(t0 + 34)  # 29 s without a shard: under the 30 s floor
    driver.job.store.done |= {2, 3}  # shard 3 was written after the driver last heard: the disk counts
    with pytest.raises(EngineStallError) as stall:
        driver.check(t0 + 36)
    message = str(stall.value)
    assert "no progress for 31 s (limit 30 s): 4 of 10 shard(s) complete" in message
    assert "waiting on scoring (1 in 1 actors, 1 queued)" in message
    assert "up to 1 model actor(s) of 0.5 CPU, decoding tasks of 0.5 CPU" in message
    assert "cluster now 2 node(s): 1 CPU, 1 CPU" in message and "rerun the same command" in message


def test_driver_fails_fast_when_the_nodes_left_cannot_run_the_job() -> None:
    from mmscore.engine import ray_engine

    ray = FakeRay([_node("gpu", 8, 1), _node("cpu", 8)])
    plan = plan_resources(ray_engine.nodes_from_ray(ray.listed), gpus_per_worker=1)
    driver, t0 = _driver(ray, plan, timeout=600)
    ray.listed = [_node("gpu", 8, 1, alive=False), _node("cpu", 8)]
    driver.check(t0 + 1)  # nodes are looked at every NODE_CHECK_S only
    with pytest.raises(EngineStallError, match=r"1 Ray node\(s\) were lost and the 1 node\(s\): 8 CPU left cannot "
                                               r"run up to 1 model actor\(s\) of 1 CPU \+ 1 GPU.*2 of 10 shard"):
        driver.check(t0 + ray_engine.NODE_CHECK_S + 1)


def test_driver_carries_on_when_a_lost_node_leaves_enough() -> None:
    from mmscore.engine import ray_engine

    ray = FakeRay([_node("a", 1), _node("b", 1)])
    driver, t0 = _driver(ray, plan_resources([NodeShape(1), NodeShape(1)]))
    ray.listed = [_node("a", 1), _node("b", 1, alive=False)]
    driver.check(t0 + ray_engine.NODE_CHECK_S + 1)  # warns, does not raise
    assert driver.nodes == [NodeShape(1)]
