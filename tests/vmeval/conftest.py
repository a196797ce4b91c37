"""Helpers for judge tests: run the CLI against a fake OpenAI-compatible server."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from mmscore.cli.main import main
from mmscore.testing.fake_openai import FakeRequest, Reply

SCORER_FILE = "OpenAICompatibleScorer.json"


def cli_args(server, data_dir: Path, *extra: str, kind: str = "openai-compatible") -> list[str]:
    return [
        "score",
        kind,
        "--base-url",
        server.base_url,
        "--model",
        "gpt-4o",
        "--data-dir",
        str(data_dir),
        "--backoff",
        "0.01",
        "--timeout",
        "2",
        "--connect-timeout",
        "2",
        "--retries",
        "2",
        "-c",
        "4",
        *extra,
    ]


def run_cli(server, data_dir: Path, *extra: str, kind: str = "openai-compatible") -> int:
    return main(cli_args(server, data_dir, *extra, kind=kind))


def scorings(data_dir: Path, scorer_dir: str = "openai-compatible-eval", name: str = SCORER_FILE) -> dict:
    """{(model, task_type, task_id): parsed JSON} of every scoring file."""
    root = data_dir / "scorings" / scorer_dir / "pilot_experiment"
    out = {}
    for path in sorted(root.rglob(name)):
        rel = path.relative_to(root).parts
        out[rel[:3]] = json.loads(path.read_text())
    return out


def request_identity(request: FakeRequest) -> str:
    """Text + image bytes of a request: the same task asked twice has the same identity."""
    return hashlib.sha256(json.dumps(request.messages[:2], sort_keys=True).encode()).hexdigest()


class PerTask:
    """A responder whose answer depends on the task id named in the prompt and on how many times this
    exact request (same task, same images) was seen before: ``plan[task_id] = [reply1, reply2, ...]``,
    the last entry repeating."""

    def __init__(self, plan: dict[str, list], default: Reply | int = 4) -> None:
        self.plan = plan
        self.default = default
        self.seen: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def __call__(self, request: FakeRequest):
        task_id = next((t for t in self.plan if t in request.text), None)
        if task_id is None:
            return self.default
        with self.lock:
            count = self.seen[request_identity(request)]
            self.seen[request_identity(request)] += 1
        replies = self.plan[task_id]
        return replies[min(count, len(replies) - 1)]


@pytest.fixture
def per_task() -> Callable[..., PerTask]:
    return PerTask
