"""Video frame sampling with PyAV: the one sampler every mmscore component calls.

Why not decode every frame: scoring needs a handful of frames per video, and decoding is often
the most expensive step after the encoder. Before decoding, the packet index is read by
demuxing alone (no decoding): it gives every frame's presentation timestamp (``pts *
time_base``) and which frames are keyframes. The wanted frames are chosen from those
timestamps (never from a nominal fps, which is wrong for variable-frame-rate files), and a
cost model picks how to decode them:

* **seek** to the keyframe before each wanted frame and decode forward from there, when
  keyframes are dense relative to the sampling interval (e.g. a keyframe every second,
  one frame wanted per second);
* **linear**: decode the file once from the start (stopping after the last wanted frame),
  when keyframes are sparse (x264's default keyframe interval of 250 frames makes ten seeks
  cost more than one full decode).

Sampling modes (keyword-only, at most one of them):

* ``every_n_seconds=s``: the first frame at or after each time ``0, s, 2s, ...`` (time measured
  from the first frame's timestamp);
* ``every_n_frames=k``: frames ``0, k, 2k, ...`` in presentation order;
* ``num_frames=n``: ``n`` frames spread uniformly, ``int(x) for x in linspace(0, N-1, n)`` as in
  the official EMScore VATEX-EVAL setup (duplicates, which that setup produced for videos with
  fewer than ``n`` frames, are removed);
* none of them: the default, **one frame per second** (``every_n_seconds=1.0``).

``max_frames`` caps the number of frames (spread evenly over the selection). Frame
``indices`` are positions in presentation order (0-based) and ``timestamps`` are seconds
relative to the first frame of the stream. Several videos decode in parallel threads with
:func:`iter_sample_frames` / :func:`sample_frames_many` (FFmpeg releases the GIL while decoding).

Example::

    >>> clip = sample_frames("video.mp4", every_n_seconds=2.0)      # doctest: +SKIP
    >>> clip.indices, clip.timestamps, clip.frames[0].shape          # doctest: +SKIP
    ([0, 60, 120], [0.0, 2.0, 4.0], (360, 640, 3))
"""

from __future__ import annotations

import bisect
import collections
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mmscore.errors import ConfigError, MediaError, require

logger = logging.getLogger(__name__)

#: sampling used when no option is given: one frame per second
DEFAULT_EVERY_N_SECONDS = 1.0
#: a seek costs about this many decoded frames (container seek + decoder flush)
SEEK_COST_FRAMES = 2.0
#: tolerance when matching target times to frame timestamps (float noise in ``j * s``)
_TIME_EPS = 1e-6


@dataclass
class SampledFrames:
    """Frames decoded from one video, with their positions and stream timestamps."""

    frames: list[np.ndarray]
    indices: list[int]
    timestamps: list[float]
    fps: float
    path: Path | None = None
    #: number of frames in the video (from the packet index)
    total_frames: int = 0
    #: ``"seek"`` or ``"linear"``: how the frames were decoded
    method: str = "linear"
    #: packets that failed to decode (a damaged file still yields its good frames)
    decode_errors: int = 0
    #: seconds the stream holds (demuxed) and seconds its container declares (None: not declared)
    decoded_seconds: float = 0.0
    declared_seconds: float | None = None

    @property
    def truncation(self) -> str | None:
        """``"decoded 3.0 s of 10.0 s"`` when the file holds less than it declares, else None."""
        return truncation_note(self.decoded_seconds, self.declared_seconds)

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class SamplingSpec:
    """A validated sampling choice; ``key()`` identifies it in caches and signatures."""

    every_n_seconds: float | None = None
    every_n_frames: int | None = None
    num_frames: int | None = None
    max_frames: int | None = None
    #: score the part of a truncated video that decodes (default: a truncated video is an error)
    allow_truncated: bool = False

    def key(self) -> str:
        if self.every_n_frames is not None:
            base = f"every_n_frames={self.every_n_frames}"
        elif self.num_frames is not None:
            base = f"num_frames={self.num_frames}"
        else:
            base = f"every_n_seconds={self.every_n_seconds:g}"
        base = base if self.max_frames is None else f"{base},max_frames={self.max_frames}"
        return f"{base},allow_truncated" if self.allow_truncated else base


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def sampling_spec(
    every_n_seconds: float | None = None, every_n_frames: int | None = None,
    num_frames: int | None = None, max_frames: int | None = None, allow_truncated: bool = False,
) -> SamplingSpec:
    """Validate the sampling options (at most one mode; none means one frame per second)."""
    given = [name for name, value in (("every_n_seconds", every_n_seconds), ("every_n_frames", every_n_frames),
                                      ("num_frames", num_frames)) if value is not None]
    if len(given) > 1:
        raise ConfigError(f"give at most one frame sampling option; got {' and '.join(given)}")
    if every_n_seconds is not None:
        if isinstance(every_n_seconds, bool) or not isinstance(every_n_seconds, (int, float, np.number)):
            raise ConfigError(f"every_n_seconds must be a positive number; got {every_n_seconds!r}")
        if not math.isfinite(float(every_n_seconds)) or float(every_n_seconds) <= 0:
            raise ConfigError(f"every_n_seconds must be a positive number; got {every_n_seconds!r}")
        every_n_seconds = float(every_n_seconds)
    if every_n_frames is not None:
        every_n_frames = _positive_int("every_n_frames", every_n_frames)
    if num_frames is not None:
        num_frames = _positive_int("num_frames", num_frames)
    if max_frames is not None:
        max_frames = _positive_int("max_frames", max_frames)
    if not given:
        every_n_seconds = DEFAULT_EVERY_N_SECONDS
    return SamplingSpec(every_n_seconds, every_n_frames, num_frames, max_frames, bool(allow_truncated))


# --------------------------------------------------------------------------- packet index
@dataclass
class _StreamIndex:
    """Presentation order of a video stream, read by demuxing only."""

    pts: list[int]                      # sorted presentation timestamps (stream time base)
    key_ranks: list[int]                # sorted ranks (positions in ``pts``) of keyframes
    time_base: Fraction
    fps: float
    has_pts: bool               # False when pts are missing: fall back to counting
    packets: int = 0
    demux_error: str | None = None
    rank_of: dict[int, int] = field(default_factory=dict)
    declared_seconds: float | None = None

    @property
    def n(self) -> int:
        return len(self.pts)

    @property
    def decoded_seconds(self) -> float:
        """Seconds the demuxed packets cover (first to last frame, plus one frame's duration)."""
        frame = 1.0 / self.fps if self.fps > 0 else 0.0
        if self.has_pts and self.pts:
            return self.seconds(self.n - 1) + frame
        return self.packets * frame

    def seconds(self, rank: int) -> float:
        return float((self.pts[rank] - self.pts[0]) * self.time_base)

    def times(self) -> np.ndarray:
        base = self.pts[0]
        return np.array([float((p - base) * self.time_base) for p in self.pts], dtype=np.float64)


#: FFmpeg demuxers of still images: such a file (a PNG renamed .mp4) is not a video
_IMAGE_DEMUXERS = ("image2", "image2pipe")
#: a video may lack this much of its declared duration (seconds, or this fraction) before it counts as truncated
TRUNCATION_TOLERANCE_S = 1.0
TRUNCATION_TOLERANCE_FRACTION = 0.1


def _open(path: Path) -> Any:
    av = require("av", "video")
    if not path.exists():
        raise MediaError(f"{path}: video file not found")
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, not a video file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"{path}: cannot open video ({exc})") from exc
    demuxer = str(container.format.name)
    if demuxer in _IMAGE_DEMUXERS or demuxer.endswith("_pipe"):
        container.close()
        raise MediaError(f"{path}: not a video container (the file is a still image, {demuxer})")
    if not container.streams.video:
        container.close()
        raise MediaError(f"{path}: no video stream in the file")
    return container


def _declared_seconds(container: Any, stream: Any) -> float | None:
    """The video stream's duration from the container header, else the container's (None if neither)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def truncation_note(decoded: float, declared: float | None) -> str | None:
    """``"decoded 3.0 s of 10.0 s"`` when ``decoded`` falls short of ``declared`` beyond the tolerance."""
    if not declared or declared <= 0:
        return None
    tolerance = max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * declared)
    if declared - decoded <= tolerance:
        return None
    return f"decoded {decoded:.1f} s of {declared:.1f} s"


def _require_whole(path: Path, index: _StreamIndex, allow_truncated: bool) -> None:
    """A truncated video is an error unless the caller asked to score what decodes."""
    note = truncation_note(index.decoded_seconds, index.declared_seconds)
    if note and not allow_truncated:
        raise MediaError(f"{path}: video truncated: {note} (pass --allow-truncated to score what decodes)")
    if note:
        logger.warning("%s: video truncated: %s; using what decodes (--allow-truncated)", path, note)


def _read_index(path: Path) -> _StreamIndex:
    av = require("av", "video")
    container = _open(path)
    try:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 1)
        pts: list[int] = []
        keys: set[int] = set()
        packets = 0
        missing_pts = False
        demux_error = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                packets += 1
                if packet.pts is None:
                    missing_pts = True
                    continue
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    keys.add(int(packet.pts))
        except (av.error.FFmpegError, OSError) as exc:  # damaged tail: keep what was read
            demux_error = str(exc)
            logger.info("%s: demux stopped early (%s); using the %d packets read", path, exc, packets)
        rate = stream.average_rate or stream.guessed_rate
        declared = _declared_seconds(container, stream)
    finally:
        container.close()
    if packets == 0:
        raise MediaError(f"{path}: the video stream has no frames")
    order_ok = not missing_pts and len(set(pts)) == len(pts)
    pts = sorted(set(pts)) if pts else []
    rank_of = {p: i for i, p in enumerate(pts)}
    key_ranks = sorted(rank_of[p] for p in keys if p in rank_of)
    fps = float(rate) if rate else 0.0
    if fps <= 0 and len(pts) > 1:
        span = float((pts[-1] - pts[0]) * time_base)
        fps = (len(pts) - 1) / span if span > 0 else 0.0
    return _StreamIndex(pts, key_ranks, Fraction(time_base), fps, order_ok, packets, demux_error, rank_of, declared)


# --------------------------------------------------------------------------- selection
def _evenly(ranks: list[int], count: int) -> list[int]:
    """``count`` items spread evenly over ``ranks`` (first and last kept)."""
    if len(ranks) <= count:
        return ranks
    picks = np.linspace(0, len(ranks) - 1, count).astype(np.int64)
    return [ranks[i] for i in dict.fromkeys(picks.tolist())]


def select_ranks(times: np.ndarray, spec: SamplingSpec) -> list[int]:
    """Positions (presentation order) of the frames ``spec`` asks for, given frame times (s)."""
    n = len(times)
    if n == 0:
        return []
    if spec.every_n_frames is not None:
        ranks = list(range(0, n, spec.every_n_frames))
    elif spec.num_frames is not None:
        picks = [int(x) for x in np.linspace(0, n - 1, spec.num_frames)]
        ranks = list(dict.fromkeys(picks))
    else:
        step = float(spec.every_n_seconds or DEFAULT_EVERY_N_SECONDS)
        last = float(times[-1])
        count = int(math.floor((last + _TIME_EPS) / step)) + 1
        targets = np.arange(count, dtype=np.float64) * step - _TIME_EPS
        found = np.searchsorted(times, targets, side="left")
        ranks = list(dict.fromkeys(int(i) for i in found if i < n))
    if spec.max_frames is not None:
        ranks = _evenly(ranks, spec.max_frames)
    return ranks


def _plan_cost(targets: list[int], key_ranks: list[int]) -> tuple[float, list[bool]]:
    """Frames decoded when seeking (and which targets start with a seek), by the cost model."""
    cost = 0.0
    seeks: list[bool] = []
    position = -1  # rank of the last decoded frame
    for target in targets:
        k = bisect.bisect_right(key_ranks, target) - 1
        if k < 0:
            return math.inf, []
        keyframe = key_ranks[k]
        continue_cost = target - position if position < target and position >= 0 else math.inf
        seek_cost = target - keyframe + 1 + SEEK_COST_FRAMES
        if continue_cost <= seek_cost:
            cost += continue_cost
            seeks.append(False)
        else:
            cost += seek_cost
            seeks.append(True)
        position = target
    return cost, seeks


class _SeekMiss(Exception):
    """A seek landed after the wanted frame: decode linearly instead."""


def _to_rgb(frame: Any) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")


class _Reader:
    """One open video stream; decodes while skipping damaged packets and corrupt frames.

    A truncated final packet typically decodes to a frame FFmpeg flags as corrupt (error
    concealment copies the previous picture): such frames are dropped and counted in
    ``errors`` so "the last frame" is the last *good* one.
    """

    def __init__(self, path: Path) -> None:
        self.container = _open(path)
        self.stream = self.container.streams.video[0]
        self.errors = 0

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def seek_keyframe(self, pts: int) -> None:
        self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)

    def frames(self) -> Iterator[Any]:
        av = require("av", "video")
        try:
            for packet in self.container.demux(self.stream):
                try:
                    decoded = packet.decode()
                except (av.error.FFmpegError, ValueError):
                    self.errors += 1
                    continue
                for frame in decoded:
                    if frame.is_corrupt:
                        self.errors += 1
                        continue
                    yield frame
        except (av.error.FFmpegError, OSError):  # unreadable rest of the file
            self.errors += 1


def _decode_linear(path: Path, index: _StreamIndex, wanted: set[int] | None, stop_after: int | None,
                   keep: Any) -> int:
    """Decode from the start; ``keep(rank, frame)`` for each wanted rank (None: every frame).

    Returns the number of packets/frames that failed to decode."""
    with _Reader(path) as reader:
        for counter, frame in enumerate(reader.frames()):
            if index.has_pts and frame.pts is not None and frame.pts in index.rank_of:
                rank = index.rank_of[frame.pts]
            else:
                rank = counter
            if wanted is None or rank in wanted:
                keep(rank, frame)
            if stop_after is not None and rank >= stop_after:
                break
        return reader.errors


def _decode_seeking(path: Path, index: _StreamIndex, targets: list[int], seeks: list[bool], keep: Any) -> int:
    """Seek to the keyframe before each target marked in ``seeks``; decode forward to it."""
    with _Reader(path) as reader:
        frames_iter: Iterator[Any] | None = None
        for target, seek in zip(targets, seeks, strict=True):
            if seek or frames_iter is None:
                k = bisect.bisect_right(index.key_ranks, target) - 1
                reader.seek_keyframe(index.pts[index.key_ranks[k]])
                frames_iter = reader.frames()
            want = index.pts[target]
            for frame in frames_iter:
                if frame.pts is None or frame.pts > want:
                    raise _SeekMiss()
                if frame.pts == want:
                    keep(target, frame)
                    break
            else:
                raise _SeekMiss()
        return reader.errors


def _finish(path: Path, index: _StreamIndex, found: dict[int, np.ndarray], method: str, errors: int) -> SampledFrames:
    if not found:
        raise MediaError(f"{path}: no decodable frames (the file is damaged or not a video)")
    ranks = sorted(found)
    if index.has_pts:
        stamps = [index.seconds(r) for r in ranks]
    else:
        stamps = [r / index.fps if index.fps > 0 else 0.0 for r in ranks]
    return SampledFrames(
        frames=[found[r] for r in ranks], indices=ranks, timestamps=stamps, fps=index.fps, path=path,
        total_frames=index.n if index.has_pts else index.packets, method=method, decode_errors=errors,
        decoded_seconds=index.decoded_seconds, declared_seconds=index.declared_seconds,
    )


def sample_frames(
    path: str | os.PathLike[str], *, every_n_seconds: float | None = None, every_n_frames: int | None = None,
    num_frames: int | None = None, max_frames: int | None = None, allow_truncated: bool = False,
) -> SampledFrames:
    """Decode the sampled frames of one video (RGB uint8 ``HxWx3``).

    Give at most one of ``every_n_seconds``, ``every_n_frames``, ``num_frames``; with none, one
    frame per second is sampled. ``max_frames`` caps the count (evenly thinned). Raises
    ``ConfigError`` for invalid options and ``MediaError`` naming the file when it is missing,
    cannot be opened, is a still image, has no video stream or no decodable frame, and when it
    holds less than its container declares (truncated) unless ``allow_truncated``. Packets that
    fail to decode are skipped (counted in ``decode_errors``); a wanted frame that cannot be
    decoded is absent from the result rather than replaced by a neighbour.
    """
    spec = sampling_spec(every_n_seconds, every_n_frames, num_frames, max_frames, allow_truncated)
    return sample_with_spec(path, spec)


def sample_with_spec(path: str | os.PathLike[str], spec: SamplingSpec) -> SampledFrames:
    """:func:`sample_frames` with an already validated :class:`SamplingSpec`."""
    path = Path(path)
    index = _read_index(path)
    _require_whole(path, index, spec.allow_truncated)
    if index.has_pts:
        targets = select_ranks(index.times(), spec)
    else:  # no usable pts: positions from the packet count and the nominal rate
        rate = index.fps or 1.0
        targets = select_ranks(np.arange(index.packets, dtype=np.float64) / rate, spec)
    return _decode_targets(path, index, targets)


def sample_positions(path: str | os.PathLike[str], choose: Callable[[int], Iterable[int]]) -> SampledFrames:
    """Decode the frames at the positions ``choose(frame_count)`` names (presentation order).

    For selection rules that are not a spacing, e.g. "the first frame" or AffectGPT's
    start-aligned ``floor(i * n / 8)``: the rule sees the real frame count from the packet index.
    Positions outside ``0..count-1`` are a ``ConfigError``; repeats are decoded once."""
    path = Path(path)
    index = _read_index(path)
    count = index.n if index.has_pts else index.packets
    targets = sorted({int(i) for i in choose(count)})
    if targets and (targets[0] < 0 or targets[-1] >= count):
        raise ConfigError(f"{path}: frame positions {targets} outside 0..{count - 1}")
    return _decode_targets(path, index, targets)


def _decode_targets(path: Path, index: _StreamIndex, targets: list[int]) -> SampledFrames:
    """Decode the frames at ``targets`` (sorted ranks), seeking or linearly by the cost model."""
    found: dict[int, np.ndarray] = {}

    def keep(rank: int, frame: Any) -> None:
        found[rank] = _to_rgb(frame)

    method, errors = "linear", 0
    if index.has_pts and targets:
        cost, seeks = _plan_cost(targets, index.key_ranks)
        if cost < targets[-1] + 1:
            try:
                errors = _decode_seeking(path, index, targets, seeks, keep)
                method = "seek"
            except _SeekMiss:
                logger.debug("%s: seek landed after a wanted frame; decoding linearly", path)
                found.clear()
    if method == "linear":
        errors = _decode_linear(path, index, set(targets), max(targets) if targets else None, keep)
    return _finish(path, index, found, method, errors)


def last_frames(path: str | os.PathLike[str], n: int = 1, last_seconds: float | None = None,
                allow_truncated: bool = False) -> SampledFrames:
    """The last decodable frame(s) of a video, robust to a truncated or garbled final packet.

    Without ``last_seconds``: the last ``n`` decodable frames. With it: ``n`` frames spread evenly
    over the final ``last_seconds`` seconds ending at the last decodable frame (the nearest frame
    to each evenly spaced time; duplicates removed, so fewer than ``n`` when the window holds fewer
    frames). Only the tail is decoded (from the keyframe before the window) unless that fails,
    in which case the whole file is decoded keeping a bounded window. A truncated video (its
    packets end well before the declared duration, so "the last frame" is not the video's end)
    raises ``MediaError`` unless ``allow_truncated``.
    """
    n = _positive_int("n", n)
    if last_seconds is not None and (isinstance(last_seconds, bool) or not float(last_seconds) > 0
                                     or not math.isfinite(float(last_seconds))):
        raise ConfigError(f"last_seconds must be a positive number; got {last_seconds!r}")
    path = Path(path)
    index = _read_index(path)
    _require_whole(path, index, allow_truncated)
    window: collections.OrderedDict[int, Any] = collections.OrderedDict()
    errors = 0
    if index.has_pts and index.key_ranks:
        start = _tail_start(index, index.n - 1, n, last_seconds)
        for _ in range(3):  # a damaged end moves the window back: widen until it is covered
            window.clear()
            errors = _decode_tail(path, index, start, window)
            if not window:
                break
            needed = _tail_start(index, max(window), n, last_seconds)
            if last_seconds is None:  # frames inside the window that did not decode: reach further back
                needed = max(0, needed - (n - sum(rank >= needed for rank in window)))
            if needed >= start:
                break
            start = needed
    if not window:
        errors += _decode_all_keep_tail(path, index, window, n, last_seconds)
    if not window:
        raise MediaError(f"{path}: no decodable frames (the file is damaged or not a video)")
    ranks = sorted(window)
    if last_seconds is None:
        chosen = ranks[-n:]
    else:
        stamps = {r: _stamp(index, r) for r in ranks}
        end = stamps[ranks[-1]]
        begin = end - float(last_seconds)
        inside = [r for r in ranks if stamps[r] >= begin - _TIME_EPS]
        goals = [end] if n == 1 else list(np.linspace(begin, end, n))
        chosen = sorted({min(inside, key=lambda r, g=g: (abs(stamps[r] - g), -r)) for g in goals})
    found = {r: _to_rgb(window[r]) for r in chosen}
    return _finish(path, index, found, "tail", errors)


def _tail_start(index: _StreamIndex, end_rank: int, n: int, last_seconds: float | None) -> int:
    """First rank the window ending at ``end_rank`` needs (``n`` frames or ``last_seconds``)."""
    if last_seconds is None:
        return max(0, end_rank - n + 1)
    times = index.times()
    return int(np.searchsorted(times, times[end_rank] - float(last_seconds) - _TIME_EPS, side="left"))


def _stamp(index: _StreamIndex, rank: int) -> float:
    if index.has_pts and rank < index.n:
        return index.seconds(rank)
    return rank / index.fps if index.fps > 0 else float(rank)


def _decode_tail(path: Path, index: _StreamIndex, start: int, window: dict[int, Any]) -> int:
    """Decode from the keyframe before ``start`` to the end, keeping frames at ranks >= start."""
    k = bisect.bisect_right(index.key_ranks, start) - 1
    if k < 0:
        return 0
    with _Reader(path) as reader:
        reader.seek_keyframe(index.pts[index.key_ranks[k]])
        for frame in reader.frames():
            rank = index.rank_of.get(frame.pts) if frame.pts is not None else None
            if rank is not None and rank >= start:
                window[rank] = frame
        return reader.errors


def _decode_all_keep_tail(path: Path, index: _StreamIndex, window: collections.OrderedDict[int, Any], n: int,
                          last_seconds: float | None) -> int:
    """Fallback: decode everything, keeping only the frames that can still be in the window."""

    def keep(rank: int, frame: Any) -> None:
        window[rank] = frame
        if last_seconds is None:
            while len(window) > n:
                window.popitem(last=False)
        else:
            newest = _stamp(index, rank)
            while window and _stamp(index, next(iter(window))) < newest - last_seconds - 1.0:
                window.popitem(last=False)

    return _decode_linear(path, index, None, None, keep)


# --------------------------------------------------------------------------- many videos
def default_workers() -> int:
    """Decoder threads for several videos: the CPU count, at least 1, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def iter_sample_frames(
    paths: Iterable[str | os.PathLike[str]], *, workers: int | None = None, prefetch: int | None = None,
    every_n_seconds: float | None = None, every_n_frames: int | None = None, num_frames: int | None = None,
    max_frames: int | None = None, allow_truncated: bool = False,
) -> Iterator[SampledFrames | MediaError]:
    """Sample several videos in parallel threads, yielding results in input order.

    A video that cannot be read yields its ``MediaError`` (not raised) so one bad file does not
    stop a batch. At most ``prefetch`` (default ``2 * workers``) videos are held decoded ahead
    of the consumer, bounding memory while the caller (e.g. the encoder) works.
    """
    spec = sampling_spec(every_n_seconds, every_n_frames, num_frames, max_frames, allow_truncated)
    yield from iter_sample_with_spec(paths, spec, workers=workers, prefetch=prefetch)


def iter_sample_with_spec(
    paths: Iterable[str | os.PathLike[str]], spec: SamplingSpec, *, workers: int | None = None,
    prefetch: int | Callable[[], int] | None = None, postprocess: Callable[[SampledFrames], Any] | None = None,
) -> Iterator[Any]:
    """:func:`iter_sample_frames` with an already validated :class:`SamplingSpec`.

    ``postprocess`` runs in the worker thread on each result (e.g. CLIP preprocessing), so that
    work overlaps with the consumer too; its ``MediaError`` is yielded like a decoding error.
    ``prefetch`` may be a callable, re-read after every video, so a consumer can keep enough
    videos in flight for its next batch (see ``mmscore.operators.emscore.encode_videos``).
    """
    workers = workers or default_workers()
    fixed = prefetch if isinstance(prefetch, int) else 2 * workers

    def limit() -> int:
        return max(1, int(prefetch()) if callable(prefetch) else fixed)

    def one(path: str | os.PathLike[str]) -> Any:
        try:
            sampled = sample_with_spec(path, spec)
            return postprocess(sampled) if postprocess is not None else sampled
        except MediaError as exc:
            return exc

    pending: collections.deque[Future[Any]] = collections.deque()
    source = iter(paths)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmscore-decode") as pool:
        try:
            for path in source:
                pending.append(pool.submit(one, path))
                while len(pending) >= limit():
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def sample_frames_many(
    paths: Iterable[str | os.PathLike[str]], *, workers: int | None = None, **sampling: Any,
) -> list[SampledFrames | MediaError]:
    """:func:`sample_frames` over many paths in parallel threads; errors returned in place."""
    return list(iter_sample_frames(paths, workers=workers, **sampling))


def video_truncation(path: str | os.PathLike[str]) -> str | None:
    """``"decoded 3.0 s of 10.0 s"`` for a truncated video (read by demuxing only), else None.

    For recording, per row, what a video scored with ``allow_truncated`` lacked; an unreadable
    file gives None (its error is reported where it is decoded)."""
    try:
        index = _read_index(Path(path))
    except MediaError:
        return None
    return truncation_note(index.decoded_seconds, index.declared_seconds)


def check_video_file(path: str | os.PathLike[str]) -> None:
    """Raise ``MediaError`` unless ``path`` is a whole video: a container with a video stream, at
    least one frame and no missing tail (demuxing only; the check every viewer and scorer shares)."""
    path = Path(path)
    _require_whole(path, _read_index(path), allow_truncated=False)
