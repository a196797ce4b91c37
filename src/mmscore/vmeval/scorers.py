"""Scorers: what turns one generated video (a :class:`~mmscore.io.experiment.TaskRun`) into a score.

The runner (:mod:`mmscore.vmeval.runner`) does everything around a scorer -- discovery, resume,
atomic writing, failure records, the aggregate file, progress, budget stops -- so a scorer only
answers one question: *what is this task's score?*

Built-in scorers (``mmscore score <name>``):

=====================  ===================  ======================  ==============================
name                   scorer id / file     default output folder   server
=====================  ===================  ======================  ==============================
``gpt4o``              ``GPT4OScorer``      ``gpt4o-eval``          api.openai.com, ``gpt-4o``
``internvl``           ``InternVLScorer``   ``internvl-eval``       lmdeploy at localhost:23333
``openai-compatible``  ``OpenAICompatible   ``openai-compatible-    any ``--base-url``
                       Scorer``             eval``
=====================  ===================  ======================  ==============================

**Custom scorers.** Subclass :class:`Scorer` (any method) or :class:`VLMScorer` (a VLM judge with
a different prompt or message layout), give it a ``name``, ``scorer_id`` and ``output_subdir``, and
decorate it with :func:`register_scorer`::

    from mmscore.vmeval import Scorer, ScoreResult, SkipTask, register_scorer

    @register_scorer
    class BrightnessScorer(Scorer):
        name = "brightness"                 # mmscore score custom brightness ...
        scorer_id = "BrightnessScorer"      # file name and metadata "scorer"
        output_subdir = "brightness-eval"   # data/scorings/brightness-eval/
        version = "1"                       # bump when the method changes: forces a re-score

        async def score(self, task):
            if task.final_frame is None:
                raise SkipTask("no expected final frame")
            return ScoreResult(score=3, explanation="...")

Run it with ``mmscore score custom my_module:BrightnessScorer --experiment X`` (or the registered
name once its module is imported) or from Python with
:func:`mmscore.vmeval.runner.run_scoring`. A scorer raises :class:`SkipTask` to record a task as
skipped, any :class:`~mmscore.errors.MMScoreError` to record it as failed with the message as
reason, and :class:`~mmscore.errors.BudgetExceeded` to stop the run cleanly.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mmscore.defaults import JUDGE_MODEL
from mmscore.errors import BudgetExceeded, ConfigError, JudgeError, MediaError
from mmscore.io.experiment import TaskRun
from mmscore.models.judge import (
    JudgeClient,
    JudgeReply,
    PriceTable,
    ResponseCache,
    RetryPolicy,
    image_part,
    text_part,
)
from mmscore.vmeval.prompts import PromptTemplate, load_prompt
from mmscore.vmeval.verdict import Verdict, parse_verdict
from mmscore.vmeval.voting import VOTE_METHODS, combine

log = logging.getLogger(__name__)


class SkipTask(Exception):
    """Raised by a scorer when a task cannot be scored by design (recorded as ``skipped``)."""


@dataclass
class ScoreResult:
    """A scorer's answer for one task; ``extra`` fields are stored in the scoring's ``result``."""

    score: int
    explanation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)


class Scorer:
    """Base class of every scorer (see the module docstring)."""

    name: ClassVar[str] = ""
    scorer_id: ClassVar[str] = ""
    output_subdir: ClassVar[str] = ""
    scoring_type: ClassVar[str] = "final_frame_comparison"
    #: bump in a subclass when its method changes: part of :meth:`identity`, so old scorings are redone
    version: ClassVar[str] = "1"
    #: how many tasks the runner works on at once
    workers: int = 4
    #: judge what decodes of a truncated video (recorded in the scoring) instead of failing the task
    allow_truncated: bool = False

    @property
    def id(self) -> str:
        return self.scorer_id or type(self).__name__

    def identity(self) -> dict[str, Any]:
        """What must match for an existing completed scoring to be reused (resume)."""
        return {"scorer": self.id, "judge_model": None, "prompt_sha256": self.prompt_sha256(), "method": {}}

    def prompt_sha256(self) -> str:
        return hashlib.sha256(f"{type(self).__qualname__}:{self.version}".encode()).hexdigest()

    def metadata(self) -> dict[str, Any]:
        """Extra metadata written into every scoring of this scorer."""
        return {"judge_model": None, "prompt_version": self.version, "prompt_sha256": self.prompt_sha256()}

    def usage(self) -> dict[str, Any] | None:
        """Run totals (tokens, cost) for the progress bar and the run record; None if not applicable."""
        return None

    async def setup(self) -> None:
        """Called once before the first task (e.g. to ask a server for its model name)."""

    async def score(self, task: TaskRun) -> ScoreResult:  # pragma: no cover - abstract
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections; called once after the last task."""


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, type[Scorer]] = {}


def register_scorer(cls: type[Scorer]) -> type[Scorer]:
    """Class decorator: make a scorer available by its ``name``."""
    if not cls.name:
        raise ConfigError(f"{cls.__qualname__} needs a non-empty class attribute 'name' to be registered")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ConfigError(f"a scorer named {cls.name!r} is already registered ({existing.__qualname__})")
    _REGISTRY[cls.name] = cls
    return cls


def available_scorers() -> dict[str, type[Scorer]]:
    return dict(sorted(_REGISTRY.items()))


def resolve_scorer_class(spec: str) -> type[Scorer]:
    """A registered name, ``package.module:Class`` or ``path/to/file.py:Class``."""
    if spec in _REGISTRY:
        return _REGISTRY[spec]
    if ":" not in spec:
        raise ConfigError(
            f"unknown scorer {spec!r}; registered: {', '.join(_REGISTRY) or 'none'}; "
            "or give module:Class / file.py:Class"
        )
    module_name, _, attr = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ConfigError(f"{path}: scorer file not found")
            module_spec = importlib.util.spec_from_file_location(f"mmscore_user_scorer_{path.stem}", path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import the scorer module {module_name!r}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Scorer)):
        raise ConfigError(f"{spec}: {attr!r} is not a subclass of mmscore.vmeval.Scorer")
    return cls


# --------------------------------------------------------------------------- VLM judges
class VLMScorer(Scorer):
    """A VLM judge: input image, expected final frame and the video's last frame(s) -> 1-5.

    ``frames=N`` judges N frames from the end of the video (spread over the last ``last_seconds``
    seconds when given, else the last N decodable frames); ``samples=K`` asks K independent
    samples per frame. All N*K judgements are combined by ``vote`` (:mod:`mmscore.vmeval.voting`)
    and recorded with their agreement. A task fails if any of its judgements fails (the ones that
    succeeded are cached, so the retry next run only pays for the rest).
    """

    scoring_type: ClassVar[str] = "final_frame_comparison"
    default_base_url: ClassVar[str] = ""
    default_model: ClassVar[str | None] = None
    api_key_env: ClassVar[str | None] = None

    def __init__(
        self,
        client: JudgeClient,
        *,
        prompt: PromptTemplate | str | os.PathLike[str] | None = None,
        frames: int = 1,
        last_seconds: float | None = None,
        samples: int = 1,
        vote: str = "majority",
        scorer_id: str | None = None,
        workers: int | None = None,
    ) -> None:
        if frames < 1 or samples < 1:
            raise ConfigError(f"--frames and --samples must be at least 1; got {frames} and {samples}")
        if last_seconds is not None and not last_seconds > 0:
            raise ConfigError(f"--last-seconds must be positive; got {last_seconds}")
        if vote not in VOTE_METHODS:
            raise ConfigError(f"--vote must be one of {', '.join(VOTE_METHODS)}; got {vote!r}")
        if samples > 1 and client.temperature == 0:
            log.warning(
                "--samples %d at temperature 0: the samples will be (nearly) identical; "
                "consider --temperature 0.7",
                samples,
            )
        self.client = client
        self.prompt = prompt if isinstance(prompt, PromptTemplate) else load_prompt(prompt)
        self.frames = frames
        self.last_seconds = last_seconds
        self.samples = samples
        self.vote = vote
        self._scorer_id = scorer_id
        # twice as many tasks as request slots: while `concurrency` requests wait on the server, the
        # other workers decode frames and build messages, so a freed slot is refilled at once
        self.workers = workers or 2 * client.concurrency

    @property
    def id(self) -> str:
        return self._scorer_id or self.scorer_id or type(self).__name__

    def prompt_sha256(self) -> str:
        return self.prompt.sha256

    def method(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "last_seconds": self.last_seconds,
            "samples": self.samples,
            "vote": self.vote,
            "temperature": self.client.temperature,
        }

    def identity(self) -> dict[str, Any]:
        return {
            "scorer": self.id,
            "judge_model": self.client.model,
            "prompt_sha256": self.prompt.sha256,
            "method": self.method(),
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "judge_model": self.client.model,
            "judge_base_url": self.client.base_url,
            "prompt_name": self.prompt.name,
            "prompt_version": self.prompt.version,
            "prompt_sha256": self.prompt.sha256,
            "settings": {**self.method(), "max_tokens": self.client.max_tokens},
        }

    def usage(self) -> dict[str, Any]:
        return self.client.usage.as_dict()

    async def setup(self) -> None:
        """Ask the server for its model when none was given (lmdeploy serves exactly one)."""
        if not self.client.model:
            models = await self.client.list_models()
            if not models:
                raise ConfigError(f"{self.client.base_url}/models lists no model; pass --model")
            self.client.set_model(models[0])

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- messages -------------------------------------------------------------------------
    def build_messages(self, task: TaskRun, frame: Any) -> list[dict[str, Any]]:
        """OpenAI chat messages for one judgement of ``frame`` (HxWx3 uint8 RGB).

        Called in a worker thread (encoding a video frame as PNG takes tens of milliseconds), so
        an override must not touch the event loop."""
        p = self.prompt
        content: list[dict[str, Any]] = [text_part(p.render(p.user_intro, task.task_type, task.prompt))]
        if task.first_frame is not None:
            content += [text_part(p.labels["first_frame"]), image_part(task.first_frame)]
        content += [
            text_part(p.labels["expected_final_frame"]),
            image_part(task.final_frame),
            text_part(p.labels["generated_final_frame"]),
            image_part(frame),
            text_part(p.render(p.user_outro, task.task_type, task.prompt)),
        ]
        return [
            {"role": "system", "content": p.render(p.system, task.task_type, task.prompt)},
            {"role": "user", "content": content},
        ]

    def parse(self, text: str) -> Verdict:
        return parse_verdict(text)

    # -- scoring --------------------------------------------------------------------------
    async def score(self, task: TaskRun) -> ScoreResult:
        if task.final_frame is None:
            raise SkipTask("no expected final frame (question/final_frame.*): nothing to compare with")
        if task.video_path is None:
            raise MediaError(f"{task.run_dir / 'video'}: no generated video found")
        from mmscore.io.media import last_frames

        clip = await asyncio.to_thread(
            last_frames, task.video_path, n=self.frames, last_seconds=self.last_seconds,
            allow_truncated=self.allow_truncated,
        )
        jobs: list[tuple[int, int]] = [(f, s) for f in range(len(clip.frames)) for s in range(self.samples)]
        messages = await asyncio.to_thread(
            lambda: [self.build_messages(task, frame) for frame in clip.frames]
        )
        outcomes = await asyncio.gather(
            *(
                self.client.chat(
                    messages[f],
                    parse=self.parse,
                    reask=self.prompt.reask,
                    cache_salt=None if s == 0 else f"sample-{s}",
                )
                for f, s in jobs
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BudgetExceeded):
                raise outcome
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        for error in errors:
            if not isinstance(error, (JudgeError, MediaError)):
                raise error
        if errors:
            raise errors[0]
        replies: list[JudgeReply[Verdict]] = list(outcomes)  # type: ignore[arg-type]
        vote = combine([r.value.score for r in replies], self.vote)
        judgements = [
            {
                "frame_index": clip.indices[f],
                "timestamp": round(clip.timestamps[f], 4),
                "sample": s,
                "score": r.value.score,
                "explanation": r.value.explanation,
                "cached": r.cached,
                "reasked": r.reasked,
            }
            for (f, s), r in zip(jobs, replies, strict=True)
        ]
        # the explanation of the (first) judgement closest to the combined score
        explanation = min(replies, key=lambda r: abs(r.value.score - vote.score)).value.explanation
        costs = [r.cost_usd for r in replies]
        known = [c for c in costs if c is not None]
        usage = {
            "prompt_tokens": sum(r.usage.prompt_tokens for r in replies),
            "completion_tokens": sum(r.usage.completion_tokens for r in replies),
            "cost_usd": round(sum(known), 6) if len(known) == len(costs) else None,
            "requests": sum(r.requests for r in replies),
            "cached": all(r.cached for r in replies),
        }
        extra = {
            "judgements": judgements,
            "vote": vote.as_dict(),
            "video_frames": {
                "total": clip.total_frames,
                "fps": clip.fps,
                "decode_errors": clip.decode_errors,
                "truncated": clip.truncation,
            },
        }
        return ScoreResult(score=vote.score, explanation=explanation, extra=extra, usage=usage)


@register_scorer
class GPT4OScorer(VLMScorer):
    """OpenAI GPT-4o (``OPENAI_API_KEY``)."""

    name = "gpt4o"
    scorer_id = "GPT4OScorer"
    output_subdir = "gpt4o-eval"
    default_base_url = "https://api.openai.com/v1"
    default_model = JUDGE_MODEL
    api_key_env = "OPENAI_API_KEY"


@register_scorer
class InternVLScorer(VLMScorer):
    """InternVL3 behind lmdeploy's OpenAI-compatible server; the model name comes from the server's
    ``/v1/models`` unless given."""

    name = "internvl"
    scorer_id = "InternVLScorer"
    output_subdir = "internvl-eval"
    default_base_url = "http://localhost:23333/v1"
    default_model = None
    api_key_env = "VISION_API_KEY"


@register_scorer
class OpenAICompatibleScorer(VLMScorer):
    """Any OpenAI-compatible chat server (vLLM, lmdeploy, SGLang, Ollama, hosted APIs)."""

    name = "openai-compatible"
    scorer_id = "OpenAICompatibleScorer"
    output_subdir = "openai-compatible-eval"
    default_base_url = ""
    default_model = None
    api_key_env = None


def make_vlm_scorer(
    kind: str | type[VLMScorer],
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    concurrency: int = 8,
    timeout: float = 120.0,
    connect_timeout: float = 10.0,
    retries: int = 5,
    backoff: float = 1.0,
    temperature: float = 0.0,
    max_tokens: int = 1000,
    max_cost: float | None = None,
    prices: PriceTable | None = None,
    cache: ResponseCache | str | os.PathLike[str] | None = None,
    prompt: PromptTemplate | str | os.PathLike[str] | None = None,
    frames: int = 1,
    last_seconds: float | None = None,
    samples: int = 1,
    vote: str = "majority",
    scorer_id: str | None = None,
    json_mode: bool | None = None,
) -> VLMScorer:
    """Build a VLM scorer and its :class:`JudgeClient` from plain settings (what the CLI calls).

    ``kind`` is a registered name (``gpt4o``, ``internvl``, ``openai-compatible``) or a VLMScorer
    subclass. The API key is read from ``api_key_env`` (default: the class's, e.g.
    ``OPENAI_API_KEY`` for gpt4o); with ``model=None`` an InternVL/OpenAI-compatible scorer asks the
    server's ``/models``. ``json_mode`` sends ``response_format={"type": "json_object"}`` (default:
    on for gpt4o only, since not every local server supports it).
    """
    cls = resolve_scorer_class(kind) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, VLMScorer)):
        raise ConfigError(f"{kind!r} is not a VLM scorer")
    base_url = base_url or cls.default_base_url
    if not base_url:
        raise ConfigError(f"scorer {cls.name!r} needs --base-url (e.g. http://localhost:8000/v1)")
    env = api_key_env or cls.api_key_env
    api_key = os.environ.get(env) if env else None
    if cls is GPT4OScorer and not api_key and "api.openai.com" in base_url:
        raise ConfigError(f"set the {env} environment variable to your OpenAI API key")
    if api_key_env and not api_key:
        raise ConfigError(f"the environment variable {api_key_env} (--api-key-env) is not set")
    if retries < 0 or backoff < 0:
        raise ConfigError(f"--retries and --backoff must be >= 0; got {retries} and {backoff}")
    use_json = json_mode if json_mode is not None else cls is GPT4OScorer
    client = JudgeClient(
        base_url,
        model or cls.default_model or "",
        api_key=api_key,
        concurrency=concurrency,
        connect_timeout=connect_timeout,
        read_timeout=timeout,
        retry=RetryPolicy(max_attempts=retries + 1, base_delay=backoff),
        temperature=temperature,
        max_tokens=max_tokens,
        extra_body={"response_format": {"type": "json_object"}} if use_json else None,
        cache=cache,
        prices=prices,
        max_cost=max_cost,
    )
    return cls(
        client,
        prompt=prompt,
        frames=frames,
        last_seconds=last_seconds,
        samples=samples,
        vote=vote,
        scorer_id=scorer_id,
    )
