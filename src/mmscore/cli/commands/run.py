"""``mmscore run PIPELINE.yaml``: run a chain of operators over a FileStorage, or shard it on an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mmscore.engine import DEFAULT_SHARD_SIZE
from mmscore.engine.options import (
    AddressOpt,
    EngineOpt,
    NumGpusOpt,
    NumWorkersOpt,
    OverwriteOpt,
    ShardDirOpt,
    ShardSizeOpt,
    StallTimeoutOpt,
)

EXAMPLES = """
Examples:

  mmscore run pipeline.yaml

  mmscore run pipeline.yaml --engine local --shard-size 512

  mmscore run pipeline.yaml --engine ray --address auto --num-workers 8 --num-gpus-per-worker 1

  mmscore run --list

Without --engine each operator runs over the whole table and writes its step file.

With --engine the steps run shard by shard, restartable (a second run resumes from the completed shards).

Only the last step's file is written then. --engine ray needs pip install 'mmscore\\[ray]'.
"""


def register(app: typer.Typer) -> None:
    @app.command("run", help="Run a YAML pipeline of operators, one FileStorage step each." + EXAMPLES)
    def run_command(
        pipeline: Optional[Path] = typer.Argument(None, help="Pipeline YAML file."),
        list_operators: bool = typer.Option(False, "--list", help="List the available operators and exit."),
        engine: EngineOpt = None,
        address: AddressOpt = None,
        num_workers: NumWorkersOpt = None,
        num_gpus_per_worker: NumGpusOpt = 0.0,
        shard_size: ShardSizeOpt = DEFAULT_SHARD_SIZE,
        output_dir: ShardDirOpt = None,
        overwrite: OverwriteOpt = False,
        stall_timeout: StallTimeoutOpt = None,
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
        if engine is None:
            if (address is not None or num_workers is not None or num_gpus_per_worker or output_dir or overwrite
                    or stall_timeout is not None):
                raise ConfigError("--address, --num-workers, --num-gpus-per-worker, --stall-timeout, --output-dir and "
                                  "--overwrite need --engine local or --engine ray")
            for name, columns, path in run_pipeline(spec):
                console.print(f"[bold]{name}[/bold]: added {', '.join(columns)} -> {path}")
            return

        from mmscore.engine import run_engine
        from mmscore.io.storage import FileStorage
        from mmscore.operators.registry import build_operator

        storage = FileStorage(**spec.storage)
        step_storage = storage
        for _ in spec.steps:
            step_storage = storage.step()
        output = step_storage.output_path()
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs([output], [storage.first_entry_file_name])  # before any operator loads a model
        steps = [(build_operator(step.name, step.args), step.run) for step in spec.steps]
        result = run_engine(steps, spec.storage["first_entry_file_name"], output, engine=engine, address=address,
                            num_workers=num_workers, num_gpus_per_worker=num_gpus_per_worker,
                            shard_size=shard_size, output_dir=output_dir, overwrite=overwrite,
                            stall_timeout=stall_timeout)
        console.print(f"[bold]{engine} engine[/bold]: {result.rows} rows in {result.shards} shard(s) "
                      f"({result.shards_run} run now, {result.shards - result.shards_run} resumed), "
                      f"{result.failed} row(s) with errors -> {result.output}")
        console.print(f"[dim]shards: {result.shard_dir}[/dim]")
