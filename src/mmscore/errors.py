"""One exception family for everything mmscore raises on purpose.

The command line prints ``MMScoreError`` messages as a single ``Error: ...`` line, so every
message must say *what* went wrong, *where* (file, row, column) and *what to do*.

    MMScoreError
    ├── InputError            bad user input: missing file, malformed row, wrong column
    │   ├── ColumnError       a required column is absent (lists the ones present)
    │   ├── NothingMatchedError   nothing at all could be paired/matched/scored (exit 1, not 2)
    │   └── MetricInputError  a metric got data it cannot score ("expected X, got Y"; also a ValueError)
    ├── ConfigError           invalid argument combination or value
    │   └── MetricOptionError a metric got an option value it does not know (also a ValueError)
    ├── DependencyError       an optional extra is not installed (says which pip extra)
    ├── MediaError            a video/image cannot be opened or decoded
    ├── ModelError            a checkpoint cannot be found, chosen or loaded
    │   └── WeightsNotAvailableError  weights absent locally and no network
    └── JudgeError            an LLM/VLM judge call failed
        ├── JudgeHTTPError    non-retryable HTTP status, or retries exhausted
        ├── JudgeTimeout      the server did not answer in time
        ├── JudgeParseError   the reply could not be turned into a valid result
        └── BudgetExceeded    the configured --max-cost was reached
"""

from __future__ import annotations


class MMScoreError(Exception):
    """Base of every error mmscore raises deliberately."""


class InputError(MMScoreError):
    """User-supplied data is missing or malformed."""


class NothingMatchedError(InputError):
    """Nothing at all could be paired, matched or scored: the run has no result (exit code 1)."""

    exit_code = 1


class ColumnError(InputError):
    """A required column is missing from a table."""

    def __init__(self, column: str, present: list[str], where: str = "input table") -> None:
        self.column = column
        self.present = list(present)
        super().__init__(
            f"column {column!r} not found in {where}; columns present: "
            f"{', '.join(map(repr, self.present)) or '(none)'}"
        )


class ConfigError(MMScoreError):
    """Arguments are inconsistent or out of range."""


class _ExpectedGot:
    """Mixin: the message is ``"{what}: expected {expected}, got {got}"``, the parts kept as attributes.

    ``__reduce__`` rebuilds from the three parts, so the error survives pickling (process pools, Ray).
    """

    def __init__(self, what: str, expected: str, got: object) -> None:
        self.what, self.expected, self.got = what, expected, got
        super().__init__(f"{what}: expected {expected}, got {got}")

    def __reduce__(self):
        return type(self), (self.what, self.expected, self.got)


class MetricInputError(_ExpectedGot, InputError, ValueError):
    """A metric got data it cannot score: wrong shape, length, category or a non-finite value.

    A ValueError too, so code that validates numbers with ``except ValueError`` keeps working.
    """


class MetricOptionError(_ExpectedGot, ConfigError, ValueError):
    """A metric got an option value it does not know (a weighting, a level, a language)."""


class DependencyError(MMScoreError):
    """An optional dependency is missing."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"the optional dependency {module!r} is not installed; "
            f"install it with: pip install 'mmscore[{extra}]'"
        )


class MediaError(MMScoreError):
    """A media file cannot be read or decoded."""


class ModelError(MMScoreError):
    """A model checkpoint cannot be resolved or loaded."""


class WeightsNotAvailableError(ModelError):
    """Weights are neither local nor downloadable (offline or no network)."""


class JudgeError(MMScoreError):
    """A judge request failed."""


class JudgeHTTPError(JudgeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class JudgeTimeout(JudgeError):
    """The judge server did not answer within the timeout."""


class JudgeParseError(JudgeError):
    def __init__(self, message: str, raw: str = "") -> None:
        self.raw = raw
        super().__init__(message)


class BudgetExceeded(JudgeError):
    """The run reached its configured cost limit."""


def require(module: str, extra: str):
    """Import an optional module or raise a DependencyError naming the pip extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(module, extra) from exc
