"""Classification metrics for emotion recognition: pure functions on label sequences.

Everything is derived from one confusion matrix, so the numbers are mutually consistent and
match scikit-learn (``tests/metrics/test_classification.py`` checks each against sklearn).

Definitions (``K`` classes of the label set, ``n`` samples, ``C[i, j]`` = gold ``i`` predicted ``j``):

- predictions outside the label set (out-of-set answers, missing predictions) land in an extra
  column ``other``: wrong for accuracy and recall, a false positive for no class;
- accuracy = WAR (weighted average recall) = ``trace(C) / n``;
- per class: precision ``C[k,k] / sum_i C[i,k]``, recall ``C[k,k] / (sum_j C[k,j] + other[k])``,
  F1 ``2·tp / (2·tp + fp + fn)``; a 0/0 is ``zero_division`` (0.0 as sklearn's ``zero_division=0``);
- weighted F1 (WAF, the MER challenges' metric) = support-weighted mean of per-class F1;
- *evaluated classes* = classes of the label set that occur in the gold labels or in the
  predictions; macro precision/recall/F1 average over them (sklearn's default when it is not
  given ``labels``), so a class nobody used does not add an arbitrary 0;
- UAR (unweighted average recall, DFEW) = mean over confusion-matrix rows **with at least one
  gold sample** of ``diag / rowsum`` = sklearn ``balanced_accuracy_score``. DFEW's own code
  would give NaN for an empty row; classes without gold samples are listed in
  ``classes_without_gold`` instead.

Example:
    >>> s = classification_scores(["a", "a", "b"], ["a", "b", "b"])
    >>> round(s["accuracy"], 4), round(s["uar"], 4)
    (0.6667, 0.75)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmscore.errors import MetricInputError, MetricOptionError


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts over ``labels``; ``other[k]`` = gold ``k`` predicted outside the label set."""

    labels: tuple[str, ...]
    matrix: np.ndarray  # [K, K] int
    other: np.ndarray  # [K] int

    @property
    def support(self) -> np.ndarray:
        return self.matrix.sum(axis=1) + self.other

    @property
    def predicted(self) -> np.ndarray:
        return self.matrix.sum(axis=0)

    @property
    def n(self) -> int:
        return int(self.matrix.sum() + self.other.sum())


def confusion_matrix(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any] | None = None) -> ConfusionMatrix:
    """Confusion matrix with an ``other`` column; gold labels must belong to ``labels``.

    ``labels=None`` uses the sorted union of gold and predicted labels (sklearn's default).
    """
    gold = list(gold)
    pred = list(pred)
    if len(gold) != len(pred):
        raise MetricInputError(
            "gold and pred", "one prediction per gold label", f"gold has {len(gold)} labels but pred has {len(pred)}"
        )
    if labels is None:
        labels = sorted({*gold, *(p for p in pred if p is not None)}, key=str)
    labels = tuple(labels)
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise MetricOptionError("labels", "distinct labels", list(labels))
    k = len(labels)
    matrix = np.zeros((k, k), dtype=np.int64)
    other = np.zeros(k, dtype=np.int64)
    for position, (g, p) in enumerate(zip(gold, pred, strict=False)):
        if g not in index:
            raise MetricInputError(
                f"gold label at position {position}", f"one of the label set {list(labels)}", repr(g)
            )
        j = index.get(p)
        if j is None:
            other[index[g]] += 1
        else:
            matrix[index[g], j] += 1
    return ConfusionMatrix(labels, matrix, other)


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def scores_from_confusion(cm: ConfusionMatrix, zero_division: float = 0.0) -> dict[str, Any]:
    """All headline and per-class scores from a confusion matrix (see module docstring)."""
    tp = np.diag(cm.matrix).astype(np.float64)
    support = cm.support.astype(np.float64)
    predicted = cm.predicted.astype(np.float64)
    n = cm.n
    precision = _ratio(tp, predicted, zero_division)
    recall = _ratio(tp, support, zero_division)
    f1 = _ratio(2 * tp, predicted + support, zero_division)  # 2tp/(2tp+fp+fn)
    evaluated = (support > 0) | (predicted > 0)
    has_gold = support > 0
    accuracy = float(tp.sum() / n) if n else float("nan")

    def weighted(values: np.ndarray) -> float:
        return float((values * support).sum() / support.sum()) if support.sum() else float("nan")

    def macro(values: np.ndarray, mask: np.ndarray) -> float:
        return float(values[mask].mean()) if mask.any() else float("nan")

    per_class = {
        str(label): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i, label in enumerate(cm.labels)
    }
    return {
        "n": n,
        "accuracy": accuracy,
        "war": accuracy,
        "uar": macro(recall, has_gold),
        "weighted_f1": weighted(f1),
        "weighted_precision": weighted(precision),
        "weighted_recall": weighted(recall),
        "macro_f1": macro(f1, evaluated),
        "macro_precision": macro(precision, evaluated),
        "macro_recall": macro(recall, evaluated),
        "per_class": per_class,
        "evaluated_classes": [str(label) for label, keep in zip(cm.labels, evaluated, strict=False) if keep],
        "classes_without_gold": [str(label) for label, keep in zip(cm.labels, has_gold, strict=False) if not keep],
        "predicted_other": int(cm.other.sum()),
    }


def classification_scores(
    gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any] | None = None, zero_division: float = 0.0
) -> dict[str, Any]:
    """Accuracy, WAR, UAR, weighted/macro F1/precision/recall and per-class scores."""
    cm = confusion_matrix(gold, pred, labels)
    scores = scores_from_confusion(cm, zero_division)
    scores["confusion_matrix"] = {
        "labels": [str(label) for label in cm.labels],
        "matrix": cm.matrix.tolist(),
        "other": cm.other.tolist(),
    }
    return scores


def accuracy(gold: Sequence[Any], pred: Sequence[Any]) -> float:
    """Fraction of exact matches (= WAR)."""
    return classification_scores(gold, pred)["accuracy"]


def weighted_f1(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any] | None = None) -> float:
    """Support-weighted F1 (MER's WAF; sklearn ``f1_score(average='weighted')``).

    Example: F1 of 'a' is 2/3 (support 2), of 'b' 2/3 (support 1):

    >>> round(weighted_f1(["a", "a", "b"], ["a", "b", "b"]), 4)
    0.6667
    """
    return classification_scores(gold, pred, labels)["weighted_f1"]


def macro_f1(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any] | None = None) -> float:
    """Unweighted mean F1 over the evaluated classes."""
    return classification_scores(gold, pred, labels)["macro_f1"]


def uar(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any] | None = None) -> float:
    """Unweighted average recall over classes with gold samples (= balanced accuracy).

    Example: recall of 'a' is 1/2, of 'b' 1, so UAR = 3/4:

    >>> uar(["a", "a", "b"], ["a", "b", "b"])
    0.75
    """
    return classification_scores(gold, pred, labels)["uar"]


def mean_squared_error(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Plain MSE (MER2023 valence; sklearn ``mean_squared_error``).

    >>> mean_squared_error([1.0, 2.0], [2.0, 4.0])
    2.5
    """
    g = np.asarray(gold, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if g.shape != p.shape:
        raise MetricInputError("gold and pred", "arrays of the same shape", f"gold {g.shape} and pred {p.shape}")
    if g.size == 0:
        return float("nan")
    return float(np.mean((g - p) ** 2))


def mer2023_combined(weighted_f1_score: float, valence_mse: float) -> float:
    """MER2023 MER-MULTI / MER-NOISE overall score: ``WAF − 0.25 × valence MSE``.

    >>> mer2023_combined(0.8, 0.4)
    0.7
    """
    return float(weighted_f1_score - 0.25 * valence_mse)


def set_overlap(gold: set[str], pred: set[str]) -> tuple[float, float]:
    """Per-sample set precision and recall (MER-OV); an empty prediction scores (0, 0).

    The caller must skip samples whose gold set is empty (recall would be 0/0).

    Example: one of three predicted labels is right, and it is one of two gold labels:

    >>> set_overlap({"happy", "surprise"}, {"happy", "sad", "angry"})
    (0.3333333333333333, 0.5)
    """
    if not gold:
        raise MetricInputError(
            "gold set", "at least one label (samples without one are skipped, not scored)", "an empty set"
        )
    if not pred:
        return 0.0, 0.0
    hits = len(gold & pred)
    return hits / len(pred), hits / len(gold)


def f_from_precision_recall(precision: float, recall: float) -> float:
    """``2PR/(P+R)`` with 0 when both are 0 (MER2026's guard; MER2025 would divide by zero).

    >>> f_from_precision_recall(0.5, 0.25), f_from_precision_recall(0.0, 0.0)
    (0.3333333333333333, 0.0)
    """
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
