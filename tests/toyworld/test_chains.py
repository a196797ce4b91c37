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
