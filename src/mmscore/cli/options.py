"""Every CLI option, declared once: shared option types and the option *bundles*.

A bundle is a frozen dataclass whose fields are ``Annotated`` Typer options. A command takes
the whole bundle as one parameter (``engine: EngineOptions``) and :func:`command` expands it into
the bundle's flags, so the engine flags and the judge flags are written here only and mean the
same in every command. Each bundle checks its own combinations (:meth:`Bundle.check`) with the
set of flags the user actually typed: a flag that would have no effect is a usage error (exit 2),
never silently ignored. Old flag names stay as hidden aliases.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar, get_type_hints

import typer

from mmscore.engine import DEFAULT_SHARD_SIZE

F = TypeVar("F", bound=Callable[..., Any])

# --------------------------------------------------------------------------- shared options
# bundle options are listed under their own heading in --help
_engine = functools.partial(typer.Option, rich_help_panel="Engine (sharded, restartable)")
_judge = functools.partial(typer.Option, rich_help_panel="Judge")
_columns = functools.partial(typer.Option, rich_help_panel="Columns")

DeviceOpt = Annotated[Optional[str], typer.Option("--device", help="cuda, mps or cpu (default: best available).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Encoder batch size.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file; its extension names the "
                                                   "format (.jsonl, .json, .csv, .parquet).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 1 if any row could not be scored (the output is "
                                         "still written).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as one JSON object on stdout instead "
                                       "of tables.")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", min=0, help="Media decoding threads (0: no pool: "
                                                   "images decode inline, videos in one thread).")]


# --------------------------------------------------------------------------- what the user typed
def _context() -> Any:
    try:  # newer typer releases run on a bundled copy of click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - typer with plain click
        from click import get_current_context
    return get_current_context(silent=True)


def given_options() -> frozenset[str]:
    """Parameter names the user set on the command line or through an environment variable."""
    ctx = _context()
    if ctx is None:
        return frozenset()
    names = set()
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            names.add(name)
    return frozenset(names)


def usage_error(message: str) -> Exception:
    """A usage error (exit 2, printed with the command's usage line)."""
    try:
        from typer._click.exceptions import UsageError
    except ImportError:  # pragma: no cover
        from click import UsageError
    return UsageError(message, ctx=_context())


def flag(name: str) -> str:
    """The option string of parameter ``name`` as the user writes it (``fmt`` → ``--format``)."""
    ctx = _context()
    for param in getattr(getattr(ctx, "command", None), "params", []):
        if param.name == name and param.opts:
            return max(param.opts, key=len)
    return "--" + name.replace("_", "-")


def forbid(given: Iterable[str], names: Iterable[str], reason: str) -> None:
    """Usage error if any of ``names`` was given: ``--a and --b have no effect <reason>``."""
    wrong = [flag(n) for n in names if n in set(given)]
    if wrong:
        verb = "has" if len(wrong) == 1 else "have"
        raise usage_error(f"{' and '.join(wrong)} {verb} no effect {reason}")


def alias(given: frozenset[str], new: str, old: str, new_value: Any, old_value: Any) -> Any:
    """Value of an option that also has a hidden old name (both at once is a usage error)."""
    if old in given:
        if new in given:
            raise usage_error(f"{flag(old)} is the old name of {flag(new)}; give only one of them")
        return old_value
    return new_value


# --------------------------------------------------------------------------- bundles
@dataclasses.dataclass(frozen=True)
class Bundle:
    """Base of the option bundles; :meth:`check` validates combinations and folds old names."""

    #: the flags (parameter names) the user typed, set by :meth:`check`
    given: frozenset[str] = dataclasses.field(default=frozenset(), repr=False, compare=False)

    def check(self, given: frozenset[str]) -> Bundle:
        return dataclasses.replace(self, given=given)

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "given"]

    def forbid_all(self, reason: str) -> None:
        """Usage error if the user typed any flag of this bundle (it has no effect ``reason``)."""
        forbid(self.given, self.option_names(), reason)


EngineOpt = Annotated[Optional[str], _engine("--engine", help="local or ray: score shard by shard, "
                      "restartable (a re-run resumes from the completed shards); ray needs 'mmscore\\[ray]'.")]
AddressOpt = Annotated[Optional[str], _engine("--address", help="Ray cluster address (auto, "
                       "ray://host:10001); default: start Ray on this machine. Needs --engine ray.")]
NumWorkersOpt = Annotated[Optional[int], _engine("--num-workers", min=1, help="Ray model actors "
                          "(default: one per GPU with --num-gpus-per-worker, else one per CPU). Needs --engine ray.")]
NumGpusOpt = Annotated[float, _engine("--num-gpus-per-worker", min=0.0, help="GPUs per Ray model actor "
                       "(fractions share a GPU). Needs --engine ray.")]
ShardSizeOpt = Annotated[int, _engine("--shard-size", min=1, help="Rows per shard: the unit of output "
                         "files and of restart. Needs --engine.")]
ShardDirOpt = Annotated[Optional[Path], _engine("--shard-dir", help="Folder for the shards and their "
                        "completion markers (default: <output>.shards). Needs --engine.")]
OldShardDirOpt = Annotated[Optional[Path], typer.Option("--output-dir", hidden=True,
                                                        help="Old name of --shard-dir.")]
StallTimeoutOpt = Annotated[Optional[float], _engine("--stall-timeout", min=1.0, help="Ray: stop (exit 2, completed "
                            "shards kept for a rerun) when no shard completed for this many seconds, or 10x the "
                            "median shard time if longer; 3x before the first shard. Default 180.")]
OverwriteOpt = Annotated[bool, _engine("--overwrite", help="Discard the shards of a previous, different job "
                         "in the shard folder instead of refusing. Needs --engine.")]

_RAY_ONLY = ("address", "num_workers", "num_gpus_per_worker", "stall_timeout")
_ENGINE_ONLY = ("shard_size", "shard_dir", "output_dir", "overwrite")


@dataclasses.dataclass(frozen=True)
class EngineOptions(Bundle):
    """``--engine local|ray`` and its settings (``mmscore run``, ``emscore``, ``clipscore``, ...)."""

    engine: EngineOpt = None
    address: AddressOpt = None
    num_workers: NumWorkersOpt = None
    num_gpus_per_worker: NumGpusOpt = 0.0
    shard_size: ShardSizeOpt = DEFAULT_SHARD_SIZE
    shard_dir: ShardDirOpt = None
    output_dir: OldShardDirOpt = None  # hidden old name of --shard-dir
    overwrite: OverwriteOpt = False
    stall_timeout: StallTimeoutOpt = None

    def check(self, given: frozenset[str]) -> EngineOptions:
        if self.engine is not None and self.engine not in ("local", "ray"):
            raise usage_error(f"--engine must be local or ray; got {self.engine!r}")
        if self.engine is None:
            forbid(given, _RAY_ONLY + _ENGINE_ONLY, "without --engine local or --engine ray")
        elif self.engine == "local":
            forbid(given, _RAY_ONLY, "with --engine local (they configure Ray)")
        shard_dir = alias(given, "shard_dir", "output_dir", self.shard_dir, self.output_dir)
        return dataclasses.replace(self, shard_dir=shard_dir, output_dir=None, given=given)

    def run_engine_kwargs(self) -> dict[str, Any]:
        """Keywords of :func:`mmscore.engine.run_engine`."""
        return {"engine": self.engine, "address": self.address, "num_workers": self.num_workers,
                "num_gpus_per_worker": self.num_gpus_per_worker, "shard_size": self.shard_size,
                "output_dir": self.shard_dir, "overwrite": self.overwrite, "stall_timeout": self.stall_timeout}


BaseUrlOpt = Annotated[Optional[str], _judge("--base-url", help="OpenAI-compatible base URL ending in /v1 "
                       "(default: the judge's own, e.g. api.openai.com for gpt4o and the emotion judges, "
                       "$OPENAI_BASE_URL for the emotion judges when set).")]
OldBaseUrlOpt = Annotated[Optional[str], typer.Option("--judge-url", hidden=True, help="Old name of --base-url.")]
JudgeModelOpt = Annotated[Optional[str], _judge("--model", help="Judge model (default: gpt-4o, or the "
                          "server's only model for internvl/openai-compatible).")]
OldJudgeModelOpt = Annotated[Optional[str], typer.Option("--judge-model", hidden=True, help="Old name of --model.")]
ApiKeyEnvOpt = Annotated[Optional[str], _judge("--api-key-env", help="Environment variable holding the API "
                         "key (default: OPENAI_API_KEY for OpenAI, VISION_API_KEY for internvl).")]
ConcurrencyOpt = Annotated[int, _judge("--concurrency", "-c", min=1, help="Judge requests in flight at once.")]
TimeoutOpt = Annotated[float, _judge("--timeout", min=0.001, help="Read timeout per request, seconds.")]
ConnectTimeoutOpt = Annotated[float, _judge("--connect-timeout", min=0.001, help="Connect timeout, seconds.")]
RetriesOpt = Annotated[int, _judge("--retries", min=0, help="Retries on 429/5xx/timeouts (backoff + jitter).")]
BackoffOpt = Annotated[float, _judge("--backoff", min=0.0, help="Base delay of the exponential retry "
                       "backoff, seconds (attempt k waits ~base*2^k).")]
CacheOpt = Annotated[Optional[Path], _judge("--cache", help="SQLite cache of judge replies: re-runs of the "
                     "same requests are free (mmscore score: default <scorer folder>/judge-cache.sqlite).")]
NoCacheOpt = Annotated[bool, _judge("--no-cache", help="Do not read or write the judge response cache.")]
MaxCostOpt = Annotated[Optional[float], _judge("--max-cost", min=0.0, help="Stop starting requests once "
                       "this many US$ are spent (estimated); exit 3, re-run to continue.")]
PricesOpt = Annotated[Optional[Path], _judge("--prices", help="JSON/YAML price table {model: {input: $/1M, "
                      "output: $/1M}} (defaults: gpt-4o family).")]
TemperatureOpt = Annotated[float, _judge("--temperature", min=0.0, help="Sampling temperature.")]
MaxTokensOpt = Annotated[int, _judge("--max-tokens", min=1, help="Reply token limit.")]


@dataclasses.dataclass(frozen=True)
class JudgeOptions(Bundle):
    """The one judge transport configuration (``mmscore score``, ``emotion ov|emer``, inference)."""

    base_url: BaseUrlOpt = None
    judge_url: OldBaseUrlOpt = None
    model: JudgeModelOpt = None
    judge_model: OldJudgeModelOpt = None
    api_key_env: ApiKeyEnvOpt = None
    concurrency: ConcurrencyOpt = 8
    timeout: TimeoutOpt = 120.0
    connect_timeout: ConnectTimeoutOpt = 10.0
    retries: RetriesOpt = 5
    backoff: BackoffOpt = 1.0
    cache: CacheOpt = None
    no_cache: NoCacheOpt = False
    max_cost: MaxCostOpt = None
    prices: PricesOpt = None
    temperature: TemperatureOpt = 0.0
    max_tokens: MaxTokensOpt = 1000

    def check(self, given: frozenset[str]) -> JudgeOptions:
        if self.no_cache and "cache" in given:
            raise usage_error("--cache and --no-cache contradict each other; give one")
        return dataclasses.replace(
            self, base_url=alias(given, "base_url", "judge_url", self.base_url, self.judge_url),
            model=alias(given, "model", "judge_model", self.model, self.judge_model),
            judge_url=None, judge_model=None, given=given)

    def config(self, default_cache: Path | None = None) -> Any:
        """The :class:`~mmscore.models.judge.JudgeConfig` (endpoint defaults are the caller's)."""
        from mmscore.models.judge import JudgeConfig, PriceTable

        cache = None if self.no_cache else (self.cache or default_cache)
        return JudgeConfig(base_url=self.base_url, model=self.model, api_key_env=self.api_key_env,
                           concurrency=self.concurrency, timeout=self.timeout, connect_timeout=self.connect_timeout,
                           retries=self.retries, backoff=self.backoff, cache=cache, max_cost=self.max_cost,
                           prices=PriceTable.load(self.prices) if self.prices else None,
                           temperature=self.temperature, max_tokens=self.max_tokens)


# --------------------------------------------------------------------------- the command decorator
def _bundle_fields(cls: type) -> list[inspect.Parameter]:
    hints = get_type_hints(cls, include_extras=True)
    return [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
            for f in dataclasses.fields(cls) if f.init and f.name != "given"]


def command(func: F) -> F:
    """Make ``func`` a Typer command whose :class:`Bundle`-typed parameters expand into flags.

    The wrapper rebuilds each bundle from the parsed flags and calls ``bundle.check(given)`` with
    the flags the user typed, so combinations are validated before the command body runs."""
    hints = get_type_hints(func, include_extras=True)
    params: list[inspect.Parameter] = []
    bundles: dict[str, type] = {}
    for param in inspect.signature(func).parameters.values():
        hint = hints.get(param.name, param.annotation)
        if isinstance(hint, type) and issubclass(hint, Bundle):
            bundles[param.name] = hint
            params.extend(_bundle_fields(hint))
        else:
            params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hint))
    names = [p.name for p in params]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise TypeError(f"{func.__name__}: option names defined twice: {sorted(duplicated)}")

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        given = given_options()
        for name, cls in bundles.items():
            values = {p.name: kwargs.pop(p.name) for p in _bundle_fields(cls)}
            kwargs[name] = cls(**values).check(given)
        return func(**kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must see the expanded signature, not the original
    return wrapper  # type: ignore[return-value]


ImageKeyOpt = Annotated[str, typer.Option("--image-key", help="Column with image paths (relative paths resolve "
                                          "against the cwd, then the input file's folder).")]
TextKeyOpt = Annotated[str, typer.Option("--text-key", help="Column with the caption to score.")]
OutputKeyOpt = Annotated[Optional[str], typer.Option("--output-key", help="Name of the score column.")]


@dataclasses.dataclass(frozen=True)
class ImageTextOptions(Bundle):
    """Columns, output and batching of the image-text scores (``longclip``, ``specs``, ``clipscore``)."""

    image_key: ImageKeyOpt = "image_path"
    text_key: TextKeyOpt = "text"
    output: OutputOpt = None
    output_key: OutputKeyOpt = None
    overwrite_column: Annotated[bool, typer.Option("--overwrite-column", help="Allow --output-key to replace an "
                                "existing input column.")] = False
    batch_size: BatchSizeOpt = 64
    device: DeviceOpt = None
    workers: WorkersOpt = 2
    strict: StrictOpt = False
    as_json: JsonOpt = False


ExperimentOpt = Annotated[str, typer.Option("--experiment", "-e", help="Experiment name (folder under "
                                            "<data-dir>/outputs).")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="Folder holding outputs/ (default "
                                                    "$VMEVAL_DATA_DIR, else ./data).")]


GoldVideoKeyOpt = Annotated[Optional[str], _columns("--gold-video-key", help="Video-name column of the gold "
                            "file (default: first of video_name, name, names, video, id, ...).")]
PredVideoKeyOpt = Annotated[Optional[str], _columns("--pred-video-key", help="Video-name column of the "
                            "predictions.")]
GoldLabelKeyOpt = Annotated[Optional[str], _columns("--gold-label-key", help="Gold answer column: label, "
                            "open-set labels or reference description (default: emotion_label, emotion, label, "
                            "openset, reason, ...).")]
PredLabelKeyOpt = Annotated[Optional[str], _columns("--pred-label-key", help="Prediction column (default: "
                            "prediction, pred, answer, emotion, openset, ...).")]
OldGoldVideoKeyOpt = Annotated[Optional[str], typer.Option("--gold-key-column", hidden=True)]
OldPredVideoKeyOpt = Annotated[Optional[str], typer.Option("--pred-key-column", hidden=True)]
OldGoldLabelKeyOpt = Annotated[Optional[str], typer.Option("--gold-column", hidden=True)]
OldPredLabelKeyOpt = Annotated[Optional[str], typer.Option("--pred-column", hidden=True)]


@dataclasses.dataclass(frozen=True)
class KeyedColumns(Bundle):
    """Which columns of the gold and prediction files hold the video name and the answer
    (``mmscore emotion``; the old ``--*-column`` names stay as hidden aliases)."""

    gold_video_key: GoldVideoKeyOpt = None
    pred_video_key: PredVideoKeyOpt = None
    gold_label_key: GoldLabelKeyOpt = None
    pred_label_key: PredLabelKeyOpt = None
    gold_key_column: OldGoldVideoKeyOpt = None
    pred_key_column: OldPredVideoKeyOpt = None
    gold_column: OldGoldLabelKeyOpt = None
    pred_column: OldPredLabelKeyOpt = None

    def check(self, given: frozenset[str]) -> KeyedColumns:
        pairs = (("gold_video_key", "gold_key_column"), ("pred_video_key", "pred_key_column"),
                 ("gold_label_key", "gold_column"), ("pred_label_key", "pred_column"))
        values = {new: alias(given, new, old, getattr(self, new), getattr(self, old)) for new, old in pairs}
        return dataclasses.replace(self, **values, **{old: None for _, old in pairs}, given=given)

    def library_kwargs(self, value: str = "label") -> dict[str, str | None]:
        """Keywords of the emotion evaluators (``value``: ``label`` or ``text`` for EMER)."""
        return {"gold_key_column": self.gold_video_key, "pred_key_column": self.pred_video_key,
                f"gold_{value}_column": self.gold_label_key, f"pred_{value}_column": self.pred_label_key}


@dataclasses.dataclass(frozen=True)
class ResultOptions(Bundle):
    """Where a benchmark command writes its result record, under which method name, and ``--json``."""

    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Result file: .json (nested) or .csv/.parquet/.jsonl (one flattened row); companions "
                               "are written beside it (.samples.csv, .md, ...).")] = None
    method: Annotated[Optional[str], typer.Option("--method", help="Method name for the results table (default: "
                                                  "the prediction file's name).")] = None
    as_json: JsonOpt = False

    def check(self, given: frozenset[str]) -> ResultOptions:
        from mmscore.io.records import check_record_path

        if self.output is not None:
            check_record_path(self.output)  # an unknown extension fails before any work
        return dataclasses.replace(self, given=given)

    def name(self, predictions: Path) -> str:
        return self.method or predictions.stem
