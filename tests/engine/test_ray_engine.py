"""The Ray engine on a local 2-CPU Ray: same numbers as the local engine, restartable after a kill.

Few and small on purpose: starting Ray costs ~5 s here, each dataset run a few more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mmscore.engine import run_engine
from mmscore.io.tables import read_table
from mmscore.operators.emscore import EMScoreEval
from mmscore.operators.image_text import ImageLongCLIPEvaluator

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    # address="local": a fresh cluster even when another one on this machine is recorded as current
    context = ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield context
    ray.shutdown()


def _assert_same_table(a, b, score_columns: list[str]) -> None:
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(a[score_columns].astype(float).to_numpy(), b[score_columns].astype(float).to_numpy(),
                               atol=1e-6, equal_nan=True)
    others = [c for c in a.columns if c not in score_columns]
    assert a[others].astype(str).equals(b[others].astype(str))


def test_emscore_on_ray_equals_local_engine(local_ray, tmp_path: Path, tiny_clip_hf_dir: Path,
                                            video_table: Path) -> None:
    def op() -> EMScoreEval:
        return EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(cache_dir=False)

    local = run_engine(op(), video_table, tmp_path / "local.parquet", shard_size=2)
    on_ray = run_engine(op(), video_table, tmp_path / "ray.parquet", engine="ray", num_workers=2, shard_size=2)
    assert on_ray.rows == local.rows == 7 and on_ray.failed == local.failed == 2
    a, b = read_table(local.output), read_table(on_ray.output)
    scores = [c for c in a.columns if c.startswith("EMScore(")]
    assert len(scores) == 21
    _assert_same_table(b, a, scores)
    assert "corrupt.mp4" in b["emscore_error"][4]  # the corrupt video is recorded, the rest scored
    assert b.drop(index=[4, 5])[scores].notna().all().all()
    markers = sorted(on_ray.shard_dir.glob("*.done.json"))
    assert len(markers) == 4 and all('"engine": "ray"' in m.read_text() for m in markers)
    media = [json.loads(r.output.with_name(r.output.name + ".run.json").read_text())["media_paths"]
             for r in (local, on_ray)]
    assert media[0] == media[1] and set(media[0]) == {str(v) for v in a["video_path"] if isinstance(v, str) and v}


_DRIVER = """
import sys
from mmscore.engine import run_engine
from mmscore.operators.image_text import ImageLongCLIPEvaluator
run_engine(ImageLongCLIPEvaluator(sys.argv[1]), sys.argv[2], sys.argv[3], engine="ray", address=sys.argv[4],
           num_workers=1, shard_size=1)
"""


def test_longclip_on_ray_resumes_after_the_driver_is_killed(local_ray, tmp_path: Path, longclip_checkpoint: Path,
                                                            image_table: Path) -> None:
    def op() -> ImageLongCLIPEvaluator:
        return ImageLongCLIPEvaluator(str(longclip_checkpoint))

    output = tmp_path / "ray.jsonl"
    shards = tmp_path / "ray.jsonl.shards"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    driver = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_DRIVER), str(longclip_checkpoint), str(image_table), str(output),
         local_ray.address_info["address"]], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(shards.glob("*.done.json")) and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.02)
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.wait(timeout=30)
    done_before = len(list(shards.glob("*.done.json")))
    assert 1 <= done_before < 12, done_before  # killed mid-job
    assert not output.exists()

    resumed = run_engine(op(), image_table, output, engine="ray", num_workers=1, shard_size=1)
    assert resumed.shards == 12 and resumed.shards_run <= 12 - done_before + 1
    local = run_engine(op(), image_table, tmp_path / "local.jsonl", shard_size=4)
    a, b = read_table(local.output), read_table(resumed.output)
    assert len(b) == 12 and b["text"].tolist() == a["text"].tolist()  # every row exactly once, in order
    _assert_same_table(b, a, ["longclip_score"])
    assert b["longclip_score_error"].notna().tolist() == [i == 9 for i in range(12)]
