"""``MediaPathChecker``: find missing or unreadable media before an expensive scoring step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.io.storage_access import media_resolver
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media, RowError, ScoredRows


def check_media_path(path_value: Any, storage: Any) -> tuple[bool, str | None]:
    """(ok, error) for one media path cell (``storage``: anything with ``resolve_path``)."""
    return _check(path_value, media_resolver(storage))


def _check(path_value: Any, resolve: Callable[[str], Path]) -> tuple[bool, str | None]:
    if path_value is None or (isinstance(path_value, float) and pd.isna(path_value)) or str(path_value) == "":
        return False, "empty path"
    path = resolve(str(path_value))
    if not path.exists():
        return False, f"file not found: {path_value}"
    if path.is_dir():
        return False, f"is a directory: {path_value}"
    if path.stat().st_size == 0:
        return False, f"empty file: {path_value}"
    return True, None


class MediaPathChecker(Operator):
    """Adds ``{key}_ok`` (bool) and ``{key}_error`` (reason or null) for a path column."""

    shardable = True

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [keys["input_key"]]

    def output_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [f"{keys['input_key']}_ok", f"{keys['input_key']}_error"]

    def score(self, rows: pd.DataFrame, state: Any, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        results = [_check(value, media.resolve) for value in rows[keys["input_key"]]]
        errors = [RowError(row, error) for row, (_, error) in enumerate(results) if error is not None]
        ok_column, error_column = self.output_columns(keys)
        return ScoredRows({ok_column: [ok for ok, _ in results]}, error_column, errors)

    def run(self, storage: Any, input_key: str = "video_path") -> list[str]:
        return self.run_step(storage, input_key=input_key)
