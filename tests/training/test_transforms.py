"""SPECS train_spec.py's training transform (uint8 bicubic resize without antialiasing), checked
against hand-worked pixels, and its option through the engine and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mmscore.errors import ConfigError
from mmscore.models.preprocess import CLIP_MEAN, CLIP_STD, ClipImageTransform
from mmscore.training.data import TrainingData
from mmscore.training.engine import TrainSettings
from mmscore.training.transforms import TensorResizeTransform

MEAN = np.array(CLIP_MEAN, dtype=np.float32).reshape(3, 1, 1)
STD = np.array(CLIP_STD, dtype=np.float32).reshape(3, 1, 1)


def normalised(pixels_hw3: np.ndarray) -> np.ndarray:
    return (pixels_hw3.transpose(2, 0, 1).astype(np.float32) / 255.0 - MEAN) / STD


def test_shorter_side_already_at_size_is_only_centre_cropped():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60, 40, 3), dtype=np.uint8)  # 40 wide, 60 high
    out = TensorResizeTransform(40)([Image.fromarray(pixels)])
    assert out.shape == (1, 3, 40, 40)
    np.testing.assert_allclose(out[0].numpy(), normalised(pixels[10:50]), atol=1e-6)


def test_halving_without_antialiasing_overshoots_at_an_edge():
    """8x8 → 4x4: output column j samples x = 2j + 0.5 with the cubic (a = -0.75) weights
    (-3/32, 19/32, 19/32, -3/32) on columns 2j-1 .. 2j+2 (clamped at the border). Columns 0-3 are
    0 and 4-7 are 200: j=1 gives -3/32·200 → clamped to 0, j=2 gives 2·19/32·200 - 3/32·200 = 218.75
    → 219 after rounding."""
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, 4:] = 200
    out = TensorResizeTransform(4)([Image.fromarray(pixels)])[0].numpy()
    expected = np.zeros((4, 4, 3), dtype=np.uint8)
    expected[:, 2] = 219
    expected[:, 3] = 200
    np.testing.assert_allclose(out, normalised(expected), atol=1e-6)
    scoring = ClipImageTransform(4)([Image.fromarray(pixels)])[0].numpy()
    assert not np.allclose(scoring, out, atol=1e-3)  # PIL's antialiased filter sees it differently


def test_training_data_uses_the_chosen_resize_and_bad_names_are_refused():
    rows = [{"image": np.full((12, 16, 3), 90, dtype=np.uint8), "caption": "a"}]
    pixels, _ = TrainingData(rows, 8, lambda row, rng: [row["caption"]], resize="tensor")[0]
    expected = TensorResizeTransform(8)([Image.fromarray(rows[0]["image"])])[0]
    assert torch.equal(pixels, expected)
    with pytest.raises(ConfigError, match="pil, tensor"):
        TrainSettings(train_resize="torchvision")
