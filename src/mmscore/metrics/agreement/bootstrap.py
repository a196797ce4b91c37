"""Seeded bootstrap: scipy-identical resampling indices, BCa bounds, the mean paired difference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from mmscore.errors import MetricOptionError
from mmscore.metrics.agreement._core import (
    NOTE_BOOT_CONSTANT,
    NOTE_TOO_FEW,
    StatResult,
    degenerate,
    finite_or_none,
    fmt,
    paired_vectors,
)

DEFAULT_N_BOOT = 2000


def bootstrap_indices(n: int, n_boot: int, seed: int | None) -> np.ndarray:
    """``(n_boot, n)`` resampling indices, identical to scipy.stats.bootstrap's draws for this seed.

    >>> bootstrap_indices(4, n_boot=3, seed=0).shape
    (3, 4)
    """
    if n_boot < 1:
        raise MetricOptionError("n_boot", "at least 1 resample", n_boot)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _bca_bounds(
    theta_hat: float, theta_boot: np.ndarray, jackknife: np.ndarray, confidence: float
) -> tuple[float, float] | None:
    """BCa percentile levels (Efron & Tibshirani 1993, eq. 14.9-14.15), or None if undefined.

    z0 uses the mid-rank proportion ``(#{θ* < θ̂} + #{θ* <= θ̂}) / 2B`` because with 1-5 scores
    many bootstrap means tie with θ̂; the acceleration is the jackknife skewness
    ``a = Σ(θ̄ - θ_i)³ / (6 (Σ(θ̄ - θ_i)²)^{3/2})``.
    """
    B = theta_boot.size
    prop = (np.count_nonzero(theta_boot < theta_hat) + np.count_nonzero(theta_boot <= theta_hat)) / (2 * B)
    if prop <= 0 or prop >= 1:
        return None
    z0 = stats.norm.ppf(prop)
    dev = jackknife.mean() - jackknife
    den = (dev**2).sum()
    accel = (dev**3).sum() / (6 * den**1.5) if den > 0 else 0.0
    levels = []
    for tail in ((1 - confidence) / 2, (1 + confidence) / 2):
        z = stats.norm.ppf(tail)
        levels.append(stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z))))
    return levels[0], levels[1]


def bootstrap_mean_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> StatResult:
    """Mean of ``d = a - b`` with a seeded BCa bootstrap interval (pairs resampled together).

    Falls back to the percentile interval, and says so in ``method`` and ``note``, when BCa is
    undefined (every bootstrap mean on one side of the estimate).

    Example: every difference is 1, so every resample's mean is 1 as well:

    >>> r = bootstrap_mean_difference([3, 4, 5], [2, 3, 4])
    >>> r.statistic, r.ci
    (1.0, (1.0, 1.0))
    """
    x, y = paired_vectors(a, b)
    d = x - y
    n = d.size
    method = f"BCa bootstrap ({n_boot} resamples, seed {seed}), pairs resampled"
    if n < 2:
        return degenerate(
            NOTE_TOO_FEW.format(n=n, what="a bootstrap interval", k=2),
            n,
            method,
            has_ci=True,
            confidence=confidence,
        )
    mean = float(d.mean())
    if np.all(d == d[0]):
        return StatResult(
            statistic=mean,
            ci=(mean, mean),
            has_ci=True,
            confidence=confidence,
            n=n,
            method=method,
            note=NOTE_BOOT_CONSTANT.format(value=fmt(d[0])),
            extra={"n_boot": n_boot, "seed": seed},
        )
    theta = d[bootstrap_indices(n, n_boot, seed)].mean(axis=1)
    jack = (d.sum() - d) / (n - 1)
    levels = _bca_bounds(mean, theta, jack, confidence)
    note = None
    if levels is None:
        levels = ((1 - confidence) / 2, (1 + confidence) / 2)
        method = method.replace("BCa", "percentile")
        note = "BCa undefined (all bootstrap means on one side of the estimate); percentile interval used"
    lo, hi = np.percentile(theta, [100 * levels[0], 100 * levels[1]])
    return StatResult(
        statistic=mean,
        ci=(float(lo), float(hi)),
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        note=note,
        extra={"n_boot": n_boot, "seed": seed, "bootstrap_se": finite_or_none(theta.std(ddof=1))},
    )
