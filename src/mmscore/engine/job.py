"""The driver side of a sharded job, shared by the local and the Ray engine.

``prepare_job`` reads the input table, checks columns, pins the job description in the output
folder (operators and their ``settings()``, model fingerprints, input fingerprint, shard size),
runs each operator's ``prepare`` over the whole table (EMScore's idf) and lists the shards still
to do.
``score_shard`` is the one function both engines call on a shard, so they cannot drift apart.
``finish_job`` merges the completed shards, in input order, into the output table.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.engine import DEFAULT_SHARD_SIZE
from mmscore.engine.adapters import Step, adapter_for
from mmscore.engine.shards import ROW_ID, ShardPlan, ShardStore, table_fingerprint, with_row_ids
from mmscore.errors import ConfigError, InputError
from mmscore.io.atomic import atomic_write_json
from mmscore.io.media_paths import MediaResolver
from mmscore.io.tables import read_table, require_columns, write_table

logger = logging.getLogger(__name__)

#: 2: steps pinned by the operators' explicit settings() (1: their attributes)
JOB_FORMAT = 2


@dataclass
class Job:
    steps: list[Step]
    table: pd.DataFrame
    plan: ShardPlan
    store: ShardStore
    resolve: MediaResolver
    output: Path
    description: dict[str, Any]
    image_sizes: list[int | None]
    #: the steps before the whole-table state was applied: what CPU decoding tasks need (an idf
    #: corpus of millions of sentences need not travel to every decoding task)
    decoders: list[Step] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)

    def shard(self, index: int) -> pd.DataFrame:
        rows = self.plan.rows(index)
        return self.table.iloc[rows.start:rows.stop]


@dataclass
class EngineResult:
    """What a finished job produced."""

    output: Path
    shard_dir: Path
    rows: int
    failed: int
    shards: int
    shards_run: int
    columns: list[str]
    engine: str
    signatures: list[str | None] = field(default_factory=list)


StepSpec = tuple[Any, Mapping[str, Any] | None]


def as_steps(operator: Any, run_kwargs: Mapping[str, Any] | None = None) -> list[StepSpec]:
    """One operator (with its ``run`` keywords) or a list of ``(operator, run_kwargs)`` pairs."""
    if isinstance(operator, (list, tuple)):
        if run_kwargs:
            raise ConfigError("give run keywords inside each (operator, run_kwargs) pair, not separately")
        steps = []
        for item in operator:
            if isinstance(item, tuple) and len(item) == 2:
                steps.append((item[0], item[1]))
            else:
                steps.append((item, None))
        if not steps:
            raise ConfigError("no operator to run")
        return steps
    return [(operator, run_kwargs)]


def default_shard_dir(output: Path) -> Path:
    return output.with_name(output.name + ".shards")


def prepare_job(
    steps: Sequence[StepSpec], table_path: str | os.PathLike[str], output: str | os.PathLike[str], *,
    shard_size: int = DEFAULT_SHARD_SIZE, output_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Job:
    if shard_size < 1:
        raise ConfigError(f"shard_size must be >= 1; got {shard_size}")
    table_path, output = Path(table_path), Path(output)
    adapters = [adapter_for(operator, kwargs) for operator, kwargs in steps]
    df = read_table(table_path)
    for adapter in adapters:
        require_columns(df, adapter.required_columns(), where=str(table_path))
    shard_dir = Path(output_dir) if output_dir is not None else default_shard_dir(output)
    models = [adapter.model_info() for adapter in adapters]
    description = {
        "format": JOB_FORMAT,
        "steps": [adapter.describe() for adapter in adapters],
        "models": [fingerprint for fingerprint, _ in models],
        "input": table_fingerprint(df),
        "rows": len(df),
        "shard_size": int(shard_size),
    }
    store = ShardStore(shard_dir)
    store.pin_job(description, overwrite=overwrite)
    bound = [adapter.bind_state(adapter.prepare(df)) for adapter in adapters]
    plan = ShardPlan(len(df), int(shard_size))
    job = Job(bound, with_row_ids(df), plan, store, MediaResolver.beside(table_path), output,
              description, [image_size for _, image_size in models], adapters)
    job.pending = store.pending(plan)
    done = plan.n_shards - len(job.pending)
    if done:
        logger.info("%s: resuming, %d of %d shard(s) already complete", shard_dir, done, plan.n_shards)
    return job


def error_columns(df: pd.DataFrame, steps: Sequence[Step]) -> list[str]:
    """The error columns the steps add (each operator names its own)."""
    names = []
    for step in steps:
        names += [c for c in step.output_columns() if c.endswith("_error") and c in df.columns]
    return names


def failed_rows(df: pd.DataFrame, steps: Sequence[Step]) -> int:
    columns = error_columns(df, steps)
    if not columns or df.empty:
        return 0
    return int(df[columns].notna().any(axis=1).sum())


def score_shard(steps: Sequence[Step], df: pd.DataFrame, resolve: MediaResolver,
                decoded: Sequence[Any] | None = None) -> pd.DataFrame:
    """Every step on one shard, in order; returns the row ids and the columns the steps wrote.

    Only those columns are stored in the shard: the input columns are taken from the input
    table at merge time, so their cells come back exactly as read (a parquet round trip would
    turn list cells into arrays, or lists mixed with text into JSON strings).
    """
    input_columns = [c for c in df.columns if c != ROW_ID]
    scored = df
    for index, step in enumerate(steps):
        scored = step.score(scored, resolve, decoded[index] if decoded is not None else None)
    declared = {c for step in steps for c in step.output_columns()}
    keep = [c for c in scored.columns if c == ROW_ID or c not in input_columns or c in declared]
    return scored[keep].reset_index(drop=True)


def merge_shards(job: Job) -> pd.DataFrame:
    """The input table with the scored columns of every shard, in input order (each row once)."""
    out = job.table.drop(columns=[ROW_ID])
    frames = list(job.store.iter_shards(job.plan))
    if not frames:
        return out
    scored = pd.concat(frames, ignore_index=True).sort_values(ROW_ID, kind="stable").reset_index(drop=True)
    if scored[ROW_ID].tolist() != list(range(len(out))):
        raise InputError(f"{job.store.folder}: the shards do not hold each of the {len(out)} input rows exactly "
                         "once; re-run with --overwrite")
    for column in scored.columns:
        if column != ROW_ID:
            out[column] = scored[column].to_numpy() if scored[column].dtype == object else scored[column].array
    return out


def shard_extra(steps: Sequence[Step], df: pd.DataFrame, engine: str, resolve: MediaResolver) -> dict[str, Any]:
    """What a completion marker records beside the row count (``resolve``: the shard's own resolver,
    whose record of files becomes the job's ``media_paths``)."""
    return {"failed": failed_rows(df, steps), "engine": engine, "signatures": [s.signature() for s in steps],
            "media_paths": resolve.resolved}


def _marker_field(store: ShardStore, key: str, shard: int = 0) -> Any:
    try:
        return json.loads(store.marker_path(shard).read_text(encoding="utf-8")).get(key)
    except (OSError, json.JSONDecodeError):
        return None


def _media_paths(job: Job) -> dict[str, str]:
    """The files every shard's media paths resolved to, from the completion markers (a resumed
    job's earlier shards included), in shard order."""
    paths: dict[str, str] = {}
    for shard in range(job.plan.n_shards):
        paths.update(_marker_field(job.store, "media_paths", shard) or {})
    return paths


def finish_job(job: Job, engine: str, shards_run: int) -> EngineResult:
    """Merge the completed shards in input order and write the output table (+ ``.run.json``)."""
    merged = merge_shards(job)
    write_table(merged, job.output)
    failed = failed_rows(merged, job.steps)
    signatures = _marker_field(job.store, "signatures") if job.plan.n_shards else []
    atomic_write_json(job.output.with_name(job.output.name + ".run.json"), {
        "engine": engine, "rows": len(merged), "failed": failed, "shards": job.plan.n_shards,
        "shard_dir": str(job.store.folder), "signatures": signatures, "job": job.description,
        "media_paths": _media_paths(job),
    })
    logger.info("%s engine: %d rows (%d failed) -> %s", engine, len(merged), failed, job.output)
    return EngineResult(job.output, job.store.folder, len(merged), failed, job.plan.n_shards, shards_run,
                        [str(c) for c in merged.columns], engine, list(signatures or []))
