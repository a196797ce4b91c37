"""Shared by the benchmarks that talk to a fake OpenAI-compatible server: the common command-line
options and the server itself in a child process (as a real server would be), so its request
handling does not compete with the measured client for this interpreter's GIL."""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency", type=float, default=0.2, help="server latency per request, seconds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="concurrent runs (median reported)")


def _serve(responder: Callable[..., Any], latency: float, model_id: str, conn: Connection) -> None:
    from mmscore.testing.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(responder=responder, latency=latency, model_id=model_id, max_lifetime=900) as server:
        conn.send(server.base_url)
        conn.recv()
        conn.send(server.chat_count)


@contextlib.contextmanager
def served(responder: Callable[..., Any], latency: float, model_id: str = "fake-judge") -> Iterator[dict[str, Any]]:
    """Yield ``{"base_url": ...}``; after the block, ``["requests"]`` holds the chat requests answered."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(responder, latency, model_id, child), daemon=True
    )
    process.start()
    info: dict[str, Any] = {"base_url": parent.recv()}
    try:
        yield info
        parent.send("stop")
        info["requests"] = parent.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
