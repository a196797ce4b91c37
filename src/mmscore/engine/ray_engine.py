"""The Ray Data engine: the same shards as the local engine, scored by a pool of model actors.

Pipeline (streaming, so decoded media never pile up in memory):

1. the pending shards become a Ray Dataset, one record per shard (its rows, pickled: exact
   dtypes and list cells survive);
2. ``map`` — CPU tasks: each step's media decoding (EMScore: frame sampling with
   ``mmscore.io.media`` and the resize + centre crop of the CLIP transform), no model needed;
3. ``map_batches`` with a pool of model actors that sizes itself (``ActorPoolStrategy(min_size=1, max_size=...)``):
   every actor loads each step's model once, picks its batch size for its device, scores a
   shard with the same :func:`mmscore.engine.job.score_shard` the local engine calls, and
   writes it atomically with its completion marker — so results stream to disk as shards
   finish, and a killed job resumes from the markers;
4. the driver merges the completed shards in input order (same columns as the local engine).

What the actors and the decoding tasks ask of the cluster is derived from its alive nodes by
:mod:`mmscore.engine.resources`, so neither stage can take the CPUs the other needs on any node,
also after one node is lost (Ray then restarts the lost actor and retries the lost tasks on the
nodes that remain). The driver watches the job (:mod:`mmscore.engine.watch`): its progress line
shows shards done / total, rows/s and the stage shards wait on; if no shard completes for too
long, or the nodes left cannot run the job any more, it stops with an error that says so (its
actors then refuse further shards) and leaves the completed shards for a rerun to resume from.

Table-level state (EMScore's idf over the whole table's references) is computed by the driver
before step 1 and shipped with the steps, so scores do not depend on the number of workers or
on the order in which blocks finish. The output folder must be visible to every worker (one
machine, or a shared file system on a cluster).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
from rich.progress import TextColumn

from mmscore.engine.job import EngineResult, Job, finish_job, score_shard, shard_extra
from mmscore.engine.resources import (
    DECODE_TASK_MEMORY,
    NodeShape,
    ResourcePlan,
    describe_cluster,
    nodes_from_ray,
    plan_resources,
    still_fits,
)
from mmscore.engine.shards import ShardStore
from mmscore.engine.watch import (
    DEFAULT_STALL_TIMEOUT,
    EngineStallError,
    StageBoard,
    StageCounts,
    StallWatch,
    stall_message,
)
from mmscore.errors import ConfigError, DependencyError, MMScoreError
from mmscore.io.media_paths import MediaResolver
from mmscore.progress import is_quiet, progress_bar

logger = logging.getLogger(__name__)

__all__ = ["CPU_BATCH", "DECODE_TASK_MEMORY", "choose_batch_size", "require_ray", "run_ray"]

#: batch sizes by device when the operator keeps its default (bigger batches fill a GPU; on a CPU
#: they only cost memory)
CPU_BATCH = 64
GPU_BATCH_BY_MEMORY = ((40, 512), (16, 256), (0, 128))  # (GiB at least, batch size)
#: how often the driver refreshes the progress line (s) and looks at the cluster's nodes (s)
TICK_S = 1.0
NODE_CHECK_S = 5.0


def require_ray() -> Any:
    """Import ray, or explain how to install the optional extra."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise DependencyError("ray", "ray") from exc
    return ray


def choose_batch_size(device: str, requested: int) -> int:
    """The batch size an actor uses on its device: ``requested`` on CPU, scaled up by GPU memory."""
    if not device.startswith("cuda"):
        return requested
    import torch

    gib = torch.cuda.get_device_properties(torch.device(device)).total_memory / 2**30
    for at_least, size in GPU_BATCH_BY_MEMORY:
        if gib >= at_least:
            return max(requested, size)
    return requested


def _shippable(steps: list[Any]) -> list[Any]:
    """Copies of the steps without loaded models (each actor loads its own, once)."""
    return [step.shippable() for step in steps]


def _report(board: Any, method: str, *args: Any) -> None:
    """Tell the board, fire-and-forget: a lost board must never fail the work itself."""
    try:
        getattr(board, method).remote(*args)
    except Exception:  # noqa: BLE001 - progress reporting is best effort
        logger.debug("stage board unreachable", exc_info=True)


def _stopped(board: Any) -> bool:
    import ray

    try:
        return bool(ray.get(board.is_stopped.remote(), timeout=5))
    except Exception:  # noqa: BLE001 - an unreachable board never stops the work
        return False


def _decode_record(record: dict[str, Any], steps: list[Any], resolve: MediaResolver,
                   image_sizes: list[int | None], board: Any) -> dict[str, Any]:
    """CPU stage: every step's decoding for one shard (runs as a Ray task, no model)."""
    start = time.perf_counter()
    df = pickle.loads(record["rows"])
    decoded = [step.decode(df, resolve, size) for step, size in zip(steps, image_sizes, strict=True)]
    _report(board, "mark", "decoded", int(record["shard"]))
    return {"shard": record["shard"], "rows": record["rows"], "decoded": pickle.dumps(decoded, protocol=5),
            "decode_s": time.perf_counter() - start}


class _ShardScorer:
    """Actor: the models loaded once; each call scores one shard and writes it with its marker."""

    def __init__(self, steps: list[Any], resolve: MediaResolver, folder: str, gpus: float, board: Any) -> None:
        import torch

        self.steps = steps
        self.resolve = resolve
        self.store = ShardStore(folder)
        self.board = board
        device = "cuda" if gpus > 0 and torch.cuda.is_available() else None
        for step in self.steps:
            requested = int(getattr(step.operator, "batch_size", CPU_BATCH))
            step.tune(device, choose_batch_size(device or "cpu", requested))
            step.load()
        _report(board, "ready")

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        out = []
        for record in batch.to_dict("records"):
            start = time.perf_counter()
            shard = int(record["shard"])
            if _stopped(self.board):  # the driver reported a stall and left: do not score on for nobody
                raise EngineStallError(f"shard {shard} not scored: the driver stopped the job")
            _report(self.board, "mark", "started", shard)
            df = pickle.loads(record["rows"])
            decoded = pickle.loads(record["decoded"]) if record.get("decoded") is not None else None
            resolve = self.resolve.fresh()  # this shard's record of resolved files goes into its marker
            scored = score_shard(self.steps, df, resolve, decoded)
            extra = shard_extra(self.steps, scored, "ray", resolve)
            self.store.write_shard(shard, scored, extra)
            _report(self.board, "mark", "scored", shard)
            seconds = time.perf_counter() - start + float(record.get("decode_s") or 0.0)
            out.append({"shard": shard, "rows": len(scored), "failed": extra["failed"], "seconds": seconds})
        return pd.DataFrame(out)


def run_ray(job: Job, *, address: str | None = None, num_workers: int | None = None,
            num_gpus_per_worker: float = 0.0, stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> EngineResult:
    """Score the job's pending shards on a Ray cluster (``address``: None/"local" starts one here).

    stall_timeout: seconds without a completed shard (at least; 10 x the median shard time when
    longer) after which the job stops with :class:`EngineStallError`, keeping completed shards.
    """
    ray = require_ray()
    if num_workers is not None and num_workers < 1:
        raise ConfigError(f"num_workers must be >= 1; got {num_workers}")
    if num_gpus_per_worker < 0:
        raise ConfigError(f"num_gpus_per_worker must be >= 0; got {num_gpus_per_worker}")
    if stall_timeout <= 0:
        raise ConfigError(f"stall_timeout must be > 0 seconds; got {stall_timeout}")
    if not job.pending:
        return finish_job(job, "ray", 0)
    # Ray's tqdm bar manager would replace builtins.print in the caller's process (seen after a lost node)
    os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address="local" if address in (None, "local") else address, include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=not is_quiet())
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # one mmscore line over shards instead
    decodes = any(step.decodes and size is not None for step, size in zip(job.steps, job.image_sizes, strict=True))
    nodes = nodes_from_ray(ray.nodes())
    plan = plan_resources(nodes, num_workers=num_workers, gpus_per_worker=num_gpus_per_worker, decodes=decodes,
                          shards=len(job.pending))
    if num_workers is not None and plan.max_workers < min(num_workers, len(job.pending)):
        logger.warning("ray: --num-workers %d, but %s hold(s) only %d actor(s) of %g GPU", num_workers,
                       describe_cluster(nodes), plan.max_workers, plan.actor_gpus)
    logger.info("ray: %s on %s%s", plan.describe(), describe_cluster(nodes),
                "" if plan.survives_node_loss else " (the job cannot continue if a node is lost)")
    board = _start_board(ray)
    dataset = _build_dataset(ray, job, plan, decodes, board)
    try:
        _drive(ray, dataset, job, plan, board, decodes, stall_timeout)
    except EngineStallError:
        # the job is left running in this process: ask its actors to stop taking shards, and stop
        # the Ray this call started (a stuck task holds its resources until then)
        _report(board, "stop")
        if started_ray:
            ray.shutdown()
        raise
    except Exception as exc:  # Ray wraps worker errors; surface ours as they are
        with contextlib.suppress(Exception):
            ray.kill(board)
        cause = _mmscore_cause(exc)
        if cause is not None:
            raise cause from exc
        raise
    with contextlib.suppress(Exception):
        ray.kill(board)
    missing = job.store.pending(job.plan)
    if missing:
        raise EngineStallError(f"the Ray job ended but {len(missing)} shard(s) are not complete (first: "
                               f"{missing[0]}); rerun the same command to score them")
    return finish_job(job, "ray", len(job.pending))


def _start_board(ray: Any) -> Any:
    """The stage board on the head node (it lives as long as the cluster), restarted if lost."""
    options: dict[str, Any] = {"num_cpus": 0, "max_restarts": -1}
    head = next((node["NodeID"] for node in ray.nodes()
                 if node.get("Alive") and "node:__internal_head__" in node.get("Resources", {})), None)
    if head is not None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(head, soft=True)
    return ray.remote(StageBoard).options(**options).remote()


def _build_dataset(ray: Any, job: Job, plan: ResourcePlan, decodes: bool, board: Any) -> Any:
    records = [{"shard": index, "rows": pickle.dumps(job.shard(index), protocol=5)} for index in job.pending]
    dataset = ray.data.from_items(records, override_num_blocks=len(records))
    if decodes:
        # the memory reservation bounds concurrent decodes per node and (a different resource
        # set) keeps Ray from fusing this stage into the model actors
        dataset = dataset.map(_decode_record, num_cpus=plan.decode_cpus, memory=plan.decode_memory,
                              fn_kwargs={"steps": _shippable(job.decoders), "resolve": job.resolve,
                                         "image_sizes": job.image_sizes, "board": board})
    gpu_args = {"num_gpus": plan.actor_gpus} if plan.actor_gpus > 0 else {}
    return dataset.map_batches(
        _ShardScorer, batch_size=1, batch_format="pandas",
        # all actors start loading their model at once; only one must start for work to flow
        compute=ray.data.ActorPoolStrategy(min_size=plan.min_workers, max_size=plan.max_workers,
                                           initial_size=plan.max_workers),
        num_cpus=plan.actor_cpus, **gpu_args,
        fn_constructor_kwargs={"steps": _shippable(job.steps), "resolve": job.resolve,
                               "folder": str(job.store.folder), "gpus": plan.actor_gpus, "board": board},
    )


_END = object()


def _consume(dataset: Any, out: queue.Queue) -> None:
    """Iterate the dataset in a thread, so the driver can watch it while it blocks."""
    try:
        for batch in dataset.iter_batches(batch_size=1, batch_format="pandas"):
            out.put(batch.to_dict("records"))
        out.put(_END)
    except BaseException as exc:  # noqa: BLE001 - handed to the driver's thread, which raises it
        out.put(exc)


def _results(dataset: Any) -> Iterator[list[dict[str, Any]] | None]:
    """Completed shards as they arrive; None every ``TICK_S`` without one (time to look around)."""
    results: queue.Queue = queue.Queue()
    threading.Thread(target=_consume, args=(dataset, results), name="mmscore-ray-results", daemon=True).start()
    while True:
        try:
            item = results.get(timeout=TICK_S)
        except queue.Empty:
            yield None
            continue
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


class _Driver:
    """The driver's loop state: progress, stage board, stall watch and node checks."""

    def __init__(self, ray: Any, job: Job, plan: ResourcePlan, board: Any, decodes: bool,
                 stall_timeout: float) -> None:
        self.ray, self.job, self.plan, self.board, self.decodes = ray, job, plan, board, decodes
        self.start = time.monotonic()
        self.watch = StallWatch(self.start, stall_timeout)
        self.done: set[int] = set()
        self.rows = 0
        self.counts = StageCounts()
        self.alive, self.nodes = self._look()
        self.next_node_check = self.start + NODE_CHECK_S
        self.next_refresh = self.start

    def _look(self) -> tuple[set[str], list[NodeShape]]:
        """The ids and shapes of the alive nodes."""
        listed = self.ray.nodes()
        return {node["NodeID"] for node in listed if node.get("Alive")}, nodes_from_ray(listed)

    def record(self, shards: list[dict[str, Any]], now: float) -> int:
        new = 0
        for shard in shards:
            if int(shard["shard"]) in self.done:
                continue
            self.done.add(int(shard["shard"]))
            self.rows += int(shard["rows"])
            self.watch.shard_done(float(shard.get("seconds") or 0.0), now)
            new += 1
        return new

    def refresh(self, now: float) -> None:
        if now < self.next_refresh:
            return
        self.next_refresh = now + TICK_S
        try:
            self.counts = self.ray.get(self.board.snapshot.remote(), timeout=5)
        except Exception:  # noqa: BLE001 - progress is best effort; the stall watch still runs
            logger.debug("stage board did not answer", exc_info=True)

    def status(self, now: float) -> str:
        rate = self.rows / max(now - self.start, 1e-9)
        return f"{rate:.1f} rows/s · waits on {self.counts.waiting_on(self.decodes)}"

    def _on_disk(self) -> int:
        """Shards complete with their markers (what a rerun keeps), counted when reporting a failure."""
        return self.job.plan.n_shards - len(self.job.store.pending(self.job.plan))

    def check(self, now: float) -> None:
        """Raise when the job stalled, or the nodes left cannot run it; warn when a node was lost."""
        if now >= self.next_node_check:
            self.next_node_check = now + NODE_CHECK_S
            alive, self.nodes = self._look()
            if alive != self.alive:
                lost = len(self.alive - alive)
                self.alive = alive
                if lost:
                    logger.warning("ray: %d node(s) left the cluster; Ray retries their work on %s", lost,
                                   describe_cluster(self.nodes))
                if not still_fits(self.plan, self.nodes):
                    raise EngineStallError(
                        f"{lost} Ray node(s) were lost and the {describe_cluster(self.nodes)} left cannot run "
                        f"{self.plan.describe()}; {self._on_disk()} of {self.job.plan.n_shards} shard(s) are complete "
                        "and kept: rerun the same command to resume from them")
        if self.watch.stalled(now):
            raise EngineStallError(stall_message(
                self.watch.idle(now), self.watch.limit(), self._on_disk(), self.job.plan.n_shards,
                self.counts.waiting_on(self.decodes), self.plan.describe(), describe_cluster(self.nodes)))


def _drive(ray: Any, dataset: Any, job: Job, plan: ResourcePlan, board: Any, decodes: bool,
           stall_timeout: float) -> None:
    """Run the dataset to its end, showing progress and stopping on a stall."""
    driver = _Driver(ray, job, plan, board, decodes, stall_timeout)
    with progress_bar(TextColumn("{task.fields[status]}")) as progress:
        task = progress.add_task("shards (ray)", total=job.plan.n_shards,
                                 completed=job.plan.n_shards - len(job.pending), status="starting")
        for shards in _results(dataset):
            now = time.monotonic()
            if shards:
                progress.advance(task, driver.record(shards, now))
            driver.refresh(now)
            progress.update(task, status=driver.status(now))
            driver.check(now)
        logger.info("ray: stages at the end: %s", driver.counts)


def _mmscore_cause(exc: BaseException) -> MMScoreError | None:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MMScoreError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
