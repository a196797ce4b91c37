"""A whole training run as the CLI starts it: read the start checkpoint and the data, train with
the engine, write ``model.pt`` (Long-CLIP layout) and its JSON card."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from mmscore.errors import InputError
from mmscore.io.atomic import atomic_write_json
from mmscore.training.data import read_rows
from mmscore.training.distributed import init_distributed, shutdown
from mmscore.training.engine import RunResult, TrainSettings, train
from mmscore.training.model import load_trainable

log = logging.getLogger(__name__)


def usable_rows(rows: list[dict], recipe: Any, source: str) -> tuple[list[dict], int]:
    """Rows the recipe can train on, and how many were skipped (e.g. a one-caption chain)."""
    kept = [row for index, row in enumerate(rows) if recipe.check_row(row, index)]
    if not kept:
        raise InputError(f"{source}: none of the {len(rows)} rows can train the {recipe.name} recipe")
    return kept, len(rows) - len(kept)


def rows_digest(rows: list[dict]) -> str:
    """Fingerprint of the training rows (images and texts), so --resume refuses changed data."""
    digest = hashlib.sha256()
    for row in rows:
        image = row["image"]
        fields = {k: (v if isinstance(v, (str, list)) else str(v)) for k, v in row.items() if k != "image"}
        digest.update(json.dumps([image if isinstance(image, (str, os.PathLike)) and not callable(image)
                                  else "<in memory>", fields], sort_keys=True, default=str).encode())
    return "sha256:" + digest.hexdigest()[:16]


def _versions() -> dict[str, str]:
    import transformers

    from mmscore._version import __version__

    return {"mmscore": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}


def run_training(recipe: Any, init: str, data: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                 settings: TrainSettings, *, resume: bool = False, eval_data: str | None = None,
                 eval_limit: int | None = None) -> dict[str, Any] | None:
    """Train ``recipe`` from ``init`` on ``data`` into ``out_dir``; returns the card (also written
    as ``model.json``) on the main process, None on the others."""
    from mmscore.io.outputs import prepare_outputs

    out = Path(out_dir)
    prepare_outputs([out / name for name in ("model.pt", "model.json", "log.csv", "eval.csv")],
                    [init, data, eval_data])
    rows, skipped = usable_rows(read_rows(data, recipe.columns, recipe.list_columns), recipe, str(data))
    model, report = load_trainable(init, recipe.init_mode, **recipe.init_options())
    evaluator = None
    if eval_data:
        from mmscore.training.evaluate import load_evaluator

        evaluator = load_evaluator(eval_data, eval_limit)
    ctx = init_distributed(settings.device)
    try:
        digest = rows_digest(rows)
        identity = {"data": str(Path(data).resolve()), "data_digest": digest, "init": report.source}
        result = train(model, rows, recipe, settings, out, resume=resume, evaluate=evaluator, ctx=ctx,
                       identity=identity)
        card = _card(recipe, report, settings, result, {"path": str(data), "rows": len(rows),
                                                        "rows_skipped": skipped, "digest": digest}, ctx.world,
                     eval_data)
        if not ctx.is_main:
            return None
        atomic_write_json(out / "model.json", card)
        return card
    finally:
        shutdown(ctx)


def _card(recipe: Any, report: Any, settings: TrainSettings, result: RunResult, data: dict[str, Any],
          world: int, eval_data: str | None) -> dict[str, Any]:
    return {
        "recipe": recipe.name,
        "model": str(result.model_path) if result.model_path else None,
        "layout": "longclip .pt state dict (positional_embedding + positional_embedding_res, fp32)",
        "init": asdict(report),
        "data": data,
        "settings": asdict(settings),
        "recipe_settings": recipe.settings(),
        "world_size": world,
        "effective_batch": settings.batch_size * settings.accumulation * world,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "final_train": result.last,
        "final_eval": {"data": eval_data, **result.metrics} if eval_data else None,
        "versions": _versions(),
    }
