"""Experiment layouts (runs and flat), run choice, env defaults, atomic scorings, reading them back."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mmscore.errors import InputError
from mmscore.io.experiment import (
    discover_tasks,
    iter_scorings,
    resolve_data_dir,
    resolve_output_dir,
    scoring_dir,
    write_scoring,
)
from mmscore.testing.experiments import make_experiment


def test_runs_layout_lists_every_task_sorted_with_newest_run(tmp_path: Path) -> None:
    exp = make_experiment(
        tmp_path,
        models=("zeta", "alpha"),
        task_types=("maze_task", "chess_task"),
        n_tasks=2,
        n_runs=3,
        without_final_frame={"maze_0001"},
    )
    tasks = discover_tasks("pilot_experiment", tmp_path)
    expected = sorted(
        (m, tt, f"{tt[:-5]}_{i:04d}")
        for m in ("zeta", "alpha")
        for tt in ("maze_task", "chess_task")
        for i in range(2)
    )
    assert [(t.model, t.task_type, t.task_id) for t in tasks] == expected
    for task in tasks:
        # run ids end in YYYYmmdd_HHMMSS; run 0 (12:00:00) is the newest of 12:00, 11:59, 11:58
        assert task.run_id == f"{task.model}_{task.task_id}_20251014_120000"
        assert task.n_runs == 3
        assert task.run_dir == task.task_dir / task.run_id
        assert task.video_path is not None and task.video_path.parent == task.run_dir / "video"
        assert task.first_frame is not None and task.first_frame.name == "first_frame.png"
        assert (task.final_frame is None) == (task.task_id == "maze_0001")
        assert task.prompt.startswith(f"Solve {task.task_type[:-5]} puzzle {task.task_id}")
        assert task.question["id"] == task.task_id
        assert task.key == ("pilot_experiment", task.model, task.task_type, task.task_id)
    assert len(exp.tasks) == len(tasks)


def test_newest_run_does_not_depend_on_mtime_or_creation_order(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1, n_runs=2)
    task_dir = tmp_path / "outputs" / "pilot_experiment" / "m" / "chess_task" / "chess_0000"
    old = task_dir / "m_chess_0000_20251014_115900"
    new = task_dir / "m_chess_0000_20251014_120000"
    os.utime(old, (2_000_000_000, 2_000_000_000))  # the older run looks most recently modified
    os.utime(new, (1_000_000_000, 1_000_000_000))
    (task,) = discover_tasks("pilot_experiment", tmp_path)
    assert task.run_id == new.name
    # the newest run without a video loses to an older run that has one
    shutil.rmtree(new / "video")
    (task,) = discover_tasks("pilot_experiment", tmp_path)
    assert task.run_id == old.name


def test_run_ids_without_timestamp_sort_by_name_after_timestamped(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1, n_runs=1, layout="flat")
    task_dir = tmp_path / "outputs" / "pilot_experiment" / "m" / "chess_task" / "chess_0000"
    payload = [task_dir / "video", task_dir / "question"]
    for name in ("run_b", "run_a"):
        for item in payload:
            shutil.copytree(item, task_dir / name / item.name)
    for item in payload:
        shutil.rmtree(item)
    (task,) = discover_tasks("pilot_experiment", tmp_path)
    assert task.run_id == "run_b" and task.n_runs == 2


def test_flat_layout_with_and_without_experiment_level(tmp_path: Path) -> None:
    make_experiment(tmp_path, layout="flat", n_tasks=1)
    tasks = discover_tasks("pilot_experiment", tmp_path)
    assert len(tasks) == 4
    assert all(t.run_id is None and t.run_dir == t.task_dir for t in tasks)
    assert all(t.video_path is not None and t.video_path.name == "video.mp4" for t in tasks)
    # newer tool: <outputs>/<model>/... with no experiment folder
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "outputs" / "pilot_experiment", other / "outputs")
    flat = discover_tasks("any-label", other)
    assert [(t.experiment, t.model, t.task_id) for t in flat] == [
        ("any-label", t.model, t.task_id) for t in tasks
    ]


def test_missing_experiment_names_the_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope"):
        discover_tasks("nope", tmp_path)


def test_bad_question_metadata_is_tolerated(tmp_path: Path) -> None:
    exp = make_experiment(tmp_path, models=("m",), task_types=("chess_task",), n_tasks=1, layout="flat")
    question = exp.tasks[0].run_dir / "question"
    (question / "question_metadata.json").write_text("{broken", encoding="utf-8")
    (question / "prompt.txt").unlink()
    (task,) = discover_tasks("pilot_experiment", tmp_path)
    assert task.question == {} and task.prompt == ""


def test_data_and_output_dir_defaults_follow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VMEVAL_DATA_DIR", raising=False)
    monkeypatch.delenv("VMEVAL_OUTPUT_DIR", raising=False)
    assert resolve_data_dir(None) == Path("data")
    assert resolve_output_dir(None, "gpt4o-eval") == Path("data/scorings/gpt4o-eval")
    assert resolve_output_dir(None, "gpt4o-eval", data_dir=tmp_path) == tmp_path / "scorings" / "gpt4o-eval"
    monkeypatch.setenv("VMEVAL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("VMEVAL_OUTPUT_DIR", str(tmp_path / "o"))
    assert resolve_data_dir(None) == tmp_path / "d"
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"
    assert resolve_output_dir(None, "gpt4o-eval") == tmp_path / "o" / "gpt4o-eval"
    assert resolve_output_dir(tmp_path / "given", "gpt4o-eval") == tmp_path / "given"
    make_experiment(tmp_path / "d", models=("m",), task_types=("chess_task",), n_tasks=1)
    assert len(discover_tasks("pilot_experiment")) == 1


def test_write_and_iter_scorings(tmp_path: Path) -> None:
    out = tmp_path / "scorings" / "gpt4o-eval"
    rows = [
        ("m1", "chess_task", "chess_0000", 5, "completed"),
        ("m1", "chess_task", "chess_0001", 7, "completed"),
        ("m2", "maze_task", "maze_0000", 3, "failed"),
        ("m2", "maze_task", "maze_0001", 2.0, "completed"),
    ]
    for model, task_type, task_id, score, status in rows:
        path = scoring_dir(out, "exp", model, task_type, task_id) / "GPT4OScorer.json"
        written = write_scoring(
            path,
            {
                "scorer": "GPT4OScorer",
                "model_name": model,
                "task_type": task_type,
                "task_id": task_id,
                "experiment": "exp",
            },
            {"solution_correctness_score": score, "status": status},
        )
        assert json.loads(written.read_text())["result"]["status"] == status
    # an original human file (no status, no experiment in metadata) and an aggregate
    human = scoring_dir(out, "exp", "m3", "raven_task", "raven_0000") / "human-eval@bob.json"
    human.parent.mkdir(parents=True)
    human.write_text(
        json.dumps(
            {
                "metadata": {"evaluator": "human-eval", "annotator": "bob"},
                "result": {"solution_correctness_score": 4, "comments": ""},
            }
        )
    )
    (out / "exp" / "GPT4OScorer_all_models.json").write_text(json.dumps({"metadata": {}, "results": {}}))
    (out / "exp" / "broken.json").write_text("{")
    got = {(s.model, s.task_id): s for s in iter_scorings(out)}
    assert set(got) == {
        ("m1", "chess_0000"),
        ("m1", "chess_0001"),
        ("m2", "maze_0000"),
        ("m2", "maze_0001"),
        ("m3", "raven_0000"),
    }
    assert got[("m1", "chess_0000")].score == 5
    assert got[("m1", "chess_0001")].score is None  # out of range
    assert got[("m2", "maze_0000")].score is None and got[("m2", "maze_0000")].status == "failed"
    assert got[("m2", "maze_0001")].score == 2
    h = got[("m3", "raven_0000")]
    assert (h.experiment, h.task_type, h.scorer, h.annotator, h.score, h.status) == (
        "exp",
        "raven_task",
        "human-eval",
        "bob",
        4,
        "completed",
    )
    # reading from the experiment folder gives the same names
    assert {(s.experiment, s.model) for s in iter_scorings(out / "exp")} == {
        ("exp", "m1"),
        ("exp", "m2"),
        ("exp", "m3"),
    }
    assert not list(out.rglob("*.tmp"))


def test_iter_scorings_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        list(iter_scorings(tmp_path / "none"))


def test_generator_level_is_folded_into_the_task_type(tmp_path: Path) -> None:
    make_experiment(tmp_path, models=("m",), task_types=("maze_task",), n_tasks=2, layout="flat")
    model_dir = tmp_path / "outputs" / "pilot_experiment" / "m"
    generator = model_dir / "G-1_maze_data-generator"
    generator.mkdir()
    (model_dir / "maze_task").rename(generator / "maze_task")
    tasks = discover_tasks("pilot_experiment", tmp_path)
    assert [(t.task_type, t.task_id) for t in tasks] == [
        ("G-1_maze_data-generator/maze_task", "maze_0000"),
        ("G-1_maze_data-generator/maze_task", "maze_0001"),
    ]
    assert all(t.video_path is not None for t in tasks)


def test_unreadable_scoring_file_is_skipped_with_a_warning(tmp_path, caplog) -> None:
    import logging

    from mmscore.io.experiment import iter_scorings

    good = tmp_path / "exp" / "model" / "maze_task" / "maze_0000" / "gpt4o-eval.json"
    good.parent.mkdir(parents=True)
    good.write_text(json.dumps({"metadata": {"scorer": "gpt4o-eval"}, "result": {"solution_correctness_score": 4,
                                                                                  "status": "completed"}}))
    broken = good.parent.parent / "maze_0001" / "gpt4o-eval.json"
    broken.parent.mkdir()
    broken.write_text('{"metadata": {"scorer": "gpt4o-eval"}, "result": {"solution_corr')
    with caplog.at_level(logging.WARNING, logger="mmscore"):
        found = list(iter_scorings(tmp_path))
    assert [s.path for s in found] == [good]
    assert any(str(broken) in r.getMessage() and "not valid JSON" in r.getMessage() for r in caplog.records)
