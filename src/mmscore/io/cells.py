"""Reading text out of table cells: one rule for every operator.

A cell read from jsonl/csv/parquet may be a string, None, a float NaN, ``pd.NA``, a list, a numpy
array or a JSON list written as a string. Scoring a missing value as the text ``"nan"`` (as
``str(value)`` would) is the classic bug these helpers exist to prevent.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None, NaN, ``pd.NA``/``NaT``; list-like cells are never missing."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def clean_text(value: Any) -> str | None:
    """A text cell with whitespace collapsed, or None when missing/empty/NaN (never ``"nan"``)."""
    if is_missing(value):
        return None
    text = " ".join(str(value).split())
    return text or None


def is_blank(value: Any) -> bool:
    """True for a missing cell or one holding only whitespace."""
    return clean_text(value) is None


def text_list(value: Any) -> list[str]:
    """A cell holding several texts: one text, a list/array, or a JSON list string.

    Missing, empty and null entries are dropped; an empty result means "no text" (e.g. no
    reference for that row). A string that merely starts with ``[`` stays one text.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            try:
                parsed = json.loads(stripped)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                value = parsed
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        items = list(value)
    else:
        items = [value]
    return [text for text in (clean_text(item) for item in items) if text]


def non_text_kind(value: Any) -> str | None:
    """What a cell that should hold one text holds instead (``"int"``, ``"list"``...), or None.

    A number or a list where a caption is expected is a mistake in the table (a wrong column, a
    list of captions); scoring ``str(value)`` would hide it behind a plausible-looking score."""
    if isinstance(value, str) or is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_, int, float, np.number, list, tuple, dict, set, np.ndarray, pd.Series)):
        return type(value).__name__
    return None


def caption_type_error(value: Any, column: str) -> str | None:
    """The row error for a caption cell that is not text, naming the column and the type."""
    kind = non_text_kind(value)
    if kind is None:
        return None
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return f"column {column!r} holds a {kind} ({shown}), not a caption text"
