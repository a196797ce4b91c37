"""Writing one result record (a nested dict) in the format the file's extension names.

``.json`` keeps the nested record; a table extension (``.csv``, ``.parquet``, ``.jsonl``)
writes one row whose columns are the flattened keys (``results.top1``, ``settings.model``),
so ``-o results.csv`` is a real CSV file, not JSON under a CSV name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmscore.io.tables import table_format


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists stay cells."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def check_record_path(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` (``json`` or a table format); unknown extensions raise now, before work."""
    return "json" if Path(path).suffix.lower() == ".json" else table_format(path)


def write_record(record: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``record`` atomically as JSON (``.json``) or as a one-row table (other extensions)."""
    import pandas as pd

    from mmscore.io.atomic import atomic_write_json
    from mmscore.io.tables import write_table

    fmt = check_record_path(path)
    if fmt == "json":
        return atomic_write_json(path, dict(record))
    return write_table(pd.DataFrame([flatten(record)]), path)
