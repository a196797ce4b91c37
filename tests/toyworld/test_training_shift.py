"""The training tool's still shift (``tools/train_demo_clip.py --still-shift``): a pure translation
that never pushes a shape over the border, checked against a padded-canvas translation."""

from __future__ import annotations

import numpy as np
import pytest

from mmscore.toyworld import BACKGROUNDS, random_image_scene, render_image


@pytest.fixture(scope="module")
def shifted(train_tool):
    return train_tool.shifted


def _drawn(picture: np.ndarray, background: str) -> np.ndarray:
    return np.abs(picture.astype(int) - np.array(BACKGROUNDS[background])).max(axis=2) > 12


def test_shift_is_a_bounded_translation_that_keeps_every_shape(shifted):
    rng = np.random.default_rng(0)
    moved_scenes = 0
    for seed in range(60):
        scene = random_image_scene(seed)
        picture = render_image(scene)
        out = shifted(picture, scene, 8, rng)
        before, after = _drawn(picture, scene.background), _drawn(out, scene.background)
        assert after.sum() == before.sum()  # nothing cut off at the border
        (y0, x0), (y1, x1) = np.argwhere(before).min(0), np.argwhere(after).min(0)
        dy, dx = int(y1 - y0), int(x1 - x0)
        assert abs(dy) <= 8 and abs(dx) <= 8
        moved_scenes += (dy, dx) != (0, 0)
        # independent: paste the picture into a background canvas 8 px larger on every side, cut it out shifted
        size = picture.shape[0]
        canvas = np.empty((size + 16, size + 16, 3), np.uint8)
        canvas[:] = BACKGROUNDS[scene.background]
        canvas[8 : 8 + size, 8 : 8 + size] = picture
        expected = canvas[8 - dy : 8 - dy + size, 8 - dx : 8 - dx + size]
        np.testing.assert_array_equal(out, expected)
    assert moved_scenes > 50


def test_no_shift_returns_the_picture(shifted):
    scene = random_image_scene(3)
    picture = render_image(scene)
    assert shifted(picture, scene, 0, np.random.default_rng(0)) is picture
