"""EMER: LLM-judged clue/label overlap against the fake OpenAI server, plus BLEU/ROUGE."""

from __future__ import annotations

import json
import re

import pytest

from mmscore.emotion.emer import evaluate_emer
from mmscore.emotion.llm import JudgeSettings
from mmscore.errors import ConfigError, JudgeError
from mmscore.metrics.text import bleu, rouge_l
from mmscore.testing.fake_openai import FakeOpenAIServer, Reply

GOLD = """names,reasons
s1,"He smiles and laughs loudly, so he is happy."
s2,"She frowns and her voice trembles, so she is sad."
s3,"He clenches his fists and shouts, so he is angry."
"""
PRED = """name,prediction
s1,"The man smiles, he is happy and excited."
s2,"BROKEN she looks down, she is sad."
"""
CLUE = {"s1": 8, "s2": 5}


def responder(request):
    text = request.text
    if "Description:" in text:  # emotion-word extraction
        description = text.split("Description:")[1]
        words = [w for w in ("happy", "excited", "sad", "angry") if w in description]
        return Reply.json_reply({"emotions": words})
    if "Reference emotions:" in text:
        reference = json.loads(re.search(r"Reference emotions: (\[.*\])", text).group(1))
        predicted = json.loads(re.search(r"Predicted emotions: (\[.*\])", text).group(1))
        return Reply.json_reply({"score": 2 + 2 * len(set(reference) & set(predicted)), "reason": "overlap"})
    if "BROKEN" in text and "Score from" in text:
        return Reply.json_reply({"score": 11, "reason": "out of range"})
    return Reply.json_reply(
        {"score": 8 if "smiles" in text.split("Predicted description:")[1] else 5, "reason": "cues"}
    )


def _settings(server, tmp_path, **kw):
    return JudgeSettings(
        base_url=server.base_url,
        model="fake-judge",
        api_key_env=None,
        max_attempts=1,
        base_delay=0.01,
        cache=str(tmp_path / "judge.sqlite"),
        **kw,
    )


def test_judge_scores_failed_row_and_missing(write, tmp_path):
    gold, pred = write("gold.csv", GOLD), write("pred.csv", PRED)
    with FakeOpenAIServer(responder=responder) as server:
        summary, table = evaluate_emer(gold, pred, judge=_settings(server, tmp_path))
        # s1: clue + 2 word lists + label = 4; s2: clue (+1 re-ask) + 2 word lists + label = 5; s3 missing
        assert server.chat_count == 9
    # s1 clue 8; s2 clue fails (11 is out of range, also after the re-ask); s3 missing -> 0
    assert table["clue_overlap"].tolist()[0] == 8.0 and table["clue_overlap"].isna().tolist()[1]
    assert summary["clue_overlap"] == pytest.approx((8 + 0) / 2)
    # label: s1 {happy} vs {happy, excited} -> 2 + 2*1 = 4; s2 {sad} vs {sad} -> 4; s3 missing -> 0
    assert table["label_overlap"].tolist() == [4.0, 4.0, 0.0]
    assert summary["label_overlap"] == pytest.approx(8 / 3)
    assert table.loc[0, "reference_emotions"] == ["happy"]
    assert table.loc[0, "predicted_emotions"] == ["happy", "excited"]
    assert summary["n_failed"] == 1 and summary["failed"] == ["s2"]
    assert "clue: JudgeParseError" in table.loc[1, "error"]
    assert summary["missing"] == {"count": 1, "names": ["s3"]}
    assert summary["judge_usage"]["reasks"] == 1
    assert summary["scale"] == "1-10"
    # BLEU/ROUGE over all three samples, the missing one as an empty hypothesis
    hyps = ["The man smiles, he is happy and excited.", "BROKEN she looks down, she is sad.", ""]
    refs = [
        "He smiles and laughs loudly, so he is happy.",
        "She frowns and her voice trembles, so she is sad.",
        "He clenches his fists and shouts, so he is angry.",
    ]
    assert summary["bleu"] == pytest.approx(bleu(hyps, refs)["bleu"])
    assert summary["rouge_l"] == pytest.approx(rouge_l(hyps, refs)["rouge_l"])
    assert table["rouge_l"].tolist()[2] == 0.0


def test_strict_mode_and_cache(write, tmp_path):
    gold, pred = write("gold.csv", GOLD), write("pred.csv", PRED)
    with FakeOpenAIServer(responder=responder) as server:
        with pytest.raises(JudgeError, match=r"1 sample\(s\) could not be judged.*'s2'"):
            evaluate_emer(gold, pred, judge=_settings(server, tmp_path), strict=True)
        before = server.chat_count
        ok_pred = write("ok.csv", PRED.replace("BROKEN ", ""))
        evaluate_emer(gold, ok_pred, judge=_settings(server, tmp_path), tasks=("clue",))
        evaluate_emer(gold, ok_pred, judge=_settings(server, tmp_path), tasks=("clue",))
        # s1's clue request is the same as in the strict run: cached; only s2's new text is asked,
        # and the second run is served entirely from the SQLite cache
        assert server.chat_count == before + 1


def test_score_range_follows_min_score(write, tmp_path):
    gold = write("gold.csv", "names,reasons\ns1,He is happy.\n")
    pred = write("pred.csv", "name,prediction\ns1,He is calm.\n")
    with FakeOpenAIServer(default=Reply.json_reply({"score": 0, "reason": "none"})) as server:
        default, _ = evaluate_emer(
            gold, pred, judge=_settings(server, tmp_path), tasks=("clue",), text_metrics=False
        )
        zero, _ = evaluate_emer(
            gold, pred, judge=_settings(server, tmp_path), tasks=("clue",), min_score=0, text_metrics=False
        )
    assert default["n_failed"] == 1  # 0 is outside AffectGPT's 1-10
    assert zero["clue_overlap"] == 0.0 and zero["scale"] == "0-10"


def test_text_metrics_only_and_config_errors(write):
    gold, pred = write("gold.csv", GOLD), write("pred.csv", PRED)
    summary, table = evaluate_emer(gold, pred, judge=None)
    assert "clue_overlap" not in summary and summary["headline"].keys() == {"bleu", "rouge_l"}
    with pytest.raises(ConfigError, match="nothing to compute"):
        evaluate_emer(gold, pred, judge=None, text_metrics=False)
    with pytest.raises(ConfigError, match="min_score"):
        from mmscore.emotion.llm import score_emer_pairs

        score_emer_pairs([("a", "b")], JudgeSettings(), min_score=3)
