"""Semantic end-to-end tests on the shipped demo model (``mmscore-demo``).

Scores must *mean* something here: on toy-world scenes never used in training (seeds from
``TEST_SEED_START``), EMScore(X,V) prefers the true caption of a clip over its wrong-colour twin,
and the Long-CLIP/SPECS score of a long caption mostly rises with a correct extra detail and
falls with a wrong one. The current demo model does not separate wrong shapes, positions or
directions reliably (MODEL_CARD.md), so those are not asserted here.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from mmscore.toyworld import (
    TEST_SEED_START,
    detail_sentences,
    long_caption,
    random_image_scene,
    random_video_scene,
    render_image,
    short_caption,
    write_scene_video,
    wrong_caption,
    wrong_detail,
)

pytestmark = pytest.mark.slow

# measured on the shipped model (MODEL_CARD.md); the goal for both is 0.9
RISE_MIN = 0.85
FALL_MIN = 0.7


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


def _clips() -> list:
    """A fixed set of unseen clips: 12 moving shapes, 3 appearing, 3 changing colour."""
    moving = [random_video_scene(TEST_SEED_START + i, events=("move",)) for i in range(12)]
    appear = [random_video_scene(TEST_SEED_START + 100 + i, events=("appear",)) for i in range(3)]
    change = [random_video_scene(TEST_SEED_START + 200 + i, events=("change",)) for i in range(3)]
    return moving + appear + change


def test_emscore_prefers_the_true_colour_of_a_clip(tmp_path):
    """EMScore(X,V) through the DataFlow operator: the true caption beats the wrong-colour twin.

    (The demo model does not yet separate wrong shapes or directions reliably; see MODEL_CARD.md.)
    """
    from mmscore.io.storage import FileStorage
    from mmscore.io.tables import read_table, write_table
    from mmscore.operators.emscore import EMScoreEval

    rows = []
    for number, clip in enumerate(_clips()):
        path = write_scene_video(clip, tmp_path / "videos" / f"clip{number}.mp4")
        rows.append({"video_path": str(path), "candidate": short_caption(clip), "clip": number, "kind": "true"})
        for seed in range(2):
            rows.append(
                {
                    "video_path": str(path),
                    "candidate": wrong_caption(clip, "color", seed=seed),
                    "clip": number,
                    "kind": "color",
                }
            )
    entry = write_table(pd.DataFrame(rows), tmp_path / "captions.jsonl")
    storage = FileStorage(str(entry), cache_path=str(tmp_path / "cache"), file_name_prefix="em")
    operator = EMScoreEval(every_n_frames=1, clip_model_path="mmscore-demo", score_types=["EMScore(X,V)"])
    operator.configure(cache_dir=False, device="cpu").run(storage.step())
    scored = read_table(tmp_path / "cache" / "em_step1.jsonl")
    assert scored["emscore_error"].isna().all()

    column = "EMScore(X,V)_full_F"
    true_scores = scored[scored["kind"] == "true"].set_index("clip")[column]
    wrong = scored[scored["kind"] != "true"]
    wins = wrong[column].to_numpy() < true_scores.loc[wrong["clip"]].to_numpy()
    assert len(wins) == 36
    assert wins.mean() >= 0.9, wrong.loc[~wins, "candidate"].tolist()


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
