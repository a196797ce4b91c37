"""``mmscore eval -o FILE`` writes the format FILE's extension names (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mmscore.cli.main import main


def test_eval_output_format_follows_the_extension(colour_folder: Path, tiny_clip_hf_dir: Path, tmp_path) -> None:
    base = ["-q", "eval", "zeroshot", str(colour_folder), "--model", str(tiny_clip_hf_dir), "--templates", "cifar"]
    assert main([*base, "-o", str(tmp_path / "zs.json")]) == 0
    record = json.loads((tmp_path / "zs.json").read_text())
    assert main([*base, "-o", str(tmp_path / "zs.csv")]) == 0
    row = pd.read_csv(tmp_path / "zs.csv")  # a real CSV, not JSON under a CSV name
    assert len(row) == 1 and row["results.top1"][0] == pytest.approx(record["results"]["top1"])
    assert main([*base, "-o", str(tmp_path / "zs.parquet")]) == 0
    assert pd.read_parquet(tmp_path / "zs.parquet")["signature"][0] == record["signature"]
    assert main([*base, "-o", str(tmp_path / "zs.xlsx")]) == 2  # refused before the model loads
    assert not (tmp_path / "zs.xlsx").exists()
