"""``mmscore demo``: every capability on shipped example data, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo", help="Build a demo workspace from shipped example data and run every capability offline.")
    def demo_command(
        workspace: Path = typer.Option(Path("mmscore-demo"), "--workspace", "-w", help="Where to write the demo."),
        model: Optional[str] = typer.Option(None, "--model", help="Use this CLIP model instead of the demo model."),
        device: Optional[str] = typer.Option(None, "--device", help="cuda, mps or cpu."),
        only: Optional[list[str]] = typer.Option(
            None, "--only", help="Run only these parts (repeatable; a wrong name lists them)."
        ),
        force: bool = typer.Option(False, "--force", help="Write into a non-empty folder that is not a previous "
                                   "demo workspace (files there may be overwritten)."),
    ) -> None:
        from rich.console import Console

        from mmscore.demo import DemoContext, run_demo

        console = Console()
        ctx = DemoContext(workspace=workspace, model=model, console=console, device=device, force=force)
        summaries = run_demo(ctx, only=only)
        console.rule("[bold green]Demo finished")
        console.print(f"{len(summaries)} parts ran; outputs are in {workspace.resolve()}")
