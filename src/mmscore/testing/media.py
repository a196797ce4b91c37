"""Synthetic videos and images with known content (moving coloured shapes)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 210, 30),
    "purple": (150, 40, 190),
    "white": (240, 240, 240),
}


def square_frame(
    width: int, height: int, x: int, y: int, side: int, color: tuple[int, int, int],
    background: tuple[int, int, int] = (20, 20, 20),
) -> np.ndarray:
    """An HxWx3 uint8 frame with a filled square whose top-left corner is (x, y)."""
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = background
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + side), min(height, y + side)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = color
    return frame


def moving_square_frames(
    n_frames: int, width: int = 64, height: int = 48, color: str = "red", direction: str = "right",
) -> list[np.ndarray]:
    """Frames of a square crossing the picture in ``direction`` (right, left, up, down)."""
    side = max(4, min(width, height) // 4)
    frames = []
    for index in range(n_frames):
        t = index / max(1, n_frames - 1)
        if direction in ("right", "left"):
            travel = int(round(t * (width - side)))
            x = travel if direction == "right" else width - side - travel
            y = (height - side) // 2
        else:
            travel = int(round(t * (height - side)))
            y = travel if direction == "down" else height - side - travel
            x = (width - side) // 2
        frames.append(square_frame(width, height, x, y, side, COLORS[color]))
    return frames


def write_video(
    path: str | os.PathLike[str], frames: list[np.ndarray], fps: int = 10, codec: str = "mpeg4",
    gop_size: int | None = None,
) -> Path:
    """Encode RGB frames to a video file with PyAV (mpeg4 by default: present in every FFmpeg)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        if gop_size is not None:
            stream.codec_context.gop_size = gop_size
        if codec in ("libx264", "h264"):
            stream.options = {"preset": "ultrafast"}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_video(
    path: str | os.PathLike[str], n_frames: int = 20, fps: int = 10, width: int = 64, height: int = 48,
    color: str = "red", direction: str = "right", codec: str = "mpeg4", gop_size: int | None = None,
) -> Path:
    """A synthetic video of a moving square with exactly ``n_frames`` frames at ``fps``."""
    frames = moving_square_frames(n_frames, width, height, color, direction)
    return write_video(path, frames, fps=fps, codec=codec, gop_size=gop_size)


def make_image(
    path: str | os.PathLike[str], color: str = "red", width: int = 64, height: int = 48,
    position: tuple[int, int] | None = None,
) -> Path:
    """A PNG/JPEG of a coloured square on a dark background (format from the extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    side = max(4, min(width, height) // 3)
    x, y = position if position is not None else ((width - side) // 2, (height - side) // 2)
    Image.fromarray(square_frame(width, height, x, y, side, COLORS[color])).save(path)
    return path


def make_corrupt_file(path: str | os.PathLike[str], size: int = 512, seed: int = 0) -> Path:
    """A file of random bytes with a media extension (undecodable on purpose)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def make_zero_frame_video(path: str | os.PathLike[str]) -> Path:
    """A valid container (e.g. ``.mkv``) whose video stream has no frame at all.

    PyAV writes no file for a container that only declares a video stream, so a short silent
    audio track is muxed to get the header (with the empty video stream) on disk.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=Fraction(10))
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=8000)
        audio.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in [*audio.encode(frame), *audio.encode(), *video.encode()]:
            container.mux(packet)
    if not path.exists():
        raise RuntimeError(f"{path}: PyAV did not write the zero-frame video")
    return path


def index_color(index: int) -> tuple[int, int, int]:
    """The colour painting frame ``index`` (0..255) of :func:`make_index_video`: 16 steps of 16 in
    red (index mod 16) and green (index div 16), so lossy coding (a few levels) cannot confuse two."""
    if not 0 <= index < 256:
        raise ValueError(f"index must be 0..255; got {index}")
    return (16 * (index % 16) + 8, 16 * (index // 16) + 8, 128)


def read_index_color(frame: np.ndarray) -> int:
    """The frame index a decoded :func:`make_index_video` frame encodes (mean colour, rounded)."""
    mean = np.asarray(frame, dtype=np.float64).reshape(-1, frame.shape[-1])[:, :3].mean(axis=0)
    red, green = (int(np.clip(round((value - 8) / 16), 0, 15)) for value in mean[:2])
    return red + 16 * green


def make_index_video(
    path: str | os.PathLike[str], n_frames: int, fps: int = 10, width: int = 64, height: int = 48,
) -> Path:
    """A video whose frame k is a flat :func:`index_color` (k), so a receiver can tell which frames it got."""
    frames = [np.broadcast_to(np.array(index_color(k), dtype=np.uint8), (height, width, 3)).copy()
              for k in range(n_frames)]
    return write_video(path, frames, fps=fps)
