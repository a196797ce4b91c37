"""``mmscore clipscore | longclip | specs INPUT``: image–text scores for a table of pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.options import BatchSizeOpt, DeviceOpt, OutputOpt, StrictOpt
from mmscore.defaults import CLIP_MODEL, LONGCLIP_MODEL
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

InputArg = Annotated[Path, typer.Argument(help="Table of image/text pairs (jsonl, json, csv, parquet).")]
ImageKeyOpt = Annotated[str, typer.Option("--image-key", help="Column with image paths (relative paths "
                                          "resolve against the cwd, then the input file's folder).")]
TextKeyOpt = Annotated[str, typer.Option("--text-key", help="Column with the caption to score.")]
OutputKeyOpt = Annotated[Optional[str], typer.Option("--output-key", help="Name of the score column.")]
OverwriteColumnOpt = Annotated[bool, typer.Option("--overwrite-column", help="Allow --output-key to replace an "
                                                  "existing input column.")]
LongCLIPModelOpt = Annotated[str, typer.Option("--model", help="Checkpoint file, folder (searched for "
                                              "*.pt/*.bin/*.ckpt), transformers folder, hub id or mmscore-demo.")]
SPECSModelOpt = Annotated[str, typer.Option("--model", help="SPECS checkpoint (spec.pt), a folder holding it, "
                                           "or a hub id.")]
CLIPModelOpt = Annotated[str, typer.Option("--model", help="CLIP checkpoint: hub id, transformers folder, "
                                          "OpenAI-layout .pt or mmscore-demo.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, help="Image decoding threads (0: decode inline).")]


def _examples(command: str, model: str) -> str:
    return f"""
Examples:

  mmscore {command} pairs.jsonl --model {model}

  mmscore {command} pairs.csv --model ./checkpoints/ --image-key image --text-key caption -o scored.csv
"""


def register(app: typer.Typer) -> None:
    @app.command("longclip", help="LongCLIP score (cos+1)/2 in [0, 1] for each image/text row "
                 "(DataFlow-MM ImageLongCLIPEvaluator)." + _examples("longclip", LONGCLIP_MODEL))
    def longclip_command(
        input: InputArg,
        model: LongCLIPModelOpt = LONGCLIP_MODEL,
        image_key: ImageKeyOpt = "image_path", text_key: TextKeyOpt = "text", output: OutputOpt = None,
        output_key: OutputKeyOpt = None, batch_size: BatchSizeOpt = 64, device: DeviceOpt = None,
        workers: WorkersOpt = 2, strict: StrictOpt = False, engine: EngineOpt = None, address: AddressOpt = None,
        num_workers: NumWorkersOpt = None, num_gpus_per_worker: NumGpusOpt = 0.0,
        shard_size: ShardSizeOpt = DEFAULT_SHARD_SIZE, output_dir: ShardDirOpt = None, overwrite: OverwriteOpt = False,
        stall_timeout: StallTimeoutOpt = None,
        overwrite_column: OverwriteColumnOpt = False,
    ) -> None:
        from mmscore.operators.image_text import ImageLongCLIPEvaluator

        evaluator = ImageLongCLIPEvaluator(model, device=device, batch_size=batch_size, workers=workers)
        _score_table(input, [(evaluator, output_key or "longclip_score", None)], image_key, text_key, output,
                     strict, "longclip", _engine_args(engine, address, num_workers, num_gpus_per_worker, shard_size,
                                                      output_dir, overwrite, stall_timeout), overwrite_column)

    @app.command("specs", help="SPECS score clamp((cos+1)/2, min=0) with a SPECS checkpoint."
                 + _examples("specs", "./spec.pt"))
    def specs_command(
        input: InputArg,
        model: SPECSModelOpt = "Xiaohud/SPECS",
        image_key: ImageKeyOpt = "image_path", text_key: TextKeyOpt = "text", output: OutputOpt = None,
        output_key: OutputKeyOpt = None, batch_size: BatchSizeOpt = 64, device: DeviceOpt = None,
        workers: WorkersOpt = 2, strict: StrictOpt = False, engine: EngineOpt = None, address: AddressOpt = None,
        num_workers: NumWorkersOpt = None, num_gpus_per_worker: NumGpusOpt = 0.0,
        shard_size: ShardSizeOpt = DEFAULT_SHARD_SIZE, output_dir: ShardDirOpt = None, overwrite: OverwriteOpt = False,
        stall_timeout: StallTimeoutOpt = None,
        overwrite_column: OverwriteColumnOpt = False,
    ) -> None:
        from mmscore.operators.image_text import ImageSPECSEvaluator

        evaluator = ImageSPECSEvaluator(model, device=device, batch_size=batch_size, workers=workers)
        _score_table(input, [(evaluator, output_key or "specs_score", None)], image_key, text_key, output,
                     strict, "specs", _engine_args(engine, address, num_workers, num_gpus_per_worker, shard_size,
                                                   output_dir, overwrite, stall_timeout), overwrite_column)

    @app.command("clipscore", help="CLIPScore 2.5*max(cos,0) with the 'A photo depicts' prompt (Hessel et "
                 "al. 2021); with --reference-key also RefCLIPScore." + _examples("clipscore", CLIP_MODEL))
    def clipscore_command(
        input: InputArg,
        model: CLIPModelOpt = CLIP_MODEL,
        image_key: ImageKeyOpt = "image_path", text_key: TextKeyOpt = "text",
        reference_key: Annotated[Optional[str], typer.Option("--reference-key", help="Column with reference "
                                 "captions (a list, or one caption) to add RefCLIPScore.")] = None,
        w: Annotated[float, typer.Option("--w", help="CLIP-S weight w.")] = 2.5,
        prefix: Annotated[str, typer.Option("--prefix", help="Prompt prefix ('' for none).")] = "A photo depicts",
        output: OutputOpt = None, output_key: OutputKeyOpt = None, batch_size: BatchSizeOpt = 64,
        device: DeviceOpt = None, workers: WorkersOpt = 2, strict: StrictOpt = False, engine: EngineOpt = None,
        address: AddressOpt = None, num_workers: NumWorkersOpt = None, num_gpus_per_worker: NumGpusOpt = 0.0,
        shard_size: ShardSizeOpt = DEFAULT_SHARD_SIZE, output_dir: ShardDirOpt = None, overwrite: OverwriteOpt = False,
        stall_timeout: StallTimeoutOpt = None,
        overwrite_column: OverwriteColumnOpt = False,
    ) -> None:
        from mmscore.operators.image_text import CLIPScoreEvaluator, RefCLIPScoreEvaluator

        clip = CLIPScoreEvaluator(model, device=device, w=w, prefix=prefix or None, batch_size=batch_size,
                                  workers=workers)
        jobs = [(clip, output_key or "clip_score", None)]
        if reference_key:
            ref = RefCLIPScoreEvaluator(model, device=device, w=w, prefix=prefix or None, batch_size=batch_size,
                                        workers=workers).use_encoder(clip.encoder)
            jobs.append((ref, "refclip_score", reference_key))
        _score_table(input, jobs, image_key, text_key, output, strict, "clipscore",
                     _engine_args(engine, address, num_workers, num_gpus_per_worker, shard_size, output_dir,
                                  overwrite, stall_timeout), overwrite_column)


def _engine_args(engine, address, num_workers, num_gpus_per_worker, shard_size, output_dir, overwrite,
                 stall_timeout=None) -> dict | None:
    """``run_engine`` keywords when --engine is given, else None (score the whole table in this process)."""
    if engine is None:
        return None
    return {"engine": engine, "address": address, "num_workers": num_workers,
            "num_gpus_per_worker": num_gpus_per_worker, "shard_size": shard_size, "output_dir": output_dir,
            "overwrite": overwrite, "stall_timeout": stall_timeout}


def _score_table(input_path: Path, jobs: list, image_key: str, text_key: str, output: Path | None,
                 strict: bool, suffix: str, engine_args: dict | None = None, overwrite_column: bool = False) -> None:
    """Score, write the table atomically (plus ``<output>.run.json``), print a summary."""
    from rich.console import Console
    from rich.table import Table

    from mmscore.io.atomic import atomic_write_json
    from mmscore.io.outputs import check_new_columns, prepare_outputs
    from mmscore.io.storage import MediaPathResolver
    from mmscore.io.tables import read_table, require_columns, write_table

    output = output or input_path.with_name(f"{input_path.stem}.{suffix}{input_path.suffix}")
    prepare_outputs([output, output.with_name(output.name + ".run.json")], [input_path])
    runs = [(evaluator, key) for evaluator, key, _ in jobs]
    new_columns = [name for _, key in runs for name in (key, f"{key}_error")]
    if engine_args is not None:  # sharded, restartable; the engine writes <output> and <output>.run.json
        from mmscore.engine import run_engine

        steps = [(evaluator, {"input_image_key": image_key, "input_text_key": text_key, "output_key": key,
                              **({"reference_key": reference_key} if reference_key else {})})
                 for evaluator, key, reference_key in jobs]
        result = run_engine(steps, input_path, output, **engine_args)
        df = read_table(output)
        for (evaluator, _), signature in zip(runs, result.signatures, strict=False):
            evaluator.signature = signature or evaluator.signature
    else:
        df = read_table(input_path)
        require_columns(df, [image_key, text_key], where=str(input_path))
        check_new_columns(new_columns, df.columns, overwrite_column, where=str(input_path))
        resolver = MediaPathResolver(input_path.resolve().parent)
        for evaluator, key, reference_key in jobs:
            df = evaluator.score_dataframe(df, resolver, image_key, text_key, key, reference_key=reference_key)
        write_table(df, output)
        info = {key: evaluator.last_run_info for evaluator, key in runs}
        info["media_paths"] = resolver.resolved
        atomic_write_json(output.with_name(output.name + ".run.json"), info)

    console = Console()
    table = Table(title=f"{input_path.name}: {len(df)} rows")
    for column in ("score", "scored", "failed", "mean", "min", "max"):
        table.add_column(column, justify="right" if column != "score" else "left")
    failed_total = 0
    for _evaluator, key in runs:
        values = df[key].dropna().astype(float)
        failed = int(df[f"{key}_error"].notna().sum())
        failed_total += failed
        stats = [f"{values.mean():.4f}", f"{values.min():.4f}", f"{values.max():.4f}"] if len(values) else ["-"] * 3
        table.add_row(key, str(len(values)), str(failed), *stats)
    console.print(table)
    for evaluator, _ in runs:
        console.print(f"[dim]signature: {evaluator.signature}[/dim]")
    console.print(f"wrote {output}")
    if failed_total:
        first = df[f"{runs[0][1]}_error"].dropna()
        if len(first):
            console.print(f"[yellow]first error (row {first.index[0]}): {first.iloc[0]}[/yellow]")
        if strict:
            typer.echo(f"Error: {failed_total} row(s) could not be scored (--strict)", err=True)
            raise SystemExit(1)  # mmscore.cli.main drops typer.Exit codes under standalone_mode=False
