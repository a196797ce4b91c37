"""Encode many images, video frames or texts with one encoder: batched, pipelined, cached.

The one place where media meets a model, used by EMScore, the image–text scores, the
evaluation suite and the sharded engines:

* :class:`Encoder` — the typed protocol every CLIP-family encoder satisfies
  (``mmscore.models.clip.ClipEncoder``); :class:`ImageEncoder` / :class:`PixelEncoder` /
  :class:`TextEncoder` are the smaller parts a function may need;
* :func:`encode_image_sources` — images (paths, PIL images, callables) decoded and preprocessed
  in worker threads while the main thread runs the batched vision transformer;
* :func:`encode_videos` — sampled video frames, decoded in worker threads, encoded in batches
  shared across videos, cached in :class:`~mmscore.models.embedding_cache.EmbeddingCache`;
  frames already decoded elsewhere (a distributed engine's CPU stage) go in as they are;
* :func:`encode_texts` (pooled) and :func:`encode_sentences` (token level, for EMScore).

The embeddings equal the encoder's plain ``encode_images`` / ``encode_texts`` (tested); only
the I/O is hidden behind the encoding.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image
from rich.progress import Progress

from mmscore.errors import MediaError
from mmscore.io.images import iter_image_batches
from mmscore.io.media import SampledFrames, SamplingSpec, default_workers, iter_sample_with_spec
from mmscore.metrics.emscore import TextEmbedding
from mmscore.models.embedding_cache import EmbeddingCache, cache_key
from mmscore.models.tokenizer import TokenizedTexts
from mmscore.progress import progress_bar

logger = logging.getLogger(__name__)

#: texts encoded per forward chunk (token tensors are [chunk, context, D]: keep memory bounded)
TEXT_CHUNK = 256
#: frames in the first forward of a video job: small, so the encoder starts while the next videos
#: still decode instead of waiting for a full batch (later batches are full)
FIRST_FRAME_BATCH = 16


# ----------------------------------------------------------------------------- protocols
@runtime_checkable
class ImageEncoder(Protocol):
    """The least an image encoder offers: PIL images (or paths) in, ``[N, D]`` embeddings out."""

    embed_dim: int

    def encode_images(self, images: Any, normalize: bool = True) -> torch.Tensor: ...


@runtime_checkable
class PixelEncoder(Protocol):
    """An image encoder whose transform and forward pass can run apart (transform in threads)."""

    embed_dim: int

    def preprocess(self, images: Any) -> torch.Tensor: ...

    def encode_pixels(self, pixels: torch.Tensor, normalize: bool = True) -> torch.Tensor: ...


@runtime_checkable
class TextEncoder(Protocol):
    """Texts in, pooled ``[N, D]`` embeddings out."""

    embed_dim: int
    n_truncated: int

    def encode_texts(self, texts: list[str], normalize: bool = True) -> Any: ...


@runtime_checkable
class Encoder(ImageEncoder, PixelEncoder, TextEncoder, Protocol):
    """A CLIP-family encoder as the operators use it (``mmscore.models.clip.ClipEncoder``)."""

    name: str
    fingerprint: str
    batch_size: int
    context_length: int
    image_size: int

    @property
    def cache_namespace(self) -> str: ...

    def tokenize(self, texts: list[str]) -> TokenizedTexts: ...


def truncated_count(encoder: TextEncoder) -> int:
    """Texts the encoder truncated so far (a running count: callers take differences)."""
    return int(encoder.n_truncated)


# ----------------------------------------------------------------------------- images
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
    encoder: ImageEncoder | PixelEncoder,
) -> tuple[Callable[[Image.Image], Any], Callable[..., torch.Tensor], str | None]:
    """(per-image preparation run in worker threads, batch encoder run in the main thread, the
    mode images are decoded to before preparation).

    A :class:`PixelEncoder` gets the whole CLIP transform in the workers, on images in their own
    mode (the transform converts to RGB after resizing and cropping, as OpenAI's does; converting
    first changes palette and transparent images); a plain :class:`ImageEncoder` gets RGB images
    and does the transform itself. Either way the embeddings equal ``encoder.encode_images``.
    """
    if isinstance(encoder, PixelEncoder):
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
    encoder: ImageEncoder | PixelEncoder, sources: Sequence[Any], batch_size: int = 64, workers: int = 2,
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
    embeddings = torch.cat(chunks) if chunks else torch.empty(0, int(encoder.embed_dim))
    return EncodedImages(embeddings, rows, errors)


# ----------------------------------------------------------------------------- texts
def encode_texts(
    encoder: TextEncoder, texts: Sequence[str], batch_size: int = 256, description: str = "encoding texts",
    normalize: bool = True, progress: Progress | None = None,
) -> torch.Tensor:
    """Pooled embeddings of ``texts`` in chunks (progress advances per chunk; the encoder batches
    inside each). ``progress``: an already displayed progress to add the task to."""
    texts = list(texts)
    chunks = []
    with contextlib.ExitStack() as stack:
        if progress is None:
            progress = stack.enter_context(progress_bar())
        task = progress.add_task(description, total=len(texts))
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            chunks.append(encoder.encode_texts(chunk, normalize=normalize))
            progress.advance(task, len(chunk))
    if not chunks:
        return torch.empty(0, int(encoder.embed_dim))
    return torch.cat(chunks)


def encode_sentences(encoder: Encoder, texts: Sequence[str], advance: Callable[[int], None] | None = None
                     ) -> dict[str, TextEmbedding]:
    """Token embeddings (SOT..EOT, normalised) of each distinct text, in chunks of batches."""
    out: dict[str, TextEmbedding] = {}
    unique = list(dict.fromkeys(texts))
    for start in range(0, len(unique), TEXT_CHUNK):
        chunk = unique[start:start + TEXT_CHUNK]
        encoded = encoder.encode_texts(chunk, return_tokens=True, normalize=True)
        for row, text in enumerate(chunk):
            length = int(encoded.lengths[row])
            out[text] = TextEmbedding(encoded.tokens[row, :length].clone(), encoded.ids[row, :length].clone(),
                                      truncated=bool(encoded.truncated[row]))
        if advance is not None:
            advance(len(chunk))
    return out


# ----------------------------------------------------------------------------- videos
@dataclass
class VideoEmbedding:
    """Normalised frame embeddings ``[K, D]`` of one video with where the frames were."""

    embeddings: torch.Tensor
    indices: list[int]
    timestamps: list[float]
    fps: float

    def arrays(self) -> dict[str, np.ndarray]:
        return {"embeddings": self.embeddings.numpy().astype(np.float32),
                "indices": np.asarray(self.indices, dtype=np.int64),
                "timestamps": np.asarray(self.timestamps, dtype=np.float64), "fps": np.float64(self.fps)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> VideoEmbedding:
        return cls(torch.from_numpy(arrays["embeddings"].astype(np.float32)),
                   arrays["indices"].astype(int).tolist(), arrays["timestamps"].astype(float).tolist(),
                   float(arrays["fps"]))


class _FrameBatcher:
    """Frames of consecutive videos packed into forward batches; a video is done when its last
    frame is encoded. The first batch is small so the encoder starts early."""

    def __init__(self, encoder: PixelEncoder, batch: int, done: Callable[[Path, SampledFrames, torch.Tensor], None]):
        self.encoder, self.batch, self.done = encoder, batch, done
        self.first = min(batch, FIRST_FRAME_BATCH)
        self.waiting: collections.deque[list[Any]] = collections.deque()  # [path, sampled, remaining, parts]
        self.chunks: collections.deque[torch.Tensor] = collections.deque()
        self.buffered = 0
        self.started = False

    def add(self, path: Path, sampled: SampledFrames, pixels: torch.Tensor) -> None:
        self.waiting.append([path, sampled, len(pixels), []])
        self.chunks.append(pixels)
        self.buffered += len(pixels)

    def _take(self, count: int) -> torch.Tensor:
        pieces, need = [], count
        while need:
            head = self.chunks.popleft()
            if len(head) > need:
                self.chunks.appendleft(head[need:])
                head = head[:need]
            pieces.append(head)
            need -= len(head)
        self.buffered -= count
        return torch.cat(pieces)

    def flush(self, final: bool) -> None:
        while self.buffered and (final or self.buffered >= (self.batch if self.started else self.first)):
            size = min(self.batch if self.started else self.first, self.buffered)
            self.started = True
            embedded = self.encoder.encode_pixels(self._take(size), normalize=True)
            offset = 0
            while offset < size:
                entry = self.waiting[0]
                count = min(entry[2], size - offset)
                entry[3].append(embedded[offset:offset + count])
                entry[2] -= count
                offset += count
                if entry[2] == 0:
                    path, sampled, _, parts = self.waiting.popleft()
                    self.done(path, sampled, torch.cat(parts))


def _calling_once(paths: Sequence[Path], after: int, callback: Callable[[], Any] | None) -> Iterator[Path]:
    """``paths``, running ``callback`` once ``after`` of them were handed out (so it overlaps their
    decoding), or at the end when there are fewer."""
    for position, path in enumerate(paths):
        if position == after and callback is not None:
            callback()
            callback = None
        yield path
    if callback is not None:
        callback()


def encode_videos(
    encoder: Encoder, paths: Sequence[Path], spec: SamplingSpec, *, namespace: str,
    cache: EmbeddingCache | None = None, workers: int | None = None, advance: Callable[[], None] | None = None,
    decoded: Mapping[Path, SampledFrames] | None = None, on_start: Callable[[], Any] | None = None,
) -> dict[Path, VideoEmbedding | str]:
    """Frame embeddings of every video (or its error message), frames encoded in shared batches.

    Decoding and preprocessing run in worker threads ahead of the calling thread, which encodes
    batches of ``encoder.batch_size`` frames drawn from consecutive videos (the first batch is
    smaller, so the encoder starts as soon as a few frames are ready); about two batches of
    frames are kept in flight. ``decoded``: frames sampled elsewhere (e.g. a distributed engine's
    CPU stage), used instead of decoding those paths again. ``on_start`` runs in the calling
    thread while the first videos decode (EMScore encodes its texts there). ``namespace``: the
    encoder's cache namespace (keys of ``cache``).
    """
    advance = advance or (lambda: None)
    decoded = decoded or {}
    out: dict[Path, VideoEmbedding | str] = {}
    keys = {path: cache_key(path, spec.key(), namespace) if cache is not None else None for path in paths}
    todo: list[Path] = []
    for path in paths:
        hit = cache.get(keys[path]) if cache is not None else None
        if hit is not None:
            out[path] = VideoEmbedding.from_arrays(hit)
            advance()
        else:
            todo.append(path)

    def finish(path: Path, sampled: SampledFrames, embeddings: torch.Tensor) -> None:
        value = VideoEmbedding(embeddings, list(sampled.indices), list(sampled.timestamps), sampled.fps)
        out[path] = value
        if cache is not None:
            cache.put(keys[path], value.arrays())
        advance()

    batcher = _FrameBatcher(encoder, max(1, int(encoder.batch_size)), finish)
    threads = workers or default_workers()
    for path, item in zip(todo, _sampled(encoder, todo, spec, decoded, threads, batcher, on_start), strict=True):
        if isinstance(item, MediaError):
            out[path] = str(item)
            advance()
            continue
        batcher.add(path, *item)
        batcher.flush(final=False)
    batcher.flush(final=True)
    return out


def _sampled(encoder: PixelEncoder, todo: Sequence[Path], spec: SamplingSpec, decoded: Mapping[Path, SampledFrames],
             threads: int, batcher: _FrameBatcher, on_start: Callable[[], Any] | None) -> Iterable[Any]:
    """(sampled frames, pixels) or a ``MediaError`` per path of ``todo``, in order."""

    def prepare(sampled: SampledFrames) -> tuple[SampledFrames, torch.Tensor]:
        pixels = encoder.preprocess(sampled.frames)
        sampled.frames = []  # the pixels are all that is needed now: free the RGB frames
        return sampled, pixels

    if all(path in decoded for path in todo):
        if on_start is not None:
            on_start()
        return (prepare(decoded[path]) for path in todo)
    seen = {"frames": 0, "videos": 0}

    def in_flight() -> int:
        # enough videos decoding to fill the batch after the one being encoded (a fixed count of
        # videos left the encoder waiting after each batch), never fewer than 2 per thread
        per_video = seen["frames"] / seen["videos"] if seen["videos"] else 8.0
        return max(2 * threads, math.ceil((2 * batcher.batch - batcher.buffered) / max(1.0, per_video)))

    def counted(items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            if not isinstance(item, MediaError):
                seen["frames"] += len(item[1])
                seen["videos"] += 1
            yield item

    def one(path: Path) -> Any:
        return prepare(decoded[path]) if path in decoded else path

    missing = [path for path in todo if path not in decoded]
    results = iter(iter_sample_with_spec(_calling_once(missing, threads, on_start), spec, workers=threads,
                                         prefetch=in_flight, postprocess=prepare))
    return counted(one(path) if path in decoded else next(results) for path in todo)
