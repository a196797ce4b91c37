"""What differs between SPECS and Long-CLIP training: the texts drawn per image, the loss, which
checkpoint layout starts it and whether ``positional_embedding`` trains. The loop is ``engine``.

A recipe's ``loss(module, batch, rank)`` runs the forward itself, through the module the engine
hands it (the DDP wrapper when distributed, so gradients are synchronised)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mmscore.errors import InputError
from mmscore.training.data import first_sentence
from mmscore.training.distributed import gather_with_grad
from mmscore.training.losses import SpecsLoss, SpecsWeights, longclip_loss
from mmscore.training.model import check_stretch_precision


@dataclass
class SpecsRecipe:
    """SPECS (``train_spec.py``): per image one chain index i is drawn; texts = full caption,
    captions[i], captions[i+1], neg_captions[i]."""

    weights: SpecsWeights = field(default_factory=SpecsWeights)
    train_frozen_positions: bool = False  # True: as train_spec.py, positional_embedding trains too

    name = "specs"
    init_mode = "specs"
    columns = ("image", "caption", "captions", "neg_captions")
    list_columns = ("captions", "neg_captions")

    def __post_init__(self) -> None:
        self.loss_fn = SpecsLoss(self.weights)

    @property
    def freeze_positions(self) -> bool:
        return not self.train_frozen_positions

    def init_options(self) -> dict[str, Any]:
        """Keywords for ``load_trainable`` (SPECS starts from a Long-CLIP checkpoint: nothing to stretch)."""
        return {}

    def check_row(self, row: dict[str, Any], index: int) -> bool:
        """Rows with a chain of at least two captions and a negative for each step train (the
        original filters len(captions) > 1); others are skipped and counted by the caller."""
        if len(row["neg_captions"]) < len(row["captions"]) - 1:
            raise InputError(f"training row {index}: {len(row['captions'])} captions need "
                             f"{len(row['captions']) - 1} neg_captions, found {len(row['neg_captions'])}")
        return len(row["captions"]) > 1

    def pick(self, row: dict[str, Any], rng: np.random.Generator) -> list[str]:
        i = int(rng.integers(len(row["captions"]) - 1))
        return [str(row["caption"]), row["captions"][i], row["captions"][i + 1], row["neg_captions"][i]]

    def loss(self, module: torch.nn.Module, batch: tuple[torch.Tensor, ...],
             rank: int) -> tuple[torch.Tensor, dict[str, float]]:
        image, caption, base, detail, negative, scale = module(*batch)
        return self.loss_fn(scale, image, caption, base, detail, negative)

    def state_dict(self) -> dict[str, Any]:
        return self.loss_fn.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loss_fn.load_state_dict(state)

    def settings(self) -> dict[str, Any]:
        w = self.weights
        return {"lambda_contrastive": w.contrastive, "lambda_detail": w.detail, "lambda_negative": w.negative,
                "epsilon": w.epsilon, "margin": "adaptive" if w.epsilon == 0 else "fixed",
                "train_frozen_positions": self.train_frozen_positions}


@dataclass
class LongClipRecipe:
    """Long-CLIP (``train.py``): long caption + its first sentence, features gathered across ranks
    with gradient, PCA-32 on the short branch, label smoothing 0.1."""

    components: int = 32
    label_smoothing: float = 0.1
    short_weight: float = 1.0  # 0.1: Long-CLIP's first release (4e6f5da)
    stretch_precision: str = "fp32"  # fp16: the 77 → 248 table as load_from_clip computes it on a GPU

    name = "longclip"
    init_mode = "longclip"
    columns = ("image", "caption")
    list_columns = ()
    freeze_positions = True

    def __post_init__(self) -> None:
        check_stretch_precision(self.stretch_precision)

    def init_options(self) -> dict[str, Any]:
        return {"stretch_precision": self.stretch_precision}

    def check_row(self, row: dict[str, Any], index: int) -> bool:
        text = str(row["caption"])
        if not text.strip():
            raise InputError(f"training row {index}: empty 'caption'")
        return True

    def pick(self, row: dict[str, Any], rng: np.random.Generator) -> list[str]:
        caption = str(row["caption"])
        return [caption, first_sentence(caption)]

    def loss(self, module: torch.nn.Module, batch: tuple[torch.Tensor, ...],
             rank: int) -> tuple[torch.Tensor, dict[str, float]]:
        image, long_text, short_text, scale = module(*batch)
        return longclip_loss(scale, image, long_text, short_text, gather_with_grad, rank,
                             self.components, self.label_smoothing, self.short_weight)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None

    def settings(self) -> dict[str, Any]:
        return {"pca_components": self.components, "label_smoothing": self.label_smoothing,
                "short_weight": self.short_weight, "stretch_precision": self.stretch_precision}
