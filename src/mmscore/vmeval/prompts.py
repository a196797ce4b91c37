"""Versioned judge prompt templates, loaded from YAML files and identified by their sha256.

The shipped template is ``mmscore/prompts/vmeval_final_frame_v1.yaml``; its comments describe the
schema and the placeholders. Every scoring stores ``prompt_name``, ``prompt_version`` and
``prompt_sha256`` (of the file's bytes), so results stay traceable to the exact wording and a run
with a changed prompt re-scores instead of silently reusing old judgements.

The per-task guidance is looked up by *domain*: the task type without ``_task`` (and without a
``generator/`` prefix), matched exactly, falling back to ``default``. The original TASK_PROMPTS
mixed "award 1 point ... 0 otherwise" into a 1-5 rubric; every guidance line here describes what
to compare and leaves the scale to the rubric.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from mmscore.errors import InputError
from mmscore.io.prompt_files import read_prompt_file, shipped_prompt_names

DEFAULT_PROMPT = "vmeval_final_frame_v1"
_REQUIRED = ("name", "version", "system", "user_intro", "labels", "user_outro")
_LABELS = ("first_frame", "expected_final_frame", "generated_final_frame")


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    sha256: str
    system: str
    user_intro: str
    labels: dict[str, str]
    user_outro: str
    reask: str | None
    task_guidance: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def guidance(self, task_type: str) -> str:
        domain = task_type.rsplit("/", 1)[-1].removesuffix("_task")
        return self.task_guidance.get(domain) or self.task_guidance.get("default", "")

    def render(self, text: str, task_type: str, prompt: str) -> str:
        return (
            text.replace("{task_guidance}", self.guidance(task_type))
            .replace("{task_type}", task_type)
            .replace("{prompt}", prompt)
        )


def _builtin_names() -> list[str]:
    return shipped_prompt_names(having="system")  # the folder also holds emotion inference prompts


def load_prompt(spec: str | os.PathLike[str] | None = None) -> PromptTemplate:
    """A shipped template by name (default ``vmeval_final_frame_v1``) or a YAML file path."""
    import yaml

    spec = DEFAULT_PROMPT if spec is None else spec
    data_bytes, source = read_prompt_file(
        spec, "prompt template", lambda: f"shipped templates: {', '.join(_builtin_names())}"
    )
    try:
        data = yaml.safe_load(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{source}: not a valid YAML prompt template ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{source}: a prompt template must be a YAML mapping")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise InputError(
            f"{source}: prompt template lacks {', '.join(missing)} (see the shipped "
            f"{DEFAULT_PROMPT}.yaml for the schema)"
        )
    labels = data["labels"]
    if not isinstance(labels, dict) or any(key not in labels for key in _LABELS):
        raise InputError(f"{source}: 'labels' must define {', '.join(_LABELS)}")
    guidance = data.get("task_guidance") or {}
    if not isinstance(guidance, dict):
        raise InputError(f"{source}: 'task_guidance' must map task domains to text")
    return PromptTemplate(
        name=str(data["name"]),
        version=str(data["version"]),
        sha256=hashlib.sha256(data_bytes).hexdigest(),
        system=str(data["system"]),
        user_intro=str(data["user_intro"]),
        labels={k: str(v) for k, v in labels.items()},
        user_outro=str(data["user_outro"]),
        reask=str(data["reask"]) if data.get("reask") else None,
        task_guidance={str(k): " ".join(str(v).split()) for k, v in guidance.items()},
        source=source,
    )
