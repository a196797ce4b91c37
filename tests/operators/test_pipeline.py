"""Operators, registry and `mmscore run` pipelines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from mmscore.cli.main import main
from mmscore.errors import ColumnError, ConfigError, InputError
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table, write_table
from mmscore.operators.media_check import MediaPathChecker
from mmscore.operators.registry import build_operator, get_operator
from mmscore.operators.text_stats import TextStatsEvaluator, text_stats


def test_text_stats_hand_worked() -> None:
    assert text_stats("A red circle. It moves left!") == (6, 28, 2)
    assert text_stats("no end mark") == (3, 11, 1)
    assert text_stats("   ") == (0, 3, 0)
    assert text_stats(None) == (None, None, None)
    assert text_stats(float("nan")) == (None, None, None)


def test_missing_column_lists_present(tmp_path: Path) -> None:
    entry = write_table(pd.DataFrame({"caption": ["x"], "id": [1]}), tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "c"))
    with pytest.raises(ColumnError) as info:
        TextStatsEvaluator().run(storage.step(), input_text_key="text")
    assert "column 'text' not found" in str(info.value)
    assert "'caption', 'id'" in str(info.value)


def test_media_checker_flags_bad_paths(tmp_path: Path, sample_images: dict[str, Path]) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    table = pd.DataFrame({"image_path": [str(sample_images["red"]), "nope.png", str(empty), None]})
    entry = write_table(table, tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "c"))
    cols = MediaPathChecker().run(storage.step(), input_key="image_path")
    assert cols == ["image_path_ok", "image_path_error"]
    out = read_table(tmp_path / "c" / "dataflow_cache_step_step1.jsonl")
    assert out["image_path_ok"].tolist() == [True, False, False, False]
    assert out["image_path_error"].iloc[0] is None or pd.isna(out["image_path_error"].iloc[0])
    assert "file not found" in out["image_path_error"].iloc[1]
    assert "empty file" in out["image_path_error"].iloc[2]
    assert "empty path" in out["image_path_error"].iloc[3]


def test_registry_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError, match="Did you mean: TextStatsEvaluator"):
        get_operator("TextStatEvaluator")
    with pytest.raises(ConfigError, match="bad arguments"):
        build_operator("TextStatsEvaluator", {"nonsense": 1})


def _write_pipeline(tmp_path: Path, entry: Path, operators: list[dict]) -> Path:
    spec = {
        "storage": {"first_entry_file_name": entry.name, "cache_path": "cache", "file_name_prefix": "p",
                    "cache_type": "csv"},
        "operators": operators,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_two_operator_pipeline_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = write_table(pd.DataFrame({"caption": ["a b c", "one two"], "reference": ["x", "y z w v"]}),
                        tmp_path / "in.jsonl")
    pipeline = _write_pipeline(tmp_path, entry, [
        {"name": "TextStatsEvaluator", "args": {"prefix": "cap"}, "run": {"input_text_key": "caption"}},
        {"name": "TextStatsEvaluator", "args": {"prefix": "ref"}, "run": {"input_text_key": "reference"}},
    ])
    assert main(["run", str(pipeline)]) == 0
    step1 = read_table(tmp_path / "cache" / "p_step1.csv")
    step2 = read_table(tmp_path / "cache" / "p_step2.csv")
    assert "cap_words" in step1.columns and "ref_words" not in step1.columns
    assert step2["cap_words"].tolist() == [3, 2]
    assert step2["ref_words"].tolist() == [1, 4]
    assert "added cap_words" in capsys.readouterr().out


def test_pipeline_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = write_table(pd.DataFrame({"caption": ["a"]}), tmp_path / "in.jsonl")
    pipeline = _write_pipeline(tmp_path, entry, [{"name": "TextStatsEvaluator", "run": {"input_text_key": "text"}}])
    assert main(["run", str(pipeline)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: column 'text' not found") and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("operators: [\n")
    assert main(["run", str(bad)]) == 2
    assert "invalid YAML" in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({"storage": {"first_entry_file_name": "x"}, "operators": [{"args": {}}]}))
    with pytest.raises(InputError, match="operator #1 must be a mapping with a 'name'"):
        from mmscore.operators.pipeline import load_pipeline

        load_pipeline(bad)


def test_cli_version_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    from mmscore import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mmscore {__version__}"
    assert main(["run", "--list"]) == 0
    assert "TextStatsEvaluator" in capsys.readouterr().out


def test_dataflow_import_surface() -> None:
    import mmscore.dataflow as dataflow

    assert dataflow.FileStorage is FileStorage
    assert dataflow.TextStatsEvaluator is TextStatsEvaluator
    with pytest.raises(AttributeError):
        dataflow.NotAnOperator  # noqa: B018


def test_typer_exit_code_is_returned() -> None:
    """A command ending with typer.Exit(code) must give that exit code through main()."""
    import typer

    from mmscore.cli.app import app

    @app.command("exit-probe", hidden=True)
    def exit_probe(code: int = 3) -> None:
        raise typer.Exit(code)

    try:
        assert main(["exit-probe", "--code", "3"]) == 3
        assert main(["exit-probe", "--code", "0"]) == 0
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands if c.name != "exit-probe"]
