"""EMScore (Shi et al., CVPR 2022) on embeddings: the official whole-video algorithm.

Pure functions, no model loading and no file access. Inputs are CLIP embeddings:

* a sentence is a :class:`TextEmbedding`: the projected, L2-normalised token embeddings of
  SOT + word pieces + EOT (``tokens`` ``[L, D]``), their vocabulary ids (``ids`` ``[L]``) and the
  global vector = the token at EOT;
* a video is its frame embeddings ``[K, D]`` (normalised here; the video vector is the
  normalised mean of the normalised frames).

Formulas (``c_i`` candidate tokens, ``r_j`` reference tokens, ``f_k`` frames, ``a``/``b`` idf
weights normalised per sentence)::

    EMScore(X,X*):  P = sum_i a_i max_j c_i.r_j     R = sum_j b_j max_i c_i.r_j
    EMScore(X,V):   P = sum_i a_i max_k c_i.f_k     R = 1/K sum_k max_i c_i.f_k
    F = 2PR / (P + R)                 (defined as 0 when P + R = 0; the official code gives NaN)
    cogr = cosine of the global vectors (EOT vs EOT, EOT vs video vector)
    full_P/R/F = (figr_P/R/F + cogr) / 2
    EMScore(X,V,X*): figr_* and cogr are the means of the (X,V) and (X,X*) values; full from those
    several references: figr P, R, F and cogr each the max over the references, independently

Idf (BERTScore style, as the official ``get_idf_dict``): over a corpus of ``N`` documents
tokenised to the model's context width and zero-padded, each document's SET of ids is counted
once; ``idf(t) = ln((N + 1) / (df(t) + 1))``, unseen ids ``ln(N + 1)``; then the weight of the
largest id (EOT) is replaced by the mean idf over every key, pad id 0, SOT and EOT's own value
(0) included. The official corpus is every reference of the table (one entry per
(candidate, reference) pair) or the candidates when there are none; see :func:`official_corpus`.

Deliberate differences from the official code (bugs there, documented here):

* maxima are taken per item (the official batch padding turns negative maxima into 0 for
  items shorter than their batch neighbours);
* ``F`` is 0 rather than NaN when ``P + R = 0``;
* a sentence whose idf weights sum to 0 (every token in every corpus document, e.g. a table with
  one candidate and no reference) gets uniform weights instead of NaN; the result's ``notes``
  say so.

Example::

    >>> import torch
    >>> c = TextEmbedding(torch.eye(3)[:2], torch.tensor([49406, 49407]))
    >>> r = emscore(c, frames=torch.eye(3)[:1], idf=None)
    >>> round(r.scores["EMScore(X,V)"]["figr_R"], 3)
    1.0
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from mmscore.errors import MetricInputError

SOT_ID = 49406
EOT_ID = 49407
XX = "EMScore(X,X*)"
XV = "EMScore(X,V)"
XVX = "EMScore(X,V,X*)"
SCORE_TYPES: tuple[str, ...] = (XX, XV, XVX)
METRICS: tuple[str, ...] = ("figr_P", "figr_R", "figr_F", "cogr", "full_P", "full_R", "full_F")

Scores = dict[str, float]


@dataclass
class TextEmbedding:
    """One sentence: token embeddings SOT..EOT inclusive ``[L, D]`` and their ids ``[L]``.

    ``global_vector`` defaults to the last token (EOT), as in the official code.
    """

    tokens: torch.Tensor
    ids: torch.Tensor
    global_vector: torch.Tensor | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        # stored in the given float precision (float32 keeps a big table small); scored in float64
        tokens = self.tokens if self.tokens.is_floating_point() else self.tokens.float()
        self.tokens = _normalize(tokens)
        self.ids = torch.as_tensor(self.ids, dtype=torch.long).reshape(-1)
        if self.tokens.ndim != 2 or self.tokens.shape[0] != self.ids.shape[0] or self.tokens.shape[0] == 0:
            raise MetricInputError("text embedding", "tokens [L, D] and ids [L] with the same L > 0",
                                   f"{tuple(self.tokens.shape)} and {tuple(self.ids.shape)}")
        vector = self.tokens[-1] if self.global_vector is None else self.global_vector.to(self.tokens.dtype)
        self.global_vector = _normalize(vector.reshape(1, -1))[0]

    def as_float64(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(tokens, global vector) in float64 for scoring."""
        return self.tokens.to(torch.float64), self.global_vector.to(torch.float64)


@dataclass
class IdfTable:
    """Idf weights by token id; ids never seen in the corpus get ``default`` (= ln(N + 1))."""

    weights: dict[int, float]
    default: float
    corpus_size: int

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        values = [self.weights.get(int(i), self.default) for i in ids.tolist()]
        return torch.tensor(values, dtype=torch.float64)


@dataclass
class EMScoreResult:
    """Scores of one candidate: ``scores[score_type][metric]``; absent types are missing keys."""

    scores: dict[str, Scores]
    notes: list[str] = field(default_factory=list)
    frames: list[dict[str, Scores]] | None = None


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


# ----------------------------------------------------------------------------- idf
def compute_idf(documents: Iterable[Sequence[int]] | torch.Tensor) -> IdfTable:
    """Idf over documents given as zero-padded token-id rows (e.g. ``ClipEncoder.tokenize(...).ids``).

    Each row's set of ids counts once (so the pad id 0 is a key, with df = number of rows shorter
    than the context). The largest key (EOT) is then set to the mean over all keys, computed
    with its own pre-override value in the mean, as the official ``get_idf_dict`` does.

    Example: of three documents, token 5 is in two (idf log(4/3)), token 6 in one (log(4/2)) and
    SOT in all (log 1 = 0); idf = log((N + 1) / (df + 1)):

    >>> t = compute_idf([[49406, 5, 49407], [49406, 5, 6, 49407], [49406, 7, 49407]])
    >>> round(t.weights[5], 4), round(t.weights[6], 4), t.weights[49406]
    (0.2877, 0.6931, 0.0)
    """
    rows = documents.tolist() if isinstance(documents, torch.Tensor) else documents
    counts: Counter[int] = Counter()
    n_docs = 0
    for row in rows:
        n_docs += 1
        counts.update({int(t) for t in row})
    if n_docs == 0:
        raise MetricInputError("idf corpus", "at least one document", "an empty corpus")
    weights = {token: math.log((n_docs + 1) / (df + 1)) for token, df in counts.items()}
    weights[max(weights)] = sum(weights.values()) / len(weights)
    return IdfTable(weights, math.log(n_docs + 1), n_docs)


def idf_table_from_mapping(weights: Mapping[int, float]) -> IdfTable:
    """Wrap a precomputed ``{token_id: idf}`` dict (e.g. the official ``get_idf_dict`` output).

    A ``defaultdict`` keeps its default for unseen ids; a plain dict gives unseen ids weight 0.
    """
    factory = getattr(weights, "default_factory", None)
    default = float(factory()) if callable(factory) else 0.0
    return IdfTable({int(k): float(v) for k, v in weights.items()}, default, 0)


def official_corpus(candidates: Sequence[Any], references: Sequence[Sequence[Any]] | None) -> list[Any]:
    """The official idf corpus: every reference flattened (one per (candidate, reference) pair),
    or the candidates when no reference exists anywhere."""
    flat = [ref for group in (references or []) for ref in group]
    return flat if flat else list(candidates)


def sentence_weights(sentence: TextEmbedding, idf: IdfTable | Mapping[int, float] | None,
                     notes: list[str] | None = None, role: str = "sentence") -> torch.Tensor:
    """Weights summing to 1 over the sentence's tokens: idf-normalised, or uniform when ``idf`` is None.

    A zero idf sum (every token present in every corpus document) falls back to uniform weights
    and appends a note, where the official code would produce NaN.
    """
    n = sentence.ids.shape[0]
    if idf is None:
        return torch.full((n,), 1.0 / n, dtype=torch.float64)
    table = idf if isinstance(idf, IdfTable) else idf_table_from_mapping(idf)
    raw = table.lookup(sentence.ids)
    total = float(raw.sum())
    if not math.isfinite(total) or total <= 0.0:
        if notes is not None:
            notes.append(f"{role}: idf weights sum to {total:g}; uniform weights used instead of NaN")
        return torch.full((n,), 1.0 / n, dtype=torch.float64)
    return raw / total


# ----------------------------------------------------------------------------- scores
def f_measure(precision: float, recall: float) -> float:
    """2PR/(P+R), defined as 0.0 when P + R = 0 (never NaN).

    >>> f_measure(0.5, 1.0)
    0.6666666666666666
    """
    denominator = precision + recall
    if denominator == 0.0:
        return 0.0
    return 2.0 * precision * recall / denominator


def _with_full(figr_p: float, figr_r: float, figr_f: float, cogr: float) -> Scores:
    return {
        "figr_P": figr_p, "figr_R": figr_r, "figr_F": figr_f, "cogr": cogr,
        "full_P": (figr_p + cogr) / 2, "full_R": (figr_r + cogr) / 2, "full_F": (figr_f + cogr) / 2,
    }


def text_text_scores(candidate: TextEmbedding, reference: TextEmbedding, cand_weights: torch.Tensor,
                     ref_weights: torch.Tensor) -> Scores:
    """EMScore(X,X*) against one reference: both sides idf-weighted greedy matching."""
    cand, cand_global = candidate.as_float64()
    ref, ref_global = reference.as_float64()
    sim = cand @ ref.T
    precision = float(cand_weights @ sim.max(dim=1).values)
    recall = float(ref_weights @ sim.max(dim=0).values)
    cogr = float(cand_global @ ref_global)
    return _with_full(precision, recall, f_measure(precision, recall), cogr)


def video_vector(frames: torch.Tensor) -> torch.Tensor:
    """Normalised mean of the normalised frame embeddings."""
    return _normalize(_normalize(frames.to(torch.float64)).mean(dim=0, keepdim=True))[0]


def text_video_scores(candidate: TextEmbedding, frames: torch.Tensor, cand_weights: torch.Tensor) -> Scores:
    """EMScore(X,V): precision idf-weighted over tokens, recall a plain mean over frames."""
    frames = _normalize(frames.to(torch.float64))
    if frames.ndim != 2 or frames.shape[0] == 0:
        raise MetricInputError("frames", "a non-empty [K, D] matrix", f"shape {tuple(frames.shape)}")
    cand, cand_global = candidate.as_float64()
    sim = cand @ frames.T
    precision = float(cand_weights @ sim.max(dim=1).values)
    recall = float(sim.max(dim=0).values.mean())
    cogr = float(cand_global @ video_vector(frames))
    return _with_full(precision, recall, f_measure(precision, recall), cogr)


def per_frame_text_video(candidate: TextEmbedding, frames: torch.Tensor, cand_weights: torch.Tensor) -> list[Scores]:
    """EMScore(X,V) of each frame scored alone as a one-frame video (the per-frame view)."""
    frames = _normalize(frames.to(torch.float64))
    cand, cand_global = candidate.as_float64()
    sim = cand @ frames.T                                   # [L, K]
    precisions = (cand_weights[:, None] * sim).sum(dim=0)   # max over one frame = the sim itself
    recalls = sim.max(dim=0).values
    cogrs = frames @ cand_global
    return [
        _with_full(float(p), float(r), f_measure(float(p), float(r)), float(c))
        for p, r, c in zip(precisions, recalls, cogrs, strict=True)
    ]


def max_over_references(per_reference: Sequence[Scores]) -> Scores:
    """figr P, R, F and cogr each maximised independently over references; full from the maxima."""
    if not per_reference:
        raise MetricInputError("reference scores", "the scores of at least one reference", "none")
    best = {m: max(s[m] for s in per_reference) for m in ("figr_P", "figr_R", "figr_F", "cogr")}
    return _with_full(best["figr_P"], best["figr_R"], best["figr_F"], best["cogr"])


def combine_video_and_text(xv: Scores, xx: Scores) -> Scores:
    """EMScore(X,V,X*): mean of the figr values and of cogr, then full from those means."""
    mean = {m: (xv[m] + xx[m]) / 2 for m in ("figr_P", "figr_R", "figr_F", "cogr")}
    return _with_full(mean["figr_P"], mean["figr_R"], mean["figr_F"], mean["cogr"])


def emscore(
    candidate: TextEmbedding, frames: torch.Tensor | None = None,
    references: Sequence[TextEmbedding] = (), idf: IdfTable | Mapping[int, float] | None = None,
    per_frame: bool = False,
) -> EMScoreResult:
    """Every EMScore type the inputs allow for one candidate.

    ``frames`` None -> no (X,V); no references -> no (X,X*) and no (X,V,X*). ``idf`` None means
    uniform token weights (the official ``idf=False``). With ``per_frame`` the result also
    holds, per frame, the scores of that frame scored alone (X,X* repeated, X,V,X* combined).
    """
    notes: list[str] = []
    cand_w = sentence_weights(candidate, idf, notes, "candidate")
    scores: dict[str, Scores] = {}
    xx: Scores | None = None
    if references:
        per_ref = []
        for number, reference in enumerate(references, start=1):
            ref_w = sentence_weights(reference, idf, notes, f"reference {number}")
            per_ref.append(text_text_scores(candidate, reference, cand_w, ref_w))
        xx = max_over_references(per_ref)
        scores[XX] = xx
    frame_scores: list[dict[str, Scores]] | None = None
    if frames is not None:
        scores[XV] = text_video_scores(candidate, frames, cand_w)
        if xx is not None:
            scores[XVX] = combine_video_and_text(scores[XV], xx)
        if per_frame:
            frame_scores = []
            for one in per_frame_text_video(candidate, frames, cand_w):
                entry = {XV: one}
                if xx is not None:
                    entry[XX] = dict(xx)
                    entry[XVX] = combine_video_and_text(one, xx)
                frame_scores.append(entry)
    # keep the official key order
    ordered = {key: scores[key] for key in SCORE_TYPES if key in scores}
    return EMScoreResult(ordered, notes, frame_scores)
