"""A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted faults.

It answers ``POST /v1/chat/completions`` and ``GET /v1/models`` like an OpenAI-compatible server
(OpenAI, lmdeploy, vLLM), so judge code is tested through its real HTTP path. Each chat request is
answered by, in order of precedence:

1. the next :class:`Reply` queued with ``script=[...]`` / :meth:`FakeOpenAIServer.push` (FIFO);
2. ``responder(request)`` -- a callable given the :class:`FakeRequest` (its ``text`` joins every
   text part of the messages, so replies can depend on the task named in the prompt); it may
   return a :class:`Reply`, an ``int`` (shorthand for ``Reply.score(n)``), a ``str`` (the reply
   content verbatim) or ``None`` (use the default);
3. ``default`` (``Reply.score(4)`` unless given).

Faults: ``Reply.error(500)``, ``Reply.rate_limited(retry_after=1)`` (429 + Retry-After),
``Reply.hang(seconds)`` (no answer; the connection is closed afterwards), ``Reply.malformed_body()``
(HTTP 200 whose body is not JSON), ``Reply.text('not json')`` (a malformed *model* reply),
``Reply.score(7)`` (out of range). ``latency`` delays every answer. The server counts requests
(``chat_count``, ``requests``), runs in a daemon thread, stops when the ``with`` block ends and,
as a safety net, by itself after ``max_lifetime`` seconds.

    with FakeOpenAIServer(responder=lambda req: 5, latency=0.2) as server:
        client = JudgeClient(server.base_url, "fake-judge", ...)
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCORE_KEY = "solution_correctness_score"


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    kind: str = "content"  # content | error | hang | raw
    content: str | None = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    delay: float = 0.0  # extra seconds before answering
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens); server default if None

    @classmethod
    def score(
        cls, score: Any, explanation: str = "The final frame matches the expected result.", **kwargs: Any
    ) -> Reply:
        return cls(content=json.dumps({SCORE_KEY: score, "explanation": explanation}), **kwargs)

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        return cls(content=content, **kwargs)

    @classmethod
    def json_reply(cls, obj: Any, **kwargs: Any) -> Reply:
        return cls(content=json.dumps(obj), **kwargs)

    @classmethod
    def error(
        cls,
        status: int = 500,
        body: str = '{"error": {"message": "internal error"}}',
        retry_after: float | str | None = None,
    ) -> Reply:
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return cls(kind="error", status=status, body=body.encode(), headers=headers)

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Reply:
        return cls.error(429, '{"error": {"message": "rate limit reached", "type": "requests"}}', retry_after)

    @classmethod
    def hang(cls, seconds: float = 5.0) -> Reply:
        return cls(kind="hang", delay=seconds)

    @classmethod
    def malformed_body(cls, body: bytes = b'{"choices": [{"message": ') -> Reply:
        return cls(kind="raw", body=body)


@dataclass
class FakeRequest:
    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    received: float = 0.0  # time.monotonic() on arrival (to check waits such as Retry-After)

    @property
    def parts(self) -> list[dict[str, Any]]:
        """Content parts of every message, in order (a string content counts as one text part)."""
        out: list[dict[str, Any]] = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                out.append({"type": "text", "text": content})
            elif isinstance(content, list):
                out.extend(p for p in content if isinstance(p, dict))
        return out

    @property
    def text(self) -> str:
        """Every text part of every message, joined by newlines."""
        parts: list[str] = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(
                    p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
                )
        return "\n".join(parts)

    @property
    def n_images(self) -> int:
        return sum(
            1
            for m in self.messages
            if isinstance(m.get("content"), list)
            for p in m["content"]
            if isinstance(p, dict) and p.get("type") == "image_url"
        )


Responder = Callable[[FakeRequest], "Reply | int | str | None"]


class FakeOpenAIServer:
    """See the module docstring."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        script: Iterable[Reply] = (),
        default: Reply | None = None,
        latency: float = 0.0,
        model_id: str = "fake-judge",
        api_key: str | None = None,
        usage: tuple[int, int] = (1000, 50),
        max_lifetime: float = 300.0,
    ) -> None:
        self.responder = responder
        self.default = default or Reply.score(4)
        self.latency = latency
        self.model_id = model_id
        self.api_key = api_key
        self.usage = usage
        self.max_lifetime = max_lifetime
        self.requests: list[FakeRequest] = []
        self.active = 0  # chat requests being answered right now
        self.max_active = 0  # the most answered at once (to check client concurrency limits)
        self._queue: collections.deque[Reply] = collections.deque(script)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- control ------------------------------------------------------------------------
    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def chat_count(self) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.endswith("/chat/completions"))

    @property
    def chat_requests(self) -> list[FakeRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_active = 0

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering ----------------------------------------------------------------------
    def _record(self, method: str, path: str, headers: dict[str, str], body: Any) -> FakeRequest:
        messages = body.get("messages", []) if isinstance(body, dict) else []
        with self._lock:
            request = FakeRequest(
                len(self.requests), method, path, headers, body, [m for m in messages if isinstance(m, dict)],
                time.monotonic(),
            )
            self.requests.append(request)
        return request

    def _choose(self, request: FakeRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            answer = self.responder(request)
            if isinstance(answer, Reply):
                return answer
            if isinstance(answer, bool):
                raise TypeError("responder returned a bool; return a Reply, an int score or a str")
            if isinstance(answer, int):
                return Reply.score(answer)
            if isinstance(answer, str):
                return Reply.text(answer)
        return self.default

    def completion_body(self, request: FakeRequest, reply: Reply) -> dict[str, Any]:
        prompt_tokens, completion_tokens = reply.usage or self.usage
        model = request.body.get("model", self.model_id) if isinstance(request.body, dict) else self.model_id
        return {
            "id": f"chatcmpl-fake-{request.index}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": reply.content},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK
        # add ~40 ms to every reply
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
            return

        def _send(
            self,
            status: int,
            body: bytes,
            headers: Iterable[tuple[str, str]] = (),
            content_type: str = "application/json",
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._send(401, b'{"error": {"message": "Incorrect API key provided"}}')
            return False

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            server._record("GET", self.path, dict(self.headers), None)
            if not self._authorised():
                return
            if self.path.rstrip("/").endswith("/models"):
                body = {
                    "object": "list",
                    "data": [{"id": server.model_id, "object": "model", "owned_by": "fake"}],
                }
                self._send(200, json.dumps(body).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            request = server._record("POST", self.path, dict(self.headers), body)
            if not self._authorised():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            if body is None:
                self._send(400, b'{"error": {"message": "request body is not JSON"}}')
                return
            with server._lock:
                server.active += 1
                server.max_active = max(server.max_active, server.active)
            try:
                self._answer(request)
            finally:
                with server._lock:
                    server.active -= 1

        def _answer(self, request: FakeRequest) -> None:
            reply = server._choose(request)
            if server._stop.wait(server.latency + (reply.delay if reply.kind != "hang" else 0.0)):
                self.close_connection = True
                return
            if reply.kind == "hang":
                server._stop.wait(reply.delay)
                self.close_connection = True
                return
            try:
                if reply.kind == "error":
                    self._send(reply.status, reply.body or b"", reply.headers)
                elif reply.kind == "raw":
                    self._send(200, reply.body or b"", reply.headers)
                else:
                    self._send(
                        200, json.dumps(server.completion_body(request, reply)).encode(), reply.headers
                    )
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
