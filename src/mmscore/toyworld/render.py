"""Pixels for toy-world scenes: PIL drawing at 3x resolution, then a box downsample (anti-aliased).

Moving shapes leave a fading motion trail (like motion blur in a real camera) and move from the
centre towards the edge they head for, so every single frame shows which way the shape travels.
That matters: EMScore pools frames without regard to their order, so a left-moving and a
right-moving clip crossing the whole frame would give the same frame set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mmscore.errors import ConfigError
from mmscore.toyworld.scenes import BACKGROUNDS, COLORS, POSITIONS, SIZES, ImageScene, SceneObject, VideoScene

SUPERSAMPLE = 3
TRAIL_ALPHAS = (0.45, 0.25, 0.12)  # opacity of the ghosts behind a moving shape, nearest first
TRAIL_SPACING = 0.06  # distance between ghosts, as a fraction of the frame
# A moving shape travels from the centre towards the edge it moves to (fractions of the frame), so
# every frame of a right-moving clip shows it in the right half: EMScore pools frames without
# their order, and a shape crossing the whole frame would give left- and right-moving clips the
# same set of frames (the previous demo model told opposite directions apart at chance).
MOVE_SPAN = (0.5, 0.85)


def _jitter(seed: int | None, salt: int, count: int) -> np.ndarray:
    """Small deterministic offsets so that positions and sizes are not pixel-identical across scenes."""
    if seed is None:
        return np.zeros(count)
    return np.random.default_rng([seed, salt]).uniform(-1.0, 1.0, count)


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == "cross":
        t = 0.34 * r
        return [
            (cx - t, cy - r),
            (cx + t, cy - r),
            (cx + t, cy - t),
            (cx + r, cy - t),
            (cx + r, cy + t),
            (cx + t, cy + t),
            (cx + t, cy + r),
            (cx - t, cy + r),
            (cx - t, cy + t),
            (cx - r, cy + t),
            (cx - r, cy - t),
            (cx - t, cy - t),
        ]
    return None


def _draw_shape(
    canvas: Image.Image,
    shape: str,
    center: tuple[float, float],
    radius: float,
    color: tuple[int, int, int],
    alpha: float = 1.0,
) -> None:
    """Alpha-blend one filled shape onto an RGB canvas (coordinates in canvas pixels)."""
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    fill = (*color, int(round(255 * alpha)))
    cx, cy = center
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    elif shape == "square":
        half = 0.85 * radius
        draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=fill)
    else:
        draw.polygon(_polygon(shape, cx, cy, radius), fill=fill)
    canvas.paste(Image.alpha_composite(canvas.convert("RGBA"), layer).convert("RGB"))


class _Canvas:
    """A supersampled frame; coordinates are given as fractions of the frame side."""

    def __init__(self, size: int, background: str) -> None:
        self.size = size
        self.image = Image.new("RGB", (size * SUPERSAMPLE, size * SUPERSAMPLE), BACKGROUNDS[background])

    def shape(
        self,
        obj: SceneObject,
        center: tuple[float, float],
        scale: float = 1.0,
        color: tuple[int, int, int] | None = None,
        alpha: float = 1.0,
    ) -> None:
        side = self.size * SUPERSAMPLE
        radius = SIZES[obj.size] * scale * side
        _draw_shape(
            self.image,
            obj.shape,
            (center[0] * side, center[1] * side),
            radius,
            color if color is not None else COLORS[obj.color],
            alpha,
        )

    def pixels(self) -> np.ndarray:
        small = self.image.resize((self.size, self.size), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.uint8).copy()


def _placed(obj: SceneObject, offsets: np.ndarray) -> tuple[tuple[float, float], float]:
    x, y = POSITIONS[obj.position]
    return (x + 0.02 * offsets[0], y + 0.02 * offsets[1]), 1.0 + 0.08 * offsets[2]


def render_image(scene: ImageScene, shape_scale: float = 1.0) -> np.ndarray:
    """An ``image_size`` x ``image_size`` x 3 uint8 RGB array of the still scene.

    ``shape_scale`` draws every shape that much larger than its named size: a shifted rendering for
    fine-tuning checks, where "small" and "large" must be learned again relative to each other.
    Up to 1.3, shapes in neighbouring places stay apart; a lone shape may go to 2.4.
    """
    limit = 2.4 if len(scene.objects) == 1 else 1.3
    if not 0.5 <= shape_scale <= limit:
        raise ConfigError(f"shape_scale must be within 0.5-{limit} for a scene of {len(scene.objects)} "
                          f"shape(s) (larger shapes overlap their neighbours), got {shape_scale}")
    canvas = _Canvas(scene.image_size, scene.background)
    for index, obj in enumerate(scene.objects):
        center, scale = _placed(obj, _jitter(scene.seed, index, 3))
        canvas.shape(obj, center, scale * shape_scale)
    return canvas.pixels()


def _path_point(direction: str, t: float, lane: float) -> tuple[float, float]:
    start, end = MOVE_SPAN
    along = start + (end - start) * t
    if direction == "right":
        return along, lane
    if direction == "left":
        return 1.0 - along, lane
    if direction == "down":
        return lane, along
    return lane, 1.0 - along


def _trail_offset(direction: str, distance: float) -> tuple[float, float]:
    """Where a ghost sits relative to the shape: behind it, against the direction of motion."""
    return {"right": (-distance, 0.0), "left": (distance, 0.0), "down": (0.0, -distance), "up": (0.0, distance)}[
        direction
    ]


def actor_center(scene: VideoScene, index: int) -> tuple[float, float]:
    """Centre of the clip's actor in frame ``index`` (fractions of the frame): on its path when it
    moves, else at its (jittered) position. Training uses it to know which patch shows the actor."""
    offsets = _jitter(scene.seed, 100, 3)
    if scene.event == "move":
        return _path_point(scene.direction, index / (scene.n_frames - 1), 0.5 + 0.02 * offsets[0])
    return _placed(scene.actor, offsets)[0]


def render_video(scene: VideoScene) -> list[np.ndarray]:
    """The clip's frames (``n_frames`` arrays, ``frame_size`` square, uint8 RGB)."""
    actor_offsets = _jitter(scene.seed, 100, 3)
    distractor_offsets = _jitter(scene.seed, 101, 3)
    frames = []
    n = scene.n_frames
    appear_start, appear_end = n // 3, n // 3 + max(1, n // 4)
    for index in range(n):
        canvas = _Canvas(scene.frame_size, scene.background)
        if scene.distractor is not None:
            center, scale = _placed(scene.distractor, distractor_offsets)
            canvas.shape(scene.distractor, center, scale)
        actor = scene.actor
        center, scale = _placed(actor, actor_offsets)
        if scene.event == "move":
            cx, cy = actor_center(scene, index)
            for ghost, alpha in enumerate(TRAIL_ALPHAS, start=1):
                dx, dy = _trail_offset(scene.direction, ghost * TRAIL_SPACING)
                canvas.shape(actor, (cx + dx, cy + dy), scale, alpha=alpha)
            canvas.shape(actor, (cx, cy), scale)
        elif scene.event == "appear":
            if index >= appear_start:
                alpha = min(1.0, (index - appear_start + 1) / (appear_end - appear_start + 1))
                canvas.shape(actor, center, scale, alpha=alpha)
        else:  # change: first colour, a one-frame blend in the middle, then the new colour
            old, new = np.array(COLORS[actor.color], float), np.array(COLORS[scene.new_color], float)
            mix = float(np.clip((index - (n - 1) / 2) + 0.5, 0.0, 1.0))
            color = tuple(int(round(v)) for v in (1 - mix) * old + mix * new)
            canvas.shape(actor, center, scale, color=color)
        frames.append(canvas.pixels())
    return frames


def save_image(scene: ImageScene, path: str | os.PathLike[str]) -> Path:
    """Write the still scene as PNG/JPEG (format from the extension), atomically."""
    from mmscore.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(render_image(scene)).save(tmp, format=Image.registered_extensions()[path.suffix.lower()])
    return path


def write_scene_video(scene: VideoScene, path: str | os.PathLike[str], codec: str = "mpeg4") -> Path:
    """Encode the clip with :func:`mmscore.fixtures.media.write_video`, atomically.

    The encoder picks the container from the file extension, so the temporary file keeps the
    real name inside a temporary folder next to the target.
    """
    from mmscore.fixtures.media import write_video

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write_video(folder / path.name, render_video(scene), fps=scene.fps, codec=codec)
        os.replace(folder / path.name, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return path
