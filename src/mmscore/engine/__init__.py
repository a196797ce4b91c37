"""Execution engines: sharded, restartable output and the optional Ray Data engine.

``run_engine`` (``mmscore.engine.api``) is re-exported lazily so importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_SHARD_SIZE", "run_engine"]

#: rows per shard when not given: small enough that a shard's decoded frames stay in memory and a
#: restart loses little, large enough that per-shard overhead (model calls, one parquet file) is small
DEFAULT_SHARD_SIZE = 256


def __getattr__(name: str) -> Any:
    if name == "run_engine":
        from mmscore.engine.api import run_engine

        return run_engine
    raise AttributeError(f"module 'mmscore.engine' has no attribute {name!r}")
