"""Read one scorer folder into a table, keeping excluded scorings visible.

The original ``analysis/plot.py`` read a missing score as 0, so "skipped" (no ground truth) and
"failed" scorings counted as wrong answers. Here every scoring file becomes one row with
``included`` and ``reason``: only completed scorings with a 1-5 score are analysed, the rest are
counted by reason (``skipped``, ``failed``, any other status, ``goal_based`` for VMEvalKit
InternVL's goal-based fallback, whose ``goal_achieved_score`` grades a different question than the
final-frame ``solution_correctness_score``, or ``invalid_score`` for a "completed" file whose
score is missing or off the scale).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmscore.errors import InputError
from mmscore.human.store import VIDEO_UNAVAILABLE  # a score given without a playable video: excluded
from mmscore.io.experiment import iter_scorings

KEY = ["experiment", "model", "task_type", "task_id"]
#: exclusion reasons that mean a broken file (named in outputs), not a deliberate skip
BROKEN_REASONS = ("unreadable", "invalid_score")
COLUMNS = [*KEY, "domain", "scorer", "rater", "annotator", "score", "status", "included", "reason", "path",
           "experiment_known"]


def _goal_based(data: dict) -> bool:
    """VMEvalKit's InternVL fallback without a ground-truth final frame: ``goal_achieved_score``."""
    result = data.get("result") or {}
    return "goal_achieved_score" in result or result.get("evaluation_type") == "goal_based"


def domain_of(task_type: str) -> str:
    """``chess_task`` -> ``chess`` (the original's domain name)."""
    return task_type[: -len("_task")] if task_type.endswith("_task") else task_type


@dataclass(frozen=True)
class ScoringTable:
    """Every scoring file of one folder; ``valid`` holds the analysable ones."""

    folder: Path
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def valid(self) -> pd.DataFrame:
        return self.frame[self.frame["included"]].copy()

    @property
    def n_files(self) -> int:
        return len(self.frame)

    def excluded_counts(self) -> dict[str, int]:
        """Excluded scorings by reason, e.g. ``{"skipped": 3, "failed": 1}``."""
        return dict(sorted(Counter(self.frame.loc[~self.frame["included"], "reason"]).items()))

    def broken_files(self) -> dict[str, list[str]]:
        """Paths of the files excluded as broken (unreadable JSON, invalid score), by reason."""
        broken = self.frame[self.frame["reason"].isin(BROKEN_REASONS)]
        return {reason: sorted(group["path"]) for reason, group in broken.groupby("reason")}

    @property
    def experiments(self) -> list[str]:
        return sorted({str(e) for e in self.frame["experiment"]})


def load_scorings(folder: str | os.PathLike[str]) -> ScoringTable:
    """Read every scoring JSON under ``folder`` (via :func:`mmscore.io.experiment.iter_scorings`).

    ``rater`` identifies who gave the score: the annotator name when the file records one, else the
    file name without ``.json`` (``gpt4o-eval``, ``human-eval@bob``). A ``.json`` file that is not
    valid JSON (e.g. truncated by a tool that does not write atomically) is counted as excluded
    with reason ``unreadable``, named from its path. Raises InputError when the folder holds no
    scoring file at all.
    """
    folder = Path(folder)
    rows = []
    for s in iter_scorings(folder, include_unreadable=True):
        unavailable = bool((s.raw.get("result") or {}).get(VIDEO_UNAVAILABLE)) if s.raw else False
        if unavailable:  # scored without a playable video (human UI): not evidence about the video
            reason = VIDEO_UNAVAILABLE
        elif s.score is not None:
            reason = "completed"
        elif s.status == "completed" and _goal_based(s.raw):
            reason = "goal_based"
        elif s.status == "completed":
            reason = "invalid_score"
        else:
            reason = s.status or "unknown"
        rows.append(
            {
                "experiment": s.experiment,
                "model": s.model,
                "task_type": s.task_type,
                "task_id": s.task_id,
                "domain": domain_of(s.task_type),
                "scorer": s.scorer,
                "rater": s.annotator if s.annotator else s.path.stem,
                "annotator": s.annotator,
                "score": s.score,
                "status": s.status,
                "included": s.score is not None and not unavailable,
                "reason": reason,
                "path": str(s.path),
                "experiment_known": s.experiment_known,
            }
        )
    if not rows:
        raise InputError(
            f"{folder}: no scoring files found (expected <experiment>/<model>/<task_type>/<task_id>/"
            "<scorer>.json files with 'metadata' and 'result')"
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["score"] = frame["score"].astype("Int64")
    return ScoringTable(folder=folder, frame=frame.sort_values("path", kind="stable").reset_index(drop=True))


def describe_exclusions(table: ScoringTable) -> str:
    """One line such as ``58 of 60 scorings analysed; excluded: 1 failed, 1 skipped``."""
    counts = table.excluded_counts()
    kept = table.n_files - sum(counts.values())
    text = f"{kept} of {table.n_files} scorings analysed"
    if counts:
        text += "; excluded: " + ", ".join(f"{v} {k}" for k, v in counts.items())
    return text


def describe_broken(table: ScoringTable, limit: int = 10) -> list[str]:
    """One line per broken scoring file (the console's list; ``summary.json`` holds them all)."""
    lines = [f"{reason}: {path}" for reason, paths in table.broken_files().items() for path in paths]
    return lines[:limit] + ([f"... and {len(lines) - limit} more (see summary.json)"] if len(lines) > limit else [])
