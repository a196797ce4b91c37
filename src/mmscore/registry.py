"""One registry helper for everything looked up by name: operators, scorers, dataset layouts,
emotion presets and model aliases.

Why one helper: each kind used to keep its own dict with its own error message. A
:class:`Registry` gives every kind the same three things --

- registration by decorator (``@OPERATORS.register()``) or call (``OPERATORS.add(name, target)``);
- lazy ``"package.module:attr"`` targets, so listing names never imports torch or gradio;
- an unknown name raises :class:`~mmscore.errors.ConfigError` with "did you mean" suggestions
  and the list of valid names.

``mmscore list`` prints every registry (``mmscore list operators`` one of them).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mmscore.errors import ConfigError

T = TypeVar("T")


def suggest(name: str, choices: list[str], n: int = 3) -> str:
    """`` Did you mean: a, b?`` for close matches of ``name`` (case-insensitive), else ``""``."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return f" Did you mean: {', '.join(lowered[c] for c in close)}?" if close else ""


def load_target(target: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{target!r} is not a 'package.module:attr' target")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"{module_name} has no attribute {attr!r} (registered as {target!r})") from exc


@dataclass
class Registry(Generic[T]):
    """Names → objects of one kind (``kind`` is used in messages, e.g. ``"operator"``)."""

    kind: str
    _entries: dict[str, T | str] = field(default_factory=dict)
    _help: dict[str, str] = field(default_factory=dict)
    case_sensitive: bool = True

    def _key(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def add(self, name: str, target: T | str, help: str = "") -> None:  # noqa: A002 - mirrors CLI "help"
        """Register ``target`` (an object or a lazy ``"module:attr"`` string) under ``name``."""
        key = self._key(name)
        existing = self._entries.get(key)
        if existing is not None and existing is not target and _identity(existing) != _identity(target):
            raise ConfigError(f"{self.kind} name {name!r} is already registered to {_identity(existing)}")
        self._entries[key] = target
        if help or key not in self._help:
            self._help[key] = help or _first_doc_line(target)

    def register(self, name: str | None = None, help: str = "") -> Callable[[T], T]:  # noqa: A002
        """Decorator: register the decorated object under ``name`` (default: its ``name`` attribute,
        else its ``__name__``)."""

        def decorate(obj: T) -> T:
            key = name or getattr(obj, "name", None) or getattr(obj, "__name__", "")
            if not key:
                raise ConfigError(f"{obj!r} needs a name to be registered as a {self.kind}")
            self.add(str(key), obj, help)
            return obj

        return decorate

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def unknown(self, name: str) -> ConfigError:
        """The error for a name that is not registered (with suggestions)."""
        names = self.names()
        return ConfigError(f"unknown {self.kind} {name!r}.{suggest(name, names)} "
                           f"Available: {', '.join(names) or '(none)'}")

    def get(self, name: str) -> T:
        """The object registered as ``name``; lazy targets are imported once and then kept."""
        key = self._key(name)
        if key not in self._entries:
            raise self.unknown(name)
        target = self._entries[key]
        if isinstance(target, str):
            loaded = load_target(target)
            self._entries[key] = loaded
            if not self._help.get(key):
                self._help[key] = _first_doc_line(loaded)
            return loaded
        return target

    def available(self) -> list[str]:
        """Names whose target imports in this installation (optional extras may be missing)."""
        names = []
        for name in self.names():
            try:
                self.get(name)
            except (ConfigError, ImportError):
                continue
            names.append(name)
        return names

    def describe(self) -> list[tuple[str, str]]:
        """``(name, one-line description)`` for every entry, without importing lazy targets."""
        return [(name, self._help.get(name, "")) for name in self.names()]


def _identity(target: Any) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    return f"{module}:{qualname}" if module and qualname else repr(target)


def _first_doc_line(target: Any) -> str:
    if isinstance(target, str):
        return ""
    doc = getattr(target, "description", None) or getattr(target, "__doc__", None) or ""
    return str(doc).strip().splitlines()[0] if str(doc).strip() else ""


#: every registry ``mmscore list`` shows, by the plural used on the command line; lazy, so that
#: listing one kind imports only its module
REGISTRIES: dict[str, str] = {
    "operators": "mmscore.operators.registry:OPERATORS",
    "scorers": "mmscore.vmeval.registry:SCORERS",
    "datasets": "mmscore.evaluation.layouts:LAYOUTS",
    "presets": "mmscore.emotion.presets:PRESET_REGISTRY",
    "models": "mmscore.models.aliases:MODEL_ALIASES",
}


def registry(plural: str) -> Registry[Any]:
    """The registry called ``plural`` (``operators``, ``scorers``, ...), with suggestions."""
    if plural not in REGISTRIES:
        names = sorted(REGISTRIES)
        raise ConfigError(f"unknown list {plural!r}.{suggest(plural, names)} Available: {', '.join(names)}")
    return load_target(REGISTRIES[plural])
