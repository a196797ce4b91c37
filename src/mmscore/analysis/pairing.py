"""One score per item, and pairing two scorers item by item.

An *item* is one generated video: the key ``(experiment, model, task_type, task_id)``. A folder
may hold several ratings of an item (several human annotators: ``human-eval.json`` for the first,
``human-eval@<name>.json`` for the others). Statistics between two scorers need one number per
item, chosen by a documented rule:

* ``first`` (default): the first valid rating in file-name order. By the layout contract the
  first annotator's file is ``<scorer>.json``, which sorts before ``<scorer>@<name>.json``, so
  this is the first annotator whenever they gave a valid score. It keeps scores on the integer
  1-5 scale, so kappa and McNemar stay defined.
* ``median``: the lower median of the item's valid ratings (an observed category, never x.5).

Every rating still enters Krippendorff's α, which handles several raters and missing values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmscore.analysis.load import KEY, ScoringTable
from mmscore.errors import ConfigError, InputError

RULES = ("first", "median")
RULE_TEXT = {
    "first": "one score per item: the first valid rating in file-name order (the first annotator's "
    "<scorer>.json sorts before <scorer>@<annotator>.json)",
    "median": "one score per item: the lower median of the item's valid ratings",
}


KEY_TEXT = {
    "experiment": "items paired on (experiment, model, task_type, task_id)",
    "flat": "items paired on (model, task_type, task_id): at least one folder has no experiment level "
    "(newer VMEvalKit layout <scorer>/<model>/<task_type>/<task_id>/, no metadata.experiment)",
}


def align_experiments(a: ScoringTable, b: ScoringTable) -> tuple[ScoringTable, ScoringTable, str]:
    """Make two folders' items comparable when one has no experiment level (newer VMEvalKit).

    Returns the tables and the pairing rule (a :data:`KEY_TEXT` key). When every scoring on both
    sides names its experiment, nothing changes and items pair on the full key. Otherwise items
    pair on ``(model, task_type, task_id)``: both sides get one experiment label (the experiment
    the known side names, or ``""``). A side holding the same (model, task_type, task_id) in two
    experiments cannot be paired that way: InputError names them and says which folder to pass.
    """
    frames = (a.frame, b.frame)
    if all(bool(f["experiment_known"].all()) for f in frames):
        return a, b, "experiment"
    for table in (a, b):
        experiments = table.frame.groupby(KEY[1:])["experiment"].nunique()
        clashes = experiments[experiments > 1]
        if len(clashes):
            item = "/".join(map(str, clashes.index[0]))
            names = sorted(set(table.frame["experiment"]))
            raise InputError(
                f"{table.folder}: item {item} appears in several experiments ({', '.join(names)}) while the "
                "other folder has no experiment level; pass one experiment's folder (e.g. "
                f"{table.folder / names[0]}) so items can be paired on (model, task_type, task_id)"
            )
    known = sorted({str(e) for f in frames for e in f.loc[f["experiment_known"], "experiment"]})
    label = known[0] if len(known) == 1 else ""
    aligned = [ScoringTable(folder=t.folder, frame=t.frame.assign(experiment=label)) for t in (a, b)]
    return aligned[0], aligned[1], "flat"


def item_scores(table: ScoringTable, rule: str = "first") -> pd.DataFrame:
    """One row per item with a valid score: key columns, ``domain``, ``score``, ``n_ratings``."""
    if rule not in RULES:
        raise ConfigError(f"unknown pairing rule {rule!r}; choose one of {', '.join(RULES)}")
    valid = table.valid
    if valid.empty:
        return pd.DataFrame(columns=[*KEY, "domain", "score", "n_ratings"])
    valid["file"] = valid["path"].map(lambda p: Path(p).name)
    valid = valid.sort_values([*KEY, "file"], kind="stable")
    grouped = valid.groupby(KEY, sort=True)
    if rule == "first":
        score = grouped["score"].first()
    else:
        score = grouped["score"].agg(lambda s: int(np.sort(s.to_numpy(dtype=int))[(len(s) - 1) // 2]))
    out = pd.DataFrame(
        {"domain": grouped["domain"].first(), "score": score.astype(int), "n_ratings": grouped.size()}
    ).reset_index()
    return out


@dataclass(frozen=True)
class Pairing:
    """Paired items plus the accounting of everything that could not be paired."""

    pairs: pd.DataFrame  # KEY, domain, score_a, score_b
    counts: dict[str, int]
    reasons: dict[str, dict[str, int]]  # excluded side -> status -> count
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts, "excluded_reasons": self.reasons, "examples": self.examples}


def _keys(frame: pd.DataFrame) -> set[tuple[str, ...]]:
    return set(map(tuple, frame[KEY].astype(str).itertuples(index=False, name=None)))


def pair_items(a: ScoringTable, b: ScoringTable, rule: str = "first", n_examples: int = 5) -> Pairing:
    """Pair A and B on ``(experiment, model, task_type, task_id)``.

    Counts: ``n_pairs``; ``only_in_a`` / ``only_in_b`` (the other folder has no file for the item);
    ``excluded_in_a`` / ``excluded_in_b`` (both folders have the item but that side has no valid
    score, e.g. it was skipped or failed; ``excluded_in_both`` when neither has), with the statuses
    behind each exclusion in ``reasons``.
    """
    seen_a, seen_b = _keys(a.frame), _keys(b.frame)
    items_a, items_b = item_scores(a, rule), item_scores(b, rule)
    valid_a, valid_b = _keys(items_a), _keys(items_b)
    both = seen_a & seen_b
    groups = {
        "only_in_a": sorted(seen_a - seen_b),
        "only_in_b": sorted(seen_b - seen_a),
        "excluded_in_a": sorted(k for k in both if k not in valid_a and k in valid_b),
        "excluded_in_b": sorted(k for k in both if k in valid_a and k not in valid_b),
        "excluded_in_both": sorted(k for k in both if k not in valid_a and k not in valid_b),
    }
    reasons: dict[str, dict[str, int]] = {}
    for side, table in (("a", a), ("b", b)):
        excluded = {*groups[f"excluded_in_{side}"], *groups["excluded_in_both"]}
        rows = table.frame[[k in excluded for k in map(tuple, table.frame[KEY].astype(str).to_numpy())]]
        reasons[side] = dict(sorted(Counter(rows["reason"]).items()))
    merged = items_a.merge(items_b, on=KEY, suffixes=("_a", "_b"), how="inner")
    pairs = merged.rename(columns={"domain_a": "domain"}).drop(columns=["domain_b"])
    pairs = pairs[[*KEY, "domain", "score_a", "score_b", "n_ratings_a", "n_ratings_b"]]
    counts = {
        "n_items_a": len(seen_a),
        "n_items_b": len(seen_b),
        "n_pairs": len(pairs),
        **{name: len(keys) for name, keys in groups.items()},
    }
    examples = {name: ["/".join(k) for k in keys[:n_examples]] for name, keys in groups.items() if keys}
    return Pairing(pairs=pairs.reset_index(drop=True), counts=counts, reasons=reasons, examples=examples)


def rating_matrix(tables: dict[str, ScoringTable]) -> tuple[np.ndarray, list[str], int]:
    """Raters x items matrix of every valid rating (NaN = not rated) for Krippendorff's α.

    ``tables`` maps a side label ("A", "B") to its folder; a rater is ``<label>:<rater>``. If one
    rater rated an item twice, the first file (path order) counts. Returns the matrix, the rater
    labels and the number of items.
    """
    frames = []
    for label, table in tables.items():
        valid = table.valid
        valid["rater_id"] = f"{label}:" + valid["rater"].astype(str)
        frames.append(valid)
    allv = pd.concat(frames, ignore_index=True)
    if allv.empty:
        return np.zeros((0, 0)), [], 0
    allv = allv.sort_values("path", kind="stable").drop_duplicates([*KEY, "rater_id"], keep="first")
    wide = allv.pivot_table(index="rater_id", columns=KEY, values="score", aggfunc="first")
    wide = wide.astype(float)
    return wide.to_numpy(), list(wide.index), wide.shape[1]
