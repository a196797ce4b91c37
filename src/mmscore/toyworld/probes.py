"""Caption-ranking probes: clips written to disk with their true caption and one-attribute-wrong twins.

Why: the semantic tests and the demo model's model card measure the same thing (does a video
metric rank the true caption of a clip above a caption that is wrong in exactly one word?), on
different seed ranges. This builds that table once, in the column layout of
:class:`mmscore.operators.emscore.EMScoreEval` (``video_path``, ``candidate``), so both go through
the real operator.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmscore.toyworld.captions import short_caption, wrong_caption
from mmscore.toyworld.render import write_scene_video
from mmscore.toyworld.scenes import COLORS, SHAPES, VideoScene, random_video_scene

# how many *distinct* wrong twins per attribute: every other value (5 colours, 4 shapes; fewer when
# a second shape of the clip rules a value out) and the opposite direction. Why every one: two
# twins drawn at random repeated the same wrong word in about a quarter of the clips, so that
# word counted twice and the others not at all.
PROBE_ATTRIBUTES: dict[str, int] = {"color": len(COLORS) - 1, "shape": len(SHAPES) - 1, "direction": 1}
_TWIN_DRAWS = 64  # seeds tried per attribute to collect its distinct twins (deterministic)


def probe_clips(seed_start: int, n_move: int = 12, n_appear: int = 3, n_change: int = 3) -> list[VideoScene]:
    """A fixed set of clips: moving shapes from ``seed_start``, appearing from +100, changing from +200."""
    moving = [random_video_scene(seed_start + i, events=("move",)) for i in range(n_move)]
    appear = [random_video_scene(seed_start + 100 + i, events=("appear",)) for i in range(n_appear)]
    change = [random_video_scene(seed_start + 200 + i, events=("change",)) for i in range(n_change)]
    return moving + appear + change


def probe_rows(
    clips: list[VideoScene],
    folder: str | os.PathLike[str],
    attributes: dict[str, int] = PROBE_ATTRIBUTES,
) -> list[dict]:
    """Write each clip to ``folder`` and return rows: its true caption (``kind`` "true") and, per
    attribute the clip has, up to that many distinct wrong twins (``kind`` = the attribute)."""
    rows = []
    for number, clip in enumerate(clips):
        path = write_scene_video(clip, Path(folder) / f"clip{number}.mp4")
        rows.append({"video_path": str(path), "candidate": short_caption(clip), "clip": number, "kind": "true"})
        for attribute, count in attributes.items():
            if attribute == "direction" and clip.event != "move":
                continue
            for twin in distinct_twins(clip, attribute, count):
                rows.append({"video_path": str(path), "candidate": twin, "clip": number, "kind": attribute})
    return rows


def distinct_twins(clip: VideoScene, attribute: str, count: int) -> list[str]:
    """Up to ``count`` different one-word-wrong captions of ``clip``, in the order twin seeds 0, 1, ...
    first give them (the same list on every run)."""
    twins: list[str] = []
    for seed in range(_TWIN_DRAWS):
        twin = wrong_caption(clip, attribute, seed=seed)
        if twin not in twins:
            twins.append(twin)
        if len(twins) == count:
            break
    return twins
