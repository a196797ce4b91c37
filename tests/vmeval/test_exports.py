"""The seed's import surface: both scorers reachable from mmscore.vmeval."""

import pytest


def test_human_scorer_is_reexported_lazily() -> None:
    import mmscore.vmeval as vmeval
    from mmscore.human import HumanScorer

    assert vmeval.HumanScorer is HumanScorer
    assert "HumanScorer" in vmeval.__all__
    with pytest.raises(AttributeError):
        vmeval.NoSuchScorer  # noqa: B018
