"""``mmscore analyze plot | stats``: success-rate figures for one scorer, agreement between two."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import EPILOG, group
from mmscore.cli.options import JsonOpt, command, forbid

FormatOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--format", help="Figure format, repeatable: png, pdf, eps, svg (default: png, pdf and eps)."
    ),
]
RuleOpt = Annotated[
    str,
    typer.Option(
        "--rule",
        help="One score per item when a folder has several ratings of it: 'first' (the first "
        "annotator's file) or 'median' (lower median of the ratings).",
    ),
]
ConfidenceOpt = Annotated[
    float, typer.Option("--confidence", min=0.5, max=0.999, help="Confidence level of the intervals.")
]

PLOT_EXAMPLES = f"""
Examples:

  mmscore analyze plot --eval-folder data/scorings/gpt4o-eval/

  mmscore analyze plot --eval-folder data/scorings/human-eval/ --output-dir figures/human --format pdf

{EPILOG}
"""
STATS_EXAMPLES = f"""
Examples:

  mmscore analyze stats --a data/scorings/gpt4o-eval --b data/scorings/human-eval

  mmscore analyze stats --a data/scorings/internvl-eval --b data/scorings/human-eval --margin 0.25 --seed 1 --json

{EPILOG}
"""


def _formats(values: list[str] | None) -> tuple[str, ...]:
    from mmscore.analysis.style import FORMATS

    return tuple(v.lower().lstrip(".") for v in values) if values else FORMATS


PLOT_HELP = ("Success rate per model (score >= 4, 95% Wilson CI), model x domain heatmap, score distributions and "
             "CSV tables for one scorer folder. Skipped/failed scorings are excluded and counted, never scored 0."
             + PLOT_EXAMPLES)
STATS_HELP = ("Agreement between two scorer folders (e.g. a VLM judge and people): paired t, Wilcoxon (Pratt), "
              "correlations with bootstrap CIs, Cohen's kappa (plain, quadratic, binary), Krippendorff's alpha over "
              "every rater, McNemar, BCa CI of the mean difference, TOST equivalence and a precision curve. Writes "
              "stats.json, report.md, pairs.csv and figures." + STATS_EXAMPLES)


@command
def plot_command(
    eval_folder: Annotated[Path, typer.Option("--eval-folder", help="A scorer folder, e.g. "
                                              "data/scorings/gpt4o-eval/.")],
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Where to write the figures and "
                          "tables (default: analysis/<scorer folder name>).")] = None,
    fmt: FormatOpt = None,
    rule: RuleOpt = "first",
    confidence: ConfidenceOpt = 0.95,
    as_json: JsonOpt = False,
) -> None:
    from mmscore.analysis.performance import run_plot
    from mmscore.cli.results import Printer, exit_policy
    from mmscore.io.outputs import check_writable_dir

    out = output_dir or Path("analysis") / eval_folder.resolve().name
    check_writable_dir(out)
    res = run_plot(eval_folder, out, _formats(fmt), rule, confidence)
    printer = Printer(as_json)
    rows = [[row.rank, row.model, row.n, f"{row.mean_score:.2f}", f"{100 * row.success_rate:.1f}%",
             f"{100 * row.ci_low:.1f}–{100 * row.ci_high:.1f}", row.excluded]
            for row in res["tables"].models.itertuples(index=False)]
    printer.table(f"{res['scorer_folder']}: success rate (score >= 4), {res['exclusions_text']}",
                  ["rank", "model", "n", "mean", "success", f"{int(confidence * 100)}% CI", "excluded"], rows,
                  left=("model",))
    for model, reasons in res["models_without_scores"].items():
        counts = ", ".join(f"{v} {k}" for k, v in reasons.items())
        printer.warn(f"{model}: no valid score ({counts}); not in the tables or figures")
    for line in res["broken_files_text"]:
        printer.warn(f"broken scoring file: {line}")
    printer.print(f"wrote {len(res['files'])} files to {res['output_dir']}")
    printer.written.extend(res["files"])
    printer.finish({"command": "analyze plot", "models": res["tables"].models.to_dict(orient="records"),
                    **{k: v for k, v in res.items() if k not in ("tables", "files")}})
    n_valid = int(res["tables"].models["n"].sum()) if len(res["tables"].models) else 0
    exit_policy(scored=n_valid, unscored=0, strict=False, what="valid scorings", output=res["output_dir"])


@command
def stats_command(
    a: Annotated[Path, typer.Option("--a", "-a", help="Scorer folder A (e.g. the judge).")],
    b: Annotated[Path, typer.Option("--b", "-b", help="Scorer folder B (e.g. human-eval).")],
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Where to write (default: "
                          "analysis/<A>_vs_<B>).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every bootstrap.")] = 0,
    margin: Annotated[float, typer.Option("--margin", min=0.0, help="TOST equivalence margin in score points "
                                          "(A - B within ±margin).")] = 0.5,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 2000,
    confidence: ConfidenceOpt = 0.95,
    rule: RuleOpt = "first",
    fmt: FormatOpt = None,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Only stats.json, report.md, pairs.csv.")] = False,
    as_json: JsonOpt = False,
) -> None:
    from mmscore.analysis.comparison import no_pairs_reason, run_stats
    from mmscore.analysis.report import headline
    from mmscore.cli.options import given_options
    from mmscore.cli.results import Printer, exit_policy
    from mmscore.errors import ConfigError
    from mmscore.io.outputs import check_writable_dir

    if margin <= 0:
        raise ConfigError(f"--margin must be positive, got {margin}")
    if no_figures:
        forbid(given_options(), ["fmt"], "with --no-figures")
    out = output_dir or Path("analysis") / f"{a.resolve().name}_vs_{b.resolve().name}"
    check_writable_dir(out)
    res = run_stats(a, b, out, seed=seed, n_boot=n_boot, margin=margin, confidence=confidence, rule=rule,
                    formats=_formats(fmt), figures=not no_figures)
    printer = Printer(as_json)
    for line in headline(res):
        printer.print(line)
    printer.print(f"wrote {len(res['files'])} files to {out} (report: {out / 'report.md'})")
    printer.written.extend(res["files"])
    printer.finish({"command": "analyze stats", **{k: v for k, v in res.items() if k != "files"}})
    exit_policy(scored=res["n_pairs"], unscored=0, strict=False,
                nothing=f"{no_pairs_reason(res)} (see {out / 'report.md'})")


def register(app: typer.Typer) -> None:  # noqa: ARG001 - the commands live in the shared "analyze" group
    analyze = group("analyze")
    analyze.command("plot", help=PLOT_HELP, short_help="Success-rate figures and tables for one scorer.")(
        plot_command)
    analyze.command("stats", help=STATS_HELP, short_help="Agreement statistics between two scorers.")(stats_command)
