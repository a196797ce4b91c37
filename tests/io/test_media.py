"""Frame sampling against synthetic videos whose content is known frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mmscore.errors import ConfigError, MediaError
from mmscore.io import media
from mmscore.io.media import last_frames, sample_frames, sample_frames_many
from mmscore.testing.media import COLORS, make_corrupt_file, make_video, make_zero_frame_video, moving_square_frames

av = pytest.importorskip("av")


def closest_drawn(frame: np.ndarray, drawn: list[np.ndarray]) -> int:
    """Index of the drawn frame nearest to a decoded one (lossy codec: nearest, not equal)."""
    errors = [np.abs(frame.astype(int) - d.astype(int)).mean() for d in drawn]
    return int(np.argmin(errors))


def square_x(frame: np.ndarray, color: str) -> float:
    """Mean column of the pixels close to ``color`` (the square's horizontal centre)."""
    distance = np.abs(frame.astype(int) - np.array(COLORS[color])).sum(axis=2)
    cols = np.nonzero(distance < 120)[1]
    assert cols.size, "square not found"
    return float(cols.mean())


def write_frames(
    path: Path, frames: list[np.ndarray], pts_ms: list[int], options: dict | None = None, gop: int = 1000
) -> Path:
    """Write frames with explicit millisecond timestamps (variable frame rate when uneven)."""
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.codec_context.gop_size = gop
        for array, pts in zip(frames, pts_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            frame.pts = pts
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# ------------------------------------------------------------------------------ options
def test_option_validation(synthetic_videos):
    path = synthetic_videos["red_right"]
    with pytest.raises(ConfigError, match="every_n_seconds and every_n_frames"):
        sample_frames(path, every_n_seconds=1.0, every_n_frames=2)
    with pytest.raises(ConfigError, match="at most one"):
        sample_frames(path, every_n_frames=2, num_frames=3)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="every_n_frames"):
            sample_frames(path, every_n_frames=bad)
    for bad in (0.0, -2.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="every_n_seconds"):
            sample_frames(path, every_n_seconds=bad)
    with pytest.raises(ConfigError, match="max_frames"):
        sample_frames(path, max_frames=0)


def test_default_is_one_frame_per_second(synthetic_videos):
    # 20 frames at 10 fps: t = 0.0 .. 1.9 s -> frames at 0 s and 1 s
    result = sample_frames(synthetic_videos["red_right"])
    assert result.indices == [0, 10]
    assert result.timestamps == pytest.approx([0.0, 1.0])
    assert result.fps == pytest.approx(10.0)
    assert result.total_frames == 20


# ------------------------------------------------------------------------------ content
def test_every_n_frames_content_matches_drawn_frames(synthetic_videos):
    result = sample_frames(synthetic_videos["red_right"], every_n_frames=3)
    assert result.indices == list(range(0, 20, 3))
    assert result.timestamps == pytest.approx([i / 10 for i in range(0, 20, 3)])
    drawn = moving_square_frames(20)
    for frame in result.frames:
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
    assert [closest_drawn(frame, drawn) for frame in result.frames] == result.indices
    assert square_x(result.frames[-1], "red") > square_x(result.frames[0], "red") + 30


def test_every_n_seconds_uses_the_stream_timestamps(synthetic_videos):
    result = sample_frames(synthetic_videos["blue_up"], every_n_seconds=0.5)
    assert result.indices == [0, 5, 10, 15]
    assert result.timestamps == pytest.approx([0.0, 0.5, 1.0, 1.5])
    drawn = moving_square_frames(20, color="blue", direction="up")
    assert [closest_drawn(frame, drawn) for frame in result.frames] == result.indices


def test_num_frames_uniform_like_the_official_vatex_setup(synthetic_videos):
    # official: [int(x) for x in np.linspace(0, n - 1, k)]
    result = sample_frames(synthetic_videos["green_left"], num_frames=4)
    assert result.indices == [0, 9, 19, 29]
    # more frames asked than exist: every frame once (duplicates removed)
    assert sample_frames(synthetic_videos["red_right"], num_frames=50).indices == list(range(20))


def test_max_frames_thins_evenly(synthetic_videos):
    result = sample_frames(synthetic_videos["green_left"], every_n_frames=1, max_frames=3)
    assert result.indices == [0, 14, 29]


def test_variable_frame_rate_timestamps(tmp_path):
    frames = moving_square_frames(8)
    pts = [0, 100, 200, 900, 1000, 1100, 2500, 2600]  # gaps: the nominal fps would be wrong
    path = write_frames(tmp_path / "vfr.mkv", frames, pts)
    result = sample_frames(path, every_n_seconds=1.0)
    # first frames at or after 0 s, 1 s, 2 s -> pts 0, 1000, 2500
    assert result.indices == [0, 4, 6]
    assert result.timestamps == pytest.approx([0.0, 1.0, 2.5])
    assert [closest_drawn(frame, frames) for frame in result.frames] == result.indices


# ------------------------------------------------------------------------------ decoding strategy
def test_seek_and_linear_give_identical_frames(tmp_path):
    path = make_video(tmp_path / "gop5.mp4", n_frames=60, fps=10, gop_size=5)
    seeking = sample_frames(path, every_n_frames=20)
    assert seeking.method == "seek"
    full = sample_frames(path, every_n_frames=1)
    assert full.method == "linear" and full.indices == list(range(60))
    assert seeking.indices == [0, 20, 40]
    for frame, index in zip(seeking.frames, seeking.indices, strict=True):
        np.testing.assert_array_equal(frame, full.frames[index])


def test_sparse_keyframes_decode_linearly(tmp_path):
    path = make_video(tmp_path / "gop100.mp4", n_frames=60, fps=10, gop_size=100)
    result = sample_frames(path, every_n_frames=20)
    assert result.method == "linear"
    assert result.indices == [0, 20, 40]
    drawn = moving_square_frames(60)
    assert [closest_drawn(frame, drawn) for frame in result.frames] == result.indices


def test_plan_cost_prefers_seeking_only_when_keyframes_are_dense():
    targets = [0, 30, 60, 90]
    dense, seeks = media._plan_cost(targets, list(range(0, 100, 30)))
    assert seeks == [True, True, True, True]
    assert dense == 4 * (1 + media.SEEK_COST_FRAMES)
    sparse, seeks = media._plan_cost(targets, [0])
    assert seeks == [True, False, False, False]
    assert sparse == 1 + media.SEEK_COST_FRAMES + 90


def test_many_videos_in_parallel_threads_keep_order(synthetic_videos, tmp_path):
    missing = tmp_path / "missing.mp4"
    paths = [
        synthetic_videos["red_right"],
        missing,
        synthetic_videos["green_left"],
        synthetic_videos["blue_up"],
    ]
    results = sample_frames_many(paths, workers=2, every_n_frames=10)
    assert [r.indices if not isinstance(r, Exception) else None for r in results] == [
        [0, 10],
        None,
        [0, 10, 20],
        [0, 10],
    ]
    assert isinstance(results[1], MediaError) and "missing.mp4" in str(results[1])
    assert results[2].path == synthetic_videos["green_left"]


# ------------------------------------------------------------------------------ errors
def test_errors_name_the_file(tmp_path):
    with pytest.raises(MediaError, match="nope.mp4.*not found"):
        sample_frames(tmp_path / "nope.mp4")
    corrupt = make_corrupt_file(tmp_path / "corrupt.mp4")
    with pytest.raises(MediaError, match="corrupt.mp4"):
        sample_frames(corrupt)
    with pytest.raises(MediaError, match="corrupt.mp4"):
        last_frames(corrupt)
    with pytest.raises(MediaError, match="is a directory"):
        sample_frames(tmp_path)


def test_zero_frame_video(tmp_path):
    # a real file whose video stream is empty (not a missing file: that error also names the path)
    path = make_zero_frame_video(tmp_path / "empty.mkv")
    with av.open(str(path)) as container:
        assert container.streams.video and not any(p.size for p in container.demux(container.streams.video[0]))
    with pytest.raises(MediaError, match="empty.mkv: the video stream has no frames"):
        sample_frames(path)
    with pytest.raises(MediaError, match="empty.mkv: the video stream has no frames"):
        last_frames(path)


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
    with pytest.raises(MediaError, match="tone.wav.*no video stream"):
        sample_frames(path)


# ------------------------------------------------------------------------------ last frames
def test_last_frames(synthetic_videos):
    path = synthetic_videos["green_left"]  # 30 frames, 10 fps, keyframe every 10
    one = last_frames(path)
    assert one.indices == [29] and one.timestamps == pytest.approx([2.9])
    drawn = moving_square_frames(30, color="green", direction="left")
    assert closest_drawn(one.frames[0], drawn) == 29
    assert last_frames(path, n=3).indices == [27, 28, 29]
    # 3 frames spread over the last second: t = 1.9, 2.4, 2.9
    spread = last_frames(path, n=3, last_seconds=1.0)
    assert spread.indices == [19, 24, 29]
    assert spread.timestamps == pytest.approx([1.9, 2.4, 2.9])
    # window longer than the video: starts at the first frame
    assert last_frames(path, n=2, last_seconds=100.0).indices == [0, 29]
    with pytest.raises(ConfigError):
        last_frames(path, n=0)


@pytest.mark.parametrize("suffix,options", [(".mp4", {"movflags": "faststart"}), (".ts", {}), (".mkv", {})])
def test_last_frames_survive_a_truncated_tail(tmp_path, suffix, options):
    rng = np.random.default_rng(1)
    frames = [
        np.clip(f.astype(int) + rng.integers(0, 40, f.shape), 0, 255).astype(np.uint8)
        for f in moving_square_frames(30, 128, 96)
    ]
    good = write_frames(tmp_path / f"good{suffix}", frames, [i * 100 for i in range(30)], options, gop=10)
    data = good.read_bytes()
    with av.open(str(good)) as container:
        last_packet = [p for p in container.demux(container.streams.video[0]) if p.size][-1]
    bad = tmp_path / f"bad{suffix}"
    # cut into the final packet (and any trailer): that packet is truncated/garbled
    bad.write_bytes(data[: int(last_packet.pos) + max(1, last_packet.size // 2)])
    result = last_frames(bad, n=2)
    assert len(result.indices) == 2
    assert result.indices[1] == result.indices[0] + 1
    assert 25 <= result.indices[-1] <= 29
    assert [closest_drawn(frame, frames) for frame in result.frames] == result.indices


def _decodable_grey_levels(path: Path) -> list[int]:
    """Independent reference: decode packet by packet, skipping whatever fails, in display order."""
    import av

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            try:
                frames += [(f.pts, round(float(f.to_ndarray(format="rgb24").mean()))) for f in packet.decode()]
            except av.error.FFmpegError:
                continue
    return [grey for _, grey in sorted(frames)]


def test_last_frames_of_a_truncated_b_frame_video_are_the_last_decodable_ones(tmp_path: Path) -> None:
    """A truncated file whose last indexed frames do not all decode: the n frames returned are the
    last n that do (a hole in the tail used to leave fewer than n)."""
    import av

    path = tmp_path / "bframes.mp4"
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "6", "bf": "3"}
        for i in range(24):
            grey = 10 * i if i < 17 else 255 - (i - 17) * 10
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), grey, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = path.read_bytes()
    for fraction in (0.86, 0.88, 0.9, 0.92, 0.94):  # several cut points: some leave a hole in the tail
        cut = tmp_path / f"cut{fraction}.mp4"
        cut.write_bytes(data[: int(len(data) * fraction)])
        expected = _decodable_grey_levels(cut)[-3:]
        got = last_frames(cut, n=3, allow_truncated=True)  # a cut this deep is truncated
        assert [round(float(f.mean())) for f in got.frames] == expected, fraction
