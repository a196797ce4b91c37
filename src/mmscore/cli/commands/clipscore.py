"""``mmscore clipscore | longclip | specs INPUT``: image–text scores for a table of pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import EPILOG
from mmscore.cli.options import EngineOptions, ImageTextOptions, command
from mmscore.defaults import CLIP_MODEL, LONGCLIP_MODEL

InputArg = Annotated[Path, typer.Argument(help="Table of image/text pairs (jsonl, json, csv, parquet).")]

LONGCLIP_HELP = f"""LongCLIP score (cos+1)/2 in [0, 1] for each image/text row (DataFlow-MM
ImageLongCLIPEvaluator); captions up to 248 tokens.

Examples:

  mmscore longclip pairs.jsonl --model BeichenZhang/LongCLIP-L-336px

  mmscore longclip pairs.csv --model ./checkpoints/ --image-key image --text-key caption -o scored.csv

{EPILOG}
"""
SPECS_HELP = f"""SPECS score clamp((cos+1)/2, min=0) with a SPECS checkpoint.

Examples:

  mmscore specs dense_captions.parquet --model ./spec.pt --output-key specs

  mmscore specs pairs.jsonl --model Xiaohud/SPECS --engine local --shard-size 2000 --json

{EPILOG}
"""
CLIPSCORE_HELP = f"""CLIPScore 2.5*max(cos,0) with the 'A photo depicts' prompt (Hessel et al. 2021);
with --reference-key also RefCLIPScore.

Examples:

  mmscore clipscore pairs.jsonl --model openai/clip-vit-base-patch32

  mmscore clipscore coco_val.csv --reference-key references --prefix '' -o coco_val.scored.parquet

{EPILOG}
"""


@command
def longclip_command(
    input: InputArg,
    model: Annotated[str, typer.Option("--model", help="Checkpoint file, folder (searched for *.pt/*.bin/*.ckpt), "
                                       "transformers folder, hub id or mmscore-demo.")]
    = LONGCLIP_MODEL,
    table: ImageTextOptions = ImageTextOptions(),
    engine: EngineOptions = EngineOptions(),
) -> None:
    _score_one("ImageLongCLIPEvaluator", "longclip", input, model, table, engine)


@command
def specs_command(
    input: InputArg,
    model: Annotated[str, typer.Option("--model", help="SPECS checkpoint (spec.pt), a folder holding it, or a "
                                       "hub id.")] = "Xiaohud/SPECS",
    table: ImageTextOptions = ImageTextOptions(),
    engine: EngineOptions = EngineOptions(),
) -> None:
    _score_one("ImageSPECSEvaluator", "specs", input, model, table, engine)


@command
def clipscore_command(
    input: InputArg,
    model: Annotated[str, typer.Option("--model", help="CLIP checkpoint: hub id, transformers folder, OpenAI-layout "
                                       ".pt or mmscore-demo.")] = CLIP_MODEL,
    reference_key: Annotated[Optional[str], typer.Option("--reference-key", help="Column with reference captions "
                             "(a list, or one caption) to add RefCLIPScore.")] = None,
    w: Annotated[float, typer.Option("--w", help="CLIP-S weight w.")] = 2.5,
    prefix: Annotated[str, typer.Option("--prefix", help="Prompt prefix ('' for none).")] = "A photo depicts",
    table: ImageTextOptions = ImageTextOptions(),
    engine: EngineOptions = EngineOptions(),
) -> None:
    from mmscore.operators.image_text import CLIPScoreEvaluator, RefCLIPScoreEvaluator

    settings = {"device": table.device, "w": w, "prefix": prefix or None, "batch_size": table.batch_size,
                "workers": table.workers}
    clip = CLIPScoreEvaluator(model, **settings)
    jobs = [(clip, table.output_key or "clip_score", None)]
    if reference_key:
        ref = RefCLIPScoreEvaluator(model, **settings).use_encoder(clip.encoder)
        jobs.append((ref, "refclip_score", reference_key))
    _score_table(input, jobs, table, "clipscore", engine)


def _score_one(operator: str, name: str, input: Path, model: str, table: ImageTextOptions,
               engine: EngineOptions) -> None:
    """One registered image-text operator into the column ``<name>_score`` (or ``--output-key``)."""
    from mmscore.operators.registry import get_operator

    evaluator = get_operator(operator)(model, device=table.device, batch_size=table.batch_size,
                                       workers=table.workers)
    _score_table(input, [(evaluator, table.output_key or f"{name}_score", None)], table, name, engine)


def _score_table(input_path: Path, jobs: list, table: ImageTextOptions, suffix: str, engine: EngineOptions) -> None:
    """Score, write the table atomically (plus ``<output>.run.json``), print, apply the exit policy."""
    from mmscore.cli.results import default_output
    from mmscore.io.outputs import prepare_outputs
    from mmscore.io.tables import table_format

    output = table.output or default_output(input_path, suffix)
    table_format(output)  # an unknown extension fails now, not after the scoring
    prepare_outputs([output, output.with_name(output.name + ".run.json")], [input_path])
    if engine.engine is not None:
        df = _on_engine(input_path, output, jobs, table, engine)
    else:
        df = _in_process(input_path, output, jobs, table)
    _print(suffix, input_path, output, df, [(evaluator, key) for evaluator, key, _ in jobs], table)


def _on_engine(input_path: Path, output: Path, jobs: list, table: ImageTextOptions, engine: EngineOptions) -> Any:
    """Sharded, restartable; the engine writes ``output`` and ``output.run.json``."""
    from mmscore.engine import run_engine
    from mmscore.io.tables import read_table

    steps = [(evaluator, {"input_image_key": table.image_key, "input_text_key": table.text_key, "output_key": key,
                          **({"reference_key": reference_key} if reference_key else {})})
             for evaluator, key, reference_key in jobs]
    result = run_engine(steps, input_path, output, **engine.run_engine_kwargs())
    for (evaluator, _, _), signature in zip(jobs, result.signatures, strict=False):
        evaluator.signature = signature or evaluator.signature
    return read_table(output)


def _in_process(input_path: Path, output: Path, jobs: list, table: ImageTextOptions) -> Any:
    from mmscore.io.atomic import atomic_write_json
    from mmscore.io.media_paths import MediaResolver
    from mmscore.io.outputs import check_new_columns
    from mmscore.io.tables import read_table, require_columns, write_table

    df = read_table(input_path)
    require_columns(df, [table.image_key, table.text_key], where=str(input_path))
    check_new_columns([name for _, key, _ in jobs for name in (key, f"{key}_error")], df.columns,
                      table.overwrite_column, where=str(input_path))
    resolver = MediaResolver.beside(input_path)
    for evaluator, key, reference_key in jobs:
        df = evaluator.score_dataframe(df, resolver, table.image_key, table.text_key, key,
                                       reference_key=reference_key)
    write_table(df, output)
    info = {key: evaluator.last_run_info for evaluator, key, _ in jobs}
    atomic_write_json(output.with_name(output.name + ".run.json"), {**info, "media_paths": resolver.resolved})
    return df


def _print(name: str, input_path: Path, output: Path, df: Any, runs: list, table: ImageTextOptions) -> None:
    from mmscore.cli.results import Printer, exit_policy, stats_row

    printer = Printer(table.as_json)
    rows, scores = [], {}
    for evaluator, key in runs:
        values = df[key].dropna().astype(float)
        failed = int(df[f"{key}_error"].notna().sum())
        rows.append([key, len(values), failed, *stats_row(values)])
        scores[key] = {"scored": len(values), "failed": failed, "mean": float(values.mean()) if len(values) else None,
                       "signature": evaluator.signature}
    printer.table(f"{input_path.name}: {len(df)} rows", ["score", "scored", "failed", "mean", "min", "max"], rows,
                  left=("score",))
    for evaluator, _ in runs:
        printer.note(f"signature: {evaluator.signature}")
    printer.wrote(output)
    first_key = runs[0][1]
    errors = df[f"{first_key}_error"].dropna()
    first = f"row {errors.index[0]}: {errors.iloc[0]}" if len(errors) else None
    if first:
        printer.warn(f"first error ({first})")
    printer.finish({"command": name, "rows": len(df), "scores": scores, "output": output})
    unscored = int(df[[f"{key}_error" for _, key in runs]].notna().any(axis=1).sum())
    exit_policy(scored=len(df) - unscored, unscored=unscored, strict=table.strict, first_error=first, output=output)


def register(app: typer.Typer) -> None:
    app.command("longclip", help=LONGCLIP_HELP, short_help="LongCLIP image-text score.")(longclip_command)
    app.command("specs", help=SPECS_HELP, short_help="SPECS image-text score.")(specs_command)
    app.command("clipscore", help=CLIPSCORE_HELP, short_help="CLIPScore / RefCLIPScore.")(clipscore_command)
