"""Cohen's kappa (unweighted, linear, quadratic) with its large-sample test and interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.errors import MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_KAPPA_CONSTANT,
    NOTE_KAPPA_NO_VARIANCE,
    NOTE_SINGLE_CLASS,
    NOTE_TOO_FEW,
    SCALE,
    StatResult,
    degenerate,
    finite_or_none,
    fmt,
    on_categories,
    paired_vectors,
    success,
)


def landis_koch(value: float | None) -> str | None:
    """Landis & Koch (1977) verbal band for a kappa-type coefficient.

    >>> landis_koch(0.5), landis_koch(-0.1), landis_koch(None)
    ('moderate', 'poor', None)
    """
    if value is None:
        return None
    if value < 0:
        return "poor"
    for upper, label in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if value <= upper:
            return label
    return "almost perfect"


def confusion_matrix(a: np.ndarray, b: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Counts with rows = A's category, columns = B's category, in ``labels`` order."""
    index = {value: i for i, value in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)), dtype=float)
    for u, v in zip(a, b, strict=True):
        table[index[u], index[v]] += 1
    return table


def cohen_kappa(
    a: Sequence[float],
    b: Sequence[float],
    weights: str | None = None,
    labels: Sequence[int] = SCALE,
    confidence: float = 0.95,
) -> StatResult:
    """Cohen's κ on fixed categories (1-5 by default), unweighted, 'linear' or 'quadratic'.

    With agreement weights ``w_ij`` (1 on the diagonal; quadratic ``1 - (i-j)²/(k-1)²``):
    ``κ = (p_o - p_e) / (1 - p_e)``, ``p_o = Σ w_ij p_ij``, ``p_e = Σ w_ij p_i. p_.j``.
    The p-value is the large-sample z-test of κ = 0 and the interval is κ ± z·ASE, both with the
    Fleiss, Cohen & Everitt (1969) variances (under H0 and in general; statsmodels
    ``cohens_kappa`` computes the same), the interval truncated to [-1, 1]. A constant rater
    gives κ = 0 with no test or interval (``NOTE_KAPPA_CONSTANT``), a zero variance no test or
    interval (``NOTE_KAPPA_NO_VARIANCE``).

    Example: p_o = 3/4; marginals A (1/2, 1/2), B (1/4, 3/4) give p_e = 1/2, so kappa = 1/2:

    >>> r = cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2])
    >>> round(r.statistic, 6), r.extra["observed_agreement"], r.extra["expected_agreement"]
    (0.5, 0.75, 0.5)
    """
    x, y = paired_vectors(a, b)
    labels = list(labels)
    x, y = on_categories(x, labels, "a"), on_categories(y, labels, "b")
    kind = weights or "unweighted"
    if weights not in (None, "linear", "quadratic"):
        raise MetricOptionError("weights", "None, 'linear' or 'quadratic'", repr(weights))
    what = f"Cohen's kappa ({kind})"
    method = f"{what} on categories {labels}; z-test of kappa=0 and Wald CI (Fleiss-Cohen-Everitt variances)"
    n = x.size
    if n < 2:
        return degenerate(
            NOTE_TOO_FEW.format(n=n, what=what, k=2), n, method, has_ci=True, confidence=confidence
        )
    w = _agreement_weights(weights, len(labels))
    p = confusion_matrix(x, y, labels) / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    pe = float((w * np.outer(rows, cols)).sum())
    po = float((w * p).sum())
    if pe >= 1 - 1e-12:
        return degenerate(
            NOTE_SINGLE_CLASS.format(value=fmt(x[0]), what=what),
            n,
            method,
            has_ci=True,
            confidence=confidence,
        )
    for which, arr in (("A", x), ("B", y)):
        if np.all(arr == arr[0]):
            return StatResult(
                statistic=0.0,
                has_ci=True,
                confidence=confidence,
                n=n,
                method=method,
                note=NOTE_KAPPA_CONSTANT.format(which=which, value=fmt(arr[0]), what=what),
                extra={"weights": kind, "observed_agreement": po, "expected_agreement": pe},
            )
    kappa = (po - pe) / (1 - pe)
    var, var0 = _kappa_variances(p, w, kappa, pe, n)
    extra: dict[str, Any] = {
        "weights": kind,
        "observed_agreement": po,
        "expected_agreement": pe,
        "interpretation": landis_koch(kappa),
    }
    return _kappa_inference(kappa, var, var0, what=what, method=method, n=n, confidence=confidence, extra=extra)


def _agreement_weights(weights: str | None, k: int) -> np.ndarray:
    """``w_ij`` over k ordered categories: identity, linear ``1 - |i-j|/(k-1)`` or quadratic."""
    pos = np.arange(k, dtype=float)
    dist = np.abs(pos[:, None] - pos[None, :]) / (k - 1)
    return {None: np.eye(k), "linear": 1 - dist, "quadratic": 1 - dist**2}[weights]


def _kappa_variances(p: np.ndarray, w: np.ndarray, kappa: float, pe: float, n: int) -> tuple[float, float]:
    """Fleiss, Cohen & Everitt (1969) large-sample variances of kappa: in general, and under H0."""
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    w_row = w @ cols  # w̄_i. = Σ_j p_.j w_ij
    w_col = rows @ w  # w̄_.j = Σ_i p_i. w_ij
    spread = w_row[:, None] + w_col[None, :]
    var = ((p * (w - spread * (1 - kappa)) ** 2).sum() - (kappa - pe * (1 - kappa)) ** 2) / (
        (1 - pe) ** 2 * n
    )
    var0 = ((np.outer(rows, cols) * (w - spread) ** 2).sum() - pe**2) / ((1 - pe) ** 2 * n)
    return var, var0


def _kappa_inference(
    kappa: float, var: float, var0: float, *, what: str, method: str, n: int, confidence: float,
    extra: dict[str, Any],
) -> StatResult:
    """The z-test (variance under H0) and the truncated Wald interval, each only where its variance is > 0."""
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    tiny = 1e-12  # rounding noise of an exactly zero variance
    if var <= tiny and var0 <= tiny:
        return StatResult(
            statistic=kappa,
            has_ci=True,
            confidence=confidence,
            n=n,
            method=method,
            note=NOTE_KAPPA_NO_VARIANCE.format(what=what, n=n, missing="test or interval"),
            extra={**extra, "ase": None, "z": None},
        )
    p_value, z, note = None, None, None
    if var0 > tiny:
        z = kappa / math.sqrt(var0)
        p_value = 2 * stats.norm.sf(abs(z))
    else:
        note = NOTE_KAPPA_NO_VARIANCE.format(what=f"{what} under H0", n=n, missing="test")
    ci, se = None, None
    if var > tiny:
        se = math.sqrt(var)
        lo, hi = kappa - z_crit * se, kappa + z_crit * se
        if lo < -1 or hi > 1:
            note = f"the Wald interval [{lo:.3f}, {hi:.3f}] is truncated to kappa's range [-1, 1]"
            lo, hi = max(lo, -1.0), min(hi, 1.0)
        ci = (lo, hi)
    else:
        note = NOTE_KAPPA_NO_VARIANCE.format(what=what, n=n, missing="interval")
    return StatResult(
        statistic=kappa,
        p_value=p_value,
        ci=ci,
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        note=note,
        extra={**extra, "ase": se, "z": finite_or_none(z)},
    )


def binary_kappa(
    a: Sequence[float], b: Sequence[float], threshold: float = SUCCESS_THRESHOLD, confidence: float = 0.95
) -> StatResult:
    """Unweighted Cohen's κ on binary success (score >= threshold).

    Example: successes (score >= 4) are (1, 1, 0, 0) and (1, 0, 0, 0): p_o = 3/4, p_e = 1/2:

    >>> round(binary_kappa([5, 4, 2, 1], [4, 3, 1, 2]).statistic, 6)
    0.5
    """
    x, y = paired_vectors(a, b)
    res = cohen_kappa(
        success(x, threshold).astype(int), success(y, threshold).astype(int), None, (0, 1), confidence
    )
    note = (
        res.note.replace("category 0", "class 'failure'").replace("category 1", "class 'success'")
        if res.note
        else None
    )
    return StatResult(
        statistic=res.statistic,
        p_value=res.p_value,
        ci=res.ci,
        has_ci=True,
        confidence=confidence,
        n=res.n,
        method=res.method.replace("categories [0, 1]", f"binary success (score >= {threshold:g})"),
        note=note,
        extra=res.extra,
    )
