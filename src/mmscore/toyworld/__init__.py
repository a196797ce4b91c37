"""A tiny synthetic world of coloured shapes, for the shipped demo model and semantic tests.

Still scenes put 1-3 shapes (circle, square, triangle, diamond, cross in six colours) at named
positions; clips show one shape moving left/right/up/down, appearing or changing colour. Every
scene comes with true captions (short, and long with several detail sentences) and *wrong*
captions that differ in exactly one attribute. Everything is deterministic for a seed.

    >>> from mmscore.toyworld import random_video_scene, short_caption, wrong_caption
    >>> clip = random_video_scene(seed=7, events=("move",))
    >>> short_caption(clip) != wrong_caption(clip, "direction")
    True
"""

from mmscore.toyworld.captions import (
    IMAGE_ATTRIBUTES,
    VIDEO_ATTRIBUTES,
    corrupt,
    detail_sentences,
    long_caption,
    short_caption,
    wrong_caption,
    wrong_detail,
    wrong_detail_kind,
)
from mmscore.toyworld.chains import chain_rows, specs_chain
from mmscore.toyworld.probes import PROBE_ATTRIBUTES, probe_clips, probe_rows
from mmscore.toyworld.render import actor_center, render_image, render_video, save_image, write_scene_video
from mmscore.toyworld.scenes import (
    BACKGROUNDS,
    COLORS,
    DEMO_SEED_START,
    DIRECTIONS,
    EVENTS,
    HELDOUT_SEED_START,
    POSITIONS,
    SHAPES,
    SIZES,
    TEST_SEED_START,
    TRAIN_SEED_END,
    ImageScene,
    SceneObject,
    VideoScene,
    random_image_scene,
    random_video_scene,
)

__all__ = [
    "BACKGROUNDS",
    "COLORS",
    "DEMO_SEED_START",
    "DIRECTIONS",
    "HELDOUT_SEED_START",
    "TEST_SEED_START",
    "TRAIN_SEED_END",
    "EVENTS",
    "IMAGE_ATTRIBUTES",
    "POSITIONS",
    "PROBE_ATTRIBUTES",
    "SHAPES",
    "SIZES",
    "VIDEO_ATTRIBUTES",
    "ImageScene",
    "SceneObject",
    "VideoScene",
    "actor_center",
    "chain_rows",
    "corrupt",
    "detail_sentences",
    "long_caption",
    "probe_clips",
    "probe_rows",
    "random_image_scene",
    "random_video_scene",
    "render_image",
    "render_video",
    "save_image",
    "short_caption",
    "specs_chain",
    "write_scene_video",
    "wrong_caption",
    "wrong_detail",
    "wrong_detail_kind",
]
