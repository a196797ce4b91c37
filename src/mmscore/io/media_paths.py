"""The one way a media path cell of a table becomes a file, for every route.

Operators' ``run()`` (on any storage), the CLI commands, the local shard engine and Ray all
resolve through :class:`MediaResolver`: absolute paths as given; relative ones against the working
directory when they exist there, else beside the table (DataFlow's order), with a warning when
both candidates exist and differ. Each resolver records the file every distinct path resolved to,
which the routes write into ``<output>.run.json`` as ``media_paths``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

logger = logging.getLogger(__name__)

Resolver = Callable[[str], Path]


def resolve_media_path(value: str | os.PathLike[str], base_dir: str | os.PathLike[str] | None) -> Path:
    """Absolute paths as given; relative ones against the cwd if they exist there, else ``base_dir``.

    A relative path found in neither place comes back under ``base_dir`` (where a table's own paths
    belong), so the "not found" error names the full place the file was expected, not a bare
    relative name that says nothing about which folder was searched.
    """
    path = Path(os.path.expanduser(str(value)))
    if path.is_absolute() or base_dir is None:
        return path
    beside = Path(base_dir) / path
    if path.exists():
        _warn_if_ambiguous(path, beside)
        return path
    return beside


_WARNED: set[tuple[str, str]] = set()


def _warn_if_ambiguous(in_cwd: Path, beside: Path) -> None:
    """Both candidates exist and differ: the table scores differently depending on the cwd; say so (once)."""
    try:
        if not beside.exists() or os.path.samefile(in_cwd, beside):
            return
    except OSError:
        return
    key = (str(in_cwd.resolve()), str(beside.resolve()))
    if key not in _WARNED:
        _WARNED.add(key)
        logger.warning("%s exists both in the working directory (%s) and beside the table (%s) and they differ; "
                       "using the working directory's (cwd first, as DataFlow does)", in_cwd, key[0], key[1])


@dataclass
class MediaResolver:
    """:func:`resolve_media_path` against ``base_dir`` (or a storage's own ``rule``) that records
    which file each path resolved to; picklable, so it travels to engine workers.

    ``resolved`` maps every path as written in the table to the absolute file used, so a result
    records where its media came from (the same relative path can mean another file elsewhere)."""

    base_dir: str | None = None
    rule: Resolver | None = None
    resolved: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def beside(cls, table: str | os.PathLike[str]) -> MediaResolver:
        """Paths of the table file ``table``: the cwd, then the table's folder."""
        return cls(str(Path(table).resolve().parent))

    def fresh(self) -> MediaResolver:
        """The same rule with an empty record (one per run or per shard)."""
        return replace(self, resolved={})

    def __call__(self, value: str | os.PathLike[str]) -> Path:
        path = Path(self.rule(str(value))) if self.rule is not None else resolve_media_path(value, self.base_dir)
        self.resolved[str(value)] = str(path.resolve())
        return path
