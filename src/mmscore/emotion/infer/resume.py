"""Cheap resume: a row's outcome remembered under a fingerprint of everything that shapes its request.

The response cache already answers a repeated request without HTTP, but finding its key means
decoding the row's frames and encoding them as images again: for 20,000 videos at 8 frames that is
most of a run. So each answered row is also stored (in the same SQLite cache, key ``row:<sha256>``)
under a fingerprint built without decoding: the model, the decoding parameters, the prompt file's
sha256, the frame policy, image format and audio mode, the row's name, transcript and question, and
the video's (and ``.wav``'s) path, size and modification time. A rerun finds answered rows there and
decodes only the rest. Bump :data:`ROW_FORMAT` whenever the way a request is built changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mmscore.emotion.infer.output import RowResult
from mmscore.emotion.infer.request import RequestPlan
from mmscore.emotion.infer.rows import Row, find_video

ROW_FORMAT = 1


def _file_state(path: Path) -> list[Any] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def row_fingerprint(plan: RequestPlan, row: Row, model: str, params: dict[str, Any]) -> str | None:
    """``row:<sha256>`` of the row's request inputs, or None when the video is missing."""
    video = find_video(plan.videos, row)
    if video is None:
        return None
    payload = {
        "format": ROW_FORMAT, "model": model, "params": params, "prompt": plan.prompt.sha256,
        "frames": plan.frames.spec, "image_format": plan.image_format, "audio": plan.audio, "key": row.key,
        "transcript": row.transcript, "question": plan.question_for(row.key), "video": _file_state(video),
        "wav": _file_state(video.with_suffix(".wav")) if plan.audio in ("input_audio", "audio_url") else None,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return "row:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def recall(cache: Any, fingerprint: str | None, key: str) -> RowResult | None:
    """The stored outcome of an answered row, or None."""
    hit = cache.get(fingerprint) if cache is not None and fingerprint else None
    if hit is None:
        return None
    try:
        stored = json.loads(hit[0])
        return RowResult(key, stored["prediction"], "ok", stored["note"], stored["positions"], stored["question"],
                         stored["total_frames"])
    except (ValueError, KeyError, TypeError):
        return None  # not ours or damaged: ask again


def remember(cache: Any, fingerprint: str | None, model: str, result: RowResult, usage: Any) -> None:
    if cache is None or not fingerprint or result.status != "ok":
        return
    stored = {"prediction": result.prediction, "note": result.error, "positions": result.positions,
              "question": result.question, "total_frames": result.total_frames}
    cache.put(fingerprint, model, json.dumps(stored, ensure_ascii=False), usage)
