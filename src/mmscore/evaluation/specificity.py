"""SPECS intrinsic specificity on an sDCI-style set (Pos / Neg / Avg)."""

from __future__ import annotations

from typing import Any

from mmscore.evaluation.datasets import SpecificitySet
from mmscore.metrics.clip_scores import specificity
from mmscore.models.encoding import encode_image_sources, encode_texts, truncated_count


def evaluate_specificity(
    encoder: Any, dataset: SpecificitySet, batch_size: int = 64, workers: int = 2, legacy_mask: bool = False,
    keep_similarities: bool = False,
) -> dict[str, Any]:
    """Cosines of every caption and negative with its image, then the SPECS Pos/Neg/Avg (percent).

    All texts are encoded in one batched pass (the SPECS script goes one sample at a time);
    texts longer than the context are truncated with EOT kept, where ``longclip.tokenize``
    without ``truncate`` would raise — the count is reported as ``n_truncated``.
    ``keep_similarities`` adds the per-image cosine lists (``positive_sims``, ``negative_sims``),
    so a breakdown of the same comparisons needs no second encoding.
    """
    flat_pos = [c for caps in dataset.captions for c in caps]
    flat_neg = [c for negs in dataset.negatives for c in negs]
    truncated_before = truncated_count(encoder)
    pos_emb = encode_texts(encoder, flat_pos, description="encoding captions")
    neg_emb = encode_texts(encoder, flat_neg, description="encoding negatives")
    image_emb = encode_image_sources(encoder, dataset.images, batch_size=batch_size, workers=workers).require_all()
    pos_sims, neg_sims = [], []
    p = n = 0
    for index, (caps, negs) in enumerate(zip(dataset.captions, dataset.negatives, strict=True)):
        image = image_emb[index]
        pos_sims.append((pos_emb[p:p + len(caps)] @ image).tolist())
        neg_sims.append((neg_emb[n:n + len(negs)] @ image).tolist())
        p, n = p + len(caps), n + len(negs)
    result = specificity(pos_sims, neg_sims, legacy_mask=legacy_mask)
    return {
        "dataset": dataset.name,
        "n_images": len(dataset.images),
        "n_scored": result.n_samples,
        "n_skipped": result.n_skipped,
        "n_truncated": truncated_count(encoder) - truncated_before,
        **result.as_percent(),
        **({"positive_sims": pos_sims, "negative_sims": neg_sims} if keep_similarities else {}),
    }
