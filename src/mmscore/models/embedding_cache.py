"""An on-disk embedding cache so the same images, frames and texts are encoded only once.

Keys combine three things, so a cached vector is reused only when it would be recomputed
identically:
- the encoder's ``cache_namespace``: weights fingerprint + precision + preprocessing id + tokenizer id;
- the kind of input (``image``/``text``);
- a content hash: sha256 of an image file's bytes, of a decoded frame array (shape, dtype, pixels),
  of a PIL image's pixels, or of the text (UTF-8).

Storage is one SQLite file (WAL mode): every insert batch is one transaction, so a crash leaves
either the old or the new rows, never a half-written vector, and several processes can read while
one writes. Vectors are stored as float32 bytes, un-normalised.

Usage::

    cache = EmbeddingCache("~/.cache/mmscore/embeddings.sqlite")
    vectors = cache.get_or_compute(keys, lambda missing: encode(items[i] for i in missing))
    # or let the encoder do it: load_clip(spec, cache=cache) / encoder.cache = cache
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from mmscore.errors import ConfigError


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def hash_array(array: np.ndarray) -> str:
    """Hash of a decoded frame: shape and dtype are part of it (same bytes, other shape ≠ same image)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.shape}|{array.dtype.str}|".encode())
    digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def hash_pil(image: Image.Image) -> str:
    digest = hashlib.sha256(f"{image.mode}|{image.size}|".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_image_input(item: Any) -> str:
    """Content hash for anything ``encode_images`` accepts (path, PIL image, array, tensor)."""
    if isinstance(item, (str, os.PathLike)):
        return "file:" + hash_file(item)
    if isinstance(item, Image.Image):
        return "pil:" + hash_pil(item)
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    if isinstance(item, np.ndarray):
        return "array:" + hash_array(item)
    raise ConfigError(f"cannot hash an image of type {type(item).__name__}")


def make_key(namespace: str, kind: str, content_hash: str) -> str:
    return hashlib.sha256(f"{namespace}\x00{kind}\x00{content_hash}".encode()).hexdigest()


class EmbeddingCache:
    """Key → float32 vector store in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)"
        )
        self._conn.commit()
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):  # SQLite's bound-parameter limit
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, dim, data in self._conn.execute(
                    f"SELECT key, dim, data FROM embeddings WHERE key IN ({marks})", chunk
                ):
                    found[key] = np.frombuffer(data, dtype=np.float32, count=dim).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [
            (k, int(v.size), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items.items()
        ]
        with self._lock, self._conn:  # one transaction
            self._conn.executemany(
                "INSERT OR REPLACE INTO embeddings (key, dim, data) VALUES (?, ?, ?)", rows
            )

    def get_or_compute(
        self, keys: Sequence[str], compute_fn: Callable[[list[int]], torch.Tensor | np.ndarray]
    ) -> torch.Tensor:
        """Vectors for ``keys`` as a float32 [N, D] tensor; ``compute_fn(missing_indices)`` must return
        the rows for the given positions of ``keys`` (in that order). Duplicate keys are computed once."""
        keys = list(keys)
        found = self.get_many(keys)
        first_missing: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key not in found and key not in first_missing:
                first_missing[key] = i
        self.hits += sum(1 for k in keys if k in found)
        self.misses += len(first_missing)
        if first_missing:
            indices = list(first_missing.values())
            computed = compute_fn(indices)
            computed = (
                computed.detach().cpu().float().numpy()
                if isinstance(computed, torch.Tensor)
                else np.asarray(computed, dtype=np.float32)
            )
            if computed.ndim != 2 or len(computed) != len(indices):
                raise ValueError(
                    f"compute_fn returned shape {computed.shape} for {len(indices)} missing keys"
                )
            new = {key: computed[j] for j, key in enumerate(first_missing)}
            self.put_many(new)
            found.update(new)
        if not keys:
            return torch.zeros(0, 0)
        dims = {found[k].size for k in keys}
        if len(dims) != 1:
            raise ValueError(f"cached vectors for these keys have different sizes {sorted(dims)}")
        return torch.from_numpy(np.stack([found[k] for k in keys]))
