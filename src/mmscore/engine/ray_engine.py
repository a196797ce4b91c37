"""The Ray Data engine: the same shards as the local engine, scored by a pool of model actors.

Pipeline (streaming, so decoded media never pile up in memory):

1. the pending shards become a Ray Dataset, one record per shard (its rows, pickled: exact
   dtypes and list cells survive);
2. ``map`` — CPU tasks: each step's media decoding (EMScore: frame sampling with
   ``mmscore.io.media`` and the resize + centre crop of the CLIP transform), no model needed;
3. ``map_batches`` with a pool of ``num_workers`` actors (``num_gpus_per_worker`` each): every
   actor loads each step's model once, picks its batch size for its device, scores a shard with
   the same :func:`mmscore.engine.job.score_shard` the local engine calls, and writes it
   atomically with its completion marker — so results stream to disk as shards finish, and a
   killed job resumes from the markers;
4. the driver merges the completed shards in input order (same columns as the local engine).

Table-level state (EMScore's idf over the whole table's references) is computed by the driver
before step 1 and shipped with the steps, so scores do not depend on the number of workers or
on the order in which blocks finish. The output folder must be visible to every worker (one
machine, or a shared file system on a cluster).
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pandas as pd

from mmscore.engine.job import EngineResult, Job, MediaResolver, finish_job, score_shard, shard_extra
from mmscore.engine.shards import ShardStore
from mmscore.errors import ConfigError, DependencyError, MMScoreError
from mmscore.progress import is_quiet, progress_bar

logger = logging.getLogger(__name__)

#: batch sizes by device when the operator keeps its default (bigger batches fill a GPU; on a CPU
#: they only cost memory)
CPU_BATCH = 64
GPU_BATCH_BY_MEMORY = ((40, 512), (16, 256), (0, 128))  # (GiB at least, batch size)
#: bytes reserved per decoding task (a shard's sampled, cropped frames: 256 videos x 10 frames x
#: 224 x 224 x 3 uint8 is 385 MB)
DECODE_TASK_MEMORY = 512 * 2**20


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


def _decode_record(record: dict[str, Any], steps: list[Any], resolve: MediaResolver,
                   image_sizes: list[int | None]) -> dict[str, Any]:
    """CPU stage: every step's decoding for one shard (runs as a Ray task, no model)."""
    df = pickle.loads(record["rows"])
    decoded = [step.decode(df, resolve, size) for step, size in zip(steps, image_sizes, strict=True)]
    return {"shard": record["shard"], "rows": record["rows"], "decoded": pickle.dumps(decoded, protocol=5)}


class _ShardScorer:
    """Actor: the models loaded once; each call scores one shard and writes it with its marker."""

    def __init__(self, steps: list[Any], resolve: MediaResolver, folder: str, gpus: float) -> None:
        import torch

        self.steps = steps
        self.resolve = resolve
        self.store = ShardStore(folder)
        device = "cuda" if gpus > 0 and torch.cuda.is_available() else None
        for step in self.steps:
            requested = int(getattr(step.operator, "batch_size", CPU_BATCH))
            step.tune(device, choose_batch_size(device or "cpu", requested))
            step.load()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        out = []
        for record in batch.to_dict("records"):
            df = pickle.loads(record["rows"])
            decoded = pickle.loads(record["decoded"]) if record.get("decoded") is not None else None
            scored = score_shard(self.steps, df, self.resolve, decoded)
            extra = shard_extra(self.steps, scored, "ray")
            self.store.write_shard(int(record["shard"]), scored, extra)
            out.append({"shard": int(record["shard"]), "rows": len(scored), "failed": extra["failed"]})
        return pd.DataFrame(out)


def run_ray(job: Job, *, address: str | None = None, num_workers: int | None = None,
            num_gpus_per_worker: float = 0.0) -> EngineResult:
    """Score the job's pending shards on a Ray cluster (``address``: None/"local" starts one here)."""
    ray = require_ray()
    if num_workers is not None and num_workers < 1:
        raise ConfigError(f"num_workers must be >= 1; got {num_workers}")
    if num_gpus_per_worker < 0:
        raise ConfigError(f"num_gpus_per_worker must be >= 0; got {num_gpus_per_worker}")
    if not job.pending:
        return finish_job(job, "ray", 0)
    if not ray.is_initialized():
        ray.init(address=None if address in (None, "local") else address, include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=not is_quiet())
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # one mmscore bar over shards instead
    if num_workers is None:
        resources = ray.cluster_resources()
        key, each = ("GPU", num_gpus_per_worker) if num_gpus_per_worker > 0 else ("CPU", 1.0)
        num_workers = max(1, int(resources.get(key, 1) // each))
    num_workers = min(num_workers, len(job.pending))
    steps = _shippable(job.steps)
    records = [{"shard": index, "rows": pickle.dumps(job.shard(index), protocol=5)} for index in job.pending]
    dataset = ray.data.from_items(records, override_num_blocks=len(records))
    actor_cpus = _actor_cpus(float(ray.cluster_resources().get("CPU", 1)), num_workers)
    if any(step.decodes and size is not None for step, size in zip(steps, job.image_sizes, strict=True)):
        decoders = _shippable(job.decoders)
        # a memory reservation for the decoded frames: bounds concurrent decodes per node, and
        # (different resources) keeps Ray from fusing this stage into the model actors
        dataset = dataset.map(_decode_record, num_cpus=1, memory=DECODE_TASK_MEMORY,
                              fn_kwargs={"steps": decoders, "resolve": job.resolve, "image_sizes": job.image_sizes})
    gpu_args = {"num_gpus": num_gpus_per_worker} if num_gpus_per_worker > 0 else {}
    dataset = dataset.map_batches(
        _ShardScorer, batch_size=1, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=num_workers),
        num_cpus=actor_cpus, **gpu_args,
        fn_constructor_kwargs={"steps": steps, "resolve": job.resolve, "folder": str(job.store.folder),
                               "gpus": float(num_gpus_per_worker)},
    )
    try:
        with progress_bar() as progress:
            task = progress.add_task(f"shards (ray, {num_workers} worker(s))", total=job.plan.n_shards,
                                     completed=job.plan.n_shards - len(job.pending))
            for batch in dataset.iter_batches(batch_size=1, batch_format="pandas"):
                progress.advance(task, len(batch))
    except Exception as exc:  # Ray wraps worker errors; surface ours as they are
        cause = _mmscore_cause(exc)
        if cause is not None:
            raise cause from exc
        raise
    return finish_job(job, "ray", len(job.pending))


def _actor_cpus(cluster_cpus: float, workers: int) -> float:
    """Logical CPUs per model actor: one, but leaving at least one CPU to the decoding tasks
    (otherwise a small cluster's actors would hold every CPU and the decode stage never runs)."""
    return max(0.25, min(1.0, (cluster_cpus - 1.0) / workers))


def _mmscore_cause(exc: BaseException) -> MMScoreError | None:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MMScoreError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
