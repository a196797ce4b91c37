"""The one embedding cache: a hit needs the same file identity, sampling and model namespace."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from mmscore.models.embedding_cache import EmbeddingCache, cache_key, file_identity
from mmscore.models.encoding import VideoEmbedding


def _entry() -> dict[str, np.ndarray]:
    return VideoEmbedding(torch.arange(6, dtype=torch.float32).reshape(3, 2), [0, 5, 10], [0.0, 0.5, 1.0],
                          10.0).arrays()


def test_hit_only_for_same_file_sampling_and_model(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"0123456789")
    cache = EmbeddingCache(tmp_path / "cache")
    key = cache_key(video, "every_n_seconds=1", "fp1|float32|pre|tok")
    cache.put(key, _entry())
    got = VideoEmbedding.from_arrays(cache.get(cache_key(video, "every_n_seconds=1", "fp1|float32|pre|tok")))
    assert got.embeddings.tolist() == [[0, 1], [2, 3], [4, 5]] and got.indices == [0, 5, 10]
    assert got.timestamps == [0.0, 0.5, 1.0] and got.fps == 10.0
    assert cache.get(cache_key(video, "every_n_seconds=2", "fp1|float32|pre|tok")) is None  # other sampling
    assert cache.get(cache_key(video, "every_n_seconds=1", "fp2|float32|pre|tok")) is None  # other model
    assert (cache.hits, cache.misses) == (1, 2)
    # the same path through another spelling is the same file
    assert cache_key(tmp_path / "." / "v.mp4", "s", "n") == cache_key(video, "s", "n")
    # content changed (size) or touched (mtime): a new key, the old entry is never read
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cache.get(cache_key(video, "every_n_seconds=1", "fp1|float32|pre|tok")) is None
    video.write_bytes(b"01234567890")
    assert file_identity(video)[1] == 11
    assert cache_key(video, "every_n_seconds=1", "fp1|float32|pre|tok") != key
    assert cache_key(tmp_path / "gone.mp4", "s", "n") is None and cache.get(None) is None


def test_unreadable_entry_is_a_miss_and_a_read_only_cache_never_fails(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    cache = EmbeddingCache(tmp_path / "cache")
    key = cache_key(video, "s", "n")
    cache.put(key, _entry())
    (tmp_path / "cache" / key[:2] / f"{key}.npz").write_bytes(b"not an npz")
    assert cache.get(key) is None and cache.misses == 1
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    EmbeddingCache(blocked).put(key, _entry())  # logged, not raised


def test_fingerprint_remembered_by_file_identity(tmp_path: Path, tiny_clip_hf_dir: Path, monkeypatch) -> None:
    import shutil

    import mmscore.models.clip as clip

    monkeypatch.setenv("MMSCORE_CACHE_DIR", str(tmp_path / "cache"))
    model = Path(shutil.copytree(tiny_clip_hf_dir, tmp_path / "model"))
    first = clip.load_clip(model).fingerprint
    clip._LOADED.clear()

    def no_hashing(*args, **kwargs):
        raise AssertionError("weights hashed again")

    real = clip.weights_fingerprint
    monkeypatch.setattr(clip, "weights_fingerprint", no_hashing)
    assert clip.load_clip(model).fingerprint == first  # a fresh load reads it back
    clip._LOADED.clear()
    weights = model / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: hashed again
    monkeypatch.setattr(clip, "weights_fingerprint", real)
    calls = []
    monkeypatch.setattr(clip, "weights_fingerprint", lambda *a: calls.append(1) or real(*a))
    assert clip.load_clip(model).fingerprint == first and calls == [1]
