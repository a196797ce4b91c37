"""Captions generated from toy-world scenes: short, long (several detail sentences) and wrong.

A *wrong* caption is the caption of a scene that differs in exactly one attribute
(:func:`corrupt`), so it differs from the true caption in exactly one word or phrase. That is
what the semantic tests need: a failure can only come from that one attribute.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mmscore.errors import ConfigError
from mmscore.toyworld.scenes import (
    BACKGROUNDS,
    COLORS,
    OPPOSITE,
    POSITIONS,
    SHAPES,
    SIZES,
    ImageScene,
    SceneObject,
    VideoScene,
)

Scene = ImageScene | VideoScene
IMAGE_ATTRIBUTES = ("color", "shape", "position", "size", "background")
VIDEO_ATTRIBUTES = ("color", "shape", "direction", "position", "new_color", "size", "background")
_PLACE = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "center": "in the center",
}
_NUMBERS = ("zero", "one", "two", "three", "four", "five")


def place(position: str) -> str:
    """'left' -> 'on the left'."""
    return _PLACE[position]


def noun(obj: SceneObject, size: bool = False, color: str | None = None) -> str:
    """'a red circle' (or 'a large red circle' with ``size``)."""
    words = [obj.size] if size else []
    words += [color or obj.color, obj.shape]
    return ("an " if words[0][0] in "aeiou" else "a ") + " ".join(words)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _count_sentence(count: int) -> str:
    return f"There is {_NUMBERS[count]} shape." if count == 1 else f"There are {_NUMBERS[count]} shapes."


def _actor_clause(scene: VideoScene, size: bool) -> str:
    actor = scene.actor
    if scene.event == "move":
        return f"{noun(actor, size)} moves {scene.direction}"
    if scene.event == "appear":
        return f"{noun(actor, size)} appears {place(actor.position)}"
    return f"{noun(actor, size)} {place(actor.position)} turns {scene.new_color}"


def short_caption(scene: Scene) -> str:
    """One lower-case phrase naming colour, shape and position or action of every shape."""
    if isinstance(scene, VideoScene):
        return _actor_clause(scene, size=False)
    parts = [f"{noun(o)} {place(o.position)}" for o in scene.objects]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def detail_sentences(scene: Scene) -> list[str]:
    """The scene as a list of true sentences, most important first (cumulative long captions)."""
    if isinstance(scene, VideoScene):
        sentences = [_sentence(_actor_clause(scene, size=True))]
        if scene.distractor is not None:
            d = scene.distractor
            sentences.append(_sentence(f"{noun(d, size=True)} stays {place(d.position)}"))
        sentences.append(f"The background is {scene.background}.")
        return sentences
    sentences = [_sentence(f"{noun(o, size=True)} is {place(o.position)}") for o in scene.objects]
    sentences.append(_count_sentence(len(scene.objects)))
    sentences.append(f"The background is {scene.background}.")
    return sentences


def long_caption(scene: Scene, n_sentences: int | None = None) -> str:
    """The first ``n_sentences`` detail sentences joined (all of them by default)."""
    sentences = detail_sentences(scene)
    return " ".join(sentences if n_sentences is None else sentences[:n_sentences])


def _other(rng: np.random.Generator, options, exclude) -> str:
    choices = [o for o in options if o not in set(exclude)]
    if not choices:
        raise ConfigError("no alternative value left to corrupt this attribute")
    return choices[int(rng.integers(len(choices)))]


def corrupt(scene: Scene, attribute: str, target: int = 0, seed: int = 0) -> Scene:
    """The same scene with exactly one attribute changed.

    ``target`` picks the object of an image (index) or, for a video, 0 = actor, 1 = distractor.
    ``direction`` flips a moving actor to the opposite direction (the hardest case for a model
    that only sees where the shape is).
    """
    rng = np.random.default_rng(
        [seed, target, (IMAGE_ATTRIBUTES + VIDEO_ATTRIBUTES).index(attribute)]
        if attribute in IMAGE_ATTRIBUTES + VIDEO_ATTRIBUTES
        else seed
    )
    if attribute == "background":
        return replace(scene, background=_other(rng, BACKGROUNDS, [scene.background]))
    if isinstance(scene, ImageScene):
        if attribute not in IMAGE_ATTRIBUTES:
            raise ConfigError(f"cannot corrupt {attribute!r} of an image scene; choose one of {IMAGE_ATTRIBUTES}")
        objects = list(scene.objects)
        obj = objects[target]
        pairs = {(o.color, o.shape) for o in objects}
        if attribute == "position":
            new = replace(obj, position=_other(rng, POSITIONS, [o.position for o in objects]))
        elif attribute == "color":
            new = replace(obj, color=_other(rng, COLORS, [c for c in COLORS if (c, obj.shape) in pairs]))
        elif attribute == "shape":
            new = replace(obj, shape=_other(rng, SHAPES, [s for s in SHAPES if (obj.color, s) in pairs]))
        else:
            new = replace(obj, size=_other(rng, SIZES, [obj.size]))
        objects[target] = new
        return replace(scene, objects=tuple(objects))
    if attribute not in VIDEO_ATTRIBUTES:
        raise ConfigError(f"cannot corrupt {attribute!r} of a video scene; choose one of {VIDEO_ATTRIBUTES}")
    if attribute == "direction":
        if scene.event != "move":
            raise ConfigError(f"a {scene.event!r} clip has no direction to corrupt")
        return replace(scene, direction=OPPOSITE[scene.direction])
    if attribute == "new_color":
        if scene.event != "change":
            raise ConfigError(f"a {scene.event!r} clip has no new colour to corrupt")
        return replace(scene, new_color=_other(rng, COLORS, [scene.actor.color, scene.new_color]))
    field = "distractor" if target == 1 else "actor"
    obj = getattr(scene, field)
    if obj is None:
        raise ConfigError("this clip has no distractor shape to corrupt")
    if attribute == "position":
        if field == "actor" and scene.event == "move":
            raise ConfigError("a moving actor has no fixed position to corrupt")
        taken = [obj.position, "center"]
        other = scene.actor if field == "distractor" else scene.distractor
        if other is not None and not (field == "distractor" and scene.event == "move"):
            taken.append(other.position)
        if field == "distractor" and scene.event == "move":  # stay off the actor's path
            taken += ["left", "right"] if scene.direction in ("left", "right") else ["top", "bottom"]
        new = replace(obj, position=_other(rng, POSITIONS, taken))
    elif attribute == "color":
        new = replace(obj, color=_other(rng, COLORS, [obj.color, scene.new_color or obj.color]))
    elif attribute == "shape":
        new = replace(obj, shape=_other(rng, SHAPES, [obj.shape]))
    else:
        new = replace(obj, size=_other(rng, SIZES, [obj.size]))
    return replace(scene, **{field: new})


def wrong_caption(scene: Scene, attribute: str, long: bool = False, target: int = 0, seed: int = 0) -> str:
    """The caption of :func:`corrupt` (scene, attribute): wrong in exactly that one attribute.

    Short captions do not mention size or background, so those need ``long=True``.
    """
    if not long and attribute in ("size", "background"):
        raise ConfigError(f"short captions do not mention {attribute!r}; use long=True")
    wrong = corrupt(scene, attribute, target=target, seed=seed)
    return long_caption(wrong) if long else short_caption(wrong)


def wrong_detail_kind(scene: Scene, index: int, seed: int = 0) -> str:
    """What :func:`wrong_detail` changes in sentence ``index``: ``"background"``, ``"count"`` or the
    corrupted attribute (``"color"``, ``"shape"``, ...), so results can be broken down by it."""
    sentences = detail_sentences(scene)
    if not 0 <= index < len(sentences):
        raise ConfigError(f"detail index {index} out of range: the scene has {len(sentences)} sentences")
    if index == len(sentences) - 1:
        return "background"
    rng = np.random.default_rng([seed, index])
    if isinstance(scene, ImageScene):
        if index == len(scene.objects):
            return "count"
        return ("color", "shape", "position", "size")[int(rng.integers(4))]
    if index == 0:
        options = ["color", "shape", "size"] + {
            "move": ["direction"],
            "appear": ["position"],
            "change": ["new_color", "position"],
        }[scene.event]
        return options[int(rng.integers(len(options)))]
    return ("color", "shape", "position")[int(rng.integers(3))]


def wrong_detail(scene: Scene, index: int, seed: int = 0) -> str:
    """A false version of detail sentence ``index`` (same kind of sentence, one attribute wrong).

    This is the SPECS-style negative: ``long_caption(scene, index) + " " + wrong_detail(scene, index)``
    should score below the correct prefix ``long_caption(scene, index)``.
    """
    kind = wrong_detail_kind(scene, index, seed)
    rng = np.random.default_rng([seed, index])
    if kind == "background":
        return f"The background is {_other(rng, BACKGROUNDS, [scene.background])}."
    if kind == "count":
        assert isinstance(scene, ImageScene)
        return _count_sentence(int(_other(rng, ("1", "2", "3"), [str(len(scene.objects))])))
    target = index if isinstance(scene, ImageScene) else min(index, 1)
    return detail_sentences(corrupt(scene, kind, target=target, seed=seed))[index]
