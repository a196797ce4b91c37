"""Analysis of VMEvalKit-style scorings: per-model/per-domain figures and judge-vs-human statistics.

* :mod:`mmscore.analysis.load` reads a scorer folder into a table (skipped/failed counted, never 0).
* :mod:`mmscore.analysis.pairing` picks one score per item and pairs two scorers.
* :mod:`mmscore.analysis.performance` builds the success-rate tables, CSVs and figures
  (``mmscore analyze plot``).
* :mod:`mmscore.analysis.comparison` runs every agreement statistic and writes ``stats.json``, the
  Markdown report and figures (``mmscore analyze stats``).
* :mod:`mmscore.analysis.plots` / :mod:`mmscore.analysis.style` draw paper-ready figures.

The statistics themselves live in :mod:`mmscore.metrics.agreement` (pure functions).
"""
