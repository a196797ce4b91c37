"""Make generated videos playable in a browser, and keep served media inside the experiment.

Browsers play H.264, VP8/VP9 and AV1; video models (and test fixtures) also write MPEG-4 Part 2,
HEVC or ProRes, which a ``<video>`` element shows as a black box. Gradio converts such files only
when an ``ffmpeg`` binary is installed; here they are transcoded once with PyAV (bundled FFmpeg,
libx264) into a per-server cache under an opaque name (sha256 of path, size and mtime), which also
keeps model names out of the media URL in blind mode.

Only files that resolve (symlinks followed) inside the experiment folder are ever handed to the
page; Gradio's ``allowed_paths`` is set to exactly that folder, so ``/file=`` requests for anything
else are refused with 403.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from mmscore.errors import MediaError, require
from mmscore.io.atomic import atomic_path
from mmscore.io.experiment import TaskRun
from mmscore.io.media import check_video_file

log = logging.getLogger(__name__)

BROWSER_CODECS = {"h264", "vp8", "vp9", "av1"}
BROWSER_CONTAINERS = {".mp4", ".webm", ".m4v"}


def inside(path: Path, root: Path) -> bool:
    """True if ``path`` resolves (following symlinks) to a file inside ``root``."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_file() and resolved.is_relative_to(root.resolve())


def video_codec(path: Path) -> str:
    """The codec name of the first video stream (``h264``, ``mpeg4``...); MediaError if unreadable."""
    av = require("av", "human")

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            return str(container.streams.video[0].codec_context.name)
    except MediaError:
        raise
    except Exception as exc:  # av raises many error types (InvalidDataError, OSError...)
        raise MediaError(f"{path}: cannot open the video ({exc})") from exc


def is_browser_playable(path: Path) -> bool:
    return path.suffix.lower() in BROWSER_CONTAINERS and video_codec(path) in BROWSER_CODECS


def _cache_name(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return f"{digest[:24]}.mp4"


def transcode_h264(source: Path, target: Path) -> Path:
    """Re-encode ``source`` to H.264/yuv420p MP4 (even dimensions, same frame rate), atomically."""
    av = require("av", "human")

    try:
        with av.open(str(source)) as src, atomic_path(target) as tmp:
            in_stream = src.streams.video[0]
            rate = in_stream.average_rate or in_stream.guessed_rate or Fraction(25)
            width = max(2, in_stream.codec_context.width // 2 * 2)
            height = max(2, in_stream.codec_context.height // 2 * 2)
            with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as dst:
                out = dst.add_stream("libx264", rate=rate)
                out.width, out.height, out.pix_fmt = width, height, "yuv420p"
                out.codec_context.time_base = Fraction(1, 1) / rate
                out.options = {"preset": "ultrafast", "crf": "20"}
                for index, frame in enumerate(src.decode(in_stream)):
                    image = frame.reformat(width=width, height=height, format="yuv420p")
                    image.pts, image.time_base = index, out.codec_context.time_base
                    for packet in out.encode(image):
                        dst.mux(packet)
                for packet in out.encode():
                    dst.mux(packet)
    except Exception as exc:
        raise MediaError(f"{source}: cannot convert the video for the browser ({exc})") from exc
    return target


def opaque_alias(path: Path, cache_dir: Path) -> Path:
    """A symlink (a copy where symlinks are unavailable) to ``path`` under an opaque name.

    Gradio names its cached copy after the file it is given, and the original VMEvalKit layout
    puts model names into video file names (``svd_<model>_<time>.mp4``): in blind mode the page
    gets this alias instead, so the media URL does not reveal the model either.
    """
    alias = cache_dir / (_cache_name(path).removesuffix(".mp4") + path.suffix.lower())
    if not alias.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            alias.symlink_to(path.resolve())
        except FileExistsError:
            pass
        except OSError:
            import shutil

            with atomic_path(alias) as tmp:
                shutil.copyfile(path, tmp)
    return alias


def browser_video(path: Path, cache_dir: Path, blind: bool = False) -> Path:
    """``path`` itself if a browser can play it (an opaque alias when ``blind``), else its cached
    H.264 copy, made on first use."""
    if is_browser_playable(path):
        return opaque_alias(path, cache_dir) if blind else path
    target = cache_dir / _cache_name(path)
    if not target.is_file():
        log.info("transcoding %s to H.264 for the browser", path)
        transcode_h264(path, target)
    return target


@dataclass(frozen=True)
class TaskMedia:
    """What the page may show for one task; ``problems`` explains every missing piece."""

    first_frame: Path | None
    final_frame: Path | None
    video: Path | None
    problems: list[str]

    @property
    def video_unavailable(self) -> bool:
        """No playable video: a score can only be skipped or saved flagged ``video_unavailable``."""
        return self.video is None


def task_media(task: TaskRun, experiment_dir: Path, cache_dir: Path, blind: bool = True) -> TaskMedia:
    """The task's frames and a browser-playable video, each only if it lies inside the experiment.

    Problem messages name no files (file and folder names can reveal the model in blind mode);
    the details go to the server log."""
    problems: list[str] = []

    def checked(path: Path | None, what: str) -> Path | None:
        if path is None:
            problems.append(f"this task has no {what}")
            return None
        if not inside(path, experiment_dir):
            log.warning("%s is missing or outside %s; not served", path, experiment_dir)
            problems.append(f"the {what} is missing or outside the experiment folder and is not shown")
            return None
        return path

    first = checked(task.first_frame, "first frame")
    final = checked(task.final_frame, "expected final frame")
    video = checked(task.video_path, "generated video")
    if video is not None:
        try:
            check_video_file(video)  # a still image, a truncated file: not the video to judge
            video = browser_video(video, cache_dir, blind=blind)
        except MediaError as exc:
            log.warning("%s", exc)
            problems.append("the generated video cannot be decoded (details in the server log)")
            video = None
    return TaskMedia(first, final, video, problems)
