"""How each operator is run on one shard of a table, so a sharded job scores like one ``run()``.

An operator's ``run(storage, ...)`` scores a whole table at once. To shard a job without
changing a number, an adapter splits that into:

* :meth:`StepAdapter.prepare` — the table-level state, computed once over the WHOLE input and
  broadcast to every shard (EMScore: the official idf corpus, every reference flattened, else
  every candidate — so idf never depends on how rows are cut into shards or which worker
  scores them);
* :meth:`StepAdapter.decode` — optional CPU-only media work that can run in a separate process
  (EMScore: sampling frames with ``mmscore.io.media`` and the geometric part of the CLIP
  transform);
* :meth:`StepAdapter.score` — the operator's own ``score_dataframe`` (or ``run`` on an
  in-memory storage) on the shard's rows, with the broadcast state applied.

Only operators whose rows are scored independently given that state can be sharded; others
are refused with a ``ConfigError`` rather than silently giving different numbers.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mmscore.engine.shards import ROW_ID
from mmscore.errors import ConfigError, MediaError
from mmscore.io.atomic import to_jsonable

logger = logging.getLogger(__name__)

Resolver = Callable[[str], Path]

#: operator attributes that change speed or placement, never the scores: left out of the job pin
#: so a job started with one engine/device/batch size can be resumed with another
_RUNTIME_ATTRIBUTES = {"device", "batch_size", "workers", "cache_dir", "signature", "last_run_info", "name"}


def _qualified(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _bind_run_kwargs(operator: Any, run_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operator's ``run`` keywords with its defaults filled in (unknown names are an error)."""
    signature = inspect.signature(operator.run)
    try:
        bound = signature.bind(None, **dict(run_kwargs or {}))
    except TypeError as exc:
        raise ConfigError(f"{type(operator).__name__}.run: bad arguments {dict(run_kwargs or {})!r}: {exc}") from exc
    bound.apply_defaults()
    first = next(iter(signature.parameters))
    return {key: value for key, value in bound.arguments.items() if key != first}


def _compact(value: Any) -> Any:
    """A JSON-able description of an attribute; big values (e.g. an idf corpus) become a digest."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    text = json.dumps(to_jsonable(value), sort_keys=True, default=str)
    if len(text) > 256:
        return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "size": len(text)}
    return json.loads(text)


@dataclass
class DecodedVideo:
    """Frames of one video after sampling and the resize + centre crop of the CLIP transform."""

    crops: np.ndarray           # uint8 [K, S, S, 3]
    indices: list[int]
    timestamps: list[float]
    fps: float


class StepAdapter(abc.ABC):
    """One operator with its ``run`` keywords, runnable shard by shard (see the module docstring)."""

    #: True when :meth:`decode` does media work worth a separate CPU stage
    decodes = False

    def __init__(self, operator: Any, run_kwargs: Mapping[str, Any] | None = None) -> None:
        self.operator = operator
        self.run_kwargs = _bind_run_kwargs(operator, run_kwargs)

    # -- identity ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self.operator).__name__

    def model_spec(self) -> str | None:
        """What the operator loads (a spec ``load_clip`` understands), or None without a model."""
        return None

    def describe(self) -> dict[str, Any]:
        """Everything that decides the scores: operator class, its settings, the run keywords."""
        settings = {key: _compact(value) for key, value in sorted(vars(self.operator).items())
                    if not key.startswith("_") and key not in _RUNTIME_ATTRIBUTES}
        return {"operator": _qualified(self.operator), "settings": settings, "run": _compact(self.run_kwargs)}

    # -- stages --------------------------------------------------------------------------------
    def required_columns(self) -> list[str]:
        return []

    def prepare(self, df: pd.DataFrame, encoder: Any = None) -> dict[str, Any]:
        """Table-level state computed once over the whole input (default: none); ``encoder`` is the
        driver's CPU copy of the step's model (its tokenizer, input size), or None."""
        return {}

    def bind_state(self, state: Mapping[str, Any]) -> StepAdapter:
        """A copy of this adapter whose operator carries the broadcast state (the original is untouched)."""
        clone = copy.copy(self)
        clone.operator = copy.copy(self.operator)
        return clone

    def decode(self, df: pd.DataFrame, resolve: Resolver, image_size: int | None) -> Any:
        """CPU-only media work for a shard, runnable in another process (default: none)."""
        return None

    @abc.abstractmethod
    def score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any = None) -> pd.DataFrame:
        """The shard with the step's columns added (``decoded``: what :meth:`decode` returned)."""

    def output_columns(self) -> list[str]:
        """Columns the step adds, when known before running (used to count failed rows)."""
        return []

    def signature(self) -> str | None:
        return getattr(self.operator, "signature", None)

    def load(self) -> Any:
        """Load the operator's model (once); None for operators without one."""
        return None

    def tune(self, device: str | None, batch_size: int | None) -> None:
        """Set device and batch size on the operator (a worker's choice; never changes a score).

        Operators without a model have nothing to tune.
        """
        return None


# ----------------------------------------------------------------------------- EMScore
class EMScoreAdapter(StepAdapter):
    """``EMScoreEval``: idf over the whole table, frames decoded in CPU tasks."""

    decodes = True

    def model_spec(self) -> str | None:
        return self.operator.model_spec

    def required_columns(self) -> list[str]:
        return [self.run_kwargs["video_key"], self.run_kwargs["candidate_key"]]

    def prepare(self, df: pd.DataFrame, encoder: Any = None) -> dict[str, Any]:
        """The official idf corpus of the whole table, exactly as ``score_dataframe`` builds it."""
        from mmscore.io.cells import clean_text, text_list
        from mmscore.metrics.emscore import official_corpus
        from mmscore.operators.emscore import idf_from_texts

        op = self.operator
        if not op.idf or op.idf_table is not None:
            return {}
        if op.idf_corpus is not None:
            return {"idf_table": idf_from_texts(encoder, op.idf_corpus)}
        reference_key = self.run_kwargs["reference_key"]
        candidates = [text for text in (clean_text(v) for v in df[self.run_kwargs["candidate_key"]]) if text]
        references = ([text_list(v) for v in df[reference_key]]
                      if reference_key is not None and reference_key in df.columns else [])
        corpus = official_corpus(candidates, references)
        return {"idf_table": idf_from_texts(encoder, corpus)} if corpus else {}

    def bind_state(self, state: Mapping[str, Any]) -> StepAdapter:
        clone = super().bind_state(state)
        if state.get("idf_table") is not None:
            clone.operator.configure(idf_table=state["idf_table"])
        return clone

    def load(self) -> Any:
        return self.operator.load()

    def tune(self, device: str | None, batch_size: int | None) -> None:
        self.operator.configure(device=device, batch_size=batch_size)

    def output_columns(self) -> list[str]:
        from mmscore.operators.emscore import DETAILS_COLUMN, ERROR_COLUMN, TRUNCATED_COLUMN

        return (self.operator.output_columns() + ([DETAILS_COLUMN] if self.operator.return_all_frames else [])
                + ([TRUNCATED_COLUMN] if self.operator.sampling.allow_truncated else []) + [ERROR_COLUMN])

    def _video_paths(self, df: pd.DataFrame, resolve: Resolver) -> list[Path]:
        from mmscore.io.cells import clean_text

        paths = []
        for video, candidate in zip(df[self.run_kwargs["video_key"]], df[self.run_kwargs["candidate_key"]],
                                    strict=True):
            value = clean_text(video)
            if value is not None and clean_text(candidate) is not None:
                paths.append(resolve(value))
        return list(dict.fromkeys(paths))

    def decode(self, df: pd.DataFrame, resolve: Resolver, image_size: int | None) -> dict[str, DecodedVideo]:
        """Sample each distinct video once and crop its frames to the model's input size.

        Uses the operator's own sampling spec and ``mmscore.io.media``; the resize + centre crop
        are those of ``ClipImageTransform``, so preprocessing the crops again is the identity
        geometrically and the embeddings equal the operator's. A video that fails is left out:
        the operator then reports it with its own error message.
        """
        from PIL import Image

        from mmscore.io.media import sample_with_spec
        from mmscore.models.preprocess import center_crop, resize_shorter_side

        out: dict[str, DecodedVideo] = {}
        if image_size is None:
            return out
        for path in self._video_paths(df, resolve):
            try:
                sampled = sample_with_spec(path, self.operator.sampling)
            except MediaError:
                continue
            crops = [np.asarray(center_crop(resize_shorter_side(Image.fromarray(frame), image_size), image_size))
                     for frame in sampled.frames]
            out[str(path)] = DecodedVideo(np.stack(crops).astype(np.uint8), list(sampled.indices),
                                          list(sampled.timestamps), float(sampled.fps))
        return out

    def score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any = None) -> pd.DataFrame:
        return _renumber_row_errors(self._score(df, resolve, decoded), df)

    def _score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any) -> pd.DataFrame:
        op = self.operator
        kwargs = self.run_kwargs
        if not decoded:
            return op.score_dataframe(df, resolve, kwargs["video_key"], kwargs["candidate_key"],
                                      kwargs["reference_key"])
        # Hand the pre-decoded frames to the operator through its video-embedding cache: the
        # operator skips decoding for every cached video and scores exactly as usual.
        private = op.cache_dir is None
        folder = Path(tempfile.mkdtemp(prefix="mmscore-frames-", dir=_fast_tmp())) if private else op.cache_dir
        try:
            self._cache_embeddings(decoded, folder)
            runner = copy.copy(op)
            runner.configure(cache_dir=folder)
            out = runner.score_dataframe(df, resolve, kwargs["video_key"], kwargs["candidate_key"],
                                         kwargs["reference_key"])
            op.signature, op.last_run_info = runner.signature, runner.last_run_info
            return out
        finally:
            if private:
                shutil.rmtree(folder, ignore_errors=True)

    def _cache_embeddings(self, decoded: Mapping[str, DecodedVideo], folder: Path) -> None:
        from mmscore.operators.emscore import VideoEmbedding, VideoEmbeddingCache

        encoder = self.operator.load()
        namespace = str(getattr(encoder, "cache_namespace", encoder.fingerprint))
        cache = VideoEmbeddingCache(folder)
        items = list(decoded.items())
        if not items:
            return
        crops = np.concatenate([video.crops for _, video in items])
        batch = max(1, int(encoder.batch_size))
        parts = [encoder.encode_pixels(encoder.preprocess(crops[start:start + batch]), normalize=True)
                 for start in range(0, len(crops), batch)]
        embeddings = torch.cat(parts)
        offset = 0
        for path, video in items:
            count = len(video.crops)
            value = VideoEmbedding(embeddings[offset:offset + count].clone(), video.indices, video.timestamps,
                                   video.fps)
            offset += count
            cache.put(VideoEmbeddingCache.key(Path(path), self.operator.sampling, namespace), value)


_ROW_PREFIX = re.compile(r"^row (\d+): ")


def _renumber_row_errors(out: pd.DataFrame, shard: pd.DataFrame) -> pd.DataFrame:
    """EMScore names a bad row by its position in the table it was given ("row 1: ..."); in a
    shard that is the position within the shard, so put back the row's position in the whole
    input, as a single ``run()`` reports it."""
    from mmscore.operators.emscore import ERROR_COLUMN

    if ERROR_COLUMN not in out.columns or ROW_ID not in shard.columns:
        return out
    ids = shard[ROW_ID].tolist()

    def fix(message: Any) -> Any:
        if not isinstance(message, str):
            return message
        match = _ROW_PREFIX.match(message)
        if match is None or int(match.group(1)) >= len(ids):
            return message
        return f"row {ids[int(match.group(1))]}: " + message[match.end():]

    out[ERROR_COLUMN] = pd.array([fix(m) for m in out[ERROR_COLUMN]], dtype=object)
    return out


def _fast_tmp() -> str | None:
    """A memory-backed temp folder when the system has one (the hand-over files are transient)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


# ----------------------------------------------------------------------------- image–text
class ImageTextAdapter(StepAdapter):
    """``ImageLongCLIPEvaluator``, ``ImageSPECSEvaluator``, ``CLIPScoreEvaluator``, ``RefCLIPScoreEvaluator``.

    Rows are scored independently (no table-level state). Images are decoded in CPU tasks and
    handed to the operator already resized and cropped to the model's input size.
    """

    decodes = True

    def model_spec(self) -> str | None:
        return str(self.operator.model_name)

    @property
    def output_key(self) -> str:
        return self.run_kwargs.get("output_key") or self.operator.default_output_key

    def required_columns(self) -> list[str]:
        keys = [self.run_kwargs["input_image_key"], self.run_kwargs["input_text_key"]]
        return keys + ([self.run_kwargs["reference_key"]] if self.run_kwargs.get("reference_key") else [])

    def load(self) -> Any:
        return self.operator.load()

    def tune(self, device: str | None, batch_size: int | None) -> None:
        if device is not None:
            self.operator.device = device
        if batch_size is not None:
            self.operator.batch_size = int(batch_size)

    def output_columns(self) -> list[str]:
        return [self.output_key, f"{self.output_key}_error"]

    def decode(self, df: pd.DataFrame, resolve: Resolver, image_size: int | None) -> dict[str, Any]:
        """Each distinct image, decoded and cropped as ``ClipImageTransform`` would; failures are left
        to the operator, which reports them with its own message."""
        from mmscore.io.cells import clean_text
        from mmscore.io.images import load_image
        from mmscore.models.preprocess import center_crop, resize_shorter_side

        out: dict[str, Any] = {}
        if image_size is None:
            return out
        for value in df[self.run_kwargs["input_image_key"]]:
            if clean_text(value) is None:
                continue
            path = str(resolve(str(value).strip()))
            if path in out:
                continue
            try:
                out[path] = center_crop(resize_shorter_side(load_image(path, mode=None), image_size), image_size)
            except MediaError:
                continue
        return out

    def score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any = None) -> pd.DataFrame:
        kwargs = self.run_kwargs
        return self.operator.score_dataframe(df, resolve, kwargs["input_image_key"], kwargs["input_text_key"],
                                             self.output_key, reference_key=kwargs.get("reference_key"),
                                             preloaded=decoded or None)


# ----------------------------------------------------------------------------- generic row-wise
class _ShardStorage:
    """The storage contract over one in-memory shard (what a row-wise operator's ``run`` needs)."""

    def __init__(self, df: pd.DataFrame, resolve: Resolver) -> None:
        self.df = df
        self.result: pd.DataFrame | None = None
        self._resolve = resolve

    def read(self, output_type: str = "dataframe") -> Any:
        from mmscore.io.tables import dataframe_records

        return self.df.copy() if output_type == "dataframe" else dataframe_records(self.df)

    def write(self, data: Any) -> str:
        self.result = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        return "<shard>"

    def resolve_path(self, value: str) -> Path:
        return self._resolve(value)


class RowWiseAdapter(StepAdapter):
    """Light operators that look at one row at a time: run through ``run()`` on each shard."""

    def score(self, df: pd.DataFrame, resolve: Resolver, decoded: Any = None) -> pd.DataFrame:
        storage = _ShardStorage(df, resolve)
        self.operator.run(storage, **self.run_kwargs)
        if storage.result is None:
            raise ConfigError(f"{self.name}.run did not write a table")
        return storage.result


_ADAPTERS: dict[str, type[StepAdapter]] = {
    "mmscore.operators.emscore:EMScoreEval": EMScoreAdapter,
    "mmscore.operators.image_text:ImageLongCLIPEvaluator": ImageTextAdapter,
    "mmscore.operators.image_text:ImageSPECSEvaluator": ImageTextAdapter,
    "mmscore.operators.image_text:CLIPScoreEvaluator": ImageTextAdapter,
    "mmscore.operators.image_text:RefCLIPScoreEvaluator": ImageTextAdapter,
    "mmscore.operators.text_stats:TextStatsEvaluator": RowWiseAdapter,
    "mmscore.operators.media_check:MediaPathChecker": RowWiseAdapter,
}


def adapter_for(operator: Any, run_kwargs: Mapping[str, Any] | None = None) -> StepAdapter:
    """The adapter of a shardable operator; any other operator is refused with the list of supported ones."""
    for cls in type(operator).__mro__:
        adapter = _ADAPTERS.get(f"{cls.__module__}:{cls.__qualname__}")
        if adapter is not None:
            return adapter(operator, run_kwargs)
    supported = sorted(key.split(":")[1] for key in _ADAPTERS)
    raise ConfigError(f"operator {type(operator).__name__} cannot be run by the sharded engines (its rows are "
                      f"not known to be scored independently); supported: {', '.join(supported)}")
