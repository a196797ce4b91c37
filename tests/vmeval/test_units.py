"""Voting rules, prompt templates, verdict parsing and the scorer registry (hand-worked values)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mmscore.errors import ConfigError, InputError, JudgeParseError
from mmscore.io.experiment import discover_tasks
from mmscore.testing.experiments import make_experiment
from mmscore.vmeval import (
    Scorer,
    ScoreResult,
    SkipTask,
    available_scorers,
    combine,
    load_prompt,
    parse_verdict,
    register_scorer,
    resolve_scorer_class,
    run_scoring,
)


@pytest.mark.parametrize(
    ("scores", "method", "expected", "agreement"),
    [
        ([5, 5, 2], "majority", 5, 2 / 3),
        ([2, 4], "majority", 2, 1 / 2),  # tie, median 3: both 1 away -> the lower
        ([1, 4, 4, 5, 5], "majority", 4, 2 / 5),  # tie 4 vs 5, median 4 -> 4
        ([3, 3, 5, 5, 5, 1], "majority", 5, 3 / 6),
        ([4, 4, 1], "mean", 3, 0.0),  # 9/3 = 3.0
        ([4, 5], "mean", 5, 1 / 2),  # 4.5 rounds half up
        ([1, 2, 4, 5], "median", 2, 1 / 4),  # lower median
        ([5, 4, 3], "min", 3, 1 / 3),
    ],
)
def test_votes(scores: list[int], method: str, expected: int, agreement: float) -> None:
    vote = combine(scores, method)
    assert vote.score == expected
    assert vote.agreement == pytest.approx(agreement)
    assert vote.mean == pytest.approx(sum(scores) / len(scores))
    success = expected >= 4
    assert vote.binary_agreement == pytest.approx(sum((s >= 4) == success for s in scores) / len(scores))


def test_vote_errors() -> None:
    with pytest.raises(ConfigError):
        combine([], "majority")
    with pytest.raises(ConfigError, match="vote must be one of"):
        combine([1], "average")


def test_shipped_prompt_and_guidance() -> None:
    import hashlib
    from importlib import resources

    prompt = load_prompt()
    raw = resources.files("mmscore").joinpath("prompts", "vmeval_final_frame_v1.yaml").read_bytes()
    assert prompt.sha256 == hashlib.sha256(raw).hexdigest()
    assert prompt.version == "1"
    assert "mating" in prompt.guidance("chess_task")
    assert prompt.guidance("G-1_data-generator/maze_task") == prompt.guidance("maze_task")
    assert prompt.guidance("unknown_task") == prompt.task_guidance["default"]
    assert prompt.guidance("mirror_clock_task") != prompt.guidance("clock_task")
    for text in prompt.task_guidance.values():  # no binary point rules inside the 1-5 rubric
        assert "1 point" not in text and "0 otherwise" not in text
    system = prompt.render(prompt.system, "chess_task", "Find mate in one.")
    assert "{task_guidance}" not in system and "solution_correctness_score" in system
    for level in ("1 -", "2 -", "3 -", "4 -", "5 -"):
        assert level in system
    intro = prompt.render(prompt.user_intro, "chess_task", "Find mate in one.")
    assert intro == "Task: chess_task\nPrompt: Find mate in one."


def test_prompt_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown prompt template"):
        load_prompt("no_such_prompt")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nsystem: hi\n")
    with pytest.raises(InputError, match="bad.yaml.*lacks user_intro"):
        load_prompt(bad)


def test_verdict_is_strict() -> None:
    assert parse_verdict('{"solution_correctness_score": 4, "explanation": "ok"}').score == 4
    for text in [
        '{"solution_correctness_score": 0}',
        '{"solution_correctness_score": 6}',
        '{"solution_correctness_score": "four"}',
        '{"solution_correctness_score": null}',
        "score: 4",
        '{"explanation": "4"}',
        '{"solution_correctness_score": 4, "explanation": 5}',
    ]:
        with pytest.raises(JudgeParseError):
            parse_verdict(text)


def test_registry_and_custom_scorer(tmp_path: Path) -> None:
    assert {"gpt4o", "internvl", "openai-compatible"} <= set(available_scorers())

    class NoName(Scorer):
        pass

    with pytest.raises(ConfigError, match="name"):
        register_scorer(NoName)
    make_experiment(
        tmp_path, models=("m",), task_types=("chess_task",), n_tasks=2, without_final_frame={"chess_0001"}
    )
    plugin = tmp_path / "my_scorer.py"
    plugin.write_text(
        "from mmscore.vmeval import Scorer, ScoreResult, SkipTask, register_scorer\n"
        "@register_scorer\n"
        "class SizeScorer(Scorer):\n"
        "    name = 'size-test'\n"
        "    scorer_id = 'SizeScorer'\n"
        "    output_subdir = 'size-eval'\n"
        "    calls = 0\n"
        "    async def score(self, task):\n"
        "        type(self).calls += 1\n"
        "        if task.final_frame is None:\n"
        "            raise SkipTask('no final frame')\n"
        "        return ScoreResult(score=1 + task.video_path.stat().st_size % 5, explanation='by size')\n"
    )
    from mmscore.cli.main import main

    assert main(["score", "custom", f"{plugin}:SizeScorer", "--data-dir", str(tmp_path)]) == 0
    cls = resolve_scorer_class("size-test")
    assert cls.__name__ == "SizeScorer" and cls.calls == 2
    out = tmp_path / "scorings" / "size-eval" / "pilot_experiment" / "m" / "chess_task"
    import json

    done = json.loads((out / "chess_0000" / "SizeScorer.json").read_text())
    video = discover_tasks("pilot_experiment", tmp_path)[0].video_path
    assert done["result"]["solution_correctness_score"] == 1 + video.stat().st_size % 5
    assert json.loads((out / "chess_0001" / "SizeScorer.json").read_text())["result"]["status"] == "skipped"
    # resume: the same version is reused; a new version re-scores
    assert main(["score", "custom", "size-test", "--data-dir", str(tmp_path)]) == 0
    assert cls.calls == 3  # only the skipped task is looked at again
    cls.version = "2"
    assert main(["score", "custom", "size-test", "--data-dir", str(tmp_path)]) == 0
    assert cls.calls == 5


def test_python_api_run_scoring(tmp_path: Path) -> None:
    class Constant(Scorer):
        scorer_id = "ConstantScorer"
        output_subdir = "constant-eval"

        async def score(self, task):
            if task.task_id.endswith("1"):
                raise SkipTask("odd")
            if task.model == "model-b":
                raise ValueError("boom")
            return ScoreResult(score=4)

    make_experiment(tmp_path, n_tasks=2)
    summary = run_scoring(Constant(), "pilot_experiment", data_dir=tmp_path)
    assert (summary.total, summary.completed, summary.failed, summary.skipped) == (8, 2, 2, 4)
    assert all(reason == "unexpected ValueError: boom" for _, reason in summary.failures)
    assert summary.aggregate_path is not None and summary.run_record is not None
    assert asyncio.iscoroutinefunction(Constant.score)


def test_invalid_score_from_a_custom_scorer_is_a_failed_record_not_a_crash(tmp_path: Path) -> None:
    """A scorer returning 7, True or 2.5 must not end the run (it raised TypeError before the fix):
    those tasks are recorded as failed with the bad value named; the others complete."""
    import json

    bad = {"chess_0000": 7, "chess_0001": True, "maze_0000": 2.5}

    class Sloppy(Scorer):
        scorer_id = "SloppyScorer"
        output_subdir = "sloppy-eval"

        async def score(self, task):
            return ScoreResult(score=bad.get(task.task_id, 4))

    make_experiment(tmp_path, models=("m",), n_tasks=2)
    summary = run_scoring(Sloppy(), "pilot_experiment", data_dir=tmp_path)
    assert (summary.total, summary.completed, summary.failed) == (4, 1, 3)
    root = tmp_path / "scorings" / "sloppy-eval" / "pilot_experiment" / "m"
    for task_id, value in bad.items():
        result = json.loads((root / f"{task_id.split('_')[0]}_task" / task_id / "SloppyScorer.json").read_text())[
            "result"
        ]
        # VMEvalKit's own unscored records omit the key (its plot.py reads .get(key, 0), stats.py `key in`)
        assert result["status"] == "failed" and "solution_correctness_score" not in result
        assert result["error_type"] == "InvalidScore" and repr(value) in result["reason"]
    done = json.loads((root / "maze_task" / "maze_0001" / "SloppyScorer.json").read_text())["result"]
    assert (done["status"], done["solution_correctness_score"]) == ("completed", 4)


def test_an_interrupted_run_still_rebuilds_the_aggregate(tmp_path: Path) -> None:
    """Ctrl+C (task cancellation) mid-run: the aggregate lists exactly the scorings on disk."""
    import json

    class Slow(Scorer):
        scorer_id = "SlowScorer"
        output_subdir = "slow-eval"
        workers = 1

        async def score(self, task):
            await asyncio.sleep(0 if task.task_id.endswith("0") else 30)
            return ScoreResult(score=5)

    make_experiment(tmp_path, models=("m",), n_tasks=2)  # chess_0000, chess_0001, maze_0000, maze_0001

    async def interrupt() -> None:
        from mmscore.vmeval.runner import score_experiment

        first = asyncio.Event()
        run = asyncio.ensure_future(
            score_experiment(Slow(), "pilot_experiment", data_dir=tmp_path, on_outcome=lambda o, s: first.set())
        )
        await asyncio.wait_for(first.wait(), 10)
        await asyncio.sleep(0.2)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(interrupt())
    folder = tmp_path / "scorings" / "slow-eval" / "pilot_experiment"
    on_disk = sorted(p.parent.name for p in folder.rglob("SlowScorer.json"))
    assert on_disk == ["chess_0000"]
    aggregate = json.loads((folder / "SlowScorer_all_models.json").read_text())
    assert aggregate["metadata"]["counts"]["completed"] == 1
    assert list(aggregate["results"]["m"]["evaluations"]["chess_task"]) == ["chess_0000"]


def test_missing_experiment_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from mmscore.cli.main import main

    rc = main(
        [
            "score",
            "openai-compatible",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--data-dir",
            str(tmp_path),
            "--experiment",
            "nope",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "experiment 'nope' not found" in err and str(tmp_path) in err
    assert main(["score", "openai-compatible", "--data-dir", str(tmp_path)]) == 2
    assert "--base-url" in capsys.readouterr().err


def test_progress_shows_counts_cost_and_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from mmscore.cli.main import main
    from mmscore.testing.fake_openai import FakeOpenAIServer, Reply

    make_experiment(
        tmp_path, models=("m",), task_types=("chess_task",), n_tasks=3, without_final_frame={"chess_0002"}
    )
    monkeypatch.setenv("MMSCORE_QUIET", "0")
    monkeypatch.setenv("COLUMNS", "200")
    with FakeOpenAIServer(responder=lambda r: Reply.score(9) if "chess_0001" in r.text else 4) as server:
        assert (
            main(
                [
                    "score",
                    "openai-compatible",
                    "--base-url",
                    server.base_url,
                    "--model",
                    "gpt-4o",
                    "--data-dir",
                    str(tmp_path),
                    "-c",
                    "1",
                    "--backoff",
                    "0.01",
                ]
            )
            == 0
        )
    captured = capsys.readouterr()
    assert "done 1" in captured.err and "failed 1" in captured.err and "skipped 1" in captured.err
    assert "$0.0" in captured.err and "/min" in captured.err
    assert "must be an integer from 1 to 5; got 9" in captured.out
