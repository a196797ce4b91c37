"""SIGKILL a judge run mid-way: only complete JSON files remain, and the restart finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmscore.testing.experiments import make_experiment
from mmscore.testing.fake_openai import FakeOpenAIServer

from .conftest import cli_args, run_cli, scorings


def _all_json_complete(root: Path) -> list[Path]:
    files = sorted(root.rglob("*.json"))
    for path in files:
        data = json.loads(path.read_text())  # raises on a half-written file
        assert isinstance(data, dict)
    return files


@pytest.mark.slow
def test_sigkill_mid_run_leaves_complete_files_and_resumes(tmp_path: Path) -> None:
    make_experiment(tmp_path, task_types=("chess_task", "maze_task"), n_tasks=4)  # 16 tasks
    out = tmp_path / "scorings" / "openai-compatible-eval"
    with FakeOpenAIServer(responder=lambda r: 4, latency=0.25) as server:
        env = {**os.environ, "MMSCORE_QUIET": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmscore", *cli_args(server, tmp_path, "-c", "2")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                done = (
                    list((out / "pilot_experiment").rglob("OpenAICompatibleScorer.json"))
                    if out.exists()
                    else []
                )
                if len(done) >= 4:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()!r}"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        killed_at = scorings(tmp_path)
        assert 4 <= len(killed_at) < 16
        assert all(d["result"]["status"] == "completed" for d in killed_at.values())
        _all_json_complete(out)
        assert not (out / "pilot_experiment" / "OpenAICompatibleScorer_all_models.json").exists()

        server.reset_counts()
        assert run_cli(server, tmp_path, "-c", "4") == 0
        # only tasks without a file are asked again (minus replies the killed run had already cached)
        assert server.chat_count <= 16 - len(killed_at)
        final = scorings(tmp_path)
        assert len(final) == 16 and all(d["result"]["status"] == "completed" for d in final.values())
        for key, data in killed_at.items():
            assert final[key] == data
        aggregate = json.loads(
            (out / "pilot_experiment" / "OpenAICompatibleScorer_all_models.json").read_text()
        )
        assert aggregate["metadata"]["counts"]["completed"] == 16  # resumed tasks are in the aggregate
        _all_json_complete(out)

        server.reset_counts()
        assert run_cli(server, tmp_path) == 0
        assert server.chat_count == 0
