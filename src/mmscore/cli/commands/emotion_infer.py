"""``mmscore emotion infer``: run a model over benchmark videos with the benchmark's own prompts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import group

# the transport options every judge command shares (one declaration each)
from mmscore.cli.commands.score_judges import (
    Backoff,
    Concurrency,
    ConnectTimeout,
    MaxCost,
    Prices,
    Retries,
    Timeout,
)

HELP = """Run a video-LLM served behind any OpenAI-compatible API (vLLM, lmdeploy, SGLang, Ollama, OpenAI)
over an emotion benchmark with the benchmark's own prompt, frames and decoding, and write one prediction
per gold row (video_name,prediction,status,error,...) that `emotion classify|ov|emer` read as is.

Presets: mer2023, mer2024 (Emotion-LLaMA prompts, first frame, greedy, 500 tokens), dfew (OUR prompt:
DFEW has none published), emer (Emotion-LLaMA's 5 reasoning questions, one per row from --seed),
mer2025-ov, mer2025-desc (AffectGPT 2025, 8 start-aligned frames), custom (--prompt FILE).

A rerun asks only rows with no stored reply (the response cache beside the output); a changed prompt,
frame policy, model or decoding setting asks again.

Examples:

  mmscore emotion infer --gold test3.txt --videos videos/ --transcripts transcription_en_all.csv \\
      --preset mer2023 --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct -o preds.csv --score

  mmscore emotion infer ... --dry-run        # print the first row's exact request (images elided)

Exit codes: 0 every row answered; 1 --strict with failed rows, or no row answered; 2 usage/input
errors; 3 stopped by --max-cost (rerun to continue).
"""

Gold = Annotated[Path, typer.Option("--gold", help="Gold file: CSV/TSV/JSON/JSONL/parquet or Emotion-LLaMA's "
                                                   "'name frames label' .txt; its rows and order are the output's.")]
Videos = Annotated[Path, typer.Option("--videos", help="Folder of <name>.mp4/.avi/... (and optional <name>.wav).")]
Preset = Annotated[str, typer.Option("--preset", help="mer2023, mer2024, dfew, emer, mer2025-ov, mer2025-desc "
                                                      "or custom.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Prediction CSV (sidecar <stem>.infer.json beside).")]
BaseUrl = Annotated[str, typer.Option("--base-url", envvar="OPENAI_BASE_URL",
                                      help="OpenAI-compatible base URL ending in /v1.")]
Model = Annotated[Optional[str], typer.Option("--model", help="Model to ask (default: the one model GET "
                                                              "/v1/models lists).")]
ApiKeyEnv = Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key "
                                                              "(unset: no key is sent).")]
Cache = Annotated[Optional[Path], typer.Option("--cache", help="SQLite response cache, the resume record "
                                                               "(default <output stem>.infer-cache.sqlite).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="No response cache: no resume, every row asked.")]


def infer_command(
    gold: Gold,
    videos: Videos,
    preset: Preset,
    output: Output,
    base_url: BaseUrl,
    model: Model = None,
    transcripts: Annotated[Optional[Path], typer.Option(
        "--transcripts", help="CSV of transcripts keyed by video name (default: the gold file's transcription/"
                              "sentence/subtitles column).")] = None,
    transcript_column: Annotated[Optional[str], typer.Option(
        "--transcript-column", help="Transcript column (default: first of transcription, transcript, sentence_en, "
                                    "sentence, subtitles, subtitle, english, text).")] = None,
    missing_transcript: Annotated[str, typer.Option(
        "--missing-transcript", help="A row without a transcript: error (default, before any request), empty "
                                     "(send '', as MER2025) or nan (send 'nan', as Emotion-LLaMA).")] = "error",
    gold_key_column: Annotated[Optional[str], typer.Option("--gold-key-column",
                                                           help="Video-name column of the gold file.")] = None,
    frames: Annotated[Optional[str], typer.Option(
        "--frames", help="first (Emotion-LLaMA), uniform:N (AffectGPT), fml (first/middle/last, GPT-4V "
                         "baseline) or video (the file as a video_url part). Default: the preset's.")] = None,
    image_format: Annotated[str, typer.Option(
        "--image-format", help="Frames as png (lossless, default) or jpeg (quality 95, much smaller).")] = "png",
    audio: Annotated[str, typer.Option(
        "--audio", help="none (default), input_audio (OpenAI audio models), audio_url (vLLM/SGLang/lmdeploy) or "
                        "in-video (vLLM Qwen-Omni: the video's own track; needs --frames video).")] = "none",
    prompt: Annotated[Optional[str], typer.Option(
        "--prompt", help="Prompt file (YAML, schema as mmscore/prompts/emotion_llama_mer2023_v1.yaml) or a "
                         "shipped prompt name, replacing the preset's.")] = None,
    question: Annotated[Optional[int], typer.Option(
        "--question", min=1, help="EMER: always ask question N (1-5) instead of one per row from --seed.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the per-row question choice (EMER).")] = 0,
    sampling: Annotated[str, typer.Option(
        "--sampling", help="default (greedy/T 0) or original (the original's sampled decoding, e.g. AffectGPT "
                           "T 1, top_p 0.9).")] = "default",
    temperature: Annotated[Optional[float], typer.Option("--temperature", min=0.0,
                                                         help="Override the preset's temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=1,
                                                      help="Override the preset's reply token limit.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus sampling.")] = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    concurrency: Concurrency = 8,
    timeout: Timeout = 120.0,
    connect_timeout: ConnectTimeout = 10.0,
    retries: Retries = 5,
    backoff: Backoff = 1.0,
    cache: Cache = None,
    no_cache: NoCache = False,
    max_cost: MaxCost = None,
    prices: Prices = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the first row's exact request (images "
                                                            "elided) and exit; nothing is sent.")] = False,
    score: Annotated[bool, typer.Option("--score", help="Then score the predictions with the preset's "
                                                        "metrics (<stem>.scores.json).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any row failed.")] = False,
) -> None:
    from mmscore.emotion.infer import InferOptions, Transport

    transport = Transport(base_url=base_url, model=model, api_key_env=api_key_env, concurrency=concurrency,
                          timeout=timeout, connect_timeout=connect_timeout, retries=retries, backoff=backoff,
                          cache=cache, max_cost=max_cost, prices=prices)
    options = InferOptions(
        gold=gold, videos=videos, preset=preset, output=output, transport=transport, prompt=prompt, frames=frames,
        audio=audio, transcripts=transcripts, transcript_column=transcript_column, gold_key_column=gold_key_column,
        missing_transcript=missing_transcript, seed=seed, question=question, sampling=sampling,
        image_format=image_format,
        overrides={"temperature": temperature, "max_tokens": max_tokens, "top_p": top_p}, no_cache=no_cache)
    if dry_run:
        from mmscore.emotion.infer import dry_run_body

        typer.echo(json.dumps(dry_run_body(options), indent=2, ensure_ascii=False))
        return
    _run_and_report(options, score, strict)


def _run_and_report(options, score: bool, strict: bool) -> None:
    from rich.console import Console
    from rich.progress import TextColumn

    from mmscore.emotion.infer import run_infer
    from mmscore.emotion.infer.output import sidecar_path
    from mmscore.emotion.infer.presets import get_infer_preset
    from mmscore.emotion.infer.score import check_scorable
    from mmscore.progress import progress_bar

    if score:
        check_scorable(get_infer_preset(options.preset))
    console = Console()
    counts = {"ok": 0, "error": 0}
    with progress_bar(TextColumn("[green]ok {task.fields[ok]}[/] [red]failed {task.fields[failed]}[/]")) as bar:
        task = bar.add_task("infer", total=None, ok=0, failed=0)

        def on_row(result) -> None:
            counts["ok" if result.status == "ok" else "error"] += 1
            bar.update(task, advance=1, ok=counts["ok"], failed=counts["error"])

        run, prepared = run_infer(options, on_row=on_row, on_start=lambda n: bar.update(task, total=n))
    usage = run.usage
    console.print(f"{options.preset} with {run.model} (prompt {prepared.prompt.id}, "
                  f"frames {prepared.plan.frames.spec}): "
                  f"{run.counts['ok']} ok, {run.counts['error']} failed, {run.counts['not_started']} not started; "
                  f"{usage.get('requests', 0)} requests, {usage.get('cache_hits', 0)} from the cache, "
                  f"{run.elapsed_s:.1f} s")
    for result in [r for r in run.results if r.status == "error"][:10]:
        console.print(f"[red]failed[/red] {result.key}: {result.error}")
    console.print(f"wrote {options.output} and {sidecar_path(options.output)}")
    if score and run.counts["ok"]:
        _score(console, prepared.preset, options)
    if run.budget_stopped:
        console.print(f"[yellow]Stopped by --max-cost: {run.counts['not_started']} rows not asked; rerun with a "
                      "higher limit to continue.[/yellow]")
        raise typer.Exit(3)
    if run.counts["ok"] == 0 or (strict and run.counts["error"]):
        raise typer.Exit(1)


def _score(console, preset, options) -> None:
    from mmscore.emotion.infer.score import score_predictions
    from mmscore.emotion.report import print_summary, results_markdown

    method = options.transport.model or options.output.stem
    summary, written = score_predictions(preset, options.gold, options.output, options.gold_key_column, method)
    print_summary(console, summary, method)
    console.print(results_markdown([summary], [method]))
    console.print(f"wrote {written[0]}")


def register(app: typer.Typer) -> None:
    group("emotion").command("infer", short_help="Run a model over benchmark videos (OpenAI-compatible server).",
                             help=HELP)(infer_command)
