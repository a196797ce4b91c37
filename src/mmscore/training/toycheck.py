"""The SPECS behaviour check on the toy world (issue 25): fine-tune the shipped demo model on
toy-world chunk chains and compare held-out SPECS Pos/Neg and R@1 with the starting model and
with a contrastive-only control trained for the same steps.

Held-out scenes come from seeds no model here was trained on (``HELDOUT_SEED_START`` + 100,000
onwards, 2–3 shapes, the first ``count``); training scenes from seed 6,000 onwards, past the
6,000 stills the demo model was trained on. Pictures are drawn at the demo model's own 96 px
with every shape 1.3× its named size: new data the model must adapt to (as SPECS adapts Long-CLIP
to ShareGPT4V's long captions), where "small" and "large" must be learned again. On the toy world
as the demo model was trained on it, it already ranks chains close to what 1,000 SPECS steps
reach (README, "Toy-world check"). Negatives are the toy world's wrong-detail sentences (one
attribute wrong), so the check also reports Neg by what the negative gets wrong.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmscore.errors import ConfigError
from mmscore.metrics.clip_scores import specificity_pairs
from mmscore.models.hub import demo_checkpoint_path
from mmscore.toyworld import HELDOUT_SEED_START, chain_rows
from mmscore.training.engine import TrainSettings, train
from mmscore.training.evaluate import specificity_evaluator, specificity_set_from_rows
from mmscore.training.losses import SpecsWeights
from mmscore.training.model import TrainableClip, load_trainable
from mmscore.training.recipes import SpecsRecipe

HELD_OUT_FIRST_SEED = HELDOUT_SEED_START + 100_000
TRAIN_FIRST_SEED = 6_000  # the demo model's stills are seeds 0-5,999
SHAPE_SCALE = 1.3
CONTROL = SpecsWeights(1.0, 0.0, 0.0)


@dataclass(frozen=True)
class ToyFineTune:
    """One fine-tuning run of the demo model (the defaults are the checked setting)."""

    weights: SpecsWeights = field(default_factory=lambda: SpecsWeights(1.0, 2.0, 2.0))
    lr: float = 3e-5
    epochs: int = 1
    batch: int = 16
    warmup: int = 20
    seed: int = 0
    train_scenes: int = 3200
    max_steps: int = 0

    def control(self) -> ToyFineTune:
        """The same run with the contrastive term only (λd = λn = 0)."""
        return replace(self, weights=CONTROL)

    def settings(self) -> TrainSettings:
        return TrainSettings(epochs=self.epochs, batch_size=self.batch, accumulation=1, lr=self.lr,
                             warmup=self.warmup, seed=self.seed, workers=0, max_steps=self.max_steps,
                             save_every=0, device="cpu")


def held_out_rows(count: int = 400) -> list[dict[str, Any]]:
    """The first ``count`` held-out scenes with 2-3 shapes (one shape gives no countable pair)."""
    seeds = range(HELD_OUT_FIRST_SEED, HELD_OUT_FIRST_SEED + 4 * count)
    rows = chain_rows(seeds, min_objects=2, shape_scale=SHAPE_SCALE)[:count]
    if len(rows) < count:
        raise ConfigError(f"only {len(rows)} held-out scenes with 2-3 shapes, asked for {count}")
    return rows


def training_rows(count: int) -> list[dict[str, Any]]:
    return chain_rows(range(TRAIN_FIRST_SEED, TRAIN_FIRST_SEED + count), shape_scale=SHAPE_SCALE)


def demo_model() -> TrainableClip:
    model, _ = load_trainable(str(demo_checkpoint_path()), "specs")
    return model


def negatives_by_kind(positive_sims: list[list[float]], negative_sims: list[list[float]],
                      rows: list[dict[str, Any]]) -> dict[str, float]:
    """Share (percent) of counted prefixes that beat their wrong twin, by what the twin gets wrong
    (the comparisons SPECS Neg counts, from the cosines of its evaluation)."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for pos, neg, row in zip(positive_sims, negative_sims, rows, strict=True):
        pairs = specificity_pairs(pos, neg)
        if pairs is not None:
            for kind, beats in zip(row["neg_kinds"], pairs[1].tolist(), strict=False):
                outcomes[kind].append(beats)
    return {kind: 100.0 * float(np.mean(v)) for kind, v in sorted(outcomes.items())}


def measure(model: TrainableClip, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Held-out Pos/Neg/Avg and R@1 through the evaluation suite, plus Neg by kind of negative."""
    evaluate = specificity_evaluator(specificity_set_from_rows(rows),
                                     breakdown=lambda pos, neg: {"neg_by_kind": negatives_by_kind(pos, neg, rows)})
    model.eval()
    with torch.no_grad():
        return evaluate(model)


def fine_tune(run: ToyFineTune, rows: list[dict[str, Any]] | None = None) -> TrainableClip:
    """The demo model after ``run`` (one CPU process; the caller sets torch's thread count)."""
    model = demo_model()
    with tempfile.TemporaryDirectory() as out:
        train(model, rows if rows is not None else training_rows(run.train_scenes),
              SpecsRecipe(run.weights), run.settings(), Path(out))
    return model


def fine_tune_and_measure(run: ToyFineTune, held_out: int = 400, threads: int = 1) -> dict[str, Any]:
    """:func:`fine_tune` then :func:`measure` in this process: a picklable unit of work, so the
    SPECS run and its control can go to two processes at once."""
    torch.set_num_threads(threads)
    return measure(fine_tune(run), held_out_rows(held_out))
