"""Tiny checkpoints and training rows for the training tests (fixed seeds, built per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def longclip_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Long-CLIP layout .pt (248 rows; unused table halves hold noise)."""
    from mmscore.testing.checkpoints import save_longclip_checkpoint
    from mmscore.testing.models import build_tiny_clip

    return save_longclip_checkpoint(build_tiny_clip(seed=21, context_length=248),
                                    tmp_path_factory.mktemp("lc") / "tiny-longclip.pt")


@pytest.fixture(scope="session")
def clip77_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny OpenAI-layout 77-token CLIP .pt."""
    from mmscore.testing.checkpoints import save_openai_state_dict
    from mmscore.testing.models import build_tiny_clip

    return save_openai_state_dict(build_tiny_clip(seed=22), tmp_path_factory.mktemp("c77") / "tiny-clip.pt")


def chain_rows(n: int, seed: int = 0) -> list[dict]:
    """SPECS-layout rows with random images; chains of 4 captions longer than 20 tokens."""
    rng = np.random.default_rng(seed)
    words = ["red", "blue", "square", "circle", "left", "right", "small", "large", "dot", "line", "top", "under"]
    rows = []
    for i in range(n):
        chunks = [" ".join(rng.choice(words, size=9)) for _ in range(4)]
        caps = [" ".join(chunks[: k + 1]) for k in range(4)]
        negs = [caps[k] + " " + " ".join(rng.choice(words, size=9)) for k in range(3)]
        image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
        rows.append({"image": image, "caption": f"row {i}. " + caps[-1], "captions": caps, "neg_captions": negs})
    return rows


@pytest.fixture
def rows() -> list[dict]:
    return chain_rows(16)
