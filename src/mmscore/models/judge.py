"""One asynchronous client for OpenAI-compatible chat servers, used by every LLM/VLM judge.

GPT-4o, an lmdeploy/vLLM server running InternVL or Qwen-VL, and any other server speaking the
``/v1/chat/completions`` protocol are all called through :class:`JudgeClient`. It exists once so
that every judge gets the same guarantees:

* **Concurrency** -- at most ``concurrency`` HTTP requests in flight (an ``asyncio.Semaphore``).
* **Timeouts always set** -- connect and read timeouts separately (``httpx.Timeout``) plus an
  overall per-attempt deadline, so a server that hangs or trickles bytes cannot stall a run.
* **Retries** -- on 408/409/425/429/5xx, timeouts, connection errors and unparseable response bodies:
  exponential backoff with jitter (``base * 2**attempt``, the upper half randomised), and at least
  as long as the server's ``Retry-After`` / ``retry-after-ms`` header says. Other 4xx statuses are
  not retried. After the last try a :class:`~mmscore.errors.JudgeHTTPError` or
  :class:`~mmscore.errors.JudgeTimeout` is raised whose ``attempts`` attribute lists every try.
* **Strict parsing with one corrective re-ask** -- the caller supplies ``parse(text) -> T``; if it
  raises (``JudgeParseError`` or ``ValueError``), the bad reply and the parser's complaint are sent
  back once, asking for a corrected answer. If that also fails, ``JudgeParseError`` is raised. The
  client never invents a value: no digit is fished out of free text.
* **Persistent response cache** (SQLite, :class:`ResponseCache`) keyed by the sha256 of model,
  messages (images included, since they travel as data URLs inside the messages) and sampling
  parameters. A re-run of the same requests costs nothing and makes no HTTP request. Replies that
  ended in a parse failure are evicted, so a failed item is really asked again next run.
* **Off the event loop** -- the canonical JSON of a request, its cache key (sha256) and the request
  body are computed in the client's own worker threads: with real video frames a request carries
  megabytes of base64, and encoding it on the event loop would stall every other request in flight.
  For the same reason, build messages with large images (:func:`image_part` PNG-encodes arrays) in
  a thread, e.g. ``await asyncio.to_thread(build, ...)``, as the VMEvalKit scorers do.
* **Usage and cost** -- tokens from each reply's ``usage`` block, priced with a
  :class:`PriceTable` ($ per 1M tokens; gpt-4o defaults below, overridable from a JSON/YAML file).
  With ``max_cost`` set, no new request starts once the spent cost plus the expected cost of the
  requests already in flight reaches the limit: :class:`~mmscore.errors.BudgetExceeded` is raised
  instead (cached replies are still served). Requests already in flight finish, so the spend can
  exceed the limit by at most the cost of ``concurrency`` requests.

Using it from another judge (e.g. EMER's 0-10 text-only scoring)::

    import asyncio
    from mmscore.models.judge import JudgeClient, ResponseCache, json_object

    def parse(text: str) -> int:                 # raise ValueError/JudgeParseError when unusable
        obj = json_object(text)                   # the single JSON object in the reply
        score = obj.get("score")
        if not isinstance(score, int) or not 0 <= score <= 10:
            raise ValueError(f"'score' must be an integer 0-10, got {score!r}")
        return score

    async def main() -> None:
        async with JudgeClient("https://api.openai.com/v1", "gpt-4o", api_key_env="OPENAI_API_KEY",
                               concurrency=8, cache=ResponseCache("judge-cache.sqlite"),
                               max_cost=5.0) as client:
            replies = await asyncio.gather(
                *(client.chat([{"role": "user", "content": p}], parse=parse) for p in prompts),
                return_exceptions=True)          # JudgeError subclasses per failed item
            print(client.usage.as_dict())        # requests, cache hits, tokens, cost_usd

    asyncio.run(main())

``reply.value`` is what ``parse`` returned, ``reply.text`` the raw reply, ``reply.usage`` its
tokens and ``reply.cost_usd`` its cost (0 for cached replies). Multimodal messages are built with
:func:`image_part` / :func:`text_part`. Pass ``cache_salt=i`` to draw independent samples of the same
request (otherwise the cache returns the first sample each time). ``await client.list_models()``
asks ``GET /models``; ``client.set_model(name)`` sets the model afterwards. Use one client inside one
event loop (``async with``): its connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.utils
import functools
import hashlib
import io
import json
import logging
import os
import random
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from mmscore.errors import (
    BudgetExceeded,
    ConfigError,
    InputError,
    JudgeError,
    JudgeHTTPError,
    JudgeParseError,
    JudgeTimeout,
    require,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_REASK = "Reply again with only the requested JSON object and nothing else."
#: zlib level of the PNGs made from frames: lossless like the default level 6, about 4x faster to
#: encode for ~10% more bytes (a 640x480 frame: ~30 ms instead of ~120 ms on one core)
PNG_COMPRESS_LEVEL = 1
RETRY_STATUSES = frozenset({408, 409, 425, 429})

# --------------------------------------------------------------------------- prices
#: $ per 1M tokens (input, output). OpenAI list prices for standard (non-batch) API use as
#: published on openai.com/api/pricing, checked 2025-10-14: gpt-4o (= gpt-4o-2024-08-06 and later)
#: $2.50 in / $10.00 out; gpt-4o-mini $0.15 / $0.60; gpt-4.1 $2.00 / $8.00; gpt-4.1-mini $0.40 / $1.60.
#: Models served locally (lmdeploy, vLLM) cost nothing per token; give them 0 in a price file if
#: you want ``--max-cost`` to apply. Override or extend with :meth:`PriceTable.load`.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
}
PRICES_DATE = "2025-10-14"


@dataclass(frozen=True)
class Price:
    input_per_1m: float
    output_per_1m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


class PriceTable:
    """Model name -> :class:`Price`. Lookup is exact, then the longest table key that prefixes the
    model name (so ``gpt-4o-2024-08-06`` is priced as ``gpt-4o``, ``gpt-4o-mini-...`` as
    ``gpt-4o-mini``)."""

    def __init__(self, prices: Mapping[str, Price | tuple[float, float]] | None = None) -> None:
        source = DEFAULT_PRICES if prices is None else prices
        self.prices = {
            name: p if isinstance(p, Price) else Price(float(p[0]), float(p[1])) for name, p in source.items()
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str], include_defaults: bool = True) -> PriceTable:
        """Read ``{model: {"input": $/1M, "output": $/1M}}`` (JSON or YAML; ``input_per_1m`` /
        ``output_per_1m`` also accepted) on top of the defaults."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the price table ({exc})") from exc
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: invalid JSON in the price table ({exc})") from exc
        if not isinstance(data, dict):
            raise InputError(f"{path}: the price table must map model names to prices")
        table = dict(DEFAULT_PRICES) if include_defaults else {}
        merged: dict[str, Price | tuple[float, float]] = dict(table)
        for model, entry in data.items():
            if not isinstance(entry, dict):
                raise InputError(f"{path}: price of {model!r} must be a mapping with 'input' and 'output'")
            try:
                inp = float(entry.get("input", entry.get("input_per_1m")))
                out = float(entry.get("output", entry.get("output_per_1m")))
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"{path}: price of {model!r} needs numeric 'input' and 'output' ($ per 1M tokens)"
                ) from exc
            if inp < 0 or out < 0:
                raise InputError(f"{path}: price of {model!r} must not be negative")
            merged[str(model)] = Price(inp, out)
        return cls(merged)

    def lookup(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None


# --------------------------------------------------------------------------- usage
@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class RunUsage:
    """Totals over one client's lifetime (one scoring run)."""

    requests: int = 0  # HTTP chat requests answered (retries not counted)
    attempts: int = 0  # HTTP attempts including retries
    cache_hits: int = 0
    reasks: int = 0
    failures: int = 0  # chat() calls that raised
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True  # False once a reply came from a model with no price

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["cost_usd"] = round(self.cost_usd, 6) if self.cost_known else None
        return out


@dataclass
class JudgeReply(Generic[T]):
    """A parsed reply. ``usage``/``cost_usd`` cover every request made for it (incl. a re-ask)."""

    value: T
    text: str
    usage: Usage
    cost_usd: float | None
    cached: bool  # True if no HTTP request was needed
    requests: int  # HTTP requests made (0 when cached)
    reasked: bool
    model: str
    texts: list[str] = field(default_factory=list)  # every raw reply, the accepted one last


# --------------------------------------------------------------------------- messages
def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def data_url(image: Any, fmt: str = "PNG") -> str:
    """``data:image/...;base64,...`` for a file path (PNG/JPEG bytes sent as they are, other
    formats re-encoded as PNG), a PIL image or an HxWx3 uint8 array (encoded as PNG)."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        suffix = path.suffix.lower()
        try:
            if suffix in (".png", ".jpg", ".jpeg"):
                mime = "image/png" if suffix == ".png" else "image/jpeg"
                return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except OSError as exc:
            from mmscore.errors import MediaError

            raise MediaError(f"{path}: cannot read image ({exc})") from exc
    if not isinstance(image, Image.Image):
        import numpy as np

        image = Image.fromarray(np.ascontiguousarray(image))
    buffer = io.BytesIO()
    options = {"compress_level": PNG_COMPRESS_LEVEL} if fmt.upper() == "PNG" else {}
    image.save(buffer, format=fmt, **options)
    mime = f"image/{fmt.lower()}"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def image_part(image: Any, detail: str | None = None) -> dict[str, Any]:
    """An ``image_url`` content part carrying the image as a data URL."""
    url: dict[str, Any] = {"url": data_url(image)}
    if detail:
        url["detail"] = detail
    return {"type": "image_url", "image_url": url}


def json_object(text: str) -> dict[str, Any]:
    """The one JSON object in a reply (code fences and surrounding prose tolerated).

    Raises JudgeParseError if there is no object, or several different ones: guessing which of two
    answers the model meant is not parsing.
    """
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = text.find("{")
    while index != -1:
        try:
            obj, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        index = text.find("{", end)
    if not found:
        raise JudgeParseError("the reply contains no JSON object", raw=text)
    if any(obj != found[0] for obj in found[1:]):
        raise JudgeParseError("the reply contains several different JSON objects", raw=text)
    return found[0]


def request_key(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of model + messages (with image data) + parameters."""
    payload = json.dumps(
        {"model": model, "messages": list(messages), "params": dict(params)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _chat_body(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> bytes:
    """The JSON bytes POSTed to ``/chat/completions`` (private ``_``-parameters left out)."""
    body = {"model": model, "messages": list(messages), **{k: v for k, v in params.items() if not k.startswith("_")}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------- cache
class ResponseCache:
    """Replies stored in SQLite by request key. Safe across threads and processes (WAL mode); a killed
    process loses at most the reply it was writing, never the file. ``synchronous=NORMAL``: a commit
    does not wait for an fsync (it would stall the event loop on every reply); an OS crash may lose
    the last few replies, which only means they are asked again. Closed connections reopen on use,
    so one cache object can serve several runs."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        with self._lock:
            self._connection()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, content TEXT, "
                    "prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
                )
                conn.commit()
            except sqlite3.DatabaseError as exc:
                raise InputError(
                    f"{self.path}: not a usable response cache ({exc}); "
                    "delete it or pass another --cache path"
                ) from exc
            self._conn = conn
        return self._conn

    def get(self, key: str) -> tuple[str, Usage] | None:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT content, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
                )
                .fetchone()
            )
        return None if row is None else (row[0], Usage(int(row[1] or 0), int(row[2] or 0)))

    def put(self, key: str, model: str, content: str, usage: Usage) -> None:
        with self._lock:
            conn = self._connection()
            conn.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, content, usage.prompt_tokens, usage.completion_tokens, time.time()),
            )
            conn.commit()

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            conn = self._connection()
            conn.executemany("DELETE FROM replies WHERE key = ?", [(k,) for k in keys])
            conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# --------------------------------------------------------------------------- client
@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # first try + 5 retries
    base_delay: float = 1.0  # seconds; attempt k waits about base * 2**k
    max_delay: float = 60.0
    max_retry_after: float = 300.0  # longest Retry-After honoured


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Retryable(Exception):
    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None, timeout: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.timeout = timeout


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers return content parts
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "".join(texts) if texts else None
    return None


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA bundle costs tens of ms per client)."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class JudgeClient:
    """Asynchronous OpenAI-compatible chat client (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1000,
        extra_body: Mapping[str, Any] | None = None,
        cache: ResponseCache | str | os.PathLike[str] | None = None,
        prices: PriceTable | None = None,
        max_cost: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        require("httpx", "judge")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1; got {concurrency}")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ConfigError("timeouts must be positive: a judge request must never wait forever")
        if max_cost is not None and max_cost < 0:
            raise ConfigError(f"max_cost must be >= 0; got {max_cost}")
        if api_key is None and api_key_env:
            api_key = os.environ.get(api_key_env) or None
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retry = retry or RetryPolicy()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = dict(extra_body or {})
        self.cache = ResponseCache(cache) if isinstance(cache, (str, os.PathLike)) else cache
        self._owns_cache = isinstance(cache, (str, os.PathLike))
        self.prices = prices or PriceTable()
        self.max_cost = max_cost
        self.usage = RunUsage()
        self._headers = dict(headers or {})
        self._semaphore: asyncio.Semaphore | None = None
        self._http: Any = None
        self._encoder: ThreadPoolExecutor | None = None  # JSON + sha256 of request payloads
        self._in_flight = 0
        self._budget_hit = False
        self._warned_price = False
        #: every backoff wait in seconds (for logs and tests); ``_sleep`` is replaceable in tests
        self.retry_waits: list[float] = []
        self._sleep: Callable[[float], Any] = asyncio.sleep
        if model:
            self.set_model(model)

    def set_model(self, model: str) -> None:
        """Set the model (e.g. after asking the server); with ``max_cost`` its price must be known."""
        if self.max_cost is not None and self.prices.lookup(model) is None:
            raise ConfigError(
                f"--max-cost needs a price for model {model!r}, which is not in the price table; "
                "pass a price file (--prices) with its $ per 1M input/output tokens"
            )
        self.model = model

    # -- lifecycle ----------------------------------------------------------------------
    async def __aenter__(self) -> JudgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _client(self) -> Any:
        if self._http is None:
            import httpx

            timeout = httpx.Timeout(
                connect=self.connect_timeout,
                read=self.read_timeout,
                write=self.read_timeout,
                pool=self.read_timeout + self.connect_timeout,
            )
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            headers = {"Content-Type": "application/json", **self._headers}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._http = httpx.AsyncClient(
                timeout=timeout, limits=limits, headers=headers, verify=_ssl_context()
            )
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._encoder is not None:
            self._encoder.shutdown(wait=False)
            self._encoder = None
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    # -- public API ---------------------------------------------------------------------
    async def list_models(self) -> list[str]:
        """Model ids from ``GET /models`` (retried like chat requests)."""
        body = await self._with_retries("GET", "/models", None)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise JudgeHTTPError(f"{self.base_url}/models: the reply has no 'data' list of models")
        return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]

    def params(
        self, temperature: float | None = None, max_tokens: int | None = None, cache_salt: object = None
    ) -> dict[str, Any]:
        params = {
            "temperature": self.temperature if temperature is None else temperature,
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
            **self.extra_body,
        }
        if cache_salt is not None:
            params["_sample"] = cache_salt
        return params

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        parse: Callable[[str], T],
        temperature: float | None = None,
        max_tokens: int | None = None,
        reask: str | None = DEFAULT_REASK,
        cache_salt: object = None,
    ) -> JudgeReply[T]:
        """Send ``messages``, parse the reply, re-ask once if ``parse`` rejects it.

        ``reask=None`` disables the corrective re-ask. Raises JudgeParseError (after the re-ask),
        JudgeHTTPError / JudgeTimeout (after the last retry) or BudgetExceeded.
        """
        try:
            return await self._chat(list(messages), parse, temperature, max_tokens, reask, cache_salt)
        except BudgetExceeded:
            raise
        except JudgeError:
            self.usage.failures += 1
            raise

    async def _chat(
        self,
        messages: list[Mapping[str, Any]],
        parse: Callable[[str], T],
        temperature: float | None,
        max_tokens: int | None,
        reask: str | None,
        cache_salt: object,
    ) -> JudgeReply[T]:
        params = self.params(temperature, max_tokens, cache_salt)
        usage, texts, keys = Usage(), [], []
        cost: float | None = 0.0
        requests = 0
        conversation = list(messages)
        last_error: Exception | None = None
        for turn in range(2 if reask else 1):
            key, text, turn_usage, from_cache = await self._complete(conversation, params)
            keys.append(key)
            texts.append(text)
            if not from_cache:
                requests += 1
                usage.add(turn_usage)
                turn_cost = self._cost(turn_usage)
                cost = None if (cost is None or turn_cost is None) else cost + turn_cost
            try:
                value = parse(text)
            except (JudgeParseError, ValueError, TypeError) as exc:
                last_error = exc
                if turn == 0 and reask:
                    self.usage.reasks += 1
                    conversation = [
                        *conversation,
                        {"role": "assistant", "content": text},
                        {"role": "user", "content": f"Your reply could not be used: {exc}. {reask}"},
                    ]
                continue
            return JudgeReply(
                value=value,
                text=text,
                usage=usage,
                cost_usd=cost,
                cached=requests == 0,
                requests=requests,
                reasked=turn > 0,
                model=self.model,
                texts=texts,
            )
        if self.cache is not None:
            # a reply that ended in failure is forgotten, so the next run really asks again
            self.cache.delete(keys)
        error = JudgeParseError(
            f"unusable reply{' after one corrective re-ask' if reask else ''}: {last_error}; "
            f"last reply: {texts[-1][:300]!r}",
            raw=texts[-1],
        )
        error.texts = texts  # type: ignore[attr-defined]
        error.requests = requests  # type: ignore[attr-defined]
        raise error

    # -- internals ----------------------------------------------------------------------
    def _cost(self, usage: Usage) -> float | None:
        price = self.prices.lookup(self.model)
        if price is None:
            if not self._warned_price:
                log.warning("no price for model %r: cost is not estimated", self.model)
                self._warned_price = True
            return None
        return price.cost(usage.prompt_tokens, usage.completion_tokens)

    def _check_budget(self) -> None:
        if self.max_cost is None:
            return
        answered = max(1, self.usage.requests)
        expected_in_flight = self._in_flight * (self.usage.cost_usd / answered)
        if self._budget_hit or self.usage.cost_usd + expected_in_flight >= self.max_cost:
            self._budget_hit = True
            raise BudgetExceeded(
                f"--max-cost ${self.max_cost:.4f} reached (spent ${self.usage.cost_usd:.4f}); "
                "no new requests are started"
            )

    async def _off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """Run CPU work on a request payload in the client's encoder threads (not the default
        executor, where frame decoding may queue ahead of it)."""
        if self._encoder is None:
            self._encoder = ThreadPoolExecutor(
                max_workers=min(4, self.concurrency), thread_name_prefix="mmscore-judge-encode"
            )
        return await asyncio.get_running_loop().run_in_executor(self._encoder, function, *args)

    async def _complete(
        self, messages: list[Mapping[str, Any]], params: dict[str, Any]
    ) -> tuple[str, str, Usage, bool]:
        key = ""
        if self.cache is not None:
            key = await self._off_loop(request_key, self.model, messages, params)
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.cache_hits += 1
                return key, hit[0], hit[1], True
        body = await self._off_loop(_chat_body, self.model, messages, params)
        reply = await self._with_retries("POST", "/chat/completions", body, parse_chat=True)
        text, usage = reply
        self.usage.requests += 1
        self.usage.prompt_tokens += usage.prompt_tokens
        self.usage.completion_tokens += usage.completion_tokens
        cost = self._cost(usage)
        if cost is None:
            self.usage.cost_known = False
        else:
            self.usage.cost_usd += cost
        if self.cache is not None:
            self.cache.put(key, self.model, text, usage)
        return key, text, usage, False

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = min(self.retry.max_delay, self.retry.base_delay * (2**attempt))
        delay = cap / 2 + random.uniform(0, cap / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry.max_retry_after))
        return delay

    async def _with_retries(self, method: str, path: str, body: bytes | None, parse_chat: bool = False) -> Any:
        url = self.base_url + path
        history: list[dict[str, Any]] = []
        for attempt in range(self.retry.max_attempts):
            try:
                return await self._attempt(method, url, body, parse_chat)
            except _Retryable as exc:
                history.append({"attempt": attempt + 1, "error": str(exc), "status": exc.status})
                if attempt + 1 >= self.retry.max_attempts:
                    cls_message = f"{url}: gave up after {attempt + 1} attempts; last error: {exc}"
                    error: JudgeError = (
                        JudgeTimeout(cls_message)
                        if exc.timeout
                        else JudgeHTTPError(cls_message, status=exc.status)
                    )
                    error.attempts = history  # type: ignore[attr-defined]
                    raise error from None
                delay = self._backoff(attempt, exc.retry_after)
                history[-1]["wait_s"] = round(delay, 3)
                log.info("%s: %s; retry %d in %.2fs", url, exc, attempt + 1, delay)
                self.retry_waits.append(delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, method: str, url: str, body: bytes | None, parse_chat: bool) -> Any:
        import httpx

        client = self._client()
        assert self._semaphore is not None
        async with self._semaphore:
            if parse_chat:
                self._check_budget()  # here, not before queueing: the in-flight count is now exact
            self._in_flight += 1
            self.usage.attempts += 1
            try:
                deadline = self.connect_timeout + self.read_timeout + 5.0
                response = await asyncio.wait_for(
                    client.request(method, url, content=body)
                    if body is not None
                    else client.request(method, url),
                    timeout=deadline,
                )
            except (httpx.TimeoutException, asyncio.TimeoutError) as exc:
                raise _Retryable(
                    f"timed out ({type(exc).__name__}, read timeout {self.read_timeout}s)", timeout=True
                ) from None
            except httpx.TransportError as exc:
                raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from None
            finally:
                self._in_flight -= 1
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            raise _Retryable(
                f"HTTP {status}: {response.text[:200]!r}",
                status=status,
                retry_after=_retry_after(response.headers),
            )
        if status >= 400:
            hint = " (check the API key)" if status in (401, 403) else ""
            raise JudgeHTTPError(f"{url}: HTTP {status}{hint}: {response.text[:300]}", status=status)
        try:
            data = response.json()
        except ValueError:
            raise _Retryable(
                f"HTTP {status} with a body that is not JSON: {response.text[:200]!r}", status=status
            ) from None
        if not parse_chat:
            return data
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise _Retryable(
                f"HTTP {status} without choices[0].message: {str(data)[:200]!r}", status=status
            ) from None
        text = _content_text(message.get("content") if isinstance(message, dict) else None)
        if text is None:
            text = ""
        raw_usage = data.get("usage") if isinstance(data, dict) else None
        usage = Usage()
        if isinstance(raw_usage, dict):
            usage = Usage(
                int(raw_usage.get("prompt_tokens") or 0), int(raw_usage.get("completion_tokens") or 0)
            )
        return text, usage


# --------------------------------------------------------------------------- configuration
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class JudgeConfig:
    """How to reach and pace one judge: the single configuration of every LLM/VLM judge.

    The VLM judges (``mmscore score``), the emotion judges (``mmscore emotion ov|emer``) and model
    inference read this one dataclass, and the CLI fills it from one set of flags
    (``--base-url --model --api-key-env --concurrency --timeout --connect-timeout --retries
    --backoff --cache --max-cost``), so a setting means the same and defaults the same everywhere.
    ``None`` for ``base_url``/``model``/``api_key_env`` means "the caller's default" (a scorer's
    server, the emotion judge's OpenAI endpoint): :meth:`with_defaults` fills them in.
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    api_key: str | None = None  # an explicit key wins over api_key_env (Python API only)
    concurrency: int = 8
    timeout: float = 120.0  # read timeout per request, seconds
    connect_timeout: float = 10.0
    retries: int = 5  # retries after the first attempt (429/5xx/timeouts)
    backoff: float = 1.0  # base delay of the exponential backoff, seconds
    cache: str | os.PathLike[str] | ResponseCache | None = None
    max_cost: float | None = None
    prices: PriceTable | None = None
    temperature: float = 0.0
    max_tokens: int = 1000

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1; got {self.concurrency}")
        if self.retries < 0 or self.backoff < 0:
            raise ConfigError(f"--retries and --backoff must be >= 0; got {self.retries} and {self.backoff}")
        if not (self.timeout > 0 and self.connect_timeout > 0):
            raise ConfigError("--timeout and --connect-timeout must be positive: a request must never wait forever")
        if self.max_cost is not None and self.max_cost < 0:
            raise ConfigError(f"--max-cost must be >= 0; got {self.max_cost}")

    def replace(self, **changes: Any) -> JudgeConfig:
        return dataclasses.replace(self, **changes)

    def with_defaults(self, *, base_url: str | None = None, model: str | None = None,
                      api_key_env: str | None = None) -> JudgeConfig:
        """This configuration with unset endpoint fields taken from the given defaults."""
        return self.replace(base_url=self.base_url or base_url, model=self.model or model,
                            api_key_env=self.api_key_env or api_key_env)

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key
        return os.environ.get(self.api_key_env) or None if self.api_key_env else None

    def check_api_key(self, explicit_env: bool = False) -> None:
        """Fail before any work when the key cannot be there: OpenAI's API without a key, or an
        ``--api-key-env`` the user named that is not set."""
        if self.resolved_api_key():
            return
        if explicit_env and self.api_key_env:
            raise ConfigError(f"the environment variable {self.api_key_env} (--api-key-env) is not set")
        if self.base_url and "api.openai.com" in self.base_url:
            env = self.api_key_env or "OPENAI_API_KEY"
            raise ConfigError(f"the judge at {self.base_url} needs an API key: set the {env} environment "
                              "variable, or point --base-url at another OpenAI-compatible server")

    def client(self, *, extra_body: Mapping[str, Any] | None = None) -> JudgeClient:
        """The :class:`JudgeClient` this configuration describes."""
        if not self.base_url:
            raise ConfigError("the judge needs --base-url (an OpenAI-compatible URL ending in /v1)")
        return JudgeClient(
            self.base_url, self.model or "", api_key=self.resolved_api_key(), concurrency=self.concurrency,
            connect_timeout=self.connect_timeout, read_timeout=self.timeout,
            retry=RetryPolicy(max_attempts=self.retries + 1, base_delay=self.backoff),
            temperature=self.temperature, max_tokens=self.max_tokens, extra_body=extra_body, cache=self.cache,
            prices=self.prices, max_cost=self.max_cost,
        )
