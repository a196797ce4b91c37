"""McNemar's test of equal success rates on paired binary outcomes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from mmscore.errors import MetricInputError
from mmscore.metrics.agreement._core import (
    NOTE_TOO_FEW,
    StatResult,
    degenerate,
)

#: McNemar uses the exact binomial test when fewer discordant pairs than this exist.
MCNEMAR_EXACT_BELOW = 25


def mcnemar_test(
    a_success: Sequence[bool], b_success: Sequence[bool], exact_below: int = MCNEMAR_EXACT_BELOW
) -> StatResult:
    """McNemar's test of equal success rates on paired binary outcomes.

    With ``b`` = pairs where only A succeeds and ``c`` = only B succeeds: when ``b + c <
    exact_below`` the exact two-sided binomial test (``statistic = min(b, c)``,
    ``p = min(1, 2 P(X <= min(b,c)))``, X ~ Bin(b + c, 1/2)); otherwise the χ² statistic with
    Edwards' continuity correction ``(|b - c| - 1)² / (b + c)`` on 1 df. ``method`` says which.

    Example: A alone succeeds on 5 items, B alone on none: exact p = 2 * (1/2)^5:

    >>> r = mcnemar_test([True] * 5 + [False], [False] * 6)
    >>> r.statistic, float(r.p_value), r.extra["discordant"]
    (0.0, 0.0625, 5)
    """
    x = np.asarray(a_success, dtype=bool)
    y = np.asarray(b_success, dtype=bool)
    if x.shape != y.shape or x.ndim != 1:
        raise MetricInputError("mcnemar_test", "two 1-D arrays of equal length", f"shapes {x.shape} and {y.shape}")
    n = x.size
    only_a, only_b = int((x & ~y).sum()), int((~x & y).sum())
    extra = {
        "a_only_success": only_a,
        "b_only_success": only_b,
        "both_success": int((x & y).sum()),
        "both_failure": int((~x & ~y).sum()),
        "discordant": only_a + only_b,
    }
    if n == 0:
        return degenerate(NOTE_TOO_FEW.format(n=0, what="McNemar's test", k=1), 0, "McNemar", **extra)
    m = only_a + only_b
    if m == 0:
        return StatResult(
            statistic=0.0,
            p_value=1.0,
            n=n,
            method="McNemar, exact binomial",
            note="no discordant pairs: both scorers give every item the same success label",
            extra=extra,
        )
    if m < exact_below:
        stat = min(only_a, only_b)
        p = min(1.0, 2 * stats.binom.cdf(stat, m, 0.5))
        return StatResult(
            statistic=float(stat),
            p_value=p,
            n=n,
            method=f"McNemar, exact binomial (discordant pairs {m} < {exact_below})",
            extra=extra,
        )
    stat = (abs(only_a - only_b) - 1) ** 2 / m
    return StatResult(
        statistic=stat,
        p_value=float(stats.chi2.sf(stat, 1)),
        n=n,
        method=f"McNemar, chi-square with continuity correction (discordant pairs {m} >= {exact_below})",
        extra=extra,
    )
