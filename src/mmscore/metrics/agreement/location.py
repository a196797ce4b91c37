"""Tests of a location shift between paired ratings: paired t, Wilcoxon signed-rank, rank-biserial."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from mmscore.errors import MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_ALL_ZERO,
    NOTE_TOO_FEW,
    StatResult,
    constant_difference_note,
    degenerate,
    finite_or_none,
    paired_vectors,
    score_vector,
)


def paired_t_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> StatResult:
    """Student's paired t-test of mean(a - b) = 0, with the t interval of the mean difference and
    Cohen's d_z = mean(d) / sd(d) as effect size.

    Example: d = (1, 2, 3), mean 2, sd 1, so t = 2 / (1 / sqrt 3) = 3.4641 and d_z = 2:

    >>> r = paired_t_test([2, 4, 6], [1, 2, 3])
    >>> round(r.statistic, 4), r.extra["df"], r.extra["effect_size"]["value"]
    (3.4641, 2, 2.0)
    """
    x, y = paired_vectors(a, b)
    d = x - y
    n = d.size
    method = "paired t-test (two-sided)"
    if n < 2:
        return degenerate(
            NOTE_TOO_FEW.format(n=n, what="the paired t-test", k=2),
            n,
            method,
            has_ci=True,
            confidence=confidence,
        )
    if np.all(d == d[0]):
        note = constant_difference_note(d, "the t statistic")
        return degenerate(
            note, n, method, has_ci=True, confidence=confidence, mean_difference=float(d.mean())
        )
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    df = n - 1
    t = mean / se
    p = 2 * stats.t.sf(abs(t), df)
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return StatResult(
        statistic=t,
        p_value=p,
        ci=(mean - half, mean + half),
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        extra={
            "df": df,
            "mean_difference": mean,
            "sd_difference": sd,
            "effect_size": {"name": "Cohen's d_z", "value": mean / sd},
        },
    )


def rank_biserial(d: Sequence[float] | np.ndarray, zero_method: str = "pratt") -> float | None:
    """Matched-pairs rank-biserial correlation (Kerby 2014, simple difference formula).

    ``r = (R+ - R-) / (R+ + R-)`` where ``R±`` are the sums of the ranks of ``|d|`` (mid-ranks for
    ties) over positive / negative differences. With ``zero_method='pratt'`` the zero differences
    take part in the ranking (pushing the other ranks up) but belong to neither sum; with
    ``'wilcox'`` they are dropped before ranking. ``r`` is +1 when every non-zero difference is
    positive and -1 when every one is negative; None when every difference is zero.

    Example: |d| = (1, 2, 3, 1) has mid-ranks (1.5, 3, 4, 1.5); R+ = 8.5, R- = 1.5, r = 7 / 10:

    >>> rank_biserial([1, 2, 3, -1])
    0.7
    """
    arr = score_vector(d, "differences")
    if zero_method == "wilcox":
        arr = arr[arr != 0]
    elif zero_method != "pratt":
        raise MetricOptionError("zero_method", "'pratt' or 'wilcox'", repr(zero_method))
    ranks = stats.rankdata(np.abs(arr))
    plus, minus = ranks[arr > 0].sum(), ranks[arr < 0].sum()
    total = plus + minus
    return None if total == 0 else float((plus - minus) / total)


def wilcoxon_signed_rank(a: Sequence[float], b: Sequence[float], zero_method: str = "pratt") -> StatResult:
    """Wilcoxon signed-rank test of ``d = a - b`` (two-sided) with Pratt's handling of zeros.

    Method (reported in ``method``): the exact null distribution when there are no ties and no
    zeros and n <= 50; an exact enumeration of all 2^n sign flips (scipy's permutation test) when
    n <= 13 with ties or zeros; otherwise the normal approximation with Cureton's adjustment for
    Pratt zeros and the tie correction of the variance, no continuity correction. ``statistic`` is
    min(R+, R-) as in scipy; the effect size is :func:`rank_biserial`.

    Example: all five differences positive, no ties: R- = 0 and the exact two-sided p is 2 / 2^5:

    >>> r = wilcoxon_signed_rank([2, 3, 4, 5, 6], [1, 1, 1, 1, 1])
    >>> r.statistic, r.p_value
    (0.0, 0.0625)
    """
    x, y = paired_vectors(a, b)
    d = x - y
    n = d.size
    what = "the Wilcoxon signed-rank test"
    if n < 2:
        return degenerate(NOTE_TOO_FEW.format(n=n, what=what, k=2), n, "Wilcoxon signed-rank")
    if np.all(d == 0):
        return degenerate(NOTE_ALL_ZERO.format(n=n, what=what), n, "Wilcoxon signed-rank")
    nonzero = d[d != 0] if zero_method == "wilcox" else d
    has_ties = np.unique(np.abs(nonzero)).size < nonzero.size
    has_zeros = bool(np.any(d == 0))
    if not has_ties and not has_zeros and n <= 50:
        method, label = "exact", "exact null distribution"
    elif n <= 13:
        method, label = stats.PermutationMethod(n_resamples=2**n), "exact enumeration of all sign flips"
    else:
        method, label = "asymptotic", "normal approximation (tie-corrected, no continuity correction)"
    res = stats.wilcoxon(d, zero_method=zero_method, correction=False, method=method)
    ranks = stats.rankdata(np.abs(d if zero_method == "pratt" else d[d != 0]))
    kept = d if zero_method == "pratt" else d[d != 0]
    extra: dict[str, Any] = {
        "zero_method": zero_method,
        "n_zero_differences": int((d == 0).sum()),
        "w_plus": float(ranks[kept > 0].sum()),
        "w_minus": float(ranks[kept < 0].sum()),
        "effect_size": {
            "name": "matched-pairs rank-biserial correlation",
            "value": rank_biserial(d, zero_method),
        },
    }
    if getattr(res, "zstatistic", None) is not None and method == "asymptotic":
        extra["z"] = finite_or_none(res.zstatistic)
    return StatResult(
        statistic=float(res.statistic),
        p_value=finite_or_none(res.pvalue),
        n=n,
        method=f"Wilcoxon signed-rank, zero_method={zero_method}, {label}",
        extra=extra,
    )
