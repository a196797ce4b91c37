"""DataFlow-compatible names in one place: switch by changing one import.

    from mmscore.dataflow import FileStorage, EMScoreEval, ImageLongCLIPEvaluator

Operator classes are imported lazily, so ``import mmscore.dataflow`` stays light.
"""

from __future__ import annotations

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
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return get_operator(name)
    raise AttributeError(f"module 'mmscore.dataflow' has no attribute {name!r}")
