"""Annotator names: what people type, and the safe identifier that goes into file names.

An annotator types a free-form name ("José Müller", "john doe"). Before it touches the file system
it becomes a *slug*: NFKC-normalised, case-folded, every run of characters other than Unicode
letters, digits, ``_`` and ``-`` collapsed to one ``-``, trimmed, at most 64 characters. So
``../../evil`` becomes ``evil`` and no name can produce a path separator, ``..`` or a hidden file.

The slug *is* the annotator's identity: two spellings with the same slug ("John Doe",
"john-doe") are the same person. That also keeps file names distinct on case-insensitive file
systems (macOS, Windows), where ``human-eval@John.json`` and ``human-eval@john.json`` would clash.
"""

from __future__ import annotations

import re
import unicodedata

from mmscore.errors import InputError

#: the scorer name of human scorings (seed ``001``: ``data/scorings/human-eval/...``)
SCORER = "human-eval"
#: the first annotator of a task writes ``human-eval.json`` (the seed's name, read by every tool)
PRIMARY_FILE = f"{SCORER}.json"
MAX_NAME_LENGTH = 100
MAX_SLUG_LENGTH = 64

_NOT_WORD = re.compile(r"[^\w-]+")  # \w is Unicode-aware: letters, digits, underscore
_DASHES = re.compile(r"-{2,}")
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_annotator_name(name: object) -> str:
    """The display name kept in ``metadata.annotator``: control characters removed, whitespace
    collapsed, at most 100 characters. Raises InputError when nothing usable remains."""
    text = unicodedata.normalize("NFKC", str(name if name is not None else ""))
    text = "".join(" " if unicodedata.category(ch) in _CONTROL else ch for ch in text)
    text = " ".join(text.split())[:MAX_NAME_LENGTH].strip()
    annotator_slug(text)  # validates: the name must also give a usable file name
    return text


def annotator_slug(name: object) -> str:
    """The file-name-safe identifier of an annotator (see the module docstring)."""
    text = unicodedata.normalize("NFKC", str(name if name is not None else "")).casefold()
    slug = _DASHES.sub("-", _NOT_WORD.sub("-", text)).strip("-_")
    slug = slug[:MAX_SLUG_LENGTH].strip("-_")
    if not slug:
        raise InputError(
            f"annotator name {str(name)!r} is empty or has no letters or digits; "
            "type a name such as 'Jane Doe'"
        )
    return slug


def annotator_filename(slug: str, primary: bool) -> str:
    """``human-eval.json`` for the task's first annotator, ``human-eval@<slug>.json`` for others."""
    return PRIMARY_FILE if primary else f"{SCORER}@{slug}.json"


def slug_from_filename(filename: str) -> str | None:
    """The annotator slug encoded in ``human-eval@<slug>.json``; None for any other name."""
    prefix, suffix = f"{SCORER}@", ".json"
    if filename.startswith(prefix) and filename.endswith(suffix):
        slug = filename[len(prefix):-len(suffix)]
        return slug or None
    return None
