"""Retrieval recall@K and zero-shot accuracy on sets whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmscore.errors import InputError
from mmscore.metrics import retrieval as rt


def _hand_set():
    images = torch.eye(3)
    texts = torch.tensor(
        [
            [1.0, 0.0, 0.0],  # t0 -> I0: exact match, rank 0
            [0.0, 1.0, 0.0],  # t1 -> I0: I1 is closer, I2 ties with I0 (ties count against) -> rank 2
            [0.6, 0.8, 0.0],  # t2 -> I1: rank 0
            [0.8, 0.0, 0.6],  # t3 -> I2: I0 is closer -> rank 1
        ]
    )
    return images, texts, [0, 0, 1, 2]


def test_text_to_image_ranks_hand_worked() -> None:
    images, texts, owner = _hand_set()
    assert rt.text_to_image_ranks(images, texts, owner).tolist() == [0, 2, 0, 1]


def test_image_to_text_ranks_hand_worked() -> None:
    images, texts, owner = _hand_set()
    # I0: own best t0 (1.0) -> rank 0; I1: own t2 (0.8) but t1 scores 1.0 -> rank 1; I2: own t3 best -> 0
    assert rt.image_to_text_ranks(images, texts, owner).tolist() == [0, 1, 0]
    recall = rt.retrieval_recall(images, texts, owner, ks=(1, 2, 3))
    assert recall["t2i_R@1"] == pytest.approx(2 / 4)
    assert recall["t2i_R@2"] == pytest.approx(3 / 4)
    assert recall["t2i_R@3"] == pytest.approx(1.0)
    assert recall["i2t_R@1"] == pytest.approx(2 / 3)
    assert recall["i2t_R@2"] == pytest.approx(1.0)


def _brute_force(images: np.ndarray, texts: np.ndarray, owner: np.ndarray) -> tuple[list[int], list[int]]:
    """Full similarity matrix, ranks by explicit sorting (ties against the query)."""
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    texts = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    sims = images @ texts.T
    t2i = []
    for t in range(texts.shape[0]):
        column = sims[:, t]
        t2i.append(
            int(sum(1 for i in range(images.shape[0]) if i != owner[t] and column[i] >= column[owner[t]]))
        )
    i2t = []
    for i in range(images.shape[0]):
        row = sims[i]
        best = max(row[t] for t in range(texts.shape[0]) if owner[t] == i)
        i2t.append(int(sum(1 for t in range(texts.shape[0]) if owner[t] != i and row[t] >= best)))
    return i2t, t2i


def test_blocked_ranks_equal_full_matrix() -> None:
    rng = np.random.default_rng(0)
    n_images, per_image = 23, 5
    images = rng.normal(size=(n_images, 8)).astype(np.float32)
    owner = np.repeat(np.arange(n_images), per_image)
    texts = (images[owner] + rng.normal(scale=1.2, size=(len(owner), 8))).astype(np.float32)
    want_i2t, want_t2i = _brute_force(images, texts, owner)
    for block in (1, 4, 1000):
        assert rt.image_to_text_ranks(images, texts, owner, block_size=block).tolist() == want_i2t
        assert rt.text_to_image_ranks(images, texts, owner, block_size=block).tolist() == want_t2i
    recall = rt.retrieval_recall(images, texts, owner)
    assert recall["i2t_R@5"] == pytest.approx(np.mean(np.asarray(want_i2t) < 5))
    assert recall["t2i_R@10"] == pytest.approx(np.mean(np.asarray(want_t2i) < 10))


def test_perfect_and_degenerate_encoders() -> None:
    images = torch.eye(4)
    texts = torch.eye(4).repeat_interleave(2, dim=0)
    owner = [0, 0, 1, 1, 2, 2, 3, 3]
    assert set(rt.retrieval_recall(images, texts, owner, ks=(1,)).values()) == {1.0}
    constant = torch.ones(4, 3)
    recall = rt.retrieval_recall(constant, torch.ones(8, 3), owner, ks=(1,))
    assert recall == {"i2t_R@1": 0.0, "t2i_R@1": 0.0}  # ties never count as a hit


def test_retrieval_input_errors() -> None:
    with pytest.raises(InputError, match=r"images \[1\] have no caption"):
        rt.image_to_text_ranks(torch.eye(2), torch.eye(2)[:1], [0])
    with pytest.raises(InputError, match="text_to_image must lie in"):
        rt.text_to_image_ranks(torch.eye(2), torch.eye(2), [0, 5])


def test_template_ensemble_is_normalised_mean() -> None:
    emb = np.array([[[2.0, 0.0], [1.0, 1.0]], [[0.0, 3.0], [0.0, 1.0]]])
    mean0 = np.array([1.0, 0.0]) + np.array([1.0, 1.0]) / np.sqrt(2)
    want = np.stack([mean0 / np.linalg.norm(mean0), np.array([0.0, 1.0])])
    np.testing.assert_allclose(rt.class_embeddings_from_templates(emb).numpy(), want, atol=1e-6)


def test_topk_accuracy_known_answers() -> None:
    classes = torch.eye(4)
    images = torch.tensor(
        [
            [1.0, 0.1, 0.0, 0.0],  # label 0, predicted 0 -> top1 hit
            [0.9, 0.5, 0.0, 0.0],  # label 1, second -> top2 hit only
            [0.5, 0.4, 0.3, 0.1],  # label 3, last -> miss at 3, hit at 4
            [0.0, 0.0, 1.0, 0.0],  # label 2 -> top1 hit
        ]
    )
    acc = rt.topk_accuracy(images, classes, [0, 1, 3, 2], ks=(1, 2, 3, 4))
    assert acc == {1: 0.5, 2: 0.75, 3: 0.75, 4: 1.0}
