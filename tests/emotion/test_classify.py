"""Discrete classification from files: the seed's CSV, presets, compat rule, bad input."""

from __future__ import annotations

import json
import warnings

import pytest
from sklearn import metrics as skm

from mmscore.emotion.classify import evaluate_classification, score_answers
from mmscore.errors import ColumnError, ConfigError, InputError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SEED_GOLD = """video_name, emotion_label, transcription
sample_001.mp4, happiness, "I'm so happy today!"
sample_002.mp4, sadness, "This is really disappointing."
sample_003.mp4, angry, "Stop it, now."
sample_004.mp4, worried, "What if it fails?"
"""


def test_seed_csv_with_spaces_and_quotes(write):
    gold = write("gold.csv", SEED_GOLD)
    pred = write(
        "pred.jsonl",
        "\n".join(
            json.dumps(r)
            for r in [
                {"video_name": "sample_001", "answer": "Happy!"},
                {"video_name": "sample_002.mp4", "answer": "neutral"},
                {"video_name": "sample_003", "answer": "fear"},
                {"video_name": "sample_099", "answer": "sad"},
            ]
        )
        + "\n",
    )
    result = evaluate_classification(gold, pred, preset="mer2023")
    s = result.summary
    assert result.samples["gold"].tolist() == ["happy", "sad", "angry", "worried"]
    assert s["columns"] == {
        "gold_key": "video_name",
        "gold_label": "emotion_label",
        "pred_key": "video_name",
        "pred_label": "answer",
    }
    # independent: sklearn with out-of-set/missing as a label outside the MER set
    gold_l, pred_l = ["happy", "sad", "angry", "worried"], ["happy", "neutral", "<oos>", "<missing>"]
    labels = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(gold_l, pred_l)) == 0.25
    assert s["weighted_f1"] == pytest.approx(skm.f1_score(gold_l, pred_l, labels=labels, average="weighted"))
    assert s["out_of_set"]["count"] == 1 and s["out_of_set"]["most_common"] == [
        {"answer": "fear", "count": 1}
    ]
    assert s["missing"] == {"count": 1, "names": ["sample_004"]}
    assert s["extra_predictions"] == {"count": 1, "names": ["sample_099"]}
    for key in ("n", "accuracy", "weighted_f1", "macro_f1", "uar", "war", "per_class", "out_of_set"):
        assert key in s


def test_custom_preset_takes_labels_from_gold(write):
    gold = write("gold.csv", SEED_GOLD)
    pred = write(
        "pred.csv", "name,prediction\nsample_001,joy\nsample_002,sad\nsample_003,angry\nsample_004,angry\n"
    )
    s = evaluate_classification(gold, pred).summary
    assert s["labels"] == ["angry", "happy", "sad", "worried"]
    gold_l = ["happy", "sad", "angry", "worried"]
    pred_l = ["happy", "sad", "angry", "angry"]
    assert s["macro_f1"] == pytest.approx(skm.f1_score(gold_l, pred_l, average="macro"))
    assert s["uar"] == pytest.approx(skm.balanced_accuracy_score(gold_l, pred_l))


def test_explicit_label_set(write):
    gold = write("gold.csv", "name,label\na,happy\nb,happy\nc,sad\n")
    pred = write("pred.csv", "name,answer\na,happy\nb,Anger\nc,sad\n")
    assert evaluate_classification(gold, pred).summary["out_of_set"]["count"] == 1  # 'angry' never in gold
    s = evaluate_classification(gold, pred, labels=["Happiness", "sad", "angry"]).summary
    assert s["labels"] == ["happy", "sad", "angry"] and s["out_of_set"]["count"] == 0
    g, p = ["happy", "happy", "sad"], ["happy", "angry", "sad"]
    assert s["macro_f1"] == pytest.approx(skm.f1_score(g, p, average="macro"))
    with pytest.raises(ConfigError, match="--labels is empty"):
        evaluate_classification(gold, pred, labels=[" ", "!"])


def test_emotion_llama_compat_reproduces_its_script():
    targets = ["happy", "sad", "sad", "neutral", "worried", "angry", "surprise", "happy"]
    answers = ["happy", "sad.", "The emotion is sad", "Neutral", "anxious", "angry", "surprise", "joy"]
    # Emotion-LLaMA eval_emotion.py, written out independently
    a = [x.split(" ")[-1] for x in answers]
    a = [x if x in ["neutral", "angry", "happy", "sad", "worried", "surprise"] else "neutral" for x in a]
    t = [x.split(" ")[-1] for x in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_f1 = skm.f1_score(t, a, average="weighted")
        expected_p = skm.precision_score(t, a, average="weighted")
    s = score_answers(targets, answers, preset="mer2023", compat="emotion-llama").summary
    assert s["weighted_f1"] == pytest.approx(expected_f1)
    assert s["weighted_precision"] == pytest.approx(expected_p)
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(t, a))
    assert s["out_of_set"]["count"] == 4 and s["out_of_set"]["scored_as"] == "neutral"
    # mmscore's default rule reads the same answers differently: 'sad.', 'Neutral', 'anxious', 'joy' are fine
    assert score_answers(targets, answers, preset="mer2023").summary["accuracy"] == 1.0
    with pytest.raises(ConfigError, match="six MER labels"):
        score_answers(["happy"], ["happy"], preset="dfew", compat="emotion-llama")
    with pytest.raises(ConfigError, match="unknown --match 'fuzzy'"):
        score_answers(["happy"], ["happy"], match="fuzzy")
    with pytest.raises(ConfigError, match="--compat"):
        score_answers(["happy"], ["happy"], compat="other")


def test_mer2023_valence_combined(write):
    gold = write("gold.csv", "name,discrete,valence\na,happy,2.0\nb,sad,-1.5\nc,neutral,0\nd,angry,-3\n")
    pred = write("pred.csv", "name,discrete,valence\na,happy,1.0\nb,sad,-1.0\nc,worried,0.5\nd,angry,-2\n")
    s = evaluate_classification(gold, pred, preset="mer2023").summary
    g, p = ["happy", "sad", "neutral", "angry"], ["happy", "sad", "worried", "angry"]
    mse = skm.mean_squared_error([2.0, -1.5, 0, -3], [1.0, -1.0, 0.5, -2])
    assert s["valence_mse"] == pytest.approx(mse)
    assert s["combined"] == pytest.approx(skm.f1_score(g, p, average="weighted") - 0.25 * mse)
    assert "combined" in s["headline"]
    assert "combined" not in evaluate_classification(gold, pred, preset="mer2023", valence=False).summary
    assert "combined" not in evaluate_classification(gold, pred, preset="mer2024").summary


def test_valence_placeholder_and_missing_valence(write):
    gold = write("gold.csv", "name,discrete,valence\na,happy,-10\nb,sad,-10\n")
    pred = write("pred.csv", "name,discrete,valence\na,happy,1\nb,sad,\n")
    s = evaluate_classification(gold, pred, preset="mer2023").summary
    assert "combined" not in s and "placeholder" in s["valence_note"]
    gold2 = write("gold2.csv", "name,discrete,valence\na,happy,1\nb,sad,2\n")
    with pytest.raises(InputError, match=r"1 sample\(s\) have no predicted valence \(b\)"):
        evaluate_classification(gold2, pred, preset="mer2023")
    bad = write("bad.csv", "name,discrete,valence\na,happy,high\nb,sad,1\n")
    with pytest.raises(InputError, match=r"row 1 \(line 2\) \(a\): valence 'high' is not a number"):
        evaluate_classification(gold2, bad, preset="mer2023")


def test_dfew_numeric_gold_and_txt_list(write):
    gold = write("test.txt", "clip_1 120 1 -10\nclip_2 98 3 -10\n\nclip_3 77 7 -10\n")
    pred = write("pred.csv", "name,pred\nclip_1,happy\nclip_2,sad\nclip_3,Fear.\n")
    s = evaluate_classification(gold, pred, preset="dfew").summary
    assert s["per_class"]["happy"]["support"] == 1 and s["per_class"]["fear"]["recall"] == 1.0
    assert s["uar"] == pytest.approx(
        skm.balanced_accuracy_score(["happy", "neutral", "fear"], ["happy", "sad", "fear"])
    )
    assert s["classes_without_gold"] == ["sad", "angry", "surprise", "disgust"]


def test_duplicates_are_rejected_with_names(write):
    gold = write("gold.csv", "video_name,emotion_label\na.mp4,happy\nb,sad\na,sad\nb,sad\nc,sad\n")
    pred = write("pred.csv", "video_name,prediction\na,happy\n")
    with pytest.raises(
        InputError,
        match=r"2 duplicate video name\(s\): a \(row 1 \(line 2\), row 3 \(line 4\)\); "
        r"b \(row 2 \(line 3\), row 4 \(line 5\)\)",
    ):
        evaluate_classification(gold, pred)
    gold_ok = write("gold_ok.csv", "video_name,emotion_label\na,happy\n")
    dup_pred = write("dup.jsonl", '{"name": "a", "answer": "happy"}\n{"name": "a", "answer": "sad"}\n')
    with pytest.raises(InputError, match=r"dup.jsonl: 1 duplicate video name\(s\): a \(record 1, record 2\)"):
        evaluate_classification(gold_ok, dup_pred)


def test_bad_rows_name_file_and_row(write):
    pred = write("pred.csv", "name,prediction\na,happy\n")
    empty_label = write("g1.csv", "video_name, emotion_label\na, happy\nb, \n")
    with pytest.raises(InputError, match=r"g1.csv, row 2 \(line 3\) \(b\): empty 'emotion_label'"):
        evaluate_classification(empty_label, pred)
    empty_key = write("g2.csv", "video_name,emotion_label\na,happy\n,sad\n")
    with pytest.raises(InputError, match=r"g2.csv, row 2 \(line 3\): empty 'video_name'"):
        evaluate_classification(empty_key, pred)
    off_set = write("g3.csv", "video_name,emotion_label\na,happy\nb,fear\n")
    with pytest.raises(
        InputError, match=r"g3.csv, row 2 \(line 3\): gold label 'fear' is not in the mer2023"
    ):
        evaluate_classification(off_set, pred, preset="mer2023")
    ragged = write("g4.csv", 'video_name,emotion_label\na,happy\nb,sad,"x",extra\n')
    with pytest.raises(InputError, match=r"g4.csv: malformed CSV: .*line 3"):
        evaluate_classification(ragged, pred)
    no_column = write("g5.csv", "clip,mood\na,happy\n")
    with pytest.raises(
        InputError, match=r"g5.csv: no video-name key column found.*columns present: clip, mood"
    ):
        evaluate_classification(no_column, pred)
    with pytest.raises(ColumnError, match="'emotion' not found"):
        evaluate_classification(write("g6.csv", "name,label\na,happy\n"), pred, gold_label_column="emotion")
    bad_json = write("p.jsonl", '{"name": "a", "answer": "happy"}\n{"name": \n')
    with pytest.raises(InputError, match=r"p.jsonl, line 2: invalid JSON"):
        evaluate_classification(write("g7.csv", "name,label\na,happy\n"), bad_json)
    with pytest.raises(InputError, match="file not found"):
        evaluate_classification(write("g8.csv", "name,label\na,happy\n"), pred.with_name("nope.csv"))


def test_configurable_columns_and_blank_prediction(write):
    gold = write("gold.tsv", "clip\tmood\nx\thappy\ny\tsad\n")
    pred = write("pred.csv", "clip,guess,prediction\nx,sad,happy\ny,,sad\n")
    result = evaluate_classification(
        gold,
        pred,
        gold_key_column="clip",
        gold_label_column="mood",
        pred_key_column="clip",
        pred_label_column="guess",
    )
    assert result.samples["status"].tolist() == ["ok", "empty"]
    assert result.summary["accuracy"] == 0.0 and result.summary["out_of_set"]["by_status"]["empty"] == 1
