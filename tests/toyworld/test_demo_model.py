"""Semantic end-to-end tests on the shipped demo model (``mmscore-demo``).

Scores must *mean* something here: on toy-world scenes never used in training (seeds from
``TEST_SEED_START``), EMScore(X,V) prefers the true caption of a clip over its twins with a wrong
colour, a wrong shape or the opposite direction, and the Long-CLIP/SPECS score of a long caption
rises with a correct extra detail and falls with a wrong one. The issue's goal, 0.9, is the floor
for each (MODEL_CARD.md has what the shipped model measures on this set: wrong shape 66/72, wrong
extra sentence 49/53; each win there is by at least 0.01 in EMScore and 0.0015 in the SPECS score,
far above float32 noise, so the counts do not move between machines).
"""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest
import torch

from mmscore.toyworld import (
    COLORS,
    SHAPES,
    TEST_SEED_START,
    detail_sentences,
    long_caption,
    random_image_scene,
    render_image,
    short_caption,
    wrong_caption,
    wrong_detail,
)
from mmscore.toyworld.probes import probe_clips, probe_rows
from mmscore.toyworld.scenes import OPPOSITE

pytestmark = pytest.mark.slow

XV = "EMScore(X,V)"
# the goal: the share of wrong twins the true caption must beat, per wrong attribute
EMSCORE_MIN = {"color": 0.9, "shape": 0.9, "direction": 0.9}
# the share of long-caption steps where the SPECS property must hold (MODEL_CARD.md: 52/53 and 49/53)
RISE_MIN = 0.9
FALL_MIN = 0.9


@pytest.fixture(scope="module")
def encoder():
    from mmscore.models.clip import load_clip

    return load_clip("mmscore-demo", device="cpu")


def test_shipped_weights_have_the_long_clip_layout(encoder):
    from mmscore.models.hub import demo_checkpoint_path

    state = torch.load(demo_checkpoint_path(), map_location="cpu", weights_only=True)
    assert state["positional_embedding"].shape == state["positional_embedding_res"].shape
    assert state["positional_embedding"].shape[0] == 248 == encoder.context_length
    assert state["token_embedding.weight"].shape[0] == 49408
    assert "text_projection" in state and "visual.proj" in state and "logit_scale" in state
    assert encoder.image_size == 96


@pytest.fixture(scope="module")
def emscored(tmp_path_factory) -> pd.DataFrame:
    """A fixed set of unseen clips (12 moving, 3 appearing, 3 changing colour), each with its true
    caption and every one-word-wrong twin (the other colours, the 4 other shapes and, for moving
    clips, the opposite direction), scored by the EMScoreEval DataFlow operator on every frame,
    idf over the table."""
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table, write_table
    from mmscore.operators.emscore import EMScoreEval

    folder = tmp_path_factory.mktemp("emscore")
    rows = probe_rows(probe_clips(TEST_SEED_START, n_move=12, n_appear=3, n_change=3), folder / "videos")
    entry = write_table(pd.DataFrame(rows), folder / "captions.jsonl")
    storage = FileStorage(str(entry), cache_path=str(folder / "cache"), file_name_prefix="em")
    operator = EMScoreEval(every_n_frames=1, clip_model_path="mmscore-demo", score_types=[XV])
    operator.configure(cache_dir=False, device="cpu").run(storage.step())
    scored = read_table(folder / "cache" / "em_step1.jsonl")
    assert scored["emscore_error"].isna().all()
    return scored


def test_probe_table_holds_every_distinct_one_word_twin(emscored):
    """Each clip's twins are all the other values of the attribute, each once: a colour other than
    the actor's (and a changing clip's new colour), each of the 4 other shapes, the opposite direction."""
    clips = probe_clips(TEST_SEED_START, n_move=12, n_appear=3, n_change=3)
    truth = emscored[emscored["kind"] == "true"].set_index("clip")["candidate"]
    articles = {"a", "an"}  # "a red ..." -> "an orange ...": the article follows the word
    for number, clip in enumerate(clips):
        expected = {
            "color": set(COLORS) - {clip.actor.color, clip.new_color or clip.actor.color},
            "shape": set(SHAPES) - {clip.actor.shape},
            "direction": {OPPOSITE[clip.direction]} if clip.event == "move" else set(),
        }
        true_words = [w for w in truth[number].split() if w not in articles]
        for kind, values in expected.items():
            twins = emscored[(emscored["clip"] == number) & (emscored["kind"] == kind)]["candidate"].tolist()
            changed = []
            for twin in twins:
                wrong_words = [w for w in twin.split() if w not in articles]
                assert len(wrong_words) == len(true_words)
                changed += [b for a, b in zip(true_words, wrong_words, strict=True) if a != b]
            assert len(changed) == len(twins), f"clip {number} {kind}: a twin changes more than one word"
            assert sorted(changed) == sorted(values), f"clip {number} {kind}: {twins}"


def test_emscore_global_part_is_the_cosine_to_the_mean_frame(emscored, encoder):
    """Independent check of the operator path: decode a clip with PyAV, embed every frame, compare cogr."""
    row = emscored[emscored["kind"] == "true"].iloc[0]
    with av.open(row["video_path"]) as container:
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    video = torch.nn.functional.normalize(encoder.encode_images(frames).double().mean(0), dim=0)
    text = encoder.encode_texts([row["candidate"]])[0].double()
    assert float(text @ video) == pytest.approx(row[f"{XV}_cogr"], abs=1e-4)


@pytest.mark.parametrize("attribute", ["color", "shape", "direction"])
def test_emscore_ranks_the_true_caption_above_a_one_word_wrong_twin(emscored, attribute):
    column = f"{XV}_full_F"
    true_scores = emscored[emscored["kind"] == "true"].set_index("clip")[column]
    wrong = emscored[emscored["kind"] == attribute]
    wins = wrong[column].to_numpy() < true_scores.loc[wrong["clip"]].to_numpy()
    assert wins.mean() >= EMSCORE_MIN[attribute], wrong.loc[~wins, "candidate"].tolist()


def _long_caption_steps(encoder, count: int = 16):
    """SPECS-style: per unseen still, scores of the cumulative true captions and of each true prefix
    extended by one wrong detail sentence."""
    from mmscore.metrics.clip_scores import specs_score

    rises = falls = steps = 0
    for number in range(count):
        scene = random_image_scene(TEST_SEED_START + 300 + number)
        n = len(detail_sentences(scene))
        captions = [long_caption(scene, k) for k in range(1, n + 1)]
        wrong = [captions[k - 1] + " " + wrong_detail(scene, k, seed=number) for k in range(1, n)]
        image = encoder.encode_images(render_image(scene)[None])
        texts = encoder.encode_texts(captions + wrong)
        scores = specs_score(image.expand(len(texts), -1), texts)
        # independent check of the score itself: (cos + 1) / 2 of the normalised embeddings
        assert torch.allclose(scores, ((texts @ image[0]) + 1) / 2, atol=1e-5)
        right, bad = scores[:n], scores[n:]
        rises += int((right[1:] > right[:-1]).sum())
        falls += int((bad < right[:-1]).sum())
        steps += n - 1
    return rises / steps, falls / steps


def test_long_caption_score_rises_with_true_details_and_falls_with_wrong_ones(encoder):
    rise_rate, fall_rate = _long_caption_steps(encoder)
    assert rise_rate >= RISE_MIN
    assert fall_rate >= FALL_MIN


def test_zero_shot_colour_of_unseen_pictures(encoder):
    """Retrieval among the true caption and its wrong-colour variants, on pictures never trained on."""
    hits = total = 0
    for number in range(20):
        scene = random_image_scene(TEST_SEED_START + 500 + number, max_objects=1)
        image = encoder.encode_images(render_image(scene)[None])[0]
        texts = [short_caption(scene)] + [wrong_caption(scene, "color", seed=s) for s in range(3)]
        hits += int(torch.argmax(encoder.encode_texts(texts) @ image) == 0)
        total += 1
    assert hits / total >= 0.9
