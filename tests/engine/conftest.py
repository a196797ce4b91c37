"""Small tables for the engine tests: videos with captions (one corrupt), images with captions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

CAPTIONS = ["a red square moves right", "a blue square goes up", "a green box moving to the left", "a dog runs",
            "two cats play with a ball", "a small square"]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMSCORE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def video_table(assets_dir: Path, synthetic_videos: dict[str, Path]) -> Path:
    """7 rows: relative video paths, list and single-text references, one corrupt video, one empty caption."""
    from mmscore.io.tables import write_table
    from mmscore.testing.media import make_corrupt_file

    folder = synthetic_videos["red_right"].parent
    make_corrupt_file(folder / "corrupt.mp4")
    names = ["red_right.mp4", "blue_up.mp4", "green_left.mp4"]
    rows = []
    for i in range(7):
        video = "corrupt.mp4" if i == 4 else names[i % 3]
        refs = [CAPTIONS[(i + 1) % 6], CAPTIONS[(i + 2) % 6]] if i % 2 == 0 else CAPTIONS[(i + 3) % 6]
        rows.append({"video_path": video, "candidate": "" if i == 5 else CAPTIONS[i % 6], "reference": refs})
    return write_table(pd.DataFrame(rows), folder / "videos.jsonl")


@pytest.fixture(scope="session")
def image_table(assets_dir: Path) -> Path:
    """12 image/caption rows (8 distinct images), one missing image."""
    from mmscore.io.tables import write_table
    from mmscore.testing.media import make_image

    folder = assets_dir / "engine-images"
    colors = ["red", "green", "blue"]
    images = [make_image(folder / f"{i}.png", color=colors[i % 3], width=40 + 4 * i, height=30 + 3 * i)
              for i in range(8)]
    rows = [{"image_path": images[i % 8].name if i != 9 else "missing.png", "text": CAPTIONS[i % 6]}
            for i in range(12)]
    return write_table(pd.DataFrame(rows), folder / "pairs.jsonl")


@pytest.fixture(scope="session")
def longclip_checkpoint(assets_dir: Path) -> Path:
    """A tiny Long-CLIP-layout checkpoint (248-token context)."""
    from mmscore.testing.checkpoints import save_longclip_checkpoint
    from mmscore.testing.models import build_tiny_clip

    return save_longclip_checkpoint(build_tiny_clip(seed=3, context_length=248), assets_dir / "longclip-tiny.pt")
