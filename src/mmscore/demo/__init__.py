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
    #: write into a non-empty folder that is not a previous demo workspace
    force: bool = False


#: file the demo writes into its workspace, so a re-run recognises the folder as its own
WORKSPACE_MARKER = ".mmscore-demo"


def claim_workspace(workspace: Path, force: bool = False) -> None:
    """Refuse to write into a non-empty folder that is not a demo workspace (unless ``force``);
    then mark the folder as one."""
    from mmscore.errors import ConfigError
    from mmscore.io.atomic import atomic_write_text
    from mmscore.io.outputs import check_writable_dir

    if workspace.exists() and not workspace.is_dir():
        raise ConfigError(f"demo workspace {workspace} is a file; give a folder with -w")
    marked = (workspace / WORKSPACE_MARKER).is_file()
    if workspace.is_dir() and any(workspace.iterdir()) and not marked and not force:
        raise ConfigError(f"demo workspace {workspace} is not empty and is not a previous demo workspace (no "
                          f"{WORKSPACE_MARKER} file); the demo would overwrite files there. Choose a new or empty "
                          "folder with -w, or pass --force")
    check_writable_dir(workspace)
    atomic_write_text(workspace / WORKSPACE_MARKER, "mmscore demo workspace: re-running the demo may overwrite "
                      "files here\n")


def check_model(spec: str | None, device: str | None) -> None:
    """An explicitly given ``--model`` must load: fail (exit 2) before any part runs instead of
    falling back to a random model."""
    if not spec:
        return
    from mmscore.errors import ConfigError, ModelError
    from mmscore.models.clip import load_clip

    try:
        load_clip(spec, device=device)
    except ModelError as exc:
        raise ConfigError(f"--model {spec} cannot be loaded: {exc}") from exc


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
    claim_workspace(ctx.workspace, ctx.force)
    check_model(ctx.model, ctx.device)
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
