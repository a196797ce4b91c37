"""Registry of operators by name, for ``mmscore run pipeline.yaml`` (``mmscore run --list``).

A name mmscore does not know is looked up in DataFlow's ``OPERATOR_REGISTRY`` when open-dataflow
is installed, so a pipeline file can mix DataFlow operators with mmscore's.

Entries are lazy ``"module:attr"`` targets (:class:`mmscore.registry.Registry`), so listing or
building one operator never imports the heavy modules (torch, gradio) of the others.
"""

from __future__ import annotations

from typing import Any

from mmscore.errors import ConfigError
from mmscore.registry import Registry

OPERATORS: Registry[type] = Registry("operator")
for _name, _target, _help in (
    # built-in light operators
    ("TextStatsEvaluator", "mmscore.operators.text_stats:TextStatsEvaluator", "word/char counts of a text column"),
    ("MediaPathChecker", "mmscore.operators.media_check:MediaPathChecker", "checks that media paths open"),
    ("CaptionTokenCounter", "mmscore.operators.token_count:CaptionTokenCounter", "CLIP tokens vs the context"),
    # seed-compatible evaluators
    ("EMScoreEval", "mmscore.operators.emscore:EMScoreEval", "EMScore of video captions"),
    ("ImageLongCLIPEvaluator", "mmscore.operators.image_text:ImageLongCLIPEvaluator", "LongCLIP image-text score"),
    ("ImageSPECSEvaluator", "mmscore.operators.image_text:ImageSPECSEvaluator", "SPECS image-text score"),
    ("CLIPScoreEvaluator", "mmscore.operators.image_text:CLIPScoreEvaluator", "CLIPScore (Hessel et al.)"),
    ("RefCLIPScoreEvaluator", "mmscore.operators.image_text:RefCLIPScoreEvaluator", "RefCLIPScore"),
):
    OPERATORS.add(_name, _target, _help)


def register_operator(name: str, target: str | type) -> None:
    """Register an operator class (or a lazy ``"module:attr"`` string) under ``name``."""
    OPERATORS.add(name, target)


def list_operators() -> list[str]:
    """Names of every operator whose module is importable."""
    return OPERATORS.available()


def get_operator(name: str) -> type:
    """Return the operator class registered under ``name``: mmscore's, else DataFlow's (when
    installed); an unknown name suggests the closest ones."""
    if name not in OPERATORS:
        from mmscore.dataflow import dataflow_installed, dataflow_operator  # imports DataFlow only if installed

        found = dataflow_operator(name)
        if found is not None:  # a DataFlow operator, run on mmscore's storage
            return found
        error = OPERATORS.unknown(name)
        if dataflow_installed():
            raise ConfigError(str(error).replace(f"{name!r}.", f"{name!r} (nor in DataFlow's OPERATOR_REGISTRY).", 1))
        raise error
    try:
        return OPERATORS.get(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("mmscore"):
            raise ConfigError(f"operator {name!r} is not available in this build") from exc
        raise


def build_operator(name: str, args: dict[str, Any] | None = None) -> Any:
    """Instantiate a registered operator with keyword arguments (errors name the operator)."""
    cls = get_operator(name)
    try:
        return cls(**(args or {}))
    except TypeError as exc:
        raise ConfigError(f"operator {name!r}: bad arguments {args!r}: {exc}") from exc
