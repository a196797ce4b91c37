"""Short model names ``--model`` accepts besides paths and hub ids (``mmscore list models``).

The names themselves are defined where they are resolved (:mod:`mmscore.models.hub`); this
module only exposes them as a :class:`~mmscore.registry.Registry` so that a listing and a "did
you mean" come from the same place as every other name.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmscore.models.hub import DEMO_NAME, KNOWN_HUB_FILES, OPENAI_ALIASES
from mmscore.registry import Registry


@dataclass(frozen=True)
class ModelAlias:
    name: str
    target: str  # what the name resolves to (hub id or shipped file)
    description: str


MODEL_ALIASES: Registry[ModelAlias] = Registry("model name")
MODEL_ALIASES.add(DEMO_NAME, ModelAlias(DEMO_NAME, "shipped demo checkpoint", "tiny CLIP trained on toyworld"),
                  "the shipped demo CLIP (offline, for the demo and smoke runs)")
for _alias, _repo in OPENAI_ALIASES.items():
    MODEL_ALIASES.add(_alias, ModelAlias(_alias, _repo, f"OpenAI CLIP name for {_repo}"), f"-> {_repo}")
for _repo, _file in KNOWN_HUB_FILES.items():
    MODEL_ALIASES.add(_repo, ModelAlias(_repo, f"{_repo}/{_file}", f"hub repo; loads {_file}"),
                      f"hub repo; loads {_file}")
