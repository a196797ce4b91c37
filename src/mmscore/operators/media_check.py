"""``MediaPathChecker``: find missing or unreadable media before an expensive scoring step."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mmscore.io.storage_access import media_resolver
from mmscore.operators.base import Operator


def check_media_path(path_value: Any, storage: Any) -> tuple[bool, str | None]:
    """(ok, error) for one media path cell."""
    if path_value is None or (isinstance(path_value, float) and pd.isna(path_value)) or str(path_value) == "":
        return False, "empty path"
    path = media_resolver(storage)(str(path_value))
    if not path.exists():
        return False, f"file not found: {path_value}"
    if path.is_dir():
        return False, f"is a directory: {path_value}"
    if path.stat().st_size == 0:
        return False, f"empty file: {path_value}"
    return True, None


class MediaPathChecker(Operator):
    """Adds ``{key}_ok`` (bool) and ``{key}_error`` (reason or null) for a path column."""

    def run(self, storage: Any, input_key: str = "video_path") -> list[str]:
        df = self.read_checked(storage, [input_key])
        results = [check_media_path(value, storage) for value in df[input_key]]
        ok_column, error_column = f"{input_key}_ok", f"{input_key}_error"
        df[ok_column] = [ok for ok, _ in results]
        df[error_column] = [error for _, error in results]
        return self.write_result(storage, df, [ok_column, error_column])
