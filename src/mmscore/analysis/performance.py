"""``mmscore analyze plot``: success rates per model and per domain, as CSV tables and figures.

One score per item (see :mod:`mmscore.analysis.pairing`, rule ``first`` by default) so an item
rated by two annotators is not counted twice. Binary success is ``score >= 4``. Rates come with
95% Wilson intervals; skipped and failed scorings are excluded and reported per model, never
scored 0 (the original plot.py's default).

Outputs in ``output_dir``: ``model_summary.csv``, ``domain_summary.csv``,
``model_domain_summary.csv``, ``summary.json`` (counts, exclusions, models left without any valid
score, provenance) and the figures
``success_rate_by_model``, ``domain_heatmap``, ``score_distribution`` in each format.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmscore.analysis import plots
from mmscore.analysis.load import ScoringTable, describe_broken, describe_exclusions, load_scorings
from mmscore.analysis.pairing import RULE_TEXT, item_scores
from mmscore.analysis.style import FORMATS, save_figure
from mmscore.defaults import SUCCESS_THRESHOLD
from mmscore.errors import InputError
from mmscore.io.atomic import atomic_write_json
from mmscore.io.tables import write_table
from mmscore.metrics.agreement import wilson_interval
from mmscore.provenance import run_info

#: the original analysis' domain order (paper figures); other domains follow alphabetically
DOMAIN_ORDER = ("sudoku", "raven", "maze", "chess", "rotation")


def order_domains(domains: Sequence[str]) -> list[str]:
    known = [d for d in DOMAIN_ORDER if d in set(domains)]
    return known + sorted(set(domains) - set(DOMAIN_ORDER))


def summarize(items: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per group: n, mean/sd/median score, successes, success rate with Wilson CI, counts of 1-5."""
    rows = []
    for key, group in items.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        scores = group["score"].to_numpy(dtype=float)
        wins = int((scores >= SUCCESS_THRESHOLD).sum())
        rate = wilson_interval(wins, len(scores), confidence)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row.update(
            {
                "n": len(scores),
                "mean_score": scores.mean(),
                "sd_score": scores.std(ddof=1) if len(scores) > 1 else np.nan,
                "median_score": float(np.median(scores)),
                "successes": wins,
                "success_rate": rate.statistic,
                "ci_low": rate.ci[0],
                "ci_high": rate.ci[1],
            }
        )
        for s in range(1, 6):
            row[f"score_{s}"] = int((scores == s).sum())
        rows.append(row)
    columns = [
        *by,
        "n",
        "mean_score",
        "sd_score",
        "median_score",
        "successes",
        "success_rate",
        "ci_low",
        "ci_high",
        *(f"score_{s}" for s in range(1, 6)),
    ]
    return pd.DataFrame(rows, columns=columns)


def _excluded(table: ScoringTable, by: list[str]) -> pd.DataFrame:
    bad = table.frame[~table.frame["included"]]
    if bad.empty:
        return pd.DataFrame(columns=[*by, "excluded"])
    return bad.groupby(by).size().rename("excluded").reset_index()


@dataclass(frozen=True)
class PerformanceTables:
    models: pd.DataFrame
    domains: pd.DataFrame
    cells: pd.DataFrame
    items: pd.DataFrame
    domain_order: list[str] = field(default_factory=list)


def performance_tables(
    table: ScoringTable, rule: str = "first", confidence: float = 0.95
) -> PerformanceTables:
    """Per-model (ranked by success rate), per-domain and per model x domain summaries."""
    items = item_scores(table, rule)
    if items.empty:
        raise InputError(
            f"{table.folder}: no completed scoring with a 1-5 score ({describe_exclusions(table)}); "
            "nothing to plot"
        )
    models = summarize(items, ["model"], confidence)
    models = models.merge(_excluded(table, ["model"]), on="model", how="left")
    models["excluded"] = models["excluded"].fillna(0).astype(int)
    models = models.sort_values(["success_rate", "mean_score", "model"], ascending=[False, False, True])
    models.insert(0, "rank", range(1, len(models) + 1))
    cells = summarize(items, ["model", "domain"], confidence)
    domains = summarize(items, ["domain"], confidence)
    macro = cells.groupby("domain")["success_rate"].mean().rename("macro_success_rate")
    domains = domains.merge(macro, on="domain", how="left")
    domains = domains.merge(_excluded(table, ["domain"]), on="domain", how="left")
    domains["excluded"] = domains["excluded"].fillna(0).astype(int)
    order = order_domains(domains["domain"].tolist())
    domains = domains.set_index("domain").loc[order].reset_index()
    return PerformanceTables(models.reset_index(drop=True), domains, cells, items, order)


def run_plot(
    eval_folder: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    formats: Sequence[str] = FORMATS,
    rule: str = "first",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Build the tables and figures for one scorer folder; returns a summary with every output path."""
    table = load_scorings(eval_folder)
    tabs = performance_tables(table, rule, confidence)
    out = Path(output_dir)
    files: list[Path] = [
        write_table(tabs.models, out / "model_summary.csv"),
        write_table(tabs.domains, out / "domain_summary.csv"),
        write_table(tabs.cells, out / "model_domain_summary.csv"),
    ]
    model_order = tabs.models["model"].tolist()
    figures = {
        "success_rate_by_model": plots.success_rate_figure(tabs.models),
        "domain_heatmap": plots.domain_heatmap_figure(tabs.cells, model_order, tabs.domain_order),
        "score_distribution": plots.score_distribution_figure(
            tabs.models.set_index("model")[[f"score_{s}" for s in range(1, 6)]].set_axis(range(1, 6), axis=1)
        ),
    }
    for stem, fig in figures.items():
        files.extend(save_figure(fig, out, stem, formats))
    multi = int((tabs.items["n_ratings"] > 1).sum())
    unscored = _models_without_scores(table, tabs.items)
    summary = {
        "eval_folder": str(eval_folder),
        "scorer_folder": table.name,
        "n_files": table.n_files,
        "n_items": len(tabs.items),
        "excluded": table.excluded_counts(),
        "items_with_several_ratings": multi,
        "rule": RULE_TEXT[rule],
        "success_threshold": SUCCESS_THRESHOLD,
        "overall": _overall(tabs.items, confidence),
        "models_without_scores": unscored,
        "exclusions_text": describe_exclusions(table),
        "broken_files": table.broken_files(),
        "broken_files_text": describe_broken(table),
        "run_info": run_info(
            {"analysis": "plot", "rule": rule, "confidence": confidence, "threshold": SUCCESS_THRESHOLD}
        ),
    }
    files.append(atomic_write_json(out / "summary.json", {**summary, "files": [str(p) for p in files]}))
    return {**summary, "tables": tabs, "files": files, "output_dir": out}


def _models_without_scores(table: ScoringTable, items: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Models whose every scoring was excluded (absent from tables and figures), by reason."""
    frame = table.frame[~table.frame["model"].isin(set(items["model"]))]
    return {
        str(model): dict(sorted(group["reason"].value_counts().astype(int).items()))
        for model, group in frame.groupby("model", sort=True)
    }


def _overall(items: pd.DataFrame, confidence: float) -> dict[str, Any]:
    scores = items["score"].to_numpy(dtype=float)
    rate = wilson_interval(int((scores >= SUCCESS_THRESHOLD).sum()), len(scores), confidence)
    return {
        "n": len(scores),
        "mean_score": float(scores.mean()),
        "success_rate": rate.statistic,
        "ci": list(rate.ci) if rate.ci else None,
    }
