"""Reading and writing tables (json, jsonl, csv, parquet, pickle) with errors that name the file and line.

One implementation used by ``FileStorage``, the command line and every ``INPUT`` argument.
``pickle`` is DataFlow's fifth cache type (a pandas pickle); like any pickle, only read files
you or your own pipeline wrote.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmscore.errors import ColumnError, InputError
from mmscore.io.atomic import atomic_path, to_jsonable
from mmscore.io.cells import PYTHON_SYNTAX, parse_container, report_python_lists

TABLE_FORMATS = ("json", "jsonl", "csv", "parquet", "pickle")
#: pandas options of every CSV/Excel reader: only a truly empty cell is missing. pandas' default
#: turns the *text* ``NA``, ``null``, ``None``, ``n/a``, ``NaN``... into missing values, which blanks
#: pass-through columns and makes a caption "None" unscorable.
ONLY_EMPTY_IS_MISSING: dict[str, Any] = {"keep_default_na": False, "na_values": [""]}
_EXTENSION_FORMAT = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".pickle": "pickle",
    ".pkl": "pickle",
}


def table_format(path: str | os.PathLike[str]) -> str:
    """Return the table format implied by a file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSION_FORMAT:
        raise InputError(
            f"{path}: unsupported table extension {suffix!r}; use one of "
            f"{', '.join(sorted(_EXTENSION_FORMAT))}"
        )
    return _EXTENSION_FORMAT[suffix]


def read_table(path: str | os.PathLike[str], fmt: str | None = None) -> pd.DataFrame:
    """Read a table; a missing or malformed file raises ``InputError`` naming it (and the line)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        return _read_parquet_dir(path)
    fmt = fmt or table_format(path)
    if fmt in ("json", "jsonl"):
        records = _read_jsonl_records(path) if fmt == "jsonl" else _read_json_records(path)
        return _restore_integer_columns(pd.DataFrame(records), records)
    if fmt == "csv":
        try:
            return _parse_json_columns(pd.read_csv(path, **ONLY_EMPTY_IS_MISSING))
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: malformed CSV: {exc}") from exc
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise InputError(f"{path}: cannot read parquet: {exc}") from exc
        return _arrays_to_lists(frame)
    if fmt == "pickle":
        return _read_pickle(path)
    raise InputError(f"{path}: unknown table format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}")


def _read_pickle(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_pickle(path)
    except Exception as exc:  # unpickling raises many unrelated types
        raise InputError(f"{path}: cannot read pickle: {exc}") from exc
    if isinstance(frame, list):
        frame = pd.DataFrame(frame)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{path}: the pickle holds a {type(frame).__name__}, not a table (DataFrame)")
    return frame


def _restore_integer_columns(df: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """Integer JSON columns with nulls become nullable ``Int64`` (pandas would make them float,
    and a round trip would then write ``1.0`` where the input said ``1``)."""
    for column in df.columns:
        if not pd.api.types.is_float_dtype(df[column]) or not df[column].isna().any():
            continue
        values = [r.get(column) for r in records if r.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            df[column] = df[column].astype("Int64")
    return df


def _parse_json_columns(df: pd.DataFrame) -> pd.DataFrame:
    """CSV has no lists: a column whose every filled cell is a JSON list/object (as
    :func:`write_table` writes them) is read back as Python lists/dicts."""
    for column in df.columns:
        if df[column].dtype == object or pd.api.types.is_string_dtype(df[column]):
            filled = [v for v in df[column] if isinstance(v, str)]
            if not filled or len(filled) != int(df[column].notna().sum()):
                continue
            parsed, python_literals = [], 0
            for value in filled:  # stop at the first plain text: a caption column costs one look
                container, syntax = parse_container(value)
                if container is None:
                    break
                parsed.append(container)
                python_literals += syntax == PYTHON_SYNTAX
            else:
                lookup = iter(parsed)
                df[column] = pd.Series(
                    [next(lookup) if isinstance(v, str) else None for v in df[column]], index=df.index, dtype=object
                )
                report_python_lists(python_literals, len(filled), str(column))
    return df


def _arrays_to_lists(df: pd.DataFrame) -> pd.DataFrame:
    """pyarrow returns list cells as numpy arrays; give plain lists, as the other formats do."""
    for column in df.columns:
        if df[column].dtype == object and any(isinstance(v, np.ndarray) for v in df[column]):
            df[column] = pd.Series(
                [to_jsonable(v) if isinstance(v, (np.ndarray, dict)) else v for v in df[column]],
                index=df.index,
                dtype=object,
            )
    return df


def _read_parquet_dir(path: Path) -> pd.DataFrame:
    shards = sorted(path.glob("*.parquet"))
    if not shards:
        raise InputError(f"{path}: directory holds no *.parquet shards")
    return pd.concat([read_table(shard) for shard in shards], ignore_index=True)


def _read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {line_no}: invalid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise InputError(
                    f"{path}, line {line_no}: expected a JSON object, got {type(record).__name__}"
                )
            records.append(record)
    return records


def _read_json_records(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    if isinstance(data, dict):
        # column orient {"col": [..]} or {"col": {idx: v}} as pandas writes it
        if all(isinstance(v, (list, dict)) for v in data.values()):
            return pd.DataFrame(data).to_dict(orient="records")
        return [data]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of objects, got {type(data).__name__}")
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise InputError(f"{path}, record {index}: expected a JSON object, got {type(record).__name__}")
    return data


def dataframe_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with NaN/NA turned into None and numpy scalars into Python ones."""
    out = []
    for record in df.to_dict(orient="records"):
        out.append({key: _clean_cell(value) for key, value in record.items()})
    return out


def _clean_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if value is pd.NA or value is pd.NaT:
            return None
    except TypeError:  # pragma: no cover
        pass
    return to_jsonable(value)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Write a table atomically in the format given (or implied by the extension)."""
    path = Path(path)
    fmt = fmt or table_format(path)
    with atomic_path(path) as tmp:
        if fmt == "jsonl":
            with open(tmp, "w", encoding="utf-8") as handle:
                for record in dataframe_records(df):
                    handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        elif fmt == "json":
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(dataframe_records(df), handle, ensure_ascii=False, indent=2, allow_nan=False)
                handle.write("\n")
        elif fmt == "csv":
            _json_cells(df).to_csv(tmp, index=False)
        elif fmt == "parquet":
            _parquet_safe(df).to_parquet(tmp, index=False)
        elif fmt == "pickle":
            df.to_pickle(tmp)
        else:
            raise InputError(f"{path}: unknown table format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}")
    return path


def _json_cells(df: pd.DataFrame) -> pd.DataFrame:
    """CSV cells holding lists/dicts are written as JSON text (not Python's repr), so they can be
    read back (:func:`_parse_json_columns`, :func:`mmscore.io.cells.text_list`)."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object and any(isinstance(v, (list, tuple, dict, np.ndarray)) for v in out[column]):
            out[column] = [
                json.dumps(to_jsonable(v), ensure_ascii=False, allow_nan=False)
                if isinstance(v, (list, tuple, dict, np.ndarray))
                else v
                for v in out[column]
            ]
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: serialise mixed dict/list object columns to JSON text."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object:
            kinds = {type(v) for v in out[column] if v is not None and not _is_nan(v)}
            if len(kinds) > 1 and kinds & {dict, list}:
                out[column] = [
                    json.dumps(to_jsonable(v)) if isinstance(v, (dict, list)) else v for v in out[column]
                ]
    return out


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def require_columns(df: pd.DataFrame, columns: list[str], where: str = "input table") -> None:
    """Raise ``ColumnError`` for the first missing column, listing the columns present."""
    for column in columns:
        if column not in df.columns:
            raise ColumnError(column, [str(c) for c in df.columns], where)
