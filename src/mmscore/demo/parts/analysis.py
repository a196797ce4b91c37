"""Demo part: success-rate figures and judge-vs-human statistics over the shipped SYNTHETIC scorings."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

ORDER = 60
TITLE = "Analysis: success rates and judge-vs-human agreement (synthetic example scorings)"


def _copy_examples(target: Path) -> Path:
    """Copy the packaged example tree to ``target`` file by file (atomic writes; older copy replaced)."""
    from mmscore.io.atomic import atomic_write_bytes

    if target.exists():
        shutil.rmtree(target)

    def copy(node, dest: Path) -> None:
        for child in node.iterdir():
            if child.is_dir():
                copy(child, dest / child.name)
            elif child.is_file():
                atomic_write_bytes(dest / child.name, child.read_bytes())

    copy(resources.files("mmscore.examples").joinpath("scorings"), target)
    return target


def run(ctx) -> list[str]:
    from mmscore.analysis.comparison import run_stats
    from mmscore.analysis.performance import run_plot
    from mmscore.analysis.report import headline

    scorings = _copy_examples(ctx.workspace / "analysis" / "scorings")
    out = ctx.workspace / "analysis"
    # PNG + PDF keep the demo fast: EPS with embedded TrueType (Type 42) fonts takes ~2 s per figure;
    # `mmscore analyze plot` writes EPS too by default
    formats = ("png", "pdf")
    lines = [f"SYNTHETIC example scorings (not real judgements) copied to {scorings}"]
    for scorer in ("gpt4o-eval", "human-eval"):
        res = run_plot(scorings / scorer, out / "plot" / scorer, formats)
        overall = res["overall"]
        best = res["tables"].models.iloc[0]
        lines.append(
            f"plot {scorer}: {res['exclusions_text']}; overall success {100 * overall['success_rate']:.1f}% "
            f"(n={overall['n']}); best {best['model']} {100 * best['success_rate']:.1f}% "
            f"[{100 * best['ci_low']:.1f}, {100 * best['ci_high']:.1f}] -> {res['output_dir']}"
        )
    stats_dir = out / "stats" / "gpt4o-eval_vs_human-eval"
    res = run_stats(
        scorings / "gpt4o-eval", scorings / "human-eval", stats_dir, seed=0, n_boot=1000, formats=formats
    )
    lines.append("stats gpt4o-eval vs human-eval:")
    lines += [f"  {line}" for line in headline(res)]
    lines.append(f"  report: {stats_dir / 'report.md'}; numbers: {stats_dir / 'stats.json'}")
    ctx.shared["analysis"] = {"stats_json": stats_dir / "stats.json", "scorings": scorings}
    return lines
