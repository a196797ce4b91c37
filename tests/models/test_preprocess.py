"""OpenAI CLIP preprocessing: sizes, crop offsets (round-half-even, like torchvision), values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mmscore.errors import InputError
from mmscore.models.preprocess import (
    CLIP_MEAN,
    CLIP_STD,
    ClipImageTransform,
    center_crop,
    resize_shorter_side,
)

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def test_no_resize_needed_hand_computed_values():
    # 2 wide x 4 high; the shorter side already equals 2 so only the crop acts: rows 1..2
    # (offset round((4-2)/2) = 1)
    pixels = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(4, 2, 3) * 10
    out = ClipImageTransform(2)(pixels[None])
    assert out.shape == (1, 3, 2, 2) and out.dtype == torch.float32
    for row in range(2):
        for col in range(2):
            for ch in range(3):
                value = pixels[row + 1, col, ch] / np.float32(255.0)
                expected = (value - MEAN[ch]) / STD[ch]
                assert out[0, ch, row, col].item() == pytest.approx(float(expected), abs=1e-6)


@pytest.mark.parametrize(
    ("size", "wh", "resized", "offset"),
    [
        (4, (14, 8), (7, 4), (2, 0)),  # margin 3 -> round(1.5) = 2 (HF's floor would give 1)
        (4, (18, 8), (9, 4), (2, 0)),  # margin 5 -> round(2.5) = 2 (half to even, not 3)
        (4, (8, 22), (4, 11), (0, 4)),  # portrait: long side int(4*22/8) = 11, margin 7 -> round(3.5) = 4
        (3, (7, 5), (4, 3), (0, 0)),  # int(3*7/5) = int(4.2) = 4, margin 1 -> round(0.5) = 0
    ],
)
def test_resize_and_crop_geometry(size, wh, resized, offset):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    small = resize_shorter_side(img, size)
    assert small.size == resized
    crop = center_crop(small, size)
    assert crop.size == (size, size)
    left, top = offset
    assert np.array_equal(np.asarray(crop), np.asarray(small)[top : top + size, left : left + size])


def test_full_transform_against_pil_by_hand():
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8))
    # by hand: shorter side 30 -> 8, longer side int(8 * 50 / 30) = 13, PIL bicubic,
    # crop left = round(5 / 2) = 2 (half to even), top = 0
    expected = np.asarray(img.resize((13, 8), Image.Resampling.BICUBIC), dtype=np.float32)[:, 2:10] / 255.0
    expected = ((expected - MEAN) / STD).transpose(2, 0, 1)
    out = ClipImageTransform(8)([img])
    np.testing.assert_allclose(out[0].numpy(), expected, atol=1e-6)


def test_rgb_conversion_after_crop():
    rgba = Image.new("RGBA", (4, 4), (200, 100, 50, 0))  # alpha dropped, not composited
    gray = Image.new("L", (4, 4), 128)
    out = ClipImageTransform(4)([rgba, gray])
    np.testing.assert_allclose(
        out[0, :, 0, 0].numpy(), (np.array([200, 100, 50]) / 255.0 - MEAN) / STD, atol=1e-6
    )
    np.testing.assert_allclose(out[1, :, 0, 0].numpy(), (128 / 255.0 - MEAN) / STD, atol=1e-6)
    assert np.allclose(CLIP_MEAN, MEAN)
    assert np.allclose(CLIP_STD, STD)


def test_bad_inputs():
    transform = ClipImageTransform(4)
    with pytest.raises(InputError, match="uint8"):
        transform(np.zeros((1, 4, 4, 3), dtype=np.float32))
    with pytest.raises(InputError, match=r"\[N,H,W,3\]"):
        transform(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(InputError, match="image 1: unsupported type int"):
        transform([Image.new("RGB", (4, 4)), 5])
