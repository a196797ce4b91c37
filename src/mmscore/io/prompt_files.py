"""Reading a prompt file: a path the user gives, or a file shipped in ``mmscore/prompts/``.

Shared by the judge prompt templates (:mod:`mmscore.vmeval.prompts`) and the emotion inference
prompts (:mod:`mmscore.emotion.infer.prompts`): both identify a prompt by the sha256 of these bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from mmscore.errors import ConfigError, InputError


def shipped_prompt_names(having: str | None = None) -> list[str]:
    """Names of the shipped prompt files (judge templates and inference prompts share the folder);
    with ``having``, only those whose YAML mapping has that top-level key."""
    import yaml

    folder = resources.files("mmscore").joinpath("prompts")
    names = sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    if having is None:
        return names
    return [name for name in names
            if having in (yaml.safe_load(folder.joinpath(f"{name}.yaml").read_bytes()) or {})]


def read_prompt_file(spec: str | os.PathLike[str], noun: str,
                     unknown_hint: Callable[[], str]) -> tuple[bytes, str]:
    """(bytes, where) of ``spec``: a ``.yaml`` path or an existing file, else a shipped name.

    ``noun`` names the thing in errors ("prompt template"); ``unknown_hint()`` lists the choices
    when a shipped name does not exist."""
    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the {noun} ({exc})") from exc
    resource = resources.files("mmscore").joinpath("prompts", f"{spec}.yaml")
    if not resource.is_file():
        raise ConfigError(f"unknown {noun} {str(spec)!r}; {unknown_hint()}; or pass a path to a YAML file")
    return resource.read_bytes(), f"mmscore/prompts/{spec}.yaml"
