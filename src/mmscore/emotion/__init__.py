"""Emotion recognition and reasoning evaluation (MER2023/2024/2025, DFEW, EMER, custom CSV).

Modules, one job each:

- ``labels``      label sets, the documented answer→label normalisation map, Emotion-LLaMA's rule
- ``presets``     dataset presets (label set + headline metric as the challenge code computes it)
- ``data``        reading gold/prediction tables keyed by video name (duplicates, missing, bad rows)
- ``classify``    discrete-label evaluation (accuracy, WAF, macro F1, UAR/WAR, MER2023 combined)
- ``openvocab``   MER-OV set precision/recall after synonym grouping (released file or LLM judge)
- ``wheel``       MER2025 emotion-wheel variant of the open-vocabulary metric
- ``llm``         judge prompts/parsers on the shared ``mmscore.models.judge`` client (EMER, OV grouping)
- ``emer``        EMER reasoning: LLM-judged clue/label overlap, BLEU and ROUGE-L
- ``report``      tables (rich, Markdown in the seed's benchmark style), CSV and confusion-matrix PNG

The pure arithmetic lives in ``mmscore.metrics.classification`` and ``mmscore.metrics.text``.
"""
