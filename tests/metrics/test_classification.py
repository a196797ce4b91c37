"""Classification metrics against scikit-learn on fixed label vectors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from mmscore.metrics.classification import (
    classification_scores,
    confusion_matrix,
    f_from_precision_recall,
    mean_squared_error,
    mer2023_combined,
    set_overlap,
    uar,
    weighted_f1,
)

MER = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
GOLD = [
    "happy",
    "happy",
    "happy",
    "sad",
    "sad",
    "angry",
    "neutral",
    "neutral",
    "neutral",
    "neutral",
    "worried",
    "surprise",
    "surprise",
    "happy",
    "sad",
    "angry",
    "angry",
    "worried",
]
PRED = [
    "happy",
    "sad",
    "happy",
    "sad",
    "neutral",
    "angry",
    "neutral",
    "happy",
    "neutral",
    "sad",
    "worried",
    "happy",
    "surprise",
    "happy",
    "sad",
    "worried",
    "angry",
    "neutral",
]


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_headline_scores_match_sklearn():
    s = classification_scores(GOLD, PRED, MER)
    assert s["n"] == len(GOLD)
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(GOLD, PRED))
    assert s["war"] == pytest.approx(skm.accuracy_score(GOLD, PRED))
    assert s["weighted_f1"] == pytest.approx(skm.f1_score(GOLD, PRED, average="weighted"))
    assert s["macro_f1"] == pytest.approx(skm.f1_score(GOLD, PRED, average="macro"))
    assert s["weighted_precision"] == pytest.approx(skm.precision_score(GOLD, PRED, average="weighted"))
    assert s["weighted_recall"] == pytest.approx(skm.recall_score(GOLD, PRED, average="weighted"))
    assert s["macro_precision"] == pytest.approx(skm.precision_score(GOLD, PRED, average="macro"))
    assert s["uar"] == pytest.approx(skm.recall_score(GOLD, PRED, average="macro"))
    assert s["uar"] == pytest.approx(skm.balanced_accuracy_score(GOLD, PRED))


def test_per_class_and_confusion_match_sklearn():
    s = classification_scores(GOLD, PRED, MER)
    p, r, f, support = skm.precision_recall_fscore_support(GOLD, PRED, labels=MER, zero_division=0)
    for i, label in enumerate(MER):
        assert s["per_class"][label]["precision"] == pytest.approx(p[i])
        assert s["per_class"][label]["recall"] == pytest.approx(r[i])
        assert s["per_class"][label]["f1"] == pytest.approx(f[i])
        assert s["per_class"][label]["support"] == support[i]
    expected = skm.confusion_matrix(GOLD, PRED, labels=MER)
    assert np.array_equal(np.asarray(s["confusion_matrix"]["matrix"]), expected)
    assert s["confusion_matrix"]["other"] == [0] * len(MER)


def test_uar_is_mean_of_row_recalls_written_out():
    cm = skm.confusion_matrix(GOLD, PRED, labels=MER)
    expected = np.mean([cm[i, i] / cm[i].sum() for i in range(len(MER))])  # DFEW model_metrics.py
    assert uar(GOLD, PRED, MER) == pytest.approx(expected)


def test_out_of_set_predictions_are_wrong_and_no_class_false_positive():
    pred = list(PRED)
    pred[0] = None  # missing
    pred[3] = "fear"  # out of the MER set
    s = classification_scores(GOLD, pred, MER)
    sentinel = ["<oos>" if p not in MER else p for p in pred]
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(GOLD, sentinel))
    assert s["weighted_f1"] == pytest.approx(skm.f1_score(GOLD, sentinel, labels=MER, average="weighted"))
    assert s["uar"] == pytest.approx(skm.balanced_accuracy_score(GOLD, sentinel))
    for label in MER:
        precision = skm.precision_score(GOLD, sentinel, labels=[label], average="micro", zero_division=0)
        assert s["per_class"][label]["precision"] == pytest.approx(precision)
    assert s["predicted_other"] == 2
    assert s["confusion_matrix"]["other"][MER.index("happy")] == 1
    assert s["confusion_matrix"]["other"][MER.index("sad")] == 1


def test_class_without_gold_samples():
    gold = ["happy", "happy", "sad", "sad"]
    pred = ["happy", "angry", "sad", "sad"]  # 'angry' predicted but never gold
    s = classification_scores(gold, pred, MER)
    assert s["classes_without_gold"] == ["neutral", "angry", "worried", "surprise"]
    # UAR over classes with gold samples only (= balanced accuracy): (1/2 + 1) / 2
    assert s["uar"] == pytest.approx(0.75)
    assert s["uar"] == pytest.approx(skm.balanced_accuracy_score(gold, pred))
    # macro over evaluated classes (gold or predicted) = sklearn's default label set
    assert s["evaluated_classes"] == ["angry", "happy", "sad"]
    assert s["macro_f1"] == pytest.approx(skm.f1_score(gold, pred, average="macro"))
    assert s["weighted_f1"] == pytest.approx(skm.f1_score(gold, pred, average="weighted"))


def test_default_labels_are_the_union_like_sklearn():
    s = classification_scores(GOLD, PRED)
    assert s["confusion_matrix"]["labels"] == sorted(set(GOLD) | set(PRED))
    assert weighted_f1(GOLD, PRED) == pytest.approx(skm.f1_score(GOLD, PRED, average="weighted"))


def test_gold_outside_labels_raises():
    with pytest.raises(ValueError, match="position 1"):
        confusion_matrix(["happy", "fear"], ["happy", "happy"], MER)
    with pytest.raises(ValueError, match="gold has 2"):
        confusion_matrix(["happy", "sad"], ["happy"], MER)


def test_mse_and_mer2023_combined():
    gold_v = [1.0, -2.5, 0.0, 3.25]
    pred_v = [0.5, -2.0, 1.0, 2.0]
    mse = mean_squared_error(gold_v, pred_v)
    assert mse == pytest.approx(skm.mean_squared_error(gold_v, pred_v))
    assert mer2023_combined(0.8, mse) == pytest.approx(0.8 - 0.25 * skm.mean_squared_error(gold_v, pred_v))


def test_set_overlap_rules():
    assert set_overlap({"a", "b"}, {"a", "c", "d"}) == (pytest.approx(1 / 3), pytest.approx(1 / 2))
    assert set_overlap({"a"}, set()) == (0.0, 0.0)
    with pytest.raises(ValueError):
        set_overlap(set(), {"a"})
    assert f_from_precision_recall(0.0, 0.0) == 0.0
    assert f_from_precision_recall(0.5, 0.25) == pytest.approx(2 * 0.5 * 0.25 / 0.75)
