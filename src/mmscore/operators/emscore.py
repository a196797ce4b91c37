"""``EMScoreEval``: EMScore columns for a table of (video, candidate caption, references).

DataFlow-compatible (``seeds/000``): ``EMScoreEval(every_n_seconds=None, every_n_frames=None,
return_all_frames=False, clip_model_path=None, score_types=None, metrics=None).run(storage,
video_key='video_path', candidate_key='candidate', reference_key='reference')``; columns
``"{score_type}_{metric}"`` (e.g. ``EMScore(X,V)_full_F``), ``frame_details`` (JSON) when
``return_all_frames``, plus ``emscore_error``. What differs from DataFlow-MM, on purpose:

* the scores are the **official whole-video EMScore** (``mmscore.metrics.emscore``): fine-grained
  matching against all sampled frames at once and the video vector for cogr; idf over the table's
  references (or candidates) with the official padding detail. DataFlow-MM scored each frame as a
  one-frame video, averaged, and computed idf per video over copies of one sentence (zero
  weights, NaN). Its per-frame view survives in ``frame_details``: each sampled frame's
  ``frame_index``, ``timestamp`` (seconds, from the stream) and scores of that frame alone;
* no sampling option -> one frame per second (DataFlow-MM raised); both -> ``ConfigError``;
* ``clip_model_path`` None -> ``openai/clip-vit-base-patch32`` (the official ViT-B/32), through
  ``mmscore.models.clip.load_clip`` (hub id, OpenAI name such as ``ViT-B/32``, local dir, .pt);
* the column set comes from the arguments (never from the first row); a row without reference
  gets null (X,X*) and (X,V,X*) columns; a missing/corrupt/zero-frame video or an empty
  candidate gives null scores and a message in ``emscore_error``; other rows are scored; long
  captions are truncated (SOT + first 75 pieces + EOT) and counted, never fatal; multi-reference
  cells (a list, or a JSON list string) work; no NaN is ever written;
* speed: each distinct video is decoded once (threads, seeking when keyframes allow) and its
  frames are encoded in batches shared across videos while the next videos decode (the table's
  distinct texts are encoded while the first videos decode); frame embeddings are kept in the
  one embedding cache (``mmscore.models.embedding_cache``: ``$MMSCORE_CACHE_DIR``, default
  ``~/.cache/mmscore``; key: path, size, mtime, sampling, encoder fingerprint/precision/
  preprocessing), so re-scoring new captions does not decode again.

The operator contract (``mmscore.operators.contract``): ``prepare`` computes the idf weights once
over the whole table, ``score`` scores any subset of rows with them, so a sharded job scores
exactly like one ``run()``.

Options beyond the seed's constructor (idf, uniform-frame sampling, device, batch size, cache)
are set with :meth:`EMScoreEval.configure`, keeping the constructor identical to DataFlow-MM's.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mmscore.defaults import CLIP_MODEL
from mmscore.errors import ConfigError, MediaError
from mmscore.io.cells import caption_type_error, clean_text, text_lists
from mmscore.io.media import SampledFrames, sample_with_spec, sampling_spec, video_truncation
from mmscore.io.media_paths import MediaResolver
from mmscore.metrics import emscore as em
from mmscore.models.embedding_cache import EmbeddingCache, default_cache_dir
from mmscore.models.encoding import Encoder, VideoEmbedding, encode_sentences, encode_videos
from mmscore.operators.base import Operator
from mmscore.operators.contract import Media, RowError, ScoredRows, Settings, frozen_settings
from mmscore.provenance import run_info, signature_string

logger = logging.getLogger(__name__)

DEFAULT_MODEL = CLIP_MODEL
ERROR_COLUMN = "emscore_error"
DETAILS_COLUMN = "frame_details"
TRUNCATED_COLUMN = "video_truncated"


def idf_from_texts(encoder: Encoder, corpus: Sequence[str]) -> em.IdfTable:
    """Official idf over ``corpus`` (duplicates count), tokenised zero-padded to the model context."""
    unique = list(dict.fromkeys(corpus))
    ids = encoder.tokenize(unique).ids
    row_of = {text: i for i, text in enumerate(unique)}
    return em.compute_idf(ids[row_of[text]].tolist() for text in corpus)


@dataclass(frozen=True)
class EMScoreState:
    """What ``prepare`` computes over the whole table: the idf weights and how they were made."""

    idf: em.IdfTable | None
    idf_description: str


@dataclass
class _Rows:
    """The rows given to ``score``, cleaned: caption, references, video file or an error."""

    candidates: list[str | None]
    references: list[list[str]]
    videos: list[Path | None]
    errors: dict[int, str]

    @property
    def scorable(self) -> list[int]:
        return [row for row in range(len(self.videos)) if row not in self.errors]


# ----------------------------------------------------------------------------- the operator
def _validated(values: Sequence[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    if values is None:
        return list(allowed)
    if isinstance(values, str):
        values = [values]
    chosen = list(dict.fromkeys(values))
    bad = [v for v in chosen if v not in allowed]
    if bad or not chosen:
        raise ConfigError(f"invalid {what} {bad or chosen!r}; valid options: {', '.join(allowed)}")
    return chosen


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run the per-row maths on one intra-op thread: its matrices have a few dozen rows, and with
    several threads every tiny op pays a thread-pool hand-over (12 rows: 1.1 s on 2 threads
    against 0.03 s on one, measured on a busy 2-core machine). Scores are the same."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]


def _idf_digest(table: em.IdfTable) -> str:
    return hashlib.sha256(json.dumps([sorted(table.weights.items()), table.default, table.corpus_size]).encode()
                          ).hexdigest()[:16]


class EMScoreEval(Operator):
    """EMScore for video captions (official whole-video algorithm); see the module docstring."""

    shardable = True
    decodes = True

    def __init__(
        self,
        every_n_seconds: float | None = None,
        every_n_frames: int | None = None,
        return_all_frames: bool = False,
        clip_model_path: str | None = None,
        score_types: list[str] | None = None,
        metrics: list[str] | None = None,
    ) -> None:
        self.every_n_seconds = every_n_seconds
        self.every_n_frames = every_n_frames
        self.return_all_frames = bool(return_all_frames)
        self.clip_model_path = clip_model_path
        self.score_types = _validated(score_types, em.SCORE_TYPES, "score_types")
        self.metrics = _validated(metrics, em.METRICS, "metrics")
        self.sampling = sampling_spec(every_n_seconds, every_n_frames)
        self.idf: bool = True
        self.idf_corpus: list[str] | None = None
        self.idf_table: em.IdfTable | None = None
        self.device: str | None = None
        self.batch_size = 64
        self.workers: int | None = None
        self.cache_dir: Path | None = default_cache_dir()
        self._encoder: Encoder | None = None
        self.signature: str | None = None
        self.last_run_info: dict[str, Any] | None = None

    def configure(
        self, *, num_frames: int | None = None, max_frames: int | None = None, idf: bool | None = None,
        idf_corpus: Iterable[str] | None = None, device: str | None = None, batch_size: int | None = None,
        workers: int | None = None, cache_dir: str | os.PathLike[str] | bool | None = None,
        encoder: Encoder | None = None, idf_table: em.IdfTable | None = None, allow_truncated: bool | None = None,
    ) -> EMScoreEval:
        """Options beyond DataFlow-MM's constructor; returns ``self``.

        num_frames: uniform sampling of n frames per video (instead of every_n_*); max_frames: cap.
        idf: False for uniform token weights (official ``idf=False``); idf_corpus: sentences to
        compute idf from (e.g. training captions, as the VATEX-EVAL setup) instead of the table.
        cache_dir: a folder, True (default location) or False (no embedding cache).
        Options left at None keep their current value.
        encoder: an already loaded ``ClipEncoder`` to use instead of loading ``clip_model_path``.
        idf_table: idf weights computed beforehand, used as they are instead of computing idf here.
        allow_truncated: score what decodes of a truncated video (column ``video_truncated`` says what
        it lacked) instead of a row error.
        """
        if num_frames is not None or max_frames is not None:
            self.sampling = sampling_spec(self.every_n_seconds, self.every_n_frames,
                                          num_frames if num_frames is not None else self.sampling.num_frames,
                                          max_frames if max_frames is not None else self.sampling.max_frames,
                                          self.sampling.allow_truncated)
        if allow_truncated is not None:
            self.sampling = dataclasses.replace(self.sampling, allow_truncated=bool(allow_truncated))
        if idf is not None:
            self.idf = bool(idf)
        if idf_corpus is not None:
            corpus = [text for text in (clean_text(t) for t in idf_corpus) if text]
            if not corpus:
                raise ConfigError("idf_corpus is empty: give at least one sentence")
            self.idf_corpus = corpus
        if device is not None:
            self.device = device
        if batch_size is not None:
            if batch_size < 1:
                raise ConfigError(f"batch_size must be >= 1; got {batch_size}")
            self.batch_size = int(batch_size)
        if workers is not None:
            if workers < 1:
                raise ConfigError(f"workers must be >= 1; got {workers}")
            self.workers = int(workers)
        if cache_dir is True:
            self.cache_dir = default_cache_dir()
        elif cache_dir is False:
            self.cache_dir = None
        elif cache_dir is not None:
            self.cache_dir = Path(cache_dir)
        if encoder is not None:
            self._encoder = encoder
        if idf_table is not None:
            self.idf_table = idf_table
        return self

    # -- model -----------------------------------------------------------------------------
    @property
    def model_spec(self) -> str:
        return str(self.clip_model_path) if self.clip_model_path else DEFAULT_MODEL

    def load(self) -> Encoder:
        """Load (once) and return the CLIP encoder."""
        if self._encoder is None:
            from mmscore.models.clip import load_clip

            self._encoder = load_clip(self.model_spec, device=self.device, batch_size=self.batch_size)
        return self._encoder

    def _cpu_encoder(self) -> Encoder:
        """The loaded encoder, else a CPU one (weights are memoised): tokenizer, input size, fingerprint."""
        if self._encoder is not None:
            return self._encoder
        from mmscore.models.clip import load_clip

        return load_clip(self.model_spec, device="cpu", batch_size=1)

    def model_info(self) -> tuple[str | None, int | None]:
        encoder = self._cpu_encoder()
        return encoder.fingerprint, encoder.image_size

    def tune(self, device: str | None, batch_size: int | None) -> None:
        self.configure(device=device, batch_size=batch_size)

    def without_model(self) -> EMScoreEval:
        clone = copy.copy(self)
        clone._encoder = None
        return clone

    # -- contract: settings ------------------------------------------------------------------
    def settings(self) -> Settings:
        return frozen_settings(
            model=self.model_spec, sampling=self.sampling.key(), score_types=self.score_types,
            metrics=self.metrics, return_all_frames=self.return_all_frames, idf=self.idf,
            idf_corpus=_digest(self.idf_corpus) if self.idf_corpus is not None else None,
            idf_table=_idf_digest(self.idf_table) if self.idf_table is not None else None,
        )

    def signature_fields(self, idf_description: str = "") -> dict[str, Any]:
        """What the signature string shows (the loaded model's name and fingerprint included)."""
        encoder = self.load()
        return {
            "metric": "emscore", "model": encoder.name, "fp": encoder.fingerprint, "ctx": encoder.context_length,
            "img": encoder.image_size, "sampling": self.sampling.key(),
            "idf": idf_description or ("yes" if self.idf else "no"), "frames": "whole-video",
        }

    def score_columns(self) -> list[str]:
        """Score columns decided by the arguments alone."""
        return [f"{score_type}_{metric}" for score_type in self.score_types for metric in self.metrics]

    def output_columns(self, keys: Mapping[str, Any] | None = None) -> list[str]:
        return (self.score_columns() + ([DETAILS_COLUMN] if self.return_all_frames else [])
                + ([TRUNCATED_COLUMN] if self.sampling.allow_truncated else []) + [ERROR_COLUMN])

    def required_columns(self, keys: Mapping[str, Any]) -> list[str]:
        return [keys["video_key"], keys["candidate_key"]]

    # -- contract: prepare -------------------------------------------------------------------
    def prepare(self, table: pd.DataFrame, keys: Mapping[str, Any]) -> EMScoreState:
        """The idf weights: of the user's corpus, or of the official corpus of the WHOLE table
        (every reference flattened, else every candidate), so no shard sees a different idf."""
        if not self.idf:
            return EMScoreState(None, "no")
        if self.idf_table is not None:
            return EMScoreState(self.idf_table, f"table-precomputed(n={self.idf_table.corpus_size})")
        if self.idf_corpus is not None:
            corpus = self.idf_corpus
            description = f"corpus(n={len(corpus)},sha={_digest(corpus)})"
        else:
            candidates = [text for text in (clean_text(v) for v in table[keys["candidate_key"]]) if text]
            reference_key = keys.get("reference_key")
            references = (text_lists(table[reference_key], reference_key)
                          if reference_key is not None and reference_key in table.columns else [])
            corpus = em.official_corpus(candidates, references)
            description = f"table-{'refs' if any(references) else 'cands'}(n={len(corpus)})"
        return EMScoreState(idf_from_texts(self._cpu_encoder(), corpus) if corpus else None, description)

    # -- contract: score ---------------------------------------------------------------------
    def _rows(self, rows: pd.DataFrame, keys: Mapping[str, Any], media: Media) -> _Rows:
        video_key, candidate_key, reference_key = keys["video_key"], keys["candidate_key"], keys.get("reference_key")
        n = len(rows)
        candidates = [clean_text(v) for v in rows[candidate_key]] if n else []
        has_refs = reference_key is not None and reference_key in rows.columns
        if reference_key is not None and not has_refs and n and any(t != em.XV for t in self.score_types):
            # optional column, but a misspelt name would silently drop (X,X*) and (X,V,X*): say so
            logger.warning("no reference column %r (columns present: %s): every row is scored without "
                           "reference, so only EMScore(X,V) is computed", reference_key,
                           ", ".join(repr(str(c)) for c in rows.columns))
        references = text_lists(rows[reference_key], reference_key) if has_refs else [[] for _ in range(n)]
        parsed = _Rows(candidates, references,
                       [None] * n, {})
        for row in range(n):
            wrong_type = caption_type_error(rows[candidate_key].iloc[row], candidate_key)
            if wrong_type is not None:
                parsed.errors[row] = wrong_type
                continue
            if candidates[row] is None:
                parsed.errors[row] = f"empty or missing candidate caption in column {candidate_key!r}"
                continue
            value = clean_text(rows[video_key].iloc[row])
            if value is None:
                parsed.errors[row] = f"empty or missing video path in column {video_key!r}"
                continue
            parsed.videos[row] = media.resolve(value)
        return parsed

    def _encode(self, parsed: _Rows, media: Media, timings: dict[str, float], cache: EmbeddingCache | None
                ) -> tuple[dict[str, em.TextEmbedding], dict[Path, VideoEmbedding | str]]:
        """Sentences and videos of the scorable rows; the texts are encoded while the first videos decode."""
        from mmscore.progress import progress_bar

        encoder = self.load()
        scored = parsed.scorable
        texts = list(dict.fromkeys([parsed.candidates[row] for row in scored]
                                   + [ref for row in scored for ref in parsed.references[row]]))
        videos = list(dict.fromkeys(parsed.videos[row] for row in scored))
        decoded = {path: media.decoded[str(path)] for path in videos if str(path) in media.decoded}
        sentences: dict[str, em.TextEmbedding] = {}
        with progress_bar() as progress:
            def encode_texts() -> None:
                started = time.perf_counter()
                task = progress.add_task("EMScore: texts", total=len(texts))
                sentences.update(encode_sentences(encoder, texts, lambda k: progress.advance(task, k)))
                timings["texts_s"] = time.perf_counter() - started

            started = time.perf_counter()
            video_task = progress.add_task("EMScore: videos", total=len(videos))
            video_of = encode_videos(encoder, videos, self.sampling, namespace=encoder.cache_namespace, cache=cache,
                                     workers=self.workers, advance=lambda: progress.advance(video_task),
                                     decoded=decoded, on_start=encode_texts)
            timings["videos_s"] = time.perf_counter() - started
        return sentences, video_of

    def score(self, rows: pd.DataFrame, state: EMScoreState, keys: Mapping[str, Any], media: Media) -> ScoredRows:
        """EMScore columns of ``rows`` with the broadcast idf; bad rows become :class:`RowError` records."""
        parsed = self._rows(rows, keys, media)
        encoder = self.load()
        self.signature = signature_string(self.signature_fields(state.idf_description))
        cache = EmbeddingCache(self.cache_dir) if self.cache_dir is not None else None
        timings: dict[str, float] = {}
        sentences, video_of = self._encode(parsed, media, timings, cache)
        started = time.perf_counter()
        n = len(rows)
        values: dict[str, list[float | None]] = {column: [None] * n for column in self.score_columns()}
        details: list[str] = ["[]"] * n
        truncated: list[str | None] = [None] * n  # allow_truncated: what each row's video lacked
        fallback_rows = 0
        scorable = parsed.scorable
        for row in scorable:
            video = video_of[parsed.videos[row]]
            if isinstance(video, str):
                parsed.errors[row] = video
                continue
            with _one_torch_thread():
                result = em.emscore(sentences[parsed.candidates[row]], frames=video.embeddings,
                                    references=[sentences[ref] for ref in parsed.references[row]], idf=state.idf,
                                    per_frame=self.return_all_frames)
            if result.notes:
                fallback_rows += 1
                logger.info("row %d: %s", row, "; ".join(result.notes))
            for score_type in self.score_types:
                for metric in self.metrics:
                    if score_type in result.scores:
                        values[f"{score_type}_{metric}"][row] = _finite(result.scores[score_type][metric])
            if self.return_all_frames and result.frames is not None:
                details[row] = json.dumps(self._frame_details(video, result.frames), ensure_ascii=False)
            if self.sampling.allow_truncated:
                truncated[row] = video_truncation(parsed.videos[row])
        timings["scoring_s"] = time.perf_counter() - started
        columns: dict[str, Any] = {column: pd.array(values[column], dtype="Float64") for column in values}
        if self.return_all_frames:
            columns[DETAILS_COLUMN] = details
        if self.sampling.allow_truncated:
            columns[TRUNCATED_COLUMN] = pd.array(truncated, dtype=object)
        errors = [RowError(row, message) for row, message in sorted(parsed.errors.items())]
        self.last_run_info = self._report(parsed, scorable, sentences, errors, state, fallback_rows, len(video_of),
                                          cache, timings, encoder.context_length)
        return ScoredRows(columns, ERROR_COLUMN, errors, numbered=True, info=self.last_run_info)

    def _report(self, parsed: _Rows, scored: list[int], sentences: Mapping[str, em.TextEmbedding],
                errors: list[RowError],
                state: EMScoreState, fallback_rows: int, videos: int, cache: EmbeddingCache | None,
                timings: Mapping[str, float], context: int) -> dict[str, Any]:
        """Warnings about truncation, idf fallback and failed rows; the run record written beside the table."""
        n = len(parsed.videos)
        truncated_texts = sum(1 for sentence in sentences.values() if sentence.truncated)
        truncated_rows = sum(1 for row in scored if sentences[parsed.candidates[row]].truncated
                             or any(sentences[ref].truncated for ref in parsed.references[row]))
        if truncated_texts:
            logger.warning("EMScore: %d caption(s) longer than %d tokens were truncated (%d row(s) affected)",
                           truncated_texts, context, truncated_rows)
        if fallback_rows:
            logger.warning("EMScore: %d row(s) had a sentence whose idf weights sum to 0; uniform weights were used "
                           "there (the official code gives NaN)", fallback_rows)
        if errors:
            logger.warning("EMScore: %d of %d rows not scored (see column %s)", len(errors), n, ERROR_COLUMN)
        return run_info(
            self.signature_fields(state.idf_description), rows=n, failed=len(errors),
            truncated_captions=truncated_texts, truncated_rows=truncated_rows, uniform_idf_fallback_rows=fallback_rows,
            videos=videos, video_cache=cache.stats() if cache else {"dir": None, "hits": 0, "misses": 0},
            timings={key: round(value, 3) for key, value in timings.items()},
        )

    def _frame_details(self, video: VideoEmbedding, frames: list[dict[str, em.Scores]]) -> list[dict[str, Any]]:
        entries = []
        for index, timestamp, scores in zip(video.indices, video.timestamps, frames, strict=True):
            entry: dict[str, Any] = {"frame_index": int(index), "timestamp": round(float(timestamp), 6)}
            for score_type in self.score_types:
                if score_type in scores:
                    entry[score_type] = {m: _finite(round(scores[score_type][m], 6)) for m in self.metrics}
            entries.append(entry)
        return entries

    # -- contract: CPU stage of a distributed engine -------------------------------------------
    def decode(self, rows: pd.DataFrame, keys: Mapping[str, Any], media: Media, image_size: int | None
               ) -> dict[str, SampledFrames]:
        """Each distinct video of ``rows`` sampled and cropped to the model's input size.

        The resize + centre crop are those of ``ClipImageTransform``, so preprocessing the crops
        again is the identity geometrically and the embeddings equal the operator's. A video that
        fails is left out: ``score`` then decodes it and reports it with its own message.
        """
        from PIL import Image

        from mmscore.models.preprocess import center_crop, resize_shorter_side

        out: dict[str, SampledFrames] = {}
        if image_size is None:
            return out
        parsed = self._rows(rows, keys, media)
        for path in dict.fromkeys(parsed.videos[row] for row in parsed.scorable):
            try:
                sampled = sample_with_spec(path, self.sampling)
            except MediaError:
                continue
            sampled.frames = [np.asarray(center_crop(resize_shorter_side(Image.fromarray(frame), image_size),
                                                     image_size)) for frame in sampled.frames]
            out[str(path)] = sampled
        return out

    # -- DataFlow entry point --------------------------------------------------------------
    def score_dataframe(
        self, df: pd.DataFrame, resolve: Any = None, video_key: str = "video_path",
        candidate_key: str = "candidate", reference_key: str | None = "reference",
    ) -> pd.DataFrame:
        """A copy of ``df`` with the EMScore columns (``prepare`` + ``score`` over the whole table)."""
        media = Media(resolve or MediaResolver())
        keys = {"video_key": video_key, "candidate_key": candidate_key, "reference_key": reference_key}
        return self.score_table(df, keys, media)

    def run(
        self, storage: Any, video_key: str = "video_path", candidate_key: str = "candidate",
        reference_key: str = "reference",
    ) -> list[str]:
        """Score every row of the step's table; returns the added column names."""
        columns = self.run_step(storage, video_key=video_key, candidate_key=candidate_key,
                                reference_key=reference_key)
        if hasattr(storage, "output_path") and self.last_run_info is not None:
            from mmscore.io.atomic import atomic_write_json

            target = Path(storage.output_path())
            atomic_write_json(target.with_name(target.name + ".run.json"),
                              {**self.last_run_info, "media_paths": self.last_media_paths or {}})
        logger.info("EMScore signature: %s", self.signature)
        return columns
