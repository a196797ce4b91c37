"""Deterministic shards of an input table, written atomically with completion markers.

A job over N rows is cut into shards of ``shard_size`` consecutive rows (shard ``i`` holds rows
``[i*shard_size, (i+1)*shard_size)`` of the input, whatever engine or worker scores it). Each
finished shard is written as ``part-{i:06d}.parquet`` (atomic) and then marked done with
``part-{i:06d}.done.json``; a killed job restarts by skipping shards with a valid marker, so a
row is never duplicated or dropped. ``_job.json`` pins the job (operator, arguments, input
fingerprint, shard size) so a resume with different settings is refused instead of mixing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.errors import ConfigError, InputError
from mmscore.io.atomic import atomic_write_json, to_jsonable
from mmscore.io.tables import read_table, write_table

ROW_ID = "_row"
JOB_FILE = "_job.json"


def table_fingerprint(df: pd.DataFrame) -> str:
    """sha256 of the table's content (column names + values), independent of file format."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in df.columns]).encode())
    hashed = pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy()
    digest.update(hashed.tobytes())
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class ShardPlan:
    n_rows: int
    shard_size: int

    @property
    def n_shards(self) -> int:
        return max(1, -(-self.n_rows // self.shard_size)) if self.n_rows else 0

    def rows(self, shard: int) -> range:
        start = shard * self.shard_size
        return range(start, min(self.n_rows, start + self.shard_size))


class ShardStore:
    """Output folder of one job: shards, markers and the pinned job description."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def shard_path(self, shard: int) -> Path:
        return self.folder / f"part-{shard:06d}.parquet"

    def marker_path(self, shard: int) -> Path:
        return self.folder / f"part-{shard:06d}.done.json"

    def pin_job(self, job: dict[str, Any], overwrite: bool = False) -> None:
        """Record the job; refuse to resume a folder that holds a different job."""
        path = self.folder / JOB_FILE
        job = to_jsonable(job)
        if path.exists() and not overwrite:
            existing = json.loads(path.read_text(encoding="utf-8"))
            if existing != job:
                changed = sorted(k for k in set(existing) | set(job) if existing.get(k) != job.get(k))
                raise ConfigError(
                    f"{self.folder} holds shards of a different job (changed: {', '.join(changed)}); "
                    "use another output folder or --overwrite"
                )
            return
        if overwrite and self.folder.exists():
            for stale in list(self.folder.glob("part-*")):
                stale.unlink()
        atomic_write_json(path, job)

    def is_done(self, shard: int, expected_rows: int) -> bool:
        marker = self.marker_path(shard)
        if not marker.exists() or not self.shard_path(shard).exists():
            return False
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return False
        return info.get("rows") == expected_rows

    def pending(self, plan: ShardPlan) -> list[int]:
        return [i for i in range(plan.n_shards) if not self.is_done(i, len(plan.rows(i)))]

    def write_shard(self, shard: int, df: pd.DataFrame, extra: dict[str, Any] | None = None) -> Path:
        """Write one scored shard (atomic), then its completion marker."""
        path = write_table(df, self.shard_path(shard), "parquet")
        atomic_write_json(self.marker_path(shard), {"shard": shard, "rows": len(df), **(extra or {})})
        return path

    def iter_shards(self, plan: ShardPlan) -> Iterator[pd.DataFrame]:
        for shard in range(plan.n_shards):
            if not self.is_done(shard, len(plan.rows(shard))):
                raise InputError(f"{self.folder}: shard {shard} is not complete; re-run the job to finish it")
            yield read_table(self.shard_path(shard))

    def merged(self, plan: ShardPlan) -> pd.DataFrame:
        """All shards in input order, without the internal row id."""
        frames = list(self.iter_shards(plan))
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True).sort_values(ROW_ID, kind="stable")
        return df.drop(columns=[ROW_ID]).reset_index(drop=True)


def with_row_ids(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index(drop=True).copy()
    out[ROW_ID] = range(len(out))
    return out
