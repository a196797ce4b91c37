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
