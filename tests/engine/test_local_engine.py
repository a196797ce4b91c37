"""The local engine: identical to the operator's own run() over the whole table, resumable, pinned."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmscore.engine import run_engine
from mmscore.errors import ConfigError, DependencyError
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table
from mmscore.operators.base import Operator
from mmscore.operators.emscore import EMScoreEval
from mmscore.operators.image_text import ImageLongCLIPEvaluator


def _emscore(model: Path) -> EMScoreEval:
    return EMScoreEval(clip_model_path=str(model)).configure(cache_dir=False)


def _whole_table_run(operator, table: Path, tmp_path: Path, **run_kwargs) -> pd.DataFrame:
    """The operator's own DataFlow entry point over the whole table (the reference)."""
    storage = FileStorage(str(table), cache_path=str(tmp_path / "step"), cache_type="parquet")
    step = storage.step()
    operator.run(step, **run_kwargs)
    return read_table(step.output_path())


def _score_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("EMScore(") or c.endswith("_score")]


def test_emscore_shards_equal_whole_table_run(tmp_path: Path, tiny_clip_hf_dir: Path, video_table: Path) -> None:
    reference = _whole_table_run(_emscore(tiny_clip_hf_dir), video_table, tmp_path)
    result = run_engine(_emscore(tiny_clip_hf_dir), video_table, tmp_path / "out.jsonl", shard_size=2)
    out = read_table(result.output)
    assert list(out.columns) == list(reference.columns)
    columns = _score_columns(out)
    assert len(columns) == 21
    np.testing.assert_allclose(out[columns].astype(float).to_numpy(), reference[columns].astype(float).to_numpy(),
                               atol=1e-6, equal_nan=True)
    assert result.rows == 7 and result.shards == 4 and result.failed == 2
    errors = out["emscore_error"].tolist()
    assert "corrupt.mp4" in errors[4] and errors[5] == reference["emscore_error"][5]
    assert errors[5].startswith("row 5: empty or missing candidate")  # numbered in the whole table
    assert all(pd.isna(e) for i, e in enumerate(errors) if i not in (4, 5))
    assert out.loc[[4, 5], columns].isna().all().all()
    # the input cells are written back as read (a list and a plain text reference)
    assert out["reference"][0] == ["a blue square goes up", "a green box moving to the left"]
    assert out["reference"][1] == "two cats play with a ball"

    # the broadcast idf matters: scoring each shard on its own (idf from the shard) differs
    table = read_table(video_table)
    alone = _emscore(tiny_clip_hf_dir).score_dataframe(
        table.iloc[0:2], lambda p: video_table.parent / p, "video_path", "candidate", "reference")
    assert abs(alone["EMScore(X,X*)_figr_P"][0] - out["EMScore(X,X*)_figr_P"][0]) > 1e-5
    # the first pass's corpus: every reference of the table flattened, as the official code
    from tests.engine.conftest import CAPTIONS

    expected = []
    for i in range(7):
        expected += [CAPTIONS[(i + 1) % 6], CAPTIONS[(i + 2) % 6]] if i % 2 == 0 else [CAPTIONS[(i + 3) % 6]]
    # the driver's first pass: idf over that corpus (BERTScore-style, pad id 0 counted, EOT = mean)
    operator = _emscore(tiny_clip_hf_dir)
    encoder = operator.load()
    state = operator.prepare(table, operator.keys())
    documents = [set(row) for row in encoder.tokenize(expected).ids.tolist()]
    vocabulary = set().union(*documents)
    n_docs = len(documents)
    want = {t: math.log((n_docs + 1) / (sum(t in d for d in documents) + 1)) for t in vocabulary}
    want[max(vocabulary)] = sum(want.values()) / len(want)
    got = state.idf
    assert got.corpus_size == n_docs and got.default == pytest.approx(math.log(n_docs + 1))
    assert set(got.weights) == set(want)
    assert all(got.weights[t] == pytest.approx(want[t], abs=1e-12) for t in want)


def test_resume_reruns_only_incomplete_shards(tmp_path: Path, tiny_clip_hf_dir: Path, image_table: Path) -> None:
    def op() -> ImageLongCLIPEvaluator:
        return ImageLongCLIPEvaluator(str(tiny_clip_hf_dir))

    output = tmp_path / "scored.csv"
    first = run_engine(op(), image_table, output, shard_size=5)
    assert first.shards == 3 and first.shards_run == 3
    before = read_table(output)
    shards = first.shard_dir
    kept = (shards / "part-000000.parquet").stat().st_mtime_ns
    # a job killed after writing shard 1's file but before its marker, and before shard 2
    (shards / "part-000001.done.json").unlink()
    (shards / "part-000002.parquet").unlink()
    (shards / "part-000002.done.json").unlink()
    output.unlink()
    second = run_engine(op(), image_table, output, shard_size=5)
    assert second.shards_run == 2
    assert (shards / "part-000000.parquet").stat().st_mtime_ns == kept
    after = read_table(output)
    pd.testing.assert_frame_equal(after, before)
    reference = _whole_table_run(op(), image_table, tmp_path)
    np.testing.assert_allclose(after["longclip_score"].astype(float), reference["longclip_score"].astype(float),
                               atol=1e-6, equal_nan=True)
    assert after["longclip_score_error"].notna().tolist() == [i == 9 for i in range(12)]
    assert "missing.png" in after["longclip_score_error"][9]


def test_job_pinning_and_overwrite(tmp_path: Path, tiny_clip_hf_dir: Path, image_table: Path) -> None:
    output = tmp_path / "scored.parquet"
    run_engine(ImageLongCLIPEvaluator(str(tiny_clip_hf_dir)), image_table, output, shard_size=6)
    with pytest.raises(ConfigError, match="shard_size"):
        run_engine(ImageLongCLIPEvaluator(str(tiny_clip_hf_dir)), image_table, output, shard_size=4)
    with pytest.raises(ConfigError, match="steps"):
        run_engine(ImageLongCLIPEvaluator(str(tiny_clip_hf_dir)), image_table, output, shard_size=6,
                   run_kwargs={"output_key": "other"})
    result = run_engine(ImageLongCLIPEvaluator(str(tiny_clip_hf_dir)), image_table, output, shard_size=4,
                        overwrite=True)
    assert result.shards == 3 and result.shards_run == 3
    assert sorted(p.name for p in result.shard_dir.glob("*.done.json")) == [
        f"part-{i:06d}.done.json" for i in range(3)]


def test_ray_engine_without_ray_says_how_to_install(tmp_path: Path, image_table: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(DependencyError, match=r"pip install 'mmscore\[ray\]'"):
        run_engine(ImageLongCLIPEvaluator("unused"), image_table, tmp_path / "o.csv", engine="ray")
    assert not (tmp_path / "o.csv.shards").exists()


def test_unshardable_operator_and_bad_arguments_are_refused(tmp_path: Path, image_table: Path) -> None:
    class WholeTable(Operator):
        def run(self, storage, input_key: str = "x") -> list[str]:
            return []

    with pytest.raises(ConfigError, match="cannot be run by the sharded engines"):
        run_engine(WholeTable(), image_table, tmp_path / "o.csv")
    with pytest.raises(ConfigError, match="bad arguments"):
        run_engine(ImageLongCLIPEvaluator("x"), image_table, tmp_path / "o.csv", run_kwargs={"nope": 1})
    with pytest.raises(ConfigError, match="engine must be one of"):
        run_engine(ImageLongCLIPEvaluator("x"), image_table, tmp_path / "o.csv", engine="spark")


def test_cli_run_pipeline_with_local_engine(tmp_path: Path, tiny_clip_hf_dir: Path, image_table: Path) -> None:
    from mmscore.cli.main import main

    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        f"storage:\n  first_entry_file_name: {image_table}\n  cache_path: {tmp_path / 'cache'}\n"
        "  file_name_prefix: p\n  cache_type: jsonl\n"
        "operators:\n  - name: TextStatsEvaluator\n    run: {input_text_key: text}\n"
        f"  - name: ImageLongCLIPEvaluator\n    args: {{model_name: '{tiny_clip_hf_dir}'}}\n", encoding="utf-8")
    assert main(["run", str(pipeline)]) == 0
    classic = read_table(tmp_path / "cache" / "p_step2.jsonl")
    (tmp_path / "cache" / "p_step2.jsonl").unlink()
    assert main(["run", str(pipeline), "--engine", "local", "--shard-size", "5"]) == 0
    sharded = read_table(tmp_path / "cache" / "p_step2.jsonl")
    assert list(sharded.columns) == list(classic.columns)
    pd.testing.assert_frame_equal(sharded.drop(columns=["longclip_score"]), classic.drop(columns=["longclip_score"]))
    np.testing.assert_allclose(sharded["longclip_score"].astype(float), classic["longclip_score"].astype(float),
                               atol=1e-6, equal_nan=True)
    assert (tmp_path / "cache" / "p_step2.jsonl.shards" / "part-000002.done.json").exists()
    assert main(["run", str(pipeline), "--num-workers", "2"]) == 2  # engine options need --engine


def test_ray_only_options_need_the_ray_engine(tmp_path: Path, image_table: Path) -> None:
    from mmscore.cli.main import main

    with pytest.raises(ConfigError, match="--stall-timeout need --engine ray"):
        run_engine(ImageLongCLIPEvaluator("x"), image_table, tmp_path / "o.csv", stall_timeout=30)
    assert main(["longclip", str(image_table), "--engine", "local", "--stall-timeout", "30",
                 "--output", str(tmp_path / "o.csv")]) == 2
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.csv.shards").exists()
