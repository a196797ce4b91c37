"""Helpers for mmscore's own test suite: checkpoint writers in every supported format.

The builders the shipped demo needs too live in :mod:`mmscore.fixtures`. They stay importable
under their test-suite names (``mmscore.testing.models``, ``.media``, ``.fake_openai``,
``.experiments``) as the *same* module objects, registered below, so ``from mmscore.testing.media
import make_video`` and monkeypatching either name keep working without a second copy.
"""

import sys

from mmscore.fixtures import experiments, fake_openai, media, models

for _module in (experiments, fake_openai, media, models):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[-1]}"] = _module
