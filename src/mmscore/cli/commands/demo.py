"""``mmscore demo``: every capability on shipped example data, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import EPILOG
from mmscore.cli.options import DeviceOpt, command

HELP = f"""Build a demo workspace from shipped example data and run every capability offline.

Examples:

  mmscore demo

  mmscore demo --workspace /tmp/mmscore-demo --only emscore --only judges

{EPILOG}
"""


@command
def demo_command(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Where to write the demo.")]
    = Path("mmscore-demo"),
    model: Annotated[Optional[str], typer.Option("--model", help="Use this CLIP model instead of the demo model.")]
    = None,
    device: DeviceOpt = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only these parts (repeatable; a wrong "
                                                      "name lists them).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder that is not a previous demo "
                                        "workspace (files there may be overwritten).")] = False,
) -> None:
    from rich.console import Console

    from mmscore.demo import DemoContext, run_demo

    console = Console()
    ctx = DemoContext(workspace=workspace, model=model, console=console, device=device, force=force)
    summaries = run_demo(ctx, only=only)
    console.rule("[bold green]Demo finished")
    console.print(f"{len(summaries)} parts ran; outputs are in {workspace.resolve()}")


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP, short_help="Run every capability on shipped example data.")(demo_command)
