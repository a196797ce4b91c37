"""The live server over HTTP (no browser): bound to 127.0.0.1, serves media only from the
experiment folder, and its page references nothing outside the server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

pytestmark = pytest.mark.slow


def _file_url(base: str, path: Path | str) -> str:
    return f"{base}/gradio_api/file={quote(str(path))}"


def test_media_only_from_the_experiment_folder(live_server, experiment, tmp_path: Path) -> None:
    scorer, url = live_server
    assert scorer.experiment_dir == experiment.root.resolve()
    inside_file = experiment.tasks[0].run_dir / "question" / "first_frame.png"
    outside = tmp_path / "secret.txt"
    outside.write_text("do not serve")
    scoring = scorer.output_dir / "pilot_experiment" / "x" / "y" / "z" / "human-eval.json"
    scoring.parent.mkdir(parents=True, exist_ok=True)
    scoring.write_text("{}")
    with httpx.Client(timeout=10) as client:
        ok = client.get(_file_url(url, inside_file.resolve()))
        assert ok.status_code == 200 and ok.content == inside_file.read_bytes()
        for path in (
            outside,
            scoring,
            "/etc/passwd",
            experiment.data_dir / "outputs",
            f"{experiment.root.resolve()}/../../{outside.parent.name}/secret.txt",
            f"{experiment.root.resolve()}/../../../../../../etc/passwd",
        ):
            response = client.get(_file_url(url, path))
            assert response.status_code in (403, 404), (path, response.status_code)
            assert b"do not serve" not in response.content


def test_bound_to_localhost_and_page_is_self_contained(live_server) -> None:
    scorer, url = live_server
    assert url.startswith("http://127.0.0.1:")
    blocks = scorer.build_interface()
    assert blocks.server_name == "127.0.0.1"
    assert blocks.analytics_enabled is False  # GRADIO_ANALYTICS_ENABLED=False is set before gradio loads
    with httpx.Client(timeout=10) as client:
        html = client.get(url).text
    external = [
        u for u in re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html) if not u.startswith(url)
    ]
    assert external == []
    assert "__mmscoreKeys" in html  # the keyboard script is injected in the head


def test_no_outside_network_during_launch_and_page_load(
    experiment, tmp_path: Path, monkeypatch, free_port
) -> None:
    """Every name lookup outside the loopback is refused and recorded: none may happen."""
    import socket

    from mmscore.human import HumanScorer

    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "None"):
            attempts.append(name)
            raise OSError(f"network disabled in this test: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    scorer = HumanScorer(
        experiment_name=experiment.experiment, data_dir=experiment.data_dir, output_dir=tmp_path
    )
    port = free_port()
    try:
        scorer.launch_interface(port=port, prevent_thread_lock=True, quiet=True)
        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://127.0.0.1:{port}/").status_code == 200
            assert client.get(f"http://127.0.0.1:{port}/config").status_code == 200
    finally:
        scorer.close()
    assert attempts == []
