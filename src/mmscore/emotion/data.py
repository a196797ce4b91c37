"""Gold and prediction tables keyed by video name.

Accepted files: CSV (the seed's ``video_name, emotion_label, transcription`` with spaces after
the commas and quoted text: read with ``skipinitialspace``), TSV, JSON, JSONL, parquet, and
Emotion-LLaMA's test list ``.txt`` (``name frames label [valence]`` per line, space separated).

Keys are compared after stripping whitespace and a media extension (``sample_001.mp4`` and
``sample_001`` are the same sample), so gold files naming videos and prediction files naming
samples line up. Duplicate keys are rejected with the offending names and rows; a row without a
key (or a gold row without a label) raises ``InputError`` naming the file and the row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmscore.errors import ColumnError, InputError, NothingMatchedError
from mmscore.io.cells import is_blank
from mmscore.io.tables import read_table

KEY_COLUMNS = ("video_name", "name", "names", "video", "video_id", "id", "sample", "image_id")
GOLD_LABEL_COLUMNS = ("emotion_label", "emotion", "label", "discrete", "gt", "target", "answer")
PRED_LABEL_COLUMNS = ("prediction", "pred", "answer", "emotion", "discrete", "label", "emotion_label",
                      "output", "response")
OPENSET_COLUMNS = ("openset", "labels", "emotions", "prediction", "pred", "answer")
REASON_COLUMNS = ("reason", "reasons", "english", "eng_reasons", "chi_reasons", "chinese", "description",
                  "prediction", "pred", "answer", "output", "response")
VALENCE_COLUMNS = ("valence", "val")
_MEDIA_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".flv", ".mpg", ".mpeg", ".wav", ".mp3",
                     ".jpg", ".jpeg", ".png", ".npy", ".npz"}


def normalise_key(name: object) -> str:
    """Strip whitespace and one trailing media extension ('' for empty/None)."""
    if name is None or (isinstance(name, float) and name != name):
        return ""
    text = str(name).strip()
    stem, ext = os.path.splitext(text)
    return stem if ext.lower() in _MEDIA_EXTENSIONS and stem else text


@dataclass
class RawTable:
    """A table plus, for each row, how to name it in an error message."""

    path: Path
    frame: pd.DataFrame
    where: list[str]


def read_records(path: str | os.PathLike[str]) -> RawTable:
    """Read any supported table; CSV cells are stripped strings ('' for empty)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        try:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", skipinitialspace=True, dtype=str,
                                keep_default_na=False, encoding="utf-8-sig")
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{path}: the file is empty (expected a header row)") from exc
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: malformed {suffix[1:].upper()}: {exc}") from exc
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = frame.apply(lambda col: col.str.strip())
        return RawTable(path, frame, [f"row {i + 1} (line {i + 2})" for i in range(len(frame))])
    if suffix == ".txt":
        return _read_emotion_llama_list(path)
    frame = read_table(path)
    return RawTable(path, frame, [f"record {i + 1}" for i in range(len(frame))])


def _read_emotion_llama_list(path: Path) -> RawTable:
    rows, where = [], []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) < 3:
            raise InputError(f"{path}, line {line_no}: expected 'name frames label [valence]', got {line!r}")
        row = {"name": parts[0], "frames": parts[1], "label": parts[2]}
        if len(parts) > 3:
            row["valence"] = parts[3]
        rows.append(row)
        where.append(f"line {line_no}")
    return RawTable(path, pd.DataFrame(rows), where)


def pick_column(frame: pd.DataFrame, wanted: str | None, candidates: Sequence[str], where: str,
                what: str, exclude: Sequence[str] = ()) -> str:
    """``wanted`` if given (must exist), else the first candidate present (case-insensitive)."""
    columns = [str(c) for c in frame.columns]
    if wanted is not None:
        if wanted not in columns:
            raise ColumnError(wanted, columns, where)
        return wanted
    lower = {c.lower(): c for c in columns if c not in exclude}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    raise InputError(
        f"{where}: no {what} column found; looked for {', '.join(candidates)}; columns present: "
        f"{', '.join(columns) or '(none)'}; name it with the matching --*-column option"
    )


@dataclass
class KeyedTable:
    """One value (label, label list, text) per normalised key, in file order."""

    path: Path
    key_column: str
    value_column: str
    keys: list[str]
    values: list[Any]
    where: list[str]
    extra: dict[str, list[Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(self.keys, self.values, strict=False))


def load_keyed(
    path: str | os.PathLike[str],
    *,
    role: str,
    value_candidates: Sequence[str],
    key_column: str | None = None,
    value_column: str | None = None,
    require_value: bool,
    extra_columns: dict[str, tuple[str | None, Sequence[str]]] | None = None,
) -> KeyedTable:
    """Read ``path`` into a ``KeyedTable``; ``role`` ('gold', 'predictions') appears in errors.

    ``extra_columns`` maps a name to (explicit column or None, candidates); an absent optional
    column is simply not loaded.
    """
    raw = read_records(path)
    where = f"{role} file {raw.path}"
    if raw.frame.empty:
        raise InputError(f"{where}: no rows")
    key_col = pick_column(raw.frame, key_column, KEY_COLUMNS, where, "video-name key")
    value_col = pick_column(raw.frame, value_column, value_candidates, where, "value", exclude=(key_col,))
    keys, values, rows = [], [], []
    pairs = zip(raw.frame[key_col].tolist(), raw.frame[value_col].tolist(), strict=True)
    for position, (key, value) in enumerate(pairs):
        name = normalise_key(key)
        if not name:
            raise InputError(f"{raw.path}, {raw.where[position]}: empty {key_col!r} (every row needs a video name)")
        if require_value and is_blank(value):
            raise InputError(f"{raw.path}, {raw.where[position]} ({name}): empty {value_col!r}")
        keys.append(name)
        values.append(None if is_blank(value) else value)
        rows.append(raw.where[position])
    _reject_duplicates(raw.path, keys, rows)
    extra: dict[str, list[Any]] = {}
    for name, (explicit, candidates) in (extra_columns or {}).items():
        lower = {str(c).lower(): str(c) for c in raw.frame.columns if c not in (key_col, value_col)}
        column = explicit if explicit is not None else next((lower[c] for c in candidates if c in lower), None)
        if explicit is not None and explicit not in raw.frame.columns:
            raise ColumnError(explicit, [str(c) for c in raw.frame.columns], where)
        if column is not None:
            extra[name] = [None if is_blank(v) else v for v in raw.frame[column].tolist()]
    return KeyedTable(raw.path, key_col, value_col, keys, values, rows, extra)


def _reject_duplicates(path: Path, keys: list[str], rows: list[str]) -> None:
    seen: dict[str, list[str]] = {}
    for key, row in zip(keys, rows, strict=False):
        seen.setdefault(key, []).append(row)
    dups = {key: where for key, where in seen.items() if len(where) > 1}
    if dups:
        shown = "; ".join(f"{key} ({', '.join(where)})" for key, where in list(dups.items())[:20])
        more = f" and {len(dups) - 20} more" if len(dups) > 20 else ""
        raise InputError(f"{path}: {len(dups)} duplicate video name(s): {shown}{more}")


@dataclass
class Alignment:
    """Predictions in gold order (None where missing) plus what did not line up."""

    keys: list[str]
    pred: list[Any]
    missing: list[str]
    extra: list[str]
    pred_rows: list[int | None]

    def answers(self, blank: Any) -> list[Any]:
        """Predictions with ``None`` for missing rows and ``blank`` for present-but-empty cells."""
        return [blank if (v is None and i is not None) else v
                for v, i in zip(self.pred, self.pred_rows, strict=True)]


def align(gold: KeyedTable, pred: KeyedTable) -> Alignment:
    """Predictions looked up for every gold key; absent ones are ``None`` and listed."""
    index = {key: i for i, key in enumerate(pred.keys)}
    values, rows, missing = [], [], []
    for key in gold.keys:
        i = index.get(key)
        rows.append(i)
        if i is None:
            missing.append(key)
            values.append(None)
        else:
            values.append(pred.values[i])
    gold_keys = set(gold.keys)
    extra = [key for key in pred.keys if key not in gold_keys]
    if gold.keys and len(missing) == len(gold.keys):
        raise NothingMatchedError(
            f"no prediction in {pred.path} matches a sample of {gold.path} by name: gold keys look like "
            f"{', '.join(map(repr, gold.keys[:3]))}, prediction keys like "
            f"{', '.join(map(repr, pred.keys[:3])) or '(none)'} (column {pred.key_column!r}); make the names "
            "match (e.g. file names without folders) or choose the columns with --gold-key-column/--pred-key-column"
        )
    return Alignment(list(gold.keys), values, missing, extra, rows)
