"""``mmscore emotion classify|ov|emer|table``: emotion recognition and reasoning benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import (
    JsonOpt,
    JudgeOptions,
    KeyedColumns,
    ResultOptions,
    StrictOpt,
    command,
    forbid,
    usage_error,
)

GoldOpt = Annotated[Path, typer.Option("--gold", help="Gold file (CSV/TSV/JSON/JSONL/parquet; .txt = Emotion-LLaMA "
                                                      "'name frames label valence' list).")]
PredOpt = Annotated[Path, typer.Option("--pred", help="Predictions keyed by video name (CSV/JSONL/...).")]

CLASSIFY_HELP = f"""Discrete emotion recognition: accuracy, weighted/macro F1, UAR/WAR, per-class
scores, confusion matrix (MER2023/2024/2025, DFEW, custom CSV).

Examples:

  mmscore emotion classify --gold mer2023_test.csv --pred answers.csv --preset mer2023 -o mer2023.json

  mmscore emotion classify --gold dfew_fold1.csv --pred preds.jsonl --preset dfew --pred-label-key answer --json

  mmscore emotion classify --gold test.txt --pred emotion_llama.txt --preset mer2023 --compat emotion-llama

{EPILOG}
"""
OV_HELP = f"""Open-vocabulary emotion labels: MER2024 MER-OV set precision/recall after synonym
grouping (file or LLM judge), or the MER2025 emotion-wheel metric (--wheel-dir).

Examples:

  mmscore emotion ov --gold ov_gold.csv --pred ov_pred.csv --grouping openset-synonym.zip -o ov.json

  mmscore emotion ov --gold ov_gold.csv --pred ov_pred.csv --judge --base-url http://localhost:8000/v1 --model qwen

  mmscore emotion ov --gold track2_gold.csv --pred track2_pred.csv --wheel-dir emotion_wheel/

{EPILOG}
"""
EMER_HELP = f"""EMER emotion reasoning: Clue/Label Overlap from an LLM judge (AffectGPT style) and
BLEU / ROUGE-L against the reference descriptions.

Examples:

  mmscore emotion emer --gold emer_gold.csv --pred emer_pred.csv --model gpt-4o --max-cost 2 -o emer.json

  mmscore emotion emer --gold emer_gold.csv --pred emer_pred.csv --no-judge --lang zh

{EPILOG}
"""
TABLE_HELP = f"""Combine result JSON files of one task into a benchmark table (Markdown).

Examples:

  mmscore emotion table runs/mer2023_*.json

  mmscore emotion table emer_a.json emer_b.json --metric clue_overlap --metric bleu -o emer_table.md

{EPILOG}
"""


@command
def classify_command(
    gold: GoldOpt,
    pred: PredOpt,
    preset: Annotated[str, typer.Option("--preset", help="mer2023, mer2024, mer2025, dfew or custom "
                                        "(mmscore list presets).")] = "custom",
    compat: Annotated[Optional[str], typer.Option(
        "--compat", help="emotion-llama: that project's rule (last space token, exact match, out-of-set → neutral) "
                         "to re-derive its published numbers.")] = None,
    match: Annotated[str, typer.Option("--match", help="Answer→label rule: auto (whole answer, then a unique "
                                                       "non-negated mention), exact, last-word.")] = "auto",
    labels: Annotated[Optional[str], typer.Option(
        "--labels", help="Comma-separated label set, replacing the preset's (default for custom: the gold "
                         "labels).")] = None,
    no_valence: Annotated[bool, typer.Option("--no-valence", help="MER2023: ignore valence columns "
                                                                  "(weighted F1 only).")] = False,
    modality: Annotated[Optional[str], typer.Option("--modality", help="Modality column of the results table, "
                                                                       "e.g. 'A, V, T'.")] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the confusion-matrix PNG.")] = False,
    out: ResultOptions = ResultOptions(),
    columns: KeyedColumns = KeyedColumns(),
) -> None:
    from mmscore.emotion.classify import evaluate_classification
    from mmscore.emotion.report import (
        CLASSIFICATION_COMPANIONS,
        output_files,
        print_classification,
        results_markdown,
        write_classification_outputs,
    )
    from mmscore.io.outputs import prepare_outputs

    given = columns.given
    if out.output is None:
        forbid(given, ["no_plot"], "without --output (nothing is written)")
    if compat is not None:
        forbid(given, ["match"], f"with --compat {compat} (it has its own answer rule)")
    if preset.lower() != "mer2023":
        forbid(given, ["no_valence"], f"with --preset {preset} (only MER2023 reads valence)")
    prepare_outputs(output_files(out.output, CLASSIFICATION_COMPANIONS), [gold, pred])
    result = evaluate_classification(gold, pred, preset=preset, match=match, compat=compat, valence=not no_valence,
                                     labels=[x for x in labels.split(",") if x.strip()] if labels else None,
                                     **columns.library_kwargs())
    name = out.name(pred)
    summary = result.summary
    summary.update(method=name, modality=modality)
    printer = _printer(out.as_json)
    print_classification(printer.console, summary, name)
    printer.print(results_markdown([summary], [name]))
    printer.note(summary["signature"])
    if out.output is not None:
        printer.wrote(*write_classification_outputs(summary, result.samples, out.output, name, plot=not no_plot))
    _finish(printer, summary, len(result.samples))


@command
def ov_command(
    gold: GoldOpt,
    pred: PredOpt,
    grouping: Annotated[Optional[Path], typer.Option(
        "--grouping", help="Synonym groups: dir or .zip of <name>.npy (MERTools openset-synonym) or JSON.")] = None,
    judge_on: Annotated[bool, typer.Option("--judge", help="Group labels the grouping file does not cover with the "
                                                           "LLM judge (configured by the judge options).")] = False,
    save_grouping: Annotated[Optional[Path], typer.Option(
        "--save-grouping", help="Write the groupings used (file + judge) as JSON for re-use.")] = None,
    wheel_dir: Annotated[Optional[Path], typer.Option(
        "--wheel-dir", help="MER2025 emotion-wheel files (wheel1..5, synonym, format as CSV, or xlsx with "
                            "openpyxl): compute the wheel metric instead.")] = None,
    out: ResultOptions = ResultOptions(),
    columns: KeyedColumns = KeyedColumns(),
    judge: JudgeOptions = JudgeOptions(),
) -> None:
    given = columns.given
    if wheel_dir is not None:
        forbid(given, ["grouping", "judge_on", "save_grouping"], "with --wheel-dir (the wheel metric groups by the "
                                                                  "wheel files)")
    if wheel_dir is not None or not judge_on:
        judge.forbid_all("without --judge" if wheel_dir is None else "with --wheel-dir")
    if save_grouping is not None and save_grouping.suffix.lower() != ".json":
        raise usage_error(f"--save-grouping {save_grouping}: the groupings are JSON; name the file .json")
    _prepare_task_outputs(out, [save_grouping, judge.cache], [gold, pred, grouping, wheel_dir])
    printer = _printer(out.as_json)
    name = out.name(pred)
    kwargs = columns.library_kwargs()
    if wheel_dir is not None:
        from mmscore.emotion.wheel import evaluate_wheel

        summary, samples = evaluate_wheel(gold, pred, wheel_dir, **kwargs), None
    else:
        from mmscore.emotion.openvocab import evaluate_openvocab, groupings_json
        from mmscore.io.atomic import atomic_write_json

        settings = _judge_config(judge) if judge_on else None
        summary, samples = evaluate_openvocab(gold, pred, grouping=grouping, judge=settings, **kwargs)
        if save_grouping is not None:
            printer.wrote(atomic_write_json(save_grouping, groupings_json(samples)))
    _report_task(printer, summary, samples, out, name)
    _finish(printer, summary, summary.get("n_samples", 0))


@command
def emer_command(
    gold: GoldOpt,
    pred: PredOpt,
    judge_on: Annotated[bool, typer.Option(
        "--judge/--no-judge", help="LLM judge for Clue/Label Overlap (--no-judge: BLEU/ROUGE only).")] = True,
    tasks: Annotated[str, typer.Option("--tasks", help="Judge scores: clue, label or clue,label.")] = "clue,label",
    min_score: Annotated[int, typer.Option("--min-score", help="Lowest judge score: 1 as AffectGPT's prompts "
                                                               "(default) or 0.")] = 1,
    text_metrics: Annotated[bool, typer.Option("--text-metrics/--no-text-metrics", help="BLEU and ROUGE-L.")] = True,
    lang: Annotated[str, typer.Option("--lang", help="auto, en or zh (character tokens for Chinese).")] = "auto",
    strict: StrictOpt = False,
    out: ResultOptions = ResultOptions(),
    columns: KeyedColumns = KeyedColumns(),
    judge: JudgeOptions = JudgeOptions(),
) -> None:
    from mmscore.emotion.emer import evaluate_emer
    if not text_metrics:
        forbid(columns.given, ["lang"], "with --no-text-metrics (it sets BLEU/ROUGE tokens)")
    if not judge_on:
        judge.forbid_all("with --no-judge")
        forbid(columns.given, ["tasks", "min_score", "strict"], "with --no-judge (they configure the judge)")
    _prepare_task_outputs(out, [judge.cache], [gold, pred])
    summary, samples = evaluate_emer(
        gold, pred, judge=_judge_config(judge) if judge_on else None, min_score=min_score, text_metrics=text_metrics,
        tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()), lang=lang, **columns.library_kwargs("text"))
    printer = _printer(out.as_json)
    _report_task(printer, summary, samples, out, out.name(pred))
    if summary.get("n_failed"):
        printer.warn(f"{summary['n_failed']} sample(s) could not be judged: {', '.join(summary['failed'][:10])}")
    _finish(printer, summary, len(samples), unscored=summary.get("n_failed", 0), strict=strict)


@command
def table_command(
    results: Annotated[list[Path], typer.Argument(help="Result JSON files written with --output.")],
    metric: Annotated[Optional[list[str]], typer.Option("--metric", help="Result keys to show (repeatable; "
                                                        "default: the task's headline metrics).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the Markdown here (.md).")] = None,
    as_json: JsonOpt = False,
) -> None:
    from mmscore.emotion.report import read_results, results_markdown
    from mmscore.errors import ConfigError
    from mmscore.io.atomic import atomic_write_text
    from mmscore.io.outputs import prepare_outputs

    if output is not None and output.suffix.lower() not in (".md", ".markdown"):
        raise ConfigError(f"{output}: the table is Markdown; name the file .md")
    prepare_outputs([output], results)
    summaries = read_results(results)
    methods = [s.get("method") or p.stem for s, p in zip(summaries, results, strict=True)]
    text = results_markdown(summaries, methods, metric)
    printer = _printer(as_json)
    printer.print(text)
    if output is not None:
        printer.wrote(atomic_write_text(output, text))
    printer.finish({"command": "emotion table", "methods": methods, "markdown": text})


def _printer(as_json: bool) -> Any:
    from mmscore.cli.results import Printer

    return Printer(as_json)


def _prepare_task_outputs(out: ResultOptions, extra: list[Path | None], inputs: list[Path | None]) -> None:
    """Before any work: the result file, its companions and ``extra`` outputs are not inputs and are writable."""
    from mmscore.emotion.report import TASK_COMPANIONS, output_files
    from mmscore.io.outputs import prepare_outputs

    prepare_outputs(output_files(out.output, TASK_COMPANIONS) + extra, inputs)


def _report_task(printer: Any, summary: dict[str, Any], samples: Any, out: ResultOptions, name: str) -> None:
    """Print an OV/wheel/EMER result and write it (with its companions) when ``--output`` is given."""
    from mmscore.emotion.report import print_summary, results_markdown, write_task_outputs

    summary["method"] = name
    print_summary(printer.console, summary, name)
    printer.print(results_markdown([summary], [name]))
    if out.output is not None:
        printer.wrote(*write_task_outputs(summary, samples, out.output, name))


def _judge_config(judge: JudgeOptions) -> Any:
    """The judge configuration with the emotion judges' endpoint defaults; a missing key fails now."""
    from mmscore.emotion.llm import emotion_judge_defaults

    config = judge.config().with_defaults(**emotion_judge_defaults())
    config.check_api_key(explicit_env="api_key_env" in judge.given)
    return config


def _finish(printer: Any, summary: dict[str, Any], n: int, unscored: int = 0, strict: bool = False) -> None:
    """JSON output, then the exit policy: 1 if no prediction matched a gold row (or --strict and
    some rows could not be judged)."""
    from mmscore.cli.results import exit_policy

    printer.finish({"command": f"emotion {summary.get('task', '')}".strip(), **summary})
    missing = int((summary.get("missing") or {}).get("count", 0))
    if n and missing >= n:
        exit_policy(scored=0, unscored=n, strict=strict, what="gold rows (no prediction matched a gold video name)")
    exit_policy(scored=max(n - unscored, 1), unscored=unscored, strict=strict, what="samples")


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the commands live in the shared "emotion" group
    emotion = group("emotion")
    emotion.command("classify", help=CLASSIFY_HELP, short_help="Discrete emotion recognition metrics.")(
        classify_command)
    emotion.command("ov", help=OV_HELP, short_help="Open-vocabulary labels (MER-OV, MER2025 wheel).")(ov_command)
    emotion.command("emer", help=EMER_HELP, short_help="EMER reasoning: Clue/Label Overlap, BLEU, ROUGE-L.")(
        emer_command)
    emotion.command("table", help=TABLE_HELP, short_help="Combine result JSON files into a Markdown table.")(
        table_command)
