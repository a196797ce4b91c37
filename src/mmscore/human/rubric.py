"""The 1-5 solution-correctness scale shown to annotators, worded as in the VMEvalKit scoring guide
(seed ``001``, "Scoring Criteria"), so human scores mean the same as the judges' scores."""

from __future__ import annotations

from mmscore.defaults import SUCCESS_THRESHOLD

RUBRIC: dict[int, str] = {
    1: "Completely wrong solution - no understanding of task",
    2: "Mostly incorrect with minor correct elements",
    3: "Partially correct (about half correct)",
    4: "Mostly correct with minor errors",
    5: "Perfect solution",
}


def rubric_choices() -> list[tuple[str, int]]:
    """(label, value) pairs for a radio group; success scores carry the seed's check mark."""
    return [(f"{score} — {text}{' ✓' if score >= SUCCESS_THRESHOLD else ''}", score)
            for score, text in RUBRIC.items()]
