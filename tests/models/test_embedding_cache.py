"""The on-disk embedding cache returns identical vectors without recomputing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmscore.models.clip import load_clip
from mmscore.models.embedding_cache import EmbeddingCache, hash_array, hash_image_input, make_key


def test_get_or_compute_counts_and_persists(tmp_path):
    calls = []

    def compute(indices):
        calls.append(list(indices))
        return np.array([[float(i), 2.0 * i] for i in indices], dtype=np.float32)

    path = tmp_path / "emb.sqlite"
    with EmbeddingCache(path) as cache:
        out = cache.get_or_compute(["a", "b", "a", "c"], compute)
        assert calls == [[0, 1, 3]]  # the duplicate "a" is computed once
        assert out.tolist() == [[0, 0], [1, 2], [0, 0], [3, 6]]
        again = cache.get_or_compute(["c", "a"], compute)
        assert calls == [[0, 1, 3]] and again.tolist() == [[3, 6], [0, 0]]
        assert (cache.hits, cache.misses) == (2, 3) and len(cache) == 3
    with EmbeddingCache(path) as reopened:  # persisted on disk
        assert reopened.get_or_compute(["b"], compute).tolist() == [[1, 2]] and len(calls) == 1
        with pytest.raises(ValueError, match="returned shape"):
            reopened.get_or_compute(["new"], lambda idx: np.zeros((2, 2)))


def test_keys_depend_on_content_and_namespace():
    a = np.zeros((2, 2, 3), dtype=np.uint8)
    assert hash_array(a) != hash_array(a.reshape(3, 2, 2))  # same bytes, other shape
    assert hash_image_input(a) == hash_image_input(a.copy())
    assert make_key("enc1", "image", "h") != make_key("enc2", "image", "h") != make_key("enc1", "text", "h")


def test_encoder_uses_the_cache(formats77, rgb_batch, tmp_path, monkeypatch):
    plain = load_clip(formats77["openai"])
    enc = load_clip(formats77["openai"], cache=tmp_path / "c.sqlite")
    texts = ["a red square", "a blue circle"]
    first_img, first_txt = enc.encode_images(rgb_batch), enc.encode_texts(texts)
    torch.testing.assert_close(first_img, plain.encode_images(rgb_batch), atol=1e-6, rtol=0)
    torch.testing.assert_close(first_txt, plain.encode_texts(texts), atol=1e-6, rtol=0)

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(enc, "_encode_items", boom)
    monkeypatch.setattr(enc, "_run_text", boom)
    assert torch.equal(enc.encode_images(rgb_batch), first_img)
    assert torch.equal(enc.encode_texts(list(reversed(texts))), first_txt.flip(0))
    # another model (other fingerprint) never reads these vectors
    other = load_clip(formats77["torchscript"], heads=1, cache=enc.cache)
    assert other.cache_namespace != enc.cache_namespace
    assert not torch.allclose(other.encode_texts(texts), first_txt)
