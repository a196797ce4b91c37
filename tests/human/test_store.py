"""Saving human scorings: seed JSON, one file per annotator, nobody overwrites anybody else."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mmscore.errors import InputError
from mmscore.human.store import read_own, save_scoring
from mmscore.io.experiment import discover_tasks, iter_scorings


@pytest.fixture(scope="module")
def tasks(experiment):
    return discover_tasks(experiment.experiment, experiment.data_dir)


def _folder(out: Path, task) -> Path:
    return out / task.experiment / task.model / task.task_type / task.task_id


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_first_annotator_writes_the_seed_file(tmp_path: Path, tasks) -> None:
    task = tasks[0]
    path = save_scoring(tmp_path, task, "Alice Smith", 4, "square slightly off")
    assert path == _folder(tmp_path, task) / "human-eval.json"
    data = _load(path)
    assert data["metadata"]["scorer"] == "human-eval"
    assert data["metadata"]["annotator"] == "Alice Smith"
    assert data["metadata"]["annotator_id"] == "alice-smith"
    assert (data["metadata"]["model_name"], data["metadata"]["task_type"], data["metadata"]["task_id"]) == (
        task.model,
        task.task_type,
        task.task_id,
    )
    assert data["metadata"]["experiment"] == task.experiment
    assert data["metadata"]["run_id"] == task.run_id
    assert data["metadata"]["timestamp"].endswith("+00:00")
    assert data["result"] == {
        "solution_correctness_score": 4,
        "comments": "square slightly off",
        "status": "completed",
    }


def test_second_annotator_never_overwrites_and_corrections_overwrite_own(tmp_path: Path, tasks) -> None:
    task = tasks[1]
    folder = _folder(tmp_path, task)
    alice = save_scoring(tmp_path, task, "Alice", 5)
    alice_bytes = alice.read_bytes()
    bob = save_scoring(tmp_path, task, "Bob", 2, "wrong piece moved")
    assert bob == folder / "human-eval@bob.json"
    assert alice.read_bytes() == alice_bytes
    # Alice corrects (spelled differently: same slug, same person) -> her own file changes
    assert save_scoring(tmp_path, task, "alice", 3) == alice
    assert _load(alice)["result"]["solution_correctness_score"] == 3
    assert _load(bob)["result"]["solution_correctness_score"] == 2
    # Bob corrects -> only his file
    save_scoring(tmp_path, task, "BOB", 1)
    assert _load(bob)["result"]["solution_correctness_score"] == 1
    assert _load(alice)["result"]["solution_correctness_score"] == 3
    assert sorted(p.name for p in folder.iterdir()) == ["human-eval.json", "human-eval@bob.json"]
    # the shared reader sees two human scorings with their annotators
    found = {(s.annotator, s.score) for s in iter_scorings(tmp_path)}
    assert found == {("alice", 3), ("BOB", 1)}
    assert read_own(tmp_path, task, "bob")["score"] == 1
    assert read_own(tmp_path, task, "carol") is None


def test_file_of_the_original_tool_is_respected(tmp_path: Path, tasks) -> None:
    """A human-eval.json without an annotator (the original default was 'Anonymous' or none)."""
    task = tasks[2]
    folder = _folder(tmp_path, task)
    folder.mkdir(parents=True)
    legacy = {
        "metadata": {"evaluator": "human-eval", "timestamp": "2025-10-14T12:00:00"},
        "result": {"solution_correctness_score": 4, "comments": ""},
    }
    (folder / "human-eval.json").write_text(json.dumps(legacy), encoding="utf-8")
    path = save_scoring(tmp_path, task, "Alice", 2)
    assert path.name == "human-eval@alice.json"
    assert json.loads((folder / "human-eval.json").read_text()) == legacy


@pytest.mark.parametrize("score", [None, 0, 6, 2.5, True, "4"])
def test_invalid_scores_write_nothing(tmp_path: Path, tasks, score) -> None:
    with pytest.raises(InputError, match="1-5"):
        save_scoring(tmp_path, tasks[0], "Alice", score)
    assert not list(tmp_path.rglob("*.json"))


def test_skipped_status_needs_no_score(tmp_path: Path, tasks) -> None:
    path = save_scoring(tmp_path, tasks[0], "Alice", None, "video missing", status="skipped")
    assert _load(path)["result"] == {  # no score key unless completed, as VMEvalKit's own skipped records
        "comments": "video missing",
        "status": "skipped",
    }
    with pytest.raises(InputError, match="status"):
        save_scoring(tmp_path, tasks[0], "Alice", 3, status="done")


def test_hostile_names_stay_inside_the_task_folder(tmp_path: Path, tasks) -> None:
    task = tasks[3]
    save_scoring(tmp_path, task, "first", 3)
    path = save_scoring(tmp_path, task, "../../evil", 1)
    assert path == _folder(tmp_path, task) / "human-eval@evil.json"
    assert _load(path)["metadata"]["annotator"] == "../../evil"
    assert all(p.is_relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(InputError):
        save_scoring(tmp_path, task, "", 1)


def test_concurrent_annotators_each_get_exactly_one_file(tmp_path: Path, tasks) -> None:
    task = tasks[4]
    names = [f"annotator {i}" for i in range(8)]
    barrier = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait()
            for score in (1, 2, 3):
                save_scoring(tmp_path, task, name, score)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    folder = _folder(tmp_path, task)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 8 and "human-eval.json" in files
    annotators = sorted(_load(folder / f)["metadata"]["annotator"] for f in files)
    assert annotators == sorted(names)
    assert all(_load(folder / f)["result"]["solution_correctness_score"] == 3 for f in files)
