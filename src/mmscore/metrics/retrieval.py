"""Retrieval recall@K and zero-shot classification accuracy on embeddings.

Similarities are computed in row blocks, so a COCO-sized problem (25,000 captions × 5,000
images) never materialises the full matrix: memory is ``block_size × N`` floats.

Ranks are *pessimistic about ties*: an item whose similarity equals the correct one's counts
as ranked above it. A degenerate encoder (every embedding identical) therefore scores 0, not
100 %. With real float embeddings ties practically never happen, so the numbers agree with the
``argsort``/``topk`` protocol of the Long-CLIP evaluation scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mmscore.errors import MetricInputError
from mmscore.metrics.clip_scores import l2_normalize

DEFAULT_KS = (1, 5, 10)


def _labels(values: Any, n_targets: int, what: str) -> torch.Tensor:
    labels = torch.as_tensor(np.asarray(values), dtype=torch.long).reshape(-1)
    if labels.numel() and (labels.min() < 0 or labels.max() >= n_targets):
        raise MetricInputError(
            f"{what} must lie in [0, {n_targets - 1}]", "indices of existing targets",
            f"values from {int(labels.min())} to {int(labels.max())}",
        )
    return labels


def _target_ranks(queries: torch.Tensor, candidates: torch.Tensor, targets: torch.Tensor,
                  block_size: int) -> torch.Tensor:
    """0-based rank of each query's target among all candidates, ``block_size`` queries at a time.

    Ties count against the query (a candidate scoring equal to the target ranks above it).
    """
    ranks = torch.empty(queries.shape[0], dtype=torch.long)
    for start in range(0, queries.shape[0], block_size):
        stop = min(start + block_size, queries.shape[0])
        sims = queries[start:stop] @ candidates.T
        correct = sims[torch.arange(stop - start), targets[start:stop]]
        ranks[start:stop] = (sims >= correct[:, None]).sum(dim=1) - 1
    return ranks


def text_to_image_ranks(
    image_embeddings: Any, text_embeddings: Any, text_to_image: Sequence[int] | Any, block_size: int = 1024,
) -> torch.Tensor:
    """For each text, the 0-based rank of its own image among all images (T2I)."""
    images = l2_normalize(image_embeddings, "image embeddings")
    texts = l2_normalize(text_embeddings, "text embeddings")
    labels = _labels(text_to_image, images.shape[0], "text_to_image")
    if labels.numel() != texts.shape[0]:
        raise MetricInputError(
            "text_to_image", f"one image index per text ({texts.shape[0]})", f"{labels.numel()} entries"
        )
    return _target_ranks(texts, images, labels, block_size)


def image_to_text_ranks(
    image_embeddings: Any, text_embeddings: Any, text_to_image: Sequence[int] | Any, block_size: int = 1024,
) -> torch.Tensor:
    """For each image, the 0-based rank of its best-ranked own caption among all texts (I2T).

    An image counts as retrieved at K when any of its captions is in the top K, the COCO /
    Flickr30k protocol with five captions per image.
    """
    images = l2_normalize(image_embeddings, "image embeddings")
    texts = l2_normalize(text_embeddings, "text embeddings")
    labels = _labels(text_to_image, images.shape[0], "text_to_image")
    if labels.numel() != texts.shape[0]:
        raise MetricInputError(
            "text_to_image", f"one image index per text ({texts.shape[0]})", f"{labels.numel()} entries"
        )
    counts = torch.bincount(labels, minlength=images.shape[0])
    missing = (counts == 0).nonzero().flatten().tolist()
    if missing:
        raise MetricInputError(
            f"images {missing[:10]} have no caption", "at least one caption per image for I2T recall",
            f"{len(missing)} image(s) without one",
        )
    ranks = torch.empty(images.shape[0], dtype=torch.long)
    for start in range(0, images.shape[0], block_size):
        stop = min(start + block_size, images.shape[0])
        sims = images[start:stop] @ texts.T
        own = labels[None, :] == torch.arange(start, stop)[:, None]
        best_own = sims.masked_fill(~own, float("-inf")).amax(dim=1)
        ranks[start:stop] = ((sims >= best_own[:, None]) & ~own).sum(dim=1)
    return ranks


def recall_at_k(ranks: torch.Tensor, ks: Sequence[int] = DEFAULT_KS) -> dict[int, float]:
    """Share of queries whose correct item is within the top K (as a fraction).

    Example: ranks are 0-based, so rank 0 is a hit at K = 1:

    >>> recall_at_k(torch.tensor([0, 2, 7]), ks=(1, 5))
    {1: 0.3333333333333333, 5: 0.6666666666666666}
    """
    ranks = torch.as_tensor(ranks)
    if ranks.numel() == 0:
        raise MetricInputError("recall@K", "at least one query", "an empty query set")
    return {int(k): float((ranks < k).double().mean()) for k in ks}


def retrieval_recall(
    image_embeddings: Any, text_embeddings: Any, text_to_image: Sequence[int] | Any,
    ks: Sequence[int] = DEFAULT_KS, block_size: int = 1024,
) -> dict[str, float]:
    """``{"i2t_R@1": .., "t2i_R@1": .., ...}`` as fractions, both directions.

    Example: two images, three captions (0 -> image 0; 1, 2 -> image 1), orthogonal embeddings:

    >>> images = torch.eye(2)
    >>> texts = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> retrieval_recall(images, texts, [0, 1, 1], ks=(1,))
    {'i2t_R@1': 1.0, 't2i_R@1': 1.0}
    """
    i2t = recall_at_k(image_to_text_ranks(image_embeddings, text_embeddings, text_to_image, block_size), ks)
    t2i = recall_at_k(text_to_image_ranks(image_embeddings, text_embeddings, text_to_image, block_size), ks)
    out = {f"i2t_R@{k}": v for k, v in i2t.items()}
    out.update({f"t2i_R@{k}": v for k, v in t2i.items()})
    return out


# ---------------------------------------------------------------------------------------------
# zero-shot classification
# ---------------------------------------------------------------------------------------------


def class_embeddings_from_templates(template_embeddings: Any) -> torch.Tensor:
    """Prompt-ensemble class vectors ``[C, D]`` from ``[C, T, D]`` template embeddings.

    As in OpenAI's ImageNet notebook: normalise each template embedding, average over the
    templates, normalise the mean.
    """
    tensor = torch.as_tensor(template_embeddings, dtype=torch.float32)
    if tensor.ndim != 3:
        raise MetricInputError(
            "template embeddings", "a [classes, templates, dim] array", f"shape {tuple(tensor.shape)}"
        )
    tensor = tensor / tensor.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    mean = tensor.mean(dim=1)
    return mean / mean.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def classification_ranks(
    image_embeddings: Any, class_embeddings: Any, labels: Sequence[int] | Any, block_size: int = 4096,
) -> torch.Tensor:
    """0-based rank of the true class for each image (ties count against the image)."""
    images = l2_normalize(image_embeddings, "image embeddings")
    classes = l2_normalize(class_embeddings, "class embeddings")
    targets = _labels(labels, classes.shape[0], "labels")
    if targets.numel() != images.shape[0]:
        raise MetricInputError("labels", f"one label per image ({images.shape[0]})", f"{targets.numel()} labels")
    return _target_ranks(images, classes, targets, block_size)


def topk_accuracy(
    image_embeddings: Any, class_embeddings: Any, labels: Sequence[int] | Any, ks: Sequence[int] = (1, 5),
) -> dict[int, float]:
    """Top-K accuracy (fractions); K larger than the number of classes is capped at it."""
    ranks = classification_ranks(image_embeddings, class_embeddings, labels)
    return recall_at_k(ranks, ks)
