"""MER-OV (MER2024 open-vocabulary) metric: set precision/recall after synonym grouping.

As MERTools ``MER2024/main-ov.py`` computes it (``shared/reference/emotion.md`` B1b):

1. per sample, the gold and predicted label lists are lower-cased;
2. a *grouping* (a list of lists of labels with the same meaning, produced per sample by an
   LLM over the union of both lists) maps every member of a group to the group's first
   element; labels outside every group stay as they are; if a label is in several groups the
   last group wins (MERTools builds the map in file order);
3. per sample, with G and P the mapped sets: empty P → precision 0, recall 0; else precision
   ("accuracy" in their code) = |G∩P|/|P| and recall = |G∩P|/|G|;
4. precision and recall are averaged over samples and **final = (precision + recall) / 2**
   (arithmetic mean, not F1; the F1 of the two averages is reported too, for information).

Grouping sources: the released ``openset-synonym.zip`` or its unpacked directory (one
``<name>.npy`` per sample holding the string of a list of lists), a JSON object
``{name: groups}`` (groups as a list of lists or that string), a JSON list of lists applied to
every sample, or an LLM judge (``mmscore.emotion.llm.group_labels``).

Deliberate differences from MERTools, each reported in the result:
- samples are the gold file's rows (MERTools iterates over the grouping files; with the released
  data the two sets are the same 332 names); a sample without a grouping entry uses no grouping
  (``n_without_grouping``); a missing prediction counts as empty (0, 0) and is listed;
- samples whose gold list is empty are skipped (MERTools 2024 would divide by zero; MER2025
  skips them) and counted in ``n_skipped_empty_gold``;
- labels and group members are stripped of surrounding whitespace as well as lower-cased; label
  lists are split like MER2025's ``string_to_list`` (quotes and commas), which on quoted lists
  gives MER2024's tokens and also accepts unquoted ones (MER2024's parser needs quoted labels).
"""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmscore.emotion.data import OPENSET_COLUMNS, align, load_keyed
from mmscore.emotion.llm import JudgeSettings
from mmscore.errors import InputError
from mmscore.metrics.classification import f_from_precision_recall, set_overlap
from mmscore.provenance import run_info, signature_string

logger = logging.getLogger(__name__)

Groups = list[list[str]]


def _clean_label(value: Any) -> str:
    return str(value).strip().lower()


def parse_label_list(value: Any) -> list[str]:
    """``"['Happy', 'excited']"`` / list / ndarray / ``"happy, excited"`` → lower-cased labels.

    A string is split exactly as MERTools' ``string_to_list`` does (MER2025 version: the text
    inside the brackets, split on quotes and commas, pieces stripped): the released grouping files
    were built from labels tokenised this way, so the published MER-OV numbers are only
    reproduced with it. Its quirk is kept on purpose: an apostrophe inside a label splits it
    (``"don't believe"`` → ``don``, ``t believe``, the pieces the released groupings name).
    Lists and arrays are taken element by element, unsplit.
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, set)):
        items = [str(item) for item in value]
    else:
        text = str(value).strip()
        inner = text.split("[", 1)[1] if "[" in text else text
        inner = inner.rsplit("]", 1)[0] if "]" in inner else inner
        items = re.split(r"['\",]", inner)
    labels = [_clean_label(item) for item in items if str(item).strip() not in ("", ",")]
    return list(dict.fromkeys(labels))


def parse_groups(value: Any) -> Groups:
    """A grouping (list of lists, or its string as the released ``.npy`` files hold) → groups."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, str):
        text = value.strip()
        if "[" in text and "]" in text:  # drop prose around the list ("Output: [[...]]")
            text = text[text.find("["):text.rfind("]") + 1]
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed = None
        if isinstance(parsed, (list, tuple)):
            value = parsed
        else:  # MERTools' listlist_to_list: split on brackets, then on quotes/commas
            pieces = [p for p in re.split(r"[\[\]]", text) if p.strip() not in ("", ",")]
            return [g for g in (parse_label_list(p) for p in pieces) if g]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of lists of labels, got {type(value).__name__}")
    groups: Groups = []
    for group in value:
        if isinstance(group, str):
            group = [group]
        members = [_clean_label(m) for m in group if str(m).strip()]
        if members:
            groups.append(members)
    return groups


def synonym_map(groups: Groups) -> dict[str, str]:
    """Every member → its group's first member (later groups override earlier ones)."""
    mapping: dict[str, str] = {}
    for group in groups:
        for member in group:
            mapping[member] = group[0]
    return mapping


@dataclass
class Grouping:
    """Per-sample groupings (``per_name``) and/or one grouping for every sample (``shared``)."""

    per_name: dict[str, Groups]
    shared: Groups | None = None
    source: str = ""

    def for_name(self, name: str) -> Groups | None:
        if name in self.per_name:
            return self.per_name[name]
        return self.shared


def _load_npy(data: bytes, where: str) -> Groups:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"{where}: not a plain string .npy (object arrays are refused for safety): {exc}") from exc
    except OSError as exc:
        raise InputError(f"{where}: not a .npy file: {exc}") from exc
    try:
        return parse_groups(array.tolist())
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from exc


def _npy_name(member: str) -> str | None:
    base = os.path.basename(member)
    if not base.endswith(".npy") or base.startswith(".") or "__MACOSX" in member:
        return None
    return base[:-4]


def load_grouping(path: str | os.PathLike[str]) -> Grouping:
    """Read a grouping from a directory or zip of ``<name>.npy``, or from JSON (see module doc)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: grouping file not found")
    per_name: dict[str, Groups] = {}
    if path.is_dir():
        for file in sorted(path.rglob("*.npy")):
            name = _npy_name(str(file))
            if name is not None:
                per_name[name] = _load_npy(file.read_bytes(), str(file))
        if not per_name:
            raise InputError(f"{path}: directory holds no <name>.npy grouping files")
        return Grouping(per_name, source=str(path))
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist()):
                    name = _npy_name(member)
                    if name is not None:
                        per_name[name] = _load_npy(archive.read(member), f"{path}:{member}")
        except zipfile.BadZipFile as exc:
            raise InputError(f"{path}: not a valid zip file ({exc})") from exc
        if not per_name:
            raise InputError(f"{path}: zip holds no <name>.npy grouping files")
        return Grouping(per_name, source=str(path))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from exc
        try:
            if isinstance(data, list):
                return Grouping({}, shared=parse_groups(data), source=str(path))
            if isinstance(data, dict):
                for name, groups in data.items():
                    per_name[os.path.splitext(str(name))[0] if str(name).endswith(".npy") else str(name)] = (
                        parse_groups(groups))
                return Grouping(per_name, source=str(path))
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from exc
        raise InputError(f"{path}: expected a JSON object {{name: groups}} or a list of lists")
    raise InputError(f"{path}: grouping must be a directory or .zip of <name>.npy files, or a .json file")


def aggregate_sets(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean precision/recall over scored rows; ``average`` = their mean, ``f_score`` = 2PR/(P+R)."""
    scored = [r for r in rows if r["precision"] is not None]
    if not scored:
        nan = float("nan")
        return {"precision": nan, "recall": nan, "average": nan, "f_score": nan}
    precision = float(np.mean([r["precision"] for r in scored]))
    recall = float(np.mean([r["recall"] for r in scored]))
    return {"precision": precision, "recall": recall, "average": (precision + recall) / 2,
            "f_score": f_from_precision_recall(precision, recall)}


def score_openvocab(
    names: Sequence[str],
    gold: Sequence[Any],
    pred: Sequence[Any],
    *,
    grouping: Grouping | None = None,
    judged: frozenset[str] | set[str] = frozenset(),
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score label lists (``None`` prediction = missing); returns (summary, per-sample table).

    ``judged`` names the samples whose grouping came from an LLM judge (reported per row).
    """
    rows: list[dict[str, Any]] = []
    for name, g_raw, p_raw in zip(names, gold, pred, strict=False):
        g_list = parse_label_list(g_raw)
        p_list = parse_label_list(p_raw)
        groups = grouping.for_name(name) if grouping is not None else None
        source = "none" if groups is None else ("judge" if name in judged else "file")
        mapping = synonym_map(groups or [])
        g_set = {mapping.get(x, x) for x in g_list}
        p_set = {mapping.get(x, x) for x in p_list}
        status = "missing" if p_raw is None else ("empty_prediction" if not p_set else "ok")
        if not g_set:
            precision = recall = None
            status = "skipped_empty_gold"
        else:
            precision, recall = set_overlap(g_set, p_set)
        rows.append({"name": name, "gold": g_list, "prediction": p_list, "gold_mapped": sorted(g_set),
                     "prediction_mapped": sorted(p_set), "precision": precision, "recall": recall,
                     "status": status, "grouping": source, "groups": groups})
    table = pd.DataFrame(rows)
    summary = {
        "task": "ov",
        "n": int(sum(r["precision"] is not None for r in rows)),
        **aggregate_sets(rows),
        "n_samples": len(rows),
        "n_skipped_empty_gold": int(sum(r["status"] == "skipped_empty_gold" for r in rows)),
        "n_empty_prediction": int(sum(r["status"] == "empty_prediction" for r in rows)),
        "n_without_grouping": int(sum(r["grouping"] == "none" for r in rows)),
        "n_judge_grouped": int(sum(r["grouping"] == "judge" for r in rows)),
        "missing": {"count": int(sum(r["status"] == "missing" for r in rows)),
                    "names": [r["name"] for r in rows if r["status"] == "missing"][:50]},
    }
    return summary, table


NO_GROUPING_WARNING = ("no --grouping (and no --judge): labels are matched exactly, so synonyms count as "
                       "wrong and scores are not comparable with MER-OV results; pass the MERTools "
                       "openset-synonym grouping")


def evaluate_openvocab(
    gold_path: str | os.PathLike[str],
    pred_path: str | os.PathLike[str],
    *,
    grouping: str | os.PathLike[str] | Grouping | None = None,
    judge: JudgeSettings | None = None,
    gold_key_column: str | None = None,
    gold_label_column: str | None = None,
    pred_key_column: str | None = None,
    pred_label_column: str | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """MER-OV from files: columns ``name``/``openset`` by default (MERTools' ``ov_store`` CSVs).

    With ``judge``, samples that ``grouping`` does not cover are grouped by the LLM judge (one
    request per sample over the sorted union of its gold and predicted labels, as MERTools does).
    """
    gold = load_keyed(gold_path, role="gold", value_candidates=OPENSET_COLUMNS, key_column=gold_key_column,
                      value_column=gold_label_column, require_value=False)
    pred = load_keyed(pred_path, role="predictions", value_candidates=OPENSET_COLUMNS,
                      key_column=pred_key_column, value_column=pred_label_column, require_value=False)
    aligned = align(gold, pred)
    loaded = load_grouping(grouping) if isinstance(grouping, (str, os.PathLike)) else grouping
    answers = aligned.answers(blank="[]")
    judged: set[str] = set()
    judge_usage = None
    if judge is not None:
        from mmscore.emotion.llm import group_labels

        todo = {}
        for name, g_raw, p_raw in zip(gold.keys, gold.values, answers, strict=True):
            union = sorted(set(parse_label_list(g_raw)) | set(parse_label_list(p_raw)))
            if union and parse_label_list(g_raw) and (loaded is None or loaded.for_name(name) is None):
                todo[name] = union
        grouped, judge_usage = group_labels(todo, judge)
        judged = set(grouped)
        base = loaded or Grouping({})
        loaded = Grouping({**base.per_name, **grouped}, base.shared, base.source or f"judge:{judge.model}")
    summary, table = score_openvocab(gold.keys, gold.values, answers, grouping=loaded, judged=judged)
    settings = {"metric": "mer-ov", "grouping": ("file+" if grouping is not None else "") + "judge" if judge else
                ("file" if loaded else "none"), "final": "mean(P,R)"}
    if judge is not None:
        settings["judge"] = judge.model
    warnings = []
    if loaded is None:  # exact matching scores far lower than the benchmark's synonym grouping
        warnings.append(NO_GROUPING_WARNING)
        logger.warning(NO_GROUPING_WARNING)
    summary.update({
        "gold_file": str(gold.path),
        "pred_file": str(pred.path),
        "grouping": settings["grouping"] if loaded else "none (exact label match)",
        "warnings": warnings,
        "grouping_source": loaded.source if loaded else None,
        "judge_usage": judge_usage,
        "extra_predictions": {"count": len(aligned.extra), "names": aligned.extra[:50]},
        "headline": {"average": summary["average"]},
        "signature": signature_string(settings),
        "run": run_info(settings),
    })
    return summary, table


def groupings_json(table: pd.DataFrame) -> dict[str, Groups]:
    """The groupings used per sample, in the JSON form ``load_grouping`` reads back."""
    return {str(name): [list(g) for g in groups] for name, groups in zip(table["name"], table["groups"], strict=False)
            if groups is not None}
