"""The Ray engine on a multi-node cluster started on this host: 1-CPU nodes, default options.

The shape that used to deadlock (every node left with less than a CPU for decoding) must finish
with the local engine's scores, and killing the node that runs the model actor mid-job must end
in a complete output with every row exactly once. Few and small: the cluster costs ~10 s to start.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mmscore.engine import run_engine
from mmscore.io.tables import read_table, write_table
from mmscore.operators.emscore import EMScoreEval
from mmscore.testing.ray_nodes import node_runs

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow,
              pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the actor's node through /proc")]

NODE_MEMORY = {"object_store_memory": 96 * 2**20}


@pytest.fixture(scope="module")
def cluster():
    """A head node without CPUs (only Ray's own services) and two worker nodes of 1 CPU each."""
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **NODE_MEMORY})
    workers = [head.add_node(num_cpus=1, **NODE_MEMORY) for _ in range(2)]
    head.wait_for_nodes()
    ray.init(address=head.address, include_dashboard=False, log_to_driver=False)
    yield head, workers
    ray.shutdown()
    head.shutdown()


def _emscore(model: Path) -> EMScoreEval:
    return EMScoreEval(clip_model_path=str(model)).configure(cache_dir=False)


def _assert_same_scores(a, b) -> None:
    scores = [c for c in a.columns if c.startswith("EMScore(")]
    assert list(a.columns) == list(b.columns) and len(scores) == 21
    np.testing.assert_allclose(b[scores].astype(float).to_numpy(), a[scores].astype(float).to_numpy(), atol=1e-6,
                               equal_nan=True)
    others = [c for c in a.columns if c not in scores]
    assert b[others].astype(str).equals(a[others].astype(str))


def test_default_options_on_two_one_cpu_nodes_finish_like_the_local_engine(cluster, tmp_path: Path,
                                                                          tiny_clip_hf_dir: Path,
                                                                          video_table: Path) -> None:
    local = run_engine(_emscore(tiny_clip_hf_dir), video_table, tmp_path / "local.parquet", shard_size=2)
    on_ray = run_engine(_emscore(tiny_clip_hf_dir), video_table, tmp_path / "ray.parquet", engine="ray",
                        shard_size=2, stall_timeout=60)
    assert on_ray.rows == local.rows == 7 and on_ray.failed == local.failed == 2 and on_ray.shards_run == 4
    _assert_same_scores(read_table(local.output), read_table(on_ray.output))


def test_killing_the_model_actors_node_mid_job_still_scores_every_row_once(cluster, tmp_path: Path,
                                                                            tiny_clip_hf_dir: Path,
                                                                            video_table: Path) -> None:
    head, workers = cluster
    rows = read_table(video_table)
    rows["video_path"] = [str(video_table.parent / name) for name in rows["video_path"]]
    table = write_table(rows.loc[rows.index.repeat(3)].reset_index(drop=True), tmp_path / "videos.jsonl")
    output, shards = tmp_path / "ray.parquet", tmp_path / "ray.parquet.shards"
    outcome: dict = {}

    def job() -> None:
        try:
            outcome["result"] = run_engine(_emscore(tiny_clip_hf_dir), table, output, engine="ray", shard_size=1,
                                           stall_timeout=60)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    driver = threading.Thread(target=job)
    driver.start()
    deadline = time.monotonic() + 120
    while not list(shards.glob("*.done.json")) and driver.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    victim = next(node for node in workers if node_runs(node, "_ShardScorer"))
    head.remove_node(victim, allow_graceful=False)
    done_at_kill = len(list(shards.glob("*.done.json")))
    driver.join(timeout=240)
    assert not driver.is_alive() and "error" not in outcome, outcome
    assert 1 <= done_at_kill < 21, done_at_kill  # the node died mid-job
    result = outcome["result"]
    assert result.rows == 21 and result.shards == 21 and len(list(shards.glob("*.done.json"))) == 21
    local = run_engine(_emscore(tiny_clip_hf_dir), table, tmp_path / "local.parquet", shard_size=7)
    a, b = read_table(local.output), read_table(result.output)
    assert b["video_path"].tolist() == a["video_path"].tolist()  # every row exactly once, in input order
    _assert_same_scores(a, b)
