"""Krippendorff's alpha for any number of raters with missing ratings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmscore.errors import MetricInputError, MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_NO_PAIRABLE,
    NOTE_NO_VARIATION,
    StatResult,
    degenerate,
    fmt,
)
from mmscore.metrics.agreement.bootstrap import bootstrap_indices
from mmscore.metrics.agreement.kappa import landis_koch


def _delta(values: np.ndarray, marginals: np.ndarray, level: str) -> np.ndarray:
    """Squared difference function δ²_ck for the metric (Krippendorff 2011, 'Computing α')."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            out = ((c - k) / (c + k)) ** 2
        return np.nan_to_num(out)
    # ordinal: (Σ_{g=c..k} n_g - (n_c + n_k)/2)², over the sorted categories
    cum = np.concatenate([[0.0], np.cumsum(marginals)])
    i, j = np.meshgrid(np.arange(values.size), np.arange(values.size), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    between = cum[hi + 1] - cum[lo]
    return (between - (marginals[i] + marginals[j]) / 2) ** 2


def _unit_coincidences(data: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per unit ``(U, K, K)`` coincidence contributions: Σ_{i≠j} [v_i=c][v_j=k] / (m_u - 1)."""
    counts = np.stack([(data == v).sum(axis=0) for v in values], axis=1).astype(float)  # (U, K)
    m = counts.sum(axis=1)
    out = counts[:, :, None] * counts[:, None, :]
    idx = np.arange(values.size)
    out[:, idx, idx] -= counts
    pairable = m >= 2
    out[pairable] /= (m[pairable] - 1)[:, None, None]
    out[~pairable] = 0.0
    return out


def krippendorff_alpha(
    data: Sequence[Sequence[float]] | np.ndarray,
    level: str = "ordinal",
    *,
    n_boot: int = 0,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> StatResult:
    """Krippendorff's α for any number of raters with missing values.

    ``data`` is raters × units with NaN for "not rated". From the coincidence matrix ``o_ck``
    (marginals ``n_c``, total ``n`` pairable values): ``α = 1 - (n - 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck``.
    Units rated once are not pairable and drop out. With ``n_boot > 0`` a percentile interval from
    resampling *units* (seeded) is added; this is a plain unit bootstrap, not Krippendorff's own
    (2004) resampling of pairable values.

    Example (nominal): coincidences o_11 = 4, o_22 = 2, o_12 = o_21 = 1, so n = 8, n_1 = 5, n_2 = 3 and
    alpha = 1 - (8 - 1) * 2 / (2 * 5 * 3) = 8/15:

    >>> r = krippendorff_alpha([[1, 1, 2, 2], [1, 1, 2, 1]], level="nominal")
    >>> round(r.statistic, 4), r.n
    (0.5333, 4)
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise MetricOptionError("level", "nominal, ordinal, interval or ratio", repr(level))
    arr = _ratings(data)
    what = f"Krippendorff's alpha ({level})"
    method = what + (f"; percentile unit-bootstrap CI ({n_boot} resamples, seed {seed})" if n_boot else "")
    has_ci = n_boot > 0
    values = np.unique(arr[~np.isnan(arr)])
    units = _unit_coincidences(arr, values) if values.size else np.zeros((arr.shape[1], 0, 0))
    n_pairable_units = int((np.sum(~np.isnan(arr), axis=0) >= 2).sum())
    extra = {"n_raters": int(arr.shape[0]), "n_units": int(arr.shape[1]), "n_pairable_units": n_pairable_units}
    coinc = units.sum(axis=0)
    n_values = float(coinc.sum()) if coinc.size else 0.0
    if n_values < 2:
        return degenerate(NOTE_NO_PAIRABLE.format(what=what), n_pairable_units, method, has_ci=has_ci,
                          confidence=confidence, **extra)
    alpha = _alpha(coinc, values, level)
    if alpha is None:
        only = values[coinc.sum(axis=1) > 0]
        return degenerate(NOTE_NO_VARIATION.format(value=fmt(only[0]), what=what), n_pairable_units, method,
                          has_ci=has_ci, confidence=confidence, **extra)
    ci, note = None, None
    if has_ci:
        theta = _unit_bootstrap(units, values, level, n_boot, seed)
        extra["n_boot_valid"] = int(theta.size)
        if theta.size:
            lo, hi = np.percentile(theta, [50 * (1 - confidence), 50 * (1 + confidence)])
            ci = (float(lo), float(hi))
        else:
            note = "no bootstrap resample had variation; no interval"
    extra["interpretation"] = landis_koch(alpha)
    return StatResult(
        statistic=alpha,
        ci=ci,
        has_ci=has_ci,
        confidence=confidence if has_ci else None,
        n=n_pairable_units,
        method=method,
        note=note,
        extra=extra,
    )


def _ratings(data: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """A raters x units float array; NaN means "not rated", infinity is refused."""
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2:
        raise MetricInputError("krippendorff_alpha", "a raters x units array", f"shape {arr.shape}")
    if np.isinf(arr).any():
        rater, unit = (int(i) for i in np.argwhere(np.isinf(arr))[0])
        raise MetricInputError(
            "krippendorff_alpha",
            "finite ratings with NaN for 'not rated'",
            f"{arr[rater, unit]} (rater {rater}, unit {unit})",
        )
    return arr


def _alpha(coinc: np.ndarray, values: np.ndarray, level: str) -> float | None:
    """Alpha of one coincidence matrix, None when fewer than 2 pairable values or no variation."""
    marg = coinc.sum(axis=1)
    total = marg.sum()
    if total < 2:
        return None
    delta = _delta(values, marg, level)
    expected = (np.outer(marg, marg) * delta).sum()
    if expected <= 0:
        return None
    return float(1 - (total - 1) * (coinc * delta).sum() / expected)


def _unit_bootstrap(units: np.ndarray, values: np.ndarray, level: str, n_boot: int, seed: int | None) -> np.ndarray:
    """Alpha of ``n_boot`` seeded resamples of units (the undefined ones dropped)."""
    n_units = units.shape[0]
    idx = bootstrap_indices(n_units, n_boot, seed)
    flat = units.reshape(n_units, -1)
    boot_alpha = []
    for start in range(0, n_boot, 256):  # bounded memory: 256 resamples x units at a time
        block = idx[start : start + 256]
        weights = np.stack([np.bincount(row, minlength=n_units) for row in block]).astype(float)
        boot_coinc = (weights @ flat).reshape(len(block), values.size, values.size)
        boot_alpha += [_alpha(c, values, level) for c in boot_coinc]
    return np.array([a for a in boot_alpha if a is not None])
