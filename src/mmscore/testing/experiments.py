"""Synthetic VMEvalKit experiments on disk (videos, frames, prompts, metadata) for tests and demos.

``make_experiment`` writes the same tree a video-generation run leaves behind, in either layout
read by :mod:`mmscore.io.experiment`, so judges, the human UI and the analysis can be tested
without any real model output. Content is deterministic: each model gets its own square colour
and every task's expected final frame is a square at a known position.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from mmscore.testing.media import COLORS, make_corrupt_file, make_image, make_video

_COLOR_NAMES = list(COLORS)
_DIRECTIONS = ("right", "left", "up", "down")
_BASE_TIME = datetime.datetime(2025, 10, 14, 12, 0, 0)


@dataclass(frozen=True)
class SyntheticTask:
    model: str
    task_type: str
    task_id: str
    task_dir: Path
    run_dir: Path
    run_id: str | None
    video_path: Path
    has_final_frame: bool
    prompt: str


@dataclass(frozen=True)
class SyntheticExperiment:
    data_dir: Path
    experiment: str
    root: Path
    tasks: list[SyntheticTask]

    @property
    def keys(self) -> list[tuple[str, str, str, str]]:
        return sorted((self.experiment, t.model, t.task_type, t.task_id) for t in self.tasks)


def _run_id(model: str, task_id: str, run_index: int) -> str:
    """Run 0 is the newest; older runs are one minute apart before it."""
    stamp = _BASE_TIME - datetime.timedelta(minutes=run_index)
    return f"{model}_{task_id}_{stamp:%Y%m%d_%H%M%S}"


def _write_question(
    question_dir: Path, *, task_type: str, task_id: str, prompt: str, color: str, with_final: bool, index: int
) -> None:
    domain = task_type.removesuffix("_task")
    make_image(question_dir / "first_frame.png", color=color, position=(4, 4))
    if with_final:
        make_image(question_dir / "final_frame.png", color=color, position=(40, 24 - (index % 3) * 8))
    (question_dir / "prompt.txt").write_text(prompt + "\n", encoding="utf-8")
    metadata = {
        "id": task_id,
        "prompt": prompt,
        "domain": domain,
        "task_category": domain.title(),
        "difficulty": ("easy", "medium", "hard")[index % 3],
        "first_image_path": f"data/questions/{task_type}/{task_id}/first_frame.png",
        "final_image_path": f"data/questions/{task_type}/{task_id}/final_frame.png" if with_final else None,
        "created_at": "2025-10-14T12:00:00",
    }
    (question_dir / "question_metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")


def make_experiment(
    data_dir: str | os.PathLike[str],
    experiment: str = "pilot_experiment",
    models: Sequence[str] = ("model-a", "model-b"),
    task_types: Sequence[str] = ("chess_task", "maze_task"),
    n_tasks: int = 2,
    layout: str = "runs",
    with_final_frame: bool = True,
    without_final_frame: Collection[str] = (),
    n_runs: int = 1,
    corrupt_videos: Collection[str] = (),
    n_frames: int = 8,
    fps: int = 8,
) -> SyntheticExperiment:
    """Write ``<data_dir>/outputs/<experiment>/<model>/<task_type>/<task_id>/...`` and return it.

    ``layout='runs'`` adds a ``<run_id>`` level (``n_runs`` runs per task, the newest listed in
    the result; older runs hold a different video); ``layout='flat'`` writes ``video/video.mp4``
    directly in the task folder. Task ids listed in ``without_final_frame`` (or all tasks when
    ``with_final_frame`` is False) get no ``final_frame.png``; ids in ``corrupt_videos`` get an
    undecodable video file.
    """
    if layout not in ("runs", "flat"):
        raise ValueError(f"layout must be 'runs' or 'flat'; got {layout!r}")
    data_dir = Path(data_dir)
    root = data_dir / "outputs" / experiment
    tasks: list[SyntheticTask] = []
    for m_index, model in enumerate(models):
        color = _COLOR_NAMES[m_index % len(_COLOR_NAMES)]
        for task_type in task_types:
            domain = task_type.removesuffix("_task")
            for index in range(n_tasks):
                task_id = f"{domain}_{index:04d}"
                task_dir = root / model / task_type / task_id
                prompt = f"Solve {domain} puzzle {task_id}: move the square to its goal."
                with_final = with_final_frame and task_id not in without_final_frame
                runs = [None] if layout == "flat" else [_run_id(model, task_id, r) for r in range(n_runs)]
                newest: SyntheticTask | None = None
                for r_index, run_id in enumerate(runs):
                    run_dir = task_dir if run_id is None else task_dir / run_id
                    name = "video.mp4" if run_id is None else f"{model}_{run_id[-15:]}.mp4"
                    video = run_dir / "video" / name
                    if task_id in corrupt_videos:
                        make_corrupt_file(video, seed=index)
                    else:
                        make_video(
                            video,
                            n_frames=n_frames,
                            fps=fps,
                            color=color,
                            direction=_DIRECTIONS[(index + r_index) % 4],
                        )
                    _write_question(
                        run_dir / "question",
                        task_type=task_type,
                        task_id=task_id,
                        prompt=prompt,
                        color=color,
                        with_final=with_final,
                        index=index,
                    )
                    if newest is None:
                        newest = SyntheticTask(
                            model, task_type, task_id, task_dir, run_dir, run_id, video, with_final, prompt
                        )
                assert newest is not None
                tasks.append(newest)
    return SyntheticExperiment(data_dir=data_dir, experiment=experiment, root=root, tasks=tasks)
