"""The reproducible record of one evaluation-suite run: results, settings and signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def evaluation_record(task: str, result: dict[str, Any], encoder: Any, model: str) -> dict[str, Any]:
    """``{"results": ..., "signature": ..., "settings": ..., "versions": ...}``; the signature pins
    the task, the model as named and its weights fingerprint, context length and image size."""
    from mmscore.provenance import run_info

    settings = {"task": task, "model": model, "fp": encoder.fingerprint, "ctx": encoder.context_length,
                "img": encoder.image_size}
    return {"results": result, **run_info(settings)}


def default_output(task: str, dataset: str) -> Path:
    """``eval_<task>_<dataset>.json`` with the dataset name made file-safe."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path(f"eval_{task}_{safe}.json")
