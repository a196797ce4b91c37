"""mmscore's operators and storage inside the real DataFlow package (open-dataflow 1.0.13).

CI installs it without its dependencies (``.ci/run``); locally these tests skip when it is absent.
Values are checked against mmscore's own storage path (whose scores the operator tests check
against independent computations) and against what DataFlow's readers return.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dataflow", reason="open-dataflow is not installed (pip install --no-deps open-dataflow==1.0.13)")

from dataflow.core import OperatorABC  # noqa: E402
from dataflow.pipeline import PipelineABC  # noqa: E402
from dataflow.utils.registry import OPERATOR_REGISTRY  # noqa: E402
from dataflow.utils.storage import DataFlowStorage, LazyFileStorage  # noqa: E402
from dataflow.utils.storage import FileStorage as DFFileStorage  # noqa: E402

import mmscore.dataflow as mmdf  # noqa: E402
from mmscore.cli.main import main  # noqa: E402
from mmscore.io.cells import clean_text  # noqa: E402
from mmscore.io.tables import read_table, write_table  # noqa: E402
from mmscore.operators.registry import get_operator  # noqa: E402

FORMATS = ["json", "jsonl", "csv", "parquet", "pickle"]


def _no_na_text(frame: pd.DataFrame) -> None:
    cells = [v for column in frame.columns for v in frame[column] if isinstance(v, str)]
    assert not [v for v in cells if v in ("<NA>", "nan", "None")], "a null was written as text"


@pytest.fixture()
def image_table(tmp_path: Path, sample_images) -> Path:
    """Image paths relative to the table's folder (DataFlow's storage has no resolve_path)."""
    folder = tmp_path / "data"
    (folder / "img").mkdir(parents=True)
    for color, path in sample_images.items():
        (folder / "img" / f"{color}.png").write_bytes(Path(path).read_bytes())
    rows = [("img/red.png", "A Red Square."), ("img/green.png", "A green square on grey"),
            ("img/blue.png", "Blue"), ("img/missing.png", "a square"), ("img/red.png", None)]
    return write_table(pd.DataFrame(rows, columns=["image_path", "text"]), folder / "in.jsonl")


def test_registered_as_dataflow_citizens() -> None:
    for name in mmdf.OPERATOR_NAMES:
        cls = get_operator(name)
        assert OPERATOR_REGISTRY.get(name) is cls
        assert issubclass(cls, OperatorABC)
        zh, en = cls.get_desc("zh"), cls.get_desc("en")
        assert zh and en and zh != en and cls.get_desc() == zh
    assert isinstance(mmdf.FileStorage("x.jsonl"), DataFlowStorage)


@pytest.mark.parametrize("which", ["file", "memory"])
def test_image_text_operators_on_dataflow_storages(which, image_table: Path, tmp_path: Path, tiny_clip_hf_dir):
    model = str(tiny_clip_hf_dir)
    ours = mmdf.FileStorage(str(image_table), cache_path=str(tmp_path / "ours"))
    mmdf.ImageLongCLIPEvaluator(model_name=model).run(ours.step())
    expected = read_table(tmp_path / "ours" / "dataflow_cache_step_step1.jsonl")
    if which == "file":
        storage = DFFileStorage(str(image_table), cache_path=str(tmp_path / "df"))
        assert mmdf.ImageLongCLIPEvaluator(model_name=model).run(storage.step()) == ["longclip_score"]
        got = storage.step().read("dataframe")
        checker = DFFileStorage(str(image_table), cache_path=str(tmp_path / "chk"))
        mmdf.MediaPathChecker().run(checker.step(), input_key="image_path")
        assert checker.step().read("dataframe")["image_path_ok"].tolist() == [True, True, True, False, True]
    else:  # DataFlow's in-memory storage: steps live in buffers until flushed
        storage = LazyFileStorage(str(image_table), cache_path=str(tmp_path / "lazy"), save_on_exit=False)
        mmdf.ImageLongCLIPEvaluator(model_name=model).run(storage.step())
        got = storage.step().read("dataframe")
        assert not (tmp_path / "lazy").exists()
    np.testing.assert_allclose(got["longclip_score"].to_numpy(float), expected["longclip_score"].to_numpy(float),
                               rtol=0, atol=1e-9, equal_nan=True)  # DataFlow's JSON keeps 10 digits
    assert got["longclip_score"].isna().tolist() == [False, False, False, True, True]
    assert "not found" in got["longclip_score_error"][3]
    _no_na_text(got)


def test_emscore_on_dataflow_csv_equals_jsonl(tmp_path: Path, synthetic_videos, tiny_clip_hf_dir, caplog) -> None:
    videos = list(synthetic_videos.values())
    captions = ["a red square moves right", "a blue square rises", "a green square moves left"]
    refs = [["a red box going right", "the box slides right"], ["a blue box rises", "the box goes up"],
            ["a green box going left", "it moves to the left"]]
    rows = [{"video_path": str(videos[i % 3]), "candidate": captions[(i + i // 3) % 3], "reference": refs[i % 3]}
            for i in range(6)]
    entry = write_table(pd.DataFrame(rows), tmp_path / "in.jsonl")

    def evaluator():
        return mmdf.EMScoreEval(every_n_frames=5, clip_model_path=str(tiny_clip_hf_dir))

    ours = mmdf.FileStorage(str(entry), cache_path=str(tmp_path / "ours"))
    evaluator().run(ours.step())
    expected = read_table(tmp_path / "ours" / "dataflow_cache_step_step1.jsonl")

    # DataFlow writes step 1 as CSV (its writer stores a list cell as Python literal text)
    storage = DFFileStorage(str(entry), cache_path=str(tmp_path / "df"), file_name_prefix="em", cache_type="csv")
    OPERATOR_REGISTRY.get("LowercaseRefiner")().run(storage.step(), input_key="candidate")
    csv_text = (tmp_path / "df" / "em_step1.csv").read_text()
    assert "\"['a red box going right', 'the box slides right']\"" in csv_text
    with caplog.at_level(logging.WARNING, logger="mmscore.io.cells"):
        columns = evaluator().run(storage.step())
    assert "6 of 6 cells held a Python-literal list" in caplog.text
    got = storage.step().read("dataframe")
    score_columns = [c for c in columns if c.startswith("EMScore")]
    assert len(score_columns) == 21
    np.testing.assert_allclose(got[score_columns].to_numpy(float), expected[score_columns].to_numpy(float),
                               rtol=0, atol=1e-9)
    # mmscore's own reader takes the same CSV's list cells as lists
    assert read_table(tmp_path / "df" / "em_step1.csv")["reference"].tolist() == refs * 2


class MixedPipeline(PipelineABC):
    """DataFlow's LowercaseRefiner, then mmscore's TextStatsEvaluator and ImageLongCLIPEvaluator."""

    def __init__(self, storage, model: str, text_key: str = "text") -> None:
        super().__init__()
        self.storage = storage
        self.lower = OPERATOR_REGISTRY.get("LowercaseRefiner")()
        self.stats = OPERATOR_REGISTRY.get("TextStatsEvaluator")()
        self.clip = OPERATOR_REGISTRY.get("ImageLongCLIPEvaluator")(model_name=model)
        self.text_key = text_key

    def forward(self) -> None:
        self.lower.run(storage=self.storage.step(), input_key="text")
        self.stats.run(storage=self.storage.step(), input_text_key=self.text_key)
        self.clip.run(storage=self.storage.step(), input_image_key="image_path", input_text_key="text",
                      output_key="longclip_score")


@pytest.mark.parametrize("storage_kind", ["dataflow-jsonl", "mmscore-pickle"])
def test_compile_forward_and_resume(storage_kind, tmp_path: Path, sample_images, tiny_clip_hf_dir) -> None:
    rows = [(str(sample_images[c]), t) for c, t in
            (("red", "A RED Square. Big."), ("green", "a Green square"), ("blue", "Blue!"))]
    entry = write_table(pd.DataFrame(rows, columns=["image_path", "text"]), tmp_path / "in.jsonl")
    cache = tmp_path / "cache"
    if storage_kind == "dataflow-jsonl":
        storage, last = DFFileStorage(str(entry), cache_path=str(cache)), cache / "dataflow_cache_step_step3.jsonl"
    else:
        storage = mmdf.FileStorage(str(entry), cache_path=str(cache), cache_type="pickle")
        last = cache / "dataflow_cache_step_step3.pickle"
    pipeline = MixedPipeline(storage, str(tiny_clip_hf_dir))
    pipeline.compile()
    assert not cache.exists()  # compile records the operators; nothing runs
    pipeline.forward()
    out = read_table(last)
    assert out["text"].tolist() == ["a red square. big.", "a green square", "blue!"]
    assert out["text_words"].tolist() == [4, 3, 1] and out["text_sentences"].tolist() == [2, 1, 1]
    direct = mmdf.ImageLongCLIPEvaluator(model_name=str(tiny_clip_hf_dir)).score_dataframe(
        out[["image_path", "text"]], Path, "image_path", "text", "longclip_score")
    np.testing.assert_allclose(out["longclip_score"].to_numpy(float), direct["longclip_score"].to_numpy(float),
                               rtol=0, atol=1e-9)
    before = last.read_bytes() if storage_kind == "dataflow-jsonl" else None
    last.unlink()
    pipeline.forward(resume_step=2)  # only the third operator runs again, from step 2's file
    again = read_table(last)
    pd.testing.assert_frame_equal(again, out)
    if before is not None:
        assert last.read_bytes() == before


def test_compile_checks_mmscore_operator_keys(tmp_path: Path, sample_images, tiny_clip_hf_dir) -> None:
    entry = write_table(pd.DataFrame({"image_path": [str(sample_images["red"])], "text": ["x"]}), tmp_path / "i.jsonl")
    pipeline = MixedPipeline(DFFileStorage(str(entry), cache_path=str(tmp_path / "c")), str(tiny_clip_hf_dir),
                             text_key="caption")
    with pytest.raises(KeyError, match="caption"):
        pipeline.compile()


def test_run_yaml_names_dataflow_operators(tmp_path: Path) -> None:
    entry = write_table(pd.DataFrame({"text": ["Two Words", "ONE"]}), tmp_path / "in.jsonl")
    spec = tmp_path / "pipe.yaml"
    spec.write_text(
        f"storage: {{first_entry_file_name: {entry}, cache_path: {tmp_path / 'c'}, file_name_prefix: p}}\n"
        "operators:\n"
        "  - {name: LowercaseRefiner, run: {input_key: text}}\n"
        "  - {name: TextStatsEvaluator, run: {input_text_key: text}}\n"
    )
    assert main(["run", str(spec)]) == 0
    out = read_table(tmp_path / "c" / "p_step2.jsonl")
    assert out["text"].tolist() == ["two words", "one"] and out["text_words"].tolist() == [2, 1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_nulls_round_trip_through_both_writers(fmt, image_table: Path, tmp_path: Path, tiny_clip_hf_dir) -> None:
    # mmscore operators (Int64 and Float64 columns with nulls) written by DataFlow's writer
    storage = DFFileStorage(str(image_table), cache_path=str(tmp_path / "df"), cache_type=fmt)
    mmdf.TextStatsEvaluator().run(storage.step(), input_text_key="text")
    mmdf.ImageLongCLIPEvaluator(model_name=str(tiny_clip_hf_dir)).run(storage.step())
    written = tmp_path / "df" / f"dataflow_cache_step_step2.{fmt}"
    for frame in (storage.step().read("dataframe"), read_table(written)):
        _no_na_text(frame)
        assert [clean_text(v) is None for v in frame["text_words"]] == [False] * 4 + [True]
        assert [clean_text(v) is None for v in frame["longclip_score"]] == [False] * 3 + [True, True]
        assert frame["text_words"][0] == 3
    # the same nulls written by mmscore's writer, read by DataFlow's reader
    ours = mmdf.FileStorage(str(image_table), cache_path=str(tmp_path / "ours"), cache_type=fmt)
    mmdf.TextStatsEvaluator().run(ours.step(), input_text_key="text")
    back = DFFileStorage(str(tmp_path / "ours" / f"dataflow_cache_step_step1.{fmt}")).step().read("dataframe")
    _no_na_text(back)
    assert back["text_words"].isna().tolist() == [False] * 4 + [True]
    assert back["text"].isna().tolist() == [False] * 4 + [True]
