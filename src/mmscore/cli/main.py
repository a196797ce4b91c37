"""Entry point: discover command modules, attach groups, run with one-line errors and the one
exit policy (see :data:`mmscore.cli.results.EXIT_CODES`)."""

from __future__ import annotations

import errno
import importlib
import pkgutil
import sys

import typer

from mmscore.cli.app import GROUPS, STATE, app
from mmscore.errors import MMScoreError

_LOADED = False
#: root flags that may also be written after the sub-command (``mmscore emscore x.csv --debug``)
GLOBAL_FLAGS = ("--debug", "--quiet", "-q")
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


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move ``--debug``/``--quiet`` written anywhere before a ``--`` to the front, where the root
    command reads them (every error message suggests *appending* ``--debug``)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in GLOBAL_FLAGS]
    return list(dict.fromkeys(flags)) + rest + argv[end:]


def _filename(exc: OSError) -> str:
    return f"{exc.filename}: " if exc.filename else ""


def _allocation_failed(message: str) -> bool:
    """torch reports a failed allocation as RuntimeError ("DefaultCPUAllocator: can't allocate memory")."""
    lowered = message.lower()
    return any(text in lowered for text in ("can't allocate memory", "not enough memory", "out of memory"))


def _largest_number_option(argv: list[str]) -> str | None:
    """``--n-boot 1000000000000``: the option given the largest number (the likely culprit of an
    out-of-memory error)."""
    best: tuple[float, str] | None = None
    for name, value in zip(argv, argv[1:], strict=False):
        try:
            number = float(value)
        except ValueError:
            continue
        if name.startswith("-") and (best is None or number > best[0]):
            best = (number, f"{name} {value}")
    return best[1] if best else None


def plain_error(exc: BaseException, argv: list[str] | None = None) -> str | None:
    """A one-line message for exceptions that are the user's input or environment, not a bug
    (exit 2), or None when ``exc`` is unexpected."""
    if isinstance(exc, UnicodeDecodeError):
        return (f"a text file is not valid {exc.encoding} (byte {exc.object[exc.start:exc.start + 1]!r} at "
                f"offset {exc.start}); save it as UTF-8")
    if isinstance(exc, IsADirectoryError):
        return f"{_filename(exc)}is a folder; expected a file"
    if isinstance(exc, NotADirectoryError):
        return f"{_filename(exc)}is not a folder"
    if isinstance(exc, FileNotFoundError):
        return f"{_filename(exc)}not found"
    if isinstance(exc, PermissionError):
        return f"{_filename(exc)}permission denied"
    if isinstance(exc, OSError) and (exc.errno == errno.EADDRINUSE or "port" in str(exc).lower()):
        return f"the port is busy ({exc}); choose another with --port"
    if isinstance(exc, KeyError):
        return f"a record lacks the field {exc.args[0]!r} the command needs; check the input's columns/keys"
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and _allocation_failed(str(exc))):
        culprit = _largest_number_option(argv or [])
        return ("out of memory: " + (f"{culprit} is probably too large for this machine" if culprit else
                                     "an option value is too large for this machine (e.g. --batch-size)"))
    if isinstance(exc, OSError):
        return f"{_filename(exc)}{exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one ``Error: ...`` line on stderr and the documented exit code."""
    load_commands()
    argv = hoist_global_flags(list(argv if argv is not None else sys.argv[1:]))
    STATE["debug"] = "--debug" in argv
    try:
        # standalone_mode=False: click returns typer.Exit(code)'s code instead of raising it
        outcome = app(args=argv, standalone_mode=False)
    except MMScoreError as exc:
        if STATE["debug"]:
            raise
        typer.echo(f"Error: {exc} (use --debug for a traceback)", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    except typer.Exit as exc:
        return _interrupted() if exc.exit_code == INTERRUPTED else exc.exit_code
    except SystemExit as exc:  # click usage errors in standalone_mode=False arrive as exceptions
        return int(exc.code or 0)
    except Exception as exc:  # click.ClickException and friends
        return _other_exception(exc, argv)
    if outcome == INTERRUPTED:  # typer turns Ctrl+C into Exit(130) and, here, returns the code silently
        return _interrupted()
    return outcome if isinstance(outcome, int) and not isinstance(outcome, bool) else 0


def _other_exception(exc: Exception, argv: list[str]) -> int:
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
        raise exc
    message = plain_error(exc, argv)
    if message is not None:
        typer.echo(f"Error: {message} (use --debug for a traceback)", err=True)
        return 2
    typer.echo(f"Error: unexpected {type(exc).__name__}: {exc} (a bug; use --debug for a traceback and "
               "report it)", err=True)
    return 1


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
