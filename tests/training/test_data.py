"""Training rows: errors name the row and field; seeded per-row choices; rank shards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmscore.errors import InputError
from mmscore.training.data import first_sentence, rank_indices, read_rows
from mmscore.training.recipes import SpecsRecipe


def test_read_rows_names_the_row_and_field(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"image": "a.png", "caption": "x", "captions": ["a", "a b"], "neg_captions": ["a c"]})
                    + "\n" + json.dumps({"image": "b.png", "caption": "y", "captions": ["a", "a b"]}) + "\n")
    with pytest.raises(InputError, match="row 1.*'neg_captions'"):
        read_rows(path, SpecsRecipe.columns, SpecsRecipe.list_columns)


def test_specs_rows_need_a_negative_per_step_and_short_chains_are_skipped():
    recipe = SpecsRecipe()
    assert recipe.check_row({"captions": ["a", "a b"], "neg_captions": ["a c"]}, 0)
    assert not recipe.check_row({"captions": ["a"], "neg_captions": []}, 1)
    with pytest.raises(InputError, match="row 2: 3 captions need 2 neg_captions, found 1"):
        recipe.check_row({"captions": ["a", "a b", "a b c"], "neg_captions": ["a x"]}, 2)


def test_specs_pick_is_seeded_per_row_and_reaches_every_chain_step():
    recipe = SpecsRecipe()
    row = {"caption": "full", "captions": ["a", "a b", "a b c", "a b c d"], "neg_captions": ["a x", "a b y", "a b c z"]}
    picks = [recipe.pick(row, np.random.default_rng([0, epoch, 5])) for epoch in range(40)]
    assert picks[3] == recipe.pick(row, np.random.default_rng([0, 3, 5]))
    steps = {tuple(p) for p in picks}
    assert steps == {("full", "a", "a b", "a x"), ("full", "a b", "a b c", "a b y"),
                     ("full", "a b c", "a b c d", "a b c z")}


def test_rank_shards_are_disjoint_and_cover_the_epoch():
    shards = [rank_indices(10, epoch=1, seed=0, rank=r, world=2) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 5 and sorted(shards[0] + shards[1]) == list(range(10))
    assert rank_indices(10, 2, 0, 0, 2) != shards[0]  # a new order each epoch


def test_first_sentence_is_long_clips_short_caption():
    # newlines become spaces first, then the text before the first ". "
    assert first_sentence("A dog runs.\nIt is brown. It barks.") == "A dog runs"
    assert first_sentence("A dog runs on grass") == "A dog runs on grass"
