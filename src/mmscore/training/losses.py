"""Training objectives: SPECS (InfoNCE + detail/negative hinges with an adaptive margin) and
Long-CLIP (symmetric long + short-caption contrastive with primary-component matching).

All features passed in are L2-normalised; ``scale`` is ``exp(logit_scale)``. Margins are in logit
units (×scale), as in the originals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_MARGIN = 1.5  # the adaptive margin is clamped to [0, 1.5] logit units (SPECS model_spec.py)


@dataclass(frozen=True)
class SpecsWeights:
    """λc, λd, λn of ``run_spec.sh`` and the margin: ``epsilon == 0`` selects the adaptive margin
    (as the original, where any non-zero value means a fixed margin)."""

    contrastive: float = 1.0
    detail: float = 8.0
    negative: float = 0.8
    epsilon: float = 0.0


class SpecsLoss:
    """The SPECS objective with its per-process adaptive margin state ε.

    ε starts at 0 and, in adaptive mode, is updated on every call (every micro-batch forward):
    the detail hinge uses ε, then ε becomes clamp(mean(d) − mean(b), 0, 1.5); the negative hinge
    uses that new ε, then ε becomes clamp(mean(b) − mean(n), 0, 1.5). It is never synchronised
    across ranks (the original keeps it per process). β of the original is only logged there and
    has no counterpart here.
    """

    def __init__(self, weights: SpecsWeights = SpecsWeights()) -> None:
        self.weights = weights
        self.epsilon = 0.0 if self.adaptive else float(weights.epsilon)

    @property
    def adaptive(self) -> bool:
        return self.weights.epsilon == 0.0

    def state_dict(self) -> dict[str, float]:
        return {"epsilon": self.epsilon}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.epsilon = float(state["epsilon"])

    def __call__(
        self,
        scale: torch.Tensor,
        image: torch.Tensor,
        caption: torch.Tensor,
        base: torch.Tensor,
        detail: torch.Tensor,
        negative: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and the weighted components (plus ε after this call) for one micro-batch."""
        w = self.weights
        logits = scale * caption @ image.T  # text → image only, local batch, no label smoothing
        contrastive = F.cross_entropy(logits, torch.arange(len(image), device=image.device))
        b = scale * (base * image).sum(-1)  # matched image only
        d = scale * (detail * image).sum(-1)
        n = scale * (negative * image).sum(-1)
        detail_loss = F.relu(self.epsilon + b - d).mean()
        if self.adaptive:
            self.epsilon = float((d.mean() - b.mean()).detach().clamp(0.0, MAX_MARGIN))
        negative_loss = F.relu(self.epsilon + n - b).mean()
        if self.adaptive:
            self.epsilon = float((b.mean() - n.mean()).detach().clamp(0.0, MAX_MARGIN))
        terms = (w.contrastive * contrastive, w.detail * detail_loss, w.negative * negative_loss)
        total = terms[0] + terms[1] + terms[2]
        return total, {
            "contrastive": terms[0].item(),
            "detail": terms[1].item(),
            "negative": terms[2].item(),
            "epsilon": self.epsilon,
        }


def pca_reconstruct(features: torch.Tensor, components: int = 32) -> torch.Tensor:
    """Long-CLIP's primary-component matching: centre on the batch mean, keep the top
    ``components`` right singular vectors, project, reconstruct and add the mean back (not
    re-normalised; gradients flow through the SVD). Half precision is computed in float32, as
    the original casts; float64 stays float64."""
    dtype = torch.promote_types(features.dtype, torch.float32)
    x = features.to(dtype)
    mean = x.mean(dim=0, keepdim=True)
    centred = x - mean
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    basis = vh[:components].T
    return centred @ basis @ basis.T + mean


def _symmetric(scale: torch.Tensor, mine_a: torch.Tensor, mine_b: torch.Tensor, all_a: torch.Tensor,
               all_b: torch.Tensor, targets: torch.Tensor, smoothing: float) -> torch.Tensor:
    a_to_b = F.cross_entropy(scale * mine_a @ all_b.T, targets, label_smoothing=smoothing)
    b_to_a = F.cross_entropy(scale * mine_b @ all_a.T, targets, label_smoothing=smoothing)
    return (a_to_b + b_to_a) / 2


def longclip_loss(
    scale: torch.Tensor,
    image: torch.Tensor,
    long_text: torch.Tensor,
    short_text: torch.Tensor,
    gather: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    rank: int = 0,
    components: int = 32,
    label_smoothing: float = 0.1,
    short_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_long + short_weight·L_short over features gathered from every rank (``gather`` must keep
    gradients). The PCA runs on this rank's local batch before gathering, as the original."""
    image_short = pca_reconstruct(image, components).to(image.dtype)
    targets = rank * len(image) + torch.arange(len(image), device=image.device)
    all_image, all_short_image = gather(image), gather(image_short)
    all_long, all_short = gather(long_text), gather(short_text)
    loss_long = _symmetric(scale, image, long_text, all_image, all_long, targets, label_smoothing)
    loss_short = _symmetric(scale, image_short, short_text, all_short_image, all_short, targets, label_smoothing)
    total = loss_long + short_weight * loss_short
    return total, {"long": loss_long.item(), "short": short_weight * loss_short.item()}
