"""The `mmscore demo` judge part: real scoring runner against the local fake judge, then a resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from rich.console import Console

from mmscore.demo import DemoContext
from mmscore.demo.parts import judges


def expected_score(task_id: str) -> int:
    """The documented fake-judge rule, written out independently: 1 + first sha256 byte mod 5."""
    return 1 + int(hashlib.sha256(task_id.encode()).hexdigest()[:2], 16) % 5


def test_demo_part_scores_skips_and_resumes(tmp_path: Path) -> None:
    ctx = DemoContext(workspace=tmp_path, console=Console(quiet=True))
    lines = judges.run(ctx)
    text = "\n".join(lines)

    root = tmp_path / "vmeval" / "scorings" / "openai-compatible-eval" / "demo_experiment"
    assert ctx.shared["vmeval_scorings"] == root.parent
    files = {
        p.relative_to(root).parts[:3]: json.loads(p.read_text()) for p in root.rglob("OpenAICompatibleScorer.json")
    }
    expected_keys = {
        (m, t, f"{t.removesuffix('_task')}_{i:04d}")
        for m in ("model-a", "model-b")
        for t in ("chess_task", "maze_task")
        for i in range(2)
    }
    assert set(files) == expected_keys

    # first sha256 bytes 0xbe=190, 0xf4=244, 0xa4=164 -> 1 + (byte % 5)
    hand_worked = {"chess_0000": 1, "chess_0001": 5, "maze_0000": 5}
    for (model, task_type, task_id), data in files.items():
        result, meta = data["result"], data["metadata"]
        assert (meta["model_name"], meta["task_type"], meta["task_id"]) == (model, task_type, task_id)
        assert meta["judge_model"] == "fake-judge" and "127.0.0.1" in meta["judge_base_url"]
        if task_id == "maze_0001":  # no expected final frame
            assert result["status"] == "skipped"
            assert "solution_correctness_score" not in result  # as VMEvalKit's own skipped records
            assert "final frame" in result["reason"]
        else:
            assert result["status"] == "completed"
            score = result["solution_correctness_score"]
            assert isinstance(score, int) and 1 <= score <= 5
            assert score == expected_score(task_id) == hand_worked[task_id]
            assert result["explanation"].startswith("(fake judge)")

    aggregate = json.loads((root / "OpenAICompatibleScorer_all_models.json").read_text())
    assert aggregate["metadata"]["counts"] == {"completed": 6, "failed": 0, "skipped": 2}
    scores = [hand_worked[t] for t in ("chess_0000", "chess_0001", "maze_0000")] * 2
    assert aggregate["metadata"]["mean_score"] == round(sum(scores) / len(scores), 4)

    assert "run 1: 6 completed, 2 skipped (no expected final frame), 0 failed; 6 requests" in text
    assert "run 2 (resume): 6 reused, 0 newly completed, 2 skipped, 0 failed; 0 requests" in text
    assert "FAKE" in text and "GPT-4o" in text and "SYNTHETIC" in text
    assert "mmscore score gpt4o --experiment" in text and "mmscore score internvl" in text
    assert str(root / "OpenAICompatibleScorer_all_models.json") in text


def test_demo_part_stops_the_fake_server_on_error(tmp_path: Path, monkeypatch) -> None:
    import mmscore.testing.fake_openai as fake_openai
    import mmscore.vmeval

    started: list[fake_openai.FakeOpenAIServer] = []

    class Recording(fake_openai.FakeOpenAIServer):
        def start(self):
            started.append(self)
            return super().start()

    def broken(*args, **kwargs):
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(fake_openai, "FakeOpenAIServer", Recording)
    monkeypatch.setattr(mmscore.vmeval, "run_scoring", broken)
    with pytest.raises(RuntimeError, match="scoring broke"):
        judges.run(DemoContext(workspace=tmp_path, console=Console(quiet=True)))
    assert len(started) == 1
    assert started[0]._httpd is None and not started[0]._thread.is_alive()
