"""Answer → label normalisation edge cases and Emotion-LLaMA's rule."""

from __future__ import annotations

import math

import pytest

from mmscore.emotion.labels import (
    DFEW_LABELS,
    DFEW_NUMERIC,
    MER_LABELS,
    SYNONYMS,
    emotion_llama_label,
    normalize_answer,
    normalize_label_text,
)


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("happy", "happy"),
        ("  HAPPY!! ", "happy"),
        ("Happiness.", "happy"),
        ("anger", "angry"),
        ("Sadness", "sad"),
        ("worry", "worried"),
        ("Anxious...", "worried"),
        ("surprised!", "surprise"),
        ("\uff28\uff21\uff30\uff30\uff39", "happy"),  # full-width letters (NFKC)
        ('"neutral"', "neutral"),
        ("<happy>", "happy"),
    ],
)
def test_whole_answer_synonyms(answer, label):
    read = normalize_answer(answer, MER_LABELS)
    assert (read.label, read.status, read.rule) == (label, "ok", "exact")


def test_unique_mention_with_negation_guard():
    assert normalize_answer("The person is clearly angry.", MER_LABELS).label == "angry"
    read = normalize_answer("She looks sad, not angry.", MER_LABELS)
    assert (read.label, read.rule) == ("sad", "mention")
    assert normalize_answer("He isn't happy; he is worried", MER_LABELS).label == "worried"
    assert normalize_answer("He doesn\u2019t seem happy", MER_LABELS).status == "out_of_set"
    assert normalize_answer("I'm not sure, but he seems happy", MER_LABELS).label == "happy"


def test_ambiguous_empty_and_out_of_set():
    assert normalize_answer("happy or sad", MER_LABELS).status == "ambiguous"
    assert normalize_answer("", MER_LABELS).status == "empty"
    assert normalize_answer("  ...  ", MER_LABELS).status == "empty"
    assert normalize_answer(None, MER_LABELS).status == "empty"
    assert normalize_answer(math.nan, MER_LABELS).status == "empty"
    fear = normalize_answer("fear", MER_LABELS)  # fear is not folded into worried
    assert (fear.label, fear.status) == (None, "out_of_set")
    assert normalize_answer("fearful", DFEW_LABELS).label == "fear"


def test_match_modes():
    assert normalize_answer("The person is happy", MER_LABELS, match="exact").status == "out_of_set"
    assert normalize_answer("The person is Happy.", MER_LABELS, match="last-word").label == "happy"
    assert (
        normalize_answer("happy, not sad", MER_LABELS, match="last-word").label == "sad"
    )  # its known weakness
    with pytest.raises(ValueError, match="match"):
        normalize_answer("x", MER_LABELS, match="fuzzy")


def test_dfew_numeric_codes():
    assert [DFEW_NUMERIC[str(i)] for i in range(1, 8)] == [
        "happy",
        "sad",
        "neutral",
        "angry",
        "surprise",
        "disgust",
        "fear",
    ]
    assert normalize_answer("3", DFEW_LABELS, numeric=DFEW_NUMERIC).label == "neutral"
    assert normalize_answer("9", DFEW_LABELS, numeric=DFEW_NUMERIC).status == "out_of_set"


def test_emotion_llama_rule_is_exact():
    # last token of split(" "), case-sensitive, punctuation kept, out-of-set -> 'neutral'
    assert emotion_llama_label("The emotion is happy").label == "happy"
    for answer in ("happy.", "Happy", "happy ", "fear", "", None):
        read = emotion_llama_label(answer)
        assert (read.label, read.status) == ("neutral", "out_of_set"), answer
    assert emotion_llama_label("sad\nworried").label == "neutral"  # split(" ") keeps the newline token


def test_synonym_map_is_consistent():
    assert all(SYNONYMS[label] == label for label in set(SYNONYMS.values()))
    assert normalize_label_text("It\u2019s  SAD!") == "it's sad"
