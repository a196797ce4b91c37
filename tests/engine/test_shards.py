"""Shard plans, completion markers, resume and job pinning."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mmscore.engine.shards import ROW_ID, ShardPlan, ShardStore, table_fingerprint, with_row_ids
from mmscore.errors import ConfigError, InputError


def test_plan_covers_every_row_once() -> None:
    plan = ShardPlan(n_rows=10, shard_size=4)
    assert plan.n_shards == 3
    covered = [r for i in range(plan.n_shards) for r in plan.rows(i)]
    assert covered == list(range(10))
    assert ShardPlan(0, 4).n_shards == 0


def test_resume_skips_done_shards_and_merges_in_order(tmp_path: Path) -> None:
    df = with_row_ids(pd.DataFrame({"x": range(7)}))
    plan = ShardPlan(len(df), 3)
    store = ShardStore(tmp_path / "out")
    store.pin_job({"op": "a", "input": table_fingerprint(df)})
    assert store.pending(plan) == [0, 1, 2]
    store.write_shard(2, df.iloc[list(plan.rows(2))].assign(y=lambda d: d.x * 10))
    store.write_shard(0, df.iloc[list(plan.rows(0))].assign(y=lambda d: d.x * 10))
    assert store.pending(plan) == [1]
    with pytest.raises(InputError, match="shard 1 is not complete"):
        store.merged(plan)
    # a shard file without its marker (killed between the two writes) is not trusted
    df.iloc[list(plan.rows(1))].to_parquet(store.shard_path(1))
    assert store.pending(plan) == [1]
    store.write_shard(1, df.iloc[list(plan.rows(1))].assign(y=lambda d: d.x * 10))
    merged = store.merged(plan)
    assert merged["x"].tolist() == list(range(7)) and merged["y"].tolist() == [10 * i for i in range(7)]
    assert ROW_ID not in merged.columns


def test_job_pinning_refuses_a_different_job(tmp_path: Path) -> None:
    store = ShardStore(tmp_path / "out")
    store.pin_job({"op": "a", "shard_size": 3})
    store.pin_job({"op": "a", "shard_size": 3})  # same job: resume allowed
    with pytest.raises(ConfigError, match="changed: shard_size"):
        store.pin_job({"op": "a", "shard_size": 4})
    store.write_shard(0, pd.DataFrame({ROW_ID: [0]}))
    store.pin_job({"op": "a", "shard_size": 4}, overwrite=True)
    assert not list((tmp_path / "out").glob("part-*"))


def test_fingerprint_depends_on_content_only(tmp_path: Path) -> None:
    a = pd.DataFrame({"x": [1, 2], "t": ["a", "b"]})
    assert table_fingerprint(a) == table_fingerprint(a.copy())
    assert table_fingerprint(a) != table_fingerprint(a.assign(t=["a", "c"]))
