"""Pearson, Spearman and Kendall tau-b with seeded percentile-bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from mmscore.errors import MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_CONSTANT,
    NOTE_TOO_FEW,
    StatResult,
    degenerate,
    finite_or_none,
    fmt,
    paired_vectors,
)
from mmscore.metrics.agreement.bootstrap import DEFAULT_N_BOOT, bootstrap_indices


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair; NaN where a row is constant (dropped by the caller)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis=1) / den


def _boot_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _pearson_rows(x, y)


def _boot_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _pearson_rows(stats.rankdata(x, axis=1), stats.rankdata(y, axis=1))


def _boot_kendall(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            out[i] = stats.kendalltau(x[i], y[i]).statistic
    return out


_CORRELATIONS: dict[str, tuple[str, Callable[..., Any], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "pearson": ("Pearson r", lambda x, y: stats.pearsonr(x, y), _boot_pearson),
    "spearman": ("Spearman rho", lambda x, y: stats.spearmanr(x, y), _boot_spearman),
    "kendall_tau_b": ("Kendall tau-b", lambda x, y: stats.kendalltau(x, y, variant="b"), _boot_kendall),
}


def correlation(
    a: Sequence[float],
    b: Sequence[float],
    kind: str = "pearson",
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> StatResult:
    """Pearson, Spearman or Kendall τ_b with scipy's p-value and a seeded percentile bootstrap CI.

    Pairs are resampled together; resamples in which either rater is constant (correlation
    undefined) are dropped and counted in ``n_boot_valid``.

    Example: one swapped pair among four, Spearman rho = 1 - 6 * 2 / (4 * 15) = 0.8:

    >>> round(correlation([1, 2, 3, 4], [1, 3, 2, 4], "spearman").statistic, 6)
    0.8
    >>> round(correlation([1, 2, 3, 4], [2, 4, 6, 8]).statistic, 6)
    1.0
    """
    if kind not in _CORRELATIONS:
        raise MetricOptionError("correlation kind", f"one of {sorted(_CORRELATIONS)}", repr(kind))
    label, point, boot = _CORRELATIONS[kind]
    x, y = paired_vectors(a, b)
    n = x.size
    method = f"{label}; percentile bootstrap CI ({n_boot} resamples, seed {seed}), pairs resampled"
    if n < 3:
        return degenerate(
            NOTE_TOO_FEW.format(n=n, what=label, k=3), n, method, has_ci=True, confidence=confidence
        )
    for which, arr in (("A", x), ("B", y)):
        if np.all(arr == arr[0]):
            return degenerate(
                NOTE_CONSTANT.format(which=which, value=fmt(arr[0]), what=label),
                n,
                method,
                has_ci=True,
                confidence=confidence,
            )
    res = point(x, y)
    idx = bootstrap_indices(n, n_boot, seed)
    theta = boot(x[idx], y[idx])
    theta = np.clip(theta[np.isfinite(theta)], -1.0, 1.0)  # rounding can exceed ±1 by an ulp
    ci, note = None, None
    if theta.size:
        lo, hi = np.percentile(theta, [50 * (1 - confidence), 50 * (1 + confidence)])
        ci = (float(lo), float(hi))
        if theta.size < n_boot:
            note = f"{n_boot - theta.size} of {n_boot} resamples had a constant rater and were dropped"
    else:
        note = "every bootstrap resample had a constant rater; no interval"
    return StatResult(
        statistic=float(res.statistic),
        p_value=finite_or_none(res.pvalue),
        ci=ci,
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        note=note,
        extra={"n_boot": n_boot, "n_boot_valid": int(theta.size), "seed": seed},
    )
