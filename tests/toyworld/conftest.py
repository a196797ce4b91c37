"""Shared fixture: ``tools/train_demo_clip.py`` loaded as a module (it is a script, not package code)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_demo_clip.py"


@pytest.fixture(scope="session")
def train_tool():
    spec = importlib.util.spec_from_file_location("train_demo_clip", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_demo_clip"] = module
    spec.loader.exec_module(module)
    return module
