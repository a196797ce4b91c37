"""LongCLIP / SPECS / CLIPScore / RefCLIPScore / specificity against formulas written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmscore.errors import InputError
from mmscore.metrics import clip_scores as cs


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def tiny_embeddings(tiny_clip_hf_dir, sample_images):
    """Image and text embeddings of the session's tiny CLIP (unnormalised, to test our normalising)."""
    from PIL import Image

    from mmscore.models.clip import load_clip

    encoder = load_clip(tiny_clip_hf_dir)
    images = [Image.open(sample_images[c]).convert("RGB") for c in ("red", "green", "blue")]
    texts = ["a red square", "a green square on black", "a blue square"]
    img = encoder.encode_images(images, normalize=False).numpy()
    txt = encoder.encode_texts(texts, normalize=False).numpy()
    prefixed = encoder.encode_texts(["A photo depicts " + t for t in texts], normalize=False).numpy()
    refs = encoder.encode_texts(
        ["A photo depicts a square", "A photo depicts red", "A photo depicts blue"], normalize=False
    ).numpy()
    return img, txt, prefixed, refs


def test_longclip_and_specs_formula_on_tiny_model(tiny_embeddings) -> None:
    img, txt, _, _ = tiny_embeddings
    expected = [min(max((_cos(i, t) + 1) / 2, 0.0), 1.0) for i, t in zip(img, txt, strict=True)]
    got = cs.longclip_score(torch.from_numpy(img), torch.from_numpy(txt))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(
        cs.specs_score(img, txt).numpy(),
        [max((_cos(i, t) + 1) / 2, 0.0) for i, t in zip(img, txt, strict=True)],
        atol=1e-6,
    )


def test_clip_score_formula_on_tiny_model(tiny_embeddings) -> None:
    img, _, prefixed, _ = tiny_embeddings
    expected = [2.5 * max(_cos(i, t), 0.0) for i, t in zip(img, prefixed, strict=True)]
    np.testing.assert_allclose(cs.clip_score(img, prefixed).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(
        cs.clip_score(img, prefixed, w=1.0).numpy(), np.asarray(expected) / 2.5, atol=1e-6
    )


def test_refclip_formula_on_tiny_model(tiny_embeddings) -> None:
    img, _, prefixed, refs = tiny_embeddings
    # candidate 0 has references 0 and 1, candidate 1 reference 2, candidate 2 references 0 and 2
    owner = [0, 0, 1, 2, 2]
    ref_matrix = refs[[0, 1, 2, 0, 2]]
    expected = []
    for c in range(3):
        clip_s = 2.5 * max(_cos(img[c], prefixed[c]), 0.0)
        best = max(_cos(prefixed[c], ref_matrix[m]) for m in range(5) if owner[m] == c)
        ref_term = max(best, 0.0)
        expected.append(0.0 if clip_s + ref_term == 0 else 2 * clip_s * ref_term / (clip_s + ref_term))
    got = cs.refclip_score(img, prefixed, ref_matrix, owner)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)


def test_scores_on_hand_built_vectors() -> None:
    image = torch.tensor([[1.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    text = torch.tensor([[1.0, 1.0], [-1.0, 0.0], [2.0, 0.0]])  # cos = 1/sqrt2, -1, 1
    np.testing.assert_allclose(cs.clip_score(image, text).numpy(), [2.5 / math.sqrt(2), 0.0, 2.5], atol=1e-6)
    np.testing.assert_allclose(
        cs.longclip_score(image, text).numpy(), [(1 / math.sqrt(2) + 1) / 2, 0.0, 1.0], atol=1e-6
    )
    # RefCLIP-S: the reference term is clipped at 0, and H-mean(x, 0) = 0
    refs = torch.tensor([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])
    got = cs.refclip_score(image, text, refs, [0, 1, 2])
    c0 = 2.5 / math.sqrt(2)
    r0 = 1 / math.sqrt(2)
    np.testing.assert_allclose(got.numpy(), [2 * c0 * r0 / (c0 + r0), 0.0, 0.0], atol=1e-6)


def test_refclip_needs_a_reference_per_candidate() -> None:
    with pytest.raises(InputError, match=r"candidates \[1\] have no reference"):
        cs.refclip_score(torch.eye(2), torch.eye(2), torch.eye(2)[:1], [0])


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(InputError, match="same shape"):
        cs.longclip_score(torch.zeros(2, 4), torch.zeros(3, 4))


def test_prefix_matches_reference_code() -> None:
    assert cs.with_prefix(["a dog"]) == ["A photo depicts a dog"]
    assert cs.with_prefix(["a dog"], "Look: ") == ["Look: a dog"]
    assert cs.with_prefix(["a dog"], None) == ["a dog"]


# -- specificity (SPECS compute_increments) ----------------------------------------------------------


def test_specificity_hand_worked() -> None:
    pos = [[0.20, 0.25, 0.22, 0.30], [0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.2]]
    neg = [[0.18, 0.27, 0.10], [0.05, 0.1, 0.35, 0.6], [0.1]]
    # sample 0: m=3, n=2: extensions .20->.25 up, .25->.22 down -> 1/2; .20>.18 yes, .25>.27 no -> 1/2
    # sample 1: m=4, n=3: three rises -> 1; .1>.05, .2>.1, .3>.35? no -> 2/3
    # sample 2: m=1 -> skipped
    result = cs.specificity(pos, neg)
    assert result.n_samples == 2 and result.n_skipped == 1
    assert result.pos == pytest.approx(0.75)
    assert result.neg == pytest.approx((0.5 + 2 / 3) / 2)
    assert result.avg == pytest.approx((0.75 + (0.5 + 2 / 3) / 2) / 2)
    assert result.as_percent()["Pos"] == pytest.approx(75.0)


def _original_compute_increments(similarity: np.ndarray) -> tuple[list[float], list[float]]:
    """The SPECS repository's metric, re-typed from its description (zero-padded [S, L, 2] input)."""
    pos_sims, neg_sims = similarity[:, :, 0], similarity[:, :, 1]
    positives, negatives = [], []
    for sim, neg in zip(pos_sims, neg_sims, strict=True):
        n = int((sim > 0).sum()) - 1
        if n > 1:
            positives.append(float((sim[1:] - sim[:-1] > 0)[:n].sum()) / n)
            negatives.append(float((sim - neg > 0)[:n].sum()) / n)
    return positives, negatives


def test_specificity_matches_original_on_positive_cosines() -> None:
    rng = np.random.default_rng(3)
    pos_lists, neg_lists = [], []
    width = 9
    padded = np.zeros((40, width, 2))
    for r in range(40):
        n_caps = int(rng.integers(1, width + 1))
        caps = rng.uniform(0.05, 0.4, n_caps)
        negs = rng.uniform(0.05, 0.4, n_caps - 1)
        pos_lists.append(caps.tolist())
        neg_lists.append(negs.tolist())
        for c, (p, q) in enumerate(zip(caps, negs, strict=False)):  # the script stores zip(pos, neg)
            padded[r, c] = (p, q)
    want_pos, want_neg = _original_compute_increments(padded)
    got = cs.specificity(pos_lists, neg_lists)
    assert list(got.per_sample_pos) == pytest.approx(want_pos)
    assert list(got.per_sample_neg) == pytest.approx(want_neg)
    assert got.pos == pytest.approx(np.mean(want_pos))


def test_specificity_negative_cosines_are_not_padding() -> None:
    pos = [[-0.1, -0.05, 0.02, 0.03]]
    neg = [[-0.2, -0.1, 0.0]]
    fixed = cs.specificity(pos, neg)
    assert (fixed.pos, fixed.neg) == (1.0, 1.0)
    with pytest.raises(InputError, match="no sample has enough captions"):
        cs.specificity(pos, neg, legacy_mask=True)  # the original counts only cos > 0 -> m=1 -> skipped
