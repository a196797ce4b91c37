"""Equivalence (TOST) and planning: interval half-width versus number of items."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from mmscore.errors import MetricInputError, MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_TOO_FEW,
    StatResult,
    constant_difference_note,
    degenerate,
    paired_vectors,
)

DEFAULT_MARGIN = 0.5


def half_width(sd: float, n: int | np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Expected half-width of the t interval of a mean: ``t_{(1+c)/2, n-1} · sd / √n``.

    Example: sd 1, n 5, 90% (t_{0.95, 4} = 2.1318): 2.1318 / sqrt 5:

    >>> round(float(half_width(1.0, 5, 0.9)), 4)
    0.9534
    """
    n_arr = np.asarray(n, dtype=float)
    return stats.t.ppf(0.5 + confidence / 2, n_arr - 1) * sd / np.sqrt(n_arr)


def items_needed(sd: float, target: float, confidence: float = 0.95, max_n: int = 10_000_000) -> int | None:
    """Smallest n >= 2 whose expected half-width is <= target (None if beyond ``max_n``).

    >>> items_needed(sd=1.0, target=0.9534, confidence=0.9)
    5
    """
    if target <= 0:
        return None
    if sd == 0:
        return 2
    lo, hi = 2, 2
    while half_width(sd, hi, confidence) > target:
        if hi >= max_n:
            return None
        lo, hi = hi, min(hi * 2, max_n)
    while lo < hi:
        mid = (lo + hi) // 2
        if half_width(sd, mid, confidence) <= target:
            hi = mid
        else:
            lo = mid + 1
    return int(hi)


def tost_paired(
    a: Sequence[float], b: Sequence[float], margin: float = DEFAULT_MARGIN, alpha: float = 0.05
) -> StatResult:
    """Two one-sided paired t-tests (Schuirmann 1987) for equivalence within ±margin.

    H0: |mean(a - b)| >= margin. ``p = max(p_lower, p_upper)``; equivalence is shown when
    ``p < alpha``, i.e. when the (1 - 2α) t interval of the mean difference (reported as ``ci``,
    90% by default) lies inside (-margin, margin). The default margin of 0.5 points on the 1-5
    scale is half a category: a judge whose scores differ from people's by less than half a grade
    on average is treated as interchangeable. ``n_items_for_equivalence`` is the number of items at
    which the interval would fit inside the margin if the observed mean and sd stayed the same.

    Example: d = (1, -1, 0, 1, -1): mean 0, sd 1; the 90% interval +-0.9534 lies inside +-2:

    >>> r = tost_paired([4, 2, 3, 5, 1], [3, 3, 3, 4, 2], margin=2)
    >>> r.extra["mean_difference"], r.extra["equivalent"], [round(v, 4) for v in r.ci]
    (0.0, True, [-0.9534, 0.9534])
    """
    if margin <= 0:
        raise MetricOptionError("margin", "a positive equivalence margin", margin)
    x, y = paired_vectors(a, b)
    d = x - y
    n = d.size
    confidence = 1 - 2 * alpha
    method = f"TOST, two one-sided paired t-tests, margin ±{margin:g}, alpha {alpha:g}"
    extra: dict[str, Any] = {"margin": margin, "alpha": alpha}
    if n < 2:
        return degenerate(NOTE_TOO_FEW.format(n=n, what="TOST", k=2), n, method, has_ci=True,
                          confidence=confidence, equivalent=None, **extra)
    mean = float(d.mean())
    if np.all(d == d[0]):
        where = "inside" if abs(mean) < margin else "outside"
        note = constant_difference_note(d, "the t statistic") + f"; the constant difference lies {where} the margin"
        return degenerate(note, n, method, has_ci=True, confidence=confidence, equivalent=None,
                          mean_difference=mean, **extra)
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    df = n - 1
    t_lower = (mean + margin) / se
    t_upper = (mean - margin) / se
    p_lower = float(stats.t.sf(t_lower, df))
    p_upper = float(stats.t.cdf(t_upper, df))
    p = max(p_lower, p_upper)
    stat = t_lower if p_lower >= p_upper else t_upper
    half = float(stats.t.ppf(1 - alpha, df) * se)
    room = margin - abs(mean)
    needed = None
    if room > 0:
        needed = items_needed(sd, room, confidence)
    extra.update({"df": df, "mean_difference": mean, "t_lower": t_lower, "p_lower": p_lower, "t_upper": t_upper,
                  "p_upper": p_upper, "equivalent": bool(p < alpha), "n_items_for_equivalence": needed})
    note = None if room > 0 else (
        "the observed mean difference is not inside the margin; more items "
        "cannot show equivalence unless the mean difference shrinks"
    )
    return StatResult(
        statistic=stat,
        p_value=p,
        ci=(mean - half, mean + half),
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        note=note,
        extra=extra,
    )


def precision_curve(
    a: Sequence[float],
    b: Sequence[float],
    n_values: Sequence[int] | None = None,
    confidence: float = 0.95,
    targets: Sequence[float] = (0.5, 0.25, 0.2, 0.1, 0.05),
) -> dict[str, Any]:
    """Expected CI half-width of the mean difference versus the number of items.

    A planning estimate: it assumes future items vary like the observed ones (the sd of the
    paired differences), ``half_width(n) = t_{(1+c)/2, n-1} · sd / √n``. ``n_required`` maps each
    target half-width to the smallest n that reaches it.

    Example: the same differences (sd 1), the 95% half-width at 5 items is t_{0.975, 4} / sqrt 5:

    >>> curve = precision_curve([4, 2, 3, 5, 1], [3, 3, 3, 4, 2], n_values=[5, 20])
    >>> curve["sd_difference"], [round(v, 4) for v in curve["half_width"]]
    (1.0, [1.2417, 0.468])
    """
    x, y = paired_vectors(a, b)
    d = x - y
    n = d.size
    if n < 2:
        return {
            "sd_difference": None,
            "n": [],
            "half_width": [],
            "n_required": {},
            "confidence": confidence,
            "note": NOTE_TOO_FEW.format(n=n, what="the precision curve", k=2),
        }
    sd = float(d.std(ddof=1))
    if n_values is None:
        top = max(4 * n, 200)
        n_values = sorted({int(v) for v in np.unique(np.geomspace(5, top, 40).round())} | {n})
    ns = np.asarray(list(n_values), dtype=int)
    if (ns < 2).any():
        raise MetricInputError("precision_curve n_values", "every n at least 2", ns[ns < 2].tolist())
    if sd == 0:
        what = "a planning estimate"
        note = constant_difference_note(d, what)
        return {
            "sd_difference": 0.0,
            "n_observed": int(n),
            "confidence": confidence,
            "n": [],
            "half_width": [],
            "n_required": {f"{t:g}": None for t in targets},
            "note": note,
        }
    return {
        "sd_difference": sd,
        "n_observed": int(n),
        "confidence": confidence,
        "n": ns.tolist(),
        "half_width": [float(v) for v in half_width(sd, ns, confidence)],
        "observed_half_width": float(half_width(sd, n, confidence)),
        "n_required": {f"{t:g}": items_needed(sd, t, confidence) for t in targets},
        "note": None,
    }
