"""Example data shipped with mmscore (used by ``mmscore demo``)."""
