"""MER2025/MER2026 open-vocabulary (MER-FG) metric over the emotion wheels.

As MERTools ``MER2025/MER2025_Track23/my_affectgpt/evaluation/wheel.py`` computes it
(``shared/reference/emotion.md`` B1c), given the released files in one folder:

- ``wheel1`` … ``wheel5`` (columns ``level1, level2, level3``; blank cells continue the value
  above), ``synonym`` (columns ``word_run1..8`` and ``synonym_run1..8``: 8 GPT synonym runs),
  ``format.csv`` (columns ``name, format``: the inflections of each word, comma separated);

each label (lower-cased, stripped) is mapped: inflection → base words (``format``) → wheel words
(``synonym``, merged over the runs) → the first of those, in sorted order, that appears in the
wheel → its level-1 group (or level-2 group; a level-1 word then maps to its alphabetically
first level-2 child). **Labels that cannot be mapped are dropped**; samples whose gold maps to
nothing are skipped. Per wheel: set precision and recall averaged over samples (empty
prediction → 0, 0), F = 2PR/(P+R) from the averages (0 when both are 0: MER2026's guard); the
[F, P, R] triples are averaged over the wheels. ``final`` = mean of the level-1 and level-2 F
(what MER2025 prints, ×100 there); MER2026 reports ``level1`` F only.

Spreadsheets: the release ships ``.xlsx``; reading them needs ``openpyxl``. It is not a
dependency of mmscore, so each sheet may instead be given as CSV with the same base name
(``wheel1.csv``, ``synonym.csv``): export them once with any spreadsheet program. MER2026's
precomputed ``wheel_mapping.npz`` is not read (it holds pickled objects; the spreadsheets carry
the same information).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.emotion.data import OPENSET_COLUMNS, align, load_keyed
from mmscore.emotion.openvocab import parse_label_list
from mmscore.errors import ColumnError, InputError
from mmscore.io.cells import is_blank
from mmscore.io.tables import ONLY_EMPTY_IS_MISSING
from mmscore.metrics.classification import f_from_precision_recall, set_overlap
from mmscore.provenance import run_info, signature_string

LEVELS = ("level1", "level2")
WheelTree = dict[str, dict[str, list[str]]]


def _read_sheet(folder: Path, stem: str) -> tuple[pd.DataFrame, Path]:
    csv = folder / f"{stem}.csv"
    xlsx = folder / f"{stem}.xlsx"
    if csv.exists():
        try:
            frame = pd.read_csv(csv, dtype=str, skipinitialspace=True, encoding="utf-8-sig",
                                **ONLY_EMPTY_IS_MISSING)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{csv}: cannot read CSV: {exc}") from exc
        return frame, csv
    if xlsx.exists():
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise InputError(
                f"{xlsx}: reading .xlsx needs openpyxl, which is not installed; either `pip install openpyxl` "
                f"or export the sheet to {csv.name} (same columns) next to it"
            ) from exc
        return pd.read_excel(xlsx, dtype=str, **ONLY_EMPTY_IS_MISSING), xlsx
    raise InputError(f"{folder}: neither {stem}.csv nor {stem}.xlsx found (emotion-wheel files)")


def read_wheel(frame: pd.DataFrame, where: Path) -> WheelTree:
    """level1 → level2 → [level3], forward-filling blank cells, lower-cased and stripped."""
    for column in ("level1", "level2", "level3"):
        if column not in frame.columns:
            raise ColumnError(column, [str(c) for c in frame.columns], str(where))
    tree: WheelTree = {}
    current = {"level1": "", "level2": "", "level3": ""}
    for position, row in enumerate(frame.itertuples(index=False)):
        values = row._asdict()
        for column in current:
            if not is_blank(values[column]):
                current[column] = str(values[column]).strip().lower()
        if not all(current.values()):
            raise InputError(f"{where}, row {position + 1}: level1/level2/level3 not all known yet")
        tree.setdefault(current["level1"], {}).setdefault(current["level2"], []).append(current["level3"])
    return tree


def wheel_map(tree: WheelTree, level: str) -> dict[str, str]:
    """Every wheel word → its level-1 (or level-2) group, as MERTools ``func_get_wheel_cluster``."""
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    mapping: dict[str, str] = {}
    for level1, children in tree.items():
        mapping[level1] = level1 if level == "level1" else sorted(children)[0]
        for level2, leaves in children.items():
            target = level1 if level == "level1" else level2
            mapping[level2] = target
            for leaf in leaves:
                mapping[leaf] = target
    return mapping


@dataclass
class WheelResources:
    wheels: dict[str, WheelTree]
    format_mapping: dict[str, list[str]]  # word form → base words
    raw_mapping: dict[str, list[str]]  # word → wheel words (synonym runs merged)
    folder: Path


def _synonym_mapping(frame: pd.DataFrame, where: Path) -> dict[str, list[str]]:
    runs = sorted({m.group(1) for c in frame.columns if (m := re.fullmatch(r"word_(run\d+)", str(c)))})
    if not runs:
        raise InputError(f"{where}: no word_run1.. columns (expected word_runN / synonym_runN pairs)")
    merged: dict[str, set[str]] = {}
    for run in runs:
        if f"synonym_{run}" not in frame.columns:
            raise ColumnError(f"synonym_{run}", [str(c) for c in frame.columns], str(where))
        for word, synonyms in zip(frame[f"word_{run}"], frame[f"synonym_{run}"], strict=True):
            if is_blank(word):
                continue
            raw = str(word).strip().lower()
            merged.setdefault(raw, set()).add(raw)
            for synonym in parse_label_list(synonyms):
                merged.setdefault(synonym, set()).add(raw)
    return {key: sorted(values) for key, values in merged.items()}


def _format_mapping(frame: pd.DataFrame, where: Path) -> dict[str, list[str]]:
    for column in ("name", "format"):
        if column not in frame.columns:
            raise ColumnError(column, [str(c) for c in frame.columns], str(where))
    mapping: dict[str, set[str]] = {}
    for name, forms in zip(frame["name"], frame["format"], strict=True):
        if is_blank(name):
            continue
        raw = str(name).strip().lower()
        for form in parse_label_list(forms):
            mapping.setdefault(form, set()).add(raw)
        mapping.setdefault(raw, set()).add(raw)
    return {key: sorted(values) for key, values in mapping.items()}


def load_wheel_resources(folder: str | os.PathLike[str]) -> WheelResources:
    """Read ``wheel1..N``, ``synonym`` and ``format`` from ``folder`` (CSV, or xlsx with openpyxl)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: emotion-wheel folder not found")
    stems = sorted({p.stem for p in folder.iterdir() if re.fullmatch(r"wheel\d+\.(csv|xlsx)", p.name)},
                   key=lambda s: int(s[5:]))
    if not stems:
        raise InputError(f"{folder}: no wheel1.csv/.xlsx ... wheel5 files")
    wheels = {}
    for stem in stems:
        frame, where = _read_sheet(folder, stem)
        wheels[stem] = read_wheel(frame, where)
    synonym_frame, synonym_path = _read_sheet(folder, "synonym")
    format_frame, format_path = _read_sheet(folder, "format")
    return WheelResources(wheels, _format_mapping(format_frame, format_path),
                          _synonym_mapping(synonym_frame, synonym_path), folder)


def map_label(label: str, resources: WheelResources, cluster: dict[str, str]) -> str:
    """MERTools ``func_backward_case3``: '' when the label cannot be placed on the wheel."""
    forms = resources.format_mapping.get(label)
    if forms is None:
        return ""
    candidates = [raw for form in forms for raw in resources.raw_mapping.get(form, [])]
    for word in sorted(candidates):
        if word in cluster:
            return cluster[word]
    return ""


def score_wheel(gold: list[Any], pred: list[Any], resources: WheelResources,
                levels: tuple[str, ...] = LEVELS) -> dict[str, Any]:
    """Per level and wheel: averaged set precision/recall and F; averages over wheels."""
    gold_lists = [parse_label_list(g) for g in gold]
    pred_lists = [parse_label_list(p) for p in pred]
    out: dict[str, Any] = {}
    for level in levels:
        per_wheel = {}
        for wheel_name, tree in resources.wheels.items():
            cluster = wheel_map(tree, level)
            precisions, recalls = [], []
            for g_list, p_list in zip(gold_lists, pred_lists, strict=True):
                g_set = {m for m in (map_label(x, resources, cluster) for x in g_list) if m}
                if not g_set:
                    continue
                p_set = {m for m in (map_label(x, resources, cluster) for x in p_list) if m}
                precision, recall = set_overlap(g_set, p_set)
                precisions.append(precision)
                recalls.append(recall)
            p = sum(precisions) / len(precisions) if precisions else float("nan")
            r = sum(recalls) / len(recalls) if recalls else float("nan")
            per_wheel[wheel_name] = {"f": f_from_precision_recall(p, r) if precisions else float("nan"),
                                     "precision": p, "recall": r, "n": len(precisions)}
        count = len(per_wheel)
        out[level] = {key: sum(w[key] for w in per_wheel.values()) / count for key in ("f", "precision", "recall")}
        out[level]["wheels"] = per_wheel
    return out


def evaluate_wheel(
    gold_path: str | os.PathLike[str],
    pred_path: str | os.PathLike[str],
    wheel_dir: str | os.PathLike[str],
    *,
    gold_key_column: str | None = None,
    gold_label_column: str | None = None,
    pred_key_column: str | None = None,
    pred_label_column: str | None = None,
) -> dict[str, Any]:
    """MER2025 emotion-wheel scores from files (label lists as in MER-OV)."""
    resources = load_wheel_resources(wheel_dir)
    gold = load_keyed(gold_path, role="gold", value_candidates=OPENSET_COLUMNS, key_column=gold_key_column,
                      value_column=gold_label_column, require_value=False)
    pred = load_keyed(pred_path, role="predictions", value_candidates=OPENSET_COLUMNS,
                      key_column=pred_key_column, value_column=pred_label_column, require_value=False)
    aligned = align(gold, pred)
    levels = score_wheel(gold.values, aligned.answers(blank="[]"), resources)
    settings = {"metric": "mer-ov-wheel", "wheels": len(resources.wheels), "unmapped": "dropped"}
    return {
        "task": "ov-wheel",
        "n_samples": len(gold.keys),
        "levels": levels,
        "final": (levels["level1"]["f"] + levels["level2"]["f"]) / 2,
        "level1_f": levels["level1"]["f"],
        "missing": {"count": len(aligned.missing), "names": aligned.missing[:50]},
        "extra_predictions": {"count": len(aligned.extra), "names": aligned.extra[:50]},
        "wheel_dir": str(resources.folder),
        "gold_file": str(gold.path),
        "pred_file": str(pred.path),
        "headline": {"final": (levels["level1"]["f"] + levels["level2"]["f"]) / 2},
        "signature": signature_string(settings),
        "run": run_info(settings),
    }
