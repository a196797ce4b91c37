"""Human scorings on disk: who scored a task, reading one's own scoring back, saving safely.

Layout (seed ``001``, shared with the judges through :mod:`mmscore.io.experiment`)::

    <output_dir>/<experiment>/<model>/<task_type>/<task_id>/human-eval.json            first annotator
    <output_dir>/<experiment>/<model>/<task_type>/<task_id>/human-eval@<slug>.json     every other one

Rules, enforced under a lock (a process-wide ``threading.Lock`` plus ``flock`` on the task's
scoring folder, so two servers over the same output folder cannot race either):

* the annotator who owns a file (``human-eval.json`` whose ``metadata.annotator`` has their slug,
  or ``human-eval@<their slug>.json``) overwrites it when correcting an item;
* nobody ever overwrites another annotator's file: a second annotator gets ``human-eval@<slug>.json``;
* every write is atomic (``write_scoring``), so a crash leaves the old file or the new one.

Any other ``*.json`` scoring in the folder (for example a file written by the original tool)
counts as "scored by someone else", as the seed's queue did.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mmscore._version import __version__
from mmscore.errors import InputError
from mmscore.human.annotators import (
    PRIMARY_FILE,
    SCORER,
    annotator_filename,
    annotator_slug,
    slug_from_filename,
)
from mmscore.io.experiment import SCORE_KEY, TaskRun, read_scoring, scoring_dir, valid_score, write_scoring

log = logging.getLogger(__name__)

_PROCESS_LOCK = threading.Lock()
#: result flag of a score given without a playable video (``mmscore.analysis.load`` excludes it)
VIDEO_UNAVAILABLE = "video_unavailable"
STATUSES = ("completed", "failed", "skipped")


@dataclass(frozen=True)
class HumanFile:
    """One scoring file in a task's folder and the annotator slug it belongs to (None: unknown)."""

    path: Path
    slug: str | None
    data: dict | None


def _slug_of(path: Path, data: dict | None) -> str | None:
    from_name = slug_from_filename(path.name)
    if from_name is not None:
        return from_name
    if data is None:
        return None
    meta = data["metadata"]
    if meta.get("annotator_id"):
        return str(meta["annotator_id"])
    try:
        return annotator_slug(meta.get("annotator"))
    except InputError:
        return None


def task_files(folder: Path) -> list[HumanFile]:
    """The scoring files of one task folder (hidden and temporary files ignored), sorted by name."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    files = []
    for name in names:
        if name.startswith(".") or not name.endswith(".json"):
            continue
        path = folder / name
        data = read_scoring(path)
        if data is None:
            continue
        files.append(HumanFile(path, _slug_of(path, data), data))
    return files


def own_file(files: list[HumanFile], slug: str) -> HumanFile | None:
    """This annotator's file among ``files`` (the primary file first), or None."""
    mine = [f for f in files if f.slug == slug]
    mine.sort(key=lambda f: f.path.name != PRIMARY_FILE)
    return mine[0] if mine else None


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise writers of one task folder across threads and processes (flock where available)."""
    folder.mkdir(parents=True, exist_ok=True)
    with _PROCESS_LOCK:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: the process lock still protects one server
            yield
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def save_scoring(
    output_dir: Path, task: TaskRun, annotator: str, score: int | None, comments: str = "",
    status: str = "completed", blind: bool = True, video_unavailable: bool = False,
) -> Path:
    """Write this annotator's scoring of ``task`` and return the file written (see module rules).

    ``video_unavailable``: the page could not play the generated video, so the score judges
    something else (the frames, a guess); it is saved with that flag and the analysis excludes it."""
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    if status == "completed" and valid_score(score) is None:
        raise InputError(f"score for {'/'.join(task.key)} must be an integer 1-5; got {score!r}")
    slug = annotator_slug(annotator)
    folder = scoring_dir(output_dir, *task.key)
    metadata = {
        "scorer": SCORER,
        "evaluator": SCORER,  # the original tool's key, kept for older readers
        "annotator": annotator,
        "annotator_id": slug,
        # microseconds, as VMEvalKit writes: a restarted server orders an annotator's history by it, and
        # two saves within one millisecond tied and came back in key order
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds"),
        "experiment": task.experiment,
        "model_name": task.model,
        "task_type": task.task_type,
        "task_id": task.task_id,
        "run_id": task.run_id,
        "blind": blind,
        "mmscore_version": __version__,
    }
    result = {SCORE_KEY: valid_score(score), "comments": comments or "", "status": status}
    if video_unavailable:
        result[VIDEO_UNAVAILABLE] = True
    with _folder_lock(folder):
        files = task_files(folder)
        mine = own_file(files, slug)
        if mine is not None:
            target = mine.path
        else:
            primary_taken = (folder / PRIMARY_FILE).exists()
            target = folder / annotator_filename(slug, primary=not primary_taken)
        write_scoring(target, metadata, result)
    log.info("saved %s (score %s) to %s", "/".join(task.key), score, target)
    return target


def read_own(output_dir: Path, task: TaskRun, slug: str) -> dict | None:
    """This annotator's saved ``{"score", "comments", "status", "path"}`` for ``task``, or None."""
    mine = own_file(task_files(scoring_dir(output_dir, *task.key)), slug)
    if mine is None or mine.data is None:
        return None
    result = mine.data["result"]
    return {"score": valid_score(result.get(SCORE_KEY)), "comments": str(result.get("comments") or ""),
            "status": str(result.get("status") or "completed"), "path": mine.path,
            "timestamp": str(mine.data["metadata"].get("timestamp") or "")}
