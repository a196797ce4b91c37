"""SPECS' caption "details": NLTK sentence/word tokenising and POS tagging, a regular-expression
chunk grammar, then merging rules (behaviour of SPECS ``data/preprocessing/chunk_preprocessing.py``,
re-implemented; the loop quirks that decide results are kept and commented).

NLTK's models cannot be downloaded by mmscore: when they are missing the error gives the exact
``nltk.downloader`` command.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from mmscore.errors import ConfigError, DependencyError

# NP: optional determiner, adjectives, nouns; VP: a verb and what follows it; PP: preposition + NP;
# CLAUSE: NP + VP; CONJ: a conjunction and what it joins. Stages apply in this order.
GRAMMAR = r"""
    NP: {<DT>?<JJ>*<NN|NNS|NNP|NNPS>+}
    VP: {<VB.*><NP|PP|CLAUSE>*}
    PP: {<IN><NP>}
    CLAUSE: {<NP><VP>}
    CONJ: {<CC><NP|VP|PP|CLAUSE>+}
"""
CLOSING = frozenset({"NP", "VP", "PP", "CLAUSE"})  # a segment ends after these chunks (not after CONJ)
JOINERS = frozenset({"behind", "in", "under", "on", "to", "above", "left", "right", "next", "up", "down", "out",
                     "of", "'s", "is"})
NLTK_RESOURCES = {"tokenizers/punkt_tab/english/": "punkt_tab",
                  "taggers/averaged_perceptron_tagger_eng/": "averaged_perceptron_tagger_eng"}


def require_nltk_data() -> None:
    """Fail early, naming the download command, when NLTK or its models are missing."""
    try:
        import nltk
    except ImportError as exc:
        raise DependencyError("nltk", "train") from exc
    missing = []
    for path, name in NLTK_RESOURCES.items():
        try:
            nltk.data.find(path)
        except LookupError:
            missing.append(name)
    if missing:
        raise ConfigError(
            f"NLTK data {', '.join(missing)} not found (searched {', '.join(nltk.data.path[:3])}, ...); on a "
            f"machine with internet run: python -m nltk.downloader {' '.join(missing)}  "
            "(or copy an nltk_data folder here and set NLTK_DATA)")


@lru_cache(maxsize=1)
def _parser():
    import nltk

    return nltk.RegexpParser(GRAMMAR)


def segment_tagged(tagged: Sequence[tuple[str, str]]) -> list[str]:
    """Segments of one POS-tagged sentence: tokens accumulate until a closing chunk ends a segment."""
    import nltk

    segments, current = [], []
    for node in _parser().parse(list(tagged)):
        if isinstance(node, nltk.Tree):
            current.extend(node.leaves())
            if node.label() in CLOSING:
                segments.append(" ".join(word for word, _ in current))
                current = []
        else:
            current.append(node)
    if current:
        segments.append(" ".join(word for word, _ in current))
    return segments


def _fragment_since_sentence(text: str, bar: int) -> list[str] | None:
    """Words between the last '.' before ``bar`` and the bar; None when there is no such '.'
    (the rules that use it never apply in a caption's first sentence)."""
    dot = text.rfind(".", 0, bar)
    if dot == -1 or dot >= bar - 2:
        return None
    return text[dot + 1: bar - 1].split()


def _drop_bar(text: str, bar: int) -> str | None:
    """The text without the boundary at ``bar`` when a merging rule says so, else None."""
    fragment = _fragment_since_sentence(text, bar)
    if fragment and len(fragment) <= 3 and fragment[0] == "The":  # "The cat |": too short to stand alone
        return text[:bar] + text[bar + 2:]
    rest = text[bar + 2:]
    space = rest.find(" ")
    if bar + 2 < len(text) and space != -1 and rest[:space].strip() in JOINERS:  # next word attaches
        return text[:bar] + text[bar + 2:]
    if fragment and fragment[0].lower() in JOINERS and "is" not in fragment and "are" not in fragment:
        return text[:bar] + text[bar + 2:]
    return None


def merge_segments(segments: Sequence[str]) -> list[str]:
    """The original's post-processing of "seg | seg | ... |": remove boundaries around '.', apply
    the merging rules, then cut after every '.'; empty chunks are dropped."""
    text = " | ".join(segments) + " |"
    text = text.replace("| . |", ".").replace("| .", ".").replace(". |", ".")
    # as the original: positions run over the length at the start, a removal does not move the
    # position back (its "i -= 2" is a no-op in a for loop), so the character after it is skipped
    for position in range(len(text)):
        if position >= len(text):
            break
        if text[position] == "|":
            text = _drop_bar(text, position) or text
    return [chunk.strip() for chunk in text.replace(".", ".|").split("|") if chunk.strip()]


def chunk_caption(caption: str) -> list[str]:
    """A caption's details (NLTK data required: see ``require_nltk_data``)."""
    from nltk import pos_tag
    from nltk.tokenize import sent_tokenize, word_tokenize

    segments: list[str] = []
    for sentence in sent_tokenize(caption):
        segments.extend(segment_tagged(pos_tag(word_tokenize(sentence))))
    return merge_segments(segments)
