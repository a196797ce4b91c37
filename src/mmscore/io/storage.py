"""``FileStorage``: DataFlow's file-backed storage contract, without depending on DataFlow.

When open-dataflow is installed, :mod:`mmscore.dataflow` registers this class as a virtual
``DataFlowStorage`` so DataFlow pipelines accept it (``compile()`` asks ``get_keys_from_dataframe``).

Each operator works on one *step*: ``storage.step()`` returns the storage for the next step;
``read()`` reads that step's input (step 0: ``first_entry_file_name``; step n: the file the
previous operator wrote) and ``write()`` writes ``{cache_path}/{file_name_prefix}_step{n+1}``.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mmscore.errors import ConfigError, InputError
from mmscore.io.media_paths import resolve_media_path
from mmscore.io.outputs import refuse_output_over_input
from mmscore.io.tables import TABLE_FORMATS, dataframe_records, read_table, write_table

logger = logging.getLogger(__name__)


class FileStorage:
    """File-backed table storage with numbered step files (DataFlow ``FileStorage`` contract)."""

    def __init__(
        self,
        first_entry_file_name: str,
        cache_path: str = "./cache",
        file_name_prefix: str = "dataflow_cache_step",
        cache_type: Literal["json", "jsonl", "csv", "parquet", "pickle"] = "jsonl",
    ) -> None:
        if cache_type not in TABLE_FORMATS:
            raise ConfigError(f"cache_type must be one of {', '.join(TABLE_FORMATS)}; got {cache_type!r}")
        self.first_entry_file_name = str(first_entry_file_name)
        self.cache_path = str(cache_path)
        self.file_name_prefix = file_name_prefix
        self.cache_type = cache_type
        self.operator_step = -1

    # -- DataFlow contract -------------------------------------------------------------
    def step(self) -> FileStorage:
        """Advance to the next operator step and return a storage bound to it."""
        self.operator_step += 1
        return copy.copy(self)

    def read(self, output_type: Literal["dataframe", "dict"] = "dataframe") -> Any:
        """Read this step's input table as a DataFrame or a list of dicts."""
        if output_type not in ("dataframe", "dict"):
            raise ConfigError(f"output_type must be 'dataframe' or 'dict'; got {output_type!r}")
        path = self.input_path()
        if self.operator_step > 0 and not path.exists():
            raise InputError(
                f"{path}: step {self.operator_step} input not found; did the previous operator "
                "write its output (storage.write) before this step was read?"
            )
        df = read_table(path)
        return df if output_type == "dataframe" else dataframe_records(df)

    def write(self, data: pd.DataFrame | list[dict[str, Any]]) -> str:
        """Write this step's output atomically and return the file path."""
        if isinstance(data, list):
            data = pd.DataFrame(data)
        if not isinstance(data, pd.DataFrame):
            raise InputError(f"FileStorage.write expects a DataFrame or a list of dicts, got {type(data).__name__}")
        path = self.output_path()
        refuse_output_over_input([path], [self.first_entry_file_name])
        write_table(data, path, self.cache_type)
        return str(path)

    def get_keys_from_dataframe(self) -> list[str]:
        """Column names of this step's input (DataFlow's ``compile()`` checks keys with it)."""
        return [str(column) for column in self.read(output_type="dataframe").columns]

    def reset(self) -> FileStorage:
        """Back to before the first step (DataFlow's ``reset``)."""
        self.operator_step = -1
        return self

    # -- helpers -----------------------------------------------------------------------
    def step_file(self, step: int) -> Path:
        return Path(self.cache_path) / f"{self.file_name_prefix}_step{step}.{self.cache_type}"

    def input_path(self) -> Path:
        if self.operator_step < 0:
            raise InputError("FileStorage.read() called before step(); call storage.step() first")
        if self.operator_step == 0:
            return Path(self.first_entry_file_name)
        return self.step_file(self.operator_step)

    def output_path(self) -> Path:
        if self.operator_step < 0:
            raise InputError("FileStorage.write() called before step(); call storage.step() first")
        return self.step_file(self.operator_step + 1)

    @property
    def base_dir(self) -> Path:
        """Directory of the first entry file: relative media paths may be relative to it."""
        return Path(self.first_entry_file_name).resolve().parent

    def resolve_path(self, value: str | os.PathLike[str]) -> Path:
        """Resolve a media path from the table: absolute, else cwd-relative, else input-relative."""
        return resolve_media_path(value, self.base_dir)

    def __repr__(self) -> str:
        return (
            f"FileStorage(first_entry_file_name={self.first_entry_file_name!r}, cache_path={self.cache_path!r}, "
            f"file_name_prefix={self.file_name_prefix!r}, cache_type={self.cache_type!r}, step={self.operator_step})"
        )
