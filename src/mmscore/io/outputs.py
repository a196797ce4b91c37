"""Output safety checks every command runs before any long work.

Two ways a run loses a user's data: an output path that is one of the inputs (``-o gold.csv``
replaces the gold file with the results, also through a symlink), and an output folder that cannot
be written, discovered only after an hour of scoring. :func:`prepare_outputs` refuses the first
and detects the second up front; commands call it before loading any model.
:func:`check_new_columns` refuses result columns that would overwrite an input column.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from mmscore.errors import ConfigError, InputError

PathLike = str | os.PathLike[str]


class OutputCollisionError(ConfigError):
    """An output path resolves to an input file (exit 2: nothing is written)."""


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file: same inode, or the same resolved path."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_output_over_input(outputs: Iterable[PathLike | None], inputs: Iterable[PathLike | None]) -> None:
    """Raise ``OutputCollisionError`` if an output path is (or resolves to) an input file.

    An input that is a folder (a dataset) protects every existing file under it."""
    input_paths = [Path(os.path.expanduser(str(p))) for p in inputs if p is not None]
    for output in outputs:
        if output is None:
            continue
        out = Path(os.path.expanduser(str(output)))
        for source in input_paths:
            hit = _same_file(out, source)
            if not hit and source.is_dir() and out.exists():
                hit = out.resolve().is_relative_to(source.resolve())
            if hit:
                raise OutputCollisionError(
                    f"output {out} is the input file {source}; writing it would replace your data. "
                    "Choose another output path (-o)"
                )


def check_writable(outputs: Iterable[PathLike | None]) -> None:
    """Raise ``ConfigError`` naming the first output that cannot be written.

    The folder is created if missing (as the writers would); an existing file must be writable
    and its folder must allow creating the temporary file of an atomic write."""
    for output in outputs:
        if output is None:
            continue
        path = Path(os.path.expanduser(str(output)))
        if path.is_dir():
            raise ConfigError(f"output {path} is a directory; give a file name")
        folder = path.parent if str(path.parent) else Path(".")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"output folder {folder} cannot be created ({exc.strerror or exc})") from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"output folder {folder} is not writable; choose another output path")
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"output file {path} exists and is not writable")


def check_writable_dir(folder: PathLike | None) -> None:
    """:func:`check_writable` for an output folder (its files are named later)."""
    if folder is not None:
        check_writable([Path(folder) / ".mmscore-write-check"])


def prepare_outputs(outputs: Sequence[PathLike | None], inputs: Sequence[PathLike | None]) -> None:
    """Both checks, in the order a user wants to hear about them; call before loading models."""
    refuse_output_over_input(outputs, inputs)
    check_writable(outputs)


def check_new_columns(columns: Iterable[str], present: Iterable[str], overwrite: bool = False,
                      where: str = "the input table") -> None:
    """Refuse result columns that already exist in the input, unless ``overwrite`` is set."""
    existing = {str(c) for c in present}
    clashes = [c for c in columns if c in existing]
    if clashes and not overwrite:
        raise InputError(
            f"output column(s) {', '.join(map(repr, clashes))} already exist in {where}; writing the scores "
            "there would replace that column. Choose another --output-key, or pass --overwrite-column"
        )
