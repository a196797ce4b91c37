"""Content parts for a video and its audio, as OpenAI-compatible servers take them.

Frames travel as ``image_url`` parts with PNG (or, with ``--image-format jpeg``, JPEG) data URLs
(every server in the reference table takes these). The whole video goes as one
``{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,..."}}`` part.
Audio goes as OpenAI's ``input_audio`` (``{"data": <base64 wav>, "format": "wav"}``, no ``data:``
prefix) or as ``audio_url`` with a ``data:audio/wav`` URL (vLLM, SGLang, lmdeploy); ``in-video``
sends no audio part and asks vLLM to use the video's own track (``mm_processor_kwargs``).
The audio is the row's ``<name>.wav`` beside the video when there is one (MER2025's layout), else
the video's own track decoded to 16 kHz mono 16-bit WAV.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import wave
from pathlib import Path
from typing import Any

import numpy as np

from mmscore.errors import ConfigError, MediaError, require

AUDIO_MODES = ("none", "input_audio", "audio_url", "in-video")
IMAGE_FORMATS = ("png", "jpeg")
AUDIO_RATE = 16000


def check_audio_mode(mode: str, frames_kind: str) -> str:
    if mode not in AUDIO_MODES:
        raise ConfigError(f"--audio must be one of {', '.join(AUDIO_MODES)}; got {mode!r}")
    if mode == "in-video" and frames_kind != "video":
        raise ConfigError("--audio in-video uses the video's own track: it needs --frames video")
    return mode


def check_image_format(fmt: str) -> str:
    if fmt.lower() not in IMAGE_FORMATS:
        raise ConfigError(f"--image-format must be png or jpeg; got {fmt!r}")
    return fmt.lower()


def frame_part(frame: np.ndarray, fmt: str) -> dict[str, Any]:
    """An ``image_url`` part: PNG (lossless, the default) or JPEG (Pillow quality 95, far smaller for
    full-size video frames)."""
    from mmscore.models.judge import image_part

    if fmt == "png":
        return image_part(frame)
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="JPEG", quality=95)
    return {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,"
                                                      + base64.b64encode(buffer.getvalue()).decode("ascii")}}


def video_part(path: Path) -> dict[str, Any]:
    mime = mimetypes.guess_type(path.name)[0] or "video/mp4"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the video ({exc})") from exc
    return {"type": "video_url", "video_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"}}


def audio_part(video: Path, mode: str) -> dict[str, Any]:
    encoded = base64.b64encode(audio_wav(video)).decode("ascii")
    if mode == "input_audio":
        return {"type": "input_audio", "input_audio": {"data": encoded, "format": "wav"}}
    return {"type": "audio_url", "audio_url": {"url": f"data:audio/wav;base64,{encoded}"}}


def audio_wav(video: Path) -> bytes:
    """WAV bytes of the row's audio: ``<name>.wav`` beside the video, else the video's track."""
    sibling = video.with_suffix(".wav")
    if sibling.is_file():
        return sibling.read_bytes()
    av = require("av", "video")
    samples: list[np.ndarray] = []
    try:
        with av.open(str(video)) as container:
            if not container.streams.audio:
                raise MediaError(f"{video}: no audio track (and no {sibling.name} beside it); use --audio none")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
            for frame in container.decode(audio=0):
                samples.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            samples.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{video}: cannot decode the audio track ({exc})") from exc
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(np.concatenate(samples).astype("<i2").tobytes() if samples else b"")
    return buffer.getvalue()


def elide_media(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with every base64 payload replaced by a short note (for --dry-run)."""
    def short(value: str) -> str:
        head, _, data = value.partition(";base64,")
        return f"{head};base64,<{len(data)} base64 characters elided>" if data else value

    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                part = {k: (dict(v) if isinstance(v, dict) else v) for k, v in part.items()}
                for key in ("image_url", "video_url", "audio_url"):
                    if key in part and isinstance(part[key].get("url"), str):
                        part[key]["url"] = short(part[key]["url"])
                if "input_audio" in part:
                    part["input_audio"]["data"] = f"<{len(part['input_audio']['data'])} base64 characters elided>"
                parts.append(part)
            message = {**message, "content": parts}
        out.append(message)
    return out
