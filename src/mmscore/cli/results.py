"""One results printer for every command, and the one exit policy.

Human mode prints rich tables on stdout; ``--json`` prints a single JSON object on stdout
instead (tables and notes suppressed, warnings still on stderr), so scripts can read results
without parsing tables. :func:`exit_policy` turns row counts into the documented exit codes.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmscore.errors import NothingMatchedError, UnscoredRows

EXIT_CODES = """Exit codes (every command): 0 every row scored; 1 --strict and some rows could not be
scored, or nothing at all could be scored / paired / matched; 2 usage, configuration or input
error; 3 stopped by --max-cost (re-run to continue); 130 interrupted. The output is written
whenever anything was scored."""


def _plain(value: Any) -> Any:
    """JSON-safe value: paths as strings, NaN as null, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Printer:
    """Where a command's results go: rich on stdout, or one JSON object with ``as_json``."""

    def __init__(self, as_json: bool = False) -> None:
        from rich.console import Console

        self.as_json = as_json
        self.console = Console(file=io.StringIO()) if as_json else Console()
        self.errors = Console(stderr=True)
        self.written: list[Path] = []

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
              left: Sequence[str] = ()) -> None:
        from rich.table import Table

        table = Table(title=title)
        for column in columns:
            table.add_column(column, justify="left" if column in left else "right")
        for row in rows:
            table.add_row(*[str(cell) for cell in row])
        self.console.print(table)

    def print(self, text: Any) -> None:
        self.console.print(text)

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{text}[/dim]")

    def warn(self, text: str) -> None:
        (self.errors if self.as_json else self.console).print(f"[yellow]{text}[/yellow]")

    def wrote(self, *paths: Path | str) -> None:
        for path in paths:
            self.written.append(Path(path))
            self.console.print(f"wrote {path}")

    def finish(self, data: dict[str, Any]) -> None:
        """In JSON mode print ``data`` (plus ``"written"``) as the one line of stdout."""
        if self.as_json:
            payload = {**data, "written": [str(p) for p in self.written]}
            print(json.dumps(_plain(payload), ensure_ascii=False, allow_nan=False))


def exit_policy(*, scored: int, unscored: int, strict: bool, what: str = "rows", first_error: str | None = None,
                output: Path | str | None = None, nothing: str | None = None) -> None:
    """Raise the documented exit for these counts (call after the output is written); ``nothing``
    replaces the message when nothing at all was scored."""
    where = f"; the output was written to {output}" if output is not None else ""
    first = f"; first: {first_error}" if first_error else ""
    if scored == 0:
        raise NothingMatchedError(nothing or f"nothing could be scored: 0 of {scored + unscored} {what}{first}{where}")
    if strict and unscored:
        raise UnscoredRows(f"{unscored} of {scored + unscored} {what} could not be scored (--strict){first}{where}")


def stats_row(values: Any) -> list[str]:
    """mean/min/max of a numeric series as 4-decimal strings (``-`` when empty)."""
    if not len(values):
        return ["-"] * 3
    return [f"{values.mean():.4f}", f"{values.min():.4f}", f"{values.max():.4f}"]


def default_output(input_path: Path, tag: str) -> Path:
    """``<input stem>.<tag><input extension>`` beside the input; a folder input (parquet shards)
    gives ``<folder>.<tag>.parquet``."""
    suffix = input_path.suffix if input_path.suffix and not input_path.is_dir() else ".parquet"
    return input_path.with_name(f"{input_path.stem if input_path.suffix else input_path.name}.{tag}{suffix}")
