"""Root Typer app and the command groups shared by several command modules.

Command modules live in ``mmscore.cli.commands`` and each exposes ``register(app)``; they are
discovered automatically, so adding a command never edits this file. Heavy imports (torch,
gradio) happen inside the command functions, keeping ``mmscore --help`` fast.
"""

from __future__ import annotations

import logging

import typer

from mmscore._version import __version__

app = typer.Typer(
    name="mmscore",
    help="Evaluate multimodal models: EMScore, LongCLIP/SPECS/CLIPScore, VLM and human judges, "
    "judge-vs-human statistics, emotion benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

GROUPS: dict[str, typer.Typer] = {
    "score": typer.Typer(help="Score generated videos (VMEvalKit layout): VLM judges and the human web UI.",
                         no_args_is_help=True),
    "analyze": typer.Typer(help="Plots and statistics over scorings (success rates, judge vs human).",
                           no_args_is_help=True),
    "emotion": typer.Typer(help="Emotion recognition and reasoning metrics (MER2023/2024, DFEW, EMER).",
                           no_args_is_help=True),
    "eval": typer.Typer(help="Encoder evaluation suite: zero-shot, retrieval, specificity (SPECS).",
                        no_args_is_help=True),
    "train": typer.Typer(help="Fine-tune CLIP encoders: SPECS, Long-CLIP (torchrun for several devices).",
                         no_args_is_help=True),
}

STATE = {"debug": False}


def group(name: str) -> typer.Typer:
    """The shared sub-app ``name`` (e.g. ``group('score').command('human')``)."""
    return GROUPS[name]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mmscore {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """mmscore command line."""
    from mmscore.progress import set_quiet

    STATE["debug"] = debug
    set_quiet(quiet)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
