"""``--score``: the preset's own metrics over the prediction file just written.

mer2023 / mer2024 / dfew / custom → ``emotion classify`` with that preset; emer → ``emotion emer``
text metrics (BLEU, ROUGE-L; Clue/Label Overlap need an LLM judge: run ``mmscore emotion emer``);
mer2025-ov → ``emotion ov`` (exact labels; synonym grouping / the emotion wheel need their files:
run ``mmscore emotion ov``). mer2025-desc has no --score: its metric first turns each description
into labels with an LLM (MERTools ovlabel_extraction), which mmscore does not do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmscore.emotion.infer.presets import InferPreset
from mmscore.errors import ConfigError


def check_scorable(preset: InferPreset) -> None:
    if preset.score is None:
        raise ConfigError(f"--score: preset {preset.name} has no metric mmscore computes from the raw answers "
                          "(MER2025 descriptions are first turned into labels by an LLM); run without --score")


def score_predictions(preset: InferPreset, gold: Path, predictions: Path, gold_key_column: str | None,
                      method: str) -> tuple[dict[str, Any], list[Path]]:
    """Score ``predictions`` against ``gold``; returns (summary, files written beside the predictions)."""
    from mmscore.emotion.report import write_classification_outputs, write_task_outputs

    check_scorable(preset)
    target = predictions.with_name(f"{predictions.stem}.scores.json")
    if preset.score.startswith("classify:"):
        from mmscore.emotion.classify import evaluate_classification

        result = evaluate_classification(gold, predictions, preset=preset.score.split(":", 1)[1],
                                         gold_key_column=gold_key_column)
        summary = {**result.summary, "method": method}
        return summary, write_classification_outputs(summary, result.samples, target, method, plot=False)
    if preset.score == "emer":
        from mmscore.emotion.emer import evaluate_emer

        summary, table = evaluate_emer(gold, predictions, judge=None, gold_key_column=gold_key_column)
    else:
        from mmscore.emotion.openvocab import evaluate_openvocab

        summary, table = evaluate_openvocab(gold, predictions, gold_key_column=gold_key_column)
    summary = {**summary, "method": method}
    return summary, write_task_outputs(summary, table, target, method)
