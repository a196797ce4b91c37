"""BLEU and ROUGE-L against hand-worked examples (formulas written out here)."""

from __future__ import annotations

import math

import pytest

from mmscore.errors import ConfigError
from mmscore.metrics.text import bleu, rouge_l


def test_bleu_hand_worked():
    # hyp "the cat sat on the mat" vs ref "the cat sat on a mat" (6 tokens each: BP = 1)
    # 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3
    expected = 100 * math.exp(sum(math.log(p) for p in (5 / 6, 3 / 5, 2 / 4, 1 / 3)) / 4)
    out = bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert out["bleu"] == pytest.approx(expected, abs=1e-9)
    assert out["precisions"] == pytest.approx([500 / 6, 60.0, 50.0, 100 / 3])
    assert out["brevity_penalty"] == 1.0
    assert out["signature"].startswith("nrefs:1|")


def test_bleu_brevity_penalty_and_identity():
    ref = "he looks down and speaks slowly about the news"
    assert bleu([ref], [ref])["bleu"] == pytest.approx(100.0)
    hyp = "he looks down and speaks slowly"  # 6 of 9 tokens, all n-grams match
    assert bleu([hyp], [ref])["bleu"] == pytest.approx(100 * math.exp(1 - 9 / 6))


def test_rouge_l_hand_worked():
    # LCS("the cat on the mat", "the cat sat on the mat") = 5: P = 5/5, R = 5/6
    out = rouge_l(["the cat on the mat"], ["the cat sat on the mat"])
    p, r = 1.0, 5 / 6
    assert out["rouge_l_precision"] == pytest.approx(p)
    assert out["rouge_l_recall"] == pytest.approx(r)
    assert out["rouge_l"] == pytest.approx(2 * p * r / (p + r))


def test_rouge_l_chinese_uses_characters():
    # 他很开心 vs 他非常开心: LCS = 他开心 (3); P = 3/4, R = 3/5
    out = rouge_l(["他很开心"], ["他非常开心"])
    assert out["lang"] == "zh"
    assert out["rouge_l"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert (
        rouge_l(["他很开心"], ["他非常开心"], lang="en")["rouge_l"] == 0.0
    )  # what the default tokenizer does


def test_rouge_l_multiple_references_takes_best():
    out = rouge_l(["a b c"], [["x y z", "a b c"]])
    assert out["rouge_l"] == pytest.approx(1.0)


def test_reference_count_mismatch():
    with pytest.raises(ConfigError, match="2 hypotheses but 1 references"):
        bleu(["a", "b"], ["a"])
    with pytest.raises(ConfigError, match="lang"):
        rouge_l(["a"], ["a"], lang="fr")
