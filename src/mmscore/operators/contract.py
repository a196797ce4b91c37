"""What the engines exchange with an operator: its settings, table-level state and scored columns.

Every scoring operator answers three calls, and ``run()``, the local shard engine and the Ray
engine all make exactly these calls, so they cannot score differently:

* ``settings()`` — the explicit, frozen settings that decide the scores (model, sampling,
  options): they pin a sharded job and feed the signature; speed knobs (device, batch size,
  threads, cache folder) are not in them;
* ``prepare(table, keys) -> state`` — table-level state computed once over the WHOLE table and
  broadcast to every shard (EMScore: the idf weights of the official corpus);
* ``score(rows, state, keys, media) -> ScoredRows`` — the columns for some of the rows, with
  the rows that could not be scored as :class:`RowError` records (row position + message).

``keys`` are the operator's ``run`` keywords (column names) with their defaults filled in;
``media`` says how a path cell becomes a file and may carry media already decoded elsewhere.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.io.media_paths import MediaResolver

Settings = Mapping[str, Any]


def frozen_settings(**values: Any) -> Settings:
    """A read-only mapping of an operator's settings (lists become tuples)."""
    return types.MappingProxyType({key: tuple(value) if isinstance(value, list) else value
                                   for key, value in values.items()})


@dataclass(frozen=True)
class Media:
    """How media cells are reached: ``resolve`` turns a path cell into a file; ``decoded`` holds
    media already decoded by another stage, by resolved path (used instead of reading the file)."""

    resolve: Callable[[str], Path]
    decoded: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def beside(cls, table: str | os.PathLike[str]) -> Media:
        """Media of the table file ``table`` (relative paths: the cwd, then the table's folder)."""
        return cls(MediaResolver.beside(table))


@dataclass(frozen=True)
class RowError:
    """A row that could not be scored: its position in the rows given to ``score`` and why."""

    row: int
    message: str


@dataclass
class ScoredRows:
    """The columns ``score`` computed for its rows, plus the rows it could not score.

    ``numbered``: the error cell names the row ("row 12: ..."), numbered in the whole input
    table (the engines pass each row's position there), as a single ``run()`` reports it.
    """

    columns: dict[str, Any]
    error_column: str | None = None
    errors: list[RowError] = field(default_factory=list)
    numbered: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def output_columns(self) -> list[str]:
        return [*self.columns] + ([self.error_column] if self.error_column else [])

    def error_cells(self, n: int, row_ids: Sequence[int] | None = None) -> pd.arrays.NumpyExtensionArray:
        """The error column for ``n`` rows; ``row_ids``: each row's position in the whole table."""
        cells: list[str | None] = [None] * n
        for error in self.errors:
            number = row_ids[error.row] if row_ids is not None else error.row
            cells[error.row] = f"row {number}: {error.message}" if self.numbered else error.message
        return pd.array(cells, dtype=object)

    def added_to(self, rows: pd.DataFrame, row_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """A copy of ``rows`` with the scored columns and the error column."""
        out = rows.copy()
        for name, values in self.columns.items():
            out[name] = values
        if self.error_column:
            out[self.error_column] = self.error_cells(len(rows), row_ids)
        return out
