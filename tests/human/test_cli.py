"""``mmscore score human``: options reach HumanScorer and launch (the server itself is not started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmscore.cli.main import main
from mmscore.human.scorer import HumanScorer


def _base(experiment) -> list[str]:
    return ["score", "human", "--experiment", experiment.experiment, "--data-dir", str(experiment.data_dir)]


@pytest.fixture()
def launched(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []

    def fake_launch(self, share=False, port=7860, host="127.0.0.1", prevent_thread_lock=False, quiet=False):
        calls.append({"scorer": self, "share": share, "port": port, "host": host})

    monkeypatch.setattr(HumanScorer, "launch_interface", fake_launch)
    return calls


def test_defaults_bind_localhost_7860_blind(experiment, tmp_path: Path, launched) -> None:
    rc = main([*_base(experiment), "--output-dir", str(tmp_path / "out")])
    assert rc == 0
    (call,) = launched
    assert (call["host"], call["port"], call["share"]) == ("127.0.0.1", 7860, False)
    scorer = call["scorer"]
    assert scorer.blind and scorer.annotator is None
    assert not scorer.queue.include_scored_by_others
    # --output-dir is the scorings root (seed 001, like VMEVAL_OUTPUT_DIR): the scorer folder goes under it
    assert scorer.output_dir == (tmp_path / "out" / "human-eval").absolute()
    assert len(scorer.queue.order) == 8


def test_all_options(experiment, tmp_path: Path, launched) -> None:
    rc = main(
        [
            *_base(experiment),
            "--output-dir",
            str(tmp_path / "out"),
            "--annotator",
            " Jane  Doe ",
            "--port",
            "7999",
            "--host",
            "0.0.0.0",
            "--share",
            "--include-scored-by-others",
            "--shuffle",
            "--seed",
            "3",
            "--no-blind",
        ]
    )
    assert rc == 0
    (call,) = launched
    assert (call["host"], call["port"], call["share"]) == ("0.0.0.0", 7999, True)
    scorer = call["scorer"]
    assert scorer.annotator == "Jane Doe" and not scorer.blind
    assert scorer.queue.include_scored_by_others
    import random

    expected = sorted(scorer.queue.order)
    random.Random(3).shuffle(expected)
    assert scorer.queue.order == expected


def test_env_vars_choose_folders(experiment, tmp_path: Path, launched, monkeypatch) -> None:
    monkeypatch.setenv("VMEVAL_DATA_DIR", str(experiment.data_dir))
    monkeypatch.setenv("VMEVAL_OUTPUT_DIR", str(tmp_path / "scorings"))
    assert main(["score", "human", "--experiment", experiment.experiment]) == 0
    assert launched[0]["scorer"].output_dir == (tmp_path / "scorings" / "human-eval").absolute()


def test_errors_are_one_line(experiment, tmp_path: Path, launched, capsys) -> None:
    rc = main(["score", "human", "--experiment", "nope", "--data-dir", str(experiment.data_dir)])
    assert rc == 2
    assert "experiment 'nope' not found" in capsys.readouterr().err
    rc = main([*_base(experiment), "--annotator", "../.."])
    assert rc == 2
    assert "annotator name" in capsys.readouterr().err
    rc = main([*_base(experiment), "--output-dir", str(experiment.root / "model-a" / "scores")])
    assert rc == 2
    assert "inside the experiment folder" in capsys.readouterr().err
    assert launched == []


def test_help_lists_the_options(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich would otherwise cut long option names
    assert main(["score", "human", "--help"]) == 0
    text = capsys.readouterr().out
    for option in (
        "--experiment",
        "--annotator",
        "--port",
        "--share",
        "--host",
        "--data-dir",
        "--output-dir",
        "--include-scored-by-others",
        "--shuffle",
        "--seed",
        "--no-blind",
    ):
        assert option in text
