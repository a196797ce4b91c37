"""Image–text alignment scores on embeddings: LongCLIP, SPECS, CLIPScore, RefCLIPScore, specificity.

Pure functions: they take embeddings (torch tensors or numpy arrays, any scale; they are
L2-normalised here) and return float32 tensors. Loading models and images is somewhere else
(``mmscore.models.clip``, ``mmscore.io.images``), so these are easy to test and reuse.

Formulas (``cos`` is the cosine between an image and a text embedding):

- LongCLIP score (DataFlow-MM ``ImageLongCLIPEvaluator``): ``clamp((cos + 1) / 2, 0, 1)``.
- SPECS (Chen et al., EMNLP 2025, README): ``clamp((cos + 1) / 2, min=0)``. Numerically the same
  as the LongCLIP score; it is a separate name because it is computed with a SPECS checkpoint.
- CLIPScore (Hessel et al., EMNLP 2021, §3): ``CLIP-S(c, v) = w · max(cos(c, v), 0)`` with
  ``w = 2.5``; the candidate is prefixed with ``"A photo depicts "`` before encoding.
- RefCLIPScore (same paper, §3): ``RefCLIP-S(c, R, v) = H-Mean(CLIP-S(c, v),
  max(max_{r ∈ R} cos(c, r), 0))`` — the harmonic mean of CLIP-S (including the w factor) and
  the best candidate–reference text cosine clipped at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmscore.errors import MetricInputError

#: Hessel et al.'s rescaling weight for CLIP-S.
CLIPSCORE_W = 2.5
#: The prompt prefix of the CLIPScore paper (the reference code appends the trailing space).
CLIPSCORE_PREFIX = "A photo depicts"


def _as_2d(x: Any, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 2:
        raise MetricInputError(name, "a [N, D] embedding matrix", f"shape {tuple(tensor.shape)}")
    return tensor.detach().to(torch.float32).cpu()


def l2_normalize(x: Any, name: str = "embeddings") -> torch.Tensor:
    """Rows scaled to unit length (a zero row stays zero rather than becoming NaN)."""
    tensor = _as_2d(x, name)
    return tensor / tensor.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def paired_cosine(a: Any, b: Any) -> torch.Tensor:
    """Cosine of row i of ``a`` with row i of ``b`` → ``[N]``.

    Example: rows are normalised first, so (3, 4) against (1, 0) gives 3/5:

    >>> paired_cosine(torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]]))
    tensor([0.6000])
    """
    a_n, b_n = l2_normalize(a, "first embeddings"), l2_normalize(b, "second embeddings")
    if a_n.shape != b_n.shape:
        raise MetricInputError(
            "paired embeddings", "two matrices of the same shape", f"{tuple(a_n.shape)} and {tuple(b_n.shape)}"
        )
    return (a_n * b_n).sum(dim=-1)


def longclip_score(image_embeddings: Any, text_embeddings: Any) -> torch.Tensor:
    """LongCLIP alignment ``clamp((cos + 1) / 2, 0, 1)`` per (image, text) pair.

    >>> longclip_score(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]))
    tensor([0.5000])
    """
    return ((paired_cosine(image_embeddings, text_embeddings) + 1.0) / 2.0).clamp(0.0, 1.0)


def specs_score(image_embeddings: Any, text_embeddings: Any) -> torch.Tensor:
    """SPECS ``clamp((cos + 1) / 2, min=0)`` per pair (range [0, 1]; use a SPECS checkpoint).

    >>> specs_score(torch.tensor([[1.0, 0.0]]), torch.tensor([[-1.0, 0.0]]))
    tensor([0.])
    """
    return ((paired_cosine(image_embeddings, text_embeddings) + 1.0) / 2.0).clamp_min(0.0)


def clip_score(image_embeddings: Any, text_embeddings: Any, w: float = CLIPSCORE_W) -> torch.Tensor:
    """CLIP-S ``w · max(cos, 0)`` per pair (Hessel et al. 2021, w = 2.5).

    The clamp is applied per pair before any averaging (torchmetrics averages first; the paper
    does not). Encode candidates with :func:`with_prefix` to match the paper.

    >>> clip_score(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]))
    tensor([1.7678])
    """
    return w * paired_cosine(image_embeddings, text_embeddings).clamp_min(0.0)


def max_reference_cosine(
    candidate_embeddings: Any, reference_embeddings: Any, reference_index: Sequence[int] | Any,
) -> torch.Tensor:
    """``max_{r ∈ R_i} cos(c_i, r)`` for each candidate i (unclipped).

    ``reference_embeddings`` is the flat ``[M, D]`` matrix of every reference and
    ``reference_index[m]`` the candidate row reference ``m`` belongs to. A candidate with no
    reference is an error (RefCLIP-S is undefined for it).

    Example: candidate 0 owns references 0 and 1 (cos 0 and 1), candidate 1 owns reference 2 (cos 0.6):

    >>> c = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> r = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.8, 0.6]])
    >>> max_reference_cosine(c, r, [0, 0, 1])
    tensor([1.0000, 0.6000])
    """
    cands = l2_normalize(candidate_embeddings, "candidate embeddings")
    refs = l2_normalize(reference_embeddings, "reference embeddings")
    index = torch.as_tensor(np.asarray(reference_index), dtype=torch.long).reshape(-1)
    if index.numel() != refs.shape[0]:
        raise MetricInputError(
            "reference_index", f"one entry per reference ({refs.shape[0]})", f"{index.numel()} entries"
        )
    if index.numel() and (index.min() < 0 or index.max() >= cands.shape[0]):
        raise MetricInputError(
            "reference_index", f"candidate indices in [0, {cands.shape[0] - 1}]",
            f"values from {int(index.min())} to {int(index.max())}",
        )
    sims = (cands[index] * refs).sum(dim=-1)
    best = torch.full((cands.shape[0],), float("-inf"))
    best = best.scatter_reduce(0, index, sims, reduce="amax", include_self=True)
    missing = torch.isinf(best).nonzero().flatten().tolist()
    if missing:
        raise MetricInputError(
            f"candidates {missing[:10]} have no reference caption",
            "at least one reference per candidate for RefCLIP-S",
            f"{len(missing)} candidate(s) without one",
        )
    return best


def harmonic_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``2ab / (a + b)``, defined as 0 where ``a + b == 0`` (both scores are non-negative here).

    >>> harmonic_mean(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.0]))
    tensor([0.6667, 0.0000])
    """
    total = a + b
    return torch.where(total > 0, 2.0 * a * b / total.where(total > 0, torch.ones_like(total)), torch.zeros_like(total))


def refclip_score(
    image_embeddings: Any, candidate_embeddings: Any, reference_embeddings: Any,
    reference_index: Sequence[int] | Any, w: float = CLIPSCORE_W,
) -> torch.Tensor:
    """RefCLIP-S = H-Mean(CLIP-S(c, v), max(max_r cos(c, r), 0)) (Hessel et al. 2021, §3).

    The paper clips the reference term at 0; the authors' script (``clipscore.py``) does not,
    which can give a negative or unbounded "harmonic mean". We follow the paper. As in the
    script, references are encoded with the same ``"A photo depicts "`` prefix as candidates.

    Example: CLIP-S = 2.5 * cos 0 deg = 2.5 and the best reference cosine is 1: H-Mean = 2 * 2.5 / 3.5:

    >>> one = torch.tensor([[1.0, 0.0]])
    >>> refclip_score(one, one, one, [0])
    tensor([1.4286])
    """
    clip_s = clip_score(image_embeddings, candidate_embeddings, w=w)
    ref_term = max_reference_cosine(candidate_embeddings, reference_embeddings, reference_index).clamp_min(0.0)
    return harmonic_mean(clip_s, ref_term)


def with_prefix(texts: Sequence[str], prefix: str | None = CLIPSCORE_PREFIX) -> list[str]:
    """Prepend the CLIPScore prompt, adding the separating space as the reference code does.

    >>> with_prefix(["a red square"])
    ['A photo depicts a red square']
    """
    if not prefix:
        return list(texts)
    if not prefix.endswith(" "):
        prefix += " "
    return [prefix + text for text in texts]


# ---------------------------------------------------------------------------------------------
# Intrinsic specificity (SPECS paper, ``evaluation/intrinsic/metric.py::compute_increments``)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecificityResult:
    """Pos/Neg/Avg as fractions in [0, 1] plus how many samples entered the means."""

    pos: float
    neg: float
    avg: float
    n_samples: int
    n_skipped: int
    per_sample_pos: tuple[float, ...]
    per_sample_neg: tuple[float, ...]

    def as_percent(self) -> dict[str, float]:
        return {"Pos": 100.0 * self.pos, "Neg": 100.0 * self.neg, "Avg": 100.0 * self.avg}


def specificity_pairs(
    positive_sims: Sequence[float], negative_sims: Sequence[float], legacy_mask: bool = False,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The comparisons SPECS counts for one image, or None when it has too few captions to count.

    ``positive_sims[k]`` is the image's similarity with the cumulative caption ``captions[k]``;
    ``negative_sims[k]`` with ``neg_captions[k]`` = ``captions[k]`` + a detail taken from another
    image. As in the SPECS script, only the first ``m = min(len(pos), len(neg))`` pairs are
    used (so the last positive is dropped), ``n = m - 1`` and samples with ``n <= 1`` are
    skipped. Returns (``increments[c]``: extending ``captions[c]`` to ``captions[c+1]`` raises the
    score, ``beats_negative[c]``: ``captions[c]`` beats its wrong-detail twin ``neg[c]``) for c < n.

    The original counts entries with ``cos > 0`` to find the real length of a zero-padded row,
    so a model whose matching cosines are negative silently loses samples; we use the actual
    list lengths. ``legacy_mask=True`` reproduces the original's sign-based count.

    >>> increments, beats = specificity_pairs([0.1, 0.3, 0.2, 0.4], [0.0, 0.5, 0.1])
    >>> increments.tolist(), beats.tolist()
    ([True, False], [True, False])
    """
    m_pairs = min(len(positive_sims), len(negative_sims))
    pos = np.asarray(positive_sims[:m_pairs], dtype=np.float64)
    neg = np.asarray(negative_sims[:m_pairs], dtype=np.float64)
    m = int((pos > 0).sum()) if legacy_mask else m_pairs
    n = m - 1
    if n <= 1:
        return None
    return (pos[1:] > pos[:-1])[:n], (pos > neg)[:n]


def specificity_sample(
    positive_sims: Sequence[float], negative_sims: Sequence[float], legacy_mask: bool = False,
) -> tuple[float, float] | None:
    """(pos, neg) fractions for one image (shares of :func:`specificity_pairs`' comparisons that
    hold: Pos = extensions that raise the score, Neg = prefixes that beat their wrong twin), or
    None when it has too few captions to count."""
    pairs = specificity_pairs(positive_sims, negative_sims, legacy_mask=legacy_mask)
    if pairs is None:
        return None
    increments, beats_negative = pairs
    return float(increments.mean()), float(beats_negative.mean())


def specificity(
    positive_sims: Sequence[Sequence[float]], negative_sims: Sequence[Sequence[float]],
    legacy_mask: bool = False,
) -> SpecificityResult:
    """SPECS intrinsic specificity over samples: Pos, Neg and Avg = (Pos + Neg) / 2.

    Pos and Neg are means over the samples that are not skipped (see :func:`specificity_sample`).
    """
    if len(positive_sims) != len(negative_sims):
        raise MetricInputError(
            "specificity", "one negative list per sample",
            f"{len(positive_sims)} positive and {len(negative_sims)} negative lists",
        )
    pos_values: list[float] = []
    neg_values: list[float] = []
    for pos, neg in zip(positive_sims, negative_sims, strict=True):
        result = specificity_sample(pos, neg, legacy_mask=legacy_mask)
        if result is None:
            continue
        pos_values.append(result[0])
        neg_values.append(result[1])
    skipped = len(positive_sims) - len(pos_values)
    if not pos_values:
        raise MetricInputError(
            "specificity: no sample has enough captions", "a sample with at least 3 caption/negative pairs",
            f"{skipped} sample(s), all too short",
        )
    pos_mean, neg_mean = float(np.mean(pos_values)), float(np.mean(neg_values))
    return SpecificityResult(
        pos=pos_mean, neg=neg_mean, avg=(pos_mean + neg_mean) / 2.0, n_samples=len(pos_values),
        n_skipped=skipped, per_sample_pos=tuple(pos_values), per_sample_neg=tuple(neg_values),
    )
