"""Toy-world SPECS chains: growing true prefixes, negatives = prefix + the next sentence made wrong."""

from __future__ import annotations

from mmscore.toyworld import chain_rows, detail_sentences, random_image_scene, specs_chain, wrong_detail


def test_chain_layout_and_wrong_details():
    scene = random_image_scene(7)
    sentences = detail_sentences(scene)
    row = specs_chain(scene, seed=3)
    assert row["captions"] == [" ".join(sentences[: k + 1]) for k in range(len(sentences))]
    assert row["caption"] == row["captions"][-1]
    assert len(row["neg_captions"]) == len(sentences) - 1
    for k, negative in enumerate(row["neg_captions"]):
        assert negative == f"{row['captions'][k]} {wrong_detail(scene, k + 1, seed=3)}"
        assert negative != row["captions"][k + 1]  # the continuation is wrong, not the true one


def test_chain_rows_render_pictures_and_filter_by_shape_count():
    rows = chain_rows(range(20), image_size=32, min_objects=2)
    assert rows and all(r["image"].shape == (32, 32, 3) for r in rows)
    assert all(len(r["captions"]) >= 4 for r in rows)  # 2+ shapes, the count and the background
    assert len(rows) < 20


def test_wrong_detail_kind_names_the_words_that_changed():
    from mmscore.toyworld import COLORS, POSITIONS, SHAPES, SIZES, random_video_scene, wrong_detail_kind
    from mmscore.toyworld.captions import place

    vocab = {"color": set(COLORS), "shape": set(SHAPES), "size": set(SIZES),
             "position": {w for p in POSITIONS for w in place(p).split()}}
    seen = set()
    for seed in range(60):
        for scene in (random_image_scene(seed), random_video_scene(seed)):
            true = detail_sentences(scene)
            for index in range(len(true)):
                kind = wrong_detail_kind(scene, index, seed=seed)
                wrong = wrong_detail(scene, index, seed=seed)
                changed = set(true[index].rstrip(".").split()) ^ set(wrong.rstrip(".").split())
                seen.add(kind)
                if kind == "background":
                    assert wrong.startswith("The background is ") and changed
                elif kind == "count":
                    assert wrong.startswith("There ") and changed
                elif kind in vocab:
                    assert changed and changed <= vocab[kind], (kind, true[index], wrong)
    assert {"background", "count", "color", "shape", "size", "position"} <= seen
    row = specs_chain(random_image_scene(7), seed=3)
    assert len(row["neg_kinds"]) == len(row["neg_captions"])


def test_shape_scale_draws_shapes_larger_and_refuses_overlap():
    import numpy as np
    import pytest

    from mmscore.errors import ConfigError
    from mmscore.toyworld import BACKGROUNDS, render_image

    scene = next(s for s in map(random_image_scene, range(100)) if len(s.objects) == 2)
    background = np.array(BACKGROUNDS[scene.background])

    def painted(picture: np.ndarray) -> int:
        return int((np.abs(picture.astype(int) - background).sum(-1) > 30).sum())

    plain, larger = painted(render_image(scene)), painted(render_image(scene, shape_scale=1.3))
    assert 1.3**2 * 0.85 < larger / plain < 1.3**2 * 1.15  # area grows with the square of the scale
    with pytest.raises(ConfigError, match="overlap"):
        render_image(scene, shape_scale=1.6)
    lone = next(s for s in map(random_image_scene, range(100)) if len(s.objects) == 1)
    assert render_image(lone, shape_scale=2.0).shape == render_image(lone).shape
