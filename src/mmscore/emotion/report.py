"""Presenting emotion results: rich tables, seed-style Markdown tables, CSV and a confusion PNG.

The Markdown results table copies the layout of the Emotion-LLaMA benchmark tables
(``| Method | Modality | F1 Score |`` for MER, ``| Method | UAR | WAR |`` for DFEW,
``| Models | Clue Overlap | Label Overlap |`` for EMER) and their number style: MER as
fractions with four decimals (0.9036), DFEW as percentages with two (45.59), EMER 0–10 scores
with two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from mmscore.io.tables import write_table

METRIC_TITLES = {
    "accuracy": "Accuracy", "weighted_f1": "F1 Score", "macro_f1": "Macro F1", "uar": "UAR", "war": "WAR",
    "combined": "Combined", "valence_mse": "Valence MSE", "average": "Score", "precision": "Precision",
    "recall": "Recall", "final": "Score", "clue_overlap": "Clue Overlap", "label_overlap": "Label Overlap",
    "bleu": "BLEU", "rouge_l": "ROUGE-L", "weighted_precision": "Precision (weighted)",
    "weighted_recall": "Recall (weighted)",
}
_PERCENT_PRESETS = {"dfew"}
_RAW_SCALE = {"clue_overlap", "label_overlap", "bleu", "valence_mse"}


def format_value(value: Any, key: str, percent: bool) -> str:
    """A number the way the benchmark tables print it ('-' for missing/NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key in _RAW_SCALE:
        return f"{value:.2f}"
    return f"{100 * value:.2f}" if percent else f"{value:.4f}"


def headline_keys(summary: dict[str, Any]) -> list[str]:
    task = summary.get("task")
    if task == "emer":
        return [k for k in ("clue_overlap", "label_overlap", "bleu", "rouge_l") if summary.get(k) is not None]
    if task == "ov":
        return ["precision", "recall", "average"]
    if task == "ov-wheel":
        return ["level1_f", "final"]
    return list(summary.get("headline", {}))


def results_markdown(summaries: Sequence[dict[str, Any]], methods: Sequence[str],
                     keys: Sequence[str] | None = None) -> str:
    """One row per method in the seed's benchmark-table style."""
    if not summaries:
        return ""
    keys = list(keys) if keys else headline_keys(summaries[0])
    first_col = "Models" if summaries[0].get("task") == "emer" else "Method"
    has_modality = any(s.get("modality") for s in summaries)
    titles = [first_col] + (["Modality"] if has_modality else []) + [
        METRIC_TITLES.get(k, "Level-1 F" if k == "level1_f" else k) for k in keys]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for summary, method in zip(summaries, methods, strict=True):
        percent = summary.get("preset") in _PERCENT_PRESETS
        cells = [method] + ([summary.get("modality") or "-"] if has_modality else [])
        cells += [format_value(summary.get(k), k, percent) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def per_class_frame(summary: dict[str, Any]) -> pd.DataFrame:
    rows = [{"class": label, **values} for label, values in summary["per_class"].items()]
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support", "predicted"])


def confusion_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """Gold classes as rows, predicted classes as columns (+ ``(other)``: out-of-set or missing)."""
    cm = summary["confusion_matrix"]
    frame = pd.DataFrame(cm["matrix"], columns=cm["labels"])
    if any(cm["other"]):
        frame["(other)"] = cm["other"]
    frame.insert(0, "gold", cm["labels"])
    return frame


def print_classification(console: Any, summary: dict[str, Any], method: str) -> None:
    """Headline numbers, per-class scores and the out-of-set report as rich tables."""
    from rich.table import Table

    percent = summary.get("preset") in _PERCENT_PRESETS
    head = Table(title=f"{method} — {summary['preset']}" + (f" (compat {summary['compat']})" if summary.get("compat")
                                                           else ""))
    head.add_column("metric")
    head.add_column("value", justify="right")
    head.add_row("n", str(summary["n"]))
    for key in ("accuracy", "weighted_f1", "macro_f1", "uar", "war", "valence_mse", "combined"):
        if key in summary:
            head.add_row(METRIC_TITLES.get(key, key) + (" *" if key in summary.get("headline", {}) else ""),
                         format_value(summary[key], key, percent))
    oos = summary["out_of_set"]
    head.add_row("out-of-set answers", f"{oos['count']} (scored as {oos['scored_as']})")
    head.add_row("missing predictions", str(summary["missing"]["count"]))
    console.print(head)
    classes = Table(title="per class")
    for column in ("class", "precision", "recall", "F1", "support", "predicted"):
        classes.add_column(column, justify="left" if column == "class" else "right")
    for label, values in summary["per_class"].items():
        classes.add_row(label, f"{values['precision']:.4f}", f"{values['recall']:.4f}", f"{values['f1']:.4f}",
                        str(values["support"]), str(values["predicted"]))
    console.print(classes)
    confusion = confusion_frame(summary)
    matrix = Table(title="confusion matrix (rows: gold, columns: predicted)")
    for column in confusion.columns:
        matrix.add_column(str(column), justify="left" if column == "gold" else "right")
    for row in confusion.itertuples(index=False):
        matrix.add_row(*(str(v) for v in row))
    console.print(matrix)
    if oos["most_common"]:
        shown = ", ".join(f"{item['answer']!r}×{item['count']}" for item in oos["most_common"][:8])
        console.print(f"out-of-set answers: {shown}")


def print_summary(console: Any, summary: dict[str, Any], method: str) -> None:
    """A two-column table of the headline numbers of any task."""
    from rich.table import Table

    table = Table(title=f"{method} — {summary.get('task')}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("n", "n_samples"):
        if key in summary:
            table.add_row(key, str(summary[key]))
    for key in headline_keys(summary):
        table.add_row(METRIC_TITLES.get(key, key), format_value(summary.get(key), key, False))
    if "missing" in summary:
        table.add_row("missing predictions", str(summary["missing"]["count"]))
    if "grouping" in summary:
        table.add_row("grouping", str(summary["grouping"]))
    console.print(table)
    for warning in summary.get("warnings") or []:
        console.print(f"[yellow]warning: {warning}[/yellow]")


def write_confusion_png(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix with counts (an extra column for out-of-set/missing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cm = summary["confusion_matrix"]
    labels = list(cm["labels"])
    matrix = np.asarray(cm["matrix"], dtype=float)
    other = np.asarray(cm["other"], dtype=float)
    columns = labels
    if other.sum() > 0:
        matrix = np.concatenate([matrix, other[:, None]], axis=1)
        columns = labels + ["(other)"]
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(4.0, 0.8 * len(columns) + 2)
    fig, ax = plt.subplots(figsize=(size, size * len(labels) / len(columns) + 0.8))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted" + (" — (other): out-of-set or missing" if other.sum() > 0 else ""))
    ax.set_ylabel("gold")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=9)
    ax.set_title(title or f"confusion matrix ({summary.get('preset')})")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def companion(output: Path, suffix: str) -> Path:
    """``out.json`` → ``out.<suffix>`` (e.g. ``out.samples.csv``)."""
    return output.with_name(output.stem + suffix)


CLASSIFICATION_COMPANIONS = (".samples.csv", ".per_class.csv", ".confusion.csv", ".md", ".confusion.png")
TASK_COMPANIONS = (".samples.csv", ".md")


def output_files(output: str | Path | None, companions: tuple[str, ...]) -> list[Path]:
    """Every file a result ``output`` writes (itself and its companions), for the output checks."""
    if output is None:
        return []
    output = Path(output)
    return [output, *(companion(output, suffix) for suffix in companions)]


def write_classification_outputs(summary: dict[str, Any], samples: pd.DataFrame, output: str | Path,
                                 method: str, plot: bool = True) -> list[Path]:
    """JSON + per-sample, per-class and confusion CSVs + Markdown table (+ confusion PNG) beside ``output``."""
    output = Path(output)
    written = [atomic_write_json(output, summary)]
    written.append(write_table(samples, companion(output, ".samples.csv")))
    written.append(write_table(per_class_frame(summary), companion(output, ".per_class.csv")))
    written.append(write_table(confusion_frame(summary), companion(output, ".confusion.csv")))
    written.append(atomic_write_text(companion(output, ".md"), results_markdown([summary], [method])))
    if plot:
        written.append(write_confusion_png(summary, companion(output, ".confusion.png"), title=method))
    return written


def write_task_outputs(summary: dict[str, Any], samples: pd.DataFrame | None, output: str | Path,
                       method: str) -> list[Path]:
    """JSON + per-sample CSV + Markdown table for the OV/wheel/EMER tasks."""
    output = Path(output)
    written = [atomic_write_json(output, summary)]
    if samples is not None:
        frame = samples.copy()
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
                frame[column] = frame[column].map(lambda v: v if not isinstance(v, (list, dict)) else str(v))
        written.append(write_table(frame, companion(output, ".samples.csv")))
    written.append(atomic_write_text(companion(output, ".md"), results_markdown([summary], [method])))
    return written
