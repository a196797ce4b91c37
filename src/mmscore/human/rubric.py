"""The 1-5 solution-correctness scale shown to annotators, worded as in the VMEvalKit scoring guide
(seed ``001``, "Scoring Criteria"), so human scores mean the same as the judges' scores."""

from __future__ import annotations

RUBRIC: dict[int, str] = {
    1: "Completely wrong solution - no understanding of task",
    2: "Mostly incorrect with minor correct elements",
    3: "Partially correct (about half correct)",
    4: "Mostly correct with minor errors",
    5: "Perfect solution",
}
#: scores counted as a correct solution in the binary grading used by every analysis
SUCCESS_THRESHOLD = 4


def rubric_choices() -> list[tuple[str, int]]:
    """(label, value) pairs for a radio group; success scores carry the seed's check mark."""
    return [(f"{score} — {text}{' ✓' if score >= SUCCESS_THRESHOLD else ''}", score)
            for score, text in RUBRIC.items()]
