"""Combining several 1-5 judgements of one video (several frames and/or samples) into one score.

Methods (``--vote``):

* ``majority`` (default) -- the most frequent score. A tie is broken toward the tied score closest
  to the median of all judgements, and if two tied scores are equally close, the lower one wins
  (a judge that cannot decide between "solved" and "not solved" should not be credited).
* ``mean`` -- the arithmetic mean rounded half up (3.5 -> 4).
* ``median`` -- the lower median (always one of the actual judgements).
* ``min`` -- the most pessimistic judgement (a video counts only if every frame/sample agrees).

Recorded with every combined score: ``agreement`` (share of judgements equal to the final score),
``binary_agreement`` (share on the same side of the success threshold, score >= 4, as the final
score), ``mean``, ``std`` (population) and the score ``distribution``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.errors import ConfigError

VOTE_METHODS = ("majority", "mean", "median", "min")


@dataclass(frozen=True)
class Vote:
    score: int
    method: str
    n: int
    agreement: float
    binary_agreement: float
    mean: float
    std: float
    distribution: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "n": self.n,
            "agreement": round(self.agreement, 4),
            "binary_agreement": round(self.binary_agreement, 4),
            "mean": round(self.mean, 4),
            "std": round(self.std, 4),
            "distribution": self.distribution,
        }


def _majority(scores: Sequence[int]) -> int:
    counts = Counter(scores)
    top = max(counts.values())
    tied = sorted(score for score, count in counts.items() if count == top)
    if len(tied) == 1:
        return tied[0]
    median = statistics.median(scores)
    return min(tied, key=lambda s: (abs(s - median), s))


def combine(scores: Sequence[int], method: str = "majority") -> Vote:
    """One score from several judgements (see the module docstring for the rules)."""
    if method not in VOTE_METHODS:
        raise ConfigError(f"vote must be one of {', '.join(VOTE_METHODS)}; got {method!r}")
    if not scores:
        raise ConfigError("cannot combine zero judgements")
    values = [int(s) for s in scores]
    mean = sum(values) / len(values)
    if method == "majority":
        score = _majority(values)
    elif method == "mean":
        score = math.floor(mean + 0.5)
    elif method == "median":
        score = int(statistics.median_low(values))
    else:
        score = min(values)
    success = score >= SUCCESS_THRESHOLD
    return Vote(
        score=score,
        method=method,
        n=len(values),
        agreement=sum(v == score for v in values) / len(values),
        binary_agreement=sum((v >= SUCCESS_THRESHOLD) == success for v in values) / len(values),
        mean=mean,
        std=statistics.pstdev(values),
        distribution={str(k): v for k, v in sorted(Counter(values).items())},
    )
