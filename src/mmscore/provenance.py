"""Reproducibility signatures: what produced a number, recorded beside it (like sacrebleu's).

A signature is built from an explicit dict of settings, never from an object's ``__dict__``;
``signature_string`` renders it as ``metric:emscore|enc:...|idf:yes|version:0.1.0`` and
``run_info`` adds the environment (versions of mmscore, python, torch, transformers).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
from collections.abc import Mapping
from typing import Any

from mmscore._version import __version__


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    return str(value)


def signature_string(settings: Mapping[str, Any]) -> str:
    """Render settings as ``key:value|...|version:X`` (version always last)."""
    parts = [f"{key}:{_fmt(value)}" for key, value in settings.items() if key != "version"]
    parts.append(f"version:{__version__}")
    return "|".join(parts)


def package_versions(names: tuple[str, ...] = ("torch", "transformers", "numpy", "av")) -> dict[str, str]:
    out = {"mmscore": __version__, "python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def run_info(settings: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A JSON-able record of a run: settings, signature, versions, time."""
    return {
        "signature": signature_string(settings),
        "settings": dict(settings),
        "versions": package_versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
