"""`mmscore analyze plot|stats` end to end, the shipped synthetic scorings and the demo part."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from rich.console import Console

from mmscore.cli.main import main


def test_analyze_plot_and_stats_cli(scorings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "analyze",
            "plot",
            "--eval-folder",
            str(scorings["a"]),
            "--output-dir",
            str(tmp_path / "p"),
            "--format",
            "png",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "p").glob("*.png")) == [
        "domain_heatmap.png",
        "score_distribution.png",
        "success_rate_by_model.png",
    ]
    assert not list((tmp_path / "p").glob("*.eps"))
    rc = main(
        [
            "analyze",
            "stats",
            "--a",
            str(scorings["a"]),
            "--b",
            str(scorings["b"]),
            "--output-dir",
            str(tmp_path / "s"),
            "--seed",
            "2",
            "--margin",
            "0.25",
            "--n-boot",
            "200",
            "--no-figures",
        ]
    )
    assert rc == 0
    saved = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert saved["settings"] == {
        "analysis": "stats",
        "a": "judge-eval",
        "b": "human-eval",
        "rule": "first",
        "seed": 2,
        "n_boot": 200,
        "margin": 0.25,
        "confidence": 0.95,
        "success_threshold": 4,
    }
    assert saved["tost"]["margin"] == 0.25
    assert not list((tmp_path / "s").glob("*.png"))
    out = capsys.readouterr().out
    assert "10 paired items" in out and "report.md" in out


def test_analyze_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "plot", "--eval-folder", str(tmp_path / "missing")]) == 2
    assert "scoring folder not found" in capsys.readouterr().err
    assert main(["analyze", "plot", "--eval-folder", str(tmp_path), "--format", "gif"]) == 2


def test_shipped_examples_are_labelled_synthetic() -> None:
    root = resources.files("mmscore.examples").joinpath("scorings")
    with resources.as_file(root) as folder:
        files = sorted(Path(folder).rglob("*.json"))
        assert len(files) > 100
        for path in files:
            assert json.loads(path.read_text())["metadata"]["synthetic_example"] is True, path
        assert "synthetic" in (Path(folder) / "README.md").read_text().lower()
        assert list(Path(folder).rglob("human-eval@*.json"))  # a second annotator on some items


def test_demo_part_runs_on_shipped_scorings(tmp_path: Path) -> None:
    from mmscore.demo import DemoContext
    from mmscore.demo.parts import analysis

    ctx = DemoContext(workspace=tmp_path, console=Console(quiet=True))
    lines = analysis.run(ctx)
    assert lines[0].startswith("SYNTHETIC example scorings")
    assert any("paired items" in line for line in lines)
    stats_json = ctx.shared["analysis"]["stats_json"]
    saved = json.loads(Path(stats_json).read_text())
    assert saved["n_pairs"] > 40 and saved["pairing"]["excluded_reasons"]["a"] == {"failed": 1, "skipped": 1}
    assert saved["krippendorff_alpha_ordinal_b_annotators"]["n_raters"] == 2
    assert (tmp_path / "analysis" / "plot" / "gpt4o-eval" / "domain_heatmap.pdf").exists()
    assert analysis.ORDER == 60
