"""``mmscore run PIPELINE.yaml``: run a chain of operators over a FileStorage, or shard it on an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import EPILOG
from mmscore.cli.options import EngineOptions, JsonOpt, StrictOpt, command, forbid

HELP = f"""Run a YAML pipeline of operators, one FileStorage step each.

Without --engine each operator runs over the whole table and writes its step file. With --engine
the steps run shard by shard, restartable (a second run resumes from the completed shards); only
the last step's file is written then. --engine ray needs pip install 'mmscore\\[ray]'.

Examples:

  mmscore run pipeline.yaml

  mmscore run pipeline.yaml --engine local --shard-size 512 --shard-dir shards/

  mmscore run pipeline.yaml --engine ray --address auto --num-workers 8 --num-gpus-per-worker 1

  mmscore run --list

{EPILOG}
"""


@command
def run_command(
    pipeline: Annotated[Optional[Path], typer.Argument(help="Pipeline YAML file.")] = None,
    list_operators: Annotated[bool, typer.Option("--list", help="List the available operators and exit.")] = False,
    engine: EngineOptions = EngineOptions(),
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from mmscore.cli.results import Printer
    from mmscore.errors import ConfigError
    from mmscore.operators.pipeline import load_pipeline, run_pipeline
    from mmscore.operators.registry import OPERATORS

    printer = Printer(as_json)
    if list_operators:
        if pipeline is not None:
            raise ConfigError("--list lists the operators; it runs no pipeline (drop one of them)")
        forbid(engine.given, [*EngineOptions.option_names(), "strict"], "with --list")
        _print_registry(printer, "operators", OPERATORS.describe(), OPERATORS.available())
        return
    if pipeline is None:
        raise ConfigError("give a pipeline YAML file (or --list to see the operators)")
    spec = load_pipeline(pipeline)
    if engine.engine is None:
        steps = []
        for name, columns, path in run_pipeline(spec):
            printer.print(f"[bold]{name}[/bold]: added {', '.join(columns)} -> {path}")
            printer.written.append(Path(path))
            steps.append({"operator": name, "columns": list(columns), "output": str(path)})
        rows, unscored = _count_unscored(Path(spec.storage["first_entry_file_name"]), Path(steps[-1]["output"]))
        printer.finish({"command": "run", "steps": steps, "rows": rows, "failed": unscored})
        _exit(rows, unscored, strict, steps[-1]["output"])
        return
    result = _run_on_engine(spec, engine, printer)
    _exit(result.rows, result.failed, strict, result.output)


def _count_unscored(first: Path, output: Path) -> tuple[int, int]:
    """(rows, rows with a message in an ``*_error`` column the steps added) of the last step's file."""
    from mmscore.io.tables import read_table

    df, given = read_table(output), set(read_table(first).columns)
    errors = [c for c in df.columns if str(c).endswith("_error") and c not in given]
    return len(df), int(df[errors].notna().any(axis=1).sum()) if errors else 0


def _exit(rows: int, unscored: int, strict: bool, output: object) -> None:
    from mmscore.cli.results import exit_policy

    exit_policy(scored=rows - unscored, unscored=unscored, strict=strict, output=output)


def _run_on_engine(spec, engine: EngineOptions, printer):  # noqa: ANN001, ANN202 - spec: Pipeline
    from mmscore.engine import run_engine
    from mmscore.io.outputs import prepare_outputs
    from mmscore.io.storage import FileStorage
    from mmscore.operators.registry import build_operator

    storage = FileStorage(**spec.storage)
    step_storage = storage
    for _ in spec.steps:
        step_storage = storage.step()
    output = step_storage.output_path()
    prepare_outputs([output], [storage.first_entry_file_name])  # before any operator loads a model
    steps = [(build_operator(step.name, step.args), step.run) for step in spec.steps]
    result = run_engine(steps, spec.storage["first_entry_file_name"], output, **engine.run_engine_kwargs())
    printer.print(f"[bold]{engine.engine} engine[/bold]: {result.rows} rows in {result.shards} shard(s) "
                  f"({result.shards_run} run now, {result.shards - result.shards_run} resumed), "
                  f"{result.failed} row(s) with errors -> {result.output}")
    printer.note(f"shards: {result.shard_dir}")
    printer.written.append(Path(result.output))
    printer.finish({"command": "run", "engine": engine.engine, "rows": result.rows, "shards": result.shards,
                    "shards_run": result.shards_run, "failed": result.failed, "output": str(result.output),
                    "shard_dir": str(result.shard_dir)})
    return result


def _print_registry(printer, kind: str, entries: list[tuple[str, str]], available: list[str]) -> None:  # noqa: ANN001
    usable = set(available)
    printer.table(kind, ["name", "available", "description"],
                  [(name, "yes" if name in usable else "no (extra missing)", text) for name, text in entries],
                  left=("name", "description"))
    printer.finish({kind: [{"name": n, "available": n in usable, "description": t} for n, t in entries]})


LIST_HELP = f"""List what can be named on the command line: operators (mmscore run), scorers (mmscore score),
dataset layouts (mmscore eval), emotion presets (--preset) and model names (--model).

Examples:

  mmscore list

  mmscore list scorers

  mmscore list presets --json

{EPILOG}
"""


@command
def list_command(
    kind: Annotated[Optional[str], typer.Argument(help="operators, scorers, datasets, presets or models "
                                                "(default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    from mmscore.cli.results import Printer
    from mmscore.registry import REGISTRIES, registry

    printer = Printer(as_json)
    kinds = [kind] if kind else sorted(REGISTRIES)
    data = {}
    for name in kinds:
        entries = registry(name).describe()
        printer.table(name, ["name", "description"], entries, left=("name", "description"))
        data[name] = [{"name": n, "description": t} for n, t in entries]
    printer.finish(data)


def register(app: typer.Typer) -> None:
    app.command("run", help=HELP, short_help="Run a YAML pipeline of operators (optionally sharded).")(run_command)
    app.command("list", help=LIST_HELP, short_help="List operators, scorers, datasets, presets, models.")(
        list_command)
