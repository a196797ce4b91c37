"""Which frames a row sends: the originals' rules, decoded by the project's one sampler.

- ``first``: the first frame in presentation order, at its own size (Emotion-LLaMA reads one frame
  with ``cv2.VideoCapture.read()``; its 448x448 squash is the serving model's business).
- ``uniform:N``: AffectGPT's start-aligned rule, ``np.arange(0, n, n / min(N, n)).astype(int)``
  computed exactly as ``floor(i * n / m)`` for ``i < m = min(N, n)``, then the last index repeated
  up to ``N`` when the video has fewer than ``N`` frames (5 frames, N 8: 0 1 2 3 4 4 4 4).
- ``fml``: first, middle, last, ``[0, n // 2, n - 1]`` (MERTools' GPT-4V baseline scripts).
- ``video``: no frames chosen here; the whole file goes as one ``video_url`` part and the server
  samples it (vLLM, SGLang, lmdeploy for some models).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mmscore.errors import ConfigError


@dataclass(frozen=True)
class FramePolicy:
    kind: str  # first | uniform | fml | video
    count: int = 1

    @property
    def spec(self) -> str:
        return f"uniform:{self.count}" if self.kind == "uniform" else self.kind

    def positions(self, n: int) -> list[int]:
        """Frame positions to send, in order (repeats included), for a video of ``n`` frames."""
        if n < 1:
            return []
        if self.kind == "first":
            return [0]
        if self.kind == "fml":
            return [0, n // 2, n - 1]
        if self.kind == "uniform":
            m = min(self.count, n)
            picks = [i * n // m for i in range(m)]
            return picks + [picks[-1]] * (self.count - m)
        raise ConfigError(f"frame policy {self.spec!r} sends the whole video, not frames")


def parse_frames(text: str) -> FramePolicy:
    """``first``, ``uniform:N``, ``fml`` (or ``fml:3``) or ``video``."""
    value = text.strip().lower()
    if value in ("first", "video", "fml", "fml:3"):
        return FramePolicy(value.split(":")[0], 3 if value.startswith("fml") else 1)
    if value.startswith("uniform:"):
        try:
            count = int(value.split(":", 1)[1])
        except ValueError:
            count = 0
        if count >= 1:
            return FramePolicy("uniform", count)
    raise ConfigError(f"--frames must be first, uniform:N (N >= 1), fml or video; got {text!r}")


@dataclass
class RowFrames:
    """Frames of one row, in sending order, with the positions they came from."""

    frames: list[np.ndarray]
    positions: list[int]
    total_frames: int
    decode_errors: int


def sample_row_frames(policy: FramePolicy, path: str | os.PathLike[str]) -> RowFrames:
    """Decode the frames ``policy`` picks (each distinct frame once, repeats re-used)."""
    from mmscore.io.media import sample_positions

    chosen: list[int] = []

    def choose(n: int) -> list[int]:
        chosen.extend(policy.positions(n))
        return chosen

    sampled = sample_positions(path, choose)
    by_index = dict(zip(sampled.indices, sampled.frames, strict=True))
    missing = [i for i in dict.fromkeys(chosen) if i not in by_index]
    if missing:
        from mmscore.errors import MediaError

        raise MediaError(f"{path}: frame(s) {missing} did not decode")
    return RowFrames([by_index[i] for i in chosen], chosen, sampled.total_frames, sampled.decode_errors)
