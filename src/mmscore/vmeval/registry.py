"""The scorer registry behind ``mmscore score <name>``, light enough to import for ``--help``.

Built-in judges are lazy ``module:attr`` targets here, so building the command line does not
import the scoring runtime; :func:`mmscore.vmeval.scorers.register_scorer` adds user scorers.
Each entry's help is the sub-command's one-line description.
"""

from __future__ import annotations

from typing import Any

from mmscore.registry import Registry

SCORERS: Registry[Any] = Registry("scorer")
SCORERS.add("gpt4o", "mmscore.vmeval.scorers:GPT4OScorer", "GPT-4o judge (OPENAI_API_KEY).")
SCORERS.add("internvl", "mmscore.vmeval.scorers:InternVLScorer", "InternVL judge via lmdeploy (localhost:23333).")
SCORERS.add("openai-compatible", "mmscore.vmeval.scorers:OpenAICompatibleScorer",
            "Any OpenAI-compatible VLM server (--base-url, --model).")
