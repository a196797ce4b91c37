"""Root Typer app and the command groups shared by several command modules.

Command modules live in ``mmscore.cli.commands`` and each exposes ``register(app)``; they are
discovered automatically, so adding a command never edits this file. Heavy imports (torch,
gradio) happen inside the command functions, keeping ``mmscore --help`` fast.
"""

from __future__ import annotations

import logging

import typer

from mmscore._version import __version__
from mmscore.cli.results import EXIT_CODES


def _hide_flag_types() -> None:
    """Typer's rich help prints ``<bool>`` beside every on/off flag (even ``--help``); a flag takes
    no value, so show none."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_mmscore_flags", False):
        return

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        return None if self.is_flag else original(self, ctx)

    display_type_rich._mmscore_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()

app = typer.Typer(
    name="mmscore",
    help="Evaluate multimodal models: EMScore, LongCLIP/SPECS/CLIPScore, VLM and human judges, "
    "judge-vs-human statistics, emotion benchmarks.\n\n--debug and --quiet may also follow the sub-command."
    "\n\n" + EXIT_CODES.replace("\n", " "),
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
#: the closing paragraph of every command's help
EPILOG = EXIT_CODES.replace("\n", " ")


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
