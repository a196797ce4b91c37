"""Text↔image retrieval recall@K (COCO / Flickr30k / Urban1k protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmscore.evaluation.datasets import RetrievalSet
from mmscore.metrics.retrieval import DEFAULT_KS, retrieval_recall
from mmscore.models.encoding import encode_image_sources, encode_texts, truncated_count


def evaluate_retrieval(
    encoder: Any, dataset: RetrievalSet, ks: Sequence[int] = DEFAULT_KS, batch_size: int = 64,
    workers: int = 2, block_size: int = 1024,
) -> dict[str, Any]:
    """R@K in both directions (percent). Captions longer than the encoder's context are
    truncated with EOT kept (the Urban1k protocol uses ``truncate=True``); the count is reported."""
    truncated_before = truncated_count(encoder)
    texts = encode_texts(encoder, dataset.captions, description="encoding captions")
    images = encode_image_sources(encoder, dataset.images, batch_size=batch_size, workers=workers)
    recall = retrieval_recall(images.require_all(), texts, dataset.text_to_image, ks=ks, block_size=block_size)
    return {
        "dataset": dataset.name,
        "n_images": len(dataset.images),
        "n_captions": len(dataset.captions),
        "n_truncated": truncated_count(encoder) - truncated_before,
        **{key: 100.0 * value for key, value in recall.items()},
    }
