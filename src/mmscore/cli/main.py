"""Entry point: discover command modules, attach groups, run with one-line errors."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from mmscore.cli.app import GROUPS, STATE, app
from mmscore.errors import MMScoreError

_LOADED = False
#: exit code of a run stopped with Ctrl+C
INTERRUPTED = 130


def load_commands() -> typer.Typer:
    """Import every ``mmscore.cli.commands`` module and register its commands (once)."""
    global _LOADED
    if not _LOADED:
        import mmscore.cli.commands as commands

        for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{commands.__name__}.{info.name}")
            register = getattr(module, "register", None)
            if register is not None:
                register(app)
        for name, sub in GROUPS.items():
            if sub.registered_commands or sub.registered_groups:
                app.add_typer(sub, name=name)
        _LOADED = True
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; ``MMScoreError`` becomes ``Error: ...`` on stderr and exit code 2."""
    load_commands()
    STATE["debug"] = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # standalone_mode=False: click returns typer.Exit(code)'s code instead of raising it
        outcome = app(args=argv, standalone_mode=False)
    except MMScoreError as exc:
        if STATE["debug"]:
            raise
        typer.echo(f"Error: {exc} (use --debug for a traceback)", err=True)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        return _interrupted()
    except typer.Exit as exc:
        return _interrupted() if exc.exit_code == INTERRUPTED else exc.exit_code
    except SystemExit as exc:  # click usage errors in standalone_mode=False arrive as exceptions
        return int(exc.code or 0)
    except Exception as exc:  # click.ClickException and friends
        click_errors, aborts = _click_exception_types()
        if isinstance(exc, aborts) and isinstance(exc.__context__, KeyboardInterrupt):  # click's Ctrl+C
            return _interrupted()
        if isinstance(exc, aborts):
            typer.echo("Aborted.", err=True)
            return 1
        if isinstance(exc, click_errors):
            exc.show()  # names the option and the value, with the usage line
            return exc.exit_code
        if STATE["debug"]:
            raise
        typer.echo(f"Error: unexpected {type(exc).__name__}: {exc} (use --debug for a traceback)", err=True)
        return 1
    if outcome == INTERRUPTED:  # typer turns Ctrl+C into Exit(130) and, here, returns the code silently
        return _interrupted()
    return outcome if isinstance(outcome, int) and not isinstance(outcome, bool) else 0


def _interrupted() -> int:
    """Ctrl+C: say how far the work got and how to resume; exit code 130."""
    from mmscore.progress import interrupted_message

    typer.echo(interrupted_message(), err=True)
    return INTERRUPTED


def _click_exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(usage/parameter errors, aborts) of click *and* of the copy of click that newer typer
    releases bundle as ``typer._click`` (a bad option value then raises that copy's
    ``BadParameter``, which is no ``click.ClickException``)."""
    errors: list[type] = []
    aborts: list[type] = [typer.Abort]
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        errors.append(module.ClickException)
        if hasattr(module, "Abort"):
            aborts.append(module.Abort)
    return tuple(errors), tuple(aborts)


def console_main() -> None:  # pragma: no cover - thin wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
