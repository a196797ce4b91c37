"""``mmscore score gpt4o|internvl|openai-compatible|custom``: VLM judges over a VMEvalKit experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import group

EXAMPLES = """

Examples:

  mmscore score gpt4o --experiment pilot_experiment --concurrency 8 --max-cost 5

  mmscore score internvl --experiment pilot_experiment            # lmdeploy on localhost:23333

  mmscore score openai-compatible --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct

  mmscore score gpt4o --frames 5 --last-seconds 3 --vote majority   # judge 5 frames, vote

Exit codes: 0 done (failed tasks are recorded and retried next run; --strict makes them exit 1),
2 usage/config error, 3 stopped by --max-cost (re-run to continue).
"""

Experiment = Annotated[
    str, typer.Option("--experiment", "-e", help="Experiment name (folder under <data>/outputs).")
]
DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder holding outputs/ (default $VMEVAL_DATA_DIR, else ./data)."),
]
OutputDir = Annotated[
    Optional[Path],
    typer.Option(
        "--output-dir",
        help="Scorings root, like $VMEVAL_OUTPUT_DIR: writes <output-dir>/<scorer>/<experiment>/... "
        "(default $VMEVAL_OUTPUT_DIR/<scorer>, else <data>/scorings/<scorer>).",
    ),
]
Concurrency = Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Requests in flight at once.")]
MaxCost = Annotated[
    Optional[float],
    typer.Option(
        "--max-cost", min=0.0, help="Stop starting requests once this many US$ are spent (estimated)."
    ),
]
Prices = Annotated[
    Optional[Path],
    typer.Option(
        "--prices",
        help="JSON/YAML price table {model: {input: $/1M, output: $/1M}} (defaults: gpt-4o family).",
    ),
]
Frames = Annotated[int, typer.Option("--frames", min=1, help="Judge N frames from the end of each video.")]
LastSeconds = Annotated[
    Optional[float],
    typer.Option(
        "--last-seconds",
        help="Spread --frames over the last S seconds (default: the last N decodable frames).",
    ),
]
Samples = Annotated[
    int, typer.Option("--samples", min=1, help="Independent judgements per frame (use --temperature > 0).")
]
Vote = Annotated[str, typer.Option("--vote", help="Combine judgements: majority, mean, median or min.")]
Temperature = Annotated[float, typer.Option("--temperature", min=0.0, help="Sampling temperature.")]
MaxTokens = Annotated[int, typer.Option("--max-tokens", min=1, help="Reply token limit.")]
Timeout = Annotated[float, typer.Option("--timeout", min=0.001, help="Read timeout per request, seconds.")]
ConnectTimeout = Annotated[
    float, typer.Option("--connect-timeout", min=0.001, help="Connect timeout, seconds.")
]
Retries = Annotated[
    int, typer.Option("--retries", min=0, help="Retries on 429/5xx/timeouts (backoff + jitter).")
]
Backoff = Annotated[
    float,
    typer.Option(
        "--backoff",
        min=0.0,
        help="Base delay of the exponential retry backoff, seconds (attempt k waits ~base*2^k).",
    ),
]
Rescore = Annotated[
    bool,
    typer.Option(
        "--rescore",
        help="Score again even where a matching completed scoring exists (identical requests are "
        "answered from the response cache; add --no-cache to ask the judge again).",
    ),
]
Cache = Annotated[
    Optional[Path],
    typer.Option("--cache", help="SQLite response cache (default <scorer folder>/judge-cache.sqlite)."),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")]
Prompt = Annotated[
    Optional[str],
    typer.Option(
        "--prompt", help="Prompt template: a shipped name or a YAML file (default vmeval_final_frame_v1)."
    ),
]
BaseUrl = Annotated[
    Optional[str], typer.Option("--base-url", help="OpenAI-compatible base URL ending in /v1.")
]
Model = Annotated[
    Optional[str], typer.Option("--model", help="Judge model (default: gpt-4o / the server's model).")
]
ApiKeyEnv = Annotated[
    Optional[str],
    typer.Option("--api-key-env", help="Environment variable holding the API key (gpt4o: OPENAI_API_KEY)."),
]
ScorerName = Annotated[
    Optional[str],
    typer.Option(
        "--scorer-name", help="Scorer id used for file names and metadata (default e.g. GPT4OScorer)."
    ),
]
JsonMode = Annotated[
    Optional[bool],
    typer.Option(
        "--json-mode/--no-json-mode", help="Ask for response_format json_object (default: on for gpt4o only)."
    ),
]
Models = Annotated[
    Optional[list[str]], typer.Option("--model-filter", help="Only these generation models (repeatable).")
]
TaskTypes = Annotated[
    Optional[list[str]], typer.Option("--task-type", help="Only these task types (repeatable).")
]
Strict = Annotated[bool, typer.Option("--strict", help="Exit 1 if any task failed.")]
AllowTruncated = Annotated[bool, typer.Option(
    "--allow-truncated", help="Judge the last frames that decode of a truncated video (recorded in the scoring) "
    "instead of failing the task.")]


def _run(kind: str, options: dict[str, Any]) -> None:
    from mmscore.io.experiment import resolve_output_dir, scorer_folder_under
    from mmscore.models.judge import PriceTable
    from mmscore.vmeval.scorers import Scorer, VLMScorer, make_vlm_scorer, resolve_scorer_class

    cls = resolve_scorer_class(kind)
    if issubclass(cls, VLMScorer):
        subdir = options["scorer_name"] or cls.output_subdir
        out = resolve_output_dir(scorer_folder_under(options["output_dir"], subdir), subdir, options["data_dir"])
        cache = None if options["no_cache"] else (options["cache"] or out / "judge-cache.sqlite")
        scorer: Scorer = make_vlm_scorer(
            cls,
            base_url=options["base_url"],
            model=options["model"],
            api_key_env=options["api_key_env"],
            concurrency=options["concurrency"],
            timeout=options["timeout"],
            connect_timeout=options["connect_timeout"],
            retries=options["retries"],
            backoff=options["backoff"],
            temperature=options["temperature"],
            max_tokens=options["max_tokens"],
            max_cost=options["max_cost"],
            prices=PriceTable.load(options["prices"]) if options["prices"] else None,
            cache=cache,
            prompt=options["prompt"],
            frames=options["frames"],
            last_seconds=options["last_seconds"],
            samples=options["samples"],
            vote=options["vote"],
            scorer_id=options["scorer_name"],
            json_mode=options["json_mode"],
        )
    else:
        scorer = cls()
        scorer.workers = options["concurrency"]
        subdir = cls.output_subdir or scorer.id
        out = resolve_output_dir(scorer_folder_under(options["output_dir"], subdir), subdir, options["data_dir"])
    scorer.allow_truncated = options["allow_truncated"]
    _execute(scorer, out, options)


def _execute(scorer: Any, out: Path, options: dict[str, Any]) -> None:
    import asyncio
    import time

    from mmscore.io.outputs import check_writable_dir

    check_writable_dir(out)

    from rich.console import Console
    from rich.progress import TextColumn

    from mmscore.progress import progress_bar
    from mmscore.vmeval.runner import score_experiment

    console = Console()
    started = time.monotonic()
    stats_column = TextColumn(
        "[green]done {task.fields[done]}[/] [red]failed {task.fields[failed]}[/] "
        "[yellow]skipped {task.fields[skipped]}[/] {task.fields[cost]} {task.fields[rate]}"
    )
    with progress_bar(stats_column) as progress:
        bar = progress.add_task(f"{scorer.id}", total=None, done=0, failed=0, skipped=0, cost="", rate="")

        def on_start(tasks, summary) -> None:
            progress.update(bar, total=len(tasks))

        def on_outcome(outcome, summary) -> None:
            usage = scorer.usage() or {}
            cost = usage.get("cost_usd")
            elapsed = max(time.monotonic() - started, 1e-9)
            worked = summary.completed + summary.failed
            progress.update(
                bar,
                advance=1,
                done=summary.done,
                failed=summary.failed,
                skipped=summary.skipped,
                cost=f"${cost:.4f}" if cost is not None else "",
                rate=f"{worked / elapsed * 60:.1f}/min",
            )

        summary = asyncio.run(
            score_experiment(
                scorer,
                options["experiment"],
                data_dir=options["data_dir"],
                output_dir=out,
                rescore=options["rescore"],
                models=options["model_filter"],
                task_types=options["task_type"],
                on_start=on_start,
                on_outcome=on_outcome,
            )
        )
    _report(console, summary, options)


def _report(console: Any, summary: Any, options: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{summary.scorer} on {summary.experiment}", show_header=True)
    for column in (
        "tasks",
        "completed",
        "reused",
        "failed",
        "skipped",
        "not started",
        "tokens in/out",
        "cost $",
    ):
        table.add_column(column, justify="right")
    usage = summary.usage or {}
    cost = usage.get("cost_usd")
    table.add_row(
        str(summary.total),
        str(summary.completed),
        str(summary.reused),
        str(summary.failed),
        str(summary.skipped),
        str(summary.not_started),
        f"{usage.get('prompt_tokens', 0)}/{usage.get('completion_tokens', 0)}" if usage else "-",
        f"{cost:.4f}" if cost is not None else "-",
    )
    console.print(table)
    if usage:
        console.print(
            f"requests {usage.get('requests', 0)}, cache hits {usage.get('cache_hits', 0)}, "
            f"re-asks {usage.get('reasks', 0)}, elapsed {summary.elapsed_s:.1f}s"
        )
    for key, reason in summary.failures[:10]:
        console.print(f"[red]failed[/red] {'/'.join(key[1:])}: {reason}")
    if len(summary.failures) > 10:
        console.print(f"... and {len(summary.failures) - 10} more failures (see the JSON files)")
    console.print(f"scorings: {summary.output_dir / summary.experiment}")
    if summary.aggregate_path:
        console.print(f"aggregate: {summary.aggregate_path}")
    if summary.budget_exceeded:
        console.print(
            f"[yellow]Stopped: --max-cost {options['max_cost']} reached; {summary.not_started} tasks "
            "not started. Re-run with a higher --max-cost to continue.[/yellow]"
        )
        raise SystemExit(3)
    if options["strict"] and summary.failed:
        raise SystemExit(1)


def _command(kind: str, help_text: str):
    def command(
        experiment: Experiment = "pilot_experiment",
        data_dir: DataDir = None,
        output_dir: OutputDir = None,
        concurrency: Concurrency = 8,
        max_cost: MaxCost = None,
        prices: Prices = None,
        frames: Frames = 1,
        last_seconds: LastSeconds = None,
        samples: Samples = 1,
        vote: Vote = "majority",
        temperature: Temperature = 0.0,
        max_tokens: MaxTokens = 1000,
        timeout: Timeout = 120.0,
        connect_timeout: ConnectTimeout = 10.0,
        retries: Retries = 5,
        backoff: Backoff = 1.0,
        rescore: Rescore = False,
        cache: Cache = None,
        no_cache: NoCache = False,
        prompt: Prompt = None,
        base_url: BaseUrl = None,
        model: Model = None,
        api_key_env: ApiKeyEnv = None,
        scorer_name: ScorerName = None,
        json_mode: JsonMode = None,
        model_filter: Models = None,
        task_type: TaskTypes = None,
        strict: Strict = False,
        allow_truncated: AllowTruncated = False,
    ) -> None:
        _run(kind, dict(locals()))

    command.__doc__ = help_text
    return command


HELP = {
    "gpt4o": ("GPT-4o judge (OPENAI_API_KEY).", "Score an experiment with GPT-4o (needs OPENAI_API_KEY)."),
    "internvl": (
        "InternVL judge via lmdeploy (localhost:23333).",
        "Score with InternVL behind lmdeploy's OpenAI-compatible server (default "
        "http://localhost:23333/v1; the model is taken from the server's /v1/models unless --model).",
    ),
    "openai-compatible": (
        "Any OpenAI-compatible VLM server.",
        "Score with any OpenAI-compatible server (--base-url, --model, --api-key-env).",
    ),
    "custom": (
        "A custom scorer class (module:Class or file.py:Class).",
        "Score with a custom scorer: a registered name, package.module:Class or file.py:Class (a "
        "subclass of mmscore.vmeval.Scorer). The VLM options apply to VLMScorer subclasses.",
    ),
}


def register(app: typer.Typer) -> None:
    score = group("score")
    for kind in ("gpt4o", "internvl", "openai-compatible"):
        short, long = HELP[kind]
        score.command(kind, short_help=short, help=long + EXAMPLES)(_command(kind, long))

    @score.command("custom", short_help=HELP["custom"][0], help=HELP["custom"][1] + EXAMPLES)
    def custom(
        spec: Annotated[str, typer.Argument(help="Scorer name, module:Class or file.py:Class.")],
        experiment: Experiment = "pilot_experiment",
        data_dir: DataDir = None,
        output_dir: OutputDir = None,
        concurrency: Concurrency = 8,
        max_cost: MaxCost = None,
        prices: Prices = None,
        frames: Frames = 1,
        last_seconds: LastSeconds = None,
        samples: Samples = 1,
        vote: Vote = "majority",
        temperature: Temperature = 0.0,
        max_tokens: MaxTokens = 1000,
        timeout: Timeout = 120.0,
        connect_timeout: ConnectTimeout = 10.0,
        retries: Retries = 5,
        backoff: Backoff = 1.0,
        rescore: Rescore = False,
        cache: Cache = None,
        no_cache: NoCache = False,
        prompt: Prompt = None,
        base_url: BaseUrl = None,
        model: Model = None,
        api_key_env: ApiKeyEnv = None,
        scorer_name: ScorerName = None,
        json_mode: JsonMode = None,
        model_filter: Models = None,
        task_type: TaskTypes = None,
        strict: Strict = False,
        allow_truncated: AllowTruncated = False,
    ) -> None:
        options = dict(locals())
        _run(options.pop("spec"), options)
