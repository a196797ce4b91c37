"""Loading, pairing, plot tables/figures and the stats report, checked against independent computations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from mmscore.analysis.comparison import TEST_KEYS, run_stats
from mmscore.analysis.load import load_scorings
from mmscore.analysis.pairing import item_scores, pair_items, rating_matrix
from mmscore.analysis.performance import performance_tables, run_plot
from mmscore.analysis.report import markdown_report
from mmscore.errors import ConfigError, InputError

from .conftest import ITEMS, write

KEYED = {(m, tt, tid): v for (m, tt, tid), v in ITEMS.items()}


def _pairs_by_hand() -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(KEYED)  # pairs are sorted by (experiment, model, task_type, task_id)
    return (np.array([KEYED[k][0] for k in keys], float), np.array([KEYED[k][1] for k in keys], float))


def _strict_json(path: Path) -> dict:
    def reject(token: str):
        raise AssertionError(f"{path} contains {token}")

    return json.loads(path.read_text(), parse_constant=reject)


# --------------------------------------------------------------------------- loading / pairing
def test_load_counts_exclusions_and_ignores_aggregates(scorings) -> None:
    judge = load_scorings(scorings["a"])
    assert judge.n_files == 15
    assert judge.excluded_counts() == {"failed": 1, "invalid_score": 1, "skipped": 1}
    assert set(judge.valid["domain"]) == {"chess", "maze"}
    assert judge.valid["score"].min() >= 1  # the 0 was never read as a score


def test_load_empty_folder_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no scoring files found"):
        load_scorings(tmp_path / "empty")


def test_item_scores_rules(scorings) -> None:
    human = load_scorings(scorings["b"])
    first = item_scores(human, "first").set_index(["model", "task_type", "task_id"])
    median = item_scores(human, "median").set_index(["model", "task_type", "task_id"])
    for key, (_, h1, h2) in KEYED.items():
        assert first.loc[key, "score"] == h1
        assert median.loc[key, "score"] == (min(h1, h2) if h2 is not None else h1)  # lower median of two
        assert first.loc[key, "n_ratings"] == (2 if h2 is not None else 1)
    with pytest.raises(ConfigError, match="unknown pairing rule 'mean'"):
        item_scores(human, "mean")


def test_pairing_accounts_for_every_item(scorings) -> None:
    pairing = pair_items(load_scorings(scorings["a"]), load_scorings(scorings["b"]))
    c = pairing.counts
    assert (c["n_pairs"], c["only_in_a"], c["only_in_b"]) == (10, 1, 1)
    assert (c["excluded_in_a"], c["excluded_in_b"], c["excluded_in_both"]) == (3, 1, 0)
    assert pairing.reasons == {"a": {"failed": 1, "invalid_score": 1, "skipped": 1}, "b": {"skipped": 1}}
    a, b = _pairs_by_hand()
    assert pairing.pairs["score_a"].tolist() == a.tolist() and pairing.pairs["score_b"].tolist() == b.tolist()


def test_rating_matrix_has_every_rater(scorings) -> None:
    matrix, raters, n_items = rating_matrix(
        {"A": load_scorings(scorings["a"]), "B": load_scorings(scorings["b"])}
    )
    assert raters == ["A:judge-eval", "B:Ann", "B:Bob"]
    assert matrix.shape == (3, n_items)
    assert np.count_nonzero(~np.isnan(matrix[2])) == 4  # Bob rated four items
    assert np.count_nonzero(~np.isnan(matrix[0])) == 12  # 10 paired + hskip + onlyA


# --------------------------------------------------------------------------- plot
def test_performance_tables_by_hand(scorings) -> None:
    tabs = performance_tables(load_scorings(scorings["a"]))
    models = tabs.models.set_index("model")
    for model in ("m1", "m2"):
        scores = [v[0] for k, v in KEYED.items() if k[0] == model]
        if model == "m1":
            scores.append(5)  # onlyA
        else:
            scores.append(4)  # hskip (valid for the judge)
        wins = sum(s >= 4 for s in scores)
        lo, hi = proportion_confint(wins, len(scores), method="wilson")
        row = models.loc[model]
        assert row["n"] == len(scores)
        assert row["mean_score"] == pytest.approx(np.mean(scores))
        assert row["success_rate"] == pytest.approx(wins / len(scores))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert models.loc["m1", "excluded"] == 2 and models.loc["m2", "excluded"] == 1
    assert tabs.models["rank"].tolist() == [1, 2]
    assert tabs.domain_order == [
        "maze",
        "chess",
    ]  # the original's order: sudoku, raven, maze, chess, rotation


def test_run_plot_writes_nonempty_figures_and_csv(scorings, tmp_path: Path) -> None:
    out = tmp_path / "plots"
    res = run_plot(scorings["a"], out)
    for stem in ("success_rate_by_model", "domain_heatmap", "score_distribution"):
        png, pdf, eps = (out / f"{stem}.{ext}" for ext in ("png", "pdf", "eps"))
        with Image.open(png) as image:
            width, height = image.size
            assert width > 300 and height > 150
            assert len(set(image.convert("L").getdata())) > 10  # something drawn, not a blank canvas
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
        assert eps.read_bytes().startswith(b"%!PS") and eps.stat().st_size > 2000
        assert b".tmp" not in eps.read_bytes()[:400]  # no temporary file name as the EPS %%Title
    models = pd.read_csv(out / "model_summary.csv")
    assert {"model", "n", "mean_score", "success_rate", "ci_low", "ci_high", "excluded"} <= set(
        models.columns
    )
    cells = pd.read_csv(out / "model_domain_summary.csv")
    m1_chess = [v[0] for k, v in KEYED.items() if k[:2] == ("m1", "chess_task")] + [5]
    row = cells[(cells["model"] == "m1") & (cells["domain"] == "chess")].iloc[0]
    assert row["n"] == len(m1_chess) and row["mean_score"] == pytest.approx(np.mean(m1_chess))
    summary = _strict_json(out / "summary.json")
    assert summary["excluded"] == {"failed": 1, "invalid_score": 1, "skipped": 1}
    assert len(res["files"]) == 3 + 9 + 1


def test_plot_with_no_valid_scoring_says_why(tmp_path: Path) -> None:
    write(tmp_path / "j", "j", "m", "chess_task", "t0", None, status="skipped")
    with pytest.raises(
        InputError,
        match=r"no completed scoring with a 1-5 score \(0 of 1 scorings analysed; "
        r"excluded: 1 skipped\)",
    ):
        run_plot(tmp_path / "j", tmp_path / "out")


# --------------------------------------------------------------------------- stats
def test_run_stats_values_match_independent_computations(scorings, tmp_path: Path) -> None:
    out = tmp_path / "stats"
    res = run_stats(scorings["a"], scorings["b"], out, seed=3, n_boot=300, formats=("png",))
    saved = _strict_json(out / "stats.json")
    for key in ("n_pairs", *TEST_KEYS):
        assert key in saved
    for key in TEST_KEYS:
        assert {"statistic", "p_value"} <= set(saved[key]), key
    for key in (
        "pearson",
        "spearman",
        "kendall_tau_b",
        "cohen_kappa",
        "quadratic_weighted_kappa",
        "binary_kappa",
        "krippendorff_alpha_ordinal",
        "paired_t",
        "bootstrap_mean_diff",
        "tost",
    ):
        assert "ci" in saved[key], key
    a, b = _pairs_by_hand()
    assert saved["n_pairs"] == 10
    assert saved["pearson"]["statistic"] == pytest.approx(stats.pearsonr(a, b).statistic)
    assert saved["kendall_tau_b"]["statistic"] == pytest.approx(stats.kendalltau(a, b).statistic)
    assert saved["paired_t"]["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert saved["cohen_kappa"]["statistic"] == pytest.approx(cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5]))
    assert saved["quadratic_weighted_kappa"]["statistic"] == pytest.approx(
        cohen_kappa_score(a, b, labels=[1, 2, 3, 4, 5], weights="quadratic")
    )
    assert saved["binary_kappa"]["statistic"] == pytest.approx(cohen_kappa_score(a >= 4, b >= 4))
    assert saved["bootstrap_mean_diff"]["statistic"] == pytest.approx((a - b).mean())
    # alpha over every rater, the raters x items matrix rebuilt by hand
    items = {k: {} for k in KEYED}
    for k, (j, h1, h2) in KEYED.items():
        items[k] = {"A": j, "Ann": h1, "Bob": h2}
    extra = {
        ("m1", "chess_task", "skip"): {"Ann": 4},
        ("m2", "maze_task", "fail"): {"Ann": 2},
        ("m1", "maze_task", "zero"): {"Ann": 3},
        ("m2", "chess_task", "hskip"): {"A": 4},
        ("m1", "chess_task", "onlyA"): {"A": 5},
        ("m2", "maze_task", "onlyB"): {"Ann": 1},
    }
    items.update(extra)
    keys = sorted(items)
    matrix = np.array(
        [
            [items[k].get(r) if items[k].get(r) is not None else np.nan for k in keys]
            for r in ("A", "Ann", "Bob")
        ],
        float,
    )
    alpha = saved["krippendorff_alpha_ordinal"]
    assert alpha["statistic"] == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="ordinal"))
    assert alpha["raters"] == ["A:judge-eval", "B:Ann", "B:Bob"]
    humans = saved["krippendorff_alpha_ordinal_b_annotators"]
    assert humans["statistic"] == pytest.approx(
        krippendorff.alpha(matrix[1:], level_of_measurement="ordinal")
    )
    assert saved["pairing"]["excluded_reasons"]["a"] == {"failed": 1, "invalid_score": 1, "skipped": 1}
    report = (out / "report.md").read_text()
    assert "**10 items paired**" in report and "| Pearson r |" in report and "Table 4. By domain" in report
    assert (out / "agreement_heatmap.png").stat().st_size > 1000 and (out / "precision_curve.png").exists()
    assert len(pd.read_csv(out / "pairs.csv")) == 10
    assert res["files"] == saved["files"]


def test_run_stats_is_reproducible_with_the_seed(scorings, tmp_path: Path) -> None:
    def numbers(seed: int) -> dict:
        res = run_stats(scorings["a"], scorings["b"], None, seed=seed, n_boot=200)
        return {
            k: res[k] for k in ("pearson", "spearman", "bootstrap_mean_diff", "krippendorff_alpha_ordinal")
        }

    first = numbers(4)
    assert first == numbers(4)
    assert first["pearson"]["ci"] != numbers(5)["pearson"]["ci"]


def test_run_stats_without_overlap_reports_notes_not_nan(tmp_path: Path) -> None:
    write(tmp_path / "a", "a", "m", "chess_task", "t0", 4)
    write(tmp_path / "b", "b", "m", "chess_task", "t1", 2)
    res = run_stats(tmp_path / "a", tmp_path / "b", tmp_path / "out", n_boot=100, formats=("png",))
    saved = _strict_json(tmp_path / "out" / "stats.json")
    assert saved["n_pairs"] == 0 and saved["pairing"]["only_in_a"] == 1 and saved["pairing"]["only_in_b"] == 1
    for key in ("pearson", "paired_t", "wilcoxon", "cohen_kappa", "tost", "bootstrap_mean_diff"):
        assert saved[key]["statistic"] is None and saved[key]["note"].startswith("too few pairs (0)"), key
    assert saved["krippendorff_alpha_ordinal"]["note"].startswith("fewer than 2 pairable values")
    assert "could not be tested" in (tmp_path / "out" / "report.md").read_text()
    assert res["n_pairs"] == 0


def test_run_stats_constant_ratings_give_documented_notes(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / "a", "a", "m", "maze_task", f"t{i}", 5)
        write(tmp_path / "b", "b", "m", "maze_task", f"t{i}", 5)
    res = run_stats(tmp_path / "a", tmp_path / "b", None, n_boot=100)
    assert res["spearman"]["note"] == "the ratings of A are constant (5); Spearman rho is undefined"
    assert res["paired_t"]["note"].startswith("all 6 paired differences are zero")
    assert res["binary_kappa"]["note"].startswith(
        "expected chance agreement is 1 (both raters use the single class 'success')"
    )
    assert res["krippendorff_alpha_ordinal"]["note"].startswith("every pairable value is 5")
    assert res["mcnemar"]["p_value"] == 1.0
    flat = json.dumps(res, default=str)
    assert "NaN" not in flat and "Infinity" not in flat
    report = markdown_report(res)
    assert "equals 0; the t statistic" not in report  # all-zero differences are reported as such
    assert "all 6 paired differences are zero" in report and "| Spearman ρ | — |" in report
    assert res["precision_curve"]["note"].startswith("all 6 paired differences are zero")
    assert res["precision_curve"]["n_required"]["0.1"] is None


def test_median_rule_changes_b_scores(scorings) -> None:
    res = run_stats(scorings["a"], scorings["b"], None, n_boot=100, rule="median")
    a, _ = _pairs_by_hand()
    keys = sorted(KEYED)
    b = np.array(
        [min(KEYED[k][1], KEYED[k][2]) if KEYED[k][2] is not None else KEYED[k][1] for k in keys], float
    )
    assert res["paired_t"]["statistic"] == pytest.approx(stats.ttest_rel(a, b).statistic)
    assert "lower median" in res["pairing"]["rule"]
    assert math.isclose(res["bootstrap_mean_diff"]["statistic"], (a - b).mean())


def test_equivalence_sentence_writes_p_values_as_text() -> None:
    """Running text reads "p < 0.001" / "p = 0.012", never "p = <0.001"."""
    from mmscore.analysis.report import _equivalence_sentence

    tost = {"p_value": 2e-5, "equivalent": True, "confidence": 0.9, "ci": [0.1, 0.3]}
    assert "(TOST p < 0.001; the 90% CI" in _equivalence_sentence(tost, 0.5)
    tost = {"p_value": 0.0123, "equivalent": False, "confidence": 0.9, "ci": [0.1, 0.6]}
    assert "(TOST p = 0.012; 90% CI [0.100, 0.600])" in _equivalence_sentence(tost, 0.5)


def test_within_folder_annotator_alpha_for_either_side(scorings) -> None:
    """Several annotators in folder A (humans as A) get their own α, as in folder B."""
    res = run_stats(scorings["b"], scorings["a"], None, n_boot=100)
    items = {k: {"Ann": v[1], "Bob": v[2]} for k, v in KEYED.items()}
    keys = sorted(items)
    matrix = np.array([[items[k][r] if items[k][r] is not None else np.nan for k in keys] for r in ("Ann", "Bob")])
    humans = res["krippendorff_alpha_ordinal_a_annotators"]
    assert humans["raters"] == ["A:Ann", "A:Bob"]
    assert humans["statistic"] == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="ordinal"))
    assert res["krippendorff_alpha_ordinal_b_annotators"] is None
    assert "| Krippendorff's α (ordinal, A's annotators) |" in markdown_report(res)


def test_internvl_goal_based_results_are_excluded_by_name(tmp_path: Path) -> None:
    """VMEvalKit InternVL writes ``goal_achieved_score`` when there is no final frame; the original
    plot.py read the missing solution score as 0. It is excluded, and the reason says why."""
    from mmscore.io.experiment import scoring_dir, write_scoring

    folder = tmp_path / "internvl-eval"
    write(folder, "InternVLEvaluator", "m", "maze_task", "t0", 4)
    write_scoring(
        scoring_dir(folder, "exp", "m", "maze_task", "t1") / "InternVLEvaluator.json",
        {"model_name": "m", "task_type": "maze_task", "task_id": "t1"},
        {"goal_achieved_score": 5, "evaluation_type": "goal_based", "status": "completed"},
    )
    table = load_scorings(folder)
    assert table.excluded_counts() == {"goal_based": 1}
    assert table.valid["task_id"].tolist() == ["t0"]


def test_unreadable_scoring_file_is_counted_not_ignored(tmp_path: Path) -> None:
    """A truncated JSON file used to vanish silently; it is now an exclusion named by its path."""
    folder = tmp_path / "judge-eval"
    write(folder, "judge-eval", "m", "chess_task", "t0", 5)
    bad = folder / "exp" / "m" / "chess_task" / "t1" / "judge-eval.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"metadata": {}, "result": {"solution_corr')
    table = load_scorings(folder)
    assert table.excluded_counts() == {"unreadable": 1}
    row = table.frame[table.frame["reason"] == "unreadable"].iloc[0]
    assert (row["experiment"], row["model"], row["task_type"], row["task_id"]) == ("exp", "m", "chess_task", "t1")


def test_plot_names_models_left_without_any_valid_score(scorings, tmp_path: Path) -> None:
    """A model whose every scoring was skipped is absent from the ranking; the summary says so."""
    for i in range(2):
        write(scorings["a"], "judge-eval", "ghost", "maze_task", f"g{i}", None, status="skipped")
    res = run_plot(scorings["a"], tmp_path / "plots", formats=("png",))
    assert "ghost" not in set(res["tables"].models["model"])
    saved = _strict_json(tmp_path / "plots" / "summary.json")
    assert saved["models_without_scores"] == {"ghost": {"skipped": 2}}
