"""``mmscore run PIPELINE.yaml``: run a chain of operators over a FileStorage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EXAMPLES = """
Examples:

  mmscore run pipeline.yaml

  mmscore run --list
"""


def register(app: typer.Typer) -> None:
    @app.command("run", help="Run a YAML pipeline of operators, one FileStorage step each." + EXAMPLES)
    def run_command(
        pipeline: Optional[Path] = typer.Argument(None, help="Pipeline YAML file."),
        list_operators: bool = typer.Option(False, "--list", help="List the available operators and exit."),
    ) -> None:
        from rich.console import Console

        from mmscore.errors import ConfigError
        from mmscore.operators.pipeline import load_pipeline, run_pipeline
        from mmscore.operators.registry import list_operators as available

        console = Console()
        if list_operators:
            for name in available():
                console.print(name)
            return
        if pipeline is None:
            raise ConfigError("give a pipeline YAML file (or --list to see the operators)")
        spec = load_pipeline(pipeline)
        for name, columns, path in run_pipeline(spec):
            console.print(f"[bold]{name}[/bold]: added {', '.join(columns)} -> {path}")
