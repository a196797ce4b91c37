"""Resumable training state and the exported model.

``<out>/checkpoints/step-NNNNNNNN/state.pt`` holds model, optimizer, schedule, GradScaler and
the step (written by rank 0); ``rank-R.pt`` each rank's RNG states and recipe state (SPECS' ε is
per process). ``latest.json`` names the newest complete folder and is written last, so a run
killed while saving resumes from the previous one. The exported model is a Long-CLIP ``.pt``.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmscore.errors import ConfigError, InputError
from mmscore.io.atomic import atomic_path, atomic_write_json
from mmscore.training.distributed import DistContext, barrier

KEEP_CHECKPOINTS = 2


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_torch(obj: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def save_state(folder: Path, step: int, parts: dict[str, Any], recipe_state: dict[str, Any],
               ctx: DistContext, identity: dict[str, Any]) -> Path:
    """Write step ``step``'s state (all ranks call this); returns the step folder."""
    target = folder / f"step-{step:08d}"
    save_torch({"rng": rng_state(), "recipe": recipe_state}, target / f"rank-{ctx.rank}.pt")
    if ctx.is_main:
        state = {name: obj.state_dict() for name, obj in parts.items()}
        save_torch({"step": step, "identity": identity, **state}, target / "state.pt")
    barrier(ctx)
    if ctx.is_main:
        atomic_write_json(folder / "latest.json", {"step": step, "folder": target.name})
        old = sorted(p for p in folder.glob("step-*") if p.is_dir() and p != target)
        for path in old[:-(KEEP_CHECKPOINTS - 1) or None]:
            shutil.rmtree(path, ignore_errors=True)
    barrier(ctx)
    return target


def latest_state(folder: Path) -> Path | None:
    pointer = folder / "latest.json"
    if not pointer.is_file():
        return None
    return folder / json.loads(pointer.read_text(encoding="utf-8"))["folder"]


def load_state(target: Path, parts: dict[str, Any], recipe: Any, ctx: DistContext,
               identity: dict[str, Any]) -> int:
    """Restore everything ``save_state`` wrote; the run must be the same (data, settings, world)."""
    state = torch.load(target / "state.pt", map_location="cpu", weights_only=False)
    differ = sorted(k for k in set(identity) | set(state["identity"])
                    if identity.get(k) != state["identity"].get(k))
    if differ:
        shown = ", ".join(f"{k}: {state['identity'].get(k)!r} -> {identity.get(k)!r}" for k in differ)
        raise ConfigError(f"{target}: cannot resume with different settings ({shown}); the loss curve "
                          "would not continue the interrupted run")
    rank_file = target / f"rank-{ctx.rank}.pt"
    if not rank_file.is_file():
        raise InputError(f"{rank_file}: missing (was the run saved with another number of processes?)")
    for name, obj in parts.items():
        obj.load_state_dict(state[name])
    mine = torch.load(rank_file, map_location="cpu", weights_only=False)
    recipe.load_state_dict(mine["recipe"])
    set_rng_state(mine["rng"])
    return int(state["step"])
