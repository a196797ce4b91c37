"""Option types shared by several commands (declared once, reused everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DeviceOpt = Annotated[Optional[str], typer.Option("--device", help="cuda, mps or cpu (default: best available).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Encoder batch size.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file (format by extension).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 1) if any row could not be scored.")]
