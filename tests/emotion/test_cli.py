"""``mmscore emotion ...`` end to end on the shipped synthetic examples, and the demo part."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest
from sklearn import metrics as skm

from mmscore.cli.main import main
from mmscore.io.tables import read_table
from mmscore.testing.fake_openai import FakeOpenAIServer, Reply

EXAMPLES = Path(str(resources.files("mmscore.examples").joinpath("emotion")))


def test_classify_writes_json_csv_markdown_png(tmp_path, capsys):
    out = tmp_path / "res" / "mer.json"
    rc = main(
        [
            "emotion",
            "classify",
            "--gold",
            str(EXAMPLES / "gold.csv"),
            "--pred",
            str(EXAMPLES / "predictions.jsonl"),
            "--preset",
            "mer2023",
            "--output",
            str(out),
            "--method",
            "Toy",
            "--modality",
            "A, V, T",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| Method | Modality | F1 Score |" in printed
    summary = json.loads(out.read_text())
    for key in ("n", "accuracy", "weighted_f1", "macro_f1", "uar", "war", "per_class", "out_of_set"):
        assert key in summary
    samples = read_table(out.with_name("mer.samples.csv"))
    gold = samples["gold"].tolist()
    pred = [p if isinstance(p, str) else "<none>" for p in samples["prediction"]]
    assert summary["weighted_f1"] == pytest.approx(
        skm.f1_score(
            gold, pred, labels=["neutral", "angry", "happy", "sad", "worried", "surprise"], average="weighted"
        )
    )
    assert f"| Toy | A, V, T | {summary['weighted_f1']:.4f} |" in out.with_name("mer.md").read_text()
    assert out.with_name("mer.confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    confusion = read_table(out.with_name("mer.confusion.csv"))
    labels = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
    in_set = [(g, p) for g, p in zip(gold, pred, strict=True) if p in labels]
    expected = skm.confusion_matrix([g for g, _ in in_set], [p for _, p in in_set], labels=labels)
    assert confusion[labels].to_numpy().tolist() == expected.tolist()
    assert confusion["(other)"].sum() == 2  # one out-of-set answer, one missing prediction
    per_class = read_table(out.with_name("mer.per_class.csv"))
    assert per_class["support"].sum() == summary["n"] == 24

    table = tmp_path / "table.md"
    assert main(["emotion", "table", str(out), str(out), "--output", str(table)]) == 0
    assert table.read_text().count("| Toy | A, V, T |") == 2


def test_classify_errors_exit_2_with_row(tmp_path, capsys):
    gold = tmp_path / "gold.csv"
    gold.write_text("video_name, emotion_label\na.mp4, happy\nb.mp4, \n")
    rc = main(["emotion", "classify", "--gold", str(gold), "--pred", str(EXAMPLES / "predictions.jsonl")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "gold.csv, row 2 (line 3) (b): empty 'emotion_label'" in err
    assert (
        main(
            [
                "emotion",
                "classify",
                "--gold",
                str(EXAMPLES / "gold.csv"),
                "--pred",
                str(EXAMPLES / "predictions.jsonl"),
                "--preset",
                "nope",
            ]
        )
        == 2
    )
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_ov_cli_with_grouping(tmp_path):
    out = tmp_path / "ov.json"
    saved = tmp_path / "groups.json"
    rc = main(
        [
            "emotion",
            "ov",
            "--gold",
            str(EXAMPLES / "ov_gold.csv"),
            "--pred",
            str(EXAMPLES / "ov_pred.csv"),
            "--grouping",
            str(EXAMPLES / "ov_grouping.json"),
            "--save-grouping",
            str(saved),
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    summary = json.loads(out.read_text())
    # worked from the shipped files: precisions 2/3,1,1/2,1,1,0,1,0 ; recalls 1,1/2,1,1,1/2,0,1,0
    assert summary["precision"] == pytest.approx((2 / 3 + 1 + 0.5 + 1 + 1 + 0 + 1 + 0) / 8)
    assert summary["recall"] == pytest.approx(5 / 8)
    assert json.loads(saved.read_text())["ov_04"] == [["nervous", "anxious", "worried", "uneasy"]]
    assert (
        main(
            [
                "emotion",
                "ov",
                "--gold",
                str(EXAMPLES / "ov_gold.csv"),
                "--pred",
                str(EXAMPLES / "ov_pred.csv"),
                "--wheel-dir",
                str(tmp_path),
                "--judge",
            ]
        )
        == 2
    )


def test_emer_cli_against_fake_server(tmp_path):
    out = tmp_path / "emer.json"
    with FakeOpenAIServer(
        default=Reply.json_reply({"score": 7, "reason": "ok", "emotions": ["happy"]})
    ) as server:
        rc = main(
            [
                "emotion",
                "emer",
                "--gold",
                str(EXAMPLES / "emer_gold.csv"),
                "--pred",
                str(EXAMPLES / "emer_pred.csv"),
                "--judge-url",
                server.base_url,
                "--judge-model",
                "fake-judge",
                "--cache",
                str(tmp_path / "c.sqlite"),
                "-o",
                str(out),
            ]
        )
    assert rc == 0
    summary = json.loads(out.read_text())
    assert summary["clue_overlap"] == 7.0 and summary["label_overlap"] == 7.0
    assert (
        "| Models | Clue Overlap | Label Overlap | BLEU | ROUGE-L |" in out.with_name("emer.md").read_text()
    )


def test_demo_part(tmp_path):
    from rich.console import Console

    from mmscore.demo import DemoContext
    from mmscore.demo.parts import emotion

    ctx = DemoContext(workspace=tmp_path, console=Console(file=io.StringIO()))
    lines = emotion.run(ctx)
    assert emotion.ORDER == 70
    assert any("weighted F1 0.8262" in line for line in lines)
    assert (tmp_path / "emotion" / "classify.confusion.png").exists()
    assert json.loads((tmp_path / "emotion" / "ov.json").read_text())["average"] == pytest.approx(
        ((2 / 3 + 1 + 0.5 + 1 + 1 + 0 + 1 + 0) / 8 + 5 / 8) / 2
    )


def test_table_refuses_mixed_presets(tmp_path, capsys):
    """A MER result (fractions) and a DFEW result (percentages) must not share one column."""
    gold_mer, gold_dfew = tmp_path / "mer.csv", tmp_path / "dfew.csv"
    gold_mer.write_text("name,label\na,happy\nb,sad\n")
    gold_dfew.write_text("name,label\na,1\nb,2\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("name,prediction\na,happy\nb,happy\n")
    outs = []
    for gold, preset in ((gold_mer, "mer2023"), (gold_dfew, "dfew")):
        out = tmp_path / f"{preset}.json"
        assert main(["emotion", "classify", "--gold", str(gold), "--pred", str(pred), "--preset", preset,
                     "--output", str(out), "--no-plot"]) == 0
        outs.append(str(out))
    capsys.readouterr()
    assert main(["emotion", "table", *outs]) == 2
    assert "mix benchmark presets (mer2023.json: mer2023, dfew.json: dfew)" in capsys.readouterr().err
