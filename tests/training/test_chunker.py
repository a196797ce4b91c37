"""The SPECS chunk grammar and merging rules on hand-worked, hand-tagged sentences (no NLTK
models needed: the tags are given). The expected chunks were worked out by hand from the
grammar and rules and agree with SPECS' own chunk_preprocessing.py functions on these inputs."""

from __future__ import annotations

import pytest

pytest.importorskip("nltk")

from mmscore.errors import ConfigError  # noqa: E402
from mmscore.training.chunker import merge_segments, require_nltk_data, segment_tagged  # noqa: E402

CAT = [("The", "DT"), ("cat", "NN"), ("is", "VBZ"), ("sitting", "VBG"), ("on", "IN"), ("a", "DT"),
       ("green", "JJ"), ("sofa", "NN"), (".", ".")]
DOG = [("A", "DT"), ("small", "JJ"), ("dog", "NN"), ("runs", "VBZ"), ("in", "IN"), ("the", "DT"), ("park", "NN"),
       ("and", "CC"), ("a", "DT"), ("boy", "NN"), ("watches", "VBZ"), (".", ".")]
CAR = [("The", "DT"), ("image", "NN"), ("shows", "VBZ"), ("a", "DT"), ("red", "JJ"), ("car", "NN"),
       ("next", "JJ"), ("to", "TO"), ("a", "DT"), ("tree", "NN"), (".", ".")]
FENCE = [("The", "DT"), ("car", "NN"), ("is", "VBZ"), ("parked", "VBN"), ("behind", "IN"), ("a", "DT"),
         ("fence", "NN"), (".", ".")]
HILLS = [("In", "IN"), ("the", "DT"), ("background", "NN"), (",", ","), ("there", "EX"), ("are", "VBP"),
         ("mountains", "NNS"), (".", ".")]


def test_segments_close_after_np_vp_pp_and_clause_chunks():
    # NP(The cat) + VP(is) → CLAUSE; VP(sitting) alone (a VBG, then IN); PP(on + NP(a green sofa)); '.' left over
    assert segment_tagged(CAT) == ["The cat is", "sitting", "on a green sofa", "."]
    # CONJ(and + CLAUSE(a boy watches)) does not close a segment: the trailing '.' joins it
    assert segment_tagged(DOG) == ["A small dog runs", "in the park", "and a boy watches ."]


def test_joining_word_merges_with_the_previous_segment():
    # "| on" → merged; the "| . |" becomes "." and the text is cut after it
    assert merge_segments(segment_tagged(CAT)) == ["The cat is", "sitting on a green sofa ."]
    # "| in the park": "in" joins; CONJ segment stays separate
    assert merge_segments(segment_tagged(DOG)) == ["A small dog runs in the park", "and a boy watches ."]


def test_rules_that_need_a_previous_sentence():
    segments = segment_tagged(CAR) + segment_tagged(FENCE) + segment_tagged(HILLS)
    # second sentence: "The car is |" (≤ 3 words after '.', starting "The") merges; "| behind" joins;
    # third: "In the background |" starts with a preposition without is/are → merges
    assert merge_segments(segments) == [
        "The image shows a red car next to a tree .",
        "The car is parked behind a fence .",
        "In the background , there are mountains .",
    ]
    # the same short "The car is" as a caption's FIRST sentence is not merged (no '.' before it)
    assert merge_segments(segment_tagged(FENCE)) == ["The car is", "parked behind a fence ."]


def test_missing_nltk_data_names_the_download_command(monkeypatch, tmp_path):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(ConfigError, match="python -m nltk.downloader punkt_tab averaged_perceptron_tagger_eng"):
        require_nltk_data()
