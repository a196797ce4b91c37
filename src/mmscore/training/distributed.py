"""torchrun / DDP plumbing: one process per device, gloo on CPU, NCCL on GPU.

Gradients are synchronised because the loss is computed from what the DDP-wrapped module's own
``forward`` returned (SPECS' ``train_spec.py`` called ``ddp.module``, so its ranks trained alone).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def init_distributed(device: str | None = None) -> DistContext:
    """Read torchrun's RANK/WORLD_SIZE/LOCAL_RANK (absent: one process) and join the group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    want_cuda = torch.cuda.is_available() if device is None else str(device).startswith("cuda")
    dev = torch.device(f"cuda:{local}") if want_cuda else torch.device(device or "cpu")
    if want_cuda:
        torch.cuda.set_device(dev)
    backend = ""
    if world > 1:
        backend = "nccl" if want_cuda else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
    return DistContext(rank, world, local, dev, backend)


def shutdown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' rows, concatenated in rank order, with gradients flowing back to every rank
    (``torch.distributed.nn.functional.all_gather``; one process: the tensor itself)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor), dim=0)


def mean_across_ranks(values: dict[str, float], ctx: DistContext) -> dict[str, float]:
    """Average logged scalars over ranks (the log shows the whole step, not rank 0's shard)."""
    if not ctx.distributed or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return {k: float(v) / ctx.world for k, v in zip(keys, tensor.tolist(), strict=True)}


@contextlib.contextmanager
def maybe_no_sync(module: torch.nn.Module, skip_sync: bool) -> Iterator[None]:
    """DDP's ``no_sync`` for all but the last micro-batch of an accumulated step."""
    if skip_sync and isinstance(module, torch.nn.parallel.DistributedDataParallel):
        with module.no_sync():
            yield
    else:
        yield
