"""Paper figures: success rates, model x domain heatmap, score distributions, agreement, precision.

Each function takes tables/arrays and returns a matplotlib ``Figure`` sized for one paper column;
saving is :func:`mmscore.analysis.style.save_figure`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mmscore.analysis.style import (
    COLUMN_WIDTH,
    HEATMAP_CMAP,
    OKABE_ITO,
    SCORE_COLOURS,
    new_figure,
    paper_style,
    text_colour,
)


def _rows_height(n_rows: int, per_row: float = 0.28, extra: float = 0.75) -> float:
    return max(1.6, extra + per_row * n_rows)


def success_rate_figure(models: pd.DataFrame):
    """Horizontal bars of success rate (score >= 4) per model with 95% Wilson intervals.

    ``models`` needs ``model, n, success_rate, ci_low, ci_high`` (rates in 0-1), best first.
    """
    with paper_style():
        fig = new_figure(_rows_height(len(models)))
        ax = fig.add_subplot()
        y = np.arange(len(models))[::-1]
        rate = models["success_rate"].to_numpy(float) * 100
        low = models["ci_low"].to_numpy(float) * 100
        high = models["ci_high"].to_numpy(float) * 100
        ax.barh(y, rate, color=OKABE_ITO["blue"], height=0.65)
        ax.errorbar(
            rate, y, xerr=[rate - low, high - rate], fmt="none", ecolor="black", elinewidth=0.8, capsize=2
        )
        for yi, hi, n in zip(y, high, models["n"], strict=True):
            ax.text(min(hi + 2, 101), yi, f"n={int(n)}", va="center", fontsize=6)
        ax.set_yticks(y, models["model"])
        ax.set_xlim(0, 112)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.set_xlabel("Success rate, score ≥ 4 (%), 95% Wilson CI")
        ax.grid(axis="x", linewidth=0.4, color="#cccccc")
        ax.set_axisbelow(True)
    return fig


def domain_heatmap_figure(cells: pd.DataFrame, models: Sequence[str], domains: Sequence[str]):
    """Model x domain success rates (%) with the value and n printed in every cell.

    ``cells`` needs ``model, domain, n, success_rate``; cells without items say "no items".
    """
    rate = np.full((len(models), len(domains)), np.nan)
    count = np.zeros_like(rate)
    index = {(m, d): (i, j) for i, m in enumerate(models) for j, d in enumerate(domains)}
    for row in cells.itertuples(index=False):
        if (row.model, row.domain) in index:
            i, j = index[(row.model, row.domain)]
            rate[i, j] = row.success_rate * 100
            count[i, j] = row.n
    width = min(7.0, max(COLUMN_WIDTH, 1.6 + 0.62 * len(domains)))
    with paper_style():
        fig = new_figure(_rows_height(len(models), 0.34, 0.95), width=width)
        ax = fig.add_subplot()
        # pcolormesh keeps EPS/PDF vector (imshow would embed a large bitmap)
        image = ax.pcolormesh(
            np.ma.masked_invalid(rate), cmap=HEATMAP_CMAP, vmin=0, vmax=100, edgecolors="white", linewidth=0.5
        )
        ax.set_xlim(0, len(domains))
        ax.set_ylim(len(models), 0)
        cmap = image.get_cmap()
        for i in range(len(models)):
            for j in range(len(domains)):
                if np.isnan(rate[i, j]):  # no scored item: say so, so it is not read as 0%
                    ax.text(
                        j + 0.5, i + 0.5, "no items", ha="center", va="center", fontsize=5.5, color="#777777"
                    )
                    continue
                colour = text_colour(cmap(rate[i, j] / 100))
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{rate[i, j]:.0f}\n(n={int(count[i, j])})",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color=colour,
                    linespacing=0.9,
                )
        ax.set_xticks(np.arange(len(domains)) + 0.5, domains, rotation=30, ha="right")
        ax.set_yticks(np.arange(len(models)) + 0.5, models)
        ax.set_xlabel("Domain (task type)")
        ax.set_ylabel("Model")
        ax.tick_params(length=0)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.set_label("Success rate (%)")
        bar.outline.set_linewidth(0.4)
    return fig


def score_distribution_figure(distribution: pd.DataFrame):
    """100% stacked bars of the share of each score 1-5 per model (``distribution``: index = model,
    columns 1..5 holding counts)."""
    counts = distribution.reindex(columns=[1, 2, 3, 4, 5], fill_value=0).to_numpy(float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) * 100
    with paper_style():
        fig = new_figure(_rows_height(len(distribution), 0.28, 1.05))
        ax = fig.add_subplot()
        y = np.arange(len(distribution))[::-1]
        left = np.zeros(len(distribution))
        for k, colour in zip(range(5), SCORE_COLOURS, strict=True):
            ax.barh(
                y,
                shares[:, k],
                left=left,
                color=colour,
                height=0.65,
                label=str(k + 1),
                edgecolor="white",
                linewidth=0.3,
            )
            for yi, x0, share in zip(y, left, shares[:, k], strict=True):
                if share >= 9:
                    ax.text(
                        x0 + share / 2,
                        yi,
                        f"{share:.0f}",
                        ha="center",
                        va="center",
                        fontsize=5.5,
                        color=text_colour(_hex_rgb(colour)),
                    )
            left += shares[:, k]
        ax.set_yticks(y, distribution.index)
        ax.set_xlim(0, 100)
        ax.set_xlabel("Share of scores (%)")
        ax.legend(
            title="Score",
            ncols=5,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            frameon=False,
            handlelength=1.0,
            columnspacing=0.8,
            title_fontsize=7,
        )
    return fig


def _hex_rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def agreement_heatmap_figure(table: np.ndarray, labels: Sequence[int], name_a: str, name_b: str):
    """Confusion matrix of paired scores (rows A, columns B) with counts; the diagonal is agreement."""
    table = np.asarray(table, dtype=float)
    with paper_style():
        fig = new_figure(COLUMN_WIDTH * 0.92)
        ax = fig.add_subplot()
        vmax = max(table.max(), 1)
        image = ax.pcolormesh(table, cmap=HEATMAP_CMAP, vmin=0, vmax=vmax, edgecolors="white", linewidth=0.5)
        ax.set_aspect("equal")
        cmap = image.get_cmap()
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{int(table[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=text_colour(cmap(table[i, j] / vmax)),
                    fontweight="bold" if i == j else "normal",
                )
        ax.set_xticks(np.arange(len(labels)) + 0.5, labels)
        ax.set_yticks(np.arange(len(labels)) + 0.5, labels)
        ax.set_xlabel(f"{name_b} score")
        ax.set_ylabel(f"{name_a} score")
        ax.tick_params(length=0)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label("Items")
        bar.outline.set_linewidth(0.4)
    return fig


def precision_curve_figure(curve: Mapping[str, Any]):
    """Expected CI half-width of the mean difference against the number of items (log-log: the
    1/sqrt(n) law is a straight line), with the items needed for the target half-widths."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ns = np.asarray(curve["n"], dtype=float)
    hw = np.asarray(curve["half_width"], dtype=float)
    with paper_style():
        fig = new_figure(2.4)
        ax = fig.add_subplot()
        ax.plot(ns, hw, color=OKABE_ITO["blue"], label="expected half-width")
        n_obs = curve.get("n_observed")
        if n_obs:
            ax.plot(
                [n_obs],
                [curve["observed_half_width"]],
                "o",
                color=OKABE_ITO["vermillion"],
                markersize=4,
                label=f"now (n={n_obs})",
            )
        styles = ["--", ":", "-."]
        shown = [(t, n) for t, n in curve.get("n_required", {}).items() if n is not None and n <= ns.max()]
        for (target, n_req), ls in zip(shown[:3], styles, strict=False):
            ax.axhline(
                float(target),
                color=OKABE_ITO["black"],
                linestyle=ls,
                linewidth=0.7,
                label=f"±{target} needs n={n_req}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [t for t in (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5) if hw.min() / 1.5 <= t <= hw.max() * 1.5]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("Number of paired items")
        ax.set_ylabel(f"CI half-width ({int(round(curve['confidence'] * 100))}%)")
        ax.grid(linewidth=0.4, color="#dddddd")
        ax.legend(frameon=False, fontsize=6)
    return fig
