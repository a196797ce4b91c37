"""The toy world's vocabulary and its scene descriptions (pure data, no pixels).

A scene is a small frozen dataclass, so the same scene can be rendered, captioned, corrupted
in exactly one attribute and stored in a table (``to_dict``). Every random choice goes through a
``numpy.random.Generator`` seeded by the caller: one seed always gives the same scene.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from mmscore.errors import ConfigError

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 175, 70),
    "blue": (45, 85, 230),
    "yellow": (235, 215, 40),
    "purple": (150, 60, 200),
    "orange": (245, 140, 30),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross")
# centre of each named position, as fractions of the frame (x, y): the cells of a 3x3 grid, so a
# still shape sits inside 2x2 patches of the demo model's ViT (16 px patches on 96 px pictures)
POSITIONS: dict[str, tuple[float, float]] = {
    "left": (1 / 6, 0.5),
    "right": (5 / 6, 0.5),
    "top": (0.5, 1 / 6),
    "bottom": (0.5, 5 / 6),
    "center": (0.5, 0.5),
}
# half-extent of a shape as a fraction of the frame side (a large shape still fits its grid cell)
SIZES: dict[str, float] = {"small": 0.09, "large": 0.14}
DEFAULT_SIZE = 96
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (18, 18, 18),
    "gray": (125, 125, 125),
    "white": (245, 245, 245),
}
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
EVENTS: tuple[str, ...] = ("move", "appear", "change")
OPPOSITE: dict[str, str] = {"left": "right", "right": "left", "up": "down", "down": "up"}

# Scene seeds are split so that nothing evaluated was ever trained on: the shipped demo model is
# trained on seeds below TRAIN_SEED_END, its model card reports accuracy on HELDOUT seeds, and the
# semantic tests and the demo use seeds from TEST_SEED_START / DEMO_SEED_START.
TRAIN_SEED_END = 1_000_000
HELDOUT_SEED_START = 1_000_000
TEST_SEED_START = 2_000_000
DEMO_SEED_START = 4_000_000


@dataclass(frozen=True)
class SceneObject:
    """One coloured shape. ``position`` is where it is (for a moving shape: unused)."""

    color: str
    shape: str
    size: str = "large"
    position: str = "center"

    def __post_init__(self) -> None:
        for value, allowed, name in (
            (self.color, COLORS, "color"),
            (self.shape, SHAPES, "shape"),
            (self.size, SIZES, "size"),
            (self.position, POSITIONS, "position"),
        ):
            if value not in allowed:
                raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


@dataclass(frozen=True)
class ImageScene:
    """A still picture: 1-3 shapes at distinct positions on a plain background."""

    objects: tuple[SceneObject, ...]
    background: str = "black"
    image_size: int = DEFAULT_SIZE
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.objects:
            raise ConfigError("an ImageScene needs at least one object")
        if self.background not in BACKGROUNDS:
            raise ConfigError(f"unknown background {self.background!r}; choose one of {', '.join(BACKGROUNDS)}")
        if len({o.position for o in self.objects}) != len(self.objects):
            raise ConfigError("objects of an ImageScene must be at distinct positions")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VideoScene:
    """A short clip: one *actor* that moves, appears or changes colour, and an optional still
    *distractor* shape that stays put (a detail for long captions)."""

    actor: SceneObject
    event: str = "move"
    direction: str | None = "right"  # for event == "move"
    new_color: str | None = None  # for event == "change"
    distractor: SceneObject | None = None
    background: str = "black"
    n_frames: int = 12
    frame_size: int = DEFAULT_SIZE
    fps: int = 8
    seed: int | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ConfigError(f"unknown event {self.event!r}; choose one of {', '.join(EVENTS)}")
        if self.event == "move" and self.direction not in DIRECTIONS:
            raise ConfigError(f"a moving actor needs a direction in {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.event == "change" and (self.new_color not in COLORS or self.new_color == self.actor.color):
            raise ConfigError(f"a colour change needs a new_color different from {self.actor.color!r}")
        if self.background not in BACKGROUNDS:
            raise ConfigError(f"unknown background {self.background!r}; choose one of {', '.join(BACKGROUNDS)}")
        if self.n_frames < 2 or self.frame_size < 16:
            raise ConfigError("a VideoScene needs n_frames >= 2 and frame_size >= 16")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        return data


def _pick(rng: np.random.Generator, options) -> str:
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _background_for(rng: np.random.Generator) -> str:
    # black is the most common background so that colour words dominate what the model learns
    return ("black", "black", "gray", "white")[int(rng.integers(4))]


def random_image_scene(seed: int, image_size: int = DEFAULT_SIZE, max_objects: int = 3) -> ImageScene:
    """A random still scene; distinct positions and distinct (colour, shape) pairs."""
    rng = np.random.default_rng(seed)
    count = 1 + int(rng.integers(max_objects))
    positions = [str(p) for p in rng.permutation(list(POSITIONS))[:count]]
    objects: list[SceneObject] = []
    used: set[tuple[str, str]] = set()
    for position in positions:
        while True:
            color, shape = _pick(rng, COLORS), _pick(rng, SHAPES)
            if (color, shape) not in used:
                break
        used.add((color, shape))
        # several shapes in one small frame: keep the extra ones small so they do not overlap
        size = _pick(rng, SIZES) if count == 1 or position != "center" else "small"
        objects.append(SceneObject(color, shape, size, position))
    return ImageScene(tuple(objects), _background_for(rng), image_size, seed)


def random_video_scene(
    seed: int,
    frame_size: int = DEFAULT_SIZE,
    n_frames: int = 12,
    events: tuple[str, ...] = EVENTS,
    distractor_probability: float = 0.5,
) -> VideoScene:
    """A random clip; the distractor never sits on the actor's path."""
    rng = np.random.default_rng(seed)
    event = _pick(rng, events)
    color, shape, size = _pick(rng, COLORS), _pick(rng, SHAPES), _pick(rng, SIZES)
    direction = new_color = None
    if event == "move":
        direction = _pick(rng, DIRECTIONS)
        position = "center"
        free = ["top", "bottom"] if direction in ("left", "right") else ["left", "right"]
    else:
        position = _pick(rng, POSITIONS)
        free = [p for p in POSITIONS if p != position and p != "center"]
        if event == "change":
            new_color = _pick(rng, [c for c in COLORS if c != color])
    actor = SceneObject(color, shape, size, position)
    distractor = None
    if rng.random() < distractor_probability:
        while True:
            d_color, d_shape = _pick(rng, COLORS), _pick(rng, SHAPES)
            if (d_color, d_shape) != (color, shape) and d_color != new_color:
                break
        distractor = SceneObject(d_color, d_shape, "small", _pick(rng, free))
    return VideoScene(
        actor, event, direction, new_color, distractor, _background_for(rng), n_frames, frame_size, 8, seed
    )
