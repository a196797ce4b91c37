"""AdamW and the cosine schedule with linear warm-up of SPECS/Long-CLIP (``train/scheduler.py``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def cosine_lr(step: int, base_lr: float, warmup: int, total: int) -> float:
    """base·(t+1)/W for t < W, then base·½(1 + cos(π(t−W)/(T−W))); not clamped after T."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))


class CosineSchedule:
    """Sets the learning rate before each optimizer step t = 0, 1, ...

    ``offset=1`` reproduces SPECS' ``train_spec.py``, whose first call uses t=1 (the peak comes one
    step early and the last step runs at exactly 0); the default 0 is the schedule's definition.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, warmup: int, total: int,
                 offset: int = 0) -> None:
        self.optimizer, self.base_lr, self.warmup, self.total, self.offset = optimizer, base_lr, warmup, total, offset

    def lr_at(self, step: int) -> float:
        return cosine_lr(step + self.offset, self.base_lr, self.warmup, self.total)

    def apply(self, step: int) -> float:
        lr = self.lr_at(step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict[str, float]:
        return {"base_lr": self.base_lr, "warmup": self.warmup, "total": self.total, "offset": self.offset}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.base_lr, self.warmup = float(state["base_lr"]), int(state["warmup"])
        self.total, self.offset = int(state["total"]), int(state["offset"])


def build_optimizer(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float,
                    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> torch.optim.AdamW:
    """One AdamW group over every trainable parameter, decay on all of them (LayerNorm, biases and
    logit_scale included), as both originals. The fused kernel (the same update, ~8x faster on
    CPU than the per-tensor loop) is used when every parameter is a CPU/CUDA float tensor."""
    trainable = [p for p in params if p.requires_grad]
    fused = bool(trainable) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in trainable)
    return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, betas=betas, eps=eps, fused=fused or None)
