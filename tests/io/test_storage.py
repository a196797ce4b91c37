"""FileStorage: DataFlow step contract, formats, atomic writes, errors naming file and line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmscore.errors import ConfigError, InputError
from mmscore.io.storage import FileStorage, resolve_media_path
from mmscore.io.tables import read_table, write_table

ROWS = [
    {"id": 1, "text": "a red circle", "score": 0.5, "flag": True, "note": None},
    {"id": 2, "text": "ünïcode — ok", "score": float("nan"), "flag": False, "note": "x"},
    {"id": 3, "text": "", "score": 1.25, "flag": True, "note": None},
]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_round_trip_keeps_values_and_dtypes(tmp_path: Path, fmt: str) -> None:
    path = write_table(_frame(), tmp_path / f"t.{fmt}")
    back = read_table(path)
    assert list(back.columns) == ["id", "text", "score", "flag", "note"]
    assert back["id"].tolist() == [1, 2, 3]
    assert pd.api.types.is_integer_dtype(back["id"])
    assert pd.api.types.is_float_dtype(back["score"])
    assert back["score"].iloc[0] == 0.5 and np.isnan(back["score"].iloc[1]) and back["score"].iloc[2] == 1.25
    assert back["flag"].tolist() == [True, False, True]
    assert back["text"].iloc[1] == "ünïcode — ok"
    assert pd.isna(back["note"].iloc[0]) and back["note"].iloc[1] == "x"


def test_jsonl_writes_null_not_nan(tmp_path: Path) -> None:
    path = write_table(_frame(), tmp_path / "t.jsonl")
    second = json.loads(path.read_text().splitlines()[1])
    assert second["score"] is None  # strict JSON: NaN is written as null


def test_step_files_follow_dataflow_contract(tmp_path: Path) -> None:
    entry = write_table(_frame(), tmp_path / "input.csv")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "cache"), file_name_prefix="pre", cache_type="jsonl")
    s0 = storage.step()
    df = s0.read()
    assert len(df) == 3
    df["new"] = df["id"] * 2
    out = s0.write(df)
    assert Path(out) == tmp_path / "cache" / "pre_step1.jsonl"
    s1 = storage.step()
    records = s1.read(output_type="dict")
    assert [r["new"] for r in records] == [2, 4, 6]
    assert records[1]["score"] is None
    s1.write(records)
    assert (tmp_path / "cache" / "pre_step2.jsonl").exists()


def test_default_arguments_match_dataflow() -> None:
    storage = FileStorage("x.jsonl")
    assert storage.cache_path == "./cache"
    assert storage.file_name_prefix == "dataflow_cache_step"
    assert storage.cache_type == "jsonl"


def test_read_before_step_and_bad_types(tmp_path: Path) -> None:
    storage = FileStorage(str(tmp_path / "in.jsonl"))
    with pytest.raises(InputError, match="before step"):
        storage.read()
    with pytest.raises(ConfigError, match="cache_type"):
        FileStorage("in.jsonl", cache_type="xlsx")
    with pytest.raises(ConfigError, match="output_type"):
        storage.step().read(output_type="table")


def test_missing_and_malformed_files_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.jsonl: file not found"):
        FileStorage(str(tmp_path / "missing.jsonl")).step().read()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{"a": 2\n')
    with pytest.raises(InputError, match=r"bad.jsonl, line 2: invalid JSON"):
        read_table(bad)
    not_object = tmp_path / "list.jsonl"
    not_object.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError, match="line 2: expected a JSON object"):
        read_table(not_object)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"a": 1},\n {"a": }]')
    with pytest.raises(InputError, match="bad.json, line 2"):
        read_table(bad_json)
    spreadsheet = tmp_path / "x.xlsx"
    spreadsheet.write_text("x")
    with pytest.raises(InputError, match="unsupported table extension"):
        read_table(spreadsheet)


def test_missing_step_file_explains(tmp_path: Path) -> None:
    entry = write_table(_frame(), tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "c"))
    storage.step()
    with pytest.raises(InputError, match="step 1 input not found"):
        storage.step().read()


def test_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    write_table(_frame(), target)
    before = target.read_bytes()

    class Boom(Exception):
        pass

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr("mmscore.io.tables.dataframe_records", explode)
    with pytest.raises(Boom):
        write_table(_frame(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left behind


def test_parquet_directory_of_shards(tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    write_table(pd.DataFrame({"a": [1, 2]}), shards / "part-0.parquet")
    write_table(pd.DataFrame({"a": [3]}), shards / "part-1.parquet")
    assert read_table(shards)["a"].tolist() == [1, 2, 3]


def test_json_column_orient_and_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "cols.json"
    path.write_text(json.dumps({"a": [1, 2], "b": ["x", "y"]}))
    assert read_table(path).to_dict(orient="list") == {"a": [1, 2], "b": ["x", "y"]}
    nested = pd.DataFrame({"refs": [["a", "b"], None, ["c"]]})
    for fmt in ("jsonl", "parquet"):
        back = read_table(write_table(nested, tmp_path / f"n.{fmt}"))
        assert list(back["refs"].iloc[0]) == ["a", "b"]


def test_resolve_media_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "img.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert resolve_media_path("img.png", tmp_path / "data") == tmp_path / "data" / "img.png"
    assert resolve_media_path("data/img.png", tmp_path / "elsewhere") == Path("data/img.png")
    assert resolve_media_path(str(tmp_path / "data" / "img.png"), None).is_absolute()
    # found nowhere: the path under the table's folder, so an error names where it was expected
    assert resolve_media_path("gone.png", tmp_path / "data") == tmp_path / "data" / "gone.png"
    assert resolve_media_path("gone.png", None) == Path("gone.png")


def test_atomic_writes_get_normal_permissions(tmp_path: Path) -> None:
    import os
    import stat

    from mmscore.io.atomic import atomic_write_text

    fresh = atomic_write_text(tmp_path / "new.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    existing = tmp_path / "kept.txt"
    existing.write_text("old")
    existing.chmod(0o640)
    atomic_write_text(existing, "new")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640 and existing.read_text() == "new"


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_list_and_dict_cells_survive_every_format(tmp_path: Path, fmt: str) -> None:
    """A reference list written by one step must come back as a list in the next (CSV included:
    its cells are JSON text, not Python's repr that no reader can parse)."""
    frame = pd.DataFrame({"reference": [["a cat", "a dog"], [], None], "meta": [{"k": 1}, {"k": 2}, {"k": 3}]})
    back = read_table(write_table(frame, tmp_path / f"t.{fmt}"))
    assert back["reference"].iloc[0] == ["a cat", "a dog"] and isinstance(back["reference"].iloc[0], list)
    assert back["reference"].iloc[1] == []
    assert back["reference"].iloc[2] is None or pd.isna(back["reference"].iloc[2])
    assert back["meta"].tolist() == [{"k": 1}, {"k": 2}, {"k": 3}]
    if fmt == "csv":
        first_row = (tmp_path / "t.csv").read_text().splitlines()[1]
        assert json.loads(next(csv.reader([first_row]))[0]) == ["a cat", "a dog"]


def test_csv_text_that_only_looks_like_json_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('caption\n"[a picture, framed]"\n"[1, 2]"\n')
    assert read_table(path)["caption"].tolist() == ["[a picture, framed]", "[1, 2]"]


def test_integer_json_column_with_nulls_keeps_integers(tmp_path: Path) -> None:
    """pandas alone turns [1, null, 3] into floats, and the next step would write 1.0 for 1."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "x": 1.0}\n{"id": null, "x": null}\n{"id": 3, "x": 2.5}\n')
    back = read_table(source)
    assert str(back["id"].dtype) == "Int64" and pd.api.types.is_float_dtype(back["x"])
    out = write_table(back, tmp_path / "out.jsonl")
    assert out.read_text() == source.read_text()
