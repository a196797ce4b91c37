"""The prediction file (one row per gold row, gold order) and its sidecar of settings.

``video_name,prediction,status,error,n_frames,frame_idx,prompt_id,question``: ``prediction`` is the
reply verbatim (the metrics map answers to labels); ``status`` is ``ok``, ``error`` (the row failed;
``error`` says why) or ``not_started`` (stopped by ``--max-cost``); ``frame_idx`` lists the frame
positions sent (``;``-separated, repeats included); ``question`` is the 1-based question number for
prompts with several (EMER). Nothing run-specific (timings, cache hits) goes in the CSV, so a resumed
run writes the same bytes as an uninterrupted one; those go to the sidecar ``<stem>.infer.json``.
"""

from __future__ import annotations

import csv
import io
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mmscore.io.atomic import atomic_write_json, atomic_write_text

COLUMNS = ("video_name", "prediction", "status", "error", "n_frames", "frame_idx", "prompt_id", "question")


@dataclass
class RowResult:
    key: str
    prediction: str
    status: str  # ok | error | not_started
    error: str = ""
    positions: list[int] | None = None
    question: int | None = None
    total_frames: int | None = None


def sidecar_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.infer.json")


def default_cache_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.infer-cache.sqlite")


def write_predictions(output: Path, results: list[RowResult], prompt_id: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in results:
        positions = "" if r.positions is None else ";".join(map(str, r.positions))
        writer.writerow([r.key, r.prediction, r.status, r.error, "" if r.positions is None else len(r.positions),
                         positions, prompt_id, "" if r.question is None else r.question])
    return atomic_write_text(output, buffer.getvalue())


def public_url(url: str) -> str:
    """``url`` without a user:password part or a query string (either may carry a key; never recorded)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def versions() -> dict[str, str]:
    from mmscore._version import __version__

    found = {"mmscore": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("av", "httpx", "numpy", "PIL"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", ""))
    return found


def write_sidecar(output: Path, info: dict[str, Any]) -> Path:
    return atomic_write_json(sidecar_path(output), {**info, "versions": versions()})
