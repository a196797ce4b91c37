"""Image loading: RGB decoding with file-naming errors, and a threaded prefetching batch loader.

Decoding and resizing in Pillow release the GIL, so a couple of worker threads can prepare
the next batch while the encoder (also GIL-free inside torch) runs on the current one. That
overlap is what brings an end-to-end scoring run close to the encoder-only time.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from mmscore.errors import MediaError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def load_image(path: str | os.PathLike[str], mode: str | None = "RGB") -> Image.Image:
    """Open, fully decode and convert an image to ``mode``; any failure is a ``MediaError`` naming it.

    Decoding happens here (``load()``), not lazily later, so a truncated file fails at the
    row that owns it instead of inside a batch. ``mode=None`` keeps the decoded mode: the CLIP
    transform converts to RGB only after resizing and cropping (as OpenAI's does), which gives
    different pixels for palette and transparent images than converting first.
    """
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: image file not found")
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, expected an image file")
    try:
        with Image.open(path) as image:
            image.load()
            return image if mode is None or image.mode == mode else image.convert(mode)
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path}: not a readable image (unknown or corrupt format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated data, decoder errors, permissions
        raise MediaError(f"{path}: cannot decode image: {exc}") from exc


def image_from_array(array: Any) -> Image.Image:
    """An HxWx3 uint8 RGB array (e.g. a CIFAR row) as a PIL image."""
    import numpy as np

    arr = np.asarray(array)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise MediaError(f"expected an HxWx3 uint8 RGB array, got shape {arr.shape} dtype {arr.dtype}")
    return Image.fromarray(arr, mode="RGB")


@dataclass
class ImageBatch:
    """One batch in input order: the prepared items that loaded, and the failures by index."""

    indices: list[int] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.indices) + len(self.errors)


def _load_one(source: Any, prepare: Callable[[Image.Image], Any] | None, mode: str | None) -> Any:
    if source is None:
        raise MediaError("no image given (empty path)")
    if isinstance(source, Image.Image):
        image = source.convert(mode) if mode is not None and source.mode != mode else source
    elif callable(source):
        image = source()
    else:
        image = load_image(source, mode)
    return prepare(image) if prepare is not None else image


def iter_image_batches(
    sources: Sequence[Any], batch_size: int = 64, prepare: Callable[[Image.Image], Any] | None = None,
    workers: int = 2, prefetch_batches: int = 2, on_start: Callable[[], Any] | None = None,
    mode: str | None = "RGB",
) -> Iterator[ImageBatch]:
    """Yield batches of decoded (and optionally ``prepare``-d) images while later ones load.

    ``sources`` holds paths, PIL images, zero-argument callables returning a PIL image, or
    None. At most ``prefetch_batches`` batches are loaded ahead, so memory stays bounded on
    big datasets. Failures (``MediaError`` and other errors from ``prepare``) are reported in
    ``ImageBatch.errors`` with the message; the other images of the batch are kept. Paths and PIL
    images are converted to ``mode`` before ``prepare`` (``None``: left in their own mode).
    ``workers=0`` loads synchronously in the calling thread. ``on_start`` runs once in the calling
    thread right after the first images are queued, so other work (encoding the texts) overlaps
    the filling of the pipeline.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    total = len(sources)
    if workers <= 0:
        if on_start is not None:
            on_start()
            on_start = None
        for start in range(0, total, batch_size):
            batch = ImageBatch()
            for index in range(start, min(start + batch_size, total)):
                _collect(batch, index, lambda i=index: _load_one(sources[i], prepare, mode))
            yield batch
        return
    window = batch_size * (prefetch_batches + 1)
    with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmscore-images") as pool:
        pending: collections.deque[tuple[int, cf.Future[Any]]] = collections.deque()
        next_index = 0
        try:
            for start in range(0, total, batch_size):
                stop = min(start + batch_size, total)
                while next_index < total and next_index < start + window:
                    pending.append((next_index, pool.submit(_load_one, sources[next_index], prepare, mode)))
                    next_index += 1
                if on_start is not None:
                    on_start()
                    on_start = None
                batch = ImageBatch()
                while pending and pending[0][0] < stop:
                    index, future = pending.popleft()
                    _collect(batch, index, future.result)
                yield batch
            if on_start is not None:  # no images at all
                on_start()
        finally:
            for _, future in pending:
                future.cancel()


def _collect(batch: ImageBatch, index: int, get: Callable[[], Any]) -> None:
    try:
        item = get()
    except MediaError as exc:
        batch.errors[index] = str(exc)
        return
    except Exception as exc:  # a failure in ``prepare`` for one image must not end the run
        batch.errors[index] = f"{type(exc).__name__}: {exc}"
        return
    batch.indices.append(index)
    batch.items.append(item)


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder`` (by extension, case-insensitive), sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
