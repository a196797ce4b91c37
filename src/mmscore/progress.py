"""Rich progress bars shared by every long-running job (quiet mode and non-TTY friendly)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_QUIET = False


def set_quiet(quiet: bool) -> None:
    """Silence every progress bar (``--quiet``)."""
    global _QUIET
    _QUIET = quiet


def is_quiet() -> bool:
    return _QUIET or os.environ.get("MMSCORE_QUIET", "") not in ("", "0")


def stderr_console() -> Console:
    return Console(file=sys.stderr)


@contextlib.contextmanager
def progress_bar(*extra_columns: TextColumn) -> Iterator[Progress]:
    """A progress context writing to stderr; disabled when quiet."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=stderr_console(),
        disable=is_quiet(),
        transient=False,
    )
    with progress:
        yield progress
