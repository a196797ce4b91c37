"""Shared pieces of the agreement statistics: the result type, the notes, input checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.errors import MetricInputError

SCALE: tuple[int, ...] = (1, 2, 3, 4, 5)

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

def finite_or_none(value: Any) -> float | None:
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
        out: dict[str, Any] = {"statistic": finite_or_none(self.statistic), "p_value": finite_or_none(self.p_value)}
        if self.has_ci:
            ci = None
            if self.ci is not None and all(finite_or_none(v) is not None for v in self.ci):
                ci = [float(self.ci[0]), float(self.ci[1])]
            out["ci"] = ci
            out["confidence"] = self.confidence
        out.update({"n": int(self.n), "method": self.method, "note": self.note})
        out.update(dict(self.extra))
        return out


def degenerate(
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


def score_vector(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise MetricInputError(name, "a 1-D sequence of scores", f"shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise MetricInputError(
            f"{name}: value at position {int(bad[0])} is not a finite number",
            "a finite score (leave unrated items out)",
            float(arr[bad[0]]),
        )
    return arr


def paired_vectors(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = score_vector(a, "a"), score_vector(b, "b")
    if x.shape != y.shape:
        raise MetricInputError("a and b", "paired sequences of equal length", f"{x.size} and {y.size}")
    return x, y


def on_categories(x: np.ndarray, labels: Sequence[int], name: str) -> np.ndarray:
    allowed = np.asarray(labels)
    off = np.flatnonzero(~np.isin(x, allowed))
    if off.size:
        value = fmt(x[off[0]])
        raise MetricInputError(
            f"{name}: value {value} at position {int(off[0])} is not one of the categories {list(labels)}",
            "a rating on that scale",
            value,
        )
    return x


def fmt(value: float) -> str:
    return f"{value:g}"


def constant_difference_note(d: np.ndarray, what: str) -> str:
    """The note for paired differences that are all equal: all zero, or all the same non-zero value."""
    if d[0] == 0:
        return NOTE_ALL_ZERO.format(n=d.size, what=what)
    return NOTE_CONSTANT_DIFF.format(value=fmt(d[0]), what=what)


def success(scores: Sequence[float] | np.ndarray, threshold: float = SUCCESS_THRESHOLD) -> np.ndarray:
    """Binary success per item (seed 001: scores 4 and 5 are correct, 1-3 incorrect).

    >>> success([3, 4, 5]).tolist()
    [False, True, True]
    """
    return np.asarray(scores, dtype=float) >= threshold
