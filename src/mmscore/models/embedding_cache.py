"""The one on-disk embedding cache: embeddings of a media file, content-addressed.

An entry is found again only when it would be recomputed identically, so its key combines:

- the file's identity: resolved path, size and modification time (ns) — a file edited in place
  gets a new key, the old entry is simply never read again;
- the sampling (e.g. ``every_n_seconds=1`` for video frames, ``image`` for a still image);
- the encoder's ``cache_namespace``: weights fingerprint, precision, preprocessing, tokenizer.

An entry is a set of named arrays (video frames: ``embeddings [K, D]``, ``indices``,
``timestamps``, ``fps``) in one ``.npz`` file under ``<folder>/<key[:2]>/<key>.npz``. Writes are
atomic (temp + rename), so a killed run leaves the old entry or the new one; an unreadable entry
is a miss, and a read-only cache folder never fails a scoring run. (The judge's response cache,
``mmscore.models.judge``, is a different thing: HTTP replies, not embeddings.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

#: bump when the content of an entry changes meaning (old entries are then never read)
CACHE_VERSION = 2


def cache_root() -> Path:
    """``$MMSCORE_CACHE_DIR``, else ``~/.cache/mmscore``: mmscore's per-user cache folder."""
    root = os.environ.get("MMSCORE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mmscore")
    return Path(root)


def default_cache_dir() -> Path:
    """Where embeddings are cached unless the caller names a folder."""
    return cache_root() / "embeddings"


def file_identity(path: str | os.PathLike[str]) -> tuple[str, int, int] | None:
    """(resolved path, size, mtime in ns) of a file, or None when it cannot be read."""
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError:
        return None
    return str(resolved), int(stat.st_size), int(stat.st_mtime_ns)


def cache_key(path: str | os.PathLike[str], sampling: str, namespace: str) -> str | None:
    """The entry key of ``path`` sampled by ``sampling`` and encoded in ``namespace`` (None: no file)."""
    identity = file_identity(path)
    if identity is None:
        return None
    raw = json.dumps([CACHE_VERSION, *identity, sampling, namespace])
    return hashlib.sha256(raw.encode()).hexdigest()


class EmbeddingCache:
    """Named arrays per key, one ``.npz`` file each (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npz"

    def get(self, key: str | None) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key`` (counted as a hit), or None (a miss)."""
        if key is None:
            return None
        file = self._file(key)
        if not file.exists():
            self.misses += 1
            return None
        try:
            with np.load(file) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable cache entry %s (%s)", file, exc)
            self.misses += 1
            return None
        self.hits += 1
        return arrays

    def put(self, key: str | None, arrays: Mapping[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key`` atomically; a cache that cannot be written is only logged."""
        if key is None:
            return
        from mmscore.io.atomic import atomic_path

        try:
            with atomic_path(self._file(key)) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, **{name: np.asarray(value) for name, value in arrays.items()})
        except OSError as exc:
            logger.warning("cannot write the embedding cache %s (%s)", self.folder, exc)

    def stats(self) -> dict[str, object]:
        return {"dir": str(self.folder), "hits": self.hits, "misses": self.misses}
