"""``TextStatsEvaluator``: words, characters and sentences of a text column.

Cheap pre-checks before scoring: long-caption metrics behave differently past the encoder's
context, and empty captions are worth finding before a GPU job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mmscore.io.cells import is_missing
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media, ScoredRows, Settings, frozen_settings

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

    shardable = True

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix

    def settings(self) -> Settings:
        return frozen_settings(prefix=self.prefix)

    def _columns(self, keys: Mapping[str, Any]) -> list[str]:
        prefix = self.prefix or keys["input_text_key"]
        return [f"{prefix}_words", f"{prefix}_chars", f"{prefix}_sentences"]

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [keys["input_text_key"]]

    def output_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return self._columns(keys)

    def score(self, rows: pd.DataFrame, state: Any, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        stats = [text_stats(value) for value in rows[keys["input_text_key"]]]
        columns = {column: pd.array([s[position] for s in stats], dtype="Int64")
                   for position, column in enumerate(self._columns(keys))}
        return ScoredRows(columns)

    def run(self, storage: Any, input_text_key: str = "text") -> list[str]:
        return self.run_step(storage, input_text_key=input_text_key)
