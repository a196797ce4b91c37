"""``run_engine``: score a table with an operator on the local or the Ray engine, sharded and restartable.

The one entry point the commands call::

    from mmscore.engine import run_engine
    result = run_engine(EMScoreEval(clip_model_path="ViT-B/32"), "captions.jsonl", "scored.parquet",
                        engine="ray", num_workers=4, num_gpus_per_worker=1.0,
                        run_kwargs={"video_key": "video"})

Shards land in ``output_dir`` (default ``<output>.shards/``); a second call with the same
arguments resumes from the completed shards, a call with different ones is refused unless
``overwrite=True``. Both engines give the same scores (≤ 1e-6 on the same device and precision).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mmscore.engine import DEFAULT_SHARD_SIZE
from mmscore.engine.job import EngineResult, as_steps, prepare_job
from mmscore.errors import ConfigError

ENGINES = ("local", "ray")


def run_engine(
    operator: Any, table_path: str | os.PathLike[str], output: str | os.PathLike[str], *, engine: str = "local",
    address: str | None = None, num_workers: int | None = None, num_gpus_per_worker: float = 0.0,
    shard_size: int = DEFAULT_SHARD_SIZE, output_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False, run_kwargs: Mapping[str, Any] | None = None, stall_timeout: float | None = None,
) -> EngineResult:
    """Score ``table_path`` (jsonl/json/csv/parquet or a folder of parquet shards) into ``output``.

    operator: an operator instance, or a list of ``(operator, run_kwargs)`` pairs applied in order.
    run_kwargs: the operator's ``run`` keywords (column names), e.g. ``{"video_key": "video"}``.
    engine: ``"local"`` (this process) or ``"ray"`` (Ray Data; needs ``pip install 'mmscore[ray]'``).
    address: Ray cluster address (``auto``, ``ray://host:10001``); None starts a local Ray.
    num_workers: model actors (default: one per GPU with ``num_gpus_per_worker``, else per CPU).
    shard_size: rows per shard, the unit of output files and of restart.
    stall_timeout: Ray only — stop with ``EngineStallError`` (completed shards kept) when no shard
    completed for this many seconds, or 10 x the median shard time if longer (default 180).
    """
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "ray":
        from mmscore.engine.ray_engine import require_ray

        require_ray()  # fail before any work when the extra is missing
    elif address is not None or num_workers is not None or num_gpus_per_worker or stall_timeout is not None:
        raise ConfigError("--address, --num-workers, --num-gpus-per-worker and --stall-timeout need --engine ray")
    job = prepare_job(as_steps(operator, run_kwargs), table_path, output, shard_size=shard_size,
                      output_dir=output_dir, overwrite=overwrite)
    if engine == "ray":
        from mmscore.engine.ray_engine import run_ray
        from mmscore.engine.watch import DEFAULT_STALL_TIMEOUT

        return run_ray(job, address=address, num_workers=num_workers, num_gpus_per_worker=num_gpus_per_worker,
                       stall_timeout=DEFAULT_STALL_TIMEOUT if stall_timeout is None else stall_timeout)
    from mmscore.engine.local import run_local

    return run_local(job)
