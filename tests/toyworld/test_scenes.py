"""The toy world is deterministic for a seed and its captions say what the pixels show."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmscore.errors import ConfigError
from mmscore.toyworld import (
    BACKGROUNDS,
    COLORS,
    POSITIONS,
    SIZES,
    ImageScene,
    SceneObject,
    VideoScene,
    corrupt,
    detail_sentences,
    long_caption,
    random_image_scene,
    random_video_scene,
    render_image,
    render_video,
    short_caption,
    write_scene_video,
    wrong_caption,
    wrong_detail,
)

SEEDS = range(3_000_000, 3_000_040)


def test_same_seed_same_scene_and_pixels():
    for seed in (3_000_000, 3_000_001):
        assert random_image_scene(seed) == random_image_scene(seed)
        assert np.array_equal(render_image(random_image_scene(seed)), render_image(random_image_scene(seed)))
        a, b = render_video(random_video_scene(seed)), render_video(random_video_scene(seed))
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert random_image_scene(1) != random_image_scene(2)


def _mean_color_near(image: np.ndarray, position: str) -> np.ndarray:
    """Median colour of a 3x3 patch at the nominal centre of a position (independent of the renderer)."""
    size = image.shape[0]
    fx, fy = POSITIONS[position]
    x, y = int(fx * size), int(fy * size)
    return np.median(image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3), axis=0)


def _nearest_name(rgb: np.ndarray, palette: dict[str, tuple[int, int, int]]) -> str:
    return min(palette, key=lambda name: np.abs(rgb - np.array(palette[name])).sum())


def test_image_pixels_match_the_scene():
    """Each named object's colour sits at its named position; empty positions show the background."""
    for seed in SEEDS:
        scene = random_image_scene(seed)
        image = render_image(scene)
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8
        for obj in scene.objects:
            # circles, squares, diamonds and crosses cover their centre; a triangle's centroid too
            patch = _mean_color_near(image, obj.position)
            assert _nearest_name(patch, {**COLORS, **BACKGROUNDS}) == obj.color, (seed, obj, patch)
        for position in set(POSITIONS) - {o.position for o in scene.objects}:
            patch = _mean_color_near(image, position)
            assert np.abs(patch - np.array(BACKGROUNDS[scene.background])).max() < 1, (seed, position)


def test_moving_shape_travels_in_its_direction_with_a_trail_behind():
    for direction, axis, sign in (("right", 1, 1), ("left", 1, -1), ("down", 0, 1), ("up", 0, -1)):
        scene = VideoScene(SceneObject("red", "square", "large"), "move", direction, n_frames=10, seed=None)
        frames = render_video(scene)
        red = [np.argwhere((f[..., 0] > 150) & (f[..., 1] < 100)).mean(0)[axis] for f in frames]
        assert np.all(np.sign(np.diff(red)) == sign), direction
        # the faint ghost (background blended with red) lies behind the shape, never ahead
        mid = frames[5].astype(int)
        ghost = np.argwhere((mid[..., 0] > 40) & (mid[..., 0] < 150) & (mid[..., 1] < 40))[:, axis]
        body = np.argwhere((mid[..., 0] > 200) & (mid[..., 1] < 60))[:, axis]
        assert sign * (ghost.mean() - body.mean()) < 0, direction


def test_appear_and_change_events():
    appear = VideoScene(SceneObject("blue", "circle", "large", "left"), "appear", None, n_frames=12, seed=None)
    frames = render_video(appear)
    blue = [np.abs(_mean_color_near(f, "left") - COLORS["blue"]).max() < 30 for f in frames]
    assert not blue[0] and blue[-1]
    change = VideoScene(SceneObject("red", "square", "large", "top"), "change", None, "green", n_frames=12, seed=None)
    frames = render_video(change)
    assert np.abs(_mean_color_near(frames[0], "top") - COLORS["red"]).max() < 5
    assert np.abs(_mean_color_near(frames[-1], "top") - COLORS["green"]).max() < 5


def test_captions_name_the_scene():
    scene = ImageScene(
        (SceneObject("red", "circle", "large", "left"), SceneObject("orange", "cross", "small", "top")),
        "gray",
        seed=None,
    )
    assert short_caption(scene) == "a red circle on the left and an orange cross at the top"
    assert detail_sentences(scene) == [
        "A large red circle is on the left.",
        "A small orange cross is at the top.",
        "There are two shapes.",
        "The background is gray.",
    ]
    assert long_caption(scene, 2) == "A large red circle is on the left. A small orange cross is at the top."
    clip = VideoScene(
        SceneObject("blue", "triangle", "small"),
        "move",
        "up",
        distractor=SceneObject("yellow", "square", "small", "left"),
        seed=None,
    )
    assert short_caption(clip) == "a blue triangle moves up"
    assert long_caption(clip) == (
        "A small blue triangle moves up. A small yellow square stays on the left. The background is black."
    )
    assert wrong_caption(clip, "direction") == "a blue triangle moves down"


def _words(text: str) -> list[str]:
    """Words, with a position phrase ('at the top', 'on the left') counted as one word."""
    text = re.sub(r"\b(?:on|at|in) the (left|right|top|bottom|center)\b", r"\1", text.lower())
    return re.findall(r"[a-z]+", text)


@pytest.mark.parametrize("kind", ["image", "video"])
def test_wrong_captions_differ_in_exactly_one_attribute(kind):
    vocab = (
        set(COLORS)
        | set(SIZES)
        | set(BACKGROUNDS)
        | {
            "circle",
            "square",
            "triangle",
            "diamond",
            "cross",
            "left",
            "right",
            "top",
            "bottom",
            "center",
            "up",
            "down",
        }
    )
    for seed in SEEDS:
        scene = random_image_scene(seed) if kind == "image" else random_video_scene(seed)
        attributes = ["color", "shape", "size", "background"]
        attributes += (
            ["position"]
            if kind == "image"
            else {"move": ["direction"], "appear": ["position"], "change": ["new_color", "position"]}[scene.event]
        )
        true = _words(long_caption(scene))
        for attribute in attributes:
            wrong = _words(wrong_caption(scene, attribute, long=True, seed=seed))
            assert len(wrong) == len(true)
            diff = [(a, b) for a, b in zip(true, wrong, strict=True) if a != b and a != "a" and a != "an"]
            assert len(diff) == 1 and diff[0][0] in vocab and diff[0][1] in vocab, (seed, attribute, diff)
            assert corrupt(scene, attribute, seed=seed) != scene


def test_wrong_detail_contradicts_the_scene():
    for seed in SEEDS:
        for scene in (random_image_scene(seed), random_video_scene(seed)):
            sentences = detail_sentences(scene)
            for index in range(len(sentences)):
                wrong = wrong_detail(scene, index, seed=seed)
                assert wrong not in sentences, (seed, index, wrong)


def test_bad_scene_values_are_rejected():
    with pytest.raises(ConfigError, match="unknown color 'pink'"):
        SceneObject("pink", "circle")
    with pytest.raises(ConfigError, match="distinct positions"):
        ImageScene((SceneObject("red", "circle", position="left"), SceneObject("blue", "square", position="left")))
    with pytest.raises(ConfigError, match="direction"):
        VideoScene(SceneObject("red", "circle"), "move", "sideways")
    with pytest.raises(ConfigError, match="short captions do not mention"):
        wrong_caption(random_image_scene(0), "size")


def test_written_video_decodes_to_the_rendered_frames(tmp_path):
    av = pytest.importorskip("av")
    scene = random_video_scene(3_000_100, events=("move",))
    path = write_scene_video(scene, tmp_path / "clip.mp4")
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    rendered = render_video(scene)
    assert len(decoded) == scene.n_frames
    # lossy codec: close on average, not bit-exact
    assert np.mean([np.abs(d.astype(int) - r.astype(int)).mean() for d, r in zip(decoded, rendered, strict=True)]) < 6
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_actor_center_is_where_the_actor_is_drawn():
    """The training script's actor patch: the pixel at ``actor_center`` shows the actor's colour."""
    from mmscore.toyworld.render import actor_center

    for seed in SEEDS:
        scene = random_video_scene(seed, events=("move", "change"))
        frames = render_video(scene)
        for index in (0, len(frames) // 2 + 1, len(frames) - 1):
            x, y = actor_center(scene, index)
            size = frames[index].shape[0]
            rgb = frames[index][int(y * size), int(x * size)].astype(int)
            color = scene.actor.color if scene.event == "move" or index < len(frames) / 2 else scene.new_color
            assert _nearest_name(rgb, {**COLORS, **BACKGROUNDS}) == color, (seed, index, rgb)


def test_a_moving_shape_stays_on_the_side_it_moves_to():
    """EMScore pools frames without order: the direction must show in the set of frames, so a clip
    moving right never shows its shape left of the centre (and likewise for each direction)."""
    from mmscore.toyworld.render import actor_center

    for direction in ("left", "right", "up", "down"):
        scene = VideoScene(SceneObject("red", "square", "large"), "move", direction, n_frames=12, seed=7)
        for index in range(scene.n_frames):
            x, y = actor_center(scene, index)
            along = {"right": x - 0.5, "left": 0.5 - x, "down": y - 0.5, "up": 0.5 - y}[direction]
            assert -0.02 <= along <= 0.36, (direction, index, x, y)
        start, end = actor_center(scene, 0), actor_center(scene, scene.n_frames - 1)
        assert max(abs(start[0] - 0.5), abs(start[1] - 0.5)) <= 0.02  # starts at the centre
        assert max(abs(end[0] - 0.5), abs(end[1] - 0.5)) >= 0.3  # ends near the edge it heads for
