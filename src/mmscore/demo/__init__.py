"""``mmscore demo``: build a workspace of example data and run every capability offline.

Each capability contributes one *part* module in ``mmscore.demo.parts`` exposing ``ORDER``
(int), ``TITLE`` (str) and ``run(ctx) -> list[str]`` (summary lines). Parts are discovered, so
a new capability adds a file and never edits this one.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console


@dataclass
class DemoContext:
    workspace: Path
    model: str | None = None
    console: Console = field(default_factory=Console)
    device: str | None = None
    shared: dict[str, Any] = field(default_factory=dict)


def discover_parts() -> list[Any]:
    import mmscore.demo.parts as parts

    modules = [importlib.import_module(f"{parts.__name__}.{m.name}") for m in pkgutil.iter_modules(parts.__path__)]
    modules = [m for m in modules if hasattr(m, "run") and hasattr(m, "ORDER")]
    return sorted(modules, key=lambda m: (m.ORDER, m.__name__))


def part_name(module: Any) -> str:
    """What ``--only`` calls a part: its module's own name."""
    return module.__name__.rsplit(".", 1)[-1]


def run_demo(ctx: DemoContext, only: list[str] | None = None) -> dict[str, list[str]]:
    """Run every demo part (or those named in ``only``); returns the summary lines per part.

    An unknown name in ``only`` is an error listing the real ones (silently running nothing would
    look like a demo that passed)."""
    from mmscore.errors import ConfigError

    modules = discover_parts()
    names = [part_name(module) for module in modules]
    unknown = [name for name in only or [] if name not in names]
    if unknown:
        raise ConfigError(f"unknown demo part(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    ctx.workspace.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, list[str]] = {}
    for module, short in zip(modules, names, strict=True):
        if only and short not in only:
            continue
        ctx.console.rule(f"[bold]{module.TITLE}")
        lines = module.run(ctx)
        for line in lines:
            ctx.console.print(line)
        summaries[short] = lines
    return summaries
