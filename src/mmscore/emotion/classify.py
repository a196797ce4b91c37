"""Discrete emotion classification: gold labels + free-text answers → benchmark numbers.

``score_answers`` works on Python lists; ``evaluate_classification`` reads the gold and
prediction files (``mmscore.emotion.data``) and adds the MER2023 valence score when asked.

Gold labels go through the same normalisation map as answers (the seed's own example writes
``happiness``/``sadness``), must land in the preset's label set (else ``InputError`` naming the
row), and for DFEW may be the official codes 1..7. Missing predictions are counted as wrong and
listed; out-of-set, ambiguous and empty answers are counted, listed by frequency, and wrong.

With ``compat="emotion-llama"`` both sides follow Emotion-LLaMA ``eval_emotion.py`` exactly:
last space-separated token, no normalisation, out-of-set answers replaced by ``'neutral'``, and
the class list left to scikit-learn (union of gold and predicted labels), so its published
numbers (MER2023 F1 0.9036) can be re-derived from the same answers.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from mmscore.emotion.data import (
    GOLD_LABEL_COLUMNS,
    PRED_LABEL_COLUMNS,
    VALENCE_COLUMNS,
    KeyedTable,
    align,
    load_keyed,
)
from mmscore.emotion.labels import (
    MATCH_MODES,
    MER_LABELS,
    LabelMatch,
    canonical,
    emotion_llama_label,
    emotion_llama_token,
    normalize_answer,
    normalize_label_text,
)
from mmscore.emotion.presets import Preset, get_preset
from mmscore.errors import ConfigError, InputError
from mmscore.metrics.classification import classification_scores, mean_squared_error, mer2023_combined
from mmscore.provenance import run_info, signature_string

COMPAT_MODES = ("emotion-llama",)
VALENCE_PLACEHOLDER = -10.0  # MER test3 / MER2024 files carry -10 where no valence exists
_EXAMPLES = 20


@dataclass
class ClassificationResult:
    """``summary`` is the JSON document; ``samples`` one row per gold sample."""

    summary: dict[str, Any]
    samples: pd.DataFrame


def _read_answer(answer: Any, labels: tuple[str, ...], match: str, compat: str | None,
                 numeric: dict[str, str] | None) -> LabelMatch:
    if compat == "emotion-llama":
        return emotion_llama_label(answer, MER_LABELS)
    return normalize_answer(answer, labels, match=match, numeric=numeric)


def gold_labels_for(
    values: Sequence[Any], preset: Preset, compat: str | None, where: Sequence[str] | None = None,
    source: str = "gold",
) -> tuple[list[str], tuple[str, ...] | None]:
    """Normalised gold labels and the label set to score against (None: sklearn's union)."""
    if compat == "emotion-llama":
        return [emotion_llama_token(v) for v in values], None
    if preset.labels is None:
        gold = []
        for i, value in enumerate(values):
            label = canonical(normalize_label_text(value))
            if not label:
                row = where[i] if where else f"position {i}"
                raise InputError(f"{source}, {row}: empty gold label")
            gold.append(label)
        return gold, tuple(sorted(set(gold)))
    gold = []
    for i, value in enumerate(values):
        read = normalize_answer(value, preset.labels, match="exact", numeric=preset.numeric)
        if read.status != "ok":
            row = where[i] if where else f"position {i}"
            raise InputError(
                f"{source}, {row}: gold label {value!r} is not in the {preset.name} label set "
                f"({', '.join(preset.labels)}); fix the file or use --preset custom"
            )
        gold.append(read.label)
    return gold, preset.labels


def score_answers(
    gold: Sequence[Any],
    answers: Sequence[Any],
    *,
    preset: str | None = None,
    match: str = "auto",
    compat: str | None = None,
    keys: Sequence[str] | None = None,
    gold_where: Sequence[str] | None = None,
    source: str = "gold",
    labels: Sequence[str] | None = None,
) -> ClassificationResult:
    """Score free-text ``answers`` against ``gold`` labels; ``None`` answers are *missing*.

    >>> r = score_answers(["happy", "sad"], ["Happiness.", None], preset="mer2023")
    >>> r.summary["accuracy"], r.summary["missing"]["count"]
    (0.5, 1)
    """
    if compat is not None and compat not in COMPAT_MODES:
        raise ConfigError(f"unknown --compat {compat!r}; choose one of {', '.join(COMPAT_MODES)}")
    if match not in MATCH_MODES:
        raise ConfigError(f"unknown --match {match!r}; choose one of {', '.join(MATCH_MODES)}")
    if len(gold) != len(answers):
        raise ConfigError(f"{len(gold)} gold labels but {len(answers)} answers")
    spec = with_labels(get_preset(preset), labels)
    if compat == "emotion-llama" and spec.labels not in (None, MER_LABELS):
        raise ConfigError(f"--compat emotion-llama uses the six MER labels; it cannot score preset {spec.name!r}")
    keys = list(keys) if keys is not None else [str(i) for i in range(len(gold))]
    gold_labels, label_set = gold_labels_for(gold, spec, compat, gold_where, source)
    score_labels = label_set if label_set is not None else MER_LABELS
    rows, predicted = [], []
    for key, g, answer in zip(keys, gold_labels, answers, strict=False):
        if answer is None:
            read = LabelMatch("", None, "missing")
        else:
            read = _read_answer(answer, score_labels, match, compat, spec.numeric)
        predicted.append(read.label)
        rows.append({"video_name": key, "gold": g, "answer": read.raw, "prediction": read.label,
                     "status": read.status, "rule": read.rule, "correct": read.label == g})
    scores = classification_scores(gold_labels, predicted, label_set)
    samples = pd.DataFrame(rows, columns=["video_name", "gold", "answer", "prediction", "status", "rule", "correct"])
    summary = _summary(spec, compat, match, scores, samples)
    return ClassificationResult(summary, samples)


def with_labels(spec: Preset, labels: Sequence[str] | None) -> Preset:
    """``spec`` scored against an explicit label set (normalised through the synonym map)."""
    if not labels:
        return spec
    words = (normalize_label_text(label) for label in labels)
    cleaned = tuple(dict.fromkeys(canonical(word) for word in words if word))
    if not cleaned:
        raise ConfigError("--labels is empty")
    return replace(spec, labels=cleaned)


def _summary(spec: Preset, compat: str | None, match: str, scores: dict[str, Any],
             samples: pd.DataFrame) -> dict[str, Any]:
    status = samples["status"]
    n = len(samples)
    bad = samples[status.isin(["out_of_set", "ambiguous", "empty"])]
    examples = Counter(str(a) for a in bad["answer"]).most_common(_EXAMPLES)
    missing = samples.loc[status == "missing", "video_name"].tolist()
    settings = {
        "metric": "emotion-classify",
        "preset": spec.name,
        "labels": "+".join(scores["confusion_matrix"]["labels"]),
        "match": "emotion-llama" if compat else match,
        "oos": "neutral" if compat else "wrong",
    }
    summary: dict[str, Any] = {
        "task": "classify",
        "preset": spec.name,
        "compat": compat,
        "match": None if compat else match,
        "labels": scores["confusion_matrix"]["labels"],
        **{k: scores[k] for k in ("n", "accuracy", "weighted_f1", "macro_f1", "uar", "war",
                                   "weighted_precision", "weighted_recall", "macro_precision", "macro_recall",
                                   "per_class", "evaluated_classes", "classes_without_gold")},
        "out_of_set": {
            "count": int(len(bad)),
            "rate": len(bad) / n if n else math.nan,
            "by_status": {s: int((status == s).sum()) for s in ("out_of_set", "ambiguous", "empty")},
            "scored_as": "neutral" if compat else "wrong",
            "most_common": [{"answer": a, "count": c} for a, c in examples],
        },
        "missing": {"count": len(missing), "names": missing[:50]},
        "confusion_matrix": scores["confusion_matrix"],
        "headline": {key: scores[key] for key in spec.headline},
        "signature": signature_string(settings),
    }
    summary["run"] = run_info(settings)
    return summary


def _valence_values(table: KeyedTable, name: str, order: Sequence[str]) -> list[float | None]:
    column = table.extra.get(name)
    if column is None:
        return []
    by_key = dict(zip(table.keys, zip(column, table.where, strict=False), strict=False))
    out: list[float | None] = []
    for key in order:
        if key not in by_key:
            out.append(None)
            continue
        value, where = by_key[key]
        if value is None:
            out.append(None)
            continue
        try:
            out.append(float(value))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{table.path}, {where} ({key}): valence {value!r} is not a number") from exc
    return out


def evaluate_classification(
    gold_path: str | os.PathLike[str],
    pred_path: str | os.PathLike[str],
    *,
    preset: str | None = None,
    match: str = "auto",
    compat: str | None = None,
    gold_key_column: str | None = None,
    gold_label_column: str | None = None,
    pred_key_column: str | None = None,
    pred_label_column: str | None = None,
    valence: bool = True,
    gold_valence_column: str | None = None,
    pred_valence_column: str | None = None,
    labels: Sequence[str] | None = None,
) -> ClassificationResult:
    """Score a prediction file against a gold file (see module docstring).

    ``labels`` replaces the preset's label set (e.g. a custom dataset whose gold file does not
    use every class). With ``preset='mer2023'`` and a valence column in both files, adds ``valence_mse`` and
    ``combined = WAF − 0.25 × MSE`` (MER-MULTI/NOISE); gold files holding the ``-10``
    placeholder (MER-SEMI) get WAF only, with a note.
    """
    spec = get_preset(preset)
    want_valence = valence and spec.valence
    gold = load_keyed(gold_path, role="gold", value_candidates=GOLD_LABEL_COLUMNS, key_column=gold_key_column,
                      value_column=gold_label_column, require_value=True,
                      extra_columns={"valence": (gold_valence_column, VALENCE_COLUMNS)} if want_valence else None)
    pred = load_keyed(pred_path, role="predictions", value_candidates=PRED_LABEL_COLUMNS,
                      key_column=pred_key_column, value_column=pred_label_column, require_value=False,
                      extra_columns={"valence": (pred_valence_column, VALENCE_COLUMNS)} if want_valence else None)
    aligned = align(gold, pred)
    result = score_answers(gold.values, aligned.answers(blank=""), preset=spec.name, match=match, compat=compat,
                           keys=gold.keys, gold_where=gold.where, source=str(gold.path), labels=labels)
    summary = result.summary
    summary["gold_file"] = str(gold.path)
    summary["pred_file"] = str(pred.path)
    summary["columns"] = {"gold_key": gold.key_column, "gold_label": gold.value_column,
                          "pred_key": pred.key_column, "pred_label": pred.value_column}
    summary["extra_predictions"] = {"count": len(aligned.extra), "names": aligned.extra[:50]}
    if want_valence and "valence" in gold.extra and "valence" in pred.extra:
        _add_valence(summary, result.samples, gold, pred)
    return result


def _add_valence(summary: dict[str, Any], samples: pd.DataFrame, gold: KeyedTable, pred: KeyedTable) -> None:
    gold_v = _valence_values(gold, "valence", gold.keys)
    if any(v is None for v in gold_v):
        raise InputError(f"{gold.path}: the valence column has empty cells; fill them or pass --no-valence")
    if any(v == VALENCE_PLACEHOLDER for v in gold_v):
        summary["valence_note"] = ("gold valence holds the -10 placeholder (no valence annotation, e.g. "
                                   "MER-SEMI): scored by weighted F1 only")
        return
    pred_v = _valence_values(pred, "valence", gold.keys)
    absent = [key for key, v in zip(gold.keys, pred_v, strict=False) if v is None]
    if absent:
        raise InputError(
            f"{pred.path}: {len(absent)} sample(s) have no predicted valence ({', '.join(absent[:10])}"
            f"{' ...' if len(absent) > 10 else ''}); MER2023's combined score needs one per sample "
            "(or pass --no-valence for the discrete score only)"
        )
    mse = mean_squared_error(gold_v, pred_v)
    samples["gold_valence"] = gold_v
    samples["pred_valence"] = pred_v
    summary["valence_mse"] = mse
    summary["combined"] = mer2023_combined(summary["weighted_f1"], mse)
    summary["headline"]["combined"] = summary["combined"]
