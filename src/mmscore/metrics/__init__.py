"""Pure metric functions on embeddings, labels and scores: no I/O, no model loading.

``emscore`` (EMScore), ``clip_scores`` (LongCLIP, SPECS, CLIPScore, RefCLIPScore, specificity),
``retrieval`` (recall@K, zero-shot accuracy), ``classification`` (emotion benchmarks), ``text``
(BLEU, ROUGE-L) and ``agreement`` (judge-vs-human statistics, one module per family).

Bad input raises :class:`~mmscore.errors.MetricInputError`, an unknown option
:class:`~mmscore.errors.MetricOptionError`; both read "<what>: expected X, got Y" and are also
``ValueError``. Every module's docstring examples run as doctests in the test suite.
"""
