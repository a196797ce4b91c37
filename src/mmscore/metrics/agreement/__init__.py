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

Bad input (arrays of different length, non-finite values, scores off the scale) raises
:class:`~mmscore.errors.MetricInputError` and an unknown option (a weighting, a level)
:class:`~mmscore.errors.MetricOptionError`, both worded "expected X, got Y", naming the position,
and both also ``ValueError``.

Bootstrap resampling is reproducible: ``rng = numpy.random.default_rng(seed)`` then
``rng.integers(0, n, size=(n_boot, n))`` index rows, the same draws ``scipy.stats.bootstrap``
makes with ``rng=default_rng(seed)``.

One module per family; every public name is importable from this package:
``proportions`` (Wilson interval, describe), ``bootstrap``, ``location`` (paired t, Wilcoxon,
rank-biserial), ``correlation``, ``kappa`` (Cohen's, binary), ``krippendorff``, ``mcnemar``,
``equivalence`` (TOST, precision curve); ``_core`` holds the result type, notes and input checks.
"""

from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.metrics.agreement._core import (
    NOTE_ALL_ZERO,
    NOTE_BOOT_CONSTANT,
    NOTE_CONSTANT,
    NOTE_CONSTANT_DIFF,
    NOTE_KAPPA_CONSTANT,
    NOTE_KAPPA_NO_VARIANCE,
    NOTE_NO_PAIRABLE,
    NOTE_NO_VARIATION,
    NOTE_SINGLE_CLASS,
    NOTE_TOO_FEW,
    SCALE,
    StatResult,
    success,
)
from mmscore.metrics.agreement.bootstrap import DEFAULT_N_BOOT, bootstrap_indices, bootstrap_mean_difference
from mmscore.metrics.agreement.correlation import correlation
from mmscore.metrics.agreement.equivalence import (
    DEFAULT_MARGIN,
    half_width,
    items_needed,
    precision_curve,
    tost_paired,
)
from mmscore.metrics.agreement.kappa import binary_kappa, cohen_kappa, confusion_matrix, landis_koch
from mmscore.metrics.agreement.krippendorff import krippendorff_alpha
from mmscore.metrics.agreement.location import paired_t_test, rank_biserial, wilcoxon_signed_rank
from mmscore.metrics.agreement.mcnemar import MCNEMAR_EXACT_BELOW, mcnemar_test
from mmscore.metrics.agreement.proportions import describe, wilson_interval

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_N_BOOT",
    "MCNEMAR_EXACT_BELOW",
    "NOTE_ALL_ZERO",
    "NOTE_BOOT_CONSTANT",
    "NOTE_CONSTANT",
    "NOTE_CONSTANT_DIFF",
    "NOTE_KAPPA_CONSTANT",
    "NOTE_KAPPA_NO_VARIANCE",
    "NOTE_NO_PAIRABLE",
    "NOTE_NO_VARIATION",
    "NOTE_SINGLE_CLASS",
    "NOTE_TOO_FEW",
    "SCALE",
    "SUCCESS_THRESHOLD",
    "StatResult",
    "binary_kappa",
    "bootstrap_indices",
    "bootstrap_mean_difference",
    "cohen_kappa",
    "confusion_matrix",
    "correlation",
    "describe",
    "half_width",
    "items_needed",
    "krippendorff_alpha",
    "landis_koch",
    "mcnemar_test",
    "paired_t_test",
    "precision_curve",
    "rank_biserial",
    "success",
    "tost_paired",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
