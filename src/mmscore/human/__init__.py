"""Human scoring web UI for generated videos (VMEvalKit's Human Scorer, seed ``001``).

``HumanScorer(experiment_name=...).launch_interface(share=False, port=7860)`` or
``mmscore score human --experiment NAME``. Modules: ``annotators`` (name sanitising),
``store`` (scoring files), ``queue`` (what comes next), ``media`` (browser-playable videos),
``rubric``, ``keys`` (keyboard shortcuts), ``app`` (the Gradio page), ``scorer`` (the API).
Gradio is imported only when the page is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HumanScorer"]


def __getattr__(name: str) -> Any:
    if name == "HumanScorer":
        from mmscore.human.scorer import HumanScorer

        return HumanScorer
    raise AttributeError(f"module 'mmscore.human' has no attribute {name!r}")
