"""The operator contract: ``run(storage, ...)`` reads the step's table, adds columns, writes it
and returns the names of the columns it added.

A scoring operator does that through the three calls of :mod:`mmscore.operators.contract`
(``settings``, ``prepare``, ``score``), which the sharded engines call too; :meth:`Operator.run_step`
is ``run()`` made of them.
"""

from __future__ import annotations

import abc
import copy
import inspect
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

from mmscore.errors import ConfigError
from mmscore.io.storage_access import describe_input, storage_resolver, write_frame
from mmscore.io.tables import require_columns
from mmscore.operators.contract import Media, ScoredRows, Settings, frozen_settings

logger = logging.getLogger(__name__)


class Operator(abc.ABC):
    """Base class of every mmscore operator.

    Subclasses implement :meth:`run` with DataFlow's signature (``storage`` first, then the
    column-name keywords) and use :meth:`read_checked` / :meth:`write_result` so every operator
    reports missing columns and writes its step file the same way. Operators whose rows are
    scored independently given the table-level state set ``shardable`` and implement
    :meth:`score` (and :meth:`prepare` when they have such state); ``run`` is then
    :meth:`run_step`.
    """

    #: registry name (set by ``register_operator``)
    name: str = ""
    #: rows are scored independently given :meth:`prepare`'s state: the sharded engines may run it
    shardable: bool = False
    #: :meth:`decode` does media work worth a separate CPU stage in a distributed engine
    decodes: bool = False
    #: reproducibility signature of the last scoring (operators with a model set it)
    signature: str | None = None
    #: DataFlow's ``get_desc`` texts by language ("zh", "en"); empty: the table in ``descriptions.py``
    descriptions: ClassVar[Mapping[str, str]] = {}
    #: path cell -> absolute file, of the last ``run()`` (its ``.run.json`` records it as ``media_paths``)
    last_media_paths: dict[str, str] | None = None

    @classmethod
    def get_desc(cls, lang: str = "zh") -> str:
        """What the operator does, in DataFlow's form (``"zh"`` or ``"en"``; others get English)."""
        from mmscore.operators.descriptions import describe

        return describe(cls.__name__, cls.__doc__, lang, cls.descriptions)

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

    # -- the contract the engines call -------------------------------------------------------
    def keys(self, run_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``run`` keywords with the defaults filled in (unknown names are a ``ConfigError``)."""
        signature = inspect.signature(self.run)
        try:
            bound = signature.bind(None, **dict(run_kwargs or {}))
        except TypeError as exc:
            raise ConfigError(f"{type(self).__name__}.run: bad arguments {dict(run_kwargs or {})!r}: {exc}") from exc
        bound.apply_defaults()
        first = next(iter(signature.parameters))
        return {key: value for key, value in bound.arguments.items() if key != first}

    def settings(self) -> Settings:
        """The explicit settings that decide the scores (no speed knobs); they pin a sharded job."""
        return frozen_settings()

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return []

    def output_columns(self, keys: Mapping[str, Any]) -> list[str]:
        """Columns the operator adds, the error column last."""
        return []

    def prepare(self, table: pd.DataFrame, keys: Mapping[str, Any]) -> Any:
        """Table-level state over the whole table, broadcast to every shard (default: none)."""
        return None

    def score(self, rows: pd.DataFrame, state: Any, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        """The columns for ``rows`` given ``prepare``'s state (shardable operators implement it)."""
        raise ConfigError(f"{type(self).__name__} does not score rows independently")

    def decode(self, rows: pd.DataFrame, keys: Mapping[str, Any], media: Media, image_size: int | None) -> dict:
        """CPU-only media work for ``rows`` another process may do; handed back in ``Media.decoded``."""
        return {}

    # -- model hooks (operators without a model keep the defaults) ---------------------------
    def model_info(self) -> tuple[str | None, int | None]:
        """(weights fingerprint, image input size) of the operator's model, without moving it to a device."""
        return None, None

    def load(self) -> Any:
        """Load the operator's model once (None without one)."""
        return None

    def tune(self, device: str | None, batch_size: int | None) -> None:
        """Device and batch size chosen by a worker: never change a score."""
        return None

    def without_model(self) -> Operator:
        """A copy to ship to another process (it loads its own model there)."""
        return copy.copy(self)

    # -- run() made of the contract ----------------------------------------------------------
    def score_table(self, df: pd.DataFrame, keys: Mapping[str, Any], media: Media) -> pd.DataFrame:
        """``df`` with the operator's columns: ``prepare`` over the table, then ``score`` of every row."""
        return self.score(df, self.prepare(df, keys), keys, media).added_to(df)

    def run_step(self, storage: Any, **run_kwargs: Any) -> list[str]:
        """``run()`` through the contract: read, prepare, score, write; returns the added columns."""
        keys = self.keys(run_kwargs)
        df = self.read_checked(storage, self.required_columns(keys))
        resolver = storage_resolver(storage)  # the storage's path rule, recording this run's files
        out = self.score_table(df, keys, Media(resolver))
        self.last_media_paths = dict(resolver.resolved)
        return self.write_result(storage, out, self.output_columns(keys))
