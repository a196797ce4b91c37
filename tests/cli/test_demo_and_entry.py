"""`mmscore demo` runs offline and exits 0; the console script works from a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_offline(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "MMSCORE_QUIET": "1"}
    proc = subprocess.run([sys.executable, "-m", "mmscore", "demo", "--workspace", str(tmp_path / "ws")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Demo finished" in proc.stdout
    assert (tmp_path / "ws" / "storage" / "cache" / "demo_step2.jsonl").exists()


def test_unknown_demo_part_is_an_error_listing_the_parts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mmscore.cli.main import main

    assert main(["demo", "--workspace", str(tmp_path / "ws"), "--only", "emscore", "--only", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown demo part(s) nonsense" in err
    for part in ("storage", "emscore", "image_text", "judges", "analysis", "emotion", "zz_workspace"):
        assert part in err
    assert not (tmp_path / "ws").exists()  # nothing ran, nothing written


def test_unknown_command_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    from mmscore.cli.main import main

    assert main(["no-such-command"]) != 0


def test_bad_option_value_names_the_option_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An out-of-range option value is a usage error (exit 2) that names the option — whichever
    click (the package or typer's bundled copy) raised it."""
    from mmscore.cli.main import main

    assert main(["score", "gpt4o", "--experiment", "x", "--concurrency", "0"]) == 2
    err = capsys.readouterr().err
    assert "--concurrency" in err and "greater than or equal to 1" in err
    assert "unexpected" not in err


def test_missing_input_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mmscore.cli.main import main

    assert main(["emscore", str(tmp_path / "absent.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"Error: {tmp_path / 'absent.jsonl'}: file not found (use --debug for a traceback)"
