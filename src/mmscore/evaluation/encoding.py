"""Batched encoding of many images and texts with a CLIP encoder, overlapping image I/O.

Shared by the scoring operators and the evaluation suite. Worker threads decode each image and
apply the encoder's CLIP transform (resize, crop, normalise: the expensive, GIL-free part); the
main thread runs the batched vision transformer on the pixels. The embeddings equal
``encoder.encode_images(pil_images)`` (tested), only the I/O is hidden behind the encoding.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image
from rich.progress import Progress

from mmscore.errors import MediaError
from mmscore.io.images import iter_image_batches
from mmscore.progress import progress_bar

logger = logging.getLogger(__name__)


@dataclass
class EncodedImages:
    """Embeddings for the images that loaded (``rows`` are their input positions) + failures."""

    embeddings: torch.Tensor
    rows: list[int]
    errors: dict[int, str] = field(default_factory=dict)

    def require_all(self, limit: int = 5) -> torch.Tensor:
        """All embeddings in input order, or a ``MediaError`` listing the images that failed."""
        if self.errors:
            shown = [self.errors[i] for i in sorted(self.errors)[:limit]]
            more = f" (and {len(self.errors) - limit} more)" if len(self.errors) > limit else ""
            raise MediaError(f"{len(self.errors)} image(s) could not be read: " + "; ".join(shown) + more)
        return self.embeddings


def image_stages(
    encoder: Any,
) -> tuple[Callable[[Image.Image], Any], Callable[[list[Any]], torch.Tensor], str | None]:
    """(per-image preparation run in worker threads, batch encoder run in the main thread, the
    mode images are decoded to before preparation).

    With an encoder that accepts preprocessed pixels (``encode_pixels``), the whole CLIP
    transform runs in the workers on images in their own mode (the transform converts to RGB
    after resizing and cropping, as OpenAI's does; converting first changes palette and
    transparent images); otherwise workers decode to RGB and ``encode_images`` does the
    transform. Either way the embeddings equal ``encoder.encode_images(images)``.
    """
    if hasattr(encoder, "encode_pixels"):
        def prepare(image: Image.Image) -> torch.Tensor:
            return encoder.preprocess([image])[0]

        def encode(items: list[Any], normalize: bool = True) -> torch.Tensor:
            return encoder.encode_pixels(torch.stack(items), normalize=normalize)

        return prepare, encode, None

    def identity(image: Image.Image) -> Image.Image:
        return image

    def encode_pil(items: list[Any], normalize: bool = True) -> torch.Tensor:
        return encoder.encode_images(items, normalize=normalize)

    return identity, encode_pil, "RGB"


def encode_image_sources(
    encoder: Any, sources: Sequence[Any], batch_size: int = 64, workers: int = 2,
    description: str = "encoding images", normalize: bool = True,
    on_start: Callable[[Progress], Any] | None = None,
) -> EncodedImages:
    """Encode images given as paths / PIL images / callables, keeping the run alive on bad files.

    ``on_start(progress)`` runs while the first batches decode (see ``iter_image_batches``); it
    gets the active progress display so it can add its own task instead of opening a second one.
    """
    prepare, encode, mode = image_stages(encoder)
    chunks: list[torch.Tensor] = []
    rows: list[int] = []
    errors: dict[int, str] = {}
    with progress_bar() as progress:
        task = progress.add_task(description, total=len(sources))
        start = (lambda: on_start(progress)) if on_start is not None else None
        for batch in iter_image_batches(sources, batch_size=batch_size, prepare=prepare, workers=workers,
                                        on_start=start, mode=mode):
            errors.update(batch.errors)
            if batch.items:
                chunks.append(encode(batch.items, normalize=normalize))
                rows.extend(batch.indices)
            progress.advance(task, batch.size)
    for index, message in sorted(errors.items())[:20]:
        logger.warning("image %d skipped: %s", index, message)
    dim = int(getattr(encoder, "embed_dim", 0))
    embeddings = torch.cat(chunks) if chunks else torch.empty(0, dim)
    return EncodedImages(embeddings, rows, errors)


def encode_texts(
    encoder: Any, texts: Sequence[str], batch_size: int = 256, description: str = "encoding texts",
    normalize: bool = True, progress: Progress | None = None,
) -> torch.Tensor:
    """Encode texts in chunks (progress advances per chunk; the encoder batches inside each).

    ``progress``: an already displayed progress to add the task to (rich allows one live display).
    """
    texts = list(texts)
    if not texts:
        return torch.empty(0, int(getattr(encoder, "embed_dim", 0)))
    chunks = []
    with contextlib.ExitStack() as stack:
        if progress is None:
            progress = stack.enter_context(progress_bar())
        task = progress.add_task(description, total=len(texts))
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            chunks.append(encoder.encode_texts(chunk, normalize=normalize))
            progress.advance(task, len(chunk))
    return torch.cat(chunks)
