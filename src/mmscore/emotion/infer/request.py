"""One row's chat request: a single user message (no system message), media where the original
put its placeholders, then the original's text with that row's transcript and question."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmscore.emotion.infer.frames import FramePolicy, sample_row_frames
from mmscore.emotion.infer.media_parts import audio_part, frame_part, video_part
from mmscore.emotion.infer.prompts import InferPrompt, question_index
from mmscore.emotion.infer.rows import Row, find_video
from mmscore.errors import ConfigError, MediaError


@dataclass(frozen=True)
class RequestPlan:
    """Everything that shapes a request besides the row (and the transport)."""

    prompt: InferPrompt
    frames: FramePolicy
    audio: str  # none | input_audio | audio_url | in-video
    videos: Path
    seed: int = 0
    question: int | None = None  # 1-based fixed question; None: chosen per row from the seed
    image_format: str = "png"

    def __post_init__(self) -> None:
        count = len(self.prompt.questions)
        if self.question is not None and not 1 <= self.question <= max(count, 0):
            raise ConfigError(f"--question {self.question}: prompt {self.prompt.id} has "
                              f"{count or 'no'} question(s)" + (f"; choose 1..{count}" if count else ""))

    def question_for(self, key: str) -> int | None:
        """1-based question number for a row (None when the prompt has a single wording)."""
        if not self.prompt.questions:
            return None
        if self.question is not None:
            return self.question
        return question_index(self.seed, key, len(self.prompt.questions)) + 1


@dataclass
class RowRequest:
    messages: list[dict[str, Any]]
    positions: list[int] | None  # frame positions sent (None: the whole video)
    total_frames: int | None
    decode_errors: int
    question: int | None
    video: Path


def build_request(plan: RequestPlan, row: Row) -> RowRequest:
    """Decode the row's frames and build its message. Raises MediaError for a missing/unreadable video."""
    video = find_video(plan.videos, row)
    if video is None:
        raise MediaError(f"no video for {row.key!r} in {plan.videos} (looked for {row.key}.mp4, .avi, ...)")
    number = plan.question_for(row.key)
    question = plan.prompt.questions[number - 1] if number else None
    media: list[dict[str, Any]]
    positions: list[int] | None = None
    total = None
    errors = 0
    if plan.frames.kind == "video":
        media = [video_part(video)]
    else:
        sampled = sample_row_frames(plan.frames, video)
        media = [frame_part(frame, plan.image_format) for frame in sampled.frames]
        positions, total, errors = sampled.positions, sampled.total_frames, sampled.decode_errors
    sound = [audio_part(video, plan.audio)] if plan.audio in ("input_audio", "audio_url") else []
    content: list[dict[str, Any]] = []
    segments = plan.prompt.segments(row.transcript, question, audio=bool(sound))
    has_audio_slot = any(s.kind == "audio" for s in segments)
    if not any(s.kind == "frames" for s in segments):
        content += media + ([] if has_audio_slot else sound)
    for segment in segments:
        if segment.kind == "text":
            content.append({"type": "text", "text": segment.text})
        elif segment.kind == "frames":
            content += media + ([] if has_audio_slot else sound)
        else:
            content += sound
    return RowRequest([{"role": "user", "content": content}], positions, total, errors, number, video)
