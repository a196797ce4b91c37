"""Reading text out of table cells: one rule for every operator.

A cell read from jsonl/csv/parquet may be a string, None, a float NaN, ``pd.NA``, a list, a numpy
array or a list written as text: JSON (mmscore's CSV writer) or a Python literal (DataFlow's CSV
writer stores ``str(list)``, e.g. ``"['a blue box rises', 'the box goes up']"``). Scoring a missing
value as the text ``"nan"`` (as ``str(value)`` would), or a two-caption list as one caption with
brackets, are the classic bugs these helpers exist to prevent.

Python literals are parsed with :func:`ast.literal_eval` (literals only, never ``eval``).
"""

from __future__ import annotations

import ast
import json
import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

JSON_SYNTAX, PYTHON_SYNTAX = "json", "python"
_BRACKETS = {"[": "]", "{": "}"}


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


def parse_container(text: str, openers: str = "[{") -> tuple[list | dict | None, str | None]:
    """``(value, syntax)`` for a list/dict written as text, else ``(None, None)``.

    JSON first (what mmscore writes); then a Python literal (what ``str(list)`` gives, as DataFlow's
    CSV writer stores it) read with :func:`ast.literal_eval`, which evaluates literals only.
    ``openers`` limits the accepted containers (``"["``: lists only).
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in openers or stripped[-1] != _BRACKETS[stripped[0]]:
        return None, None
    try:
        value = json.loads(stripped)
        syntax = JSON_SYNTAX
    except RecursionError:  # nested deeper than any list of captions: text
        return None, None
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None, None
        syntax = PYTHON_SYNTAX
    return (value, syntax) if isinstance(value, (list, dict)) else (None, None)


def _cell_items(value: Any) -> tuple[list[Any], str | None]:
    syntax = None
    if isinstance(value, str):
        parsed, syntax = parse_container(value, "[")
        if parsed is not None:
            value = parsed
    items = list(value) if isinstance(value, (list, tuple, np.ndarray, pd.Series)) else [value]
    return items, syntax


def text_list(value: Any) -> list[str]:
    """A cell holding several texts: one text, a list/array, or a list written as text.

    Missing, empty and null entries are dropped; an empty result means "no text" (e.g. no
    reference for that row). A string that merely starts with ``[`` stays one text.
    """
    items, _ = _cell_items(value)
    return [text for text in (clean_text(item) for item in items) if text]


def text_lists(cells: Iterable[Any], column: str = "") -> list[list[str]]:
    """:func:`text_list` of every cell of a column, saying how many cells were Python-literal lists."""
    out, converted = [], 0
    for value in cells:
        items, syntax = _cell_items(value)
        converted += syntax == PYTHON_SYNTAX
        out.append([text for text in (clean_text(item) for item in items) if text])
    report_python_lists(converted, len(out), column)
    return out


def report_python_lists(converted: int, total: int, column: str) -> None:
    """Log how many cells of ``column`` held Python-literal lists read as lists (0: nothing said)."""
    if converted:
        logger.warning("column %r: %d of %d cells held a Python-literal list (as DataFlow's CSV writer stores "
                       "lists); read as lists", column, converted, total)


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
