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

from importlib import import_module
from typing import Any

# names -> defining module, imported on first use: ``mmscore --help`` reads the scorer registry
# (mmscore.vmeval.registry) without loading the runner, the prompts or the judge client
_EXPORTS = {
    "PromptTemplate": "prompts", "load_prompt": "prompts",
    "RunSummary": "runner", "TaskOutcome": "runner", "rebuild_aggregate": "runner", "run_scoring": "runner",
    "score_experiment": "runner",
    "GPT4OScorer": "scorers", "InternVLScorer": "scorers", "OpenAICompatibleScorer": "scorers", "Scorer": "scorers",
    "ScoreResult": "scorers", "SkipTask": "scorers", "VLMScorer": "scorers", "available_scorers": "scorers",
    "make_vlm_scorer": "scorers", "register_scorer": "scorers", "resolve_scorer_class": "scorers",
    "Verdict": "verdict", "parse_verdict": "verdict",
    "VOTE_METHODS": "voting", "Vote": "voting", "combine": "voting",
}

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


def __getattr__(name: str) -> Any:
    if name == "HumanScorer":
        from mmscore.human import HumanScorer

        return HumanScorer
    if name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mmscore.vmeval' has no attribute {name!r}")
