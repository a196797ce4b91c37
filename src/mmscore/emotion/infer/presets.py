"""Inference presets: which prompt, frames and decoding each benchmark's own inference used.

| preset | prompt | frames | decoding (default) | original decoding | scored by |
|---|---|---|---|---|---|
| mer2023 | emotion_llama_mer2023_v1 (9 labels) | first | greedy: T 0, 500 tokens | the same | classify mer2023 |
| mer2024 | emotion_llama_mer2024_v1 (6 labels) | first | greedy: T 0, 500 tokens | the same | classify mer2024 |
| dfew | mmscore_dfew_v1 (OURS, 7 labels) | first | greedy: T 0, 500 tokens | (no original) | classify dfew |
| emer | emotion_llama_emer_v1 (5 questions) | first | greedy: T 0, 500 tokens | the same | emer |
| mer2025-ov | affectgpt_mer2025_ov_v1 | uniform:8 | T 0, 1200 tokens | sampled: T 1, top_p 0.9 | ov |
| mer2025-desc | affectgpt_mer2025_desc_v1 | uniform:8 | T 0, 1200 tokens | sampled: T 1, top_p 0.9 | (LLM step) |
| custom | --prompt FILE | first | T 0, 500 tokens | - | classify custom |

Emotion-LLaMA decodes greedily (``do_sample=False``, ``max_new_tokens=500``; eval_emotion.py and
its yaml); AffectGPT 2025 samples (``temperature=1, top_p=0.9, max_new_tokens=1200``;
inference_hybird.py), which makes a run unrepeatable, so its presets default to temperature 0 and
``--sampling original`` restores the sampled settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmscore.errors import ConfigError

GREEDY_500 = {"temperature": 0.0, "max_tokens": 500}


@dataclass(frozen=True)
class InferPreset:
    name: str
    prompt: str | None  # shipped prompt name; None: --prompt is required
    frames: str
    generation: dict[str, Any]
    original_generation: dict[str, Any] | None
    score: str | None  # classify:<preset> | emer | ov | None
    original_missing_transcript: str = "error"
    notes: dict[str, str] = field(default_factory=dict)


_AFFECTGPT_SAMPLED = {"temperature": 1.0, "top_p": 0.9, "max_tokens": 1200}

PRESETS: dict[str, InferPreset] = {
    "mer2023": InferPreset("mer2023", "emotion_llama_mer2023_v1", "first", GREEDY_500, GREEDY_500,
                           "classify:mer2023", "nan"),
    "mer2024": InferPreset("mer2024", "emotion_llama_mer2024_v1", "first", GREEDY_500, GREEDY_500,
                           "classify:mer2024", "nan"),
    "dfew": InferPreset("dfew", "mmscore_dfew_v1", "first", GREEDY_500, None, "classify:dfew"),
    "emer": InferPreset("emer", "emotion_llama_emer_v1", "first", GREEDY_500, GREEDY_500, "emer", "nan"),
    "mer2025-ov": InferPreset("mer2025-ov", "affectgpt_mer2025_ov_v1", "uniform:8",
                              {"temperature": 0.0, "max_tokens": 1200}, _AFFECTGPT_SAMPLED, "ov", "empty"),
    "mer2025-desc": InferPreset("mer2025-desc", "affectgpt_mer2025_desc_v1", "uniform:8",
                                {"temperature": 0.0, "max_tokens": 1200}, _AFFECTGPT_SAMPLED, None, "empty"),
    "custom": InferPreset("custom", None, "first", GREEDY_500, None, "classify:custom"),
}


def get_infer_preset(name: str) -> InferPreset:
    key = name.lower()
    if key not in PRESETS:
        raise ConfigError(f"unknown inference preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[key]


def generation_settings(preset: InferPreset, sampling: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The request's decoding parameters: the preset's (or its original sampled ones), then flags."""
    if sampling not in ("default", "original"):
        raise ConfigError(f"--sampling must be default or original; got {sampling!r}")
    if sampling == "original":
        if preset.original_generation is None:
            raise ConfigError(f"preset {preset.name} has no original decoding to reproduce (it has no "
                              "published inference code)")
        settings = dict(preset.original_generation)
    else:
        settings = dict(preset.generation)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return settings
