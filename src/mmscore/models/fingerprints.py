"""Weights fingerprints remembered by file identity, so a fresh process does not hash the weights again.

Hashing every tensor of a ViT-B/32 takes about 0.4 s, paid by every run of every command only to
write the same fingerprint into its signature. The fingerprint of a weights file (or folder)
depends only on its content, so it is stored under a key made of each file's resolved path, size
and modification time (plus the loading options that change the converted tensors) and read back
while none of them changes. A cache that cannot be read or written is ignored: the fingerprint
is then computed, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Hashable

from mmscore.models.embedding_cache import cache_root

logger = logging.getLogger(__name__)

#: bump when the fingerprint's definition (``weights_fingerprint``) changes
FINGERPRINT_VERSION = 1


def remembered_fingerprint(identity: Hashable, compute: Callable[[], str]) -> str:
    """The fingerprint stored for ``identity`` (file paths, sizes, mtimes, options), else ``compute()``d and stored."""
    key = hashlib.sha256(json.dumps([FINGERPRINT_VERSION, identity], default=str).encode()).hexdigest()
    file = cache_root() / "fingerprints" / f"{key}.txt"
    try:
        stored = file.read_text(encoding="utf-8").strip()
        if stored.startswith("sha256:"):
            return stored
    except OSError:
        pass
    fingerprint = compute()
    try:
        from mmscore.io.atomic import atomic_write_text

        atomic_write_text(file, fingerprint + "\n")
    except OSError as exc:
        logger.debug("cannot remember the fingerprint in %s (%s)", file, exc)
    return fingerprint
