"""``mmscore score <judge>|custom``: VLM judges over a VMEvalKit experiment.

One sub-command per entry of the scorer registry (:data:`mmscore.vmeval.registry.SCORERS`), all
served by :func:`score_command`, which reads the judge's name from the command it was invoked as.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli import options
from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import (
    Bundle,
    DataDirOpt,
    ExperimentOpt,
    JsonOpt,
    JudgeOptions,
    StrictOpt,
    command,
    forbid,
)

# the judge transport options under the names other command modules imported from here before they
# moved to mmscore.cli.options (kept so those modules keep working; new code takes JudgeOptions)
Backoff = options.BackoffOpt
Concurrency = options.ConcurrencyOpt
ConnectTimeout = options.ConnectTimeoutOpt
MaxCost = options.MaxCostOpt
Prices = options.PricesOpt
Retries = options.RetriesOpt
Timeout = options.TimeoutOpt

#: examples per judge (a judge registered later gets the generic openai-compatible-style one)
EXAMPLES = {
    "gpt4o": """  mmscore score gpt4o --experiment pilot_experiment --concurrency 8 --max-cost 5

  mmscore score gpt4o --frames 5 --last-seconds 3 --vote majority --temperature 0.7 --samples 3""",
    "internvl": """  mmscore score internvl --experiment pilot_experiment            # lmdeploy on localhost:23333

  mmscore score internvl --base-url http://gpu-box:23333/v1 --model-filter veo3 --task-type chess_task""",
    "openai-compatible": """  mmscore score openai-compatible --base-url http://localhost:8000/v1 \\
      --model Qwen/Qwen2.5-VL-7B-Instruct

  mmscore score openai-compatible --base-url http://localhost:11434/v1 --model llava --no-json-mode --json""",
    "custom": """  mmscore score custom my_scorers.py:BrightnessScorer --experiment pilot_experiment

  mmscore score custom mypkg.judges:StrictVLM --base-url http://localhost:8000/v1 --prompt my_prompt.yaml""",
}
DETAILS = {
    "gpt4o": "Score an experiment with GPT-4o (needs OPENAI_API_KEY).",
    "internvl": "Score with InternVL behind lmdeploy's OpenAI-compatible server (default http://localhost:23333/v1; "
                "the model is taken from the server's /v1/models unless --model).",
    "openai-compatible": "Score with any OpenAI-compatible server (--base-url, --model, --api-key-env).",
    "custom": "Score with a custom scorer: a registered name, package.module:Class or file.py:Class (a subclass of "
              "mmscore.vmeval.Scorer). The judge options apply to VLMScorer subclasses only.",
}
RESUME = ("Failed tasks are recorded and retried on the next run; a task with a matching completed scoring is "
          "reused (--rescore scores it again).")


@dataclasses.dataclass(frozen=True)
class ScoringOptions(Bundle):
    """Which tasks, where the scorings go and how each task is judged."""

    experiment: ExperimentOpt = "pilot_experiment"
    data_dir: DataDirOpt = None
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", help="Scorings root, like $VMEVAL_OUTPUT_DIR: "
                          "writes <output-dir>/<scorer>/<experiment>/... (default $VMEVAL_OUTPUT_DIR/<scorer>, "
                          "else <data-dir>/scorings/<scorer>).")] = None
    model_filter: Annotated[Optional[list[str]], typer.Option("--model-filter", help="Only these generation models "
                            "(repeatable).")] = None
    task_type: Annotated[Optional[list[str]], typer.Option("--task-type", help="Only these task types "
                         "(repeatable).")] = None
    frames: Annotated[int, typer.Option("--frames", min=1, help="Judge N frames from the end of each video.")] = 1
    last_seconds: Annotated[Optional[float], typer.Option("--last-seconds", help="Spread --frames over the last S "
                            "seconds (default: the last N decodable frames).")] = None
    samples: Annotated[int, typer.Option("--samples", min=1, help="Independent judgements per frame (use "
                       "--temperature > 0).")] = 1
    vote: Annotated[str, typer.Option("--vote", help="Combine judgements: majority, mean, median or min.")] = "majority"
    prompt: Annotated[Optional[str], typer.Option("--prompt", help="Prompt template: a shipped name or a YAML file "
                      "(default vmeval_final_frame_v1).")] = None
    scorer_name: Annotated[Optional[str], typer.Option("--scorer-name", help="Scorer id used for file names and "
                           "metadata (default e.g. GPT4OScorer).")] = None
    json_mode: Annotated[Optional[bool], typer.Option("--json-mode/--no-json-mode", help="Ask for response_format "
                         "json_object (default: on for gpt4o only).")] = None
    rescore: Annotated[bool, typer.Option("--rescore", help="Score again even where a matching completed "
                       "scoring exists (identical requests come from the response cache; --no-cache asks again).")] \
        = False
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Judge the last frames that decode of a "
                               "truncated video (recorded in the scoring) instead of failing the task.")] = False
    strict: StrictOpt = False
    as_json: JsonOpt = False


#: scoring options that only a VLM judge reads
_VLM_ONLY = ("frames", "last_seconds", "samples", "vote", "prompt", "json_mode")


@command
def score_command(ctx: typer.Context, scoring: ScoringOptions = ScoringOptions(),
                  judge: JudgeOptions = JudgeOptions()) -> None:
    _run(ctx.info_name or "", scoring, judge)


@command
def custom_command(
    spec: Annotated[str, typer.Argument(help="Scorer name, module:Class or file.py:Class.")],
    scoring: ScoringOptions = ScoringOptions(),
    judge: JudgeOptions = JudgeOptions(),
) -> None:
    _run(spec, scoring, judge)


def _run(kind: str, scoring: ScoringOptions, judge: JudgeOptions) -> None:
    from mmscore.io.experiment import resolve_output_dir, scorer_folder_under
    from mmscore.vmeval.scorers import Scorer, VLMScorer, make_vlm_scorer, resolve_scorer_class

    cls = resolve_scorer_class(kind)
    if scoring.frames * scoring.samples == 1:
        forbid(scoring.given, ["vote"], "with one judgement per task (add --frames N or --samples K)")
    if issubclass(cls, VLMScorer):
        subdir = scoring.scorer_name or cls.output_subdir
        out = resolve_output_dir(scorer_folder_under(scoring.output_dir, subdir), subdir, scoring.data_dir)
        scorer: Scorer = make_vlm_scorer(
            cls, judge.config(default_cache=out / "judge-cache.sqlite"), prompt=scoring.prompt,
            frames=scoring.frames, last_seconds=scoring.last_seconds, samples=scoring.samples, vote=scoring.vote,
            scorer_id=scoring.scorer_name, json_mode=scoring.json_mode)
    else:
        reason = f"for {kind} (no VLM judge: it sends no requests)"
        forbid(judge.given, [n for n in JudgeOptions.option_names() if n != "concurrency"], reason)
        forbid(judge.given, _VLM_ONLY, reason)
        scorer = cls()
        scorer.workers = judge.concurrency
        subdir = cls.output_subdir or scorer.id
        out = resolve_output_dir(scorer_folder_under(scoring.output_dir, subdir), subdir, scoring.data_dir)
    scorer.allow_truncated = scoring.allow_truncated
    summary = _execute(scorer, out, scoring)
    _report(summary, scoring, judge)


def _execute(scorer: Any, out: Path, scoring: ScoringOptions) -> Any:
    import asyncio
    import time

    from rich.progress import TextColumn

    from mmscore.io.outputs import check_writable_dir
    from mmscore.progress import progress_bar
    from mmscore.vmeval.runner import score_experiment

    check_writable_dir(out)
    started = time.monotonic()
    stats_column = TextColumn(
        "[green]done {task.fields[done]}[/] [red]failed {task.fields[failed]}[/] "
        "[yellow]skipped {task.fields[skipped]}[/] {task.fields[cost]} {task.fields[rate]}"
    )
    with progress_bar(stats_column) as progress:
        bar = progress.add_task(f"{scorer.id}", total=None, done=0, failed=0, skipped=0, cost="", rate="")

        def on_start(tasks: Any, summary: Any) -> None:
            progress.update(bar, total=len(tasks))

        def on_outcome(outcome: Any, summary: Any) -> None:
            cost = (scorer.usage() or {}).get("cost_usd")
            worked = summary.completed + summary.failed
            progress.update(bar, advance=1, done=summary.done, failed=summary.failed, skipped=summary.skipped,
                            cost=f"${cost:.4f}" if cost is not None else "",
                            rate=f"{worked / max(time.monotonic() - started, 1e-9) * 60:.1f}/min")

        return asyncio.run(score_experiment(
            scorer, scoring.experiment, data_dir=scoring.data_dir, output_dir=out, rescore=scoring.rescore,
            models=scoring.model_filter, task_types=scoring.task_type, on_start=on_start, on_outcome=on_outcome))


def _report(summary: Any, scoring: ScoringOptions, judge: JudgeOptions) -> None:
    from mmscore.cli.results import Printer, exit_policy

    printer = Printer(scoring.as_json)
    usage = summary.usage or {}
    cost = usage.get("cost_usd")
    printer.table(f"{summary.scorer} on {summary.experiment}",
                  ["tasks", "completed", "reused", "failed", "skipped", "not started", "tokens in/out", "cost $"],
                  [[summary.total, summary.completed, summary.reused, summary.failed, summary.skipped,
                    summary.not_started,
                    f"{usage.get('prompt_tokens', 0)}/{usage.get('completion_tokens', 0)}" if usage else "-",
                    f"{cost:.4f}" if cost is not None else "-"]])
    if usage:
        printer.print(f"requests {usage.get('requests', 0)}, cache hits {usage.get('cache_hits', 0)}, "
                      f"re-asks {usage.get('reasks', 0)}, elapsed {summary.elapsed_s:.1f}s")
    for key, reason in summary.failures[:10]:
        printer.print(f"[red]failed[/red] {'/'.join(key[1:])}: {reason}")
    if len(summary.failures) > 10:
        printer.print(f"... and {len(summary.failures) - 10} more failures (see the JSON files)")
    printer.print(f"scorings: {summary.output_dir / summary.experiment}")
    if summary.aggregate_path:
        printer.wrote(summary.aggregate_path)
    printer.finish({"command": "score", **summary.as_dict()})
    if summary.budget_exceeded:
        printer.warn(f"Stopped: --max-cost {judge.max_cost} reached; {summary.not_started} tasks not started. "
                     "Re-run with a higher --max-cost to continue.")
        raise typer.Exit(3)
    first = f"{'/'.join(summary.failures[0][0][1:])}: {summary.failures[0][1]}" if summary.failures else None
    exit_policy(scored=summary.done, unscored=summary.failed + summary.skipped, strict=scoring.strict,
                what="tasks", first_error=first, output=summary.output_dir / summary.experiment)


def _help(kind: str) -> str:
    examples = EXAMPLES.get(kind) or EXAMPLES["openai-compatible"].replace("openai-compatible", kind)
    return f"{DETAILS.get(kind, '')}\n\n{RESUME}\n\nExamples:\n\n{examples}\n\n{EPILOG}\n"


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the commands live in the shared "score" group
    from mmscore.vmeval.registry import SCORERS

    score = group("score")
    for name, short in SCORERS.describe():
        score.command(name, short_help=short, help=_help(name))(score_command)
    score.command("custom", short_help="A custom scorer class (module:Class or file.py:Class).",
                  help=_help("custom"))(custom_command)
