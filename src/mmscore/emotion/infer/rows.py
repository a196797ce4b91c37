"""The rows to ask: gold video names in gold order, their transcripts and their video files.

Transcripts come from ``--transcripts CSV`` (key column found like the gold's; text column
``--transcript-column`` or the first of :data:`TRANSCRIPT_COLUMNS`) or else from the gold file
itself (the seed's ``transcription`` column, EMER's ``subtitles``). A row without one is an error
before any request unless ``--missing-transcript empty|nan`` says what to send instead (``nan`` is
what Emotion-LLaMA sends for an empty cell; ``empty`` is MER2025's ``""``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mmscore.emotion.data import KEY_COLUMNS, _reject_duplicates, load_keyed, normalise_key, pick_column, read_records
from mmscore.errors import ConfigError, InputError
from mmscore.io.cells import is_blank

TRANSCRIPT_COLUMNS = ("transcription", "transcript", "sentence_en", "sentence", "subtitles", "subtitle", "english",
                      "text")
MISSING_TRANSCRIPT = ("error", "empty", "nan")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".flv", ".mpg", ".mpeg")


@dataclass(frozen=True)
class Row:
    position: int
    key: str
    where: str  # e.g. "row 3 (line 4)" of the gold file
    written_name: str  # the gold cell as written (may carry an extension)
    transcript: str | None


def load_rows(gold: str | os.PathLike[str], *, gold_key_column: str | None = None,
              transcripts: str | os.PathLike[str] | None = None, transcript_column: str | None = None,
              need_transcript: bool = True, missing: str = "error") -> list[Row]:
    """Gold rows in order, with transcripts (checked against ``missing``) when the prompt uses them."""
    if missing not in MISSING_TRANSCRIPT:
        raise ConfigError(f"--missing-transcript must be one of {', '.join(MISSING_TRANSCRIPT)}; got {missing!r}")
    raw = read_records(gold)
    if raw.frame.empty:
        raise InputError(f"gold file {raw.path}: no rows")
    key_col = pick_column(raw.frame, gold_key_column, KEY_COLUMNS, f"gold file {raw.path}", "video-name key")
    written = ["" if is_blank(v) else str(v).strip() for v in raw.frame[key_col].tolist()]
    keys = [normalise_key(v) for v in written]
    for key, where in zip(keys, raw.where, strict=True):
        if not key:
            raise InputError(f"{raw.path}, {where}: empty {key_col!r} (every row needs a video name)")
    _reject_duplicates(raw.path, keys, raw.where)
    texts: list[str | None] = [None] * len(keys)
    if need_transcript:
        texts = _transcripts(raw, key_col, keys, transcripts, transcript_column)
        texts = _apply_missing(raw.path, keys, raw.where, texts, missing)
    elif transcripts is not None:
        raise ConfigError("this prompt has no {transcript}: --transcripts would not be used")
    return [Row(i, k, w, n, t) for i, (k, w, n, t) in enumerate(zip(keys, raw.where, written, texts, strict=True))]


def _transcripts(raw, key_col: str, keys: list[str], transcripts, column: str | None) -> list[str | None]:
    if transcripts is not None:
        table = load_keyed(transcripts, role="transcripts", value_candidates=TRANSCRIPT_COLUMNS,
                           value_column=column, require_value=False)
        found = table.as_dict()
        return [None if found.get(k) is None else str(found[k]) for k in keys]
    lower = {str(c).lower(): str(c) for c in raw.frame.columns if c != key_col}
    if column is not None and column not in raw.frame.columns:
        from mmscore.errors import ColumnError

        raise ColumnError(column, [str(c) for c in raw.frame.columns], f"gold file {raw.path}")
    chosen = column or next((lower[c] for c in TRANSCRIPT_COLUMNS if c in lower), None)
    if chosen is None:
        raise InputError(f"gold file {raw.path}: this prompt needs each row's transcript, and the gold file has "
                         f"no transcript column ({', '.join(TRANSCRIPT_COLUMNS)}); pass --transcripts CSV "
                         "(and --transcript-column)")
    return [None if is_blank(v) else str(v) for v in raw.frame[chosen].tolist()]


def _apply_missing(path: Path, keys: list[str], where: list[str], texts: list[str | None],
                   missing: str) -> list[str | None]:
    absent = [f"{k} ({w})" for k, w, t in zip(keys, where, texts, strict=True) if t is None]
    if not absent:
        return texts
    if missing == "error":
        shown = ", ".join(absent[:10]) + (f" and {len(absent) - 10} more" if len(absent) > 10 else "")
        raise InputError(f"{path}: {len(absent)} row(s) have no transcript: {shown}. Fix the transcripts, or pass "
                         "--missing-transcript empty (send '') or nan (send 'nan', as Emotion-LLaMA does)")
    fill = "" if missing == "empty" else "nan"
    return [fill if t is None else t for t in texts]


def find_video(folder: Path, row: Row) -> Path | None:
    """``<folder>/<name as written>`` if it exists, else ``<folder>/<key><ext>`` for the usual extensions
    (.mp4 before .avi, as Emotion-LLaMA looks)."""
    if row.written_name and Path(row.written_name).suffix:
        candidate = folder / row.written_name
        if candidate.is_file():
            return candidate
    for ext in VIDEO_EXTENSIONS:
        candidate = folder / f"{row.key}{ext}"
        if candidate.is_file():
            return candidate
    return None
