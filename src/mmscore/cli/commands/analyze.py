"""``mmscore analyze plot | stats``: success-rate figures for one scorer, agreement between two."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmscore.cli.app import group

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

PLOT_EXAMPLES = """
Examples:

  mmscore analyze plot --eval-folder data/scorings/gpt4o-eval/

  mmscore analyze plot --eval-folder data/scorings/human-eval/ --output-dir figures/human --format pdf
"""
STATS_EXAMPLES = """
Examples:

  mmscore analyze stats --a data/scorings/gpt4o-eval --b data/scorings/human-eval

  mmscore analyze stats --a data/scorings/internvl-eval --b data/scorings/human-eval --margin 0.25 --seed 1
"""


def _formats(values: list[str] | None) -> tuple[str, ...]:
    from mmscore.analysis.style import FORMATS

    return tuple(v.lower().lstrip(".") for v in values) if values else FORMATS


def register(app: typer.Typer) -> None:
    analyze = group("analyze")

    @analyze.command(
        "plot",
        help="Success rate per model (score >= 4, 95% Wilson CI), model x domain heatmap, "
        "score distributions and CSV tables for one scorer folder. Skipped/failed scorings are "
        "excluded and counted, never scored 0." + PLOT_EXAMPLES,
    )
    def plot_command(
        eval_folder: Annotated[
            Path, typer.Option("--eval-folder", help="A scorer folder, e.g. data/scorings/gpt4o-eval/.")
        ],
        output_dir: Annotated[
            Optional[Path],
            typer.Option(
                "--output-dir", "-o", help="Where to write (default: analysis/<scorer folder name>)."
            ),
        ] = None,
        fmt: FormatOpt = None,
        rule: RuleOpt = "first",
        confidence: ConfidenceOpt = 0.95,
    ) -> None:
        from rich.console import Console
        from rich.table import Table

        from mmscore.analysis.performance import run_plot

        out = output_dir or Path("analysis") / eval_folder.resolve().name
        from mmscore.io.outputs import check_writable_dir

        check_writable_dir(out)
        res = run_plot(eval_folder, out, _formats(fmt), rule, confidence)
        console = Console()
        table = Table(title=f"{res['scorer_folder']}: success rate (score >= 4), {res['exclusions_text']}")
        for col in ("rank", "model", "n", "mean", "success", f"{int(confidence * 100)}% CI", "excluded"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for row in res["tables"].models.itertuples(index=False):
            table.add_row(
                str(row.rank),
                row.model,
                str(row.n),
                f"{row.mean_score:.2f}",
                f"{100 * row.success_rate:.1f}%",
                f"{100 * row.ci_low:.1f}–{100 * row.ci_high:.1f}",
                str(row.excluded),
            )
        console.print(table)
        for model, reasons in res["models_without_scores"].items():
            counts = ", ".join(f"{v} {k}" for k, v in reasons.items())
            console.print(f"[yellow]{model}: no valid score ({counts}); not in the tables or figures[/yellow]")
        for line in res["broken_files_text"]:
            console.print(f"[yellow]broken scoring file: {line}[/yellow]")
        console.print(f"wrote {len(res['files'])} files to {res['output_dir']}")

    @analyze.command(
        "stats",
        help="Agreement between two scorer folders (e.g. a VLM judge and people): paired "
        "t, Wilcoxon (Pratt), correlations with bootstrap CIs, Cohen's kappa (plain, quadratic, "
        "binary), Krippendorff's alpha over every rater, McNemar, BCa CI of the mean difference, "
        "TOST equivalence and a precision curve. Writes stats.json, report.md, pairs.csv and "
        "figures." + STATS_EXAMPLES,
    )
    def stats_command(
        a: Annotated[Path, typer.Option("--a", "-a", help="Scorer folder A (e.g. the judge).")],
        b: Annotated[Path, typer.Option("--b", "-b", help="Scorer folder B (e.g. human-eval).")],
        output_dir: Annotated[
            Optional[Path],
            typer.Option("--output-dir", "-o", help="Where to write (default: analysis/<A>_vs_<B>)."),
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of every bootstrap.")] = 0,
        margin: Annotated[
            float,
            typer.Option(
                "--margin", min=0.0, help="TOST equivalence margin in score points (A - B within ±margin)."
            ),
        ] = 0.5,
        n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 2000,
        confidence: ConfidenceOpt = 0.95,
        rule: RuleOpt = "first",
        fmt: FormatOpt = None,
        no_figures: Annotated[
            bool, typer.Option("--no-figures", help="Only stats.json, report.md, pairs.csv.")
        ] = False,
    ) -> None:
        from rich.console import Console

        from mmscore.analysis.comparison import run_stats
        from mmscore.analysis.report import headline
        from mmscore.errors import ConfigError

        if margin <= 0:
            raise ConfigError(f"--margin must be positive, got {margin}")
        out = output_dir or Path("analysis") / f"{a.resolve().name}_vs_{b.resolve().name}"
        from mmscore.io.outputs import check_writable_dir

        check_writable_dir(out)
        res = run_stats(
            a,
            b,
            out,
            seed=seed,
            n_boot=n_boot,
            margin=margin,
            confidence=confidence,
            rule=rule,
            formats=_formats(fmt),
            figures=not no_figures,
        )
        console = Console()
        for line in headline(res):
            console.print(line)
        console.print(f"wrote {len(res['files'])} files to {out} (report: {out / 'report.md'})")
        from mmscore.analysis.comparison import no_pairs_reason
        from mmscore.errors import NothingMatchedError

        reason = no_pairs_reason(res)  # exit policy: nothing paired is a failure (exit 1), with the reason
        if reason:
            raise NothingMatchedError(f"{reason} (see {out / 'report.md'})")
