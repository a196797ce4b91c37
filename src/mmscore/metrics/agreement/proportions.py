"""Success proportions: the Wilson interval and a descriptive summary of one rater's scores."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.errors import MetricInputError
from mmscore.metrics.agreement._core import (
    StatResult,
    degenerate,
    finite_or_none,
    score_vector,
    success,
)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> StatResult:
    """Success proportion with the Wilson score interval (better than Wald near 0 and 1).

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)``.

    Example: 8 successes in 10 items (z = 1.96: centre 0.7167, half-width 0.2266):

    >>> r = wilson_interval(8, 10)
    >>> r.statistic, [round(v, 3) for v in r.ci]
    (0.8, [0.49, 0.943])
    """
    if n < 0 or successes < 0 or successes > n:
        raise MetricInputError("wilson_interval", "0 <= successes <= n", f"successes={successes}, n={n}")
    method = "Wilson score interval"
    if n == 0:
        return degenerate(
            "no items; a proportion is undefined", 0, method, has_ci=True, confidence=confidence
        )
    p = successes / n
    z = stats.norm.ppf(0.5 + confidence / 2)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return StatResult(
        statistic=p,
        ci=(max(0.0, float(centre - half)), min(1.0, float(centre + half))),
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        extra={"successes": int(successes)},
    )


def describe(
    x: Sequence[float] | np.ndarray, threshold: float = SUCCESS_THRESHOLD, confidence: float = 0.95
) -> dict[str, Any]:
    """n, mean, sd (ddof=1), median, min, max, success rate with its Wilson interval.

    Example (sd = sqrt(10/3); two of the four scores are >= 4):

    >>> d = describe([1, 2, 4, 5])
    >>> d["mean"], round(d["sd"], 4), d["median"], d["success_rate"]
    (3.0, 1.8257, 3.0, 0.5)
    """
    arr = score_vector(x, "scores")
    n = int(arr.size)
    wins = int(success(arr, threshold).sum())
    rate = wilson_interval(wins, n, confidence)
    return {
        "n": n,
        "mean": finite_or_none(arr.mean()) if n else None,
        "sd": finite_or_none(arr.std(ddof=1)) if n > 1 else None,
        "median": finite_or_none(np.median(arr)) if n else None,
        "min": finite_or_none(arr.min()) if n else None,
        "max": finite_or_none(arr.max()) if n else None,
        "success_rate": finite_or_none(rate.statistic),
        "success_ci": list(rate.ci) if rate.ci else None,
    }
