"""The operator contract: ``run(storage, ...)`` reads the step's table, adds columns, writes it
and returns the names of the columns it added."""

from __future__ import annotations

import abc
import logging
from typing import Any

import pandas as pd

from mmscore.io.storage_access import describe_input, write_frame
from mmscore.io.tables import require_columns

logger = logging.getLogger(__name__)


class Operator(abc.ABC):
    """Base class of every mmscore operator.

    Subclasses implement :meth:`run` with DataFlow's signature (``storage`` first, then the
    column-name keywords) and use :meth:`read_checked` / :meth:`write_result` so every operator
    reports missing columns and writes its step file the same way.
    """

    #: registry name (set by ``register_operator``)
    name: str = ""

    @classmethod
    def get_desc(cls, lang: str = "zh") -> str:
        """What the operator does, in DataFlow's form (``"zh"`` or ``"en"``; others get English)."""
        from mmscore.operators.descriptions import describe

        return describe(cls.__name__, cls.__doc__, lang)

    @abc.abstractmethod
    def run(self, storage: Any, **kwargs: Any) -> list[str]:
        """Read ``storage``, add columns, write, and return the added column names."""

    def read_checked(self, storage: Any, columns: list[str]) -> pd.DataFrame:
        """Read the step's table and check that ``columns`` exist (error lists those present)."""
        df = storage.read(output_type="dataframe")
        require_columns(df, [c for c in columns if c], where=describe_input(storage))
        return df

    def write_result(self, storage: Any, df: pd.DataFrame, columns: list[str]) -> list[str]:
        path = write_frame(storage, df)
        logger.info("%s wrote %s (%d rows; columns %s)", type(self).__name__, path, len(df), columns)
        return columns
