"""Run a scorer over an experiment: resume, concurrency, failure records, aggregate, run record.

Guarantees (what the command ``mmscore score ...`` relies on):

* **Every task ends with a file** ``<out>/<experiment>/<model>/<task_type>/<task_id>/<ScorerId>.json``
  whose ``result.status`` is ``completed`` (with a 1-5 ``solution_correctness_score``), ``failed``
  (with ``reason`` and ``error_type``; retried on the next run) or ``skipped`` (with ``reason``,
  e.g. no expected final frame) -- except tasks not started because ``--max-cost`` was reached,
  which get no file at all (they were never tried).
* **Resume**: an existing scoring is reused only if it is ``completed`` with a valid score and the
  same identity (scorer id, judge model, prompt sha256, judging method: frames, last seconds,
  samples, vote, temperature). Anything else, or ``rescore=True``, is scored again. A failed
  re-score never replaces a completed scoring of the same identity.
* **Atomic files**: scorings, the aggregate and the run record are written with temp file +
  ``os.replace``; killing the process at any moment leaves only complete JSON files.
* **Aggregate** ``<out>/<experiment>/<ScorerId>_all_models.json`` is rebuilt from the files on
  disk after every run (a run stopped by Ctrl+C included), so resumed tasks appear in it (the
  original listed only the tasks scored in the last run). Layout: ``{"metadata": {...counts,
  mean, success rate}, "results": {<model>: {"model_name", "evaluations": {<task_type>:
  {<task_id>: result}}}}}``.
* **Run record** ``<out>/<experiment>/_runs/<scoring_run>.json``: settings, signature, versions,
  counts, token usage and cost of that run.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmscore._version import __version__
from mmscore.errors import BudgetExceeded, MMScoreError
from mmscore.io.atomic import atomic_write_json, to_jsonable
from mmscore.io.experiment import (
    SCORE_KEY,
    TaskRun,
    discover_tasks,
    iter_scorings,
    read_scoring,
    resolve_output_dir,
    scoring_dir,
    valid_score,
    write_scoring,
)
from mmscore.provenance import run_info, signature_string
from mmscore.vmeval.scorers import Scorer, SkipTask
from mmscore.vmeval.voting import SUCCESS_THRESHOLD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskOutcome:
    task: TaskRun
    status: str  # completed | failed | skipped | reused | not_started
    score: int | None = None
    reason: str | None = None
    path: Path | None = None


@dataclass
class RunSummary:
    scorer: str
    experiment: str
    output_dir: Path
    scoring_run: str
    total: int = 0
    completed: int = 0
    reused: int = 0
    failed: int = 0
    skipped: int = 0
    not_started: int = 0
    budget_exceeded: bool = False
    elapsed_s: float = 0.0
    usage: dict[str, Any] | None = None
    failures: list[tuple[tuple[str, str, str, str], str]] = field(default_factory=list)
    aggregate_path: Path | None = None
    run_record: Path | None = None

    @property
    def done(self) -> int:
        return self.completed + self.reused

    def add(self, outcome: TaskOutcome) -> None:
        if outcome.status == "failed":
            self.failures.append((outcome.task.key, outcome.reason or ""))
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    def as_dict(self) -> dict[str, Any]:
        keys = (
            "scorer",
            "experiment",
            "output_dir",
            "scoring_run",
            "total",
            "completed",
            "reused",
            "failed",
            "skipped",
            "not_started",
            "budget_exceeded",
            "elapsed_s",
            "usage",
        )
        out = {k: getattr(self, k) for k in keys}
        out["failures"] = [{"task": "/".join(key[1:]), "reason": reason} for key, reason in self.failures]
        return to_jsonable(out)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _normalised(value: Any) -> Any:
    return json.loads(json.dumps(to_jsonable(value), sort_keys=True))


def is_reusable(existing: dict | None, identity: dict[str, Any]) -> bool:
    """True if ``existing`` is a completed scoring with a valid score made with ``identity``."""
    if existing is None:
        return False
    result, meta = existing["result"], existing["metadata"]
    return (
        result.get("status") == "completed"
        and valid_score(result.get(SCORE_KEY)) is not None
        and _normalised(meta.get("identity")) == _normalised(identity)
    )


def scoring_path(output_dir: Path, scorer: Scorer, task: TaskRun) -> Path:
    return (
        scoring_dir(output_dir, task.experiment, task.model, task.task_type, task.task_id)
        / f"{scorer.id}.json"
    )


def signature_settings(scorer: Scorer) -> dict[str, Any]:
    """The flat settings behind a scorer's reproducibility signature."""
    identity = scorer.identity()
    return {
        "scorer": identity["scorer"],
        "judge": identity.get("judge_model"),
        "prompt": str(identity.get("prompt_sha256", ""))[:12],
        **identity.get("method", {}),
    }


class _Run:
    def __init__(
        self,
        scorer: Scorer,
        output_dir: Path,
        summary: RunSummary,
        rescore: bool,
        on_outcome: Callable[[TaskOutcome, RunSummary], None] | None,
    ) -> None:
        self.scorer = scorer
        self.output_dir = output_dir
        self.summary = summary
        self.rescore = rescore
        self.on_outcome = on_outcome
        self.identity = scorer.identity()
        self.signature = signature_string(signature_settings(scorer))
        self.stop = False
        self.io_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="mmscore-write")
        self.writes: dict[tuple[str, str, str, str], asyncio.Future[Any]] = {}
        self.pending: list[asyncio.Future[Any]] = []

    def metadata(self, task: TaskRun) -> dict[str, Any]:
        return {
            "scorer": self.scorer.id,
            "timestamp": _now(),
            "experiment": task.experiment,
            "model_name": task.model,
            "task_type": task.task_type,
            "task_id": task.task_id,
            "run_id": task.run_id,
            "video_path": str(task.video_path) if task.video_path else None,
            **self.scorer.metadata(),
            "identity": self.identity,
            "signature": self.signature,
            "scoring_run": self.summary.scoring_run,
            "mmscore_version": __version__,
        }

    def write(self, path: Path, task: TaskRun, result: dict[str, Any]) -> None:
        """Start the atomic write in the I/O threads: a worker moves on to its next request while the
        fsync completes (the outcome is reported only once the file is on disk)."""
        loop = asyncio.get_running_loop()
        self.writes[task.key] = loop.run_in_executor(
            self.io_pool, write_scoring, path, self.metadata(task), result
        )

    def record(self, outcome: TaskOutcome) -> None:
        self.summary.add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome, self.summary)

    def _written(self, future: asyncio.Future[Any], outcome: TaskOutcome) -> None:
        if not future.cancelled() and future.exception() is None:
            self.record(outcome)

    async def score_one(self, task: TaskRun) -> TaskOutcome:
        path = scoring_path(self.output_dir, self.scorer, task)
        existing = await asyncio.to_thread(read_scoring, path)
        same = is_reusable(existing, self.identity)
        if same and not self.rescore:
            assert existing is not None
            return TaskOutcome(task, "reused", valid_score(existing["result"].get(SCORE_KEY)), path=path)
        base = {"scoring_type": self.scorer.scoring_type}
        try:
            scored = await self.scorer.score(task)
        except SkipTask as exc:
            reason = str(exc)
            old = existing["result"] if existing else {}
            old_identity = existing["metadata"].get("identity") if existing else None
            if not (
                old.get("status") == "skipped"
                and old.get("reason") == reason
                and _normalised(old_identity) == _normalised(self.identity)
            ):
                self.write(path, task, {SCORE_KEY: None, **base, "status": "skipped", "reason": reason})
            return TaskOutcome(task, "skipped", reason=reason, path=path)
        except BudgetExceeded:
            self.stop = True
            self.summary.budget_exceeded = True
            return TaskOutcome(task, "not_started", reason="budget reached")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad task must not end the run; recorded below
            if not isinstance(exc, MMScoreError):
                log.debug("unexpected error scoring %s", task.key, exc_info=True)
            reason = f"{exc}" if isinstance(exc, MMScoreError) else f"unexpected {type(exc).__name__}: {exc}"
            result = {
                SCORE_KEY: None,
                "explanation": "",
                **base,
                "status": "failed",
                "reason": reason,
                "error_type": type(exc).__name__,
            }
            attempts = getattr(exc, "attempts", None)
            if attempts:
                result["attempts"] = attempts
            replies = getattr(exc, "texts", None)
            if replies:
                result["replies"] = [text[:2000] for text in replies]
            if same:
                log.warning("%s: re-scoring failed (%s); the completed scoring is kept", path, reason)
            else:
                self.write(path, task, result)
            return TaskOutcome(task, "failed", reason=reason, path=path)
        score = valid_score(scored.score)
        if score is None:
            reason = (
                f"scorer {self.scorer.id} returned an invalid score {scored.score!r} (must be an integer 1-5)"
            )
            self.write(
                path,
                task,
                {
                    SCORE_KEY: None,
                    "explanation": "",
                    **base,
                    "status": "failed",
                    "reason": reason,
                    "error_type": "InvalidScore",
                },
            )
            return TaskOutcome(task, "failed", reason=reason, path=path)
        result = {
            SCORE_KEY: score,
            "explanation": scored.explanation,
            **base,
            "status": "completed",
            **scored.extra,
        }
        if scored.usage:
            result["usage"] = scored.usage
        self.write(path, task, result)
        return TaskOutcome(task, "completed", score, path=path)

    async def worker(self, queue: asyncio.Queue[TaskRun]) -> None:
        while not self.stop:
            try:
                task = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            outcome = await self.score_one(task)
            written = self.writes.pop(task.key, None)
            if written is None:
                self.record(outcome)
            else:
                written.add_done_callback(lambda future, outcome=outcome: self._written(future, outcome))
                self.pending.append(written)


def _select(
    tasks: list[TaskRun], models: Collection[str] | None, task_types: Collection[str] | None
) -> list[TaskRun]:
    if models:
        tasks = [t for t in tasks if t.model in set(models)]
    if task_types:
        wanted = set(task_types) | {f"{t}_task" for t in task_types}
        tasks = [t for t in tasks if t.task_type in wanted]
    return tasks


async def score_experiment(
    scorer: Scorer,
    experiment: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    rescore: bool = False,
    models: Collection[str] | None = None,
    task_types: Collection[str] | None = None,
    on_start: Callable[[list[TaskRun], RunSummary], None] | None = None,
    on_outcome: Callable[[TaskOutcome, RunSummary], None] | None = None,
) -> RunSummary:
    """Score every task of ``experiment`` with ``scorer`` (see the module docstring)."""
    out = resolve_output_dir(output_dir, scorer.output_subdir or scorer.id, data_dir)
    try:
        tasks = _select(discover_tasks(experiment, data_dir), models, task_types)
    except BaseException:
        await scorer.aclose()
        raise
    started = time.monotonic()
    scoring_run = f"{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    summary = RunSummary(
        scorer=scorer.id, experiment=experiment, output_dir=out, scoring_run=scoring_run, total=len(tasks)
    )
    run: _Run | None = None
    interrupted = False
    try:
        await scorer.setup()
        summary.scorer = scorer.id
        if on_start is not None:
            on_start(tasks, summary)
        run = _Run(scorer, out, summary, rescore, on_outcome)
        queue: asyncio.Queue[TaskRun] = asyncio.Queue()
        for task in tasks:
            queue.put_nowait(task)
        n_workers = max(1, min(scorer.workers, len(tasks) or 1))
        await asyncio.gather(*(run.worker(queue) for _ in range(n_workers)))
        await asyncio.gather(*run.pending)  # raises if a file could not be written (disk full, ...)
        await asyncio.sleep(0)  # let the last done-callbacks report their outcomes
        summary.not_started = summary.total - (
            summary.completed + summary.reused + summary.failed + summary.skipped
        )
    except (asyncio.CancelledError, KeyboardInterrupt):
        interrupted = True
        raise
    finally:
        await scorer.aclose()
        if run is not None:
            run.io_pool.shutdown(wait=True)  # writes already started finish (each one is atomic)
            if interrupted:  # Ctrl+C: the aggregate still lists what is on disk now
                rebuild_aggregate(out, experiment, scorer.id)
    summary.usage = scorer.usage()
    summary.elapsed_s = round(time.monotonic() - started, 3)
    summary.aggregate_path = rebuild_aggregate(out, experiment, scorer.id)
    record = run_info(
        _normalised(signature_settings(scorer)),
        scoring_run=scoring_run,
        identity=_normalised(scorer.identity()),
        scorer_metadata=_normalised(scorer.metadata()),
        summary=summary.as_dict(),
    )
    summary.run_record = atomic_write_json(out / experiment / "_runs" / f"{scoring_run}.json", record)
    return summary


def run_scoring(scorer: Scorer, experiment: str, **kwargs: Any) -> RunSummary:
    """Synchronous wrapper of :func:`score_experiment` (same keyword arguments)."""
    return asyncio.run(score_experiment(scorer, experiment, **kwargs))


def rebuild_aggregate(output_dir: str | os.PathLike[str], experiment: str, scorer_id: str) -> Path | None:
    """Write ``<out>/<experiment>/<scorer_id>_all_models.json`` from every scoring file on disk."""
    folder = Path(output_dir) / experiment
    if not folder.is_dir():
        return None
    results: dict[str, dict[str, Any]] = {}
    counts = {"completed": 0, "failed": 0, "skipped": 0}
    scores: list[int] = []
    for scoring in iter_scorings(folder):
        if scoring.scorer != scorer_id or scoring.path.name != f"{scorer_id}.json":
            continue
        model = results.setdefault(scoring.model, {"model_name": scoring.model, "evaluations": {}})
        model["evaluations"].setdefault(scoring.task_type, {})[scoring.task_id] = scoring.raw["result"]
        counts[scoring.status] = counts.get(scoring.status, 0) + 1
        if scoring.score is not None:
            scores.append(scoring.score)
    metadata = {
        "scorer": scorer_id,
        "timestamp": _now(),
        "experiment": experiment,
        "n_scorings": sum(counts.values()),
        "counts": counts,
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        "success_rate": round(sum(s >= SUCCESS_THRESHOLD for s in scores) / len(scores), 4)
        if scores
        else None,
        "mmscore_version": __version__,
    }
    # compact JSON: with indent the json module falls back to its pure-Python encoder (10x slower)
    return atomic_write_json(
        folder / f"{scorer_id}_all_models.json",
        {"metadata": metadata, "results": dict(sorted(results.items()))},
        indent=None,
    )
