"""One relative video path, four routes (issue 20): operator ``run()`` on mmscore's storage and on a
DataFlow-style storage, the ``emscore`` command and ``--engine local`` must resolve it to the same
file — the working directory's, as DataFlow documents (cwd first, then the table's folder) — record
that file as ``media_paths`` and score it alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mmscore.cli.main import main
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table, write_table
from mmscore.operators.emscore import EMScoreEval

SCORE = "EMScore(X,V)_full_F"


class _ForeignStorage:
    """The bare DataFlow contract: ``read``/``write`` and a first entry file, no ``resolve_path``."""

    def __init__(self, first_entry_file_name: str, output: Path) -> None:
        self.first_entry_file_name, self.output = first_entry_file_name, output

    def read(self, output_type: str = "dataframe") -> pd.DataFrame:
        return read_table(self.first_entry_file_name)

    def write(self, df: pd.DataFrame) -> str:
        write_table(df, self.output)
        return str(self.output)


@pytest.fixture()
def ambiguous_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic_videos: dict[str, Path]) -> Path:
    """``clip.mp4`` both beside the table (red) and in the working directory (blue)."""
    table_dir, cwd = tmp_path / "tables", tmp_path / "work"
    table_dir.mkdir()
    cwd.mkdir()
    shutil.copy(synthetic_videos["red_right"], table_dir / "clip.mp4")
    shutil.copy(synthetic_videos["blue_up"], cwd / "clip.mp4")
    table = table_dir / "captions.jsonl"
    write_table(pd.DataFrame({"video_path": ["clip.mp4", "clip.mp4"],
                              "candidate": ["a blue square moves up", "a red square moves right"],
                              "reference": ["a blue square rises", "a red square slides right"]}), table)
    monkeypatch.chdir(cwd)
    return table


def test_one_relative_path_resolves_alike_on_every_route(ambiguous_table: Path, tmp_path: Path,
                                                         tiny_clip_hf_dir: Path) -> None:
    expected = {"clip.mp4": str((tmp_path / "work" / "clip.mp4").resolve())}  # cwd first (DataFlow's order)
    recorded, scores = {}, {}

    storage = FileStorage(str(ambiguous_table), cache_path=str(tmp_path / "steps"), file_name_prefix="em")
    operator = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(cache_dir=False)
    operator.run(storage.step())
    step_file = tmp_path / "steps" / "em_step1.jsonl"
    recorded["run"] = json.loads(step_file.with_name(step_file.name + ".run.json").read_text())["media_paths"]
    scores["run"] = read_table(step_file)[SCORE].tolist()

    foreign = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(cache_dir=False)
    foreign.run(_ForeignStorage(str(ambiguous_table), tmp_path / "foreign.jsonl"))
    recorded["dataflow storage"] = foreign.last_media_paths
    scores["dataflow storage"] = read_table(tmp_path / "foreign.jsonl")[SCORE].tolist()

    for route, extra in (("cli", []), ("engine local", ["--engine", "local", "--shard-size", "1"])):
        output = tmp_path / f"{route.replace(' ', '_')}.jsonl"
        assert main(["-q", "emscore", str(ambiguous_table), "--model", str(tiny_clip_hf_dir), "--no-cache",
                     "-o", str(output), *extra]) == 0
        recorded[route] = json.loads(output.with_name(output.name + ".run.json").read_text())["media_paths"]
        scores[route] = read_table(output)[SCORE].tolist()

    assert recorded == dict.fromkeys(recorded, expected)
    for route, values in scores.items():
        assert values == pytest.approx(scores["run"], abs=1e-6), route
