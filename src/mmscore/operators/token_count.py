"""``CaptionTokenCounter``: how many CLIP tokens each caption takes, and whether it fits the context.

A pre-check before long-caption scoring: CLIP reads 77 tokens and Long-CLIP/SPECS 248; a caption
past the context is truncated by every encoder (mmscore counts and reports it), so the tail of a
long caption never reaches the score. Counting needs only the BPE vocabulary shipped with the
package, no model weights. (This module is also the worked example of docs/architecture.md:
a new operator is this file plus one registry line.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mmscore.errors import ConfigError
from mmscore.io.cells import caption_type_error, is_missing
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media, RowError, ScoredRows, Settings, frozen_settings


class CaptionTokenCounter(Operator):
    """Counts the CLIP tokens of each caption and flags the captions longer than the model's context.

    Adds ``{prefix}_tokens`` (BPE tokens, start and end of text included), ``{prefix}_over_context``
    (more tokens than ``context_length``) and ``{prefix}_tokens_error`` (a cell that is not text).
    """

    shardable = True
    descriptions = {
        "en": "Caption token counter: CLIP BPE tokens of each caption (start and end of text included) and "
        "whether they exceed the model's context (77 for CLIP, 248 for Long-CLIP/SPECS). Input: "
        "input_text_key. Outputs: <prefix>_tokens, <prefix>_over_context, <prefix>_tokens_error.",
        "zh": "描述词元计数算子：统计每条描述的 CLIP BPE 词元数（含起止符），并标记是否超出模型上下文长度"
        "（CLIP 为 77，Long-CLIP/SPECS 为 248）。输入：input_text_key。输出：<prefix>_tokens、"
        "<prefix>_over_context 与 <prefix>_tokens_error。",
    }

    def __init__(self, context_length: int = 77, prefix: str | None = None) -> None:
        if context_length < 2:
            raise ConfigError(f"context_length: expected an integer >= 2 (77 for CLIP, 248 for Long-CLIP), "
                              f"got {context_length!r}")
        self.context_length = context_length
        self.prefix = prefix

    def settings(self) -> Settings:
        return frozen_settings(context_length=self.context_length, prefix=self.prefix)

    def _columns(self, keys: Mapping[str, Any]) -> tuple[str, str, str]:
        prefix = self.prefix or keys["input_text_key"]
        return f"{prefix}_tokens", f"{prefix}_over_context", f"{prefix}_tokens_error"

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [keys["input_text_key"]]

    def output_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return list(self._columns(keys))

    def score(self, rows: pd.DataFrame, state: Any, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        from mmscore.models.tokenizer import default_tokenizer

        tokenizer = default_tokenizer()
        column = keys["input_text_key"]
        counts: list[int | None] = []
        errors: list[RowError] = []
        for position, value in enumerate(rows[column]):
            problem = caption_type_error(value, column)
            if problem is not None:
                errors.append(RowError(position, problem))
            counts.append(None if problem or is_missing(value) else len(tokenizer.encode(str(value))) + 2)
        tokens_column, over_column, error_column = self._columns(keys)
        tokens = pd.array(counts, dtype="Int64")
        return ScoredRows({tokens_column: tokens, over_column: tokens > self.context_length},
                          error_column=error_column, errors=errors)

    def run(self, storage: Any, input_text_key: str = "text") -> list[str]:
        return self.run_step(storage, input_text_key=input_text_key)
