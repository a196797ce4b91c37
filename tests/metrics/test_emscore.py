"""EMScore functions against values worked out by hand on tiny 2-D embeddings."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
import torch

from mmscore.metrics.emscore import (
    EOT_ID,
    SOT_ID,
    XV,
    XVX,
    XX,
    IdfTable,
    TextEmbedding,
    compute_idf,
    emscore,
    f_measure,
    idf_table_from_mapping,
    official_corpus,
)

W = 500  # a word-piece id


def sentence(*vectors: tuple[float, float], ids: list[int] | None = None) -> TextEmbedding:
    ids = ids if ids is not None else [SOT_ID] + [W + i for i in range(len(vectors) - 2)] + [EOT_ID]
    return TextEmbedding(torch.tensor(vectors, dtype=torch.float64), torch.tensor(ids))


# candidate: SOT (1,0), word (0,1), EOT (.6,.8); reference: SOT (1,0), EOT (.8,.6)
CAND = [(1.0, 0.0), (0.0, 1.0), (0.6, 0.8)]
REF = [(1.0, 0.0), (0.8, 0.6)]


def full(p: float, r: float, f: float, c: float) -> dict[str, float]:
    return {
        "figr_P": p,
        "figr_R": r,
        "figr_F": f,
        "cogr": c,
        "full_P": (p + c) / 2,
        "full_R": (r + c) / 2,
        "full_F": (f + c) / 2,
    }


def assert_scores(actual: dict[str, float], expected: dict[str, float]) -> None:
    assert set(actual) == set(expected)
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=1e-12), key


# ----------------------------------------------------------------------------- idf
def test_idf_matches_the_bertscore_formula_with_padding_and_eot_override():
    docs = [[SOT_ID, 5, 7, EOT_ID, 0, 0], [SOT_ID, 5, 9, EOT_ID, 0, 0]]
    table = compute_idf(docs)
    n = 2
    # df: SOT 2, 5 2, 7 1, 9 1, EOT 2, pad 0 2 -> idf ln(3/3)=0 or ln(3/2)
    assert table.weights[SOT_ID] == pytest.approx(0.0)
    assert table.weights[5] == pytest.approx(0.0)
    assert table.weights[0] == pytest.approx(0.0)
    assert table.weights[7] == pytest.approx(math.log(3 / 2))
    # EOT: mean over the 6 keys {0, 5, 7, 9, SOT, EOT} with EOT's own 0 inside
    assert table.weights[EOT_ID] == pytest.approx(2 * math.log(1.5) / 6)
    assert table.default == pytest.approx(math.log(n + 1))
    assert table.lookup(torch.tensor([12345, 9])).tolist() == pytest.approx([math.log(3), math.log(1.5)])


def test_idf_pad_key_only_for_rows_shorter_than_the_context():
    full_row = [SOT_ID, 5, 6, 7, 8, EOT_ID]
    table = compute_idf(torch.tensor([full_row, [SOT_ID, 5, EOT_ID, 0, 0, 0]]))
    # pad 0 appears in one of two rows: ln(3/2); keys {SOT,5,6,7,8,EOT,0}
    assert table.weights[0] == pytest.approx(math.log(1.5))
    expected_mean = (0 + 0 + 3 * math.log(1.5) + 0 + math.log(1.5)) / 7
    assert table.weights[EOT_ID] == pytest.approx(expected_mean)


def test_duplicates_in_a_document_count_once_and_corpus_rules():
    table = compute_idf([[SOT_ID, 5, 5, 5, EOT_ID], [SOT_ID, 6, EOT_ID, 0, 0]])
    assert table.weights[5] == pytest.approx(math.log(3 / 2))
    assert official_corpus(["c1", "c2"], [["r1", "r2"], ["r1"]]) == ["r1", "r2", "r1"]
    assert official_corpus(["c1", "c2"], [[], []]) == ["c1", "c2"]
    assert official_corpus(["c1"], None) == ["c1"]
    with pytest.raises(ValueError):
        compute_idf([])


def test_precomputed_idf_mapping():
    official_like = defaultdict(lambda: 7.0, {W: 2.0, SOT_ID: 0.0, EOT_ID: 1.0})
    table = idf_table_from_mapping(official_like)
    assert table.lookup(torch.tensor([W, 42])).tolist() == [2.0, 7.0]
    assert idf_table_from_mapping({W: 2.0}).lookup(torch.tensor([42])).tolist() == [0.0]


# ----------------------------------------------------------------------------- X,X*
def test_text_text_uniform_weights_by_hand():
    result = emscore(sentence(*CAND), references=[sentence(*REF)], idf=None)
    # sims c.r: SOT (1, .8), word (0, .6), EOT (.6, .96)
    p = (1 + 0.6 + 0.96) / 3
    r = (max(1, 0, 0.6) + max(0.8, 0.6, 0.96)) / 2
    f = 2 * p * r / (p + r)
    assert list(result.scores) == [XX]
    assert_scores(result.scores[XX], full(p, r, f, 0.96))
    assert result.notes == []


def test_text_text_idf_weights_both_sides():
    idf = IdfTable({SOT_ID: 0.0, W: 2.0, EOT_ID: 1.0}, default=5.0, corpus_size=3)
    result = emscore(sentence(*CAND), references=[sentence(*REF)], idf=idf)
    # candidate weights [0, 2/3, 1/3]; reference weights [0, 1]
    p = 0 * 1 + (2 / 3) * 0.6 + (1 / 3) * 0.96
    r = 0 * 1 + 1 * 0.96
    assert_scores(result.scores[XX], full(p, r, 2 * p * r / (p + r), 0.96))


def test_multiple_references_take_independent_maxima():
    cand = sentence((1.0, 0.0), (0.0, 1.0))  # SOT, EOT
    ref_a = sentence((1.0, 0.0), (1.0, 0.0))  # matches SOT only
    ref_b = sentence((0.0, 1.0), (0.6, 0.8))
    result = emscore(cand, references=[ref_a, ref_b], idf=None)
    # vs A: P = (1 + 0)/2 = .5, R = 1, cogr = (0,1).(1,0) = 0
    # vs B: P = (max(0,.6) + max(1,.8))/2 = .8, R = (max(0,1) + max(.6,.8))/2 = .9, cogr = .8
    pa, ra = 0.5, 1.0
    pb, rb = 0.8, 0.9
    fa, fb = 2 * pa * ra / (pa + ra), 2 * pb * rb / (pb + rb)
    assert_scores(result.scores[XX], full(max(pa, pb), max(ra, rb), max(fa, fb), max(0.0, 0.8)))
    # R's maximum comes from A while P's comes from B: F is NOT recomputed from the maxima
    assert result.scores[XX]["figr_F"] != pytest.approx(2 * 0.8 * 1.0 / 1.8)


# ----------------------------------------------------------------------------- X,V
def test_text_video_precision_idf_recall_plain_mean():
    idf = IdfTable({SOT_ID: 0.0, W: 2.0, EOT_ID: 1.0}, default=5.0, corpus_size=3)
    frames = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    result = emscore(sentence(*CAND), frames=frames, idf=idf)
    assert list(result.scores) == [XV]
    # sims (token x frame): SOT (1,0), word (0,1), EOT (.6,.8)
    p = 0 * 1 + (2 / 3) * 1 + (1 / 3) * 0.8
    r = (max(1, 0, 0.6) + max(0, 1, 0.8)) / 2
    video = (1 / math.sqrt(2), 1 / math.sqrt(2))
    cogr = 0.6 * video[0] + 0.8 * video[1]
    assert_scores(result.scores[XV], full(p, r, 2 * p * r / (p + r), cogr))


def test_frames_are_normalised_and_negative_maxima_are_kept():
    # one frame pointing away from every token: clean maxima stay negative (no padding artefact)
    cand = sentence((1.0, 0.0), (0.6, 0.8))
    frames = torch.tensor([[-3.0, 0.0]])  # unnormalised on purpose
    result = emscore(cand, frames=frames, idf=None)
    p = (-1 + -0.6) / 2
    r = max(-1, -0.6)
    assert_scores(result.scores[XV], full(p, r, 2 * p * r / (p + r), -0.6))


def test_all_three_types_and_combination():
    idf = None
    frames = torch.tensor([[0.0, 1.0]])
    result = emscore(sentence(*CAND), frames=frames, references=[sentence(*REF)], idf=idf)
    assert list(result.scores) == [XX, XV, XVX]
    xv, xx = result.scores[XV], result.scores[XX]
    # X,V: sims with (0,1): 0, 1, .8 -> P = 1.8/3, R = 1, cogr = .8
    p_v, r_v = 1.8 / 3, 1.0
    f_v = 2 * p_v * r_v / (p_v + r_v)
    assert_scores(xv, full(p_v, r_v, f_v, 0.8))
    p_t = (1 + 0.6 + 0.96) / 3
    r_t = 0.98
    f_t = 2 * p_t * r_t / (p_t + r_t)
    assert_scores(
        result.scores[XVX], full((p_v + p_t) / 2, (r_v + r_t) / 2, (f_v + f_t) / 2, (0.8 + 0.96) / 2)
    )
    assert result.scores[XVX]["full_F"] == pytest.approx((xv["full_F"] + xx["full_F"]) / 2)


def test_per_frame_scores_treat_each_frame_as_a_one_frame_video():
    idf = IdfTable({SOT_ID: 0.0, W: 2.0, EOT_ID: 1.0}, default=5.0, corpus_size=3)
    frames = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    result = emscore(sentence(*CAND), frames=frames, references=[sentence(*REF)], idf=idf, per_frame=True)
    assert result.frames is not None and len(result.frames) == 2
    # frame 0 = (1,0): token sims 1, 0, .6
    first = result.frames[0][XV]
    p0 = (2 / 3) * 0 + (1 / 3) * 0.6
    assert_scores(first, full(p0, 1.0, 2 * p0 / (p0 + 1.0), 0.6))
    second = result.frames[1][XV]
    p1 = (2 / 3) * 1 + (1 / 3) * 0.8
    assert_scores(second, full(p1, 1.0, 2 * p1 / (p1 + 1.0), 0.8))
    assert result.frames[1][XX] == result.scores[XX]
    assert result.frames[1][XVX]["cogr"] == pytest.approx((0.8 + result.scores[XX]["cogr"]) / 2)


# ----------------------------------------------------------------------------- edge cases
def test_f_is_zero_when_precision_plus_recall_is_zero():
    assert f_measure(0.0, 0.0) == 0.0
    assert f_measure(0.5, -0.5) == 0.0
    cand = sentence((1.0, 0.0), ids=[EOT_ID])
    ref = sentence((0.0, 1.0), ids=[EOT_ID])
    scores = emscore(cand, references=[ref], idf=None).scores[XX]
    assert scores["figr_P"] == 0.0 and scores["figr_R"] == 0.0 and scores["figr_F"] == 0.0
    assert not any(math.isnan(v) for v in scores.values())


def test_zero_idf_sum_falls_back_to_uniform_and_says_so():
    # one candidate, no reference: the official corpus is that candidate, every idf is 0
    cand = sentence(*CAND)
    idf = compute_idf([[SOT_ID, W, EOT_ID, 0]])
    assert idf.lookup(cand.ids).sum() == 0.0
    result = emscore(cand, frames=torch.tensor([[0.0, 1.0]]), idf=idf)
    uniform = emscore(cand, frames=torch.tensor([[0.0, 1.0]]), idf=None)
    assert result.scores == uniform.scores
    assert len(result.notes) == 1 and "uniform" in result.notes[0]
    assert not any(math.isnan(v) for v in result.scores[XV].values())


def test_input_validation():
    with pytest.raises(ValueError):
        TextEmbedding(torch.zeros(3, 2), torch.tensor([1, 2]))
    with pytest.raises(ValueError):
        emscore(sentence(*CAND), frames=torch.zeros(0, 2))
