"""EMER (explainable multimodal emotion reasoning) evaluation from files.

Gold: one reference description per sample (EMER ``gt-eng.csv``/``gt-chi.csv`` columns
``names, reasons``; ``final-EMER-reason.csv`` columns ``name, english``; AffectGPT baselines
``names, chi_reasons``). Predictions: the model's description per sample, keyed the same way.

Scores: Clue Overlap and Label Overlap from an LLM judge (``mmscore.emotion.llm``; mean over
samples as AffectGPT's ``np.mean``), BLEU (sacrebleu) and ROUGE-L (rouge-score) against the
references (``mmscore.metrics.text``). A sample without a prediction is listed as missing and
scores 0 on every metric (an empty description recovers nothing), so leaving samples out
cannot raise the mean. A sample the judge could not score keeps null judge scores and an
``error``; its mean is taken over the scored samples and ``n_failed`` is reported (``strict``
raises instead).
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from mmscore.emotion.data import REASON_COLUMNS, align, load_keyed
from mmscore.emotion.llm import score_emer_pairs
from mmscore.errors import ConfigError, JudgeError
from mmscore.metrics.text import bleu, rouge_l
from mmscore.models.judge import JudgeConfig
from mmscore.provenance import run_info, signature_string

GOLD_REASON_COLUMNS = ("reason", "reasons", "english", "eng_reasons", "chi_reasons", "chinese", "description")


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else math.nan


def evaluate_emer(
    gold_path: str | os.PathLike[str],
    pred_path: str | os.PathLike[str],
    *,
    judge: JudgeConfig | None = None,
    tasks: tuple[str, ...] = ("clue", "label"),
    min_score: int = 1,
    text_metrics: bool = True,
    lang: str = "auto",
    strict: bool = False,
    gold_key_column: str | None = None,
    gold_text_column: str | None = None,
    pred_key_column: str | None = None,
    pred_text_column: str | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Judge and/or text-overlap scores; returns (summary JSON, per-sample table)."""
    if judge is None and not text_metrics:
        raise ConfigError("nothing to compute: give a judge or keep BLEU/ROUGE on")
    gold = load_keyed(gold_path, role="gold", value_candidates=GOLD_REASON_COLUMNS, key_column=gold_key_column,
                      value_column=gold_text_column, require_value=True)
    pred = load_keyed(pred_path, role="predictions", value_candidates=REASON_COLUMNS, key_column=pred_key_column,
                      value_column=pred_text_column, require_value=False)
    aligned = align(gold, pred)
    references = [str(v) for v in gold.values]
    predictions = ["" if v is None else str(v) for v in aligned.pred]
    missing = set(aligned.missing)
    table = pd.DataFrame({"name": gold.keys, "reference": references, "prediction": predictions,
                          "status": ["missing" if k in missing else "ok" for k in gold.keys]})
    summary: dict[str, Any] = {"task": "emer", "n": len(gold.keys)}
    settings: dict[str, Any] = {"metric": "emer"}
    if judge is not None:
        _add_judge_scores(summary, table, references, predictions, missing, gold.keys, judge, tasks, min_score,
                          strict)
        settings.update({"judge": judge.model, "scale": f"{min_score}-10", "tasks": "+".join(tasks)})
    if text_metrics:
        b = bleu(predictions, references, lang=lang)
        r = rouge_l(predictions, references, lang=lang)
        table["bleu"] = b["sentence_bleu"]
        table["rouge_l"] = [s["f"] for s in r["per_sample"]]
        summary.update({"bleu": b["bleu"], "rouge_l": r["rouge_l"], "rouge_l_precision": r["rouge_l_precision"],
                        "rouge_l_recall": r["rouge_l_recall"], "bleu_signature": b["signature"], "lang": b["lang"]})
        settings["bleu"] = b["signature"].replace("|", ",")
    summary.update({
        "missing": {"count": len(aligned.missing), "names": aligned.missing[:50]},
        "extra_predictions": {"count": len(aligned.extra), "names": aligned.extra[:50]},
        "gold_file": str(gold.path),
        "pred_file": str(pred.path),
        "headline": {k: summary[k] for k in ("clue_overlap", "label_overlap", "bleu", "rouge_l") if k in summary},
        "signature": signature_string(settings),
        "run": run_info(settings),
    })
    return summary, table


def _add_judge_scores(summary: dict[str, Any], table: pd.DataFrame, references: list[str], predictions: list[str],
                      missing: set[str], keys: list[str], judge: JudgeConfig, tasks: tuple[str, ...],
                      min_score: int, strict: bool) -> None:
    todo = [i for i, key in enumerate(keys) if key not in missing]
    scores, usage = score_emer_pairs([(references[i], predictions[i]) for i in todo], judge, min_score=min_score,
                                     tasks=tasks)
    by_row = dict(zip(todo, scores, strict=True))
    failed = [keys[i] for i, s in by_row.items() if s.error]
    if failed and strict:
        first = by_row[keys.index(failed[0])]
        raise JudgeError(f"{len(failed)} sample(s) could not be judged (strict mode); first {failed[0]!r}: "
                         f"{first.error}")
    for task, column in (("clue", "clue_overlap"), ("label", "label_overlap")):
        if task not in tasks:
            continue
        values = [0.0 if key in missing else getattr(by_row[i], column) for i, key in enumerate(keys)]
        table[column] = values
        summary[column] = _mean(values)
    table["reference_emotions"] = [None if i not in by_row else by_row[i].reference_emotions for i in range(len(keys))]
    table["predicted_emotions"] = [None if i not in by_row else by_row[i].predicted_emotions for i in range(len(keys))]
    table["judge_reason"] = [None if i not in by_row else "; ".join(
        r for r in (by_row[i].clue_reason, by_row[i].label_reason) if r) or None for i in range(len(keys))]
    table["error"] = [None if i not in by_row else by_row[i].error for i in range(len(keys))]
    summary.update({"n_failed": len(failed), "failed": failed[:50], "judge": judge.model,
                    "scale": f"{min_score}-10", "judge_usage": usage})
