"""One operator of a sharded job: the operator contract applied shard by shard.

An operator's ``run(storage, ...)`` is ``prepare`` over the whole table, then ``score`` of its
rows (``mmscore.operators.contract``). A sharded job makes the same calls: :meth:`Step.prepare`
once over the WHOLE input (so table-level state such as EMScore's idf never depends on how rows
are cut into shards or which worker scores them), then :meth:`Step.score` on each shard with
that state. Optional :meth:`Step.decode` is the operator's CPU-only media work, which a
distributed engine runs in separate tasks and hands back in memory.

Rows that could not be scored come back as structured records (position + message); the step
numbers them by the row's position in the whole input, as a single ``run()`` does. The engine
knows nothing else about an operator: only operators that declare ``shardable`` (rows scored
independently given the state) are accepted, others are refused with a ``ConfigError`` rather
than silently giving different numbers.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mmscore.engine.shards import ROW_ID
from mmscore.errors import ConfigError
from mmscore.io.atomic import to_jsonable
from mmscore.io.media_paths import Resolver
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media


def _qualified(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _compact(value: Any) -> Any:
    """A JSON-able description of a setting; big values (e.g. an idf corpus) become a digest."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    text = json.dumps(to_jsonable(value), sort_keys=True, default=str)
    if len(text) > 256:
        return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "size": len(text)}
    return json.loads(text)


class Step:
    """One operator with its ``run`` keywords, runnable shard by shard (see the module docstring)."""

    def __init__(self, operator: Operator, run_kwargs: Mapping[str, Any] | None = None) -> None:
        if not (isinstance(operator, Operator) and operator.shardable):
            raise ConfigError(f"operator {type(operator).__name__} cannot be run by the sharded engines (its rows "
                              "are not known to be scored independently: it does not implement the "
                              "prepare/score contract of mmscore.operators.contract)")
        self.operator = operator
        self.keys = operator.keys(run_kwargs)
        self.state: Any = None

    # -- identity ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self.operator).__name__

    @property
    def decodes(self) -> bool:
        return self.operator.decodes

    def describe(self) -> dict[str, Any]:
        """Everything that decides the scores: operator class, its settings, the run keywords."""
        settings = {key: _compact(value) for key, value in sorted(self.operator.settings().items())}
        return {"operator": _qualified(self.operator), "settings": settings, "run": _compact(self.keys)}

    def model_info(self) -> tuple[str | None, int | None]:
        """(weights fingerprint, image input size) of the step's model, or (None, None)."""
        return self.operator.model_info()

    def required_columns(self) -> list[str]:
        return self.operator.required_columns(self.keys)

    def output_columns(self) -> list[str]:
        return self.operator.output_columns(self.keys)

    def signature(self) -> str | None:
        return self.operator.signature

    # -- stages --------------------------------------------------------------------------------
    def prepare(self, table: pd.DataFrame) -> Any:
        """The operator's table-level state over the whole input."""
        return self.operator.prepare(table.drop(columns=[ROW_ID], errors="ignore"), self.keys)

    def bind_state(self, state: Any) -> Step:
        """A copy of this step carrying the broadcast state (the original is untouched)."""
        clone = copy.copy(self)
        clone.state = state
        return clone

    def decode(self, df: pd.DataFrame, resolve: Resolver, image_size: int | None) -> Any:
        """CPU-only media work for a shard, runnable in another process."""
        return self.operator.decode(df, self.keys, Media(resolve), image_size)

    def score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any = None) -> pd.DataFrame:
        """The shard with the step's columns added; errors numbered by the rows' input positions."""
        scored = self.operator.score(df, self.state, self.keys, Media(resolve, decoded or {}))
        row_ids = df[ROW_ID].tolist() if ROW_ID in df.columns else None
        return scored.added_to(df, row_ids)

    # -- placement -----------------------------------------------------------------------------
    def load(self) -> Any:
        return self.operator.load()

    def tune(self, device: str | None, batch_size: int | None) -> None:
        self.operator.tune(device, batch_size)

    def shippable(self) -> Step:
        """A copy without a loaded model, to send to another process (which loads its own)."""
        clone = copy.copy(self)
        clone.operator = self.operator.without_model()
        return clone


def adapter_for(operator: Any, run_kwargs: Mapping[str, Any] | None = None) -> Step:
    """The step of a shardable operator; any other operator is refused with a ``ConfigError``."""
    return Step(operator, run_kwargs)
