"""``TextStatsEvaluator``: words, characters and sentences of a text column.

Cheap pre-checks before scoring: long-caption metrics behave differently past the encoder's
context, and empty captions are worth finding before a GPU job.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from mmscore.io.cells import is_missing
from mmscore.operators.base import Operator

_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


def text_stats(text: Any) -> tuple[int | None, int | None, int | None]:
    """(words, characters, sentences) of a text; None for a missing value."""
    if is_missing(text):
        return None, None, None
    text = str(text)
    stripped = text.strip()
    words = len(stripped.split())
    sentences = len(_SENTENCE_END.findall(stripped + " ")) if stripped else 0
    if stripped and sentences == 0:
        sentences = 1
    return words, len(text), sentences


class TextStatsEvaluator(Operator):
    """Adds ``{prefix}_words``, ``{prefix}_chars`` and ``{prefix}_sentences`` for a text column."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix

    def run(self, storage: Any, input_text_key: str = "text") -> list[str]:
        df = self.read_checked(storage, [input_text_key])
        prefix = self.prefix or input_text_key
        stats = [text_stats(value) for value in df[input_text_key]]
        columns = [f"{prefix}_words", f"{prefix}_chars", f"{prefix}_sentences"]
        for position, column in enumerate(columns):
            df[column] = pd.array([s[position] for s in stats], dtype="Int64")
        return self.write_result(storage, df, columns)
