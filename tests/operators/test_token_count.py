"""CaptionTokenCounter, the architecture doc's example operator: counts checked by hand, and the
same rows through run(), `mmscore run` and the local shard engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from mmscore.cli.main import main
from mmscore.errors import ConfigError
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table, write_table

# Hand-worked: every word below is one entry of CLIP's BPE vocabulary ("a</w>", "photo</w>", ...),
# so a caption takes its word count plus the start and end tokens; "," and "." are tokens of their own.
CAPTIONS = {
    "a photo of a cat": 5 + 2,
    "a red circle, then a blue square.": 7 + 2 + 2,  # 7 words, "," and "."
    " ".join(["cat"] * 100): 100 + 2,
    "": 0 + 2,
}


def _table(tmp_path: Path) -> Path:
    rows = [{"text": caption, "id": i} for i, caption in enumerate(CAPTIONS)] + [{"text": 42, "id": 99}]
    return write_table(pd.DataFrame(rows), tmp_path / "in.jsonl")


def _check(out: pd.DataFrame, context: int) -> None:
    expected = list(CAPTIONS.values())
    assert out["text_tokens"].iloc[:4].tolist() == expected
    assert out["text_over_context"].iloc[:4].tolist() == [n > context for n in expected]
    assert pd.isna(out["text_tokens"].iloc[4])
    assert out["text_tokens_error"].iloc[4] == "column 'text' holds a int (42), not a caption text"
    assert out["text_tokens_error"].iloc[:4].isna().all()


def test_counts_by_hand_through_run(tmp_path: Path) -> None:
    from mmscore.dataflow import CaptionTokenCounter

    storage = FileStorage(str(_table(tmp_path)), cache_path=str(tmp_path / "c"))
    columns = CaptionTokenCounter(context_length=77).run(storage.step(), input_text_key="text")
    assert columns == ["text_tokens", "text_over_context", "text_tokens_error"]
    _check(read_table(tmp_path / "c" / "dataflow_cache_step_step1.jsonl"), 77)


@pytest.mark.parametrize("engine", [None, "local"])
def test_same_counts_through_mmscore_run(tmp_path: Path, engine: str | None) -> None:
    entry = _table(tmp_path)
    spec = {"storage": {"first_entry_file_name": entry.name, "cache_path": "cache", "file_name_prefix": "p"},
            "operators": [{"name": "CaptionTokenCounter", "args": {"context_length": 248},
                           "run": {"input_text_key": "text"}}]}
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump(spec))
    argv = ["run", str(pipeline)] + (["--engine", engine, "--shard-size", "2"] if engine else [])
    assert main(argv) == 0
    _check(read_table(tmp_path / "cache" / "p_step1.jsonl"), 248)


def test_listed_and_bad_context_named() -> None:
    from mmscore.operators.registry import list_operators
    from mmscore.operators.token_count import CaptionTokenCounter

    assert "CaptionTokenCounter" in list_operators()
    with pytest.raises(ConfigError, match="context_length: expected an integer >= 2"):
        CaptionTokenCounter(context_length=1)
