"""List cells written as Python literals (DataFlow's CSV writer) and the storage-capability helpers."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmscore.io.cells import parse_container, text_list, text_lists
from mmscore.io.storage import FileStorage
from mmscore.io.storage_access import describe_input, media_resolver, portable_frame, write_frame
from mmscore.io.tables import read_table, write_table


def test_python_literal_lists_are_read_as_lists(caplog) -> None:
    cells = ["['a blue box rises', 'the box goes up']", '["json", "list"]', "[a caption in brackets]",
             "('a', 'tuple')", None, ["already", "a list"], "one caption"]
    with caplog.at_level(logging.WARNING, logger="mmscore.io.cells"):
        got = text_lists(cells, "reference")
    assert got == [["a blue box rises", "the box goes up"], ["json", "list"], ["[a caption in brackets]"],
                   ["('a', 'tuple')"], [], ["already", "a list"], ["one caption"]]
    assert "column 'reference': 1 of 7 cells held a Python-literal list" in caplog.text
    assert text_list("[\"it's\", 'mixed \"quotes\"']") == ["it's", 'mixed "quotes"']


def test_literals_only_never_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for text in (f"[open({str(marker)!r}, 'w')]", "[__import__('os').getcwd()]", "[1 + 1]", "[x for x in 'ab']"):
        assert parse_container(text) == (None, None)
        assert text_list(text) == [text]
    assert not marker.exists()
    assert parse_container("{'k': [1, None]}") == ({"k": [1, None]}, "python")
    assert parse_container("[" * 100_000 + "]" * 100_000) == (None, None)  # too deep: stays text


def test_csv_reader_counts_python_literal_cells(tmp_path: Path, caplog) -> None:
    path = tmp_path / "dataflow.csv"
    pd.DataFrame({"refs": [str(["a", "b"]), str(["c"])], "caption": ["x", "y"]}).to_csv(path, index=False)
    with caplog.at_level(logging.WARNING):
        frame = read_table(path)
    assert frame["refs"].tolist() == [["a", "b"], ["c"]] and frame["caption"].tolist() == ["x", "y"]
    assert "column 'refs': 2 of 2 cells held a Python-literal list" in caplog.text


class _PlainStorage:
    """Only DataFlow's contract plus the attributes its FileStorage carries (no resolve_path)."""

    def __init__(self, first_entry_file_name: str, df: pd.DataFrame) -> None:
        self.first_entry_file_name = first_entry_file_name
        self.cache_path, self.file_name_prefix, self.cache_type = "c", "p", "csv"
        self.operator_step = 2
        self.df, self.written = df, None

    def read(self, output_type: str = "dataframe") -> pd.DataFrame:
        return self.df

    def write(self, data: pd.DataFrame) -> str:
        self.written = data
        return "somewhere"


def test_resolver_and_input_name_without_extra_capabilities(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.png").write_bytes(b"x")
    storage = _PlainStorage(str(tmp_path / "table.jsonl"), pd.DataFrame())
    assert media_resolver(storage)("media/a.png") == tmp_path / "media" / "a.png"
    assert media_resolver(storage)("/abs/b.png") == Path("/abs/b.png")
    assert describe_input(storage) == str(Path("c") / "p_step2.csv")
    remote = _PlainStorage("hf:org/set:train", pd.DataFrame())
    assert media_resolver(remote)("media/a.png") == Path("media/a.png")
    ours = FileStorage(str(tmp_path / "table.jsonl"))
    ours.step()
    assert media_resolver(ours) == ours.resolve_path and describe_input(ours) == str(tmp_path / "table.jsonl")


def test_portable_frame_has_no_pd_na() -> None:
    frame = pd.DataFrame({
        "score": pd.array([0.5, None], dtype="Float64"),
        "count": pd.array([3, None], dtype="Int64"),
        "flag": pd.array([True, None], dtype="boolean"),
        "error": pd.Series([None, pd.NA], dtype=object),
        "full": pd.array([1, 2], dtype="Int64"),
    })
    out = portable_frame(frame)
    assert out["score"].dtype == np.float64 and np.isnan(out["score"][1]) and out["score"][0] == 0.5
    assert out["count"].tolist() == [3, None] and type(out["count"][0]) is int
    assert out["flag"].tolist() == [True, None] and out["error"].tolist() == [None, None]
    assert str(out["full"].dtype) == "Int64"  # nothing missing: unchanged
    assert str(frame["count"].dtype) == "Int64"  # the input is not modified
    plain = _PlainStorage("t.jsonl", frame)
    write_frame(plain, frame)
    assert plain.written["count"].tolist() == [3, None]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet", "pickle"])
def test_mmscore_storage_every_cache_type(fmt: str, tmp_path: Path) -> None:
    entry = write_table(pd.DataFrame({"text": ["a b", None]}), tmp_path / "in.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "c"), cache_type=fmt)
    step = storage.step()
    assert step.get_keys_from_dataframe() == ["text"]
    frame = step.read()
    frame["n"] = pd.array([2, None], dtype="Int64")
    assert step.write(frame).endswith(f"_step1.{fmt}")
    back = storage.step().read()
    assert back["n"].isna().tolist() == [False, True] and int(back["n"][0]) == 2
    assert storage.reset().operator_step == -1
