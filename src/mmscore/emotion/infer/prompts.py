"""Versioned inference prompts: the originals' text, byte for byte, and how it becomes content parts.

A prompt file (YAML, shipped in ``mmscore/prompts/`` or given with ``--prompt FILE``) holds:

- ``name``, ``version``, ``source`` (the original file and line it quotes);
- ``original``: the instruction exactly as the original code builds it for one row, with
  ``{transcript}`` where the row's transcript goes and ``{question}`` where one of ``questions``
  goes. Only these two placeholders are replaced (in one pass: a transcript containing
  ``{question}`` stays literal); every other byte is the original's;
- ``original_with_audio`` (optional): the original's template for when audio is sent too;
- ``wrapper``: the original's chat wrapper ``[prefix, suffix]``. It is *not* sent (the server's chat
  template plays its role); it is stripped where ``original`` carries it;
- ``media``: original placeholder -> ``frames`` (the frames or the video go there as content
  parts), ``audio`` (the audio part goes there) or ``drop`` (removed: inputs no generic server
  receives, such as Emotion-LLaMA's pre-extracted feature tokens);
- ``questions`` (optional): the list ``{question}`` is chosen from, per row, from the seed and the
  video name (:func:`question_index`), or fixed with ``--question N``;
- ``transcript``: ``required`` or ``none``.

The sha256 of the file's bytes identifies the prompt in the sidecar, so results stay traceable
to the exact wording.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from mmscore.errors import InputError
from mmscore.io.prompt_files import read_prompt_file, shipped_prompt_names

MEDIA_ROLES = ("frames", "audio", "drop")
_PLACEHOLDER = re.compile(r"\{(transcript|question)\}")


@dataclass(frozen=True)
class Segment:
    """One piece of the user message: text, or where the frames / the audio go."""

    kind: str  # text | frames | audio
    text: str = ""


@dataclass(frozen=True)
class InferPrompt:
    name: str
    version: str
    sha256: str
    source: str
    path: str
    original: str
    original_with_audio: str | None
    wrapper: tuple[str, str]
    media: dict[str, str]
    questions: tuple[str, ...] = ()
    transcript: str = "required"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}_v{self.version}"

    @property
    def uses_transcript(self) -> bool:
        return self.transcript == "required"

    def segments(self, transcript: str | None, question: str | None, audio: bool) -> list[Segment]:
        """The user message for one row: text pieces and media positions, in order."""
        template = self.original_with_audio if audio and self.original_with_audio else self.original
        prefix, suffix = self.wrapper
        if prefix and template.startswith(prefix):
            template = template[len(prefix):]
        if suffix and template.endswith(suffix):
            template = template[: -len(suffix)]
        values = {"transcript": transcript or "", "question": question or ""}
        pieces: list[Segment] = []
        for kind, text in _split_media(template, self.media):
            if kind == "text":
                text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
                if text:
                    pieces.append(Segment("text", text))
            elif kind != "drop":
                pieces.append(Segment(kind))
        return pieces


def _split_media(template: str, media: dict[str, str]) -> list[tuple[str, str]]:
    """``template`` cut at every media placeholder: [(kind, text)], kind text|frames|audio|drop."""
    if not media:
        return [("text", template)]
    pattern = re.compile("|".join(re.escape(p) for p in sorted(media, key=len, reverse=True)))
    out: list[tuple[str, str]] = []
    position = 0
    for match in pattern.finditer(template):
        out.append(("text", template[position:match.start()]))
        out.append((media[match.group(0)], ""))
        position = match.end()
    out.append(("text", template[position:]))
    return out


def question_index(seed: int, key: str, count: int) -> int:
    """0-based question for a row: the sha256 of ``"<seed>:<video name>"`` (as an integer) mod ``count``.

    Stable across runs, machines and row order (unlike the original's unseeded ``random.choice``)."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest(), 16) % count


def shipped_prompts() -> list[str]:
    """Names of the shipped inference prompts (files with an ``original``)."""
    return shipped_prompt_names(having="original")


def load_infer_prompt(spec: str | os.PathLike[str]) -> InferPrompt:
    """A shipped prompt by name (e.g. ``emotion_llama_mer2023_v1``) or a YAML file path."""
    data_bytes, where = read_prompt_file(spec, "prompt file", lambda: f"shipped: {', '.join(shipped_prompts())}")
    return _parse(data_bytes, where)


def _parse(data_bytes: bytes, where: str) -> InferPrompt:
    import yaml

    try:
        data = yaml.safe_load(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{where}: not a valid YAML prompt file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("original"), str):
        raise InputError(f"{where}: a prompt file is a YAML mapping with at least 'name', 'version' and "
                         "'original' (see mmscore/prompts/emotion_llama_mer2023_v1.yaml)")
    missing = [key for key in ("name", "version") if key not in data]
    if missing:
        raise InputError(f"{where}: prompt file lacks {', '.join(missing)}")
    media = {str(k): str(v) for k, v in (data.get("media") or {}).items()}
    bad = {k: v for k, v in media.items() if v not in MEDIA_ROLES}
    if bad:
        raise InputError(f"{where}: media roles must be one of {', '.join(MEDIA_ROLES)}; got {bad}")
    wrapper = data.get("wrapper") or ["", ""]
    if not (isinstance(wrapper, list) and len(wrapper) == 2):
        raise InputError(f"{where}: 'wrapper' must be a list [prefix, suffix]")
    questions = tuple(str(q) for q in data.get("questions") or ())
    uses_question = "{question}" in data["original"]
    if uses_question != bool(questions):
        raise InputError(f"{where}: '{{question}}' in 'original' and a 'questions' list go together")
    transcript = str(data.get("transcript", "required" if "{transcript}" in data["original"] else "none"))
    if transcript not in ("required", "none") or (transcript == "required") != ("{transcript}" in data["original"]):
        raise InputError(f"{where}: 'transcript' is 'required' exactly when 'original' has {{transcript}}")
    known = {"name", "version", "source", "original", "original_with_audio", "wrapper", "media", "questions",
             "transcript"}
    return InferPrompt(
        name=str(data["name"]), version=str(data["version"]), sha256=hashlib.sha256(data_bytes).hexdigest(),
        source=" ".join(str(data.get("source", "")).split()), path=where, original=data["original"],
        original_with_audio=data.get("original_with_audio"), wrapper=(str(wrapper[0]), str(wrapper[1])),
        media=media, questions=questions, transcript=transcript,
        notes={k: v for k, v in data.items() if k not in known},
    )
