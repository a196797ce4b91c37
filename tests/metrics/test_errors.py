"""Metric errors are typed (MetricInputError / MetricOptionError), worded "expected X, got Y", and
still ValueErrors for callers that validate numbers with ``except ValueError``."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import torch

from mmscore.errors import ConfigError, InputError, MetricInputError, MetricOptionError, MMScoreError
from mmscore.metrics import agreement as ag
from mmscore.metrics import classification, clip_scores, emscore, retrieval, text

EXPECTED_GOT = re.compile(r"^.+: expected .+, got .+$")

# (call, error class, the exact message: what the user sees after "Error: ")
CASES = [
    (lambda: ag.paired_t_test([1, 2, 3], [1, 2]), MetricInputError,
     "a and b: expected paired sequences of equal length, got 3 and 2"),
    (lambda: ag.describe([[1, 2], [3, 4]]), MetricInputError,
     "scores: expected a 1-D sequence of scores, got shape (2, 2)"),
    (lambda: ag.cohen_kappa([1, 2], [1, 2], weights="cubic"), MetricOptionError,
     "weights: expected None, 'linear' or 'quadratic', got 'cubic'"),
    (lambda: ag.krippendorff_alpha([[1, np.inf]], level="nominal"), MetricInputError,
     "krippendorff_alpha: expected finite ratings with NaN for 'not rated', got inf (rater 0, unit 1)"),
    (lambda: ag.krippendorff_alpha([[1, 2]], level="circular"), MetricOptionError,
     "level: expected nominal, ordinal, interval or ratio, got 'circular'"),
    (lambda: ag.correlation([1, 2, 3], [1, 2, 3], kind="distance"), MetricOptionError,
     "correlation kind: expected one of ['kendall_tau_b', 'pearson', 'spearman'], got 'distance'"),
    (lambda: ag.wilson_interval(5, 3), MetricInputError,
     "wilson_interval: expected 0 <= successes <= n, got successes=5, n=3"),
    (lambda: ag.tost_paired([1, 2], [1, 2], margin=0), MetricOptionError,
     "margin: expected a positive equivalence margin, got 0"),
    (lambda: ag.precision_curve([1, 2, 4], [2, 2, 3], n_values=[1, 5]), MetricInputError,
     "precision_curve n_values: expected every n at least 2, got [1]"),
    (lambda: ag.mcnemar_test([True], [True, False]), MetricInputError,
     "mcnemar_test: expected two 1-D arrays of equal length, got shapes (1,) and (2,)"),
    (lambda: ag.bootstrap_indices(3, 0, 0), MetricOptionError, "n_boot: expected at least 1 resample, got 0"),
    (lambda: classification.confusion_matrix(["a", "b"], ["a"]), MetricInputError,
     "gold and pred: expected one prediction per gold label, got gold has 2 labels but pred has 1"),
    (lambda: classification.confusion_matrix(["a", "z"], ["a", "a"], labels=["a", "b"]), MetricInputError,
     "gold label at position 1: expected one of the label set ['a', 'b'], got 'z'"),
    (lambda: classification.mean_squared_error([1.0], [1.0, 2.0]), MetricInputError,
     "gold and pred: expected arrays of the same shape, got gold (1,) and pred (2,)"),
    (lambda: emscore.compute_idf([]), MetricInputError,
     "idf corpus: expected at least one document, got an empty corpus"),
    (lambda: emscore.TextEmbedding(torch.zeros(3, 2), torch.tensor([1, 2])), MetricInputError,
     "text embedding: expected tokens [L, D] and ids [L] with the same L > 0, got (3, 2) and (2,)"),
    (lambda: clip_scores.paired_cosine(torch.zeros(2, 3), torch.zeros(1, 3)), MetricInputError,
     "paired embeddings: expected two matrices of the same shape, got (2, 3) and (1, 3)"),
    (lambda: clip_scores.clip_score(torch.zeros(1, 2, 3), torch.zeros(1, 3)), MetricInputError,
     "first embeddings: expected a [N, D] embedding matrix, got shape (1, 2, 3)"),
    (lambda: retrieval.recall_at_k(torch.tensor([], dtype=torch.long)), MetricInputError,
     "recall@K: expected at least one query, got an empty query set"),
    (lambda: retrieval.text_to_image_ranks(torch.eye(2), torch.eye(2), [0, 5]), MetricInputError,
     "text_to_image must lie in [0, 1]: expected indices of existing targets, got values from 0 to 5"),
    (lambda: text.rouge_l(["a"], ["b"], lang="fr"), MetricOptionError, "lang: expected one of auto, en, zh, got 'fr'"),
]


@pytest.mark.parametrize(("call", "kind", "message"), CASES, ids=[c[2].split(":")[0] for c in CASES])
def test_metric_errors_are_typed_and_say_expected_and_got(call, kind, message) -> None:
    with pytest.raises(kind) as info:
        call()
    error = info.value
    assert str(error) == message
    assert EXPECTED_GOT.match(str(error))
    assert isinstance(error, MMScoreError) and isinstance(error, ValueError)
    assert isinstance(error, InputError if kind is MetricInputError else ConfigError)


def test_metric_errors_keep_their_parts_and_survive_pickling() -> None:
    error = MetricInputError("a and b", "paired sequences of equal length", "3 and 2")
    assert (error.what, error.expected, error.got) == ("a and b", "paired sequences of equal length", "3 and 2")
    copy = pickle.loads(pickle.dumps(error))  # process pools and Ray ship errors between processes
    assert type(copy) is MetricInputError and str(copy) == str(error) and copy.got == "3 and 2"
