"""DataFlow-compatible names in one place: switch by changing one import.

    from mmscore.dataflow import FileStorage, EMScoreEval, ImageLongCLIPEvaluator

Operator classes are imported lazily, so ``import mmscore.dataflow`` stays light when DataFlow is
not installed; nothing of DataFlow is imported then.

When ``open-dataflow`` is installed, importing this module makes mmscore's operators and storage
DataFlow citizens (:func:`register_with_dataflow`): ``Operator`` is registered as a virtual
``OperatorABC`` and ``FileStorage`` as a virtual ``DataFlowStorage`` (so ``PipelineABC.compile()``
records mmscore operators instead of running them, and accepts mmscore's storage), and every
operator class is put in DataFlow's ``OPERATOR_REGISTRY`` under its seed name (``EMScoreEval``,
``ImageLongCLIPEvaluator``, ...). Virtual registration changes no class hierarchy: mmscore's
behaviour is the same with or without DataFlow. DataFlow's registry holds classes, not names, so
with DataFlow installed this import loads every operator class (torch included: about 2 s on an
idle 2-core machine, the cost of the first operator anyway).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from mmscore.io.storage import FileStorage
from mmscore.operators.base import Operator
from mmscore.operators.registry import get_operator

if TYPE_CHECKING:  # static names for type checkers; at run time they come from __getattr__
    from mmscore.operators.emscore import EMScoreEval
    from mmscore.operators.image_text import (
        CLIPScoreEvaluator,
        ImageLongCLIPEvaluator,
        ImageSPECSEvaluator,
        RefCLIPScoreEvaluator,
    )
    from mmscore.operators.media_check import MediaPathChecker
    from mmscore.operators.text_stats import TextStatsEvaluator

log = logging.getLogger(__name__)

__all__ = [
    "FileStorage",
    "Operator",
    "EMScoreEval",
    "ImageLongCLIPEvaluator",
    "ImageSPECSEvaluator",
    "CLIPScoreEvaluator",
    "RefCLIPScoreEvaluator",
    "TextStatsEvaluator",
    "MediaPathChecker",
    "dataflow_installed",
    "register_with_dataflow",
    "dataflow_operator",
]
#: the operator classes (seed names), loaded lazily through mmscore's registry
OPERATOR_NAMES = tuple(name for name in __all__[2:] if name[0].isupper())

_registered = False


def __getattr__(name: str) -> Any:
    if name in OPERATOR_NAMES:
        return get_operator(name)
    raise AttributeError(f"module 'mmscore.dataflow' has no attribute {name!r}")


def dataflow_installed() -> bool:
    """True if the ``dataflow`` package (open-dataflow) can be imported; imports nothing."""
    try:
        return importlib.util.find_spec("dataflow") is not None
    except (ImportError, ValueError):
        return False


def register_with_dataflow() -> bool:
    """Register mmscore's operators and storage with DataFlow; False (and nothing imported) without it.

    Idempotent. An operator name DataFlow already holds (e.g. DataFlow-MM's own ``EMScoreEval``)
    is left to DataFlow's class, as its registry does for any duplicate.
    """
    global _registered
    if _registered:
        return True
    if not dataflow_installed():
        return False
    try:
        from dataflow.core import OperatorABC
        from dataflow.utils.registry import OPERATOR_REGISTRY
        from dataflow.utils.storage import DataFlowStorage
    except Exception as exc:  # noqa: BLE001 - a broken third-party install must not break mmscore
        log.warning("open-dataflow is installed but cannot be imported (%s); mmscore runs without it", exc)
        return False
    OperatorABC.register(Operator)
    DataFlowStorage.register(FileStorage)
    for name in OPERATOR_NAMES:
        try:
            cls = get_operator(name)
        except ImportError as exc:  # an optional dependency of that operator is missing
            log.info("operator %s not registered with DataFlow: %s", name, exc)
            continue
        if name not in OPERATOR_REGISTRY:
            OPERATOR_REGISTRY.register(cls)
        elif OPERATOR_REGISTRY.get_obj_map()[name] is not cls:
            log.info("DataFlow already has an operator named %s; its class is kept", name)
    _registered = True
    return True


def dataflow_operator(name: str) -> type | None:
    """DataFlow's operator class called ``name``, or None (DataFlow absent or no such operator)."""
    if not register_with_dataflow():
        return None
    from dataflow.utils.registry import OPERATOR_REGISTRY

    try:
        return OPERATOR_REGISTRY.get(name)
    except (KeyError, AssertionError):
        return None


register_with_dataflow()
