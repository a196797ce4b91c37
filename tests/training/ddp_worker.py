"""Run by torchrun from test_ddp.py: one optimizer step of the engine on this rank's shard of a
saved batch, recording the gradients the optimizer receives (float64)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from mmscore.training.distributed import init_distributed, shutdown
from mmscore.training.engine import TrainSettings, _prepare, optimizer_step
from mmscore.training.model import load_trainable
from mmscore.training.recipes import LongClipRecipe, SpecsRecipe


def main(out: str, recipe_name: str, ckpt: str, batch_file: str) -> None:
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    recipe = LongClipRecipe(components=3) if recipe_name == "longclip" else SpecsRecipe()
    model, _ = load_trainable(ckpt, "specs")
    model.double()
    parts = _prepare(model, recipe, TrainSettings(lr=0.0, warmup=1), ctx, total=10)
    union = torch.load(batch_file)
    per_rank = len(union[0]) // ctx.world
    shard = tuple(t[ctx.rank * per_rank:(ctx.rank + 1) * per_rank] for t in union)
    seen: dict[str, torch.Tensor] = {}
    original_step = parts.optimizer.step

    def record(*args, **kwargs):
        for name, p in model.named_parameters():
            if p.grad is not None:
                seen[name] = p.grad.detach().clone()
        return original_step(*args, **kwargs)

    parts.optimizer.step = record
    optimizer_step(parts, 0, [shard])
    torch.save(seen, Path(out) / f"rank{ctx.rank}.pt")
    shutdown(ctx)


if __name__ == "__main__":
    main(*sys.argv[1:5])
