"""VLM judges for VMEvalKit experiments: GPT-4o, InternVL (lmdeploy), any OpenAI-compatible server.

    from mmscore.vmeval import make_vlm_scorer, run_scoring

    scorer = make_vlm_scorer("gpt4o", concurrency=8, max_cost=5.0,
                             cache="data/scorings/gpt4o-eval/judge-cache.sqlite")
    summary = run_scoring(scorer, "pilot_experiment", data_dir="data")
    print(summary.completed, summary.failed, summary.usage["cost_usd"])

The human scorer of the same seed is here too (imported lazily: it needs Gradio), so
``from vmevalkit.eval import HumanScorer`` becomes ``from mmscore.vmeval import HumanScorer``.

Custom scorers: subclass :class:`Scorer` or :class:`VLMScorer` and decorate with
:func:`register_scorer` (see :mod:`mmscore.vmeval.scorers`).
"""

from mmscore.vmeval.prompts import PromptTemplate, load_prompt
from mmscore.vmeval.runner import RunSummary, TaskOutcome, rebuild_aggregate, run_scoring, score_experiment
from mmscore.vmeval.scorers import (
    GPT4OScorer,
    InternVLScorer,
    OpenAICompatibleScorer,
    Scorer,
    ScoreResult,
    SkipTask,
    VLMScorer,
    available_scorers,
    make_vlm_scorer,
    register_scorer,
    resolve_scorer_class,
)
from mmscore.vmeval.verdict import Verdict, parse_verdict
from mmscore.vmeval.voting import VOTE_METHODS, Vote, combine

__all__ = [
    "GPT4OScorer",
    "HumanScorer",
    "InternVLScorer",
    "OpenAICompatibleScorer",
    "PromptTemplate",
    "RunSummary",
    "ScoreResult",
    "Scorer",
    "SkipTask",
    "TaskOutcome",
    "VLMScorer",
    "VOTE_METHODS",
    "Verdict",
    "Vote",
    "available_scorers",
    "combine",
    "load_prompt",
    "make_vlm_scorer",
    "parse_verdict",
    "rebuild_aggregate",
    "register_scorer",
    "resolve_scorer_class",
    "run_scoring",
    "score_experiment",
]


def __getattr__(name: str):
    if name == "HumanScorer":
        from mmscore.human import HumanScorer

        return HumanScorer
    raise AttributeError(f"module 'mmscore.vmeval' has no attribute {name!r}")
