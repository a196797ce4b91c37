"""Reading a sentence corpus (e.g. EMScore's ``--idf-corpus``) from a text file or a table."""

from __future__ import annotations

import os
from pathlib import Path

from mmscore.errors import InputError


def read_sentences(path: str | os.PathLike[str], key: str = "caption") -> list[str]:
    """Sentences of a ``.txt`` file (one per non-blank line) or of a table column ``key``
    (list cells are flattened), so idf can be computed from any corpus a user has."""
    from mmscore.io.cells import text_list
    from mmscore.io.tables import read_table, require_columns

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: idf corpus file not found")
    if path.suffix.lower() in (".txt", ".text"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        return [line.strip() for line in text.splitlines() if line.strip()]
    df = read_table(path)
    require_columns(df, [key], where=str(path))
    return [caption for value in df[key] for caption in text_list(value)]
