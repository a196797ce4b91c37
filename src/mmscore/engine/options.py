"""Typer option aliases for the engine flags, shared by ``mmscore run`` and the scoring commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

EngineOpt = Annotated[Optional[str], typer.Option("--engine", help="local or ray: score shard by shard, "
                      "restartable (a re-run resumes from the completed shards); ray needs 'mmscore\\[ray]'.")]
AddressOpt = Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (auto, "
                       "ray://host:10001); default: start Ray on this machine.")]
NumWorkersOpt = Annotated[Optional[int], typer.Option("--num-workers", min=1, help="Ray model actors "
                          "(default: one per GPU with --num-gpus-per-worker, else one per CPU).")]
NumGpusOpt = Annotated[float, typer.Option("--num-gpus-per-worker", min=0.0, help="GPUs per Ray model actor "
                       "(fractions share a GPU).")]
ShardSizeOpt = Annotated[int, typer.Option("--shard-size", min=1, help="Rows per shard: the unit of output "
                         "files and of restart.")]
ShardDirOpt = Annotated[Optional[Path], typer.Option("--output-dir", help="Folder for the shards and their "
                        "completion markers (default: <output>.shards).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Discard the shards of a previous, different job "
                         "in the shard folder instead of refusing.")]
StallTimeoutOpt = Annotated[Optional[float], typer.Option("--stall-timeout", min=1.0, help="Ray: stop (exit 2, "
                            "completed shards kept for a rerun) when no shard completed for this many seconds, or 10x "
                            "the median shard time if longer; 3x before the first shard. Default 180.")]
