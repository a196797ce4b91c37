"""``mmscore emscore INPUT``: EMScore for a table of (video, candidate caption, references)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.options import BatchSizeOpt, DeviceOpt, OutputOpt, StrictOpt
from mmscore.defaults import CLIP_MODEL
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

  mmscore emscore captions.jsonl --model openai/clip-vit-base-patch32 --every-n-seconds 1

  mmscore emscore captions.csv --model ./ViT-B-32.pt --num-frames 10 --frame-details -o scored.csv

  mmscore emscore captions.parquet --idf-corpus train_captions.txt --metric full_F --metric cogr

The input needs a video column (--video-key) and a candidate column (--candidate-key).

The reference column (--reference-key) may hold one caption, a list, or be empty (only EMScore(X,V)).

Without a sampling option one frame per second is used. --strict: exit 2 if a row could not be scored.
"""


def _read_corpus(path: Path, key: str) -> list[str]:
    """Sentences for idf: a .txt file (one per line) or a table column (lists are flattened)."""
    from mmscore.errors import InputError
    from mmscore.io.cells import text_list
    from mmscore.io.tables import read_table, require_columns

    if not path.exists():
        raise InputError(f"{path}: idf corpus file not found")
    if path.suffix.lower() in (".txt", ".text"):
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    df = read_table(path)
    require_columns(df, [key], where=str(path))
    return [caption for value in df[key] for caption in text_list(value)]


def register(app: typer.Typer) -> None:
    @app.command("emscore", help="EMScore (Shi et al. 2022) of video captions: fine- and coarse-grained "
                 "caption-vs-video and caption-vs-reference scores with CLIP (official whole-video algorithm)."
                 + EXAMPLES)
    def emscore_command(
        input: Annotated[Path, typer.Argument(help="Table with video paths and captions (jsonl, json, csv, "
                                                   "parquet).")],
        model: Annotated[str, typer.Option("--model", help="CLIP model: hub id, OpenAI name (ViT-B/32), "
                                           "transformers folder, .pt checkpoint or mmscore-demo.")]
        = CLIP_MODEL,
        every_n_seconds: Annotated[Optional[float], typer.Option("--every-n-seconds", help="Sample the first "
                                   "frame at or after every N seconds (default: 1 s).")] = None,
        every_n_frames: Annotated[Optional[int], typer.Option("--every-n-frames", help="Sample every N-th "
                                  "frame (1 = every frame, as the official EMScore code).")] = None,
        num_frames: Annotated[Optional[int], typer.Option("--num-frames", help="Sample N frames spread "
                              "uniformly (the VATEX-EVAL setup uses 10).")] = None,
        max_frames: Annotated[Optional[int], typer.Option("--max-frames", help="At most N frames per video "
                              "(thinned evenly).")] = None,
        video_key: Annotated[str, typer.Option("--video-key", help="Column with video paths (relative paths "
                             "resolve against the cwd, then the input file's folder).")] = "video_path",
        candidate_key: Annotated[str, typer.Option("--candidate-key", help="Column with the caption to "
                                 "score.")] = "candidate",
        reference_key: Annotated[str, typer.Option("--reference-key", help="Column with reference "
                                 "caption(s); may be absent.")] = "reference",
        score_type: Annotated[Optional[list[str]], typer.Option("--score-type", help="EMScore(X,X*), "
                              "EMScore(X,V) or EMScore(X,V,X*) (repeatable; default all).")] = None,
        metric: Annotated[Optional[list[str]], typer.Option("--metric", help="figr_P, figr_R, figr_F, cogr, "
                          "full_P, full_R, full_F (repeatable; default all).")] = None,
        frame_details: Annotated[bool, typer.Option("--frame-details", help="Add the frame_details column "
                                 "(per-frame scores as JSON).")] = False,
        no_idf: Annotated[bool, typer.Option("--no-idf", help="Uniform token weights (official idf=False).")]
        = False,
        idf_corpus: Annotated[Optional[Path], typer.Option("--idf-corpus", help="Compute idf from these "
                              "sentences (.txt one per line, or a table) instead of the table's references.")]
        = None,
        idf_corpus_key: Annotated[str, typer.Option("--idf-corpus-key", help="Column of --idf-corpus when it "
                                  "is a table.")] = "caption",
        batch_size: BatchSizeOpt = 64,
        device: DeviceOpt = None,
        workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Video decoding threads "
                           "(default: CPU count, at most 8).")] = None,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the video embedding "
                            "cache.")] = False,
        cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Video embedding cache folder "
                             "(default: $MMSCORE_CACHE_DIR or ~/.cache/mmscore).")] = None,
        allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Score the part of a truncated "
                                   "video that decodes (noted in column video_truncated) instead of a row "
                                   "error.")] = False,
        output: OutputOpt = None,
        strict: StrictOpt = False,
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
        from rich.table import Table

        from mmscore.io.atomic import atomic_write_json
        from mmscore.io.storage import MediaPathResolver
        from mmscore.io.tables import read_table, require_columns, write_table
        from mmscore.operators.emscore import ERROR_COLUMN, EMScoreEval

        evaluator = EMScoreEval(every_n_seconds=every_n_seconds, every_n_frames=every_n_frames,
                                return_all_frames=frame_details, clip_model_path=model, score_types=score_type,
                                metrics=metric)
        if num_frames is not None and (every_n_seconds is not None or every_n_frames is not None):
            from mmscore.errors import ConfigError

            raise ConfigError("give only one of --every-n-seconds, --every-n-frames, --num-frames")
        cache: Path | bool = False if no_cache else (cache_dir if cache_dir is not None else True)
        evaluator.configure(num_frames=num_frames, max_frames=max_frames, idf=not no_idf,
                            idf_corpus=_read_corpus(idf_corpus, idf_corpus_key) if idf_corpus else None,
                            device=device, batch_size=batch_size, workers=workers, cache_dir=cache,
                            allow_truncated=allow_truncated)
        output = output or input.with_name(f"{input.stem}.emscore{input.suffix}")
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs([output, output.with_name(output.name + ".run.json")], [input, idf_corpus])
        if engine is None:
            df = read_table(input)
            require_columns(df, [video_key, candidate_key], where=str(input))
            resolver = MediaPathResolver(input.resolve().parent)
            scored = evaluator.score_dataframe(df, resolver, video_key, candidate_key, reference_key)
            write_table(scored, output)
            info = {**(evaluator.last_run_info or {}), "media_paths": resolver.resolved}
            atomic_write_json(output.with_name(output.name + ".run.json"), info)
        else:  # sharded, restartable; the engine writes <output> and <output>.run.json
            from mmscore.engine import run_engine

            result = run_engine(evaluator, input, output, engine=engine, address=address, num_workers=num_workers,
                                num_gpus_per_worker=num_gpus_per_worker, shard_size=shard_size,
                                output_dir=output_dir, overwrite=overwrite, stall_timeout=stall_timeout,
                                run_kwargs={"video_key": video_key, "candidate_key": candidate_key,
                                            "reference_key": reference_key})
            scored, info = read_table(output), {}
            evaluator.signature = next((s for s in result.signatures if s), evaluator.signature)

        console = Console()
        table = Table(title=f"{input.name}: {len(scored)} rows")
        for column in ("column", "scored", "mean", "min", "max"):
            table.add_column(column, justify="left" if column == "column" else "right")
        for column in evaluator.score_columns():
            values = scored[column].dropna().astype(float)
            stats = [f"{values.mean():.4f}", f"{values.min():.4f}", f"{values.max():.4f}"] if len(values) else ["-"] * 3
            table.add_row(column, str(len(values)), *stats)
        console.print(table)
        console.print(f"[dim]signature: {evaluator.signature}[/dim]")
        if info.get("truncated_captions"):
            console.print(f"[yellow]{info['truncated_captions']} caption(s) longer than the model context were "
                          f"truncated ({info['truncated_rows']} row(s))[/yellow]")
        console.print(f"wrote {output}")
        errors = scored[ERROR_COLUMN].dropna()
        if len(errors):
            # each message starts with "row N:" (its position in the table)
            console.print(f"[yellow]{len(errors)} row(s) not scored; first: {errors.iloc[0]}[/yellow]")
            if strict:
                from mmscore.errors import InputError

                raise InputError(f"{len(errors)} row(s) could not be scored (--strict); first: {errors.iloc[0]}; "
                                 f"the table was written to {output}")
