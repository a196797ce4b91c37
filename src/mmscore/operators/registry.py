"""Registry of operators by name, for ``mmscore run pipeline.yaml``.

A name mmscore does not know is looked up in DataFlow's ``OPERATOR_REGISTRY`` when open-dataflow
is installed, so a pipeline file can mix DataFlow operators with mmscore's.

Entries are lazy ``"module:attr"`` targets, so listing or building one operator never imports
the heavy modules (torch, gradio) of the others.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from mmscore.errors import ConfigError

_REGISTRY: dict[str, str | type] = {
    # built-in light operators
    "TextStatsEvaluator": "mmscore.operators.text_stats:TextStatsEvaluator",
    "MediaPathChecker": "mmscore.operators.media_check:MediaPathChecker",
    # seed-compatible evaluators
    "EMScoreEval": "mmscore.operators.emscore:EMScoreEval",
    "ImageLongCLIPEvaluator": "mmscore.operators.image_text:ImageLongCLIPEvaluator",
    "ImageSPECSEvaluator": "mmscore.operators.image_text:ImageSPECSEvaluator",
    "CLIPScoreEvaluator": "mmscore.operators.image_text:CLIPScoreEvaluator",
    "RefCLIPScoreEvaluator": "mmscore.operators.image_text:RefCLIPScoreEvaluator",
}


def register_operator(name: str, target: str | type) -> None:
    """Register an operator class (or a lazy ``"module:attr"`` string) under ``name``."""
    existing = _REGISTRY.get(name)
    if existing is not None and existing != target and not _same_class(existing, target):
        raise ConfigError(f"operator name {name!r} is already registered to {existing!r}")
    _REGISTRY[name] = target


def _same_class(a: str | type, b: str | type) -> bool:
    def key(x: str | type) -> str:
        return x if isinstance(x, str) else f"{x.__module__}:{x.__qualname__}"

    return key(a) == key(b)


def list_operators() -> list[str]:
    """Names of every operator whose module is importable."""
    names = []
    for name in sorted(_REGISTRY):
        try:
            get_operator(name)
        except (ConfigError, ImportError):
            continue
        names.append(name)
    return names


def get_operator(name: str) -> type:
    """Return the operator class registered under ``name`` (with a suggestion for typos)."""
    target = _REGISTRY.get(name)
    if target is None:
        from mmscore.dataflow import dataflow_installed, dataflow_operator  # imports DataFlow only if installed

        found = dataflow_operator(name)
        if found is not None:  # a DataFlow operator, run on mmscore's storage
            return found
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        also = " (nor in DataFlow's OPERATOR_REGISTRY)" if dataflow_installed() else ""
        raise ConfigError(f"unknown operator {name!r}{also}.{hint} Available: {', '.join(sorted(_REGISTRY))}")
    if isinstance(target, str):
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("mmscore"):
                raise ConfigError(f"operator {name!r} is not available in this build ({target})") from exc
            raise
        target = getattr(module, attr)
        _REGISTRY[name] = target
    return target


def build_operator(name: str, args: dict[str, Any] | None = None) -> Any:
    """Instantiate a registered operator with keyword arguments (errors name the operator)."""
    cls = get_operator(name)
    try:
        return cls(**(args or {}))
    except TypeError as exc:
        raise ConfigError(f"operator {name!r}: bad arguments {args!r}: {exc}") from exc
