"""Zero-shot classification with a prompt ensemble (OpenAI / Long-CLIP protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from mmscore.evaluation.datasets import ClassificationSet
from mmscore.evaluation.templates import IMAGENET_TEMPLATES
from mmscore.metrics.retrieval import class_embeddings_from_templates, classification_ranks, recall_at_k
from mmscore.models.encoding import encode_image_sources, encode_texts


def zeroshot_classifier(encoder: Any, class_names: Sequence[str], templates: Sequence[str],
                        batch_size: int = 256) -> torch.Tensor:
    """``[C, D]`` class vectors: every template filled with every class name, ensembled."""
    texts = [template.format(name) for name in class_names for template in templates]
    embeddings = encode_texts(encoder, texts, batch_size=batch_size, description="encoding class prompts")
    return class_embeddings_from_templates(embeddings.reshape(len(class_names), len(templates), -1))


def evaluate_zeroshot(
    encoder: Any, dataset: ClassificationSet, templates: Sequence[str] = IMAGENET_TEMPLATES,
    ks: Sequence[int] = (1, 5), batch_size: int = 64, workers: int = 2,
) -> dict[str, Any]:
    """Top-K accuracies (percent) of ``encoder`` on ``dataset``; every image must decode."""
    classifier = zeroshot_classifier(encoder, dataset.class_names, templates)
    images = encode_image_sources(encoder, dataset.images, batch_size=batch_size, workers=workers)
    embeddings = images.require_all()
    ranks = classification_ranks(embeddings, classifier, dataset.labels)
    ks = [k for k in ks if k <= len(dataset.class_names)]
    accuracy = recall_at_k(ranks, ks)
    return {
        "dataset": dataset.name,
        "n_images": len(dataset.labels),
        "n_classes": len(dataset.class_names),
        "n_templates": len(templates),
        **({"skipped_empty_classes": list(dataset.skipped_classes)} if dataset.skipped_classes else {}),
        **{f"top{k}": 100.0 * v for k, v in accuracy.items()},
    }
