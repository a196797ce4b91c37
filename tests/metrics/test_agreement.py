"""mmscore.metrics.agreement against scipy / sklearn / statsmodels / krippendorff and hand-worked examples."""

from __future__ import annotations

import itertools
import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import ttost_paired

from mmscore.errors import InputError
from mmscore.metrics import agreement as ag


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    """60 judge/human score pairs on 1-5 with ties, zero differences and a small bias."""
    rng = np.random.default_rng(7)
    human = rng.integers(1, 6, 60)
    judge = np.clip(human + rng.choice([-2, -1, 0, 0, 0, 1, 1], 60), 1, 5)
    return judge.astype(float), human.astype(float)


# --------------------------------------------------------------------------- Wilson
@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (37, 120), (1, 1)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    res = ag.wilson_interval(k, n)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert res.statistic == pytest.approx(k / n)
    assert res.ci == pytest.approx((lo, hi), abs=1e-12)


def test_wilson_empty_is_documented() -> None:
    out = ag.wilson_interval(0, 0).to_dict()
    assert out["statistic"] is None and out["ci"] is None
    assert out["note"] == "no items; a proportion is undefined"


# --------------------------------------------------------------------------- paired t
def test_paired_t_matches_scipy(pairs) -> None:
    a, b = pairs
    res = ag.paired_t_test(a, b)
    ref = stats.ttest_rel(a, b)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert res.ci == pytest.approx((ci.low, ci.high), rel=1e-10)
    d = a - b
    assert res.extra["effect_size"]["value"] == pytest.approx(d.mean() / d.std(ddof=1))


@pytest.mark.parametrize(
    ("a", "b", "note"),
    [
        ([3], [4], "too few pairs (1); the paired t-test needs at least 2"),
        (
            [1, 2, 3],
            [1, 2, 3],
            "all 3 paired differences are zero (the raters agree on every item); "
            "the t statistic is undefined",
        ),
        (
            [2, 3, 4],
            [1, 2, 3],
            "every paired difference equals 1; the t statistic is undefined (zero variance)",
        ),
    ],
)
def test_paired_t_degenerate(a, b, note) -> None:
    out = ag.paired_t_test(a, b).to_dict()
    assert out["statistic"] is None and out["p_value"] is None and out["ci"] is None
    assert out["note"] == note


# --------------------------------------------------------------------------- Wilcoxon
def test_rank_biserial_hand_worked() -> None:
    # |d| = 1, 2, 3, 0, 4 -> Pratt ranks (zero ranked first) 2, 3, 4, 1, 5
    # R+ = 2 + 4 + 5 = 11, R- = 3  -> r = 8/14 ; Wilcox drops the zero: R+ = 1+3+4 = 8, R- = 2 -> 6/10
    d = [1, -2, 3, 0, 4]
    assert ag.rank_biserial(d, "pratt") == pytest.approx(8 / 14)
    assert ag.rank_biserial(d, "wilcox") == pytest.approx(6 / 10)
    assert ag.rank_biserial([0, 0]) is None


def test_wilcoxon_exact_without_ties_matches_scipy_and_enumeration() -> None:
    a = np.array([1.3, 2.9, 0.4, 5.1, 3.3, 2.2, 4.8, 0.9])
    b = np.array([0.2, 3.5, 0.1, 3.0, 2.7, 2.6, 2.0, 1.0])
    res = ag.wilcoxon_signed_rank(a, b)
    assert "exact null distribution" in res.method
    d = a - b
    ranks = stats.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    flips = itertools.product([0, 1], repeat=8)
    null = np.array([sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in flips])
    p = min(1.0, 2 * min((null <= w_plus).mean(), (null >= w_plus).mean()))
    assert res.p_value == pytest.approx(p, abs=1e-12)
    assert res.statistic == pytest.approx(min(w_plus, ranks.sum() - w_plus))
    assert res.p_value == pytest.approx(stats.wilcoxon(a, b, method="exact").pvalue)


def test_wilcoxon_pratt_normal_approximation_by_formula(pairs) -> None:
    a, b = pairs
    res = ag.wilcoxon_signed_rank(a, b)
    assert "normal approximation" in res.method and "pratt" in res.method
    d = a - b
    n, n0 = d.size, int((d == 0).sum())
    ranks = stats.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    mean = (n * (n + 1) - n0 * (n0 + 1)) / 4
    _, counts = np.unique(np.abs(d[d != 0]), return_counts=True)  # tie groups, zeros excluded (Cureton)
    var = (n * (n + 1) * (2 * n + 1) - n0 * (n0 + 1) * (2 * n0 + 1) - (counts**3 - counts).sum() / 2) / 24
    z = (w_plus - mean) / math.sqrt(var)
    assert res.extra["z"] == pytest.approx(z, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert res.extra["n_zero_differences"] == n0
    rb = (ranks[d > 0].sum() - ranks[d < 0].sum()) / (ranks[d > 0].sum() + ranks[d < 0].sum())
    assert res.extra["effect_size"]["value"] == pytest.approx(rb)


def test_wilcoxon_small_sample_with_zeros_enumerates_sign_flips() -> None:
    a = np.array([3, 4, 2, 5, 3, 1, 4, 4, 2, 5], float)
    b = np.array([3, 2, 2, 3, 4, 1, 2, 5, 1, 3], float)
    res = ag.wilcoxon_signed_rank(a, b)
    assert "exact enumeration" in res.method
    d = a - b
    ranks = stats.rankdata(np.abs(d))  # Pratt: zeros ranked, contribute to neither sum
    moving = [(r, x) for r, x in zip(ranks, d, strict=True) if x != 0]
    obs = sum(r for r, x in moving if x > 0)
    null = np.array(
        [
            sum(r for (r, _), s in zip(moving, signs, strict=True) if s)
            for signs in itertools.product([0, 1], repeat=len(moving))
        ]
    )
    p = min(1.0, 2 * min((null <= obs + 1e-9).mean(), (null >= obs - 1e-9).mean()))
    assert res.p_value == pytest.approx(p, abs=1e-9)


def test_wilcoxon_all_zero_is_documented() -> None:
    out = ag.wilcoxon_signed_rank([1, 2, 3, 4], [1, 2, 3, 4]).to_dict()
    assert out["statistic"] is None and out["p_value"] is None
    assert out["note"].startswith("all 4 paired differences are zero")


# --------------------------------------------------------------------------- correlations
@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        ("pearson", stats.pearsonr),
        ("spearman", stats.spearmanr),
        ("kendall_tau_b", lambda x, y: stats.kendalltau(x, y, variant="b")),
    ],
)
def test_correlations_match_scipy_with_seeded_bootstrap(pairs, kind, ref) -> None:
    a, b = pairs
    res = ag.correlation(a, b, kind, n_boot=300, seed=11)
    expected = ref(a, b)
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert res.p_value == pytest.approx(expected.pvalue, rel=1e-8)
    # the documented resampling scheme, one scipy call per resample
    idx = np.random.default_rng(11).integers(0, a.size, size=(300, a.size))
    boot = np.array([ref(a[i], b[i]).statistic for i in idx])
    boot = boot[np.isfinite(boot)]
    assert res.ci == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), rel=1e-9)
    again = ag.correlation(a, b, kind, n_boot=300, seed=11)
    assert again.ci == res.ci
    assert ag.correlation(a, b, kind, n_boot=300, seed=12).ci != res.ci


def test_correlation_degenerate_messages() -> None:
    out = ag.correlation([3, 3, 3, 3], [1, 2, 3, 4], "spearman").to_dict()
    assert out["statistic"] is None and out["ci"] is None
    assert out["note"] == "the ratings of A are constant (3); Spearman rho is undefined"
    out = ag.correlation([1, 2], [2, 1], "pearson").to_dict()
    assert out["note"] == "too few pairs (2); Pearson r needs at least 3"


# --------------------------------------------------------------------------- kappa
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_sklearn_and_statsmodels(pairs, weights) -> None:
    a, b = pairs
    res = ag.cohen_kappa(a, b, weights)
    assert res.statistic == pytest.approx(cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights=weights))
    table = np.zeros((5, 5))
    for u, v in zip(a.astype(int), b.astype(int), strict=True):
        table[u - 1, v - 1] += 1
    sm = cohens_kappa(table, wt=weights) if weights else cohens_kappa(table)
    assert res.statistic == pytest.approx(sm.kappa)
    assert res.extra["ase"] == pytest.approx(sm.std_kappa, rel=1e-9)
    assert res.p_value == pytest.approx(sm.pvalue_two_sided, rel=1e-9)
    assert res.ci == pytest.approx((sm.kappa_low, sm.kappa_upp), rel=1e-9)


def test_kappa_categories_absent_from_data_still_count() -> None:
    # only 2..4 used: sklearn with labels 1..5 gives the same kappa for unweighted and quadratic
    a, b = [2, 3, 4, 3, 2, 4], [2, 3, 3, 3, 2, 4]
    for w in (None, "quadratic"):
        assert ag.cohen_kappa(a, b, w).statistic == pytest.approx(
            cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights=w)
        )


def test_binary_kappa_matches_sklearn(pairs) -> None:
    a, b = pairs
    res = ag.binary_kappa(a, b)
    assert res.statistic == pytest.approx(cohen_kappa_score(a >= 4, b >= 4))
    assert "binary success (score >= 4)" in res.method


def test_kappa_single_class_is_documented() -> None:
    out = ag.binary_kappa([4, 5, 5], [5, 4, 4]).to_dict()
    assert out["statistic"] is None and out["p_value"] is None and out["ci"] is None
    assert out["note"].startswith(
        "expected chance agreement is 1 (both raters use the single class 'success')"
    )
    out = ag.cohen_kappa([2, 2, 2], [2, 2, 2], "quadratic").to_dict()
    assert "single category 2" in out["note"]


def _table(a, b, labels) -> np.ndarray:
    index = {v: i for i, v in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for u, v in zip(a, b, strict=True):
        table[index[u], index[v]] += 1
    return table


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_kappa_constant_rater_is_zero_without_test_or_interval(weights) -> None:
    """One rater constant: sklearn gives kappa 0; statsmodels' variance is 0/NaN, so there is no
    test and no interval (before: p = 0.99999997 and a ±4e-9 'interval' from rounding noise)."""
    a, b = [3, 3, 3, 3, 3, 3], [1, 2, 3, 4, 5, 3]
    ref = cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights=weights)
    sm = cohens_kappa(_table(a, b, [1, 2, 3, 4, 5]), wt=weights) if weights else cohens_kappa(
        _table(a, b, [1, 2, 3, 4, 5]))
    assert sm.std_kappa0 == pytest.approx(0.0, abs=1e-12)  # the z-test is undefined
    out = ag.cohen_kappa(a, b, weights).to_dict()
    assert out["statistic"] == ref == 0.0
    assert out["p_value"] is None and out["ci"] is None
    assert out["note"].startswith("the ratings of A are constant (category 3): observed agreement equals chance")
    binary = ag.binary_kappa(b, a).to_dict()
    assert binary["statistic"] == cohen_kappa_score(np.array(b) >= 4, np.array(a) >= 4) == 0.0
    assert binary["ci"] is None and "ratings of B are constant (class 'failure')" in binary["note"]


def test_kappa_zero_variance_has_no_zero_width_interval() -> None:
    """Two pairs: statsmodels' ASE is exactly 0, which would make a [k, k] 'interval'."""
    a, b = [5, 2], [4, 1]
    sm = cohens_kappa(_table(a, b, [1, 2, 3, 4, 5]), wt="quadratic")
    assert sm.std_kappa == pytest.approx(0.0, abs=1e-12)
    out = ag.cohen_kappa(a, b, "quadratic").to_dict()
    assert out["statistic"] == pytest.approx(cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights="quadratic"))
    assert sm.std_kappa0 > 0  # the z-test of kappa = 0 is still defined
    assert out["p_value"] == pytest.approx(sm.pvalue_two_sided, rel=1e-9)
    assert out["ci"] is None
    assert out["note"] == "the large-sample variance of Cohen's kappa (quadratic) is 0 with these 2 pairs; no interval"
    both = ag.cohen_kappa(a, b).to_dict()  # unweighted: both variances are 0
    assert both["statistic"] == cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5])
    assert both["ci"] is None and both["p_value"] is None
    assert both["note"].endswith("is 0 with these 2 pairs; no test or interval")


def test_kappa_interval_truncated_to_range() -> None:
    """statsmodels' Wald interval here reaches 1.264; kappa cannot exceed 1."""
    a, b = [2, 3, 4, 5, 2, 3], [1, 2, 3, 4, 1, 2]
    sa, sb = (np.array(a) >= 4).astype(int), (np.array(b) >= 4).astype(int)
    sm = cohens_kappa(_table(sa, sb, [0, 1]))
    assert sm.kappa_upp > 1
    res = ag.binary_kappa(a, b)
    assert res.statistic == pytest.approx(cohen_kappa_score(sa, sb))
    assert res.p_value == pytest.approx(sm.pvalue_two_sided, rel=1e-9)
    assert res.ci == pytest.approx((sm.kappa_low, 1.0), rel=1e-9)
    assert "truncated to kappa's range [-1, 1]" in res.note


def test_correlation_interval_stays_in_range() -> None:
    """Perfectly related scores: every resample's r is 1 up to rounding; the CI must not pass 1."""
    b = np.array([1, 2, 3, 4, 1, 2], dtype=float)  # with seed 0 a resampled Pearson r is 1 + 4e-16
    for kind in ("pearson", "spearman", "kendall_tau_b"):
        res = ag.correlation(b + 1.0, b, kind, n_boot=500)
        assert res.statistic == pytest.approx(1.0)
        assert -1.0 <= res.ci[0] <= res.ci[1] <= 1.0


def test_kappa_rejects_off_scale_scores() -> None:
    with pytest.raises(
        InputError, match=r"b: value 0 at position 1 is not one of the categories \[1, 2, 3, 4, 5\]"
    ):
        ag.cohen_kappa([1, 2], [1, 0])


# --------------------------------------------------------------------------- Krippendorff
KRIPP_EXAMPLE = np.array(
    [  # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", 4 observers x 12 units
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)


def test_krippendorff_published_example() -> None:
    assert ag.krippendorff_alpha(KRIPP_EXAMPLE, "nominal").statistic == pytest.approx(0.743, abs=5e-4)
    assert ag.krippendorff_alpha(KRIPP_EXAMPLE, "interval").statistic == pytest.approx(0.849, abs=5e-4)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_matches_package(level) -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(1, 6, 40)
    data = np.clip(truth + rng.integers(-1, 2, (4, 40)), 1, 5).astype(float)
    data[rng.random((4, 40)) < 0.3] = np.nan  # missing ratings
    for matrix in (data, KRIPP_EXAMPLE):
        ours = ag.krippendorff_alpha(matrix, level).statistic
        assert ours == pytest.approx(krippendorff.alpha(matrix, level_of_measurement=level), rel=1e-10)


def test_krippendorff_unit_bootstrap_is_seeded() -> None:
    first = ag.krippendorff_alpha(KRIPP_EXAMPLE, n_boot=200, seed=5)
    assert first.ci == ag.krippendorff_alpha(KRIPP_EXAMPLE, n_boot=200, seed=5).ci
    assert first.ci[0] <= first.statistic <= first.ci[1]
    # the same unit bootstrap written out: resample columns, recompute with the reference package
    idx = np.random.default_rng(5).integers(0, 12, size=(200, 12))
    domain = np.unique(KRIPP_EXAMPLE[~np.isnan(KRIPP_EXAMPLE)])
    boot = []
    for cols in idx:
        with np.errstate(all="ignore"):
            value = krippendorff.alpha(
                KRIPP_EXAMPLE[:, cols], level_of_measurement="ordinal", value_domain=domain
            )
        if np.isfinite(value):
            boot.append(value)
    assert first.ci == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), rel=1e-9)


def test_krippendorff_degenerate_messages() -> None:
    out = ag.krippendorff_alpha([[3, 3, 3], [3, 3, np.nan]]).to_dict()
    assert out["statistic"] is None
    assert (
        out["note"] == "every pairable value is 3: there is no variation, so Krippendorff's alpha (ordinal) "
        "is undefined"
    )
    out = ag.krippendorff_alpha([[1, np.nan], [np.nan, 2]]).to_dict()
    assert out["note"].startswith("fewer than 2 pairable values")


# --------------------------------------------------------------------------- McNemar
def test_mcnemar_exact_and_chi2_match_statsmodels() -> None:
    rng = np.random.default_rng(2)
    a = rng.random(200) < 0.5
    b = np.where(rng.random(200) < 0.8, a, ~a)
    table = [[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]]
    res = ag.mcnemar_test(a, b)
    assert "chi-square" in res.method  # about 40 discordant pairs
    ref = mcnemar(table, exact=False, correction=True)
    assert res.statistic == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue)
    small = ag.mcnemar_test(a[:30], b[:30])
    t30 = [[(a[:30] & b[:30]).sum(), (a[:30] & ~b[:30]).sum()], [(~a[:30] & b[:30]).sum(), 0]]
    ref = mcnemar(t30, exact=True)
    assert "exact binomial" in small.method
    assert small.statistic == ref.statistic and small.p_value == pytest.approx(ref.pvalue)


def test_mcnemar_no_discordant_pairs() -> None:
    out = ag.mcnemar_test([True, False, True], [True, False, True]).to_dict()
    assert out["statistic"] == 0.0 and out["p_value"] == 1.0
    assert out["note"] == "no discordant pairs: both scorers give every item the same success label"


# --------------------------------------------------------------------------- bootstrap
@pytest.mark.parametrize("seed", [0, 42])
def test_bca_matches_scipy_same_resamples(pairs, seed) -> None:
    a, b = pairs
    res = ag.bootstrap_mean_difference(a, b, n_boot=999, seed=seed)
    ref = stats.bootstrap((a - b,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(seed))
    assert res.statistic == pytest.approx((a - b).mean())
    assert res.ci == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), abs=1e-12)
    assert res.extra["bootstrap_se"] == pytest.approx(ref.standard_error)


def test_bca_continuous_data_matches_scipy() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.gamma(2.0, size=35), rng.gamma(2.2, size=35)
    res = ag.bootstrap_mean_difference(a, b, n_boot=1500, seed=3)
    ref = stats.bootstrap((a - b,), np.mean, n_resamples=1500, method="BCa", rng=np.random.default_rng(3))
    assert res.ci == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), abs=1e-12)


def test_bootstrap_constant_differences() -> None:
    out = ag.bootstrap_mean_difference([2, 3, 4], [1, 2, 3]).to_dict()
    assert out["statistic"] == 1.0 and out["ci"] == [1.0, 1.0]
    assert out["note"] == "every paired difference equals 1, so every resample does: the interval is 1 to 1"
    assert ag.bootstrap_mean_difference([1], [2]).to_dict()["ci"] is None


# --------------------------------------------------------------------------- TOST / precision
@pytest.mark.parametrize("margin", [0.5, 0.2])
def test_tost_matches_statsmodels(pairs, margin) -> None:
    a, b = pairs
    res = ag.tost_paired(a, b, margin=margin)
    p, lower, upper = ttost_paired(a, b, -margin, margin)
    assert res.p_value == pytest.approx(p, rel=1e-9)
    assert res.extra["t_lower"] == pytest.approx(lower[0]) and res.extra["t_upper"] == pytest.approx(upper[0])
    ci = stats.ttest_rel(a, b).confidence_interval(0.90)
    assert res.ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert res.extra["equivalent"] == (p < 0.05)


def test_tost_items_needed_by_brute_force(pairs) -> None:
    a, b = pairs
    res = ag.tost_paired(a, b, margin=0.5)
    d = a - b
    sd, room = d.std(ddof=1), 0.5 - abs(d.mean())
    n = 2
    while stats.t.ppf(0.95, n - 1) * sd / math.sqrt(n) > room:
        n += 1
    assert res.extra["n_items_for_equivalence"] == n


def test_precision_curve_formula_and_required_items(pairs) -> None:
    a, b = pairs
    curve = ag.precision_curve(a, b, n_values=[5, 20, 60, 200])
    sd = (a - b).std(ddof=1)
    expected = [stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) for n in (5, 20, 60, 200)]
    assert curve["half_width"] == pytest.approx(expected, rel=1e-12)
    for target, needed in curve["n_required"].items():
        n = 2
        while stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) > float(target):
            n += 1
        assert needed == n


def test_precision_curve_too_few() -> None:
    out = ag.precision_curve([1], [2])
    assert out["note"] == "too few pairs (1); the precision curve needs at least 2" and out["n"] == []


# --------------------------------------------------------------------------- misc
def test_describe_by_hand() -> None:
    out = ag.describe([1, 4, 5, 2])
    assert out["mean"] == 3.0 and out["median"] == 3.0 and out["sd"] == pytest.approx(math.sqrt(10 / 3))
    assert out["success_rate"] == 0.5


def test_input_errors_name_the_position() -> None:
    with pytest.raises(InputError, match="equal length, got 3 and 2"):
        ag.paired_t_test([1, 2, 3], [1, 2])
    with pytest.raises(InputError, match="a: value at position 1 is not a finite number"):
        ag.correlation([1, float("nan"), 3], [1, 2, 3])


def test_to_dict_never_contains_nan(pairs) -> None:
    a, b = pairs
    results = [
        ag.paired_t_test(a, b),
        ag.wilcoxon_signed_rank(a, b),
        ag.cohen_kappa(a, b),
        ag.tost_paired(a, b),
        ag.mcnemar_test(a >= 4, b >= 4),
    ]
    for res in results:
        for value in res.to_dict().values():
            assert not (isinstance(value, float) and math.isnan(value))
