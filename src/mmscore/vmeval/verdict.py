"""The judge's answer for one video: a validated 1-5 score and its explanation.

Parsing is strict on purpose. The original scorer took the greedy ``{...}`` span of the reply and
defaulted a missing score to 0; here a reply is accepted only if it holds one JSON object whose
``solution_correctness_score`` is an integer from 1 to 5 (``4``, ``4.0`` or ``"4"``). Anything
else raises :class:`~mmscore.errors.JudgeParseError` with a reason the judge client sends back in
its one corrective re-ask. No score is ever read from stray digits in free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmscore.errors import JudgeParseError
from mmscore.models.judge import json_object

SCORE_KEY = "solution_correctness_score"
_INT_TEXT = re.compile(r"^\s*([+-]?\d+)\s*$")


@dataclass(frozen=True)
class Verdict:
    score: int
    explanation: str


def strict_score(value: object, low: int = 1, high: int = 5, key: str = SCORE_KEY) -> int:
    """``value`` as an integer in [low, high], or JudgeParseError saying why not."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INT_TEXT.match(value)
    ):
        number = int(value)
    if number is None:
        raise JudgeParseError(f"{key!r} must be an integer from {low} to {high}; got {value!r}")
    if not low <= number <= high:
        raise JudgeParseError(f"{key!r} must be an integer from {low} to {high}; got {number}")
    return number


def parse_verdict(text: str, key: str = SCORE_KEY) -> Verdict:
    """Parse a judge reply such as ``{"solution_correctness_score": 4, "explanation": "..."}``."""
    obj = json_object(text)
    if key not in obj:
        raise JudgeParseError(
            f"the JSON object has no {key!r} key (keys: {', '.join(map(repr, obj)) or 'none'})", raw=text
        )
    score = strict_score(obj[key], key=key)
    explanation = obj.get("explanation", "")
    if explanation is None:
        explanation = ""
    if not isinstance(explanation, str):
        raise JudgeParseError(f"'explanation' must be a string; got {type(explanation).__name__}", raw=text)
    return Verdict(score=score, explanation=explanation.strip())
