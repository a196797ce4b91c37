"""Fixtures for the human scoring UI: a synthetic experiment, a live server, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory):
    """2 models x 2 task types x 2 tasks = 8 tasks (runs layout, mpeg4 videos)."""
    from mmscore.testing.experiments import make_experiment

    return make_experiment(
        tmp_path_factory.mktemp("human-data"),
        experiment="pilot_experiment",
        models=("model-a", "model-b"),
        task_types=("chess_task", "maze_task"),
        n_tasks=2,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def free_port():
    """A function returning a currently free TCP port on 127.0.0.1."""
    return _free_port


@contextlib.contextmanager
def _serving(scorer):
    """Run ``scorer``'s page on a free 127.0.0.1 port: yields ``(scorer, url)``, closes it after."""
    port = _free_port()
    scorer.launch_interface(port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield scorer, f"http://127.0.0.1:{port}"
    finally:
        scorer.close()


@pytest.fixture(scope="session")
def serving():
    """``with serving(HumanScorer(...)) as (scorer, url): ...`` — the page is closed afterwards."""
    return _serving


@pytest.fixture(scope="module")
def live_server(experiment, tmp_path_factory: pytest.TempPathFactory):
    """A HumanScorer serving the experiment on a free 127.0.0.1 port; closed after the module."""
    from mmscore.human import HumanScorer

    output_dir = tmp_path_factory.mktemp("human-scorings")
    scorer = HumanScorer(
        experiment_name=experiment.experiment, data_dir=experiment.data_dir, output_dir=output_dir
    )
    with _serving(scorer) as running:
        yield running


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's chromium; missing -> skip locally, fail in CI (where .ci/run installs it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)
    pytest.importorskip("playwright.sync_api", reason="playwright (pip) drives the browser")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
