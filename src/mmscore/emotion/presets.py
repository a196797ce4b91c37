"""Dataset presets: the label set and the headline metric each benchmark's own code reports.

- ``mer2023``: neutral angry happy sad worried surprise; weighted F1 (WAF); with valence
  ``WAF − 0.25·MSE`` (MER-MULTI/NOISE). Source: MERTools MER2023 ``main-release.py``.
- ``mer2024``: the same six; WAF (SEMI and NOISE tracks). MERTools MER2024 ``main-release.py``.
- ``mer2025``: the same six; WAF (Track 1). MERTools MER2025 ``evaluation.py``.
- ``dfew``: happy sad neutral angry surprise disgust fear (codes 1..7); UAR and WAR.
  jiangxingxun/DFEW ``model_metrics.py``.
- ``custom``: the (normalised) gold labels; weighted F1 and accuracy (the seed's custom CSV).

Numbers are printed the way each benchmark publishes them: MER as fractions with four
decimals (0.9036), DFEW as percentages with two (45.59).
"""

from __future__ import annotations

from dataclasses import dataclass

from mmscore.emotion.labels import DFEW_LABELS, DFEW_NUMERIC, MER_LABELS
from mmscore.registry import Registry


@dataclass(frozen=True)
class Preset:
    name: str
    labels: tuple[str, ...] | None  # None: taken from the gold labels
    headline: tuple[str, ...]  # result keys shown first / in the results table
    headline_names: tuple[str, ...]  # column titles as the published tables write them
    percent: bool  # publish as percentages (DFEW) instead of fractions (MER)
    valence: bool = False  # MER2023 combined score when valence columns are present
    numeric: dict[str, str] | None = None  # numeric gold codes → labels
    description: str = ""


PRESETS: dict[str, Preset] = {
    "mer2023": Preset("mer2023", MER_LABELS, ("weighted_f1",), ("F1 Score",), False, valence=True,
                      description="MER2023 (MER-MULTI/NOISE/SEMI): weighted F1; "
                                  "MULTI/NOISE add WAF - 0.25 x valence MSE"),
    "mer2024": Preset("mer2024", MER_LABELS, ("weighted_f1",), ("F1 Score",), False,
                      description="MER2024 SEMI/NOISE: weighted average F-score"),
    "mer2025": Preset("mer2025", MER_LABELS, ("weighted_f1",), ("F1 Score",), False,
                      description="MER2025 Track 1: weighted average F-score"),
    "dfew": Preset("dfew", DFEW_LABELS, ("uar", "war"), ("UAR", "WAR"), True, numeric=DFEW_NUMERIC,
                   description="DFEW 7 classes: UAR (mean per-class recall) and WAR (accuracy)"),
    "custom": Preset("custom", None, ("weighted_f1", "accuracy"), ("F1 Score", "Accuracy"), False,
                     description="label set taken from the gold file"),
}


#: the presets by name (``mmscore list presets``); names are case-insensitive
PRESET_REGISTRY: Registry[Preset] = Registry("preset", case_sensitive=False)
for _preset in PRESETS.values():
    PRESET_REGISTRY.add(_preset.name, _preset, _preset.description)


def get_preset(name: str | None) -> Preset:
    """The preset called ``name`` (None → ``custom``); unknown names suggest and list the valid ones."""
    return PRESET_REGISTRY.get(name or "custom")
