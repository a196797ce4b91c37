"""Text-overlap metrics for generated explanations: BLEU (sacrebleu) and ROUGE-L (rouge-score).

Why these libraries: sacrebleu is the reference BLEU with a reproducibility signature; the
``rouge-score`` package is Google's reimplementation of the original ROUGE. Neither the
AffectGPT/MERTools nor the Emotion-LLaMA scoring code computes BLEU/ROUGE (see
``shared/reference/emotion.md`` B4), so these are standard corpus metrics, not a reproduction.

Chinese text (EMER's ``chi_reasons``): ``rouge-score``'s default tokenizer keeps only
``[a-z0-9]`` and would silently score every Chinese text as empty, so ``lang="auto"`` switches
both metrics to character-level tokens for CJK text (sacrebleu ``tokenize='zh'``; for ROUGE a
tokenizer that splits CJK characters and keeps ASCII words).

Formulas: BLEU = BP · exp(Σₙ ¼ log pₙ), n = 1..4, BP = min(1, exp(1 − r/c)); ROUGE-L F =
2PR/(P+R) with P = LCS/|hyp|, R = LCS/|ref| (rouge-score's β = 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mmscore.errors import MetricOptionError, require

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_CJK_OR_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[a-z0-9]+")
LANGS = ("auto", "en", "zh")


def has_cjk(texts: Sequence[str]) -> bool:
    return any(_CJK.search(t or "") for t in texts)


def _as_reference_lists(references: Sequence[str] | Sequence[Sequence[str]], n: int) -> list[list[str]]:
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(refs) != n:
        raise MetricOptionError(
            "references", "one reference (or list) per hypothesis", f"{n} hypotheses but {len(refs)} references"
        )
    for i, r in enumerate(refs):
        if not r:
            raise MetricOptionError(f"references of hypothesis {i}", "at least one reference", "none")
    return refs


def _resolve_lang(lang: str, texts: Sequence[str]) -> str:
    if lang not in LANGS:
        raise MetricOptionError("lang", f"one of {', '.join(LANGS)}", repr(lang))
    if lang == "auto":
        return "zh" if has_cjk(texts) else "en"
    return lang


def bleu(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    lang: str = "auto",
    lowercase: bool = False,
) -> dict[str, Any]:
    """Corpus BLEU (0–100) plus per-sentence BLEU (exp smoothing) and the sacrebleu signature.

    ``references[i]`` is a string or a list of strings (all hypotheses need the same count).

    Example: a hypothesis equal to its reference scores 100:

    >>> bleu(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"]
    100.0
    """
    sacrebleu = require("sacrebleu", "emotion")
    hyps = ["" if h is None else str(h) for h in hypotheses]
    refs = _as_reference_lists(references, len(hyps))
    counts = {len(r) for r in refs}
    if len(counts) != 1:
        raise MetricOptionError(
            "references", "the same number per hypothesis for corpus BLEU", f"counts {sorted({len(r) for r in refs})}"
        )
    resolved = _resolve_lang(lang, [t for r in refs for t in r] + hyps)
    metric = sacrebleu.metrics.BLEU(lowercase=lowercase, tokenize="zh" if resolved == "zh" else "13a")
    streams = [list(stream) for stream in zip(*refs, strict=False)]
    corpus = metric.corpus_score(hyps, streams)
    sentence_metric = sacrebleu.metrics.BLEU(lowercase=lowercase, tokenize="zh" if resolved == "zh" else "13a",
                                             effective_order=True)
    per_sentence = [float(sentence_metric.sentence_score(h, r).score) for h, r in zip(hyps, refs, strict=False)]
    return {
        "bleu": float(corpus.score),
        "precisions": [float(p) for p in corpus.precisions],
        "brevity_penalty": float(corpus.bp),
        "sentence_bleu": per_sentence,
        "lang": resolved,
        "signature": str(metric.get_signature()),
    }


class _CJKTokenizer:
    """rouge-score tokenizer: lower-case ASCII words plus one token per CJK character."""

    def tokenize(self, text: str) -> list[str]:
        return _CJK_OR_WORD.findall((text or "").lower())


def rouge_l(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    lang: str = "auto",
    use_stemmer: bool = False,
) -> dict[str, Any]:
    """Mean ROUGE-L precision/recall/F over samples (0–1); several references → best F per sample.

    Example: LCS 3 of a 3-word hypothesis and a 6-word reference: P = 1, R = 1/2, F = 2/3:

    >>> r = rouge_l(["the cat sat"], ["the cat sat on the mat"])
    >>> r["rouge_l_precision"], r["rouge_l_recall"], round(r["rouge_l"], 4)
    (1.0, 0.5, 0.6667)
    """
    require("rouge_score", "emotion")
    from rouge_score import rouge_scorer

    hyps = ["" if h is None else str(h) for h in hypotheses]
    refs = _as_reference_lists(references, len(hyps))
    resolved = _resolve_lang(lang, [t for r in refs for t in r] + hyps)
    tokenizer = _CJKTokenizer() if resolved == "zh" else None
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer, tokenizer=tokenizer)
    per_sample = []
    for h, r in zip(hyps, refs, strict=False):
        score = scorer.score_multi(r, h)["rougeL"] if len(r) > 1 else scorer.score(r[0], h)["rougeL"]
        per_sample.append({"precision": float(score.precision), "recall": float(score.recall),
                           "f": float(score.fmeasure)})
    n = len(per_sample)

    def mean(key: str) -> float:
        return sum(s[key] for s in per_sample) / n if n else float("nan")

    return {
        "rouge_l": mean("f"),
        "rouge_l_precision": mean("precision"),
        "rouge_l_recall": mean("recall"),
        "per_sample": per_sample,
        "lang": resolved,
        "use_stemmer": use_stemmer,
    }
