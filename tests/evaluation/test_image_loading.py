"""``mmscore.io.images`` (decoding, errors, prefetching batches) and overlapped batch encoding."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmscore.errors import MediaError
from mmscore.io.images import iter_image_batches, load_image
from mmscore.models.encoding import encode_image_sources
from mmscore.testing.media import make_corrupt_file, make_image


def test_load_image_converts_to_rgb(tmp_path: Path) -> None:
    Image.new("RGBA", (5, 4), (10, 20, 30, 128)).save(tmp_path / "a.png")
    Image.new("L", (5, 4), 77).save(tmp_path / "g.png")
    assert load_image(tmp_path / "a.png").mode == "RGB"
    gray = load_image(tmp_path / "g.png")
    assert gray.mode == "RGB" and gray.getpixel((0, 0)) == (77, 77, 77)


def test_load_image_errors_name_the_file(tmp_path: Path, sample_images) -> None:
    with pytest.raises(MediaError, match=r"nope\.png: image file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(MediaError, match="is a directory"):
        load_image(tmp_path)
    with pytest.raises(MediaError, match=r"junk\.jpg: not a readable image"):
        load_image(make_corrupt_file(tmp_path / "junk.jpg"))
    cut = tmp_path / "cut.png"
    cut.write_bytes(Path(sample_images["red"]).read_bytes()[:70])
    with pytest.raises(MediaError, match=r"cut\.png"):
        load_image(cut)


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_batches_keep_order_and_report_failures(tmp_path: Path, sample_images, workers: int) -> None:
    corrupt = make_corrupt_file(tmp_path / "bad.png")
    pil = Image.new("RGB", (3, 3), (1, 2, 3))
    sources = [sample_images["red"], None, corrupt, pil, lambda: Image.new("RGB", (2, 2), (9, 9, 9)),
               tmp_path / "missing.png", sample_images["blue"]]
    batches = list(iter_image_batches(sources, batch_size=3, prepare=lambda im: im.size, workers=workers))
    assert [b.size for b in batches] == [3, 3, 1]
    assert [b.indices for b in batches] == [[0], [3, 4], [6]]
    assert batches[1].items == [(3, 3), (2, 2)]
    errors = {k: v for b in batches for k, v in b.errors.items()}
    assert sorted(errors) == [1, 2, 5]
    assert "empty path" in errors[1] and "bad.png" in errors[2] and "missing.png" in errors[5]


def test_prefetch_is_bounded() -> None:
    started = []
    lock = threading.Lock()

    def source(i: int):
        def build():
            with lock:
                started.append(i)
            return Image.new("RGB", (1, 1))
        return build

    gen = iter_image_batches([source(i) for i in range(40)], batch_size=4, workers=2, prefetch_batches=1)
    next(gen)
    with lock:
        assert max(started) < 4 * 2  # at most the current batch plus one batch ahead were submitted
    gen.close()


def test_overlapped_encoding_equals_plain_encoding(tiny_clip_hf_dir, sample_images, tmp_path: Path) -> None:
    from mmscore.models.clip import load_clip

    encoder = load_clip(tiny_clip_hf_dir, batch_size=2)
    paths = [sample_images[c] for c in ("red", "green", "blue")]
    paths.append(make_image(tmp_path / "wide.jpg", color="yellow", width=90, height=33))
    want = encoder.encode_images([Image.open(p).convert("RGB") for p in paths])
    got = encode_image_sources(encoder, paths, batch_size=3, workers=2)
    assert got.rows == [0, 1, 2, 3] and not got.errors
    np.testing.assert_allclose(got.embeddings.numpy(), want.numpy(), atol=1e-5)

    class NoPixels:  # an encoder that only offers the contract's encode_images
        image_size, embed_dim = encoder.image_size, encoder.embed_dim

        def encode_images(self, images, normalize: bool = True) -> torch.Tensor:
            return encoder.encode_images(images, normalize=normalize)

    fallback = encode_image_sources(NoPixels(), paths + [tmp_path / "gone.png"], batch_size=2, workers=1)
    np.testing.assert_allclose(fallback.embeddings.numpy(), want.numpy(), atol=1e-5)
    assert list(fallback.errors) == [4]
    with pytest.raises(MediaError, match=r"1 image\(s\) could not be read: .*gone\.png"):
        fallback.require_all()


@pytest.mark.parametrize("workers", [0, 2])
def test_on_start_runs_once_before_the_first_batch(workers: int, sample_images) -> None:
    events: list[str] = []
    sources = [sample_images["red"]] * 5
    for batch in iter_image_batches(sources, batch_size=2, workers=workers, on_start=lambda: events.append("start")):
        events.append(f"batch{batch.size}")
    assert events == ["start", "batch2", "batch2", "batch1"]
    empty: list[str] = []
    assert list(iter_image_batches([], workers=workers, on_start=lambda: empty.append("start"))) == []
    assert empty == ["start"]
