"""``mmscore emotion classify|ov|emer|table``: emotion recognition and reasoning benchmarks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import group
from mmscore.defaults import JUDGE_MODEL

GoldOpt = Annotated[Path, typer.Option("--gold", help="Gold file (CSV/TSV/JSON/JSONL/parquet; .txt = Emotion-LLaMA "
                                                      "'name frames label valence' list).")]
PredOpt = Annotated[Path, typer.Option("--pred", help="Predictions keyed by video name (CSV/JSONL/...).")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Result JSON; companions are written beside it (.samples.csv, .md, ...).")]
MethodOpt = Annotated[Optional[str], typer.Option("--method", help="Method name for the results table "
                                                                    "(default: the prediction file's name).")]
GoldKeyOpt = Annotated[Optional[str], typer.Option("--gold-key-column", help="Video-name column of the gold file "
                                                   "(default: first of video_name, name, names, video, id, ...).")]
PredKeyOpt = Annotated[Optional[str], typer.Option("--pred-key-column", help="Video-name column of the predictions.")]
GoldValueOpt = Annotated[Optional[str], typer.Option("--gold-column", help="Gold label/text column (default: "
                                                     "emotion_label, emotion, label, ... / openset / reason ...).")]
PredValueOpt = Annotated[Optional[str], typer.Option("--pred-column", help="Prediction column (default: prediction, "
                                                     "pred, answer, emotion, ... / openset / ...).")]


def _judge_settings(url: str, model: str, api_key_env: str, concurrency: int, cache: Optional[Path],
                    max_cost: Optional[float], timeout: float):
    from mmscore.emotion.llm import JudgeSettings
    from mmscore.errors import ConfigError

    if "api.openai.com" in url and not os.environ.get(api_key_env):
        raise ConfigError(f"the judge at {url} needs an API key in ${api_key_env}; set it, point --judge-url at "
                          "an OpenAI-compatible server, or leave the LLM scores out")
    return JudgeSettings(base_url=url, model=model, api_key_env=api_key_env, concurrency=concurrency,
                         cache=str(cache) if cache else None, max_cost=max_cost, read_timeout=timeout)


JudgeUrlOpt = Annotated[str, typer.Option("--judge-url", envvar="OPENAI_BASE_URL",
                                          help="OpenAI-compatible base URL (…/v1) of the judge.")]
JudgeModelOpt = Annotated[str, typer.Option("--judge-model", help="Judge model name.")]
ApiKeyEnvOpt = Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key.")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Judge requests in flight.")]
CacheOpt = Annotated[Optional[Path], typer.Option("--cache", help="SQLite cache of judge replies (re-runs are free).")]
MaxCostOpt = Annotated[Optional[float], typer.Option("--max-cost", help="Stop starting judge requests at this $.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Judge read timeout per request (s).")]


def register(app: typer.Typer) -> None:
    emotion = group("emotion")

    @emotion.command("classify", help="Discrete emotion recognition: accuracy, weighted/macro F1, UAR/WAR, "
                                      "per-class scores, confusion matrix (MER2023/2024/2025, DFEW, custom CSV).")
    def classify_command(
        gold: GoldOpt,
        pred: PredOpt,
        preset: Annotated[str, typer.Option("--preset", help="mer2023, mer2024, mer2025, dfew or custom.")] = "custom",
        output: OutOpt = None,
        compat: Annotated[Optional[str], typer.Option(
            "--compat", help="emotion-llama: that project's rule (last space token, exact match, "
                             "out-of-set → neutral) to re-derive its published numbers.")] = None,
        match: Annotated[str, typer.Option("--match", help="Answer→label rule: auto (whole answer, then a unique "
                                                           "non-negated mention), exact, last-word.")] = "auto",
        labels: Annotated[Optional[str], typer.Option(
            "--labels", help="Comma-separated label set, replacing the preset's (default for custom: the gold "
                             "labels).")] = None,
        no_valence: Annotated[bool, typer.Option("--no-valence", help="MER2023: ignore valence columns "
                                                                      "(weighted F1 only).")] = False,
        method: MethodOpt = None,
        modality: Annotated[Optional[str], typer.Option("--modality", help="Modality column of the results "
                                                                           "table, e.g. 'A, V, T'.")] = None,
        no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the confusion-matrix PNG.")] = False,
        gold_key_column: GoldKeyOpt = None,
        gold_column: GoldValueOpt = None,
        pred_key_column: PredKeyOpt = None,
        pred_column: PredValueOpt = None,
    ) -> None:
        from rich.console import Console

        from mmscore.emotion.classify import evaluate_classification
        from mmscore.emotion.report import (
            CLASSIFICATION_COMPANIONS,
            output_files,
            print_classification,
            results_markdown,
            write_classification_outputs,
        )
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs(output_files(output, CLASSIFICATION_COMPANIONS), [gold, pred])
        result = evaluate_classification(gold, pred, preset=preset, match=match, compat=compat,
                                         gold_key_column=gold_key_column, gold_label_column=gold_column,
                                         pred_key_column=pred_key_column, pred_label_column=pred_column,
                                         valence=not no_valence,
                                         labels=[x for x in labels.split(",") if x.strip()] if labels else None)
        name = method or pred.stem
        summary = result.summary
        summary["method"] = name
        summary["modality"] = modality
        console = Console()
        print_classification(console, summary, name)
        console.print(results_markdown([summary], [name]))
        console.print(f"[dim]{summary['signature']}[/dim]")
        if output is not None:
            for path in write_classification_outputs(summary, result.samples, output, name, plot=not no_plot):
                console.print(f"wrote {path}")

    @emotion.command("ov", help="Open-vocabulary emotion labels: MER2024 MER-OV set precision/recall after "
                                "synonym grouping (file or LLM judge), or the MER2025 emotion-wheel metric.")
    def ov_command(
        gold: GoldOpt,
        pred: PredOpt,
        grouping: Annotated[Optional[Path], typer.Option(
            "--grouping", help="Synonym groups: dir or .zip of <name>.npy (MERTools openset-synonym) "
                               "or JSON.")] = None,
        judge: Annotated[bool, typer.Option("--judge", help="Group labels the grouping file does not cover with "
                                                            "the LLM judge.")] = False,
        save_grouping: Annotated[Optional[Path], typer.Option(
            "--save-grouping", help="Write the groupings used (file + judge) as JSON for re-use.")] = None,
        wheel_dir: Annotated[Optional[Path], typer.Option(
            "--wheel-dir", help="MER2025 emotion-wheel files (wheel1..5, synonym, format as CSV, or xlsx with "
                                "openpyxl): compute the wheel metric instead.")] = None,
        output: OutOpt = None,
        method: MethodOpt = None,
        gold_key_column: GoldKeyOpt = None,
        gold_column: GoldValueOpt = None,
        pred_key_column: PredKeyOpt = None,
        pred_column: PredValueOpt = None,
        judge_url: JudgeUrlOpt = "https://api.openai.com/v1",
        judge_model: JudgeModelOpt = JUDGE_MODEL,
        api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
        concurrency: ConcurrencyOpt = 4,
        cache: CacheOpt = None,
        max_cost: MaxCostOpt = None,
        timeout: TimeoutOpt = 120.0,
    ) -> None:
        from rich.console import Console

        from mmscore.emotion.report import (
            TASK_COMPANIONS,
            output_files,
            print_summary,
            results_markdown,
            write_task_outputs,
        )
        from mmscore.errors import ConfigError
        from mmscore.io.atomic import atomic_write_json
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs(output_files(output, TASK_COMPANIONS) + [save_grouping, cache],
                        [gold, pred, grouping, wheel_dir])
        console = Console()
        name = method or pred.stem
        columns = dict(gold_key_column=gold_key_column, gold_label_column=gold_column,
                       pred_key_column=pred_key_column, pred_label_column=pred_column)
        if wheel_dir is not None:
            if grouping is not None or judge:
                raise ConfigError("--wheel-dir computes the MER2025 wheel metric; it does not use --grouping/--judge")
            from mmscore.emotion.wheel import evaluate_wheel

            summary, samples = evaluate_wheel(gold, pred, wheel_dir, **columns), None
        else:
            from mmscore.emotion.openvocab import evaluate_openvocab, groupings_json

            settings = _judge_settings(judge_url, judge_model, api_key_env, concurrency, cache, max_cost,
                                       timeout) if judge else None
            summary, samples = evaluate_openvocab(gold, pred, grouping=grouping, judge=settings, **columns)
            if save_grouping is not None:
                console.print(f"wrote {atomic_write_json(save_grouping, groupings_json(samples))}")
        summary["method"] = name
        print_summary(console, summary, name)
        console.print(results_markdown([summary], [name]))
        if output is not None:
            for path in write_task_outputs(summary, samples, output, name):
                console.print(f"wrote {path}")

    @emotion.command("emer", help="EMER emotion reasoning: Clue/Label Overlap from an LLM judge (AffectGPT style) "
                                  "and BLEU / ROUGE-L against the reference descriptions.")
    def emer_command(
        gold: GoldOpt,
        pred: PredOpt,
        judge: Annotated[bool, typer.Option(
            "--judge/--no-judge", help="LLM judge for Clue/Label Overlap (--no-judge: BLEU/ROUGE only).")] = True,
        tasks: Annotated[str, typer.Option("--tasks", help="Judge scores: clue, label or clue,label.")] = "clue,label",
        min_score: Annotated[int, typer.Option("--min-score", help="Lowest judge score: 1 as AffectGPT's "
                                                                   "prompts (default) or 0.")] = 1,
        text_metrics: Annotated[bool, typer.Option("--text-metrics/--no-text-metrics",
                                                   help="BLEU and ROUGE-L.")] = True,
        lang: Annotated[str, typer.Option("--lang", help="auto, en or zh (character tokens for Chinese).")] = "auto",
        strict: Annotated[bool, typer.Option("--strict", help="Fail if any sample could not be judged.")] = False,
        output: OutOpt = None,
        method: MethodOpt = None,
        gold_key_column: GoldKeyOpt = None,
        gold_column: GoldValueOpt = None,
        pred_key_column: PredKeyOpt = None,
        pred_column: PredValueOpt = None,
        judge_url: JudgeUrlOpt = "https://api.openai.com/v1",
        judge_model: JudgeModelOpt = JUDGE_MODEL,
        api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
        concurrency: ConcurrencyOpt = 4,
        cache: CacheOpt = None,
        max_cost: MaxCostOpt = None,
        timeout: TimeoutOpt = 120.0,
    ) -> None:
        from rich.console import Console

        from mmscore.emotion.emer import evaluate_emer
        from mmscore.emotion.report import (
            TASK_COMPANIONS,
            output_files,
            print_summary,
            results_markdown,
            write_task_outputs,
        )
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs(output_files(output, TASK_COMPANIONS) + [cache], [gold, pred])
        settings = _judge_settings(judge_url, judge_model, api_key_env, concurrency, cache, max_cost,
                                   timeout) if judge else None
        summary, samples = evaluate_emer(
            gold, pred, judge=settings, tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()),
            min_score=min_score, text_metrics=text_metrics, lang=lang, strict=strict,
            gold_key_column=gold_key_column, gold_text_column=gold_column, pred_key_column=pred_key_column,
            pred_text_column=pred_column)
        name = method or pred.stem
        summary["method"] = name
        console = Console()
        print_summary(console, summary, name)
        console.print(results_markdown([summary], [name]))
        if summary.get("n_failed"):
            console.print(f"[yellow]{summary['n_failed']} sample(s) could not be judged: "
                          f"{', '.join(summary['failed'][:10])}[/yellow]")
        if output is not None:
            for path in write_task_outputs(summary, samples, output, name):
                console.print(f"wrote {path}")

    @emotion.command("table", help="Combine result JSON files of one task into a benchmark table (Markdown).")
    def table_command(
        results: Annotated[list[Path], typer.Argument(help="Result JSON files written with --output.")],
        metric: Annotated[Optional[list[str]], typer.Option("--metric", help="Result keys to show (repeatable; "
                                                            "default: the task's headline metrics).")] = None,
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the Markdown here.")] = None,
    ) -> None:
        import json

        from rich.console import Console

        from mmscore.emotion.report import results_markdown
        from mmscore.errors import InputError
        from mmscore.io.atomic import atomic_write_text
        from mmscore.io.outputs import prepare_outputs

        prepare_outputs([output], results)
        summaries = []
        for path in results:
            try:
                summaries.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                raise InputError(f"{path}: not a readable result JSON ({exc})") from exc
        tasks = {s.get("task") for s in summaries}
        if len(tasks) > 1:
            raise InputError(f"results mix tasks {sorted(map(str, tasks))}; build one table per task")
        presets = {s.get("preset") for s in summaries}
        if len(presets) > 1:  # MER prints fractions, DFEW percentages: one column would mix both
            shown = ", ".join(f"{p.name}: {s.get('preset')}" for s, p in zip(summaries, results, strict=True))
            raise InputError(f"results mix benchmark presets ({shown}); build one table per benchmark")
        text = results_markdown(summaries, [s.get("method") or p.stem for s, p in zip(summaries, results, strict=True)],
                                metric)
        Console().print(text)
        if output is not None:
            atomic_write_text(output, text)
