"""LLM-judge prompts and runners for EMER reasoning scores and MER-OV synonym grouping.

Built on the shared client ``mmscore.models.judge.JudgeClient`` (concurrency, retries, SQLite
cache, cost, one corrective re-ask); this module only owns the prompts and the reply parsers.
The prompt wording is mmscore's own; the *tasks* follow AffectGPT ``evaluation.py`` and MERTools
``toolkit/utils/chatgpt.py`` (``shared/reference/emotion.md`` B1, B1b):

- clue overlap: compare the emotional cues of a reference and a predicted description;
- label overlap: first turn each description into emotion words, then compare the two lists;
- MER-OV grouping: group the union of a sample's labels into lists of synonyms.

Scale: Emotion-LLaMA reports Clue/Label Overlap "on a 0–10 scale"; AffectGPT's prompts asked
for 1–10. mmscore asks for ``min_score``..10 with ``min_score=1`` by default (AffectGPT's
range, so numbers stay comparable); a reply outside the range is rejected (re-asked once, then
the row fails with an error) — the client never guesses a number from free text, whereas
AffectGPT took the first digit-like token of the reply. AffectGPT used ``gpt-3.5-turbo-16k-0613``
(retired): rescore baselines with the same judge before comparing (Emotion-LLaMA issue #78).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mmscore.defaults import JUDGE_MODEL
from mmscore.errors import BudgetExceeded, ConfigError, JudgeError

T = TypeVar("T")

SYSTEM = "You are an expert in affective computing who compares descriptions of people's emotions."

CLUE_PROMPT = """Two descriptions of the same video clip explain which emotional state the main person is in \
and which visual, vocal and textual cues reveal it.

Reference description:
{reference}

Predicted description:
{prediction}

First list the emotion-related cues and emotional states in each description. Then judge how much of \
the reference's emotional content the predicted description recovers: the larger the overlap, the \
higher the score; contradicting cues or emotions lower it.
Score from {min_score} (no overlap) to 10 (the same cues and emotional states).
Reply with one JSON object only: {{"score": <integer {min_score}-10>, "reason": "<one sentence>"}}"""

WORDS_PROMPT = """Read the description of a person in a video clip and infer the emotional states the \
person most likely feels. Use emotion words only (for example "happy", "nervous", "disappointed"), \
not cues or explanations.

Example description: She smiles widely and her voice rises as she tells her friend about the \
promotion, although she keeps glancing at the clock.
Example reply: {{"emotions": ["happy", "excited", "impatient"]}}

Description:
{text}

Reply with one JSON object only: {{"emotions": [<emotion words>]}}"""

LABEL_PROMPT = """Compare two lists of emotion words describing the same person.

Reference emotions: {reference}
Predicted emotions: {prediction}

Treat synonyms and words of nearly the same meaning as matching. The more of the reference \
emotions the prediction covers, and the fewer wrong emotions it adds, the higher the score.
Score from {min_score} (no overlap) to 10 (the same emotions).
Reply with one JSON object only: {{"score": <integer {min_score}-10>, "reason": "<one sentence>"}}"""

GROUP_PROMPT = """Group the following emotion words so that each group holds words with the same or \
nearly the same meaning. Every word must appear in exactly one group; a word without synonyms \
forms a group of its own. Use the words exactly as given.

Example words: ["happy", "joyful", "angry", "furious", "calm"]
Example reply: {{"groups": [["happy", "joyful"], ["angry", "furious"], ["calm"]]}}

Words: {labels}

Reply with one JSON object only: {{"groups": [[<words>], ...]}}"""


@dataclass(frozen=True)
class JudgeSettings:
    """How to reach the judge; mirrors the ``--judge-*`` options of ``mmscore emotion``."""

    base_url: str = "https://api.openai.com/v1"
    model: str = JUDGE_MODEL
    api_key_env: str | None = "OPENAI_API_KEY"
    api_key: str | None = None
    concurrency: int = 4
    cache: str | None = None
    max_cost: float | None = None
    temperature: float = 0.0
    max_tokens: int = 1000
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_attempts: int = 6
    base_delay: float = 1.0

    def client(self) -> Any:
        from mmscore.models.judge import JudgeClient, RetryPolicy

        return JudgeClient(self.base_url, self.model, api_key=self.api_key, api_key_env=self.api_key_env,
                           concurrency=self.concurrency, connect_timeout=self.connect_timeout,
                           read_timeout=self.read_timeout,
                           retry=RetryPolicy(max_attempts=self.max_attempts, base_delay=self.base_delay),
                           temperature=self.temperature, max_tokens=self.max_tokens, cache=self.cache,
                           max_cost=self.max_cost)


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]


def score_parser(min_score: int) -> Callable[[str], float]:
    """Parser for ``{"score": n}`` replies with ``min_score <= n <= 10``."""
    from mmscore.models.judge import json_object

    def parse(text: str) -> float:
        score = json_object(text).get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ValueError(f"'score' must be a number from {min_score} to 10, got {score!r}")
        if not min_score <= score <= 10:
            raise ValueError(f"'score' must be between {min_score} and 10, got {score}")
        return float(score)

    return parse


def parse_emotion_words(text: str) -> list[str]:
    """``{"emotions": [...]}`` → lower-cased, de-duplicated words (an empty list is allowed)."""
    from mmscore.models.judge import json_object

    words = json_object(text).get("emotions")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"'emotions' must be a list of strings, got {words!r}")
    return list(dict.fromkeys(w.strip().lower() for w in words if w.strip()))


def groups_parser(labels: Sequence[str]) -> Callable[[str], list[list[str]]]:
    """Parser for ``{"groups": [[...], ...]}`` that only accepts the given words.

    Words the reply leaves out become singleton groups (harmless: they map to themselves).
    """
    from mmscore.models.judge import json_object

    allowed = {label.strip().lower() for label in labels}

    def parse(text: str) -> list[list[str]]:
        groups = json_object(text).get("groups")
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ValueError(f"'groups' must be a list of lists of words, got {groups!r}")
        out, seen = [], set()
        for group in groups:
            members = [str(m).strip().lower() for m in group if str(m).strip()]
            unknown = [m for m in members if m not in allowed]
            if unknown:
                raise ValueError(f"groups may only contain the given words; unknown: {unknown}")
            if members:
                out.append(list(dict.fromkeys(members)))
                seen.update(members)
        out.extend([label] for label in sorted(allowed - seen))
        return out

    return parse


async def _run_all(items: Sequence[T], worker: Callable[[Any, T], Awaitable[Any]], settings: JudgeSettings,
                   description: str) -> tuple[list[Any], dict[str, Any]]:
    """Run ``worker(client, item)`` for every item (bounded by the client); exceptions kept per item."""
    from mmscore.progress import progress_bar

    async with settings.client() as client:
        with progress_bar() as progress:
            task = progress.add_task(description, total=len(items))

            async def one(item: T) -> Any:
                try:
                    return await worker(client, item)
                except JudgeError as exc:
                    return exc
                finally:
                    progress.advance(task)

            results = await asyncio.gather(*(one(item) for item in items))
        return list(results), client.usage.as_dict()


def _run(coro: Awaitable[T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    raise ConfigError("the emotion judge runners are synchronous; call them outside a running event loop")


def group_labels(unions: dict[str, list[str]], settings: JudgeSettings) -> tuple[dict[str, list[list[str]]],
                                                                                 dict[str, Any]]:
    """One grouping request per sample; a failed sample raises (the metric needs every grouping)."""
    names = sorted(unions)

    async def worker(client: Any, name: str) -> list[list[str]]:
        labels = unions[name]
        prompt = GROUP_PROMPT.format(labels=json.dumps(labels, ensure_ascii=False))
        reply = await client.chat(_messages(prompt), parse=groups_parser(labels))
        return reply.value

    results, usage = _run(_run_all(names, worker, settings, "MER-OV grouping"))
    failed = [(name, r) for name, r in zip(names, results, strict=True) if isinstance(r, Exception)]
    if failed:
        name, error = failed[0]
        raise type(error)(f"the judge could not group the labels of {len(failed)} sample(s), first {name!r}: "
                          f"{error}") if not isinstance(error, BudgetExceeded) else error
    return dict(zip(names, results, strict=True)), usage


@dataclass
class EmerScore:
    clue_overlap: float | None = None
    label_overlap: float | None = None
    reference_emotions: list[str] | None = None
    predicted_emotions: list[str] | None = None
    clue_reason: str | None = None
    label_reason: str | None = None
    error: str | None = None


def score_emer_pairs(pairs: Sequence[tuple[str, str]], settings: JudgeSettings, *, min_score: int = 1,
                     tasks: Sequence[str] = ("clue", "label")) -> tuple[list[EmerScore], dict[str, Any]]:
    """Clue and/or label overlap for (reference, prediction) pairs; failed rows carry ``error``."""
    if min_score not in (0, 1):
        raise ConfigError(f"min_score must be 0 or 1, got {min_score}")
    unknown = set(tasks) - {"clue", "label"}
    if unknown:
        raise ConfigError(f"unknown EMER task(s) {sorted(unknown)}; use clue and/or label")
    parse_score = score_parser(min_score)

    def reason_of(reply: Any) -> str | None:
        from mmscore.models.judge import json_object

        value = json_object(reply.text).get("reason")
        return value if isinstance(value, str) else None

    async def clue(client: Any, reference: str, prediction: str, out: EmerScore) -> None:
        prompt = CLUE_PROMPT.format(reference=reference, prediction=prediction, min_score=min_score)
        reply = await client.chat(_messages(prompt), parse=parse_score)
        out.clue_overlap, out.clue_reason = reply.value, reason_of(reply)

    async def label(client: Any, reference: str, prediction: str, out: EmerScore) -> None:
        ref_reply, pred_reply = await asyncio.gather(
            client.chat(_messages(WORDS_PROMPT.format(text=reference)), parse=parse_emotion_words),
            client.chat(_messages(WORDS_PROMPT.format(text=prediction)), parse=parse_emotion_words))
        out.reference_emotions, out.predicted_emotions = ref_reply.value, pred_reply.value
        prompt = LABEL_PROMPT.format(reference=json.dumps(ref_reply.value, ensure_ascii=False),
                                     prediction=json.dumps(pred_reply.value, ensure_ascii=False),
                                     min_score=min_score)
        reply = await client.chat(_messages(prompt), parse=parse_score)
        out.label_overlap, out.label_reason = reply.value, reason_of(reply)

    async def worker(client: Any, pair: tuple[str, str]) -> EmerScore:
        out, errors = EmerScore(), []
        for name, step in (("clue", clue), ("label", label)):
            if name not in tasks:
                continue
            try:
                await step(client, pair[0], pair[1], out)
            except JudgeError as exc:  # keep the other score; the row reports what failed
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
        out.error = "; ".join(errors) or None
        return out

    results, usage = _run(_run_all(list(pairs), worker, settings, "EMER judge"))
    scores = [r if isinstance(r, EmerScore) else EmerScore(error=f"{type(r).__name__}: {r}") for r in results]
    return scores, usage
