"""Periodic held-out evaluation during training with the project's evaluation suite:
SPECS Pos/Neg/Avg and text↔image R@1 (each image's longest caption)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mmscore.evaluation.datasets import RetrievalSet, SpecificitySet, load_specificity_set
from mmscore.models.clip import ClipEncoder
from mmscore.models.preprocess import ClipImageTransform
from mmscore.training.engine import Evaluator
from mmscore.training.model import TrainableClip


def training_encoder(model: TrainableClip, batch_size: int = 64) -> ClipEncoder:
    """The model being trained, seen through the scoring encoder (same tokenizer and transform)."""
    device = next(model.parameters()).device
    return ClipEncoder(model.clip, model.arch, name="in-training", fingerprint="in-training", device=device,
                       dtype=next(model.parameters()).dtype, batch_size=batch_size,
                       transform=ClipImageTransform(model.arch.image_size))


def retrieval_view(dataset: SpecificitySet) -> RetrievalSet:
    captions = [caps[-1] for caps in dataset.captions]
    names = [str(i) for i in range(len(captions))]
    return RetrievalSet(dataset.name, dataset.images, names, captions, list(range(len(captions))))


Breakdown = Callable[[list[list[float]], list[list[float]]], dict[str, Any]]


def specificity_evaluator(dataset: SpecificitySet, batch_size: int = 64,
                          breakdown: Breakdown | None = None) -> Evaluator:
    """Pos/Neg/Avg and R@1 of a model on ``dataset``; ``breakdown`` (positive and negative cosines per
    image → more results) adds to them from the same encoding."""
    from mmscore.evaluation.retrieval import evaluate_retrieval
    from mmscore.evaluation.specificity import evaluate_specificity

    retrieval = retrieval_view(dataset)

    def evaluate(model: TrainableClip) -> dict[str, Any]:
        encoder = training_encoder(model, batch_size)
        spec: dict[str, Any] = evaluate_specificity(encoder, dataset, batch_size=batch_size, workers=0,
                                                    keep_similarities=breakdown is not None)
        ret = evaluate_retrieval(encoder, retrieval, ks=(1,), batch_size=batch_size, workers=0)
        extra = breakdown(spec["positive_sims"], spec["negative_sims"]) if breakdown is not None else {}
        return {"pos": spec["Pos"], "neg": spec["Neg"], "avg": spec["Avg"],
                "t2i_r1": ret["t2i_R@1"], "i2t_r1": ret["i2t_R@1"], **extra}

    return evaluate


def load_evaluator(path: str | os.PathLike[str], limit: int | None = None, batch_size: int = 64) -> Evaluator:
    return specificity_evaluator(load_specificity_set(path, split="test", limit=limit), batch_size)


def specificity_set_from_rows(rows: list[dict[str, Any]], name: str = "held-out") -> SpecificitySet:
    """An in-memory held-out set from SPECS-layout rows (pictures as uint8 arrays or paths)."""
    from mmscore.io.images import image_from_array

    def source(image: Any) -> Any:
        return (lambda: image_from_array(image)) if hasattr(image, "shape") else image

    return SpecificitySet(name, [source(r["image"]) for r in rows], [list(r["captions"]) for r in rows],
                          [list(r["neg_captions"]) for r in rows])
