"""Run a prompt over every gold row through an OpenAI-compatible server, with resume.

Transport is :class:`mmscore.models.judge.JudgeClient` (concurrency, retries honouring
Retry-After, timeouts, cost cap) with its SQLite response cache as the resume record: every reply
is stored under the sha256 of (model, messages with the frames, decoding parameters) as it
arrives, so a run killed at any point loses nothing, a rerun asks only the rows without a stored
reply (missing or failed ones; failures are never stored), and any change to the prompt, the
frames, the model or a decoding setting changes the key and asks again. Answered rows are also
stored under a fingerprint that needs no decoding (:mod:`.resume`), so a rerun decodes only the
rows still to ask. The output is written once, atomically, after every row has an outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmscore.emotion.infer.output import RowResult
from mmscore.emotion.infer.request import RequestPlan, build_request
from mmscore.emotion.infer.resume import recall, remember, row_fingerprint
from mmscore.emotion.infer.rows import Row
from mmscore.errors import BudgetExceeded, ConfigError, JudgeError, MMScoreError


@dataclass
class Transport:
    """The judge/LLM transport settings (the flags every judge command shares)."""

    base_url: str
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 120.0
    connect_timeout: float = 10.0
    retries: int = 5
    backoff: float = 1.0
    cache: Path | None = None
    max_cost: float | None = None
    prices: Path | Any = None  # a price file, or a PriceTable

    def client(self, generation: dict[str, Any]) -> Any:
        from mmscore.models.judge import JudgeClient, PriceTable, RetryPolicy

        if self.retries < 0:
            raise ConfigError(f"--retries must be >= 0; got {self.retries}")
        extra = {k: v for k, v in generation.items() if k not in ("temperature", "max_tokens")}
        return JudgeClient(
            self.base_url, self.model or "", api_key_env=self.api_key_env, concurrency=self.concurrency,
            connect_timeout=self.connect_timeout, read_timeout=self.timeout,
            retry=RetryPolicy(max_attempts=self.retries + 1, base_delay=self.backoff),
            temperature=float(generation["temperature"]), max_tokens=int(generation["max_tokens"]),
            extra_body=extra, cache=str(self.cache) if self.cache else None,
            prices=PriceTable.load(self.prices) if isinstance(self.prices, (str, Path)) else self.prices,
            max_cost=self.max_cost,
        )


@dataclass
class InferRun:
    results: list[RowResult]
    model: str
    server_models: list[str] | None
    server_models_error: str | None
    usage: dict[str, Any]
    elapsed_s: float
    budget_stopped: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def _verbatim(text: str) -> str:
    return text


async def resolve_model(client: Any, wanted: str | None) -> tuple[str, list[str] | None, str | None]:
    """The model to ask, and what ``GET /models`` listed (None + the error if it could not be read)."""
    try:
        listed: list[str] | None = await client.list_models()
        error = None
    except JudgeError as exc:
        if getattr(exc, "status", None) is None:  # no HTTP answer at all: every row would fail the same way
            raise ConfigError(f"cannot reach the server at {client.base_url}: {exc}") from exc
        listed, error = None, str(exc)  # e.g. 404: a server without /models still serves chat
    if wanted:
        return wanted, listed, error
    if listed and len(listed) == 1:
        return listed[0], listed, error
    shown = ", ".join(listed or []) or f"none could be read ({error})"
    raise ConfigError(f"pass --model: the server lists {shown}")


async def _one(row: Row, plan: RequestPlan, client: Any, limit: asyncio.Semaphore) -> RowResult:
    async with limit:
        cache = client.cache
        fingerprint = row_fingerprint(plan, row, client.model, client.params()) if cache is not None else None
        known = recall(cache, fingerprint, row.key)
        if known is not None:
            client.usage.cache_hits += 1
            return known
        try:
            request = await asyncio.to_thread(build_request, plan, row)
        except MMScoreError as exc:
            return RowResult(row.key, "", "error", str(exc), question=plan.question_for(row.key))
        base = dict(positions=request.positions, question=request.question, total_frames=request.total_frames)
        note = f"{request.decode_errors} packet(s) of the video did not decode" if request.decode_errors else ""
        try:
            reply = await client.chat(request.messages, parse=_verbatim, reask=None)
        except BudgetExceeded as exc:
            return RowResult(row.key, "", "not_started", str(exc), **base)
        except JudgeError as exc:
            return RowResult(row.key, "", "error", str(exc), **base)
        result = RowResult(row.key, reply.value, "ok", note, **base)
        remember(cache, fingerprint, client.model, result, reply.usage)
        return result


async def infer_rows(rows: list[Row], plan: RequestPlan, transport: Transport, generation: dict[str, Any],
                     on_row: Callable[[RowResult], None] | None = None) -> InferRun:
    """Ask every row (cache hits cost nothing); results in gold order."""
    started = time.monotonic()
    async with transport.client(generation) as client:
        model, listed, list_error = await resolve_model(client, transport.model)
        client.set_model(model)
        limit = asyncio.Semaphore(2 * transport.concurrency)  # decoded rows waiting + in flight
        tasks = [asyncio.create_task(_one(row, plan, client, limit)) for row in rows]
        for finished in asyncio.as_completed(tasks):
            result = await finished
            if on_row is not None:
                on_row(result)
        results = [task.result() for task in tasks]
        usage = client.usage.as_dict()
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "error", "not_started")}
    return InferRun(results, model, listed, list_error, usage, time.monotonic() - started,
                    budget_stopped=counts["not_started"] > 0, counts=counts)
