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
#: (done, total) of the bar that was running when Ctrl+C arrived, for the "interrupted" message
_INTERRUPTED_AT: tuple[int, int] | None = None


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
        try:
            yield progress
        except KeyboardInterrupt:
            _remember_interrupt(progress)
            raise


def _remember_interrupt(progress: Progress) -> None:
    """Keep the counts of the innermost unfinished bar with a known total."""
    global _INTERRUPTED_AT
    counted = [task for task in progress.tasks if task.total is not None]
    unfinished = [task for task in counted if task.completed < task.total] or counted
    if unfinished and _INTERRUPTED_AT is None:
        task = unfinished[-1]
        _INTERRUPTED_AT = (int(task.completed), int(task.total))


def interrupted_message() -> str:
    """What Ctrl+C prints: how far the work got and how to continue it."""
    global _INTERRUPTED_AT
    where, _INTERRUPTED_AT = _INTERRUPTED_AT, None
    done = f"{where[0]} of {where[1]} done" if where else "stopped before any item was done"
    return f"interrupted: {done}; run the same command again to resume"
