"""``mmscore analyze stats``: how well does scorer A (e.g. a VLM judge) agree with scorer B (people)?

Replaces the original ``analysis/stats.py`` where it was unsound: skipped/failed scorings are
excluded (not scored 0); every bootstrap is seeded; Wilcoxon handles zero differences (Pratt) and
reports an effect size; kappa is computed on the fixed 1-5 categories and also weighted and on
binary success; Krippendorff's α uses every rater including several annotators; McNemar compares
binary success; and the "convergence analysis" (first n where a random subsample's t-test stops
being significant, which confuses "no evidence of a difference" with "equivalent") is replaced by a
TOST equivalence test with a stated margin and a precision curve that says how many items a
target interval width needs.

All statistics are from :mod:`mmscore.metrics.agreement`; this module pairs items, runs them,
and writes ``stats.json``, ``report.md``, ``pairs.csv`` and the figures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmscore.analysis import plots
from mmscore.analysis.load import describe_exclusions, load_scorings
from mmscore.analysis.pairing import KEY_TEXT, RULE_TEXT, align_experiments, pair_items, rating_matrix
from mmscore.analysis.performance import order_domains
from mmscore.analysis.style import FORMATS, save_figure
from mmscore.io.atomic import atomic_write_json, atomic_write_text
from mmscore.io.tables import write_table
from mmscore.metrics import agreement as ag
from mmscore.provenance import run_info, signature_string

TEST_KEYS = (
    "pearson",
    "spearman",
    "kendall_tau_b",
    "cohen_kappa",
    "quadratic_weighted_kappa",
    "binary_kappa",
    "krippendorff_alpha_ordinal",
    "paired_t",
    "wilcoxon",
    "mcnemar",
    "bootstrap_mean_diff",
    "tost",
)


def compare_pairs(
    a: np.ndarray,
    b: np.ndarray,
    *,
    seed: int = 0,
    n_boot: int = ag.DEFAULT_N_BOOT,
    margin: float = ag.DEFAULT_MARGIN,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Every two-rater statistic on paired 1-5 scores (``a - b`` is the difference), as JSON dicts."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    boot = {"n_boot": n_boot, "seed": seed, "confidence": confidence}
    out: dict[str, Any] = {
        "pearson": ag.correlation(a, b, "pearson", **boot).to_dict(),
        "spearman": ag.correlation(a, b, "spearman", **boot).to_dict(),
        "kendall_tau_b": ag.correlation(a, b, "kendall_tau_b", **boot).to_dict(),
        "cohen_kappa": ag.cohen_kappa(a, b, None, confidence=confidence).to_dict(),
        "quadratic_weighted_kappa": ag.cohen_kappa(a, b, "quadratic", confidence=confidence).to_dict(),
        "binary_kappa": ag.binary_kappa(a, b, confidence=confidence).to_dict(),
        "paired_t": ag.paired_t_test(a, b, confidence).to_dict(),
        "wilcoxon": ag.wilcoxon_signed_rank(a, b).to_dict(),
        "mcnemar": ag.mcnemar_test(ag.success(a), ag.success(b)).to_dict(),
        "bootstrap_mean_diff": ag.bootstrap_mean_difference(a, b, **boot).to_dict(),
        # TOST at alpha = 1 - confidence (0.05 by default), i.e. the 90% interval inside ±margin
        "tost": ag.tost_paired(a, b, margin=margin, alpha=1 - confidence).to_dict(),
    }
    return out


def _by_domain(pairs, confidence: float) -> list[dict[str, Any]]:
    rows = []
    for domain in order_domains(pairs["domain"].unique().tolist()):
        sub = pairs[pairs["domain"] == domain]
        a, b = sub["score_a"].to_numpy(float), sub["score_b"].to_numpy(float)
        t = ag.paired_t_test(a, b, confidence)
        qwk = ag.cohen_kappa(a, b, "quadratic", confidence=confidence)
        rows.append(
            {
                "domain": domain,
                "n": len(sub),
                "mean_a": float(a.mean()),
                "mean_b": float(b.mean()),
                "mean_difference": float((a - b).mean()),
                "mean_difference_ci": t.to_dict()["ci"],
                "success_rate_a": float(ag.success(a).mean()),
                "success_rate_b": float(ag.success(b).mean()),
                "binary_agreement": float((ag.success(a) == ag.success(b)).mean()),
                "quadratic_weighted_kappa": qwk.to_dict()["statistic"],
                "note": t.note or qwk.note,
            }
        )
    return rows


def _measured_raters(matrix: np.ndarray, raters: list[str]) -> list[str]:
    """Raters with a value in a unit that has at least two values: whose agreement alpha measures
    (with no item in common, only one folder's own annotators)."""
    values = ~np.isnan(np.asarray(matrix, dtype=float))
    pairable = values.sum(axis=0) >= 2
    return [rater for rater, row in zip(raters, values, strict=True) if (row & pairable).any()]


def no_pairs_reason(result: dict[str, Any]) -> str | None:
    """Why nothing was paired (None when something was): the sides' experiments and item counts."""
    if result["n_pairs"]:
        return None
    a, b, pairing = result["a"], result["b"], result["pairing"]
    text = (f"no item could be paired (none is scored validly in both folders): A ({a['folder']}) holds experiment(s) "
            f"{', '.join(a['experiments']) or '(none)'}, B ({b['folder']}) holds "
            f"{', '.join(b['experiments']) or '(none)'}; {pairing['only_in_a']} item(s) only in A, "
            f"{pairing['only_in_b']} only in B")
    if not set(a["experiments"]) & set(b["experiments"]):
        text += "; the experiment names differ, so no item can pair (score the same experiment on both sides)"
    return text


def _krippendorff_alphas(
    table_a, table_b, *, seed: int, n_boot: int, confidence: float
) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None]]:
    """Ordinal alpha over every rater of both folders, and within each folder's own annotators
    (None for a folder with fewer than two)."""
    matrix, raters, _n_units = rating_matrix({"A": table_a, "B": table_b})
    alpha = ag.krippendorff_alpha(
        matrix, "ordinal", n_boot=n_boot, seed=seed, confidence=confidence
    ).to_dict()
    alpha["raters"] = raters
    alpha["measured_raters"] = _measured_raters(matrix, raters)
    within: dict[str, dict[str, Any] | None] = {}
    for side in ("A", "B"):  # agreement among one folder's own annotators (several humans)
        rows = [i for i, r in enumerate(raters) if r.startswith(f"{side}:")]
        within[side] = None
        if len(rows) > 1:
            within[side] = ag.krippendorff_alpha(
                matrix[rows], "ordinal", n_boot=n_boot, seed=seed, confidence=confidence
            ).to_dict()
            within[side]["raters"] = [raters[i] for i in rows]
    return alpha, within


def _side_summary(folder: str | os.PathLike[str], name: str, table) -> dict[str, Any]:
    """What one side's folder held: files, exclusions, broken files, experiments."""
    return {
        "folder": str(folder),
        "name": name,
        "files": table.n_files,
        "excluded": table.excluded_counts(),
        "summary": describe_exclusions(table),
        "broken_files": table.broken_files(),
        "experiments": table.experiments,
    }


def _pairing_summary(pairing, key_rule: str, rule: str) -> dict[str, Any]:
    """How items were paired (key, rules) and what was left unpaired."""
    return {
        "key": ["experiment", "model", "task_type", "task_id"] if key_rule == "experiment"
        else ["model", "task_type", "task_id"],
        "key_rule": KEY_TEXT[key_rule],
        "rule": RULE_TEXT[rule],
        **pairing.to_dict(),
    }


def run_stats(
    folder_a: str | os.PathLike[str],
    folder_b: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    n_boot: int = ag.DEFAULT_N_BOOT,
    margin: float = ag.DEFAULT_MARGIN,
    confidence: float = 0.95,
    rule: str = "first",
    formats: Sequence[str] = FORMATS,
    figures: bool = True,
) -> dict[str, Any]:
    """Pair two scorer folders and compute every statistic; write outputs when ``output_dir`` is set.

    Returns the ``stats.json`` content (plus ``files``: the paths written).
    """
    table_a, table_b, key_rule = align_experiments(load_scorings(folder_a), load_scorings(folder_b))
    name_a, name_b = table_a.name, table_b.name
    if name_a == name_b:
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    pairing = pair_items(table_a, table_b, rule)
    pairs = pairing.pairs
    a, b = pairs["score_a"].to_numpy(float), pairs["score_b"].to_numpy(float)

    alpha, within = _krippendorff_alphas(table_a, table_b, seed=seed, n_boot=n_boot, confidence=confidence)
    settings = {
        "analysis": "stats",
        "a": name_a,
        "b": name_b,
        "rule": rule,
        "seed": seed,
        "n_boot": n_boot,
        "margin": margin,
        "confidence": confidence,
        "success_threshold": ag.SUCCESS_THRESHOLD,
    }
    tests = compare_pairs(a, b, seed=seed, n_boot=n_boot, margin=margin, confidence=confidence)
    result: dict[str, Any] = {
        "n_pairs": int(len(pairs)),
        "a": _side_summary(folder_a, name_a, table_a),
        "b": _side_summary(folder_b, name_b, table_b),
        "pairing": _pairing_summary(pairing, key_rule, rule),
        "difference": "A - B",
        "descriptives": {
            "a": ag.describe(a, confidence=confidence),
            "b": ag.describe(b, confidence=confidence),
        },
        **{key: tests[key] for key in TEST_KEYS if key in tests},
        "krippendorff_alpha_ordinal": alpha,
        "krippendorff_alpha_ordinal_a_annotators": within["A"],
        "krippendorff_alpha_ordinal_b_annotators": within["B"],
        "confusion_matrix": {
            "labels": list(ag.SCALE),
            "rows": "A",
            "columns": "B",
            "counts": ag.confusion_matrix(a, b, ag.SCALE).astype(int).tolist(),
        },
        "precision_curve": ag.precision_curve(a, b, confidence=confidence),
        "by_domain": _by_domain(pairs, confidence) if len(pairs) else [],
        "settings": settings,
        "signature": signature_string(settings),
    }
    result["run_info"] = run_info(settings)
    files: list[Path] = []
    if output_dir is not None:
        files = write_outputs(result, pairs, Path(output_dir), formats if figures else ())
    result["files"] = [str(p) for p in files]
    return result


def write_outputs(result: dict[str, Any], pairs, out: Path, formats: Sequence[str]) -> list[Path]:
    """stats.json, report.md, pairs.csv and (if formats) the agreement and precision figures."""
    from mmscore.analysis.report import markdown_report

    files = [write_table(pairs, out / "pairs.csv")]
    names = result["a"]["name"], result["b"]["name"]
    if formats and result["n_pairs"] > 0:
        counts = np.asarray(result["confusion_matrix"]["counts"])
        files += save_figure(
            plots.agreement_heatmap_figure(counts, ag.SCALE, *names), out, "agreement_heatmap", formats
        )
        if result["precision_curve"]["n"]:
            files += save_figure(
                plots.precision_curve_figure(result["precision_curve"]), out, "precision_curve", formats
            )
    stats_path, report_path = out / "stats.json", out / "report.md"
    files += [stats_path, report_path]
    result["files"] = [str(p) for p in files]
    atomic_write_json(stats_path, result)
    atomic_write_text(report_path, markdown_report(result))
    return files
