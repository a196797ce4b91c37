"""``HumanScorer``: the seed's Python API for the human scoring web UI.

    from mmscore.human import HumanScorer

    scorer = HumanScorer(experiment_name="pilot_experiment")
    scorer.launch_interface(share=False, port=7860)

Differences from the original VMEvalKit tool (``vmevalkit/eval/human_eval.py``), on purpose:

* the annotator name belongs to the browser (kept in its localStorage, or ``?annotator=`` in the
  URL), not to the server object shared by every tab, so two people never write under one name;
* a second annotator's scoring goes to ``human-eval@<slug>.json`` instead of overwriting
  ``human-eval.json``;
* the queue is recomputed from the files on disk, so a reload or restart continues where it was;
* the server binds 127.0.0.1 unless told otherwise and serves media only from the experiment.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from mmscore.errors import ConfigError, InputError
from mmscore.human.annotators import SCORER, clean_annotator_name
from mmscore.human.queue import ScoringQueue
from mmscore.io.experiment import discover_tasks, experiment_root, resolve_data_dir, resolve_output_dir

log = logging.getLogger(__name__)


class HumanScorer:
    """Score every task of an experiment by hand in a Gradio page (see the module docstring)."""

    def __init__(
        self,
        experiment_name: str = "pilot_experiment",
        data_dir: str | os.PathLike[str] | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        annotator: str | None = None,
        include_scored_by_others: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        blind: bool = True,
    ) -> None:
        self.experiment_name = experiment_name
        self.data_dir = resolve_data_dir(data_dir)
        self.output_dir = resolve_output_dir(output_dir, SCORER, data_dir=data_dir).absolute()
        self.experiment_dir = experiment_root(experiment_name, self.data_dir).resolve()
        if self.output_dir.resolve().is_relative_to(self.experiment_dir):
            raise ConfigError(
                f"the scoring folder {self.output_dir} is inside the experiment folder "
                f"{self.experiment_dir}, whose files the page serves; choose another --output-dir"
            )
        self.annotator = clean_annotator_name(annotator) if annotator else None
        self.blind = blind
        tasks = discover_tasks(experiment_name, self.data_dir)
        if not tasks:
            raise InputError(f"experiment {experiment_name!r} in {self.experiment_dir} holds no tasks")
        self.queue = ScoringQueue(tasks, self.output_dir, include_scored_by_others=include_scored_by_others,
                                  shuffle=shuffle, seed=seed, blind=blind)
        self.media_cache = Path(tempfile.mkdtemp(prefix="mmscore-human-media-"))
        self._blocks: Any = None
        log.info("%d tasks in %s; scorings go to %s", len(tasks), self.experiment_dir, self.output_dir)

    def build_interface(self) -> Any:
        """The Gradio Blocks page (built once)."""
        if self._blocks is None:
            from mmscore.human.app import build_blocks

            self._blocks = build_blocks(self)
        return self._blocks

    def launch_kwargs(self) -> dict[str, Any]:
        """Everything ``Blocks.launch`` needs besides host/port/share (theme, head, allowed paths)."""
        from mmscore.human.app import CSS, launch_head

        return {
            "allowed_paths": [str(self.experiment_dir)],
            "head": launch_head(),
            "css": CSS,
            "footer_links": [],
            "show_error": True,
        }

    def launch_interface(self, share: bool = False, port: int = 7860, host: str = "127.0.0.1",
                         prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
        """Serve the page on ``host:port`` (``share=True`` asks Gradio for a public link)."""
        blocks = self.build_interface()
        blocks.launch(server_name=host, server_port=port, share=share, inbrowser=False,
                      prevent_thread_lock=prevent_thread_lock, quiet=quiet, **self.launch_kwargs())
        return blocks

    def close(self) -> None:
        if self._blocks is not None:
            self._blocks.close()
        import shutil

        shutil.rmtree(self.media_cache, ignore_errors=True)
