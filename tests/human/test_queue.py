"""Queue logic: what is pending, order, skip, back, resume from disk, progress per model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mmscore.errors import InputError
from mmscore.human.queue import ScoringQueue
from mmscore.human.store import save_scoring
from mmscore.io.experiment import discover_tasks


@pytest.fixture(scope="module")
def tasks(experiment):
    return discover_tasks(experiment.experiment, experiment.data_dir)


@pytest.fixture()
def order(experiment):
    """The documented default order, computed from the synthetic experiment's own list."""
    return sorted((experiment.experiment, t.model, t.task_type, t.task_id) for t in experiment.tasks)


def _key(view):
    return view.task.key if view.task is not None else None


def test_default_queue_skips_tasks_with_any_scoring(tmp_path: Path, tasks, order) -> None:
    by_key = {t.key: t for t in tasks}
    save_scoring(tmp_path, by_key[order[0]], "Bob", 3)
    # a judge-style file of some other tool in the same folder also counts (the seed's rule)
    other = tmp_path / "/".join(order[2]) / "custom-eval.json"
    other.parent.mkdir(parents=True)
    other.write_text(
        json.dumps({"metadata": {"scorer": "custom"}, "result": {"solution_correctness_score": 2}})
    )
    queue = ScoringQueue(tasks, tmp_path)
    view = queue.current("Alice")
    assert _key(view) == order[1]
    assert view.remaining == 6 and view.total == 8 and view.done_by_me == 0
    assert queue.order == order


def test_include_scored_by_others_offers_them_but_never_own(tmp_path: Path, tasks, order) -> None:
    by_key = {t.key: t for t in tasks}
    save_scoring(tmp_path, by_key[order[0]], "Bob", 3)
    save_scoring(tmp_path, by_key[order[1]], "Alice", 5)
    queue = ScoringQueue(tasks, tmp_path, include_scored_by_others=True)
    view = queue.current("Alice")
    assert _key(view) == order[0]  # scored by Bob only
    assert view.remaining == 7 and view.done_by_me == 1
    path = queue.submit("Alice", order[0], 4)
    assert path.name == "human-eval@alice.json"
    assert _key(queue.current("Alice")) == order[2]  # order[1] is Alice's own


def test_seeded_shuffle_is_reproducible(tasks, order, tmp_path: Path) -> None:
    expected = list(order)
    random.Random(7).shuffle(expected)
    assert ScoringQueue(tasks, tmp_path, shuffle=True, seed=7).order == expected
    assert ScoringQueue(tasks, tmp_path, shuffle=True, seed=8).order != expected
    assert _key(ScoringQueue(tasks, tmp_path, shuffle=True, seed=7).current("Ann")) == expected[0]


def test_submit_skip_back_correct_and_resume(tmp_path: Path, tasks, order) -> None:
    queue = ScoringQueue(tasks, tmp_path)
    assert _key(queue.current("Ann")) == order[0]
    queue.submit("Ann", order[0], 4)
    assert _key(queue.current("Ann")) == order[1]
    queue.submit("Ann", order[1], 2, "meh")
    queue.skip("Ann", order[2])
    view = queue.current("Ann")
    assert _key(view) == order[3] and view.remaining == 6  # the skipped task is still pending
    # back: the skipped item (nothing saved), then item 2 prefilled
    assert queue.back("Ann")
    view = queue.current("Ann")
    assert _key(view) == order[2] and view.revisit and view.saved is None
    assert view.history_position == (3, 3)
    assert queue.back("Ann")
    view = queue.current("Ann")
    assert _key(view) == order[1] and view.saved["score"] == 2 and view.saved["comments"] == "meh"
    # correct item 2, then move forward through history back to the queue head
    path = queue.submit("Ann", order[1], 3, "meh, corrected")
    assert json.loads(path.read_text())["result"]["solution_correctness_score"] == 3
    assert _key(queue.current("Ann")) == order[2]
    queue.skip("Ann", order[2])  # skipping while revisiting just steps forward
    view = queue.current("Ann")
    assert _key(view) == order[3] and not view.revisit
    assert queue.back("Ann") and queue.back("Ann") and queue.back("Ann")
    assert _key(queue.current("Ann")) == order[0]
    assert not queue.back("Ann")  # nothing before the first item
    # skipping while revisiting walks forward without saving, back to the queue head
    for expected in (order[0], order[1], order[2]):
        assert _key(queue.current("Ann")) == expected
        queue.skip("Ann", expected)
    assert _key(queue.current("Ann")) == order[3]
    # the skipped task comes back after every other one
    seen = []
    while (view := queue.current("Ann")).task is not None:
        seen.append(view.task.key)
        queue.submit("Ann", view.task.key, 1)
    assert seen == order[3:] + [order[2]]
    assert queue.current("Ann").remaining == 0

    # a restarted server rebuilds everything from the files: no pending tasks, history by timestamp
    restarted = ScoringQueue(tasks, tmp_path)
    view = restarted.current("ann")
    assert view.task is None and view.done_by_me == 8
    assert restarted.back("ann")
    assert _key(restarted.current("ann")) == order[2]  # the last one saved


def test_resume_mid_way_after_restart(tmp_path: Path, tasks, order) -> None:
    queue = ScoringQueue(tasks, tmp_path)
    for key in order[:3]:
        queue.submit("Ann", key, 4)
    restarted = ScoringQueue(tasks, tmp_path)
    view = restarted.current("Ann")
    assert _key(view) == order[3] and view.done_by_me == 3 and view.remaining == 5
    assert restarted.back("Ann")
    view = restarted.current("Ann")
    assert _key(view) == order[2] and view.saved["score"] == 4


def test_two_annotators_do_not_get_the_same_item(tmp_path: Path, tasks, order) -> None:
    queue = ScoringQueue(tasks, tmp_path)
    assert _key(queue.current("Ann")) == order[0]
    assert _key(queue.current("Bob")) == order[1]  # order[0] is on Ann's screen
    queue.submit("Bob", order[1], 2)
    assert _key(queue.current("Ann")) == order[0]
    assert _key(queue.current("Bob")) == order[2]
    queue.submit("Ann", order[0], 5)
    assert _key(queue.current("Ann")) == order[3]  # order[1] and order[2] are taken


def test_progress_per_model(tmp_path: Path, tasks, order) -> None:
    queue = ScoringQueue(tasks, tmp_path, include_scored_by_others=True)
    queue.submit("Ann", order[0], 4)
    queue.submit("Ann", order[5], 4)
    queue.submit("Bob", order[0], 2)
    queue.submit("Bob", order[1], 2)
    rows = {r.model: r for r in queue.progress("Ann")}
    # model-a holds order[0:4], model-b order[4:8]
    assert (rows["model-a"].total, rows["model-a"].scored, rows["model-a"].mine) == (4, 2, 1)
    assert (rows["model-b"].total, rows["model-b"].scored, rows["model-b"].mine) == (4, 1, 1)
    assert rows["model-a"].percent == pytest.approx(50.0)
    assert rows["model-b"].percent == pytest.approx(25.0)


def test_unknown_task_is_refused(tmp_path: Path, tasks) -> None:
    queue = ScoringQueue(tasks, tmp_path)
    with pytest.raises(InputError, match="not part of this experiment"):
        queue.submit("Ann", ("pilot_experiment", "model-z", "chess_task", "chess_0000"), 3)
    with pytest.raises(InputError, match="annotator name"):
        queue.submit("", tasks[0].key, 3)
