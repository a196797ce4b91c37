"""The one training loop: micro-batches, gradient accumulation, DDP, AMP, schedule, logs,
periodic evaluation, resumable checkpoints and the exported Long-CLIP ``.pt`` + JSON card.

A recipe (``mmscore.training.recipes``) supplies the texts per image and the loss; the demo
model's trainer uses the same loop through ``train_steps``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from mmscore.errors import ConfigError
from mmscore.training.checkpoint import latest_state, load_state, save_state, save_torch, seed_everything
from mmscore.training.data import TrainingData, collate, rank_indices
from mmscore.training.distributed import (
    DistContext,
    barrier,
    init_distributed,
    maybe_no_sync,
    mean_across_ranks,
    shutdown,
)
from mmscore.training.logs import TrainLog
from mmscore.training.model import TrainableClip, freeze_positions
from mmscore.training.optim import CosineSchedule, build_optimizer
from mmscore.training.transforms import check_train_resize

log = logging.getLogger(__name__)

Evaluator = Callable[[TrainableClip], dict[str, float]]


@dataclass
class TrainSettings:
    """Defaults = SPECS' ``run_spec.sh`` (per device batch 100 × accumulation 4, 6 epochs)."""

    epochs: int = 6
    batch_size: int = 100
    accumulation: int = 4
    lr: float = 1e-5
    weight_decay: float = 0.01
    warmup: int = 40
    seed: int = 0
    workers: int = 2
    precision: str = "auto"  # auto: fp16 autocast + GradScaler on CUDA, fp32 on CPU; fp32 | fp16 | bf16
    max_steps: int = 0  # stop after this many optimizer steps (0: all epochs; the schedule is unchanged)
    save_every: int = 1000
    eval_every: int = 0
    schedule_offset: int = 0  # 1: SPECS' first scheduler call at t=1
    train_resize: str = "pil"  # tensor: SPECS train_spec.py's uint8 bicubic resize without antialiasing
    device: str | None = None

    def __post_init__(self) -> None:
        check_train_resize(self.train_resize)

    def identity(self) -> dict[str, Any]:
        """What must not change between a run and its resumption."""
        keep = ("epochs", "batch_size", "accumulation", "lr", "weight_decay", "warmup", "seed", "precision",
                "schedule_offset", "train_resize")
        return {k: getattr(self, k) for k in keep}


def amp_setup(precision: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, GradScaler on?)."""
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    if precision not in ("fp32", "fp16", "bf16"):
        raise ConfigError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}")
    if precision != "fp32" and device.type != "cuda":
        raise ConfigError(f"{precision} mixed precision needs a CUDA device; on {device.type} use fp32")
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    return dtype, precision == "fp16"


@dataclass
class StepParts:
    """Everything one optimizer step touches."""

    module: torch.nn.Module  # the DDP wrapper (or the model in one process)
    recipe: Any
    optimizer: torch.optim.Optimizer
    schedule: CosineSchedule
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    ctx: DistContext
    max_grad_norm: float = 0.0  # > 0: clip the total gradient norm (after unscaling) before the update
    clip_params: list[torch.nn.Parameter] | None = None  # what the norm covers (default: the optimizer's)


def optimizer_step(parts: StepParts, step: int, micro_batches: Sequence[tuple[torch.Tensor, ...]]) -> dict:
    """k micro-batches, each loss/k backpropagated (DDP synchronises only on the last), one update."""
    lr = parts.schedule.apply(step)
    k = len(micro_batches)
    sums: dict[str, float] = {}
    device = parts.ctx.device
    for j, batch in enumerate(micro_batches):
        batch = tuple(t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t for t in batch)
        autocast = (torch.autocast(device.type, dtype=parts.amp_dtype) if parts.amp_dtype is not None
                    else contextlib.nullcontext())
        with maybe_no_sync(parts.module, j < k - 1):
            with autocast:
                loss, terms = parts.recipe.loss(parts.module, batch, parts.ctx.rank)
            parts.scaler.scale(loss / k).backward()
        for key, value in {"loss": loss.item(), **terms}.items():
            sums[key] = sums.get(key, 0.0) + value / k
    if parts.max_grad_norm > 0:
        parts.scaler.unscale_(parts.optimizer)
        params = parts.clip_params or [p for g in parts.optimizer.param_groups for p in g["params"]]
        torch.nn.utils.clip_grad_norm_(params, parts.max_grad_norm)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.optimizer.zero_grad(set_to_none=True)
    if "epsilon" in sums:  # ε is a state, not a mean: report its value after the step
        sums["epsilon"] = terms["epsilon"]
    return {**mean_across_ranks(sums, parts.ctx), "lr": lr}


def epoch_batches(data: TrainingData, settings: TrainSettings, ctx: DistContext, epoch: int,
                  skip_micro: int) -> Any:
    """This rank's micro-batches of ``epoch`` from the ``skip_micro``-th on (DataLoader workers
    decode and tokenise)."""
    data.epoch = epoch
    indices = rank_indices(len(data), epoch, settings.seed, ctx.rank, ctx.world)
    indices = indices[skip_micro * settings.batch_size:]
    loader = DataLoader(Subset(data, indices), batch_size=settings.batch_size, shuffle=False, drop_last=True,
                        collate_fn=collate, num_workers=settings.workers,
                        pin_memory=ctx.device.type == "cuda")
    return iter(loader)


def plan(n_rows: int, settings: TrainSettings, world: int) -> tuple[int, int]:
    """(optimizer steps per epoch, total steps of the schedule)."""
    micro = math.ceil(n_rows / world) // settings.batch_size
    per_epoch = micro // settings.accumulation
    if per_epoch < 1:
        raise ConfigError(
            f"{n_rows} training rows over {world} process(es) make no full optimizer step of "
            f"{settings.batch_size} × {settings.accumulation}; lower --batch-size or --accumulation")
    return per_epoch, per_epoch * settings.epochs


@dataclass
class RunResult:
    steps: int
    last: dict[str, float]
    metrics: dict[str, float]
    seconds: float
    model_path: Path | None


def _prepare(model: TrainableClip, recipe: Any, settings: TrainSettings, ctx: DistContext,
             total: int) -> StepParts:
    seed_everything(settings.seed + ctx.rank)
    freeze_positions(model, recipe.freeze_positions)
    model.to(ctx.device).train()
    amp_dtype, use_scaler = amp_setup(settings.precision, ctx.device)
    optimizer = build_optimizer(model.parameters(), settings.lr, settings.weight_decay)
    schedule = CosineSchedule(optimizer, settings.lr, settings.warmup, total, settings.schedule_offset)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=use_scaler)
    module: torch.nn.Module = model
    if ctx.distributed:
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        module = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    return StepParts(module, recipe, optimizer, schedule, scaler, amp_dtype, ctx)


def _maybe_evaluate(evaluate: Evaluator | None, model: TrainableClip, ctx: DistContext) -> dict[str, float]:
    """Rank 0 evaluates in eval mode without gradients; the others wait."""
    metrics: dict[str, float] = {}
    if evaluate is not None and ctx.is_main:
        model.eval()
        with torch.no_grad():
            metrics = evaluate(model)
        model.train()
    barrier(ctx)
    return metrics


def train(model: TrainableClip, rows: Sequence[dict], recipe: Any, settings: TrainSettings, out_dir: Path, *,
          resume: bool = False, evaluate: Evaluator | None = None, ctx: DistContext | None = None,
          identity: dict[str, Any] | None = None) -> RunResult:
    """Run (or continue, ``resume``) a training into ``out_dir``; rank 0 exports ``model.pt``."""
    own_ctx = ctx is None
    ctx = ctx or init_distributed(settings.device)
    try:
        return _run(model, rows, recipe, settings, Path(out_dir), resume, evaluate, ctx, identity or {})
    finally:
        if own_ctx:
            shutdown(ctx)


@dataclass
class _Loop:
    """The state the loop carries between steps (and the places it writes)."""

    parts: StepParts
    folder: Path
    identity: dict[str, Any]
    train_log: TrainLog
    eval_log: TrainLog

    def state_parts(self) -> dict[str, Any]:
        p = self.parts
        return {"model": p.module.module if p.ctx.distributed else p.module, "optimizer": p.optimizer,
                "schedule": p.schedule, "scaler": p.scaler}

    def save(self, step: int) -> None:
        save_state(self.folder, step, self.state_parts(), self.parts.recipe.state_dict(), self.parts.ctx,
                   self.identity)


def _start(loop: _Loop, resume: bool, out_dir: Path) -> int:
    if not resume:
        if latest_state(loop.folder) is not None:
            raise ConfigError(f"{out_dir} already holds a training run; pass --resume to continue it or "
                              "choose another output folder")
        return 0
    target = latest_state(loop.folder)
    if target is None:
        raise ConfigError(f"--resume: no checkpoint in {loop.folder} (latest.json not found)")
    step = load_state(target, loop.state_parts(), loop.parts.recipe, loop.parts.ctx, loop.identity)
    log.info("resumed from %s at step %d", target, step)
    return step


def _run(model: TrainableClip, rows: Sequence[dict], recipe: Any, settings: TrainSettings, out_dir: Path,
         resume: bool, evaluate: Evaluator | None, ctx: DistContext, extra_identity: dict[str, Any]) -> RunResult:
    from mmscore.progress import progress_bar

    per_epoch, total = plan(len(rows), settings, ctx.world)
    out_dir.mkdir(parents=True, exist_ok=True)
    end = min(total, settings.max_steps) if settings.max_steps else total
    parts = _prepare(model, recipe, settings, ctx, total)
    identity = {**settings.identity(), **extra_identity, "world": ctx.world, "recipe": recipe.name,
                "recipe_settings": recipe.settings(), "rows": len(rows)}
    folder = out_dir / "checkpoints"
    loop = _Loop(parts, folder, identity, TrainLog(out_dir / "log.csv", False), TrainLog(out_dir / "eval.csv", False))
    step = _start(loop, resume, out_dir)
    loop.train_log = TrainLog(out_dir / "log.csv", ctx.is_main, step if resume else None)
    loop.eval_log = TrainLog(out_dir / "eval.csv", ctx.is_main, step if resume else None)
    data = TrainingData(rows, model.arch.image_size, recipe.pick, settings.seed, settings.train_resize)
    if evaluate is not None and step == 0:  # the starting point (and a bad held-out set fails before training)
        loop.eval_log.write(0, _maybe_evaluate(evaluate, model, ctx))
    start, last = time.perf_counter(), {}
    with progress_bar() as progress:
        task = progress.add_task(f"training {recipe.name}", total=end, completed=step)
        while step < end:
            epoch, within = divmod(step, per_epoch)
            batches = epoch_batches(data, settings, ctx, epoch, within * settings.accumulation)
            for _ in range(min(per_epoch - within, end - step)):
                last = optimizer_step(parts, step, [next(batches) for _ in range(settings.accumulation)])
                step += 1
                loop.train_log.write(step, {"epoch": epoch, **last})
                progress.update(task, advance=1)
                if settings.eval_every and step % settings.eval_every == 0 and step < end:
                    loop.eval_log.write(step, _maybe_evaluate(evaluate, model, ctx))
                if settings.save_every and step % settings.save_every == 0 and step < end:
                    loop.save(step)
    loop.save(step)  # the end state too: a run cut by --max-steps continues with --resume
    metrics = _maybe_evaluate(evaluate, model, ctx)
    if metrics:
        loop.eval_log.write(step, metrics)
    loop.train_log.close()
    loop.eval_log.close()
    model_path = save_torch(model.longclip_state_dict(), out_dir / "model.pt") if ctx.is_main else None
    barrier(ctx)
    return RunResult(step, last, metrics, time.perf_counter() - start, model_path)


def settings_dict(settings: TrainSettings) -> dict[str, Any]:
    return asdict(settings)
