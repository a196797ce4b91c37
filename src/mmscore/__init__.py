"""mmscore: evaluation of multimodal models, faithful to the published definitions."""

from mmscore._version import __version__
from mmscore.errors import MMScoreError

__all__ = ["MMScoreError", "__version__"]
