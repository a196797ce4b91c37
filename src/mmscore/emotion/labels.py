"""Label sets and turning a model's free-text answer into a label.

Two rules exist, because they answer different questions:

``normalize_answer`` (mmscore's default) — what did the model mean?
    1. clean: Unicode NFKC, casefold, every character that is not a letter, digit, hyphen or
       apostrophe becomes a space, whitespace collapsed ("  Happy!! " → "happy");
    2. ``exact``: the whole cleaned answer, through the synonym map ``SYNONYMS``, is a label;
    3. ``mention`` (only with ``match="auto"``): otherwise every word is looked up in the map;
       words up to three words after a negation ("not", "no", "never", "n't" …) in the same
       clause (clauses end at , ; : . ! ? and "but") are ignored; if exactly one
       label of the set is mentioned it is the answer, if several are mentioned the answer is
       *ambiguous*;
    4. anything else is *out of set*: counted, reported, and scored as wrong.
    ``match="last-word"`` applies steps 1–2 to the last word only (Emotion-LLaMA's idea with
    normalisation); ``match="exact"`` stops after step 2.

``emotion_llama_label`` (``--compat emotion-llama``) — the published numbers.
    Emotion-LLaMA ``eval_emotion.py`` keeps ``answer.split(" ")[-1]`` (no lower-casing, no
    punctuation stripping: "happy." is out of set), exact membership in the six MER labels, and
    replaces an out-of-set answer by ``"neutral"``; the target also keeps its last token.

The synonym map lists inflections and close synonyms only; it never merges two labels that any
supported dataset keeps apart (``fear`` stays ``fear``, it is not folded into ``worried``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MER_LABELS: tuple[str, ...] = ("neutral", "angry", "happy", "sad", "worried", "surprise")
"""MER2023/MER2024/MER2025 label order (MERTools ``main-release.py`` / ``toolkit/globals.py``)."""

DFEW_LABELS: tuple[str, ...] = ("happy", "sad", "neutral", "angry", "surprise", "disgust", "fear")
"""DFEW classes in the official numbering 1..7 (jiangxingxun/DFEW README)."""

DFEW_NUMERIC: dict[str, str] = {str(i + 1): label for i, label in enumerate(DFEW_LABELS)}
"""DFEW annotation files use 1 Happy, 2 Sad, 3 Neutral, 4 Angry, 5 Surprise, 6 Disgust, 7 Fear."""

_GROUPS: dict[str, tuple[str, ...]] = {
    "neutral": ("neutrality", "emotionless", "expressionless"),
    "angry": ("anger", "angered", "angrily", "furious", "fury", "rage", "enraged", "irate"),
    "happy": ("happiness", "happily", "joy", "joyful", "joyous", "glad", "cheerful", "delighted"),
    "sad": ("sadness", "sadly", "unhappy", "unhappiness", "sorrow", "sorrowful"),
    "worried": ("worry", "worries", "worrying", "anxious", "anxiety", "nervous", "nervousness",
                "concerned", "concern"),
    "surprise": ("surprised", "surprising", "surprises", "astonished", "astonishment", "amazed",
                 "amazement"),
    "disgust": ("disgusted", "disgusting", "disgustful", "revulsion"),
    "fear": ("fearful", "afraid", "scared", "frightened", "fright", "terrified", "terror"),
    "contempt": ("contemptuous", "scorn", "disdain"),
    "doubt": ("doubtful", "doubting", "skeptical", "sceptical"),
}

SYNONYMS: dict[str, str] = {
    **{label: label for label in _GROUPS},
    **{variant: label for label, variants in _GROUPS.items() for variant in variants},
}
"""variant → canonical label (every canonical label maps to itself)."""

_NEGATIONS = frozenset({"not", "no", "never", "neither", "nor", "without", "hardly", "barely",
                        "isn't", "wasn't", "aren't", "weren't", "doesn't", "don't", "didn't", "nothing"})
_NEGATION_WINDOW = 3
_CLAUSE = re.compile(r"[,;:.!?()\n]|\bbut\b", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w\s'\-]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")

MATCH_MODES = ("auto", "exact", "last-word")


@dataclass(frozen=True)
class LabelMatch:
    """Result of reading one answer: ``label`` is None unless ``status == 'ok'``."""

    raw: str
    label: str | None
    status: str  # ok | out_of_set | ambiguous | empty
    rule: str = ""  # exact | mention | last-word | dfew-number | emotion-llama


def normalize_label_text(text: object) -> str:
    """Casefolded, punctuation-free, single-spaced version of ``text`` ('' for None/NaN)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    value = unicodedata.normalize("NFKC", str(text)).casefold()
    value = value.replace("\u2019", "'")
    value = _NON_WORD.sub(" ", value)
    words = [word.strip("'-") for word in value.split()]
    return _SPACES.sub(" ", " ".join(w for w in words if w)).strip()


def canonical(term: str, synonyms: dict[str, str] | None = None) -> str:
    """The canonical label of a cleaned term (the term itself when the map does not know it)."""
    table = SYNONYMS if synonyms is None else synonyms
    return table.get(term, term)


def normalize_answer(
    answer: object,
    labels: tuple[str, ...] | list[str],
    *,
    match: str = "auto",
    synonyms: dict[str, str] | None = None,
    numeric: dict[str, str] | None = None,
) -> LabelMatch:
    """Map a free-text answer to one of ``labels`` (see the module docstring for the rules).

    ``numeric`` optionally maps bare numbers to labels (DFEW's 1..7 annotation codes).

    >>> normalize_answer("Happiness.", ("happy", "sad")).label
    'happy'
    >>> normalize_answer("He is not happy, he is sad", ("happy", "sad")).label
    'sad'
    """
    if match not in MATCH_MODES:
        raise ValueError(f"match must be one of {', '.join(MATCH_MODES)}, got {match!r}")
    raw = "" if answer is None or (isinstance(answer, float) and answer != answer) else str(answer)
    cleaned = normalize_label_text(raw)
    if not cleaned:
        return LabelMatch(raw, None, "empty")
    label_set = set(labels)
    if numeric and cleaned in numeric:
        value = numeric[cleaned]
        return LabelMatch(raw, value, "ok", "dfew-number") if value in label_set else LabelMatch(
            raw, None, "out_of_set")
    if match == "last-word":
        word = canonical(cleaned.split(" ")[-1], synonyms)
        if word in label_set:
            return LabelMatch(raw, word, "ok", "last-word")
        return LabelMatch(raw, None, "out_of_set")
    whole = canonical(cleaned, synonyms)
    if whole in label_set:
        return LabelMatch(raw, whole, "ok", "exact")
    if match == "exact":
        return LabelMatch(raw, None, "out_of_set")
    mentioned = _mentioned_labels(raw, label_set, synonyms)
    if len(mentioned) == 1:
        return LabelMatch(raw, mentioned[0], "ok", "mention")
    return LabelMatch(raw, None, "ambiguous" if mentioned else "out_of_set")


def _mentioned_labels(raw: str, label_set: set[str], synonyms: dict[str, str] | None) -> list[str]:
    """Labels named in ``raw``, skipping words within three words after a negation in the same clause."""
    found: list[str] = []
    for clause in _CLAUSE.split(raw):
        words = normalize_label_text(clause).split(" ")
        for index, word in enumerate(words):
            label = canonical(word, synonyms)
            if label not in label_set:
                continue
            before = words[max(0, index - _NEGATION_WINDOW):index]
            if any(w in _NEGATIONS or w.endswith("n't") for w in before):
                continue
            if label not in found:
                found.append(label)
    return found


def emotion_llama_token(text: object) -> str:
    """Emotion-LLaMA's ``text.split(" ")[-1]`` on the raw string ('' for None/NaN)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return str(text).split(" ")[-1]


def emotion_llama_label(answer: object, labels: tuple[str, ...] = MER_LABELS) -> LabelMatch:
    """Emotion-LLaMA ``eval_emotion.py`` rule: last space token, exact match, else ``'neutral'``.

    The returned ``status`` still says ``out_of_set`` when the replacement happened, so the count
    is reported even though the label used for scoring is ``'neutral'``.
    """
    raw = "" if answer is None or (isinstance(answer, float) and answer != answer) else str(answer)
    token = emotion_llama_token(raw)
    if token in labels:
        return LabelMatch(raw, token, "ok", "emotion-llama")
    return LabelMatch(raw, "neutral", "out_of_set", "emotion-llama")
