"""SPECS-layout training/evaluation rows from toy-world scenes: chunk chains whose details are the
scene's detail sentences, and wrong-detail negatives (the next sentence with one attribute wrong).

Same columns as ``mmscore train prepare`` writes (``image``, ``caption``, ``captions``,
``neg_captions``), with the rendered picture as a uint8 array, so the training engine and the
evaluation suite take toy-world rows and real rows alike.
"""

from __future__ import annotations

from typing import Any

from mmscore.toyworld.captions import detail_sentences, long_caption, wrong_detail, wrong_detail_kind
from mmscore.toyworld.render import render_image
from mmscore.toyworld.scenes import ImageScene, VideoScene, random_image_scene


def specs_chain(scene: ImageScene | VideoScene, seed: int = 0) -> dict[str, Any]:
    """captions[k] = the first k+1 detail sentences; neg_captions[k] = captions[k] + a wrong version
    of sentence k+1 (the true continuation is captions[k+1]); neg_kinds[k] = what that version
    gets wrong (for breakdowns; training and scoring ignore it)."""
    n = len(detail_sentences(scene))
    captions = [long_caption(scene, k) for k in range(1, n + 1)]
    negatives = [f"{captions[k]} {wrong_detail(scene, k + 1, seed=seed)}" for k in range(n - 1)]
    kinds = [wrong_detail_kind(scene, k + 1, seed=seed) for k in range(n - 1)]
    return {"caption": captions[-1], "captions": captions, "neg_captions": negatives, "neg_kinds": kinds}


def chain_rows(seeds: range | list[int], image_size: int = 96, min_objects: int = 1,
               shape_scale: float = 1.0) -> list[dict[str, Any]]:
    """One row per still scene of ``seeds`` (rendered picture + its chain); scenes with fewer than
    ``min_objects`` shapes are skipped (they have the shortest chains). ``shape_scale``: see
    :func:`~mmscore.toyworld.render.render_image`."""
    rows = []
    for seed in seeds:
        scene = random_image_scene(seed, image_size)
        if len(scene.objects) < min_objects:
            continue
        rows.append({"image": render_image(scene, shape_scale), **specs_chain(scene, seed=seed), "seed": seed})
    return rows
