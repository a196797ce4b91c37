"""Agreement and comparison statistics for two raters scoring the same items (judge vs people).

Pure functions on arrays: no file access, no plotting. Scores live on the VMEvalKit 1-5 scale
and *binary success* means ``score >= 4`` (seed ``001``, "Binary Grading System"). Paired
functions take ``a`` and ``b`` of equal length; every difference is ``d = a - b`` (A minus B,
e.g. judge minus human).

Every test returns a :class:`StatResult`; ``to_dict()`` gives the JSON form
``{"statistic", "p_value", ["ci", "confidence"], "n", "method", "note", ...}``, with ``ci``
present exactly for the statistics that have one.

Degenerate input never raises and never yields NaN: the value that cannot be computed is ``None``
and ``note`` says why, with one of these messages (``{...}`` filled in):

* ``NOTE_TOO_FEW``: "too few pairs ({n}); {what} needs at least {k}"
* ``NOTE_CONSTANT``: "the ratings of {which} are constant ({value}); {what} is undefined"
  (correlations)
* ``NOTE_ALL_ZERO``: "all {n} paired differences are zero (the raters agree on every item); {what}
  is undefined" (t-test, Wilcoxon)
* ``NOTE_CONSTANT_DIFF``: "every paired difference equals {value}; {what} is undefined (zero
  variance)" (t-test, TOST; the bootstrap then reports the single value as its interval)
* ``NOTE_SINGLE_CLASS``: "expected chance agreement is 1 (both raters use the single category
  {value}); {what} is undefined" (kappa; binary kappa names the class 'success' or 'failure')
* ``NOTE_KAPPA_CONSTANT``: "the ratings of {which} are constant (category {value}): observed
  agreement equals chance agreement, so {what} is 0 by construction and has no test or interval"
  (kappa is reported as 0, as sklearn does; p-value and interval are None)
* ``NOTE_KAPPA_NO_VARIANCE``: "the large-sample variance of {what} is 0 with these {n} pairs; no
  {missing}" (``missing``: "interval", "test" (variance under H0) or "test or interval"; e.g.
  two pairs: an interval of zero width would claim certainty)
* ``NOTE_NO_PAIRABLE``: "fewer than 2 pairable values (units rated by at least two raters); {what}
  is undefined" (Krippendorff's alpha)
* ``NOTE_NO_VARIATION``: "every pairable value is {value}: there is no variation, so {what} is
  undefined" (Krippendorff's alpha)

* ``NOTE_BOOT_CONSTANT``: "every paired difference equals {value}, so every resample does: the
  interval is {value} to {value}" (bootstrap of the mean difference: a degenerate, not a missing,
  interval)

McNemar with no discordant pairs is well defined (statistic 0, p = 1) and says so in ``note``.

Programming errors (arrays of different length, non-finite values, scores off the scale) raise
:class:`~mmscore.errors.InputError` naming the position.

Bootstrap resampling is reproducible: ``rng = numpy.random.default_rng(seed)`` then
``rng.integers(0, n, size=(n_boot, n))`` index rows, the same draws ``scipy.stats.bootstrap``
makes with ``rng=default_rng(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from mmscore.errors import InputError

SCALE: tuple[int, ...] = (1, 2, 3, 4, 5)
SUCCESS_THRESHOLD = 4
DEFAULT_MARGIN = 0.5
DEFAULT_N_BOOT = 2000
#: McNemar uses the exact binomial test when fewer discordant pairs than this exist.
MCNEMAR_EXACT_BELOW = 25

NOTE_TOO_FEW = "too few pairs ({n}); {what} needs at least {k}"
NOTE_CONSTANT = "the ratings of {which} are constant ({value}); {what} is undefined"
NOTE_ALL_ZERO = "all {n} paired differences are zero (the raters agree on every item); {what} is undefined"
NOTE_CONSTANT_DIFF = "every paired difference equals {value}; {what} is undefined (zero variance)"
NOTE_SINGLE_CLASS = (
    "expected chance agreement is 1 (both raters use the single category {value}); {what} is undefined"
)
NOTE_NO_PAIRABLE = "fewer than 2 pairable values (units rated by at least two raters); {what} is undefined"
NOTE_BOOT_CONSTANT = (
    "every paired difference equals {value}, so every resample does: the interval is {value} to {value}"
)
NOTE_NO_VARIATION = "every pairable value is {value}: there is no variation, so {what} is undefined"
NOTE_KAPPA_CONSTANT = (
    "the ratings of {which} are constant (category {value}): observed agreement equals chance "
    "agreement, so {what} is 0 by construction and has no test or interval"
)
NOTE_KAPPA_NO_VARIANCE = "the large-sample variance of {what} is 0 with these {n} pairs; no {missing}"


# --------------------------------------------------------------------------- result type
def _num(value: Any) -> float | None:
    """A finite float or None (NaN/inf never leave this module)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class StatResult:
    """One statistic or test. ``ci`` is only meaningful when ``has_ci`` is True."""

    statistic: float | None
    p_value: float | None = None
    ci: tuple[float, float] | None = None
    has_ci: bool = False
    confidence: float | None = None
    n: int = 0
    method: str = ""
    note: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statistic": _num(self.statistic), "p_value": _num(self.p_value)}
        if self.has_ci:
            ci = None
            if self.ci is not None and all(_num(v) is not None for v in self.ci):
                ci = [float(self.ci[0]), float(self.ci[1])]
            out["ci"] = ci
            out["confidence"] = self.confidence
        out.update({"n": int(self.n), "method": self.method, "note": self.note})
        out.update(dict(self.extra))
        return out


def _degenerate(
    note: str, n: int, method: str, *, has_ci: bool = False, confidence: float | None = None, **extra: Any
) -> StatResult:
    return StatResult(
        statistic=None,
        has_ci=has_ci,
        confidence=confidence if has_ci else None,
        n=n,
        method=method,
        note=note,
        extra=extra,
    )


# --------------------------------------------------------------------------- input checks
def _vector(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D sequence of scores, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(
            f"{name}: value at position {int(bad[0])} is not a finite number ({float(arr[bad[0]])})"
        )
    return arr


def _paired(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = _vector(a, "a"), _vector(b, "b")
    if x.shape != y.shape:
        raise InputError(f"paired statistics need a and b of equal length, got {x.size} and {y.size}")
    return x, y


def _on_scale(x: np.ndarray, labels: Sequence[int], name: str) -> np.ndarray:
    allowed = np.asarray(labels)
    off = np.flatnonzero(~np.isin(x, allowed))
    if off.size:
        raise InputError(
            f"{name}: value {_fmt(x[off[0]])} at position {int(off[0])} is not one of the "
            f"categories {list(labels)}"
        )
    return x


def _fmt(value: float) -> str:
    return f"{value:g}"


def success(scores: Sequence[float] | np.ndarray, threshold: float = SUCCESS_THRESHOLD) -> np.ndarray:
    """Binary success per item (seed 001: scores 4 and 5 are correct, 1-3 incorrect)."""
    return np.asarray(scores, dtype=float) >= threshold


# --------------------------------------------------------------------------- proportions
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> StatResult:
    """Success proportion with the Wilson score interval (better than Wald near 0 and 1).

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise InputError(f"wilson_interval: need 0 <= successes <= n, got successes={successes}, n={n}")
    method = "Wilson score interval"
    if n == 0:
        return _degenerate(
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


# --------------------------------------------------------------------------- descriptives
def describe(
    x: Sequence[float] | np.ndarray, threshold: float = SUCCESS_THRESHOLD, confidence: float = 0.95
) -> dict[str, Any]:
    """n, mean, sd (ddof=1), median, min, max, success rate with its Wilson interval."""
    arr = _vector(x, "scores")
    n = int(arr.size)
    wins = int(success(arr, threshold).sum())
    rate = wilson_interval(wins, n, confidence)
    return {
        "n": n,
        "mean": _num(arr.mean()) if n else None,
        "sd": _num(arr.std(ddof=1)) if n > 1 else None,
        "median": _num(np.median(arr)) if n else None,
        "min": _num(arr.min()) if n else None,
        "max": _num(arr.max()) if n else None,
        "success_rate": _num(rate.statistic),
        "success_ci": list(rate.ci) if rate.ci else None,
    }


# --------------------------------------------------------------------------- bootstrap core
def bootstrap_indices(n: int, n_boot: int, seed: int | None) -> np.ndarray:
    """``(n_boot, n)`` resampling indices, identical to scipy.stats.bootstrap's draws for this seed."""
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1, got {n_boot}")
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
    """
    x, y = _paired(a, b)
    d = x - y
    n = d.size
    method = f"BCa bootstrap ({n_boot} resamples, seed {seed}), pairs resampled"
    if n < 2:
        return _degenerate(
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
            note=NOTE_BOOT_CONSTANT.format(value=_fmt(d[0])),
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
        extra={"n_boot": n_boot, "seed": seed, "bootstrap_se": _num(theta.std(ddof=1))},
    )


# --------------------------------------------------------------------------- location tests
def paired_t_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> StatResult:
    """Student's paired t-test of mean(a - b) = 0, with the t interval of the mean difference and
    Cohen's d_z = mean(d) / sd(d) as effect size."""
    x, y = _paired(a, b)
    d = x - y
    n = d.size
    method = "paired t-test (two-sided)"
    if n < 2:
        return _degenerate(
            NOTE_TOO_FEW.format(n=n, what="the paired t-test", k=2),
            n,
            method,
            has_ci=True,
            confidence=confidence,
        )
    if np.all(d == d[0]):
        note = (
            NOTE_ALL_ZERO.format(n=n, what="the t statistic")
            if d[0] == 0
            else NOTE_CONSTANT_DIFF.format(value=_fmt(d[0]), what="the t statistic")
        )
        return _degenerate(
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
    """
    arr = _vector(d, "differences")
    if zero_method == "wilcox":
        arr = arr[arr != 0]
    elif zero_method != "pratt":
        raise InputError(f"zero_method must be 'pratt' or 'wilcox', got {zero_method!r}")
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
    """
    x, y = _paired(a, b)
    d = x - y
    n = d.size
    what = "the Wilcoxon signed-rank test"
    if n < 2:
        return _degenerate(NOTE_TOO_FEW.format(n=n, what=what, k=2), n, "Wilcoxon signed-rank")
    if np.all(d == 0):
        return _degenerate(NOTE_ALL_ZERO.format(n=n, what=what), n, "Wilcoxon signed-rank")
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
        extra["z"] = _num(res.zstatistic)
    return StatResult(
        statistic=float(res.statistic),
        p_value=_num(res.pvalue),
        n=n,
        method=f"Wilcoxon signed-rank, zero_method={zero_method}, {label}",
        extra=extra,
    )


# --------------------------------------------------------------------------- correlations
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
    """
    if kind not in _CORRELATIONS:
        raise InputError(f"unknown correlation {kind!r}; choose one of {sorted(_CORRELATIONS)}")
    label, point, boot = _CORRELATIONS[kind]
    x, y = _paired(a, b)
    n = x.size
    method = f"{label}; percentile bootstrap CI ({n_boot} resamples, seed {seed}), pairs resampled"
    if n < 3:
        return _degenerate(
            NOTE_TOO_FEW.format(n=n, what=label, k=3), n, method, has_ci=True, confidence=confidence
        )
    for which, arr in (("A", x), ("B", y)):
        if np.all(arr == arr[0]):
            return _degenerate(
                NOTE_CONSTANT.format(which=which, value=_fmt(arr[0]), what=label),
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
        p_value=_num(res.pvalue),
        ci=ci,
        has_ci=True,
        confidence=confidence,
        n=n,
        method=method,
        note=note,
        extra={"n_boot": n_boot, "n_boot_valid": int(theta.size), "seed": seed},
    )


# --------------------------------------------------------------------------- kappa
def landis_koch(value: float | None) -> str | None:
    """Landis & Koch (1977) verbal band for a kappa-type coefficient."""
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
    """
    x, y = _paired(a, b)
    labels = list(labels)
    x, y = _on_scale(x, labels, "a"), _on_scale(y, labels, "b")
    kind = weights or "unweighted"
    if weights not in (None, "linear", "quadratic"):
        raise InputError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    what = f"Cohen's kappa ({kind})"
    method = f"{what} on categories {labels}; z-test of kappa=0 and Wald CI (Fleiss-Cohen-Everitt variances)"
    n = x.size
    if n < 2:
        return _degenerate(
            NOTE_TOO_FEW.format(n=n, what=what, k=2), n, method, has_ci=True, confidence=confidence
        )
    k = len(labels)
    pos = np.arange(k, dtype=float)
    dist = np.abs(pos[:, None] - pos[None, :]) / (k - 1)
    w = {None: np.eye(k), "linear": 1 - dist, "quadratic": 1 - dist**2}[weights]
    p = confusion_matrix(x, y, labels) / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    pe = float((w * np.outer(rows, cols)).sum())
    po = float((w * p).sum())
    if pe >= 1 - 1e-12:
        return _degenerate(
            NOTE_SINGLE_CLASS.format(value=_fmt(x[0]), what=what),
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
                note=NOTE_KAPPA_CONSTANT.format(which=which, value=_fmt(arr[0]), what=what),
                extra={"weights": kind, "observed_agreement": po, "expected_agreement": pe},
            )
    kappa = (po - pe) / (1 - pe)
    w_row = w @ cols  # w̄_i. = Σ_j p_.j w_ij
    w_col = rows @ w  # w̄_.j = Σ_i p_i. w_ij
    spread = w_row[:, None] + w_col[None, :]
    var = ((p * (w - spread * (1 - kappa)) ** 2).sum() - (kappa - pe * (1 - kappa)) ** 2) / (
        (1 - pe) ** 2 * n
    )
    var0 = ((np.outer(rows, cols) * (w - spread) ** 2).sum() - pe**2) / ((1 - pe) ** 2 * n)
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    extra: dict[str, Any] = {
        "weights": kind,
        "observed_agreement": po,
        "expected_agreement": pe,
        "interpretation": landis_koch(kappa),
    }
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
        extra={**extra, "ase": se, "z": _num(z)},
    )


def binary_kappa(
    a: Sequence[float], b: Sequence[float], threshold: float = SUCCESS_THRESHOLD, confidence: float = 0.95
) -> StatResult:
    """Unweighted Cohen's κ on binary success (score >= threshold)."""
    x, y = _paired(a, b)
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


# --------------------------------------------------------------------------- Krippendorff
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
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise InputError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2:
        raise InputError(f"krippendorff_alpha: expected raters x units, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise InputError("krippendorff_alpha: infinite values are not ratings (use NaN for missing)")
    what = f"Krippendorff's alpha ({level})"
    method = what + (f"; percentile unit-bootstrap CI ({n_boot} resamples, seed {seed})" if n_boot else "")
    has_ci = n_boot > 0
    values = np.unique(arr[~np.isnan(arr)])
    units = _unit_coincidences(arr, values) if values.size else np.zeros((arr.shape[1], 0, 0))
    n_pairable_units = int((np.sum(~np.isnan(arr), axis=0) >= 2).sum())
    extra = {
        "n_raters": int(arr.shape[0]),
        "n_units": int(arr.shape[1]),
        "n_pairable_units": n_pairable_units,
    }

    def alpha_of(coinc: np.ndarray) -> float | None:
        marg = coinc.sum(axis=1)
        total = marg.sum()
        if total < 2:
            return None
        delta = _delta(values, marg, level)
        expected = (np.outer(marg, marg) * delta).sum()
        if expected <= 0:
            return None
        return float(1 - (total - 1) * (coinc * delta).sum() / expected)

    coinc = units.sum(axis=0)
    n_values = float(coinc.sum()) if coinc.size else 0.0
    if n_values < 2:
        return _degenerate(
            NOTE_NO_PAIRABLE.format(what=what),
            n_pairable_units,
            method,
            has_ci=has_ci,
            confidence=confidence,
            **extra,
        )
    alpha = alpha_of(coinc)
    if alpha is None:
        only = values[coinc.sum(axis=1) > 0]
        return _degenerate(
            NOTE_NO_VARIATION.format(value=_fmt(only[0]), what=what),
            n_pairable_units,
            method,
            has_ci=has_ci,
            confidence=confidence,
            **extra,
        )
    ci, note = None, None
    if has_ci:
        idx = bootstrap_indices(arr.shape[1], n_boot, seed)
        flat = units.reshape(units.shape[0], -1)
        boot_alpha = []
        for start in range(0, n_boot, 256):  # bounded memory: 256 resamples x units at a time
            block = idx[start : start + 256]
            weights = np.stack([np.bincount(row, minlength=arr.shape[1]) for row in block]).astype(float)
            boot_coinc = (weights @ flat).reshape(len(block), values.size, values.size)
            boot_alpha += [alpha_of(c) for c in boot_coinc]
        theta = np.array([a for a in boot_alpha if a is not None])
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


# --------------------------------------------------------------------------- McNemar
def mcnemar_test(
    a_success: Sequence[bool], b_success: Sequence[bool], exact_below: int = MCNEMAR_EXACT_BELOW
) -> StatResult:
    """McNemar's test of equal success rates on paired binary outcomes.

    With ``b`` = pairs where only A succeeds and ``c`` = only B succeeds: when ``b + c <
    exact_below`` the exact two-sided binomial test (``statistic = min(b, c)``,
    ``p = min(1, 2 P(X <= min(b,c)))``, X ~ Bin(b + c, 1/2)); otherwise the χ² statistic with
    Edwards' continuity correction ``(|b - c| - 1)² / (b + c)`` on 1 df. ``method`` says which.
    """
    x = np.asarray(a_success, dtype=bool)
    y = np.asarray(b_success, dtype=bool)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"mcnemar_test needs two 1-D arrays of equal length, got {x.shape} and {y.shape}")
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
        return _degenerate(NOTE_TOO_FEW.format(n=0, what="McNemar's test", k=1), 0, "McNemar", **extra)
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


# --------------------------------------------------------------------------- equivalence / planning
def half_width(sd: float, n: int | np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Expected half-width of the t interval of a mean: ``t_{(1+c)/2, n-1} · sd / √n``."""
    n_arr = np.asarray(n, dtype=float)
    return stats.t.ppf(0.5 + confidence / 2, n_arr - 1) * sd / np.sqrt(n_arr)


def items_needed(sd: float, target: float, confidence: float = 0.95, max_n: int = 10_000_000) -> int | None:
    """Smallest n >= 2 whose expected half-width is <= target (None if beyond ``max_n``)."""
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
    """
    if margin <= 0:
        raise InputError(f"the equivalence margin must be positive, got {margin}")
    x, y = _paired(a, b)
    d = x - y
    n = d.size
    confidence = 1 - 2 * alpha
    method = f"TOST, two one-sided paired t-tests, margin ±{margin:g}, alpha {alpha:g}"
    extra: dict[str, Any] = {"margin": margin, "alpha": alpha}
    if n < 2:
        return _degenerate(
            NOTE_TOO_FEW.format(n=n, what="TOST", k=2),
            n,
            method,
            has_ci=True,
            confidence=confidence,
            equivalent=None,
            **extra,
        )
    mean = float(d.mean())
    if np.all(d == d[0]):
        base = (
            NOTE_ALL_ZERO.format(n=n, what="the t statistic")
            if d[0] == 0
            else NOTE_CONSTANT_DIFF.format(value=_fmt(d[0]), what="the t statistic")
        )
        note = (
            base
            + f"; the constant difference lies {'inside' if abs(mean) < margin else 'outside'} the margin"
        )
        return _degenerate(
            note,
            n,
            method,
            has_ci=True,
            confidence=confidence,
            equivalent=None,
            mean_difference=mean,
            **extra,
        )
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
    extra.update(
        {
            "df": df,
            "mean_difference": mean,
            "t_lower": t_lower,
            "p_lower": p_lower,
            "t_upper": t_upper,
            "p_upper": p_upper,
            "equivalent": bool(p < alpha),
            "n_items_for_equivalence": needed,
        }
    )
    note = (
        None
        if room > 0
        else (
            "the observed mean difference is not inside the margin; more items "
            "cannot show equivalence unless the mean difference shrinks"
        )
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
    """
    x, y = _paired(a, b)
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
        raise InputError("precision_curve: every n must be at least 2")
    if sd == 0:
        what = "a planning estimate"
        note = (
            NOTE_ALL_ZERO.format(n=n, what=what)
            if d[0] == 0
            else NOTE_CONSTANT_DIFF.format(value=_fmt(d[0]), what=what)
        )
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
