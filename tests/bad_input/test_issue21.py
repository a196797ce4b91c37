"""Bad-input suite (issue 21): one test per numbered line, each failing on the code before the fix.

Each test feeds the input a careless user would and checks two things: nothing already on disk
is lost (files compared before/after) and the message names the file, row or column at fault.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mmscore.cli.main import main
from mmscore.errors import MediaError, ModelError
from mmscore.io.experiment import scoring_dir, write_scoring
from mmscore.io.tables import read_table, write_table
from mmscore.testing.media import make_image

EMOTION = Path(__file__).resolve().parents[2] / "src" / "mmscore" / "examples" / "emotion"


def _noisy_video(path: Path, seconds: int = 10, fps: int = 10) -> Path:
    """A faststart mp4 of incompressible frames: cutting its bytes in half cuts its duration too."""
    import av

    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = fps
        for _ in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _truncated_video(folder: Path) -> Path:
    whole = _noisy_video(folder / "whole.mp4")
    cut = folder / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    return cut


def _png_as_mp4(folder: Path) -> Path:
    fake = folder / "still.mp4"
    shutil.copyfile(make_image(folder / "still.png"), fake)
    return fake


# -------------------------------------------------------------------------------- data loss
@pytest.mark.parametrize("command", ["classify", "ov", "emer", "classify-symlink", "retrieval", "emscore", "run"])
def test_line01_output_equal_to_an_input_is_refused(tmp_path, capsys, command) -> None:
    gold = shutil.copyfile(EMOTION / "gold.csv", tmp_path / "gold.csv")
    pred = shutil.copyfile(EMOTION / "predictions.jsonl", tmp_path / "pred.jsonl")
    coco = tmp_path / "captions.json"
    coco.write_text(json.dumps({"images": [], "annotations": []}))
    table = tmp_path / "captions.jsonl"
    write_table(pd.DataFrame({"video_path": ["v.mp4"], "candidate": ["a cat"]}), table)
    link = tmp_path / "link.csv"
    link.symlink_to(gold)
    pipeline = tmp_path / "p.yaml"  # its step 1 file is the input table itself
    pipeline.write_text(json.dumps({
        "storage": {"first_entry_file_name": "s_step1.jsonl", "cache_path": ".", "file_name_prefix": "s"},
        "operators": [{"name": "TextStatsEvaluator", "run": {"input_text_key": "candidate"}}]}))
    steps = shutil.copyfile(table, tmp_path / "s_step1.jsonl")
    argv = {
        "classify": ["emotion", "classify", "--gold", str(gold), "--pred", str(pred), "-o", str(gold)],
        "ov": ["emotion", "ov", "--gold", str(gold), "--pred", str(pred), "-o", str(pred)],
        "emer": ["emotion", "emer", "--no-judge", "--gold", str(gold), "--pred", str(pred), "-o", str(gold)],
        "classify-symlink": ["emotion", "classify", "--gold", str(gold), "--pred", str(pred), "-o", str(link)],
        "retrieval": ["eval", "retrieval", str(coco), "--model", "nope", "-o", str(coco)],
        "emscore": ["emscore", str(table), "--model", "nope", "-o", str(table)],
        "run": ["run", str(pipeline)],
    }[command]
    before = {p: p.read_bytes() for p in (gold, pred, coco, table, steps)}
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is the input file" in err and any(name in err for name in ("gold.csv", "pred.jsonl", tmp_path.name))
    assert {p: p.read_bytes() for p in before} == before
    assert link.is_symlink()


def test_line02_na_like_text_stays_text_in_every_reader(tmp_path) -> None:
    words = ["NA", "null", "n/a", "None", "NaN", "nan", "N/A", "NULL"]
    csv = tmp_path / "t.csv"
    csv.write_text("id,caption,note\n" + "".join(f"{i},{w},{w}\n" for i, w in enumerate(words)) + "9,,x\n")
    frame = read_table(csv)
    assert frame["caption"].tolist()[:-1] == words  # text stays text
    assert pd.isna(frame["caption"].iloc[-1])  # only the truly empty cell is missing
    assert frame["note"].tolist() == [*words, "x"]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("".join(json.dumps({"caption": w}) + "\n" for w in words) + '{"caption": null}\n')
    assert read_table(jsonl)["caption"].tolist()[:-1] == words
    # and a round trip through -o keeps them (nothing erased)
    write_table(frame, tmp_path / "out.csv")
    assert read_table(tmp_path / "out.csv")["note"].tolist() == [*words, "x"]
    from mmscore.emotion.wheel import _read_sheet

    (tmp_path / "wheel1.csv").write_text("level1,level2,level3\nNA,None,null\n")
    sheet, _ = _read_sheet(tmp_path, "wheel1")
    assert sheet.iloc[0].tolist() == ["NA", "None", "null"]


def test_line03_output_key_colliding_with_an_input_column(tmp_path, capsys, tiny_clip_hf_dir, sample_images) -> None:
    table = tmp_path / "pairs.csv"
    write_table(pd.DataFrame({"image_path": [str(sample_images["red"])], "text": ["a red square"]}), table)
    out = tmp_path / "scored.csv"
    assert main(["clipscore", str(table), "--model", str(tiny_clip_hf_dir), "--output-key", "text",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'text'" in err and "--overwrite-column" in err and not out.exists()
    assert main(["clipscore", str(table), "--model", str(tiny_clip_hf_dir), "--output-key", "text",
                 "--overwrite-column", "-o", str(out)]) == 0
    assert isinstance(read_table(out)["text"].iloc[0], float)


def test_line04_demo_workspace_must_be_empty_or_a_demo_workspace(tmp_path, capsys) -> None:
    mine = tmp_path / "projects"
    mine.mkdir()
    (mine / "storage").mkdir()
    (mine / "storage" / "captions.jsonl").write_text("my own data\n")
    assert main(["demo", "-w", str(mine), "--only", "storage"]) == 2
    assert "not a previous demo workspace" in capsys.readouterr().err
    assert (mine / "storage" / "captions.jsonl").read_text() == "my own data\n"
    fresh = tmp_path / "fresh"
    assert main(["demo", "-w", str(fresh), "--only", "storage"]) == 0
    assert (fresh / ".mmscore-demo").is_file()
    assert main(["demo", "-w", str(fresh), "--only", "storage"]) == 0  # its own workspace: re-run is fine
    assert main(["demo", "-w", str(mine), "--only", "storage", "--force"]) == 0


def test_line05_unwritable_output_is_found_before_any_model_loads(tmp_path, capsys, monkeypatch) -> None:
    import mmscore.models.clip as clip

    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded before the output was checked")

    monkeypatch.setattr(clip, "load_clip", no_model)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder is needed\n")
    table = tmp_path / "pairs.jsonl"
    write_table(pd.DataFrame({"image_path": ["x.png"], "text": ["t"]}), table)
    (tmp_path / "imgs" / "cls").mkdir(parents=True)
    make_image(tmp_path / "imgs" / "cls" / "a.png")
    for argv in (["clipscore", str(table), "--model", "m", "-o", str(blocker / "out.jsonl")],
                 ["emscore", str(table), "--model", "m", "-o", str(blocker / "out.jsonl")],
                 ["eval", "zeroshot", str(tmp_path / "imgs"), "--model", "m", "-o", str(blocker / "r.json")]):
        assert main(argv) == 2, argv
        assert "cannot be created" in capsys.readouterr().err


# ---------------------------------------------------------------------- scoring what was not there
def test_line06_truncated_video_is_a_row_error_unless_allowed(tmp_path, tiny_clip_hf_dir) -> None:
    from mmscore.io.media import last_frames, sample_frames
    from mmscore.operators.emscore import EMScoreEval

    cut = _truncated_video(tmp_path)
    with pytest.raises(MediaError, match=r"cut.mp4: video truncated: decoded \d+\.\d s of 10\.0 s"):
        sample_frames(cut)
    with pytest.raises(MediaError, match="video truncated"):  # the judges' frame extraction
        last_frames(cut)
    decoded = last_frames(cut, allow_truncated=True)
    assert decoded.timestamps[-1] < 7.0 and decoded.truncation.endswith("of 10.0 s")
    whole = sample_frames(tmp_path / "whole.mp4")
    assert whole.truncation is None and len(whole) == 10

    frame = pd.DataFrame({"video_path": [str(cut), str(tmp_path / "whole.mp4")], "candidate": ["noise", "noise"]})
    scorer = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(cache_dir=False, workers=1)
    out = scorer.score_dataframe(frame, reference_key=None)
    assert "video truncated: decoded" in out["emscore_error"].iloc[0] and pd.isna(out["EMScore(X,V)_full_F"].iloc[0])
    assert pd.isna(out["emscore_error"].iloc[1])
    allowed = EMScoreEval(clip_model_path=str(tiny_clip_hf_dir)).configure(cache_dir=False, workers=1,
                                                                          allow_truncated=True)
    out = allowed.score_dataframe(frame, reference_key=None)
    assert out["emscore_error"].isna().all() and out["EMScore(X,V)_full_F"].notna().all()
    assert out["video_truncated"].iloc[0].endswith("of 10.0 s") and pd.isna(out["video_truncated"].iloc[1])


def test_line07_a_still_image_named_mp4_is_not_a_video(tmp_path) -> None:
    from mmscore.io.media import last_frames, sample_frames

    fake = _png_as_mp4(tmp_path)
    with pytest.raises(MediaError, match="still.mp4: not a video container"):
        sample_frames(fake)
    with pytest.raises(MediaError, match="not a video container"):
        last_frames(fake)


def test_line08_human_ui_flags_scores_given_without_a_playable_video(tmp_path) -> None:
    from dataclasses import replace

    from mmscore.analysis.load import load_scorings
    from mmscore.human.media import task_media
    from mmscore.human.queue import ScoringQueue
    from mmscore.io.experiment import discover_tasks
    from mmscore.testing.experiments import make_experiment

    experiment = make_experiment(tmp_path / "data", models=("m",), task_types=("chess_task",), n_tasks=2)
    tasks = discover_tasks(experiment.experiment, experiment.data_dir)
    still = _png_as_mp4(experiment.root / "m")
    broken = replace(tasks[0], video_path=still)
    media = task_media(broken, experiment.root, tmp_path / "cache")
    assert media.video_unavailable and "cannot be decoded" in media.problems[-1]
    assert not task_media(tasks[1], experiment.root, tmp_path / "cache").video_unavailable
    out = tmp_path / "scorings" / "human-eval"
    queue = ScoringQueue(tasks, out)
    flagged = queue.submit("Ann", tasks[0].key, 5, video_unavailable=True)
    queue.submit("Ann", tasks[1].key, 4)
    assert json.loads(flagged.read_text())["result"]["video_unavailable"] is True
    table = load_scorings(out)
    assert table.excluded_counts() == {"video_unavailable": 1} and len(table.valid) == 1


def test_line09_empty_class_folders_and_null_coco_captions(tmp_path, caplog) -> None:
    from mmscore.errors import InputError
    from mmscore.evaluation.datasets import load_coco_captions, load_image_folder

    root = tmp_path / "classes"
    for name in ("cat", "dog"):
        make_image(root / name / "a.png")
    (root / "empty").mkdir()
    (root / "mac").mkdir()
    (root / "mac" / ".DS_Store").write_bytes(b"\0")
    with caplog.at_level(logging.WARNING):
        data = load_image_folder(root)
    assert data.class_names == ["cat", "dog"] and data.labels == [0, 1]
    assert data.skipped_classes == ["empty", "mac"] and "empty, mac" in caplog.text

    coco = tmp_path / "annotations" / "captions_val2017.json"
    coco.parent.mkdir()
    (tmp_path / "val2017").mkdir()
    coco.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "1.jpg"}],
        "annotations": [{"id": 10, "image_id": 1, "caption": "a cat"}, {"id": 11, "image_id": 1, "caption": None},
                        {"id": 12, "image_id": 1, "caption": ""}],
    }))
    with pytest.raises(InputError, match=r"2 annotation\(s\) without a caption text.*11 \(None\), 12 \(''\)"):
        load_coco_captions(coco)


def test_line10_number_or_list_where_a_caption_is_expected(tmp_path, tiny_clip_hf_dir, sample_images) -> None:
    from mmscore.operators.image_text import CLIPScoreEvaluator

    image = str(sample_images["red"])
    frame = pd.DataFrame({"image_path": [image, image, image], "text": ["a red square", 42, ["a", "b"]]})
    out = CLIPScoreEvaluator(str(tiny_clip_hf_dir)).score_dataframe(frame, Path, "image_path", "text", "s")
    assert out["s"].notna().tolist() == [True, False, False]
    assert out["s_error"].iloc[1] == "column 'text' holds a int (42), not a caption text"
    assert out["s_error"].iloc[2] == "column 'text' holds a list (['a', 'b']), not a caption text"


def test_line11_openvocab_without_grouping_warns_and_records_it(tmp_path, capsys) -> None:
    out = tmp_path / "ov.json"
    assert main(["emotion", "ov", "--gold", str(EMOTION / "ov_gold.csv"), "--pred", str(EMOTION / "ov_pred.csv"),
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no --grouping" in printed and "none (exact label match)" in printed
    summary = json.loads(out.read_text())
    assert summary["grouping"] == "none (exact label match)" and "no --grouping" in summary["warnings"][0]


def _scoring(root: Path, experiment: str, task_id: str, score, annotator: str | None = None,
             name: str = "s.json") -> Path:
    meta = {"scorer": root.name, "experiment": experiment, "model_name": "m", "task_type": "chess_task",
            "task_id": task_id, **({"annotator": annotator} if annotator else {})}
    return write_scoring(scoring_dir(root, experiment, "m", "chess_task", task_id) / name, meta,
                         {"solution_correctness_score": score, "status": "completed"})


def test_line12_nothing_paired_or_matched_exits_1_with_the_reason(tmp_path, capsys) -> None:
    a, b = tmp_path / "gpt4o-eval", tmp_path / "human-eval"
    for i, (s1, s2) in enumerate([(4, 4), (2, 3), (5, 5)]):
        _scoring(a, "pilot", f"t{i}", 3)
        _scoring(b, "pilot_v2", f"t{i}", s1, "ann", "human-eval.json")
        _scoring(b, "pilot_v2", f"t{i}", s2, "bob", "human-eval@bob.json")
    assert main(["analyze", "stats", "--a", str(a), "--b", str(b), "-o", str(tmp_path / "out"),
                 "--no-figures", "--n-boot", "100"]) == 1
    captured = capsys.readouterr()
    assert "pilot" in captured.err and "pilot_v2" in captured.err and "experiment names differ" in captured.err
    assert "over B's 2 raters" in captured.out  # the alpha printed is the humans' own, and says so

    gold = tmp_path / "gold.csv"
    gold.write_text("video_name,emotion_label\nclip_a,happy\nclip_b,sad\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("video_name,prediction\n/data/x/clip_a.avi,happy\n/data/x/clip_b.avi,sad\n")
    assert main(["emotion", "classify", "--gold", str(gold), "--pred", str(pred)]) == 1
    err = capsys.readouterr().err
    assert "'clip_a'" in err and "'/data/x/clip_a'" in err


def test_line13_relative_media_paths_are_recorded_and_ambiguity_warned(tmp_path, monkeypatch, caplog,
                                                                        tiny_clip_hf_dir) -> None:
    table_dir, cwd = tmp_path / "tables", tmp_path / "work"
    make_image(table_dir / "img.png", color="red")
    make_image(cwd / "img.png", color="blue")
    table = table_dir / "pairs.jsonl"
    write_table(pd.DataFrame({"image_path": ["img.png"], "text": ["a square"]}), table)
    monkeypatch.chdir(cwd)
    with caplog.at_level(logging.WARNING):
        assert main(["clipscore", str(table), "--model", str(tiny_clip_hf_dir), "-o", str(tmp_path / "o.jsonl")]) == 0
    assert "exists both in the working directory" in caplog.text
    info = json.loads((tmp_path / "o.jsonl.run.json").read_text())
    assert info["media_paths"] == {"img.png": str((cwd / "img.png").resolve())}  # documented order: cwd first


def test_line14_pipeline_paths_are_relative_to_the_yaml(tmp_path, monkeypatch) -> None:
    import yaml

    from mmscore.operators.pipeline import load_pipeline, run_pipeline

    monkeypatch.chdir(tmp_path)
    (tmp_path / "captions.jsonl").write_text('{"caption": "the wrong table, in the cwd"}\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / "captions.jsonl").write_text('{"caption": "one two three"}\n')
    (project / "p.yaml").write_text(yaml.safe_dump({
        "storage": {"first_entry_file_name": "captions.jsonl", "cache_path": "cache", "file_name_prefix": "s"},
        "operators": [{"name": "TextStatsEvaluator", "args": {}, "run": {"input_text_key": "caption"}}],
    }))
    (_, _, written), = run_pipeline(load_pipeline(Path("project/p.yaml")))
    assert Path(written).resolve() == (project / "cache" / "s_step1.jsonl").resolve()
    assert read_table(written)["caption"].tolist() == ["one two three"]
    # the demo's pipeline (relative -w) writes its steps beside its YAML, not in a doubled folder
    assert main(["demo", "-w", "ws", "--only", "storage"]) == 0
    assert (tmp_path / "ws" / "storage" / "cache" / "demo_step2.jsonl").is_file()
    assert not (tmp_path / "ws" / "storage" / "ws").exists()


# ------------------------------------------------------------------------------- honest messages
def test_line15_a_mistyped_local_model_path_fails_at_once(monkeypatch) -> None:
    import mmscore.models.hub as hub

    def no_hub(*args, **kwargs):
        raise AssertionError("a file path was tried as a hub id")

    monkeypatch.setattr(hub, "resolve_hub", no_hub)
    started = time.monotonic()
    for spec in ("nope/x.pt", "models/clip/ViT-B-32.safetensors", "./ckpt", "a/b/c"):
        with pytest.raises(ModelError, match="model file not found"):
            hub.resolve_spec(spec)
    assert time.monotonic() - started < 1.0
    assert hub.looks_like_file_path("BeichenZhang/LongCLIP-L") is False


def test_line16_broken_scoring_files_are_named(tmp_path, capsys) -> None:
    folder = tmp_path / "gpt4o-eval"
    _scoring(folder, "exp", "t0", 4)
    bad_score = _scoring(folder, "exp", "t1", 9)
    unreadable = scoring_dir(folder, "exp", "m", "chess_task", "t2") / "s.json"
    unreadable.parent.mkdir(parents=True)
    unreadable.write_text('{"metadata": {')
    out = tmp_path / "analysis"
    assert main(["analyze", "plot", "--eval-folder", str(folder), "-o", str(out), "--format", "png"]) == 0
    printed = capsys.readouterr().out.replace("\n", "")
    assert str(bad_score) in printed and str(unreadable) in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["broken_files"] == {"invalid_score": [str(bad_score)], "unreadable": [str(unreadable)]}


def test_line17_demo_with_a_model_that_cannot_load_exits_2(tmp_path, capsys) -> None:
    assert main(["demo", "-w", str(tmp_path / "ws"), "--model", str(tmp_path / "nope.pt"),
                 "--only", "image_text"]) == 2
    err = capsys.readouterr().err
    assert "--model" in err and "nope.pt" in err
    assert not (tmp_path / "ws" / "image_text" / "tiny-random-clip").exists()  # no random fallback


def test_line18_ctrl_c_says_how_far_it_got_and_exits_130(tmp_path, capsys, monkeypatch) -> None:
    import mmscore.vmeval.runner as runner
    from mmscore.testing.experiments import make_experiment

    experiment = make_experiment(tmp_path / "data", models=("m",), task_types=("chess_task",), n_tasks=3)

    async def interrupted(scorer, experiment_name, on_start, on_outcome, **kwargs):
        summary = SimpleNamespace(done=0, failed=0, skipped=0, completed=0)
        on_start([1, 2, 3], summary)
        for _ in range(2):
            summary.done += 1
            summary.completed += 1
            on_outcome(None, summary)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "score_experiment", interrupted)
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    code = main(["score", "openai-compatible", "--experiment", experiment.experiment, "--data-dir",
                 str(experiment.data_dir), "--output-dir", str(tmp_path / "out"), "--base-url",
                 "http://127.0.0.1:9/v1", "--model", "m"])
    assert code == 130
    assert "interrupted: 2 of 3 done; run the same command again to resume" in capsys.readouterr().err
    assert os.environ.get("OPENAI_API_KEY") == "unused"
