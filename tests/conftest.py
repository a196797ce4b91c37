"""Session-wide fixtures: tiny random CLIP models, synthetic videos and images.

Built at test time (fixed seeds) and cached per session under pytest's tmp dir, so the suite
needs no downloaded weights or datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MMSCORE_QUIET", "1")


@pytest.fixture(scope="session")
def assets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assets")


@pytest.fixture(scope="session")
def tiny_clip_hf_dir(assets_dir: Path) -> Path:
    """A tiny random CLIP (77-token context) saved with ``save_pretrained``; seed 0."""
    from mmscore.testing.models import save_tiny_clip_hf

    return save_tiny_clip_hf(assets_dir / "tiny-clip-hf", seed=0)


@pytest.fixture(scope="session")
def synthetic_videos(assets_dir: Path) -> dict[str, Path]:
    """Three short mpeg4 videos (20 frames at 10 fps, 64x48) with known motion."""
    from mmscore.testing.media import make_video

    folder = assets_dir / "videos"
    return {
        "red_right": make_video(folder / "red_right.mp4", n_frames=20, fps=10, color="red", direction="right"),
        "blue_up": make_video(folder / "blue_up.mp4", n_frames=20, fps=10, color="blue", direction="up"),
        "green_left": make_video(folder / "green_left.mp4", n_frames=30, fps=10, color="green",
                                 direction="left", gop_size=10),
    }


@pytest.fixture(scope="session")
def sample_images(assets_dir: Path) -> dict[str, Path]:
    """Small PNG images of coloured squares."""
    from mmscore.testing.media import make_image

    folder = assets_dir / "images"
    return {color: make_image(folder / f"{color}.png", color=color) for color in ("red", "green", "blue")}
