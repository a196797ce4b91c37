"""Browser-playable videos (PyAV transcode checked with PyAV itself) and the media boundary."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest

from mmscore.errors import MediaError
from mmscore.human.media import browser_video, inside, is_browser_playable
from mmscore.testing.media import make_corrupt_file, make_video


def _probe(path: Path) -> tuple[str, int, int, int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.name, frames, stream.width, stream.height, float(stream.average_rate)


def test_mpeg4_is_transcoded_once_to_h264(tmp_path: Path) -> None:
    source = make_video(
        tmp_path / "exp" / "svd_model-x_20250101_000000.mp4", n_frames=12, fps=6, width=66, height=50
    )
    assert not is_browser_playable(source)  # MPEG-4 Part 2: a black box in Chromium
    cache = tmp_path / "cache"
    out = browser_video(source, cache)
    assert out.parent == cache and "model-x" not in out.name
    codec, frames, width, height, fps = _probe(out)
    assert (codec, frames, width, height, fps) == ("h264", 12, 66, 50, 6.0)
    mtime = out.stat().st_mtime_ns
    assert browser_video(source, cache) == out and out.stat().st_mtime_ns == mtime  # cached


def test_h264_is_served_as_is_or_under_an_opaque_alias(tmp_path: Path) -> None:
    source = make_video(tmp_path / "svd_model-x_1.mp4", n_frames=6, fps=6, codec="libx264")
    assert is_browser_playable(source)
    assert browser_video(source, tmp_path / "cache") == source
    alias = browser_video(source, tmp_path / "cache", blind=True)
    assert "model-x" not in alias.name and alias.suffix == ".mp4"
    assert alias.read_bytes() == source.read_bytes()


def test_undecodable_video_raises_media_error(tmp_path: Path) -> None:
    bad = make_corrupt_file(tmp_path / "bad.mp4")
    with pytest.raises(MediaError, match="bad.mp4"):
        browser_video(bad, tmp_path / "cache")


def test_inside_follows_symlinks_and_dotdot(tmp_path: Path) -> None:
    root = tmp_path / "experiment"
    (root / "m").mkdir(parents=True)
    good = root / "m" / "first_frame.png"
    good.write_bytes(b"x")
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    link = root / "m" / "escape.png"
    os.symlink(secret, link)
    assert inside(good, root)
    assert not inside(link, root)
    assert not inside(root / "m" / ".." / ".." / "secret.txt", root)
    assert not inside(root / "m" / "missing.png", root)
    assert not inside(root / "m", root)  # a folder is not a media file


def test_task_media_reports_every_problem(experiment, tmp_path: Path) -> None:
    from dataclasses import replace

    from mmscore.human.media import task_media
    from mmscore.io.experiment import discover_tasks

    task = discover_tasks(experiment.experiment, experiment.data_dir)[0]
    root = experiment.root
    good = task_media(task, root, tmp_path / "cache")
    assert good.problems == [] and good.first_frame == task.first_frame
    assert _probe(good.video)[0] == "h264"

    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(task.first_frame.read_bytes())
    bad_video = make_corrupt_file(root / "model-a" / "broken.mp4")
    try:
        broken = replace(task, first_frame=outside, final_frame=None, video_path=bad_video)
        media = task_media(broken, root, tmp_path / "cache")
    finally:
        bad_video.unlink()
    assert (media.first_frame, media.final_frame, media.video) == (None, None, None)
    assert len(media.problems) == 3
    assert "outside the experiment folder" in media.problems[0]
    assert "no expected final frame" in media.problems[1]
    assert "cannot be decoded" in media.problems[2]
    assert not any("model-a" in p or "broken" in p or "elsewhere" in p for p in media.problems)  # blind
