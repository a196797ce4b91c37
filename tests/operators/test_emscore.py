"""EMScoreEval end to end on a tiny random CLIP and synthetic videos.

Expected values come from an independent re-implementation of the official algorithm written
out below (transformers CLIPModel called directly, PyAV decoding of every frame, the OpenAI
transform with PIL, idf with a Counter over zero-padded 77-wide rows, loops for the matching).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mmscore.errors import ConfigError
from mmscore.io.cells import text_list as reference_captions
from mmscore.io.storage import FileStorage
from mmscore.io.tables import read_table
from mmscore.operators.emscore import EMScoreEval

av = pytest.importorskip("av")

SOT, EOT, CONTEXT = 49406, 49407, 77
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
TYPES = ["EMScore(X,X*)", "EMScore(X,V)", "EMScore(X,V,X*)"]
METRICS = ["figr_P", "figr_R", "figr_F", "cogr", "full_P", "full_R", "full_F"]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("MMSCORE_CACHE_DIR", str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- reference implementation
class Reference:
    """The official EMScore computed directly from the transformers model (no mmscore code for maths)."""

    def __init__(self, model_dir: Path) -> None:
        from transformers import CLIPModel

        from mmscore.models.tokenizer import default_tokenizer

        self.model = CLIPModel.from_pretrained(str(model_dir)).eval()
        self.bpe = default_tokenizer()
        self.size = self.model.config.vision_config.image_size

    def ids(self, text: str) -> list[int]:
        ids = [SOT, *self.bpe.encode(text), EOT]
        return ids if len(ids) <= CONTEXT else ids[: CONTEXT - 1] + [EOT]

    def tokens(self, text: str) -> tuple[torch.Tensor, list[int]]:
        ids = self.ids(text)
        with torch.no_grad():
            hidden = self.model.text_model(input_ids=torch.tensor([ids])).last_hidden_state
            projected = self.model.text_projection(hidden)[0]
        return projected / projected.norm(dim=-1, keepdim=True), ids

    def pixels(self, frame: np.ndarray) -> np.ndarray:
        from PIL import Image

        image = Image.fromarray(frame)
        w, h = image.size
        s = self.size
        new = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        image = image.resize(new, Image.Resampling.BICUBIC)
        w, h = image.size
        top, left = int(round((h - s) / 2.0)), int(round((w - s) / 2.0))
        arr = np.asarray(image.crop((left, top, left + s, top + s)).convert("RGB"), dtype=np.float32) / 255.0
        return ((arr - MEAN) / STD).transpose(2, 0, 1)

    def frames(self, path: Path, every: int) -> tuple[torch.Tensor, list[int]]:
        with av.open(str(path)) as container:
            decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        keep = list(range(0, len(decoded), every))
        batch = torch.from_numpy(np.stack([self.pixels(decoded[i]) for i in keep]))
        with torch.no_grad():
            emb = self.model.visual_projection(self.model.vision_model(pixel_values=batch).pooler_output)
        return emb / emb.norm(dim=-1, keepdim=True), keep

    @staticmethod
    def idf(corpus_ids: list[list[int]]) -> dict[int, float]:
        n = len(corpus_ids)
        df = Counter()
        for ids in corpus_ids:
            df.update(set(ids + [0] * (CONTEXT - len(ids))))
        idf = {t: math.log((n + 1) / (c + 1)) for t, c in df.items()}
        idf[max(idf)] = sum(idf.values()) / len(idf)
        return idf

    @staticmethod
    def weights(ids: list[int], idf: dict[int, float] | None, n: int) -> list[float]:
        if idf is None:
            return [1.0 / len(ids)] * len(ids)
        raw = [idf.get(t, math.log(n + 1)) for t in ids]
        return [w / sum(raw) for w in raw]

    def score(
        self,
        candidate: str,
        video: Path,
        references: list[str],
        idf_on: bool,
        corpus: list[str],
        every: int = 1,
    ) -> dict[str, dict[str, float]]:
        idf = self.idf([self.ids(t) for t in corpus]) if idf_on else None
        c, c_ids = self.tokens(candidate)
        a = self.weights(c_ids, idf, len(corpus))
        frames, _ = self.frames(video, every)
        sim = (c @ frames.T).tolist()
        p = sum(a[i] * max(sim[i]) for i in range(len(c_ids)))
        r = sum(max(sim[i][k] for i in range(len(c_ids))) for k in range(len(frames))) / len(frames)
        v = frames.mean(dim=0)
        cogr = float(c[-1] @ (v / v.norm()))
        out = {"EMScore(X,V)": self._full(p, r, cogr)}
        if references:
            best = {"figr_P": -9.0, "figr_R": -9.0, "figr_F": -9.0, "cogr": -9.0}
            for reference in references:
                rt, r_ids = self.tokens(reference)
                b = self.weights(r_ids, idf, len(corpus))
                s = (c @ rt.T).tolist()
                pp = sum(a[i] * max(s[i]) for i in range(len(c_ids)))
                rr = sum(b[j] * max(s[i][j] for i in range(len(c_ids))) for j in range(len(r_ids)))
                one = self._full(pp, rr, float(c[-1] @ rt[-1]))
                best = {m: max(best[m], one[m]) for m in best}
            xx = self._full(best["figr_P"], best["figr_R"], best["cogr"], f=best["figr_F"])
            xv = out["EMScore(X,V)"]
            out["EMScore(X,X*)"] = xx
            out["EMScore(X,V,X*)"] = self._full(
                (xv["figr_P"] + xx["figr_P"]) / 2,
                (xv["figr_R"] + xx["figr_R"]) / 2,
                (xv["cogr"] + xx["cogr"]) / 2,
                f=(xv["figr_F"] + xx["figr_F"]) / 2,
            )
        return out

    @staticmethod
    def _full(p: float, r: float, cogr: float, f: float | None = None) -> dict[str, float]:
        f = (2 * p * r / (p + r) if p + r else 0.0) if f is None else f
        return {
            "figr_P": p,
            "figr_R": r,
            "figr_F": f,
            "cogr": cogr,
            "full_P": (p + cogr) / 2,
            "full_R": (r + cogr) / 2,
            "full_F": (f + cogr) / 2,
        }


@pytest.fixture(scope="module")
def reference(tiny_clip_hf_dir) -> Reference:
    return Reference(tiny_clip_hf_dir)


LONG = "a very long caption " + " ".join(f"word{i}" for i in range(90))
LONG_REFERENCE = "the reference " + " ".join(["a green square slides to the left side"] * 10)


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def table(tmp_path, synthetic_videos) -> tuple[Path, list[dict]]:
    rows = [
        {
            "video_path": str(synthetic_videos["red_right"]),
            "candidate": "a red square moves to the right",
            "reference": ["a red box slides right", "red square moving"],
        },
        {
            "video_path": str(synthetic_videos["blue_up"]),
            "candidate": "a blue square goes up",
            "reference": None,
        },
        {"video_path": str(synthetic_videos["green_left"]), "candidate": LONG, "reference": "a green square"},
        {
            "video_path": str(synthetic_videos["blue_up"]),
            "candidate": "blue block rising",
            "reference": "a blue square moves up",
        },
        {   # a reference repeated from row 0 (counts twice in the idf corpus) and one over 77 tokens
            "video_path": str(synthetic_videos["green_left"]),
            "candidate": "a green square moves left",
            "reference": ["a red box slides right", LONG_REFERENCE],
        },
    ]
    return write_rows(tmp_path / "input.jsonl", rows), rows


# ----------------------------------------------------------------------------- tests
def test_matches_the_official_algorithm_every_frame(table, tmp_path, tiny_clip_hf_dir, reference):
    path, rows = table
    storage = FileStorage(str(path), cache_path=str(tmp_path / "cache_steps"), file_name_prefix="em")
    evaluator = EMScoreEval(every_n_frames=1, clip_model_path=str(tiny_clip_hf_dir), return_all_frames=True)
    columns = evaluator.run(storage.step())
    expected_columns = [f"{t}_{m}" for t in TYPES for m in METRICS]
    assert columns == expected_columns + ["frame_details", "emscore_error"]
    out = read_table(tmp_path / "cache_steps" / "em_step1.jsonl")
    assert list(out.columns) == ["video_path", "candidate", "reference"] + columns
    corpus = [ref for row in rows for ref in reference_captions(row["reference"])]  # table refs, flattened
    assert len(corpus) == 6 and corpus.count("a red box slides right") == 2
    for index, row in enumerate(rows):
        refs = reference_captions(row["reference"])
        expected = reference.score(row["candidate"], Path(row["video_path"]), refs, True, corpus)
        for score_type in TYPES:
            for metric in METRICS:
                value = out.loc[index, f"{score_type}_{metric}"]
                if score_type in expected:
                    assert value == pytest.approx(expected[score_type][metric], abs=1e-4), (
                        index,
                        score_type,
                        metric,
                    )
                else:
                    assert value is None or pd.isna(value), (index, score_type, metric)
    assert out["emscore_error"].isna().all()
    # no NaN anywhere in the written file
    assert "NaN" not in (tmp_path / "cache_steps" / "em_step1.jsonl").read_text()
    info = json.loads((tmp_path / "cache_steps" / "em_step1.jsonl.run.json").read_text())
    assert info["truncated_captions"] == 2 and info["truncated_rows"] == 2
    assert "idf:table-refs(n=6)" in info["signature"] and "sampling:every_n_frames=1" in info["signature"]
    assert info["settings"]["fp"].startswith("sha256:")


def test_frame_details_score_each_frame_alone(table, tmp_path, tiny_clip_hf_dir, reference):
    path, rows = table
    evaluator = EMScoreEval(
        every_n_seconds=0.5,
        clip_model_path=str(tiny_clip_hf_dir),
        return_all_frames=True,
        score_types=["EMScore(X,V)", "EMScore(X,X*)"],
        metrics=["figr_R", "cogr"],
    )
    out = evaluator.score_dataframe(pd.DataFrame(rows))
    details = json.loads(out.loc[0, "frame_details"])
    assert [d["frame_index"] for d in details] == [0, 5, 10, 15]
    assert [d["timestamp"] for d in details] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    c, _ = reference.tokens(rows[0]["candidate"])
    frames, kept = reference.frames(Path(rows[0]["video_path"]), 5)
    assert kept == [0, 5, 10, 15]
    for k, entry in enumerate(details):
        assert set(entry) == {"frame_index", "timestamp", "EMScore(X,V)", "EMScore(X,X*)"}
        assert set(entry["EMScore(X,V)"]) == {"figr_R", "cogr"}
        assert entry["EMScore(X,V)"]["figr_R"] == pytest.approx(float((c @ frames[k]).max()), abs=1e-4)
        assert entry["EMScore(X,V)"]["cogr"] == pytest.approx(float(c[-1] @ frames[k]), abs=1e-4)
        assert entry["EMScore(X,X*)"]["cogr"] == pytest.approx(out.loc[0, "EMScore(X,X*)_cogr"], abs=1e-5)
    # the row without reference has only the X,V view
    assert all(
        set(d) == {"frame_index", "timestamp", "EMScore(X,V)"}
        for d in json.loads(out.loc[1, "frame_details"])
    )
    # columns from the arguments, in the argument order
    assert [c for c in out.columns if c.startswith("EMScore")] == [
        "EMScore(X,V)_figr_R",
        "EMScore(X,V)_cogr",
        "EMScore(X,X*)_figr_R",
        "EMScore(X,X*)_cogr",
    ]


def test_seed_example(tmp_path, synthetic_videos, tiny_clip_hf_dir):
    rows = [
        {
            "video_path": str(synthetic_videos["green_left"]),
            "candidate": "a green square moves left",
            "reference": "a green box going left",
        }
    ]
    storage = FileStorage(
        str(write_rows(tmp_path / "emscore_input.jsonl", rows)),
        cache_path=str(tmp_path / "c"),
        file_name_prefix="emscore",
        cache_type="jsonl",
    )
    evaluator = EMScoreEval(
        every_n_seconds=2.0,
        return_all_frames=True,
        clip_model_path=str(tiny_clip_hf_dir),
        score_types=["EMScore(X,X*)", "EMScore(X,V)", "EMScore(X,V,X*)"],
        metrics=["figr_F", "cogr", "full_F"],
    )
    columns = evaluator.run(
        storage=storage.step(), video_key="video_path", candidate_key="candidate", reference_key="reference"
    )
    assert columns[:9] == [f"{t}_{m}" for t in TYPES for m in ("figr_F", "cogr", "full_F")]
    out = read_table(tmp_path / "c" / "emscore_step1.jsonl")
    details = json.loads(out.loc[0, "frame_details"])
    assert [(d["frame_index"], d["timestamp"]) for d in details] == [(0, 0.0), (20, 2.0)]
    row = out.loc[0]
    for t in TYPES:
        assert row[f"{t}_full_F"] == pytest.approx((row[f"{t}_figr_F"] + row[f"{t}_cogr"]) / 2, abs=1e-9)


def test_no_reference_rows_first_and_bad_videos(tmp_path, synthetic_videos, tiny_clip_hf_dir):
    from mmscore.testing.media import make_corrupt_file, make_zero_frame_video

    corrupt = make_corrupt_file(tmp_path / "corrupt.mp4")
    empty = make_zero_frame_video(tmp_path / "empty.mkv")
    rows = [
        {"video_path": str(synthetic_videos["red_right"]), "candidate": "a red square", "reference": ""},
        {"video_path": str(tmp_path / "missing.mp4"), "candidate": "x", "reference": "y"},
        {"video_path": str(corrupt), "candidate": "x", "reference": "y"},
        {"video_path": str(empty), "candidate": "x", "reference": "y"},
        {"video_path": str(synthetic_videos["red_right"]), "candidate": None, "reference": "y"},
        {
            "video_path": str(synthetic_videos["red_right"]),
            "candidate": "red",
            "reference": '["a red one", ""]',
        },
    ]
    evaluator = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir))
    out = evaluator.score_dataframe(pd.DataFrame(rows))
    scores = [f"{t}_{m}" for t in TYPES for m in METRICS]
    assert out.loc[0, [f"EMScore(X,V)_{m}" for m in METRICS]].notna().all()
    assert out.loc[0, [c for c in scores if not c.startswith("EMScore(X,V)_")]].isna().all()
    problems = ((1, "missing.mp4: video file not found"), (2, "corrupt.mp4: cannot open video"),
                (3, "empty.mkv: the video stream has no frames"))
    for row, message in problems:
        assert out.loc[row, scores].isna().all()
        error = out.loc[row, "emscore_error"]
        assert error.startswith(f"row {row}: ") and message in error  # names the row and the file
    assert "candidate" in out.loc[4, "emscore_error"]
    assert out.loc[5, scores].notna().all() and pd.isna(out.loc[5, "emscore_error"])
    assert evaluator.last_run_info["failed"] == 4


def test_misspelt_reference_column_is_reported(synthetic_videos, tiny_clip_hf_dir, caplog):
    df = pd.DataFrame([{"video_path": str(synthetic_videos["red_right"]), "candidate": "a red square",
                        "reference": "a red box"}])
    with caplog.at_level(logging.WARNING, logger="mmscore.operators.emscore"):
        out = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).score_dataframe(df, reference_key="refs")
    assert "no reference column 'refs'" in caplog.text and "'reference'" in caplog.text
    assert out[[f"EMScore(X,X*)_{m}" for m in METRICS]].isna().all().all()
    assert out[[f"EMScore(X,V)_{m}" for m in METRICS]].notna().all().all()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmscore.operators.emscore"):  # nothing lost: no warning
        EMScoreEval(clip_model_path=str(tiny_clip_hf_dir), score_types=["EMScore(X,V)"]).score_dataframe(
            df, reference_key="refs")
    assert "no reference column" not in caplog.text


def test_idf_options(table, tiny_clip_hf_dir, reference):
    _, rows = table
    df = pd.DataFrame(rows[:2])
    evaluator = EMScoreEval(every_n_frames=1, clip_model_path=str(tiny_clip_hf_dir)).configure(idf=False)
    out = evaluator.score_dataframe(df)
    expected = reference.score(
        rows[0]["candidate"], Path(rows[0]["video_path"]), reference_captions(rows[0]["reference"]), False, []
    )
    assert out.loc[0, "EMScore(X,X*)_figr_P"] == pytest.approx(expected["EMScore(X,X*)"]["figr_P"], abs=1e-4)
    assert "idf:no" in evaluator.signature
    corpus = ["a red square", "a blue square moves", "the red box"]
    evaluator = EMScoreEval(every_n_frames=1, clip_model_path=str(tiny_clip_hf_dir)).configure(
        idf_corpus=corpus
    )
    out = evaluator.score_dataframe(df)
    expected = reference.score(rows[1]["candidate"], Path(rows[1]["video_path"]), [], True, corpus)
    assert out.loc[1, "EMScore(X,V)_figr_P"] == pytest.approx(expected["EMScore(X,V)"]["figr_P"], abs=1e-4)
    assert "idf:corpus(n=3," in evaluator.signature


def test_single_candidate_without_reference_never_nan(synthetic_videos, tiny_clip_hf_dir):
    # official: corpus = the one candidate, all idf 0 -> NaN; here: uniform weights
    df = pd.DataFrame([{"video_path": str(synthetic_videos["red_right"]), "candidate": "a red square"}])
    out = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).score_dataframe(df)
    uniform = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(idf=False).score_dataframe(df)
    for m in METRICS:
        assert out.loc[0, f"EMScore(X,V)_{m}"] == pytest.approx(uniform.loc[0, f"EMScore(X,V)_{m}"], abs=1e-9)
        assert math.isfinite(out.loc[0, f"EMScore(X,V)_{m}"])


def test_video_embeddings_are_cached(table, tmp_path, tiny_clip_hf_dir, monkeypatch):
    import mmscore.io.media as media

    _, rows = table
    df = pd.DataFrame(rows[:2])
    evaluator = EMScoreEval(every_n_frames=2, clip_model_path=str(tiny_clip_hf_dir))
    first = evaluator.score_dataframe(df)
    assert evaluator.last_run_info["video_cache"]["misses"] == 2

    def no_decoding(*args, **kwargs):
        raise AssertionError("video decoded despite the cache")

    monkeypatch.setattr(media, "sample_with_spec", no_decoding)
    again = EMScoreEval(every_n_frames=2, clip_model_path=str(tiny_clip_hf_dir))
    second = again.score_dataframe(df.assign(candidate=["new caption", "another one"]))
    assert again.last_run_info["video_cache"]["hits"] == 2
    assert second.loc[0, "EMScore(X,V)_cogr"] != first.loc[0, "EMScore(X,V)_cogr"]
    # other sampling -> other key -> decoding needed
    with pytest.raises(AssertionError, match="despite the cache"):
        EMScoreEval(every_n_frames=3, clip_model_path=str(tiny_clip_hf_dir)).score_dataframe(df)


def test_constructor_validation():
    with pytest.raises(ConfigError, match="every_n_seconds and every_n_frames"):
        EMScoreEval(every_n_seconds=1.0, every_n_frames=5)
    with pytest.raises(ConfigError, match="EMScore\\(X,V\\)"):
        EMScoreEval(score_types=["EMScore(V)"])
    with pytest.raises(ConfigError, match="figr_P"):
        EMScoreEval(metrics=["F1"])
    assert EMScoreEval().sampling.every_n_seconds == 1.0
    evaluator = EMScoreEval().configure(num_frames=10).configure(max_frames=4, idf=False)
    assert evaluator.sampling.key() == "num_frames=10,max_frames=4" and evaluator.idf is False
    assert evaluator.configure(cache_dir=False).configure(batch_size=8).cache_dir is None
    with pytest.raises(ConfigError, match="every_n_frames and num_frames"):
        EMScoreEval(every_n_frames=2).configure(num_frames=3)
    with pytest.raises(ConfigError, match="idf_corpus is empty"):
        EMScoreEval().configure(idf_corpus=["", None])
    assert EMScoreEval().model_spec == "openai/clip-vit-base-patch32"


def test_reference_cells():
    assert reference_captions(None) == []
    assert reference_captions(float("nan")) == []
    assert reference_captions("  ") == []
    assert reference_captions("a  cat") == ["a cat"]
    assert reference_captions(["a", None, "", "b"]) == ["a", "b"]
    assert reference_captions(np.array(["a", "b"], dtype=object)) == ["a", "b"]
    assert reference_captions('["x", "y"]') == ["x", "y"]
    assert reference_captions("[not json") == ["[not json"]


def test_pipeline_and_cli(table, tmp_path, tiny_clip_hf_dir, capsys):
    import yaml

    from mmscore.cli.main import main
    from mmscore.operators.pipeline import load_pipeline, run_pipeline

    path, rows = table
    spec = {
        "storage": {
            "first_entry_file_name": str(path),
            "cache_path": str(tmp_path / "p"),
            "file_name_prefix": "pipe",
            "cache_type": "jsonl",
        },
        "operators": [
            {
                "name": "EMScoreEval",
                "args": {
                    "every_n_frames": 5,
                    "clip_model_path": str(tiny_clip_hf_dir),
                    "metrics": ["full_F"],
                },
            }
        ],
    }
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump(spec))
    results = run_pipeline(load_pipeline(pipeline))
    piped = read_table(results[-1][2])
    assert "EMScore(X,V)_full_F" in piped.columns

    output = tmp_path / "scored.csv"
    rc = main(
        [
            "emscore",
            str(path),
            "--model",
            str(tiny_clip_hf_dir),
            "--every-n-frames",
            "5",
            "--metric",
            "full_F",
            "--output",
            str(output),
        ]
    )
    assert rc == 0
    cli = read_table(output)
    np.testing.assert_allclose(
        cli["EMScore(X,V)_full_F"].astype(float), piped["EMScore(X,V)_full_F"].astype(float), atol=1e-9
    )
    assert (tmp_path / "scored.csv.run.json").exists()
    assert (
        main(
            [
                "emscore",
                str(path),
                "--model",
                str(tiny_clip_hf_dir),
                "--every-n-frames",
                "5",
                "--num-frames",
                "3",
            ]
        )
        == 2
    )

    bad = write_rows(tmp_path / "bad.jsonl", [{"video_path": "nowhere.mp4", "candidate": "x"}] + rows[:1])
    assert (
        main(
            [
                "emscore",
                str(bad),
                "--model",
                str(tiny_clip_hf_dir),
                "--strict",
                "-o",
                str(tmp_path / "bad_out.jsonl"),
            ]
        )
        == 1  # the one exit policy (issue 20): --strict with unscorable rows exits 1, as in every command
    )
    captured = capsys.readouterr()
    message = " ".join((captured.out + captured.err).split())  # rich wraps long lines
    assert "first: row 0: " in message and "nowhere.mp4: video file not found" in message
    assert "row 0: row 0" not in message
    assert (
        main(["emscore", str(bad), "--model", str(tiny_clip_hf_dir), "-o", str(tmp_path / "ok.jsonl")]) == 0
    )
