"""``mmscore emscore INPUT``: EMScore for a table of (video, candidate caption, references)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import EPILOG
from mmscore.cli.options import (
    BatchSizeOpt,
    DeviceOpt,
    EngineOptions,
    JsonOpt,
    OutputOpt,
    StrictOpt,
    WorkersOpt,
    alias,
    command,
    forbid,
    usage_error,
)
from mmscore.defaults import CLIP_MODEL

HELP = f"""EMScore (Shi et al. 2022) of video captions: fine- and coarse-grained caption-vs-video and
caption-vs-reference scores with CLIP (official whole-video algorithm).

The input needs a video column (--video-key) and a candidate column (--candidate-key). The
reference column (--reference-key) may hold one caption, a list, or be empty (only EMScore(X,V)).
Without a sampling option one frame per second is used.

Examples:

  mmscore emscore captions.jsonl --model openai/clip-vit-base-patch32 --every-n-seconds 1

  mmscore emscore captions.csv --model ./ViT-B-32.pt --num-frames 10 --frame-details -o scored.csv

  mmscore emscore captions.parquet --idf-corpus train_captions.txt --metric full_F --metric cogr --json

  mmscore emscore big.parquet --engine local --shard-size 1000 -o big.emscore.parquet

{EPILOG}
"""

ModelOpt = Annotated[str, typer.Option("--model", help="CLIP model: hub id, OpenAI name (ViT-B/32), transformers "
                                       "folder, .pt checkpoint or mmscore-demo.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache", help="Video embedding cache folder (default: "
                                                  "$MMSCORE_CACHE_DIR or ~/.cache/mmscore).")]
OldCacheOpt = Annotated[Optional[Path], typer.Option("--cache-dir", hidden=True, help="Old name of --cache.")]


@command
def emscore_command(
    input: Annotated[Path, typer.Argument(help="Table with video paths and captions (jsonl, json, csv, parquet).")],
    model: ModelOpt = CLIP_MODEL,
    every_n_seconds: Annotated[Optional[float], typer.Option("--every-n-seconds", help="Sample the first frame "
                               "at or after every N seconds (default: 1 s).")] = None,
    every_n_frames: Annotated[Optional[int], typer.Option("--every-n-frames", help="Sample every N-th frame "
                              "(1 = every frame, as the official EMScore code).")] = None,
    num_frames: Annotated[Optional[int], typer.Option("--num-frames", help="Sample N frames spread uniformly "
                          "(the VATEX-EVAL setup uses 10).")] = None,
    max_frames: Annotated[Optional[int], typer.Option("--max-frames", help="At most N frames per video "
                          "(thinned evenly).")] = None,
    video_key: Annotated[str, typer.Option("--video-key", help="Column with video paths (relative paths resolve "
                         "against the cwd, then the input file's folder).")] = "video_path",
    candidate_key: Annotated[str, typer.Option("--candidate-key", help="Column with the caption to score.")]
    = "candidate",
    reference_key: Annotated[str, typer.Option("--reference-key", help="Column with reference caption(s); may be "
                             "absent.")] = "reference",
    score_type: Annotated[Optional[list[str]], typer.Option("--score-type", help="EMScore(X,X*), EMScore(X,V) or "
                          "EMScore(X,V,X*) (repeatable; default all).")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", help="figr_P, figr_R, figr_F, cogr, full_P, "
                      "full_R, full_F (repeatable; default all).")] = None,
    frame_details: Annotated[bool, typer.Option("--frame-details", help="Add the frame_details column (per-frame "
                             "scores as JSON).")] = False,
    no_idf: Annotated[bool, typer.Option("--no-idf", help="Uniform token weights (official idf=False).")] = False,
    idf_corpus: Annotated[Optional[Path], typer.Option("--idf-corpus", help="Compute idf from these sentences "
                          "(.txt one per line, or a table) instead of the table's references.")] = None,
    idf_corpus_key: Annotated[str, typer.Option("--idf-corpus-key", help="Column of --idf-corpus when it is a "
                              "table.")] = "caption",
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = None,
    workers: WorkersOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the video embedding cache.")]
    = False,
    cache: CacheOpt = None,
    cache_dir: OldCacheOpt = None,
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Score the part of a truncated video "
                               "that decodes (noted in column video_truncated) instead of a row error.")] = False,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
    engine: EngineOptions = EngineOptions(),
) -> None:
    from mmscore.cli.results import default_output
    from mmscore.errors import ConfigError
    from mmscore.io.outputs import prepare_outputs
    from mmscore.io.tables import table_format
    from mmscore.operators.emscore import EMScoreEval

    given = engine.given
    cache = alias(given, "cache", "cache_dir", cache, cache_dir)
    if no_cache and ({"cache", "cache_dir"} & given):
        raise usage_error("--cache and --no-cache contradict each other; give one")
    if no_idf:
        forbid(given, ["idf_corpus", "idf_corpus_key"], "with --no-idf (uniform token weights use no corpus)")
    elif idf_corpus is None or idf_corpus.suffix.lower() in (".txt", ".text"):
        forbid(given, ["idf_corpus_key"], "without a table as --idf-corpus (a .txt corpus has one sentence a line)")
    if num_frames is not None and (every_n_seconds is not None or every_n_frames is not None):
        raise ConfigError("give only one of --every-n-seconds, --every-n-frames, --num-frames")
    output = output or default_output(input, "emscore")
    table_format(output)  # an unknown extension fails now, not after the scoring
    prepare_outputs([output, output.with_name(output.name + ".run.json")], [input, idf_corpus])
    evaluator = EMScoreEval(every_n_seconds=every_n_seconds, every_n_frames=every_n_frames,
                            return_all_frames=frame_details, clip_model_path=model, score_types=score_type,
                            metrics=metric)
    evaluator.configure(num_frames=num_frames, max_frames=max_frames, idf=not no_idf,
                        idf_corpus=_idf_corpus(idf_corpus, idf_corpus_key), device=device, batch_size=batch_size,
                        workers=max(workers, 1) if workers is not None else None,
                        cache_dir=False if no_cache else (cache if cache is not None else True),
                        allow_truncated=allow_truncated)
    keys = {"video_key": video_key, "candidate_key": candidate_key, "reference_key": reference_key}
    scored, info = _score(evaluator, input, output, keys, engine)
    _print(evaluator, input, output, scored, info, strict, as_json)


def _idf_corpus(path: Path | None, key: str) -> list[str] | None:
    from mmscore.io.corpus import read_sentences

    return read_sentences(path, key) if path is not None else None


def _score(evaluator: Any, input: Path, output: Path, keys: dict[str, str], engine: EngineOptions) -> tuple[Any, dict]:
    """Score in this process (writes ``output`` and ``output.run.json``) or on the engine."""
    from mmscore.io.atomic import atomic_write_json
    from mmscore.io.media_paths import MediaResolver
    from mmscore.io.tables import read_table, require_columns, write_table

    if engine.engine is None:
        df = read_table(input)
        require_columns(df, [keys["video_key"], keys["candidate_key"]], where=str(input))
        resolver = MediaResolver.beside(input)
        scored = evaluator.score_dataframe(df, resolver, keys["video_key"], keys["candidate_key"],
                                           keys["reference_key"])
        write_table(scored, output)
        info = {**(evaluator.last_run_info or {}), "media_paths": resolver.resolved}
        atomic_write_json(output.with_name(output.name + ".run.json"), info)
        return scored, info
    from mmscore.engine import run_engine

    # sharded, restartable; the engine writes <output> and <output>.run.json
    result = run_engine(evaluator, input, output, run_kwargs=keys, **engine.run_engine_kwargs())
    evaluator.signature = next((s for s in result.signatures if s), evaluator.signature)
    return read_table(output), {}


def _print(evaluator: Any, input: Path, output: Path, scored: Any, info: dict, strict: bool, as_json: bool) -> None:
    from mmscore.cli.results import Printer, exit_policy, stats_row
    from mmscore.operators.emscore import ERROR_COLUMN

    printer = Printer(as_json)
    rows, columns = [], {}
    for column in evaluator.score_columns():
        values = scored[column].dropna().astype(float)
        rows.append([column, len(values), *stats_row(values)])
        columns[column] = {"scored": len(values), "mean": float(values.mean()) if len(values) else None}
    printer.table(f"{input.name}: {len(scored)} rows", ["column", "scored", "mean", "min", "max"], rows,
                  left=("column",))
    printer.note(f"signature: {evaluator.signature}")
    if info.get("truncated_captions"):
        printer.warn(f"{info['truncated_captions']} caption(s) longer than the model context were truncated "
                     f"({info['truncated_rows']} row(s))")
    printer.wrote(output)
    errors = scored[ERROR_COLUMN].dropna()
    if len(errors):  # each message starts with "row N:" (its position in the table)
        printer.warn(f"{len(errors)} row(s) not scored; first: {errors.iloc[0]}")
    printer.finish({"command": "emscore", "rows": len(scored), "failed": len(errors), "columns": columns,
                    "signature": evaluator.signature, "output": output,
                    "errors": [str(e) for e in errors.iloc[:10]]})
    exit_policy(scored=len(scored) - len(errors), unscored=len(errors), strict=strict,
                first_error=errors.iloc[0] if len(errors) else None, output=output)


def register(app: typer.Typer) -> None:
    app.command("emscore", help=HELP, short_help="EMScore of video captions (CLIP).")(emscore_command)
