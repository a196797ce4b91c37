"""The operator contract: run() == local shard engine == settings/prepare/score called by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmscore.engine import run_engine
from mmscore.io.tables import read_table
from mmscore.operators.contract import Media, RowError
from mmscore.operators.emscore import EMScoreEval
from mmscore.operators.image_text import ImageLongCLIPEvaluator
from mmscore.operators.text_stats import TextStatsEvaluator


def _emscore(model: Path) -> EMScoreEval:
    return EMScoreEval(clip_model_path=str(model)).configure(cache_dir=False)


def _by_hand(operator, table: pd.DataFrame, media: Media, cut: int) -> pd.DataFrame:
    """prepare over the whole table, score shard by shard, errors numbered by input position."""
    keys = operator.keys()
    state = operator.prepare(table, keys)
    parts = []
    for start in range(0, len(table), cut):
        rows = table.iloc[start:start + cut]
        parts.append(operator.score(rows, state, keys, media).added_to(rows, list(range(start, start + len(rows)))))
    return pd.concat(parts)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, scores: list[str], errors: str) -> None:
    np.testing.assert_allclose(a[scores].astype(float).to_numpy(), b[scores].astype(float).to_numpy(),
                               atol=1e-6, equal_nan=True)
    assert a[errors].fillna("").tolist() == b[errors].fillna("").tolist()


def test_emscore_run_engine_and_hand_calls_agree(tmp_path: Path, tiny_clip_hf_dir: Path, video_table: Path) -> None:
    table = read_table(video_table)
    media = Media.beside(video_table)
    whole = _emscore(tiny_clip_hf_dir).score_dataframe(table, media.resolve)
    scores = _emscore(tiny_clip_hf_dir).score_columns()
    hand = _by_hand(_emscore(tiny_clip_hf_dir), table, media, cut=3)
    engine = read_table(run_engine(_emscore(tiny_clip_hf_dir), video_table, tmp_path / "o.parquet",
                                   shard_size=3).output)
    _assert_same(hand, whole, scores, "emscore_error")
    _assert_same(engine, whole, scores, "emscore_error")
    # row 5 (empty caption) sits at position 2 of the second shard: numbered 5 everywhere
    assert hand["emscore_error"].iloc[5].startswith("row 5: empty or missing candidate caption")


def test_errors_are_structured_records(tiny_clip_hf_dir: Path, video_table: Path) -> None:
    operator = _emscore(tiny_clip_hf_dir)
    table = read_table(video_table)
    keys = operator.keys()
    rows = table.iloc[3:6]  # input rows 3 (fine), 4 (corrupt video), 5 (empty caption)
    scored = operator.score(rows, operator.prepare(table, keys), keys, Media.beside(video_table))
    assert [error.row for error in scored.errors] == [1, 2]
    assert scored.errors[1] == RowError(2, "empty or missing candidate caption in column 'candidate'")
    assert "corrupt.mp4" in scored.errors[0].message and not scored.errors[0].message.startswith("row")
    cells = scored.error_cells(3, [3, 4, 5]).tolist()
    assert cells[0] is None and cells[1].startswith("row 4: ") and cells[2].startswith("row 5: empty")
    out = scored.added_to(rows, [3, 4, 5])
    assert out[scored.output_columns[:-1]].iloc[1:].isna().all().all()
    assert out["EMScore(X,V)_full_F"].notna().iloc[0]


def test_image_text_contract_and_decoded_media_in_memory(tmp_path: Path, tiny_clip_hf_dir: Path,
                                                         image_table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    operator = ImageLongCLIPEvaluator(str(tiny_clip_hf_dir))
    table = read_table(image_table)
    media = Media.beside(image_table)
    keys = operator.keys()
    whole = operator.score_table(table, keys, media)
    hand = _by_hand(ImageLongCLIPEvaluator(str(tiny_clip_hf_dir)), table, media, cut=5)
    _assert_same(hand, whole, ["longclip_score"], "longclip_score_error")
    assert whole["longclip_score_error"].notna().tolist() == [i == 9 for i in range(12)]
    # the CPU stage's crops are used as they are: no image file is opened again
    decoded = operator.decode(table, keys, media, operator.load().image_size)
    import mmscore.io.images as images

    opened: list[str] = []
    real = images.load_image
    monkeypatch.setattr(images, "load_image",
                        lambda path, *a, **k: opened.append(Path(path).name) or real(path, *a, **k))
    again = operator.score(table, None, keys, Media(media.resolve, decoded)).added_to(table)
    assert opened == ["missing.png"]  # only the image the CPU stage could not read
    np.testing.assert_allclose(again["longclip_score"].astype(float), whole["longclip_score"].astype(float),
                               atol=1e-6, equal_nan=True)


def test_emscore_frames_handed_in_memory_not_through_a_cache(tmp_path: Path, tiny_clip_hf_dir: Path,
                                                             video_table: Path, monkeypatch) -> None:
    import mmscore.io.media as io_media

    operator = _emscore(tiny_clip_hf_dir)
    table = read_table(video_table)
    media = Media.beside(video_table)
    keys = operator.keys()
    state = operator.prepare(table, keys)
    whole = operator.score(table, state, keys, media).added_to(table)
    decoded = operator.decode(table, keys, media, operator.load().image_size)
    assert len(decoded) == 3  # the corrupt video is left to score(), which names it

    real = io_media.sample_with_spec
    opened: list[str] = []

    def spy(path, spec):
        opened.append(Path(path).name)
        return real(path, spec)

    monkeypatch.setattr(io_media, "sample_with_spec", spy)
    again = operator.score(table, state, keys, Media(media.resolve, decoded)).added_to(table)
    assert opened == ["corrupt.mp4"] and operator.cache_dir is None
    scores = operator.score_columns()
    _assert_same(again, whole, scores, "emscore_error")


def test_settings_are_frozen_and_leave_out_speed_knobs(tiny_clip_hf_dir: Path) -> None:
    a = EMScoreEval(every_n_seconds=1, clip_model_path="m").configure(batch_size=8, device="cpu", workers=1,
                                                                     cache_dir=False)
    b = EMScoreEval(every_n_seconds=1, clip_model_path="m")
    assert dict(a.settings()) == dict(b.settings())
    with pytest.raises(TypeError):
        a.settings()["model"] = "other"  # type: ignore[index]
    assert dict(EMScoreEval(every_n_seconds=2, clip_model_path="m").settings()) != dict(b.settings())
    assert dict(b.configure(idf=False).settings()) != dict(a.settings())
    assert dict(TextStatsEvaluator("x").settings()) == {"prefix": "x"}
    assert ImageLongCLIPEvaluator("m", batch_size=4).settings() == ImageLongCLIPEvaluator("m").settings()
