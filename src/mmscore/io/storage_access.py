"""What an operator may ask of a storage: DataFlow's ``read``/``write`` always, extras only if present.

Operators run on mmscore's :class:`~mmscore.io.storage.FileStorage`, on DataFlow's own storages
(``FileStorage``, ``LazyFileStorage``, batched and in-memory ones) and on the engines' shard
storages. The only contract all of them share is ``read(output_type)`` and ``write(frame)``; the
helpers here use an extra capability (``resolve_path``, ``input_path``) when the storage offers it
and fall back to what a DataFlow storage carries (``first_entry_file_name``, ``cache_path``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmscore.io.media_paths import MediaResolver, Resolver

_REMOTE_PREFIXES = ("hf:", "ms:")  # DataFlow's first-entry names for hub datasets


def _first_entry_dir(storage: Any) -> Path | None:
    """Folder of a storage's local first entry file (relative media paths may be relative to it)."""
    name = getattr(storage, "first_entry_file_name", None)
    if not isinstance(name, (str, os.PathLike)) or not str(name) or str(name).startswith(_REMOTE_PREFIXES):
        return None
    return Path(name).resolve().parent


def media_resolver(storage: Any) -> Resolver:
    """How to turn a media path cell into a file path for ``storage``.

    The storage's own ``resolve_path`` when it has one; else the same rule mmscore's storage uses
    (absolute as given, cwd-relative if it exists there, else relative to the first entry file's
    folder when the storage names a local one; ``hf:``/``ms:`` first entries name no folder).
    """
    resolve = getattr(storage, "resolve_path", None)
    if callable(resolve):
        return resolve
    base = _first_entry_dir(storage)
    return MediaResolver(str(base) if base is not None else None)


def storage_resolver(storage: Any) -> MediaResolver:
    """A fresh :class:`MediaResolver` for one run on ``storage`` (its rule: :func:`media_resolver`)."""
    rule = media_resolver(storage)
    return rule.fresh() if isinstance(rule, MediaResolver) else MediaResolver(rule=rule)


def describe_input(storage: Any) -> str:
    """A name for the table a storage reads, for error messages (file path when it is known)."""
    input_path = getattr(storage, "input_path", None)
    if callable(input_path):
        return str(input_path())
    step = getattr(storage, "operator_step", None)
    first = getattr(storage, "first_entry_file_name", None)
    if step == 0 and first:
        return str(first)
    cache_path, prefix = getattr(storage, "cache_path", None), getattr(storage, "file_name_prefix", None)
    cache_type = getattr(storage, "cache_type", None)
    if isinstance(step, int) and step > 0 and cache_path and prefix and cache_type:
        return str(Path(cache_path) / f"{prefix}_step{step}.{cache_type}")
    return f"input table of {type(storage).__name__}"


def writes_nullable_dtypes(storage: Any) -> bool:
    """True for mmscore's own storages, whose writers store ``pd.NA`` as a null in every format."""
    return type(storage).__module__.startswith("mmscore.")


def portable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every missing value as ``None`` (or NaN in float columns), never ``pd.NA``.

    DataFlow's writers pass each cell through a cleaner that turns unknown objects into text, so a
    ``pd.NA`` from a nullable column (``Float64``, ``Int64``, ``boolean``, ``string``) would be
    stored as the string ``'<NA>'``. Floats become float64 with NaN (null in JSON and parquet,
    empty in CSV); other nullable columns become object columns of Python values and ``None``.
    """
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            if not series.isna().any():
                continue
            if pd.api.types.is_float_dtype(series.dtype):
                out[column] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                out[column] = pd.Series([None if v is pd.NA else _python_scalar(v) for v in series],
                                        index=series.index, dtype=object)
        elif series.dtype == object and any(v is pd.NA or v is pd.NaT for v in series):
            out[column] = pd.Series([None if (v is pd.NA or v is pd.NaT) else v for v in series],
                                    index=series.index, dtype=object)
    return out


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def write_frame(storage: Any, df: pd.DataFrame) -> Any:
    """``storage.write(df)`` with nulls every writer keeps as nulls; returns what ``write`` returned."""
    return storage.write(df if writes_nullable_dtypes(storage) else portable_frame(df))
