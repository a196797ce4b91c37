"""Small synthetic scorer folders written through the real scoring writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmscore.io.experiment import scoring_dir, write_scoring

EXP = "exp"


def write(
    root: Path,
    scorer: str,
    model: str,
    task_type: str,
    task_id: str,
    score,
    status: str = "completed",
    annotator: str | None = None,
    filename: str | None = None,
) -> Path:
    folder = scoring_dir(root, EXP, model, task_type, task_id)
    meta = {
        "scorer": scorer,
        "experiment": EXP,
        "model_name": model,
        "task_type": task_type,
        "task_id": task_id,
    }
    if annotator:
        meta["annotator"] = annotator
    result = {"solution_correctness_score": score, "status": status}
    return write_scoring(folder / (filename or f"{scorer}.json"), meta, result)


# (model, task_type, task_id) -> judge score, first human, second human (None = no file)
ITEMS = {
    ("m1", "chess_task", "c0"): (5, 5, 4),
    ("m1", "chess_task", "c1"): (4, 3, None),
    ("m1", "maze_task", "z0"): (2, 1, 2),
    ("m1", "maze_task", "z1"): (3, 3, None),
    ("m2", "chess_task", "c0"): (1, 2, None),
    ("m2", "chess_task", "c1"): (5, 4, 5),
    ("m2", "maze_task", "z0"): (4, 4, None),
    ("m2", "maze_task", "z1"): (2, 3, 3),
    ("m2", "maze_task", "z2"): (3, 2, None),
    ("m2", "maze_task", "z3"): (5, 5, None),
}


@pytest.fixture()
def scorings(tmp_path: Path) -> dict[str, Path]:
    """judge/ and human/ folders over ITEMS plus every kind of unpairable item."""
    judge, human = tmp_path / "judge-eval", tmp_path / "human-eval"
    for (model, tt, tid), (j, h1, h2) in ITEMS.items():
        write(judge, "judge-eval", model, tt, tid, j)
        write(human, "human-eval", model, tt, tid, h1, annotator="Ann")
        if h2 is not None:
            write(human, "human-eval", model, tt, tid, h2, annotator="Bob", filename="human-eval@bob.json")
    # unpairable items
    write(judge, "judge-eval", "m1", "chess_task", "skip", None, status="skipped")  # excluded in A
    write(human, "human-eval", "m1", "chess_task", "skip", 4, annotator="Ann")
    write(judge, "judge-eval", "m2", "maze_task", "fail", None, status="failed")  # excluded in A
    write(human, "human-eval", "m2", "maze_task", "fail", 2, annotator="Ann")
    write(judge, "judge-eval", "m1", "maze_task", "zero", 0)  # completed, invalid score
    write(human, "human-eval", "m1", "maze_task", "zero", 3, annotator="Ann")
    write(judge, "judge-eval", "m2", "chess_task", "hskip", 4)  # excluded in B
    write(human, "human-eval", "m2", "chess_task", "hskip", None, status="skipped", annotator="Ann")
    write(judge, "judge-eval", "m1", "chess_task", "onlyA", 5)  # only in A
    write(human, "human-eval", "m2", "maze_task", "onlyB", 1, annotator="Ann")  # only in B
    # the original tool's aggregate file must be ignored
    (judge / EXP / "GPT4OEvaluator_all_models.json").write_text(json.dumps({"metadata": {}, "results": {}}))
    return {"a": judge, "b": human}
