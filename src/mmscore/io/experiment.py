"""VMEvalKit experiment outputs (what the video models generated) and scorings (what judges said).

Two on-disk layouts of generated videos exist in the wild, and both are read here:

* **runs** (VMEvalKit up to late 2025)::

      <data>/outputs/<experiment>/<model>/<task_type>/<task_id>/<run_id>/
          video/*.mp4
          question/{first_frame.png, final_frame.png, prompt.txt, question_metadata.json}

  A task may hold several runs. The original scorers took ``list(task_dir.iterdir())[0]`` (an
  arbitrary, OS-dependent choice); here the newest run is chosen *deterministically*: runs are
  ordered by the ``YYYYmmdd_HHMMSS`` timestamp at the end of the run id, then by name, and the
  newest run that holds a video wins (the newest run at all if none has one). The chosen
  ``run_id`` is recorded in :class:`TaskRun` and in every scoring.

* **flat** (newer VMEvalKit)::

      <outputs>/<model>/<task_type>/<task_id>/{video/video.mp4, question/...}

  with ``<outputs>`` either ``<data>/outputs/<experiment>`` or, when that folder does not exist,
  ``<data>/outputs`` itself (the newer tool has no experiment level; the experiment name is then
  only a label). A data-generator level (``<model>/G-1_..._data-generator/<task_type>/<task_id>``)
  is folded into the task type as ``"<generator>/<task_type>"``.

Scorings live at ``<output_dir>/<experiment>/<model>/<task_type>/<task_id>/<scorer>.json`` as
``{"metadata": {...}, "result": {"solution_correctness_score": 1-5, "status": ..., ...}}``
(seed ``001``). ``write_scoring`` is atomic, so a killed process leaves either the old file or the
complete new one. ``iter_scorings`` reads them back for the analysis and the human UI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmscore.errors import InputError
from mmscore.io.atomic import atomic_write_json

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
_RUN_TIMESTAMP = re.compile(r"(\d{8}_\d{6})$")
_GENERATOR = re.compile(r"^[A-Z]-\d+")
SCORE_KEY = "solution_correctness_score"


@dataclass(frozen=True)
class TaskRun:
    """One generated video to judge, with the question it answers."""

    experiment: str
    model: str
    task_type: str
    task_id: str
    task_dir: Path
    run_dir: Path
    run_id: str | None
    video_path: Path | None
    first_frame: Path | None
    final_frame: Path | None
    prompt: str
    question: dict = field(default_factory=dict)
    #: how many runs the task folder held (the newest was chosen; 1 in the flat layout)
    n_runs: int = 1

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.experiment, self.model, self.task_type, self.task_id)


@dataclass(frozen=True)
class Scoring:
    """One scoring JSON read back from disk (judge or human)."""

    scorer: str
    experiment: str
    model: str
    task_type: str
    task_id: str
    score: int | None
    status: str
    annotator: str | None
    path: Path
    raw: dict
    #: False when neither the metadata nor the folders name an experiment (newer VMEvalKit's flat
    #: ``<scorer>/<model>/<task_type>/<task_id>/`` layout); ``experiment`` is then only a label
    experiment_known: bool = True

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.experiment, self.model, self.task_type, self.task_id)


# --------------------------------------------------------------------------- directories
def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The folder holding ``outputs/``: the argument, else ``$VMEVAL_DATA_DIR``, else ``data``."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir)
    env = os.environ.get("VMEVAL_DATA_DIR", "")
    return Path(env) if env else Path("data")


def resolve_output_dir(
    output_dir: str | os.PathLike[str] | None,
    default_scorer_dir: str,
    data_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Where a scorer writes: the argument, else ``$VMEVAL_OUTPUT_DIR/<scorer>``, else
    ``<data>/scorings/<scorer>`` (``<data>`` from :func:`resolve_data_dir`, so ``data/scorings/...``
    by default)."""
    if output_dir is not None and str(output_dir) != "":
        return Path(output_dir)
    env = os.environ.get("VMEVAL_OUTPUT_DIR", "")
    if env:
        return Path(env) / default_scorer_dir
    return resolve_data_dir(data_dir) / "scorings" / default_scorer_dir


def scorer_folder_under(scorings_root: str | os.PathLike[str] | None, scorer_dir: str) -> Path | None:
    """``<scorings_root>/<scorer_dir>``, or None without a root (then :func:`resolve_output_dir`'s
    defaults apply). The command line's ``--output-dir`` is a scorings root like
    ``$VMEVAL_OUTPUT_DIR`` (seed ``001``: ``--output-dir data/scorings`` writes
    ``data/scorings/gpt4o-eval/<experiment>/...``); the Python API's ``output_dir`` stays the scorer
    folder, as VMEvalKit's ``GPT4OEvaluator(output_dir=...)``."""
    if scorings_root is None or str(scorings_root) == "":
        return None
    return Path(scorings_root) / scorer_dir


def scoring_dir(
    output_dir: str | os.PathLike[str],
    experiment: str,
    model: str,
    task_type: str,
    task_id: str,
) -> Path:
    return Path(output_dir) / experiment / model / task_type / task_id


# --------------------------------------------------------------------------- discovery
def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _is_task_payload(folder: Path) -> bool:
    """A folder that directly holds a generated video and/or its question (flat layout)."""
    return (folder / "video").is_dir() or (folder / "question").is_dir()


def _run_sort_key(run_dir: Path) -> tuple[int, str, str]:
    match = _RUN_TIMESTAMP.search(run_dir.name)
    return (1, match.group(1), run_dir.name) if match else (0, "", run_dir.name)


def _find_video(run_dir: Path) -> Path | None:
    folder = run_dir / "video"
    if not folder.is_dir():
        return None
    videos = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
    )
    if not videos:
        return None
    named = [p for p in videos if p.stem == "video"]
    return named[0] if named else videos[0]


def _find_image(question_dir: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        candidate = question_dir / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _read_question(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s: unreadable question metadata (%s); using an empty dict", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("%s: question metadata is not a JSON object; using an empty dict", path)
        return {}
    return data


def choose_run(task_dir: Path) -> tuple[Path, str | None, int]:
    """(run_dir, run_id, number of runs) for one task folder, newest run first (see module doc)."""
    if _is_task_payload(task_dir):
        return task_dir, None, 1
    runs = [d for d in _subdirs(task_dir) if _is_task_payload(d)]
    if not runs:
        return task_dir, None, 0
    ordered = sorted(runs, key=_run_sort_key, reverse=True)
    with_video = [d for d in ordered if _find_video(d) is not None]
    chosen = (with_video or ordered)[0]
    return chosen, chosen.name, len(runs)


def load_task(experiment: str, model: str, task_type: str, task_dir: Path) -> TaskRun:
    run_dir, run_id, n_runs = choose_run(task_dir)
    question_dir = run_dir / "question"
    question = _read_question(question_dir / "question_metadata.json")
    prompt_file = question_dir / "prompt.txt"
    if prompt_file.is_file():
        prompt = prompt_file.read_text(encoding="utf-8", errors="replace").strip()
    else:
        prompt = str(question.get("prompt", "") or "")
    return TaskRun(
        experiment=experiment,
        model=model,
        task_type=task_type,
        task_id=task_dir.name,
        task_dir=task_dir,
        run_dir=run_dir,
        run_id=run_id,
        video_path=_find_video(run_dir),
        first_frame=_find_image(question_dir, "first_frame"),
        final_frame=_find_image(question_dir, "final_frame"),
        prompt=prompt,
        question=question,
        n_runs=max(n_runs, 1),
    )


def experiment_root(experiment: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data>/outputs/<experiment>`` if it exists, else ``<data>/outputs`` (flat, no experiment
    level). Raises InputError naming both places when neither exists."""
    data = resolve_data_dir(data_dir)
    outputs = data / "outputs"
    root = outputs / experiment
    if root.is_dir():
        return root
    if outputs.is_dir() and _looks_flat(outputs):
        return outputs
    raise InputError(
        f"experiment {experiment!r} not found: neither {root} nor a flat model/task tree in {outputs} "
        "exists; pass --data-dir (the folder that holds outputs/) or set VMEVAL_DATA_DIR"
    )


def _looks_flat(outputs: Path) -> bool:
    """True if ``outputs`` is ``<model>/<task_type>/<task_id>/{video|question}`` directly."""
    for model_dir in _subdirs(outputs):
        for type_dir, _ in _task_type_dirs(model_dir):
            for task_dir in _subdirs(type_dir):
                if _is_task_payload(task_dir):
                    return True
    return False


def _task_type_dirs(model_dir: Path) -> Iterator[tuple[Path, str]]:
    """(folder, task_type) pairs; a generator level (``<model>/G-1_.../<task_type>/``, newer
    VMEvalKit) becomes part of the task type, ``"<generator>/<task_type>"``, as the original did."""
    for type_dir in _subdirs(model_dir):
        if _GENERATOR.match(type_dir.name):
            for inner in _subdirs(type_dir):
                yield inner, f"{type_dir.name}/{inner.name}"
        else:
            yield type_dir, type_dir.name


def discover_tasks(experiment: str, data_dir: str | os.PathLike[str] | None = None) -> list[TaskRun]:
    """Every task of an experiment (both layouts), sorted by (model, task_type, task_id)."""
    root = experiment_root(experiment, data_dir)
    tasks = []
    for model_dir in _subdirs(root):
        for type_dir, task_type in _task_type_dirs(model_dir):
            for task_dir in _subdirs(type_dir):
                task = load_task(experiment, model_dir.name, task_type, task_dir)
                if task.video_path is None and not (task.run_dir / "question").is_dir():
                    log.debug("%s: neither a video nor a question folder; ignored", task_dir)
                    continue
                tasks.append(task)
    tasks.sort(key=lambda t: (t.model, t.task_type, t.task_id))
    return tasks


# --------------------------------------------------------------------------- scorings
def write_scoring(path: str | os.PathLike[str], metadata: dict, result: dict) -> Path:
    """Write ``{"metadata", "result"}`` atomically (temp file + ``os.replace``).

    ``solution_correctness_score`` is written only when ``status`` is ``completed``, as VMEvalKit's
    own skipped records do: its ``analysis/plot.py`` reads ``result.get(key, 0)`` and compares the
    value with 4, and its ``stats.py`` keeps files where the key is present, so a null would crash
    both. (mmscore's readers accept files that carry the key as null.)
    """
    if result.get("status", "completed") != "completed":
        result = {key: value for key, value in result.items() if key != SCORE_KEY}
    return atomic_write_json(path, {"metadata": metadata, "result": result})


_UNREADABLE = object()  # a file that is missing, not UTF-8 or not valid JSON


def _parse_json_file(path: str | os.PathLike[str]) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return _UNREADABLE


def _scoring_content(data: Any) -> dict | None:
    """``data`` if it has the shape of a scoring (``metadata`` and ``result`` objects), else None."""
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict) and isinstance(data.get("result"), dict):
        return data
    return None


def read_scoring(path: str | os.PathLike[str]) -> dict | None:
    """A scoring file's content, or None if it is missing, unreadable or not a scoring."""
    return _scoring_content(_parse_json_file(path))


def valid_score(value: Any) -> int | None:
    """An integer 1-5 (integral floats accepted), else None. Booleans are not scores."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 1 <= value <= 5:
        return value
    return None


def scoring_from_dict(data: dict, path: Path, folder: Path | None = None) -> Scoring:
    """Build a :class:`Scoring`, taking names from metadata and falling back to the path."""
    meta, result = data["metadata"], data["result"]
    full: tuple[str, ...] = path.parent.parts
    if folder is not None:
        with contextlib.suppress(ValueError):
            full = (folder.name, *path.parent.relative_to(folder).parts)

    def from_path(index: int) -> str:
        return full[-index] if len(full) >= index else ""

    raw_score = result.get(SCORE_KEY)
    # human files of the original tool carry no status: a valid score means completed
    status = str(result.get("status") or ("completed" if valid_score(raw_score) is not None else "failed"))
    score = valid_score(raw_score) if status == "completed" else None
    model = str(meta.get("model_name") or meta.get("model") or from_path(3))
    experiment, known = str(meta.get("experiment") or from_path(4)), True
    if not meta.get("experiment") and folder is not None:
        known = _has_experiment_level(full[1:], model)
    return Scoring(
        scorer=str(meta.get("scorer") or meta.get("evaluator") or path.stem),
        experiment=experiment,
        experiment_known=known,
        model=model,
        task_type=str(meta.get("task_type") or from_path(2)),
        task_id=str(meta.get("task_id") or from_path(1)),
        score=score,
        status=status,
        annotator=(str(meta["annotator"]) if meta.get("annotator") is not None else None),
        path=path,
        raw=data,
    )


def _has_experiment_level(relative: tuple[str, ...], model: str) -> bool:
    """Whether a scoring's folders below the scanned folder start with an experiment level.

    ``<experiment>/<model>/<task_type>/<task_id>/`` does; newer VMEvalKit writes
    ``<model>/<task_type>/<task_id>/`` (or ``<model>/<generator>/<task_type>/<task_id>/``), where
    the scanned folder's own name is the scorer's, not an experiment.
    """
    if model in relative:
        return relative.index(model) >= 1
    return len(relative) >= 4


def iter_scorings(folder: str | os.PathLike[str], include_unreadable: bool = False) -> Iterator[Scoring]:
    """Every scoring JSON under ``folder`` (sorted by path); aggregates and non-scorings skipped.

    A ``.json`` file that does not parse (e.g. truncated by a tool that does not write atomically)
    is skipped with a warning, or, with ``include_unreadable``, yielded with status ``unreadable``
    so that a caller can count it (each file is read and parsed once either way).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: scoring folder not found")
    for path in sorted(folder.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        data = _parse_json_file(path)
        if data is _UNREADABLE:
            if include_unreadable:
                yield scoring_from_dict({"metadata": {}, "result": {"status": "unreadable"}}, path, folder)
            else:
                log.warning("%s: not valid JSON; skipped", path)
            continue
        content = _scoring_content(data)
        if content is None:
            log.debug("%s: not a scoring file (no metadata/result); skipped", path)
            continue
        yield scoring_from_dict(content, path, folder)
