"""Tiny CLIP checkpoints in every layout, built once per session from fixed seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def model77():
    from mmscore.testing.models import build_tiny_clip

    return build_tiny_clip(seed=11)


@pytest.fixture(scope="session")
def model248():
    from mmscore.testing.models import build_tiny_clip

    return build_tiny_clip(seed=12, context_length=248)


@pytest.fixture(scope="session")
def formats77(model77, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from mmscore.testing.checkpoints import save_all_formats

    return save_all_formats(model77, tmp_path_factory.mktemp("formats77"))


@pytest.fixture(scope="session")
def formats248(model248, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from mmscore.testing.checkpoints import save_all_formats

    return save_all_formats(model248, tmp_path_factory.mktemp("formats248"))


@pytest.fixture(scope="session")
def rgb_batch() -> np.ndarray:
    """Four random RGB images, 45x61, as one uint8 batch."""
    return np.random.default_rng(5).integers(0, 256, size=(4, 45, 61, 3), dtype=np.uint8)
